/**
 * The action under a runner nobody here wrote: nektos/act (pinned in scripts/tools.sh) runs
 * workflows that use it with `uses: ./` on this host, against the real engine and registry, with
 * act's own cache server: a release (cold, then warm on a fresh runner's empty Go directories),
 * a pull request under act's defaults, and a release whose smoke test fails. One image, one
 * platform (linux/amd64): what is tested here is the runner protocol as act speaks it.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pullRequest, release } from '../fixtures/events.js'
import { actBinary, actRepo, runAct, type ActRun, type ActStep } from '../harness/act.js'
import { registryTags, REGISTRY, removeImages, requireBench, uniqueRepo } from './bench.js'
import { GO_CACHE_PARTS } from '../../src/go/cache.js'

const MINUTES = 60_000
const GO_KEY = /go-image-action-go-linux-[a-z0-9]+-go\S+-[0-9a-f]{32}-[0-9a-f]{8}/

/** A job: check out (act's host runner starts with an empty workspace), the action, then `then`. */
function workflow(on: string, id: string, withLines: string[], then: string[]): string {
  return [
    'name: act',
    `on: ${on}`,
    'permissions:',
    '  contents: read',
    'jobs:',
    '  image:',
    '    runs-on: ubuntu-latest',
    '    steps:',
    '      - name: check out (a clone of the local repository; nothing is fetched)',
    '        run: git clone --quiet "$GIA_SOURCE" .',
    `      - id: ${id}`,
    '        uses: ./',
    '        with:',
    ...withLines.map(l => `          ${l}`),
    ...then.map(l => `      ${l}`),
    ''
  ].join('\n')
}

/** A later step that writes the action's outputs, as that step sees them, to $GIA_OUT/<file>. */
function outputsStep(id: string, file: string, condition = ''): string[] {
  return [
    `- name: the outputs, read by a later step`,
    ...(condition ? [`  if: ${condition}`] : []),
    '  env:',
    `    OUTPUTS: \${{ toJSON(steps.${id}.outputs) }}`,
    `    OUTCOME: \${{ steps.${id}.outcome }}`,
    '  run: |',
    `    node -e 'require("fs").writeFileSync(process.argv[1], JSON.stringify({outcome: process.env.OUTCOME, outputs: JSON.parse(process.env.OUTPUTS)}))' "$GIA_OUT/${file}"`
  ]
}

function hello(image: string): string[] {
  return [
    `image: ${image}`,
    'context: examples/hello',
    'dockerfile: cmd/hello-cli/Dockerfile',
    'go-working-directory: examples/hello',
    'platforms: linux/amd64'
  ]
}

/** Empties a directory, also Go's read-only module cache. */
function emptyDir(dir: string): string {
  if (existsSync(dir)) execFileSync('chmod', ['-R', 'u+w', dir])
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  return dir
}

function step(r: ActRun, key: string): ActStep {
  const s = r.steps[key]
  if (!s) throw new Error(`no step ${key} in act's log:\n${r.log.slice(-3000)}`)
  return s
}

function warnings(s: ActStep): string[] {
  return s.annotations.filter(a => a.command === 'warning').map(a => a.message)
}

/** What the outputs step of run `r` wrote to $GIA_OUT/<file>. */
function readOutputs(
  r: ActRun,
  file: string
): { outcome: string; outputs: Record<string, string> } {
  const path = join(out(), file)
  if (!existsSync(path))
    throw new Error(`no ${file}: the outputs step did not run; act printed:\n${r.log.slice(-4000)}`)
  return JSON.parse(readFileSync(path, 'utf8')) as {
    outcome: string
    outputs: Record<string, string>
  }
}

/**
 * act's cache server answered a lookup matching `lookup` with an entry that was then downloaded
 * (a GET of an archive before the next lookup).
 */
