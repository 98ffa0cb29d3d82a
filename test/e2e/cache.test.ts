/**
 * The caches for real: the bundle against the real engine (BuildKit 0.13 inside Docker 26.1, v1
 * gha protocol), the real @actions/cache (v2) and the local cache service (test/cache-server).
 * Go's caches get their own directories here, so a "cold" run is really cold, and the local
 * BuildKit cache is pruned before each build that must prove the gha cache.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  startCacheServer,
  type CacheServer,
  type CacheStats,
  type KeyStats
} from '../cache-server/server.js'
import { release, type EventFixture } from '../fixtures/events.js'
import { buildLog, ROOT, runAction, type ActionRun } from '../harness/runner.js'
import { GO_CACHE_PARTS, wholeKey } from '../../src/go/cache.js'
import {
  buildxUnderTest,
  compiledPackageCounts,
  docker,
  REGISTRY,
  removeImages,
  requireBench,
  tagsOf,
  uniqueRepo
} from './bench.js'

const MINUTES = 60_000
const PLATFORMS = 'linux/amd64,linux/arm64'
/**
 * The gha protocol BuildKit speaks here: v1 with Debian's buildx 0.13 (the engine's BuildKit
 * 0.13); v2 with GIA_BUILDX=current (buildx 0.3x, and a docker-container builder of the bench's
 * BuildKit 0.3x, which the action creates because the engine's BuildKit speaks only v1).
 */
const GHA = buildxUnderTest() === 'current' ? 'v2' : 'v1'
/** The one warning the Debian buildx must give: buildx 0.13 / BuildKit 0.13 speak only v1. */
const OLD_BUILDX =
  /^build cache: the cache service is v2, but buildx \S+ \/ BuildKit .* speak only v1/
const GO_KEY = /^go-image-action-go-linux-[a-z0-9]+-go\d[^-]*-[0-9a-f]{32}-[0-9a-f]{8}$/
/** The keys of the action's own @actions/cache entries: the Go cache and the Go cache mounts. */
const ACTION_KEYS = 'go-image-action-'
/** The keys of BuildKit's gha cache: layer blobs and one index per scope. */
const BUILDKIT_KEYS = ['buildkit-blob-', 'index-']

/** The cache service's counts, per client: both speak v2 with today's buildx. */
interface ClientStats {
  /** @actions/cache, for the Go cache and the Go cache mounts. */
  action: KeyStats
  /** BuildKit's `type=gha` cache. */
  buildkit: KeyStats
}

function clientStats(server: CacheServer): ClientStats {
  return { action: server.statsFor(ACTION_KEYS), buildkit: server.statsFor(...BUILDKIT_KEYS) }
}

beforeAll(() => requireBench())

function hello(repo: string): string {
  return [
    `- name: ${REGISTRY}/${repo}/hello-cli`,
    '  dockerfile: cmd/hello-cli/Dockerfile',
    `- name: ${REGISTRY}/${repo}/hello-web`,
    '  dockerfile: cmd/hello-web/Dockerfile'
  ].join('\n')
}

/** Removes a tree, also Go's read-only module cache, and recreates it empty. */
function emptyDir(dir: string): string {
  if (existsSync(dir)) execFileSync('chmod', ['-R', 'u+w', dir])
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  return dir
}

/**
 * Marks this file's copy of the example as its own: a comment in go.mod. BuildKit merges a step
 * of a build with an identical one of a concurrent build on the same engine (the e2e tests and
 * benchmarks of others share the bench's engine) and then lists the other build's vertex in this
 * build's log too, under its own number: `go mod download`, which no build argument changes, was
 * once listed twice in run 2, CACHED and as the other build's `DONE 1.4s`, and counted as run.
 * COPY go.mod makes every Go step below it this file's own; the Go cache keys hash go.sum.
 */
const OWN_MODULE = `// go-image-action e2e cache test ${randomBytes(4).toString('hex')}\n`

/** A fresh checkout of examples/hello at a fixed path (as on a runner: same path every job). */
function checkout(dir: string): string {
  emptyDir(dir)
  cpSync(join(ROOT, 'examples', 'hello'), dir, { recursive: true })
  writeFileSync(join(dir, 'go.mod'), OWN_MODULE + readFileSync(join(dir, 'go.mod'), 'utf8'))
  return dir
}

