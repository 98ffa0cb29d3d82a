/**
 * The post step cleans up after a main step that was cancelled mid-build (issue 10). The main
 * step logs in to the htpasswd registry (with a docker config of the test's own) and starts a
 * build whose RUN step sleeps; once BuildKit runs that step, the main step's whole process group
 * gets SIGKILL, as a cancelled job's runner does in the end. Then the post step runs with the
 * state the main step left, and must succeed, log out of the registry in that docker config,
 * remove the run's temporary directory, and remove the builder the action created, with its
 * container and state volume, while leaving the engine's default builder alone.
 *
 * The action creates that builder itself: the docker config holds today's buildx, and the job
 * has a cache service that speaks v2 (the local one), which the engine's own BuildKit (Docker
 * 26.1) cannot; so the main step creates a docker-container builder from `buildkit-image` (the
 * bench's local BuildKit, whose image also serves as the build's base: it has a shell).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync
} from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { release } from '../fixtures/events.js'
import { runAction, type ActionRun } from '../harness/runner.js'
import { startCacheServer, type CacheServer } from '../cache-server/server.js'
import { authRegistry, currentTools, requireBench, uniqueRepo } from './bench.js'

const MINUTES = 60_000

let run: ActionRun
const dockerConfig = mkdtempSync(join(tmpdir(), 'gia-post-docker-'))
let host = ''
let server: CacheServer
/** The builder the main step created (its name, from the state it saved). */
let builder = ''
/** What the main step had left when it was killed. */
const atKill: { auths: string[]; tempDirs: string[]; builders: string[]; containers: string[] } = {
  auths: [],
  tempDirs: [],
  builders: [],
  containers: []
}
const runnerTemp = mkdtempSync(join(tmpdir(), 'gia-post-runner-temp-'))

/** docker with the test's docker config. */
function docker(args: string[]): string {
  return execFileSync('docker', args, {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, DOCKER_CONFIG: dockerConfig }
  })
}

function auths(): string[] {
  const file = join(dockerConfig, 'config.json')
  return existsSync(file) ? Object.keys(JSON.parse(readFileSync(file, 'utf8')).auths ?? {}) : []
}

/** The action's builders (go-image-action-*) in the test's docker config. */
function builders(): string[] {
  const dir = join(dockerConfig, 'buildx', 'instances')
  return existsSync(dir) ? readdirSync(dir).filter(n => n.startsWith('go-image-action-')) : []
}

/** Containers and volumes of a docker-container builder (`buildx_buildkit_<name>0[_state]`). */
function builderParts(name: string): string[] {
  const filter = `name=buildx_buildkit_${name}`
  return [
    ...docker(['ps', '-aq', '--filter', filter]).split('\n'),
    ...docker(['volume', 'ls', '-q', '--filter', filter]).split('\n')
  ].filter(Boolean)
}

beforeAll(async () => {
  requireBench()
  const auth = authRegistry()
  host = auth.host
  const tools = currentTools()
  mkdirSync(join(dockerConfig, 'cli-plugins'))
  symlinkSync(tools.buildx, join(dockerConfig, 'cli-plugins', 'docker-buildx'))
  writeFileSync(join(dockerConfig, 'config.json'), '{}\n')
  server = await startCacheServer({ dir: mkdtempSync(join(tmpdir(), 'gia-post-cache-')) })
  const ws = mkdtempSync(join(tmpdir(), 'gia-post-ws-'))
  writeFileSync(
    join(ws, 'Dockerfile'),
    `FROM ${tools.buildkitImage}\nRUN echo go-image-action-post-test && sleep 90\n`
  )
  const fx = release('v1.0.0')
  run = await runAction({
    ...fx,
    workspace: ws,
    inputs: {
      image: `${auth.host}/${uniqueRepo('post')}/slow`,
      platforms: 'linux/amd64',
      'go-gate': 'false',
      push: 'false',
      'smoke-test': 'false',
      'registry-username': auth.user,
      'registry-password': auth.password,
      'buildkit-image': tools.buildkitImage
    },
    env: {
      ...fx.env,
      ...server.env(),
      DOCKER_CONFIG: dockerConfig,
      RUNNER_TEMP: runnerTemp
    },
    killMain: {
      when: /RUN echo go-image-action-post-test/,
      signal: 'SIGKILL',
      before: () => {
        atKill.auths = auths()
        atKill.tempDirs = readdirSync(runnerTemp).filter(d => d.startsWith('go-image-action-'))
        atKill.builders = builders()
        atKill.containers = atKill.builders.flatMap(builderParts)
      }
    }
  })
}, 10 * MINUTES)

afterAll(async () => {
  for (const name of builders()) docker(['buildx', 'rm', name]) // left only if the test fails
  await server?.stop()
  rmSync(dockerConfig, { recursive: true, force: true })
})

describe('the post step after a main step killed mid-build', () => {
  it('the main step was killed in the Build stage, logged in, on a builder it created', () => {
    expect(run.main.exitCode).not.toBe(0)
    expect(run.main.stdout).toContain('::group::Build')
    expect(run.main.stdout).not.toContain('::endgroup::\n::group::Smoke test')
    expect(atKill.auths).toContain(host)
    expect(run.main.state['logins']).toBe(JSON.stringify([host]))
    builder = run.main.state['builder']
    expect(run.main.stdout).toContain(`creating a docker-container builder ${builder} from `)
    expect(atKill.builders).toEqual([builder])
    // its container and its state volume
    expect(atKill.containers).toHaveLength(2)
  })

  it('the post step succeeds, without an error', () => {
    expect(run.post?.exitCode).toBe(0)
    expect(run.post?.annotations.filter(a => a.command === 'error')).toEqual([])
  })

  it('logged out of the registry in the docker config the main step used', () => {
    expect(auths()).not.toContain(host)
  })

  it("removed the run's temporary directory", () => {
    const dir = run.main.state['tempDir']
    expect(atKill.tempDirs).toEqual([basename(dir)])
    expect(existsSync(dir)).toBe(false)
    expect(readdirSync(runnerTemp)).toEqual([])
  })

  it('removed the builder it created, its container and volume, and left the default builder alone', () => {
    expect(() => docker(['buildx', 'inspect', builder])).toThrow()
    expect(builders()).toEqual([])
    expect(builderParts(builder)).toEqual([])
    expect(docker(['buildx', 'inspect', 'default'])).toMatch(/Driver:\s+docker/)
  })
})