function downloaded(r: ActRun, lookup: RegExp): boolean {
  const i = r.debug.findIndex(l => lookup.test(l))
  if (i < 0) return false
  for (const l of r.debug.slice(i + 1)) {
    if (/^GET \S+\/_apis\/artifactcache\/artifacts\/\d+$/.test(l)) return true
    if (/^GET \S+\/_apis\/artifactcache\/cache\?/.test(l)) return false
  }
  return false
}

/** The RUN steps of a plain-progress build log that were not `CACHED`. */
function runStepsExecuted(output: string): string[] {
  const runs = new Map<string, string>()
  const cached = new Set<string>()
  for (const line of output.split('\n')) {
    const m = /^#(\d+) (\[.*\] RUN .*)$/.exec(line)
    if (m) runs.set(m[1], m[2])
    const c = /^#(\d+) CACHED$/.exec(line)
    if (c) cached.add(c[1])
  }
  return [...runs].filter(([n]) => !cached.has(n)).map(([, what]) => what)
}

let act: string
let base: string
let repo: string
let sha: string
const cacheDir = () => join(base, 'act-cache')
const out = () => join(base, 'out')
const repoName = uniqueRepo('act')
const image = `${REGISTRY}/${repoName}/hello-cli`
const broken = `${REGISTRY}/${repoName}/broken`

/** Go's directories at one path, as on a runner, emptied before each run (a fresh runner). */
function freshGo(): Record<string, string> {
  const go = emptyDir(join(base, 'go'))
  return {
    GOPATH: join(go, 'gopath'),
    GOMODCACHE: join(go, 'gopath', 'pkg', 'mod'),
    GOCACHE: join(go, 'gocache')
  }
}

function jobEnv(): Record<string, string> {
  return { GIA_SOURCE: repo, GIA_OUT: out(), ...freshGo() }
}

beforeAll(() => {
  requireBench()
  act = actBinary()
  base = mkdtempSync(join(tmpdir(), 'gia-act-'))
  mkdirSync(out())
  repo = join(base, 'repo')
  sha = actRepo(repo, {
    'release.yml': workflow(
      'release',
      'gia',
      hello(image),
      outputsStep('gia', 'release-outputs.json')
    ),
    'pr.yml': workflow('pull_request', 'gia', hello(image), outputsStep('gia', 'pr-outputs.json')),
    'broken.yml': workflow(
      'release',
      'broken',
      [
        `image: ${broken}`,
        'context: examples/broken-version',
        'platforms: linux/amd64',
        "go-gate: 'false'"
      ],
      outputsStep('broken', 'broken-outputs.json', 'failure()')
    )
  })
})

afterAll(() => {
  removeImages([`${image}:1.2.3`, `${image}:latest`, `${image}:pr-2`, `${broken}:1.2.3`])
  if (base) emptyDir(base)
  if (base) rmSync(base, { recursive: true, force: true })
})