/** Go's caches in their own, empty directories (a fresh runner): the restore is all there is. */
function freshGo(base: string): Record<string, string> {
  emptyDir(base)
  return goDirs(base)
}

/** GOPATH, GOMODCACHE and GOCACHE under `base`, as they are. */
function goDirs(base: string): Record<string, string> {
  return {
    GOPATH: join(base, 'gopath'),
    GOMODCACHE: join(base, 'gopath', 'pkg', 'mod'),
    GOCACHE: join(base, 'gocache')
  }
}

/** Drops the local BuildKit cache and the loaded images, so only the gha cache can help. */
function coldBuilder(tags: string[]): void {
  docker(['buildx', 'prune', '--all', '--force'])
  removeImages(tags)
}

function stageMs(r: ActionRun, name: string): number {
  const s = (JSON.parse(r.main.outputs.metadata).stages as { stage: string; ms: number }[]).find(
    x => x.stage === name
  )
  if (!s) throw new Error(`no stage ${name}`)
  return s.ms
}

function stageStatus(r: ActionRun, name: string): string | undefined {
  return (JSON.parse(r.main.outputs.metadata).stages as { stage: string; status: string }[]).find(
    x => x.stage === name
  )?.status
}

/** Errors and warnings except the expected "buildx 0.13 is too old for v2" one. */
function unexpected(r: ActionRun): string[] {
  return [...r.main.annotations, ...(r.post?.annotations ?? [])]
    .filter(a => a.command !== 'notice' && !OLD_BUILDX.test(a.message))
    .map(a => `${a.command}: ${a.message}`)
}

interface BuildStep {
  n: string
  name: string
  /** Printed `#N CACHED`: the result was reused without being loaded. */
  cached: boolean
  /** Printed blob downloads (`#N sha256:<digest> <size> / <size> done`): the result was reused
   * and loaded from the cache because a later step needed its files. */
  loaded: boolean
  /** Neither: the step was executed. */
  ran: boolean
}

/** The build steps (`#N [stage x/y] INSTRUCTION`) of a plain-progress log and how each ended. */
function steps(log: string): BuildStep[] {
  const named = new Map<string, string>()
  const cached = new Set<string>()
  const loaded = new Set<string>()
  for (const line of log.split('\n')) {
    const m = /^#(\d+) (\[[^\]]*\] .*)$/.exec(line)
    if (m && !named.has(m[1])) named.set(m[1], m[2])
    const c = /^#(\d+) CACHED$/.exec(line)
    if (c) cached.add(c[1])
    const l = /^#(\d+) sha256:[0-9a-f]{64} \S+ \/ \S+ .*done$/.exec(line)
    if (l) loaded.add(l[1])
  }
  return [...named].map(([n, name]) => ({
    n,
    name,
    cached: cached.has(n),
    loaded: loaded.has(n),
    ran: !cached.has(n) && !loaded.has(n)
  }))
}

/** The RUN steps that download modules or compile: what the gha cache must save. */
function goSteps(log: string): BuildStep[] {
  return steps(log).filter(s => /\] RUN .*\bgo (mod download|build)\b/.test(s.name))
}

/** `go test` result lines (`ok  <pkg>  <time or (cached)>`) in the Go gate's log. */
function goTestLines(r: ActionRun): string[] {
  const gate = r.main.stdout.slice(r.main.stdout.indexOf('::group::Go gate'))
  return gate
    .slice(0, gate.indexOf('::endgroup::'))
    .split('\n')
    .filter(l => /^ok\s+\S+/.test(l))
}

/** The `docker buildx build` command lines the action ran. */
function buildCommands(r: ActionRun): string[] {
  return r.main.stdout.split('\n').filter(l => /^\[command\]\S*docker buildx build /.test(l))
}

/** The committed entries of the Go caches in the service: GO_CACHE_PARTS per key. */
function goEntries(stats: CacheStats): string[] {
  return stats.keys.filter(k => k.startsWith('go-image-action-go-'))
}

