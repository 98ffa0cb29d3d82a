/**
 * Do no harm: a run never touches the user's files. Runner builds compile into a directory of the
 * action's own under RUNNER_TEMP; in a context the user names they write only the binaries'
 * tree, never over an existing file, and a Dockerfile of the user's there is used, never replaced.
 * The workspace is a real git repository, and `git status` stays clean.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runAction, type ActionRun } from '../harness/runner.js'
import { release } from '../fixtures/events.js'
import {
  exampleWorkspace,
  REGISTRY,
  registryTags,
  remoteLabels,
  removeImages,
  requireBench,
  tagsOf,
  uniqueRepo
} from './bench.js'

const MINUTES = 60_000
const PLATFORMS = 'linux/amd64,linux/arm64'

/** The user's own Dockerfile for the runner-build binaries, committed in `deploy/`. */
const USER_DOCKERFILE = [
  '# the project own: the action must use it as it is',
  `FROM ${REGISTRY}/mirror/static:nonroot`,
  'ARG TARGETPLATFORM',
  'COPY $TARGETPLATFORM/hello-cli /hello-cli',
  'LABEL com.example.dockerfile="the user\'s own"',
  'USER 65532:65532',
  'ENTRYPOINT ["/hello-cli"]',
  ''
].join('\n')

function git(dir: string, args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=e2e', '-c', 'user.email=e2e@example.com', ...args], {
    cwd: dir,
    encoding: 'utf8'
  })
}

/** examples/hello as a git repository with `files` committed on top. */
function repoWorkspace(files: Record<string, string>): string {
  const ws = exampleWorkspace('hello')
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(ws, path, '..'), { recursive: true })
    writeFileSync(join(ws, path), text)
  }
  git(ws, ['init', '--quiet'])
  git(ws, ['add', '--all'])
  git(ws, ['commit', '--quiet', '--message', 'the project'])
  return ws
}

function runnerBuilds(ws: string, runnerTemp: string, images: string[]): Promise<ActionRun> {
  const event = release('v3.1.4')
  return runAction({
    ...event,
    workspace: ws,
    env: { ...event.env, RUNNER_TEMP: runnerTemp },
    inputs: {
      images: images.join('\n'),
      platforms: PLATFORMS,
      'go-gate': 'false',
      cache: 'false'
    }
  })
}

beforeAll(() => requireBench())

describe('a runner build in a git checkout with a Dockerfile of its own', () => {
  const repo = uniqueRepo('userfiles')
  let ws: string
  let runnerTemp: string
  let r: ActionRun

  beforeAll(async () => {
    ws = repoWorkspace({ 'deploy/Dockerfile': USER_DOCKERFILE })
    runnerTemp = mkdtempSync(join(tmpdir(), 'gia-e2e-runner-temp-'))
    r = await runnerBuilds(ws, runnerTemp, [
      // no context: everything in the action's own directory
      `- name: ${REGISTRY}/${repo}/generated`,
      '  main: ./cmd/hello-cli',
      `  base-image: ${REGISTRY}/mirror/static:nonroot`,
      // a context of the user's, which holds the user's Dockerfile (no dockerfile: key)
      `- name: ${REGISTRY}/${repo}/own`,
      '  main: ./cmd/hello-cli',
      '  context: deploy'
    ])
  }, 20 * MINUTES)

  afterAll(() => {
    removeImages(tagsOf(r))
    rmSync(ws, { recursive: true, force: true })
    rmSync(runnerTemp, { recursive: true, force: true })
  })

  it('publishes both images', async () => {
    expect(r.main.annotations.filter(a => a.command === 'error')).toEqual([])
    expect(r.main.exitCode).toBe(0)
    expect(await registryTags(REGISTRY, `${repo}/generated`)).toEqual(['3.1.4', 'latest'])
    expect(await registryTags(REGISTRY, `${repo}/own`)).toEqual(['3.1.4', 'latest'])
  })

  it('verified the architecture of every platform of both runner builds before pushing', () => {
    const images = JSON.parse(r.main.outputs['metadata']).images as {
      platformResults: { platform: string; architecture: { status: string; found: string } }[]
    }[]
    for (const img of images)
      for (const p of img.platformResults) {
        const arch = p.platform.split('/')[1]
        expect(p.architecture.status).toBe('verified')
        expect(p.architecture.found).toContain(`Go binary for GOOS=linux GOARCH=${arch}`)
      }
    expect(images.flatMap(i => i.platformResults).length).toBe(4)
  })

  it("leaves the user's Dockerfile byte for byte as it was, and builds with it", () => {
    expect(readFileSync(join(ws, 'deploy/Dockerfile'), 'utf8')).toBe(USER_DOCKERFILE)
    expect(
      remoteLabels(`${REGISTRY}/${repo}/own:3.1.4`, 'linux/arm64')['com.example.dockerfile']
    ).toBe("the user's own")
  })

  it('compiles under RUNNER_TEMP and leaves the checkout clean (git status, ignored files too)', () => {
    for (const name of ['generated', 'own'])
      expect(r.main.stdout).toContain(
        `linux/arm64: ./cmd/hello-cli -> ${join(runnerTemp, 'go-image-action', 'runner-build', `${REGISTRY}-${repo}-${name}`.replace(/[^a-z0-9_.-]+/g, '-'))}/linux/arm64/hello-cli`
      )
    expect(git(ws, ['status', '--porcelain', '--ignored'])).toBe('')
    // the post step removed the action's own directory
    expect(existsSync(join(runnerTemp, 'go-image-action'))).toBe(false)
  })
})

it(
  "refuses to overwrite a file in the user's context: an error naming it, nothing pushed",
  async () => {
    const repo = uniqueRepo('clash')
    const mine = 'not a binary: a file of the project\n'
    const ws = repoWorkspace({ 'deploy/linux/arm64/hello-cli': mine })
    const runnerTemp = mkdtempSync(join(tmpdir(), 'gia-e2e-runner-temp-'))
    let r: ActionRun | undefined
    try {
      r = await runnerBuilds(ws, runnerTemp, [
        `- name: ${REGISTRY}/${repo}/hello-cli`,
        '  main: ./cmd/hello-cli',
        '  context: deploy',
        `  base-image: ${REGISTRY}/mirror/static:nonroot`
      ])
      expect(r.main.exitCode).not.toBe(0)
      const errors = r.main.annotations.filter(a => a.command === 'error').map(a => a.message)
      expect(errors.join('\n')).toContain(
        `${join(ws, 'deploy/linux/arm64/hello-cli')} already exists in the build context`
      )
      expect(readFileSync(join(ws, 'deploy/linux/arm64/hello-cli'), 'utf8')).toBe(mine)
      expect(await registryTags(REGISTRY, `${repo}/hello-cli`)).toEqual([])
      // the linux/amd64 binary copied before the clash was taken out again
      expect(git(ws, ['status', '--porcelain', '--ignored'])).toBe('')
    } finally {
      removeImages(tagsOf(r))
      rmSync(ws, { recursive: true, force: true })
      rmSync(runnerTemp, { recursive: true, force: true })
    }
  },
  20 * MINUTES
)