describe("a release under act, cold then warm, with act's cache server and a runtime token", () => {
  let cold: ActRun
  let warm: ActRun
  let coldOutputs: { outcome: string; outputs: Record<string, string> }
  let warmOutputs: { outcome: string; outputs: Record<string, string> }

  beforeAll(async () => {
    const run = (): Promise<ActRun> =>
      runAct({
        act,
        repo,
        event: 'release',
        payload: release('v1.2.3').payload,
        workflow: 'release.yml',
        home: join(base, 'home'),
        cacheDir: cacheDir(),
        artifactServer: true,
        verbose: true,
        env: jobEnv()
      })
    cold = await run()
    coldOutputs = readOutputs(cold, 'release-outputs.json')
    warm = await run()
    warmOutputs = readOutputs(warm, 'release-outputs.json')
  }, 30 * MINUTES)

  it('publishes, and a later step reads the outputs', async () => {
    expect(cold.exitCode).toBe(0)
    expect(cold.jobResult).toBe('success')
    expect(step(cold, 'Main:gia').result).toBe('success')
    expect(step(cold, 'Main:gia').annotations).toEqual([])
    expect(coldOutputs.outcome).toBe('success')
    const o = coldOutputs.outputs
    expect(o['version']).toBe('1.2.3')
    expect(o['commit']).toBe(sha)
    expect(o['push']).toBe('true')
    expect(o['tags'].split('\n')).toEqual([`${image}:1.2.3`, `${image}:latest`])
    const digest = (JSON.parse(o['digests']) as Record<string, string>)[image]
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/)
    expect(await registryTags(REGISTRY, `${repoName}/hello-cli`)).toEqual(['1.2.3', 'latest'])
    // act's git remote names the repository, as GITHUB_REPOSITORY on GitHub
    expect(JSON.parse(o['metadata']).images[0].labels['org.opencontainers.image.source']).toBe(
      'https://github.com/octo-org/octo-repo'
    )
  })

  it('writes the job summary act reads, with every stage ok', () => {
    const summary = step(cold, 'Main:gia').summary ?? ''
    expect(summary).toContain('go-image-action: 1.2.3 published')
    for (const s of ['Go cache', 'Go gate', 'Build', 'Smoke test', 'Push'])
      expect(summary).toMatch(new RegExp(`^\\| ${s} \\| ok \\|`, 'm'))
  })

  it("uses both caches: the build cache is exported to act's cache server, the post step saves the Go caches", () => {
    const main = step(cold, 'Main:gia').output
    expect(main).toMatch(/^\[command\]\S*docker buildx build .*--cache-to type=gha,/m)
    expect(main).toMatch(/^Go cache: no entry for /m)
    expect(cold.debug.some(l => /^POST \S+\/_apis\/artifactcache\/caches$/.test(l))).toBe(true)
    const post = step(cold, 'Post:gia')
    expect(post.result).toBe('success')
    expect(post.output).toMatch(new RegExp(`^Go cache: saved ${GO_KEY.source}$`, 'm'))
  })

  it('on a fresh runner the warm run restores the Go caches on the exact key and imports the build cache', () => {
    expect(warm.exitCode).toBe(0)
    expect(warmOutputs.outputs['go-cache-hit']).toBe('true')
    const main = step(warm, 'Main:gia').output
    const key = /^Go cache: saved (\S+)$/m.exec(step(cold, 'Post:gia').output)?.[1]
    expect(main).toContain(`Go cache: restored ${key} (exact;`)
    // both came from act's cache server: the Go caches' GO_CACHE_PARTS archives (looked up side
    // by side and downloaded before the next client's lookup: the Go cache mounts', then
    // BuildKit's), and the build cache's index, which buildx imports (the act workspace is a new
    // directory each run, so go test reruns the tests; GOCACHE still holds every compiled package)
    const goLookup = /^GET \S+\/_apis\/artifactcache\/cache\?keys=go-image-action-go-part\d+of\d+-/
    const lookup = /^GET \S+\/_apis\/artifactcache\/cache\?keys=/
    const first = warm.debug.findIndex(l => goLookup.test(l))
    expect(first).toBeGreaterThanOrEqual(0)
    const next = warm.debug.findIndex((l, i) => i > first && lookup.test(l) && !goLookup.test(l))
    const goRequests = warm.debug.slice(first, next < 0 ? undefined : next)
    expect(goRequests.filter(l => goLookup.test(l))).toHaveLength(GO_CACHE_PARTS)
    expect(
      goRequests.filter(l => /^GET \S+\/_apis\/artifactcache\/artifacts\/\d+$/.test(l))
    ).toHaveLength(GO_CACHE_PARTS)
    expect(downloaded(warm, /^GET \S+\/_apis\/artifactcache\/cache\?keys=index-/)).toBe(true)
    expect(main).toMatch(/^#\d+ importing cache manifest from gha:/m)
    expect(runStepsExecuted(main)).toEqual([])
    // an exact hit saves nothing
    expect(step(warm, 'Post:gia').output).not.toContain('Go cache: saved')
  })
})