/** The committed Go cache keys of the service (each kept in GO_CACHE_PARTS entries), oldest first. */
function goKeys(stats: CacheStats): string[] {
  return [...new Set(goEntries(stats).map(wholeKey))]
}

/**
 * Runs assertions about whole runs; when one fails, the runs' logs are written next to the temp
 * dir and named in the error (a build log is too long for an assertion message).
 */
function withLogs(runs: Record<string, ActionRun | undefined>, check: () => void): void {
  try {
    check()
  } catch (e) {
    const files = Object.entries(runs).map(([name, r]) => {
      const file = join(tmpdir(), `gia-e2e-cache-${name}.log`)
      writeFileSync(file, r?.log ?? '(no run)')
      return file
    })
    ;(e as Error).message += `\n\nlogs: ${files.join(' ')}`
    throw e
  }
}

describe('two runs on an unchanged example, one cache service, no local build cache', () => {
  const base = mkdtempSync(join(tmpdir(), 'gia-e2e-cache-'))
  const workspace = join(base, 'workspace')
  const repo = uniqueRepo('cache')
  const images = [`${REGISTRY}/${repo}/hello-cli`, `${REGISTRY}/${repo}/hello-web`]
  let server: CacheServer
  let fx: EventFixture
  let cold: ActionRun
  let warm: ActionRun
  let coldStats: CacheStats
  let warmStats: CacheStats
  let cold2: ClientStats
  let warm2: ClientStats
  /** Run 2's requests for each image scope's index, by scope. */
  const warmIndexes: Record<string, KeyStats> = {}
  let coldWall: number
  let warmWall: number
  let tags: string[] = []

  /** A test body whose failure names the two runs' logs. */
  const check =
    (fn: () => void): (() => void) =>
    () =>
      withLogs({ cold, warm }, fn)

  async function run(extra: Record<string, string> = {}): Promise<ActionRun> {
    return runAction({
      ...fx,
      workspace,
      // RUNNER_TEMP at one path, empty, as on every hosted runner: the Go cache mounts are
      // restored there, and an Actions cache entry's version depends on the paths it holds
      env: {
        ...fx.env,
        ...server.env(),
        ...freshGo(join(base, 'go')),
        RUNNER_TEMP: emptyDir(join(base, 'runner-temp'))
      },
      inputs: { images: hello(repo), platforms: PLATFORMS, push: 'false', ...extra }
    })
  }

  beforeAll(async () => {
    server = await startCacheServer({ dir: join(base, 'cache') })
    // A release: fixed VERSION, COMMIT and DATE build args, so an unchanged tree has unchanged
    // build steps (a pull request's date would be "now" and defeat any cache). The version is
    // this test's own: BuildKit merges identical steps of concurrent builds, and another test
    // building the same tree as the same release would share (and blur) our cold/warm steps.
    fx = release(`v1.2.3-cache.${randomBytes(3).toString('hex')}`)

    checkout(workspace)
    coldBuilder([])
    let t = Date.now()
    cold = await run()
    coldWall = Date.now() - t
    coldStats = server.stats()
    cold2 = clientStats(server)
    tags = cold.main.outputs.tags.split('\n').filter(Boolean)

    server.resetStats()
    checkout(workspace)
    coldBuilder(tags)
    t = Date.now()
    warm = await run()
    warmWall = Date.now() - t
    warmStats = server.stats()
    warm2 = clientStats(server)
    for (const i of JSON.parse(cold.main.outputs.metadata ?? '{"images":[]}').images as {
      cacheScope: string
    }[])
      warmIndexes[i.cacheScope] = server.statsFor(`index-${i.cacheScope}-1-`)
  }, 20 * MINUTES)

  afterAll(async () => {
    await server?.stop()
    removeImages(tags)
    emptyDir(base)
    rmSync(base, { recursive: true, force: true })
  })

  it(
    'both runs succeed with no warning but the expected buildx-too-old-for-v2 one',
    check(() => {
      for (const r of [cold, warm]) {
        expect(unexpected(r)).toEqual([])
        expect(r.main.exitCode).toBe(0)
        expect(r.post?.exitCode).toBe(0)
        expect(stageStatus(r, 'Build')).toBe('ok')
        expect(stageStatus(r, 'Smoke test')).toBe('ok')
      }
      // buildx got the runtime env: both builds import and export the gha cache
      for (const r of [cold, warm]) {
        expect(buildCommands(r)).toHaveLength(2)
        for (const cmd of buildCommands(r))
          expect(cmd).toMatch(/ --cache-to type=gha,scope=\S+,mode=max,ignore-error=true /)
      }
      for (const image of images) {
        // the export really finished: ignore-error=true would let a failed one pass silently
        const exp = /^#(\d+) exporting to GitHub Actions Cache$/m.exec(buildLog(cold, image))
        expect(exp).not.toBeNull()
        const n = (exp as RegExpExecArray)[1]
        expect(buildLog(cold, image)).toMatch(new RegExp(`^#${n} DONE `, 'm'))
        expect(buildLog(cold, image)).not.toMatch(new RegExp(`^#${n} (ERROR|CANCELED)`, 'm'))
        expect(buildLog(warm, image)).toMatch(/^#\d+ importing cache manifest from gha:/m)
      }
    })
  )

  it(
    'run 1 starts cold, misses the Go caches, and its post step saves them',
    check(() => {
      expect(cold.main.outputs['go-cache-hit']).toBe('false')
      expect(cold.main.stdout).toMatch(/^Go cache: no entry for go-image-action-go-\S+ or /m)
      // its own GOCACHE: no test result came from the machine's cache
      const lines = goTestLines(cold)
      expect(lines).toHaveLength(4)
      expect(lines.filter(l => l.endsWith('(cached)'))).toEqual([])
      const keys = goKeys(coldStats)
      expect(keys).toHaveLength(1)
      expect(keys[0]).toMatch(GO_KEY)
      expect(goEntries(coldStats)).toHaveLength(GO_CACHE_PARTS)
      expect(cold.post?.stdout).toContain(`Go cache: saved ${keys[0]}\n`)
      // and the Dockerfiles' Go cache mounts: one more entry (test/e2e/go-cache-mounts.test.ts);
      // counted by their keys, apart from BuildKit's v2 requests (today's buildx)
      const n = GO_CACHE_PARTS + 1
      expect(cold2.action.v2).toMatchObject({ lookups: n, misses: n, reserves: n, commits: n })
      expect(cold2.action.v1.lookups + cold2.action.v1.reserves).toBe(0)
    })
  )

  it(
    'run 2 restores the Go caches on the exact key, go test reports every package (cached), and saves nothing',
    check(() => {
      const key = goKeys(coldStats)[0]
      expect(warm.main.outputs['go-cache-hit']).toBe('true')
      expect(warm.main.stdout).toContain(
        `Go cache: restored ${key} (exact; ${GO_CACHE_PARTS} entries unpacked side by side)`
      )
      const n = GO_CACHE_PARTS + 1
      expect(warm2.action.v2).toMatchObject({ lookups: n, exactHits: n, downloads: n, reserves: 0 })
      const lines = goTestLines(warm)
      expect(lines).toHaveLength(4)
      for (const l of lines) expect(l).toMatch(/\(cached\)$/)
      expect(warm.post?.stdout).not.toContain('Go cache: saved')
      expect(goKeys(warmStats)).toEqual([key])
    })
  )

  it(
    `run 2 takes every Go build step of both images from the gha cache (${GHA}, the service counts the hits)`,
    check(() => {
      for (const image of images) {
        const coldSteps = goSteps(buildLog(cold, image))
        const warmSteps = goSteps(buildLog(warm, image))
        // go mod download once (on the build platform), go build per target platform
        expect(
          warmSteps.map(s => s.name.replace(/^\[([^\]]*)\].*\bgo (\w+).*$/, '$1: $2')).sort()
        ).toEqual([
          'linux/amd64 build 4/6: mod',
          'linux/amd64 build 6/6: build',
          'linux/amd64->arm64 build 6/6: build'
        ])
        // run 1 really compiled (the prune worked; go mod download, the same step in both images,
        // is checked below) and run 2 ran nothing
        expect(coldSteps.filter(s => !s.ran && / go build /.test(s.name))).toEqual([])
        // (CACHED, or loaded from the cache when a later step needs the files: BuildKit prints
        // one or the other depending on timing)
        expect(warmSteps.filter(s => s.ran)).toEqual([])
        // nor did any RUN step print output (it would have if it ran)
        const ran = buildLog(warm, image)
          .split('\n')
          .filter(l => /^#\d+ \d+\.\d+ /.test(l))
        expect(ran).toEqual([])
      }
      // the images build at once: their common go mod download ran in one of them (or in both)
      const modRuns = images.flatMap(image =>
        goSteps(buildLog(cold, image)).filter(s => s.ran && / go mod download/.test(s.name))
      )
      expect(modRuns.length).toBeGreaterThan(0)
      // every request the service saw was the action's or BuildKit's, told apart by the key
      for (const [all, by] of [
        [coldStats, cold2],
        [warmStats, warm2]
      ] as const)
        for (const f of ['lookups', 'reserves', 'commits', 'downloads'] as const)
          expect(by.action.total[f] + by.buildkit.total[f]).toBe(all.total[f])
      // BuildKit speaks GHA only: every blob lookup hit, layers were downloaded from the service
      const other = GHA === 'v1' ? 'v2' : 'v1'
      const bk = { cold: cold2.buildkit, warm: warm2.buildkit }
      expect(bk.warm[other].lookups + bk.cold[other].reserves + bk.cold[other].commits).toBe(0)
      expect(bk.warm[GHA].misses).toBe(0)
      expect(bk.warm[GHA].exactHits).toBeGreaterThan(10)
      expect(bk.warm[GHA].downloads).toBeGreaterThan(0)
      expect(bk.cold[GHA].commits).toBeGreaterThan(10)
      // (@actions/cache speaks v2 whatever the buildx: the Go cache's entries and the Go cache
      // mounts', one lookup each warm and one reserve each cold)
      expect(warm2.action.v2.lookups + cold2.action.v2.reserves).toBe(2 * (GO_CACHE_PARTS + 1))
    })
  )

  it(
    'two images in one run keep separate build caches: one index per image scope, both hit',
    check(() => {
      // what a shared scope breaks: the second image's index replaces the first one's, and the
      // first image misses on the next run
      for (const image of images) {
        const go = goSteps(buildLog(warm, image))
        expect(go.length).toBe(3)
        expect(go.filter(s => s.ran)).toEqual([])
      }
      const meta = JSON.parse(cold.main.outputs.metadata) as { images: { cacheScope: string }[] }
      const scopes = meta.images.map(i => i.cacheScope)
      expect(new Set(scopes).size).toBe(2)
      for (const scope of scopes) {
        const index = coldStats.keys.filter(k => k.startsWith(`index-${scope}-1-`))
        expect(index).toHaveLength(1)
        expect(index[0]).toMatch(/#1$/)
        // run 2 loaded this scope's index (the newest by prefix), and it was there
        const loads = warmIndexes[scope][GHA]
        expect(loads.lookups).toBeGreaterThan(0)
        expect(loads.misses).toBe(0)
        expect(loads.downloads).toBeGreaterThan(0)
      }
      // the index loads are the service's prefix hits: one per image, none lost to the other
      expect(warm2.buildkit[GHA].prefixHits).toBeGreaterThanOrEqual(2)
    })
  )

  it(
    'run 2 is measurably faster: the build, the gate and the whole run',
    check(() => {
      const coldBuild = stageMs(cold, 'Build')
      const warmBuild = stageMs(warm, 'Build')
      console.log(
        `cache e2e: build ${coldBuild} -> ${warmBuild} ms, gate ${stageMs(cold, 'Go gate')} -> ${stageMs(warm, 'Go gate')} ms, wall ${coldWall} -> ${warmWall} ms`
      )
      expect(warmBuild).toBeLessThan(coldBuild / 2)
      expect(stageMs(warm, 'Go gate')).toBeLessThan(stageMs(cold, 'Go gate'))
      expect(warmWall).toBeLessThan(coldWall)
    })
  )

  it(
    'a dependency change restores the Go caches by prefix and saves a new entry',
    async () => {
      const before = goKeys(server.stats())
      checkout(workspace)
      // bump golang.org/x/text (go.mod keeps `go 1.26`); the machine's module cache serves go get
      execFileSync('go', ['get', 'golang.org/x/text@v0.36.0'], { cwd: workspace, stdio: 'pipe' })
      execFileSync('go', ['mod', 'tidy'], { cwd: workspace, stdio: 'pipe' })
      expect(readFileSync(join(workspace, 'go.mod'), 'utf8')).toMatch(/^go 1\.26$/m)
      expect(readFileSync(join(workspace, 'go.sum'), 'utf8')).toContain('golang.org/x/text v0.36.0')
      server.resetStats()

      const r = await run({
        images: `- name: ${images[0]}\n  dockerfile: cmd/hello-cli/Dockerfile`,
        platforms: 'linux/amd64'
      })
      expect(unexpected(r)).toEqual([])
      expect(r.main.exitCode).toBe(0)
      const after = goKeys(server.stats())
      const added = after.filter(k => !before.includes(k))
      expect(added).toHaveLength(1)
      expect(added[0]).toMatch(GO_KEY)
      expect(r.main.outputs['go-cache-hit']).toBe('false')
      expect(r.main.stdout).toContain(
        `Go cache: restored ${before[0]} (prefix; ${added[0]} will be saved)`
      )
      // the Go cache mounts too (go.sum is in their key)
      expect(server.statsFor(ACTION_KEYS).v2).toMatchObject({
        prefixHits: GO_CACHE_PARTS + 1,
        exactHits: 0,
        commits: GO_CACHE_PARTS + 1
      })
      expect(r.post?.stdout).toContain(`Go cache: saved ${added[0]}`)
      // the prefix restore is worth it: a package that does not use x/text keeps its test result
      const lines = goTestLines(r)
      expect(lines.find(l => l.includes('example.com/hello/internal/buildinfo'))).toMatch(
        /\(cached\)$/
      )
      expect(lines.find(l => l.includes('example.com/hello/internal/greet'))).not.toMatch(
        /\(cached\)$/
      )
    },
    15 * MINUTES
  )
})

describe('a runner build gains a platform: the Go caches follow', () => {
  const base = mkdtempSync(join(tmpdir(), 'gia-e2e-cache-platform-'))
  const image = `${REGISTRY}/${uniqueRepo('cache-platform')}/hello-cli`
  const runs: Record<string, ActionRun> = {}
  let server: CacheServer
  const tags: string[] = []

  beforeAll(async () => {
    server = await startCacheServer({ dir: join(base, 'cache') })
  })
  afterAll(async () => {
    await server?.stop()
    removeImages(tags)
    emptyDir(base)
    rmSync(base, { recursive: true, force: true })
  })

  /** A release on a fresh runner (empty Go dirs at the same paths), only the cache service kept;
   * or, with `sameRunner`, on the runner of the run before, its Go dirs as they are. */
  async function onFreshRunner(
    name: string,
    platforms: string,
    sameRunner = false
  ): Promise<ActionRun> {
    const fx = release(`v3.0.0-platform.${randomBytes(3).toString('hex')}`)
    const go = join(base, 'go')
    const goEnv = sameRunner ? goDirs(go) : freshGo(go)
    const r = await runAction({
      ...fx,
      workspace: checkout(join(base, 'workspace')),
      env: { ...fx.env, ...server.env(), ...goEnv },
      inputs: {
        images: [`- name: ${image}`, '  main: ./cmd/hello-cli', '  base-image: scratch'].join('\n'),
        platforms,
        'go-gate': 'false',
        push: 'false'
      }
    })
    runs[name] = r
    tags.push(...tagsOf(r))
    return r
  }

  it(
    'the first arm64 run restores amd64 by prefix and saves a new entry; the next one compiles nothing',
    async () => {
      const one = await onFreshRunner('one', 'linux/amd64')
      const two = await onFreshRunner('two', 'linux/amd64,linux/arm64')
      const three = await onFreshRunner('three', 'linux/amd64,linux/arm64')
      withLogs(runs, () => {
        // Also a stale-context check: runs two and three build the same commit with versions of
        // the same length and the same release date, from the same context path, on one builder.
        // Their binaries have the same size; with the release date as their exact mtime, BuildKit
        // kept run two's binary for run three, whose smoke test then failed on the version.
        for (const r of [one, two, three]) {
          expect(unexpected(r)).toEqual([])
          expect(r.main.exitCode).toBe(0)
        }
        const [k1, k2] = goKeys(server.stats())
        expect(goKeys(server.stats())).toHaveLength(2)
        for (const k of [k1, k2]) expect(k).toMatch(GO_KEY)
        // same go.sum, another build config: the first restore key is the same-dependencies one
        expect(k1.slice(0, -8)).toBe(k2.slice(0, -8))
        expect(one.post?.stdout).toContain(`Go cache: saved ${k1}`)
        expect(two.main.stdout).toContain(`Go cache: restored ${k1} (prefix; ${k2} will be saved)`)
        expect(two.post?.stdout).toContain(`Go cache: saved ${k2}`)
        expect(three.main.stdout).toContain(`Go cache: restored ${k2} (exact;`)
        expect(three.post?.stdout ?? '').not.toContain('Go cache: saved')
        // amd64 came back from run 1 each time; arm64 was compiled once, in run 2
        expect(compiledPackageCounts(one)['linux/amd64']).toBeGreaterThan(20)
        expect(compiledPackageCounts(two)).toMatchObject({ 'linux/amd64': 0 })
        expect(compiledPackageCounts(two)['linux/arm64']).toBeGreaterThan(20)
        expect(compiledPackageCounts(three)).toEqual({ 'linux/amd64': 0, 'linux/arm64': 0 })
      })
    },
    20 * MINUTES
  )

  it(
    'on the same runner again, the Go caches it holds are not downloaded: no request for them',
    async () => {
      const key = goKeys(server.stats()).at(-1)
      server.resetStats()
      const four = await onFreshRunner('four', 'linux/amd64,linux/arm64', true)
      withLogs(runs, () => {
        expect(unexpected(four)).toEqual([])
        expect(four.main.exitCode).toBe(0)
        expect(four.main.outputs['go-cache-hit']).toBe('true')
        expect(four.main.stdout).toContain(
          `Go cache: ${key} is already in ${join(base, 'go', 'gocache')} (an earlier run on this runner restored or saved it); nothing to download`
        )
        // nothing of the Go caches was looked up, downloaded or saved (BuildKit's gha cache
        // has its own keys, and its own protocol with Debian's buildx)
        expect(server.statsFor(ACTION_KEYS).total).toMatchObject({
          lookups: 0,
          reserves: 0,
          commits: 0,
          downloads: 0
        })
        expect(four.post?.stdout ?? '').not.toContain('Go cache: saved')
        expect(compiledPackageCounts(four)).toEqual({ 'linux/amd64': 0, 'linux/arm64': 0 })
      })
    },
    10 * MINUTES
  )

  it(
    'one of its entries evicted: that part falls back on its own, the others hit, and only it is saved',
    async () => {
      const [k1, key] = goKeys(server.stats())
      const evicted = goEntries(server.stats()).filter(
        k => wholeKey(k) === key && /-part3of/.test(k)
      )
      expect(evicted).toHaveLength(1)
      expect(server.evict(evicted[0])).toBe(1)
      server.resetStats()
      const five = await onFreshRunner('five', 'linux/amd64,linux/arm64')
      withLogs(runs, () => {
        expect(unexpected(five)).toEqual([])
        expect(five.main.exitCode).toBe(0)
        expect(five.main.outputs['go-cache-hit']).toBe('false')
        const n = GO_CACHE_PARTS
        // part 3 comes from the newest entry of the same go.sum: run one's (amd64 only)
        expect(five.main.stdout).toContain(
          `Go cache: restored ${key}, ${k1} (${n - 1} of ${n} entries exact, 1 by prefix; ${key} will be saved)`
        )
        expect(five.post?.stdout).toContain(
          `Go cache: saved ${key} (1 of its ${n} entries; ${n - 1} were restored exactly)`
        )
        expect(server.statsFor(ACTION_KEYS).v2).toMatchObject({
          exactHits: n - 1,
          prefixHits: 1,
          commits: 1
        })
        expect(goEntries(server.stats()).filter(k => wholeKey(k) === key)).toHaveLength(n)
        // amd64 has all it had; arm64 compiles what only the evicted part held, not everything
        const compiled = compiledPackageCounts(five)
        expect(compiled['linux/amd64']).toBe(0)
        expect(compiled['linux/arm64']).toBeGreaterThan(0)
        expect(compiled['linux/arm64']).toBeLessThan(compiledPackageCounts(runs.one)['linux/amd64'])
      })
    },
    10 * MINUTES
  )
})

describe('cache off or unavailable', () => {
  const image = () => `${REGISTRY}/${uniqueRepo('nocache')}/hello-cli`
  const loaded: string[] = []
  afterAll(() => {
    removeImages(loaded)
  })

  it(
    "cache: 'false' sends no request to the cache service, even with the runtime env set",
    async () => {
      const requests: string[] = []
      const dir = mkdtempSync(join(tmpdir(), 'gia-e2e-nocache-'))
      const server = await startCacheServer({ dir, log: l => requests.push(l) })
      try {
        const fx = release('v1.0.0')
        const ws = checkout(join(dir, 'workspace'))
        const r = await runAction({
          ...fx,
          workspace: ws,
          env: { ...fx.env, ...server.env() },
          inputs: {
            image: image(),
            dockerfile: 'cmd/hello-cli/Dockerfile',
            platforms: 'linux/amd64',
            push: 'false',
            cache: 'false'
          }
        })
        expect(r.main.annotations.filter(a => a.command !== 'notice')).toEqual([])
        loaded.push(...tagsOf(r))
        expect(r.main.exitCode).toBe(0)
        expect(stageStatus(r, 'Go cache')).toBe('skipped')
        expect(stageStatus(r, 'Go gate')).toBe('ok')
        expect(r.main.outputs['go-cache-hit']).toBe('false')
        expect(buildCommands(r)).toHaveLength(1)
        expect(buildCommands(r)[0]).not.toMatch(/--cache-(from|to)|type=gha/)
        expect(r.post?.stdout).not.toContain('Go cache')
        expect(requests).toEqual([])
        const s = server.stats()
        expect(s.entries + s.pending).toBe(0)
        expect(s.total.lookups + s.total.reserves + s.total.unauthorized).toBe(0)
      } finally {
        await server.stop()
        rmSync(dir, { recursive: true, force: true })
      }
    },
    10 * MINUTES
  )

  it(
    'without the runtime env the run says the build cache is off (never a silent no-op) and succeeds',
    async () => {
      const fx = release('v1.0.0')
      const dir = mkdtempSync(join(tmpdir(), 'gia-e2e-noenv-'))
      try {
        const r = await runAction({
          ...fx,
          workspace: checkout(join(dir, 'workspace')),
          inputs: {
            image: image(),
            dockerfile: 'cmd/hello-cli/Dockerfile',
            platforms: 'linux/amd64',
            push: 'false'
          }
        })
        loaded.push(...tagsOf(r))
        expect(r.main.exitCode).toBe(0)
        const warnings = r.main.annotations.filter(a => a.command === 'warning').map(a => a.message)
        expect(warnings).toEqual(
          expect.arrayContaining([
            expect.stringMatching(/^build cache: off, ACTIONS_RUNTIME_TOKEN is not set/),
            expect.stringMatching(
              /^Go cache: the GitHub Actions cache is not available \(ACTIONS_CACHE_URL is not set/
            )
          ])
        )
        // the stages table says so too, not "ok"
        expect(stageStatus(r, 'Go cache')).toBe('unavailable')
        expect(r.main.summary).toMatch(
          /^\| Go cache \| unavailable \(ACTIONS_CACHE_URL is not set/m
        )
        expect(r.main.annotations.filter(a => a.command === 'error')).toEqual([])
        expect(buildCommands(r)).toHaveLength(1)
        expect(buildCommands(r)[0]).not.toMatch(/--cache-(from|to)|type=gha/)
        expect(r.main.outputs['go-cache-hit']).toBe('false')
        expect(r.post?.stdout).not.toContain('Go cache: saved')
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    },
    10 * MINUTES
  )
})