describe("a pull request under act's defaults (its cache server, no runtime token)", () => {
  let pr: ActRun
  let prOutputs: { outcome: string; outputs: Record<string, string> }

  beforeAll(async () => {
    const fx = pullRequest()
    fx.payload.pull_request.head.sha = sha
    pr = await runAct({
      act,
      repo,
      event: 'pull_request',
      payload: fx.payload,
      workflow: 'pr.yml',
      home: join(base, 'home'),
      cacheDir: cacheDir(),
      env: jobEnv()
    })
    prOutputs = readOutputs(pr, 'pr-outputs.json')
  }, 15 * MINUTES)

  it('builds and smoke-tests, pushes nothing, and a later step reads the outputs', async () => {
    expect(pr.exitCode).toBe(0)
    expect(step(pr, 'Main:gia').result).toBe('success')
    expect(prOutputs.outputs['version']).toBe('pr-2')
    expect(prOutputs.outputs['push']).toBe('false')
    expect(await registryTags(REGISTRY, `${repoName}/hello-cli`)).toEqual(['1.2.3', 'latest'])
    expect(step(pr, 'Main:gia').summary).toMatch(
      /^\| Push \| skipped \(push: auto \(pull request\)\)/m
    )
  })

  it('uses the Go cache (act sets ACTIONS_CACHE_URL, which is all @actions/cache v1 needs)', () => {
    const main = step(pr, 'Main:gia').output
    expect(main).toMatch(new RegExp(`^Go cache: restored ${GO_KEY.source} \\(exact; `, 'm'))
    expect(prOutputs.outputs['go-cache-hit']).toBe('true')
    expect(step(pr, 'Main:gia').summary).toMatch(/^\| Go cache \| ok \|/m)
  })

  it('turns the build cache off and says why: buildx needs a runtime token', () => {
    const main = step(pr, 'Main:gia')
    expect(warnings(main)).toEqual([
      expect.stringMatching(/^build cache: off, ACTIONS_RUNTIME_TOKEN is not set, and buildx drops/)
    ])
    expect(main.output).toMatch(/^\[command\]\S*docker buildx build /m)
    expect(main.output).not.toMatch(/^\[command\]\S*docker buildx build .*--cache-(from|to)/m)
  })
})

describe('a release whose smoke test fails, under act', () => {
  let r: ActRun
  let after: { outcome: string; outputs: Record<string, string> }

  beforeAll(async () => {
    r = await runAct({
      act,
      repo,
      event: 'release',
      payload: release('v1.2.3').payload,
      workflow: 'broken.yml',
      home: join(base, 'home'),
      cacheDir: cacheDir(),
      env: jobEnv()
    })
    after = readOutputs(r, 'broken-outputs.json')
  }, 15 * MINUTES)

  it('fails the step and the job, with the smoke test error', () => {
    expect(r.exitCode).not.toBe(0)
    expect(r.jobResult).toBe('failure')
    const main = step(r, 'Main:broken')
    expect(main.result).toBe('failure')
    expect(main.annotations.filter(a => a.command === 'error').map(a => a.message)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^smoke test of \S+\/broken on linux\/amd64 failed: /),
        expect.stringMatching(
          /^smoke test failed for \S+\/broken on linux\/amd64; nothing was pushed$/
        )
      ])
    )
    expect(main.summary).toMatch(/^\| Smoke test \| failed \|/m)
  })

  it('runs the if: failure() step, which sees the failure and the outputs set before it', () => {
    expect(after.outcome).toBe('failure')
    expect(after.outputs['version']).toBe('1.2.3')
    // the plan pushes (a published release), nothing was: the push output says what happened
    expect(after.outputs['push']).toBe('false')
  })

  it('pushes nothing, and still runs the post step', async () => {
    expect(await registryTags(REGISTRY, `${repoName}/broken`)).toEqual([])
    expect(step(r, 'Post:broken').result).toBe('success')
  })
})
