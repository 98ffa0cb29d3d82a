/**
 * The Go cache mounts of a Dockerfile build (`RUN --mount=type=cache,target=/go/pkg/mod` and
 * `/root/.cache/go-build`) carried across runners through the Actions cache: the bundle against
 * the real engine, BuildKit and the local cache service.
 *
 * A "fresh runner" is a builder whose cache mounts are empty. The bench has one shared builder,
 * whose cache must not be pruned, so each runner here gets cache mounts of its own through
 * BuildKit's BUILDKIT_CACHE_MOUNT_NS build argument, which prefixes the id of every cache mount
 * of the build: the second runner's mounts start empty, exactly as on a new machine, and
 * nothing else on the builder is touched. The action passes the image's build args to the
 * builds that fill and read the mounts, so it reaches the same namespaced mounts. afterAll
 * prunes only the cache records of these namespaces.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { randomBytes } from 'node:crypto'
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startCacheServer, type CacheServer } from '../cache-server/server.js'
import { release } from '../fixtures/events.js'
import { ROOT, runAction, type ActionRun } from '../harness/runner.js'
import {
  docker,
  REGISTRY,
  registryTags,
  removeImages,
  requireBench,
  tagsOf,
  uniqueRepo
} from './bench.js'

const MINUTES = 60_000
const MOUNTS_KEY = /^go-image-action-docker-go-linux-[a-z0-9]+-[0-9a-f]{32}-[0-9a-f]{8}$/

beforeAll(() => requireBench())

/**
 * Packages each platform's `go build -v` compiled inside the build: the output lines of the
 * `RUN ... go build` steps of the plain-progress log, by the step's platform.
 */
function compiledInBuild(r: ActionRun): Record<string, number> {
  const names = new Map<string, string>()
  const counts: Record<string, number> = {}
  for (const line of r.main.stdout.split('\n')) {
    const step = /^#(\d+) \[(linux\/\S+) build \d+\/\d+\] RUN .* go build /.exec(line)
    if (step) {
      names.set(step[1], step[2])
      counts[step[2]] ??= 0
      continue
    }
    const out = /^#(\d+) \d+\.\d+ ([\w.~-]+(\/[\w.~-]+)*)$/.exec(line)
    if (out && names.has(out[1])) counts[names.get(out[1]) as string]++
  }
  return counts
}

function stageStatus(r: ActionRun, name: string): string | undefined {
  return (JSON.parse(r.main.outputs.metadata).stages as { stage: string; status: string }[]).find(
    x => x.stage === name
  )?.status
}

function problems(r: ActionRun): string[] {
  return [...r.main.annotations, ...(r.post?.annotations ?? [])]
    .filter(a => a.command === 'error' || /Go cache mounts/.test(a.message))
    .map(a => `${a.command}: ${a.message}`)
}

/** Prunes the builder's cache records of one BUILDKIT_CACHE_MOUNT_NS, and nothing else. */
function pruneNamespace(ns: string): void {
  const ids: string[] = []
  let id = ''
  for (const line of docker(['buildx', 'du', '--verbose']).split('\n')) {
    const m = /^ID:\s+(\S+)/.exec(line)
    if (m) id = m[1]
    if (line.startsWith('Description:') && line.includes(`with id "${ns}/`)) ids.push(id)
  }
  for (const x of ids) docker(['buildx', 'prune', '--force', '--filter', `id=${x}`])
}

describe('Go cache mounts of a Dockerfile build, carried to a fresh runner', () => {
  const base = mkdtempSync(join(tmpdir(), 'gia-e2e-mounts-'))
  const image = `${REGISTRY}/${uniqueRepo('mounts')}/hello-cli`
  const namespaces = [1, 2].map(n => `gia-e2e-${n}-${randomBytes(4).toString('hex')}`)
  const tags: string[] = []
  let server: CacheServer
  let first: ActionRun
  let second: ActionRun
  let again: ActionRun
  /** Entry bytes the cache service sent during the third run. */
  let againDownloaded = 0

  /**
   * A release on a fresh runner: its own checkout, RUNNER_TEMP and builder cache mounts
   * (namespace `ns`), GitHub-hosted or self-hosted.
   */
  async function onFreshRunner(
    n: number,
    ns = namespaces[n - 1],
    runnerEnvironment = 'self-hosted'
  ): Promise<ActionRun> {
    const workspace = mkdtempSync(join(base, 'ws-'))
    cpSync(join(ROOT, 'examples', 'hello'), workspace, { recursive: true })
    // the example's Dockerfile, with go build -v so that the log names what it compiled
    const file = join(workspace, 'cmd', 'hello-cli', 'Dockerfile')
    writeFileSync(
      file,
      readFileSync(file, 'utf8').replace('go build -trimpath', 'go build -v -trimpath')
    )
    const fx = release(`v5.${n}.0-mounts.${randomBytes(3).toString('hex')}`)
    // RUNNER_TEMP is the same path on every hosted runner (the Actions cache entry's version
    // depends on the paths it holds); emptied here, as a new machine has it
    const runnerTemp = join(base, 'runner-temp')
    rmSync(runnerTemp, { recursive: true, force: true })
    mkdirSync(runnerTemp)
    const r = await runAction({
      ...fx,
      workspace,
      env: {
        ...fx.env,
        ...server.env(),
        RUNNER_TEMP: runnerTemp,
        RUNNER_ENVIRONMENT: runnerEnvironment
      },
      inputs: {
        image,
        dockerfile: 'cmd/hello-cli/Dockerfile',
        platforms: 'linux/amd64,linux/arm64',
        'build-args': `BUILDKIT_CACHE_MOUNT_NS=${ns}`,
        'go-gate': 'false',
        push: 'false'
      }
    })
    tags.push(...tagsOf(r))
    return r
  }

  beforeAll(async () => {
    server = await startCacheServer({ dir: join(base, 'cache') })
    first = await onFreshRunner(1, namespaces[0], 'github-hosted')
    second = await onFreshRunner(2)
    // the second runner again, self-hosted: its builder kept the mounts the second run filled
    const before = server.stats().total.bytesDownloaded
    again = await onFreshRunner(3, namespaces[1])
    againDownloaded = server.stats().total.bytesDownloaded - before
    // the build logs are too long for an assertion message
    for (const [n, r] of [first, second, again].entries())
      writeFileSync(join(tmpdir(), `gia-e2e-mounts-${n + 1}.log`), r.log)
  }, 20 * MINUTES)

  afterAll(async () => {
    await server?.stop()
    removeImages(tags)
    for (const ns of namespaces) pruneNamespace(ns)
    rmSync(base, { recursive: true, force: true })
  })

  it('both runs succeed and name the mounts in the plan', () => {
    for (const r of [first, second]) {
      expect(problems(r)).toEqual([])
      expect(r.main.exitCode).toBe(0)
      expect(r.main.stdout).toMatch(/go cache mounts +\/go\/pkg\/mod \(line \d+\): carried/)
      expect(r.main.stdout).toMatch(/^ +\/root\/\.cache\/go-build \(line \d+\): carried/m)
    }
  })

  it('the first runner compiles everything, copies the mounts out and saves them', () => {
    const compiled = compiledInBuild(first)
    expect(Object.keys(compiled).sort()).toEqual(['linux/amd64', 'linux/amd64->arm64'])
    for (const n of Object.values(compiled)) expect(n).toBeGreaterThan(20)
    expect(first.main.stdout).toMatch(/^Go cache mounts: no entry for go-image-action-docker-go-/m)
    expect(stageStatus(first, 'Go cache mounts out')).toBe('ok')
    const keys = server.stats().keys.filter(k => k.startsWith('go-image-action-docker-go-'))
    expect(keys).toHaveLength(1)
    expect(keys[0]).toMatch(MOUNTS_KEY)
    expect(first.post?.stdout).toContain(`Go cache mounts: saved ${keys[0]}`)
  })

  it('the second runner, with empty cache mounts, restores them and compiles nothing', () => {
    const key = server.stats().keys.find(k => k.startsWith('go-image-action-docker-go-'))
    expect(second.main.stdout).toContain(`Go cache mounts: restored ${key} (exact)`)
    expect(second.main.stdout).toMatch(
      /^Go cache mounts: filled \/go\/pkg\/mod, \/root\/\.cache\/go-build \(for /m
    )
    const compiled = compiledInBuild(second)
    expect(Object.keys(compiled).sort()).toEqual(['linux/amd64', 'linux/amd64->arm64'])
    // a new version changes only the ldflags: every package comes from the seeded GOCACHE
    for (const n of Object.values(compiled)) expect(n).toBe(0)
    // an exact hit has nothing new worth an upload
    expect(stageStatus(second, 'Go cache mounts out')).toBe('skipped')
    expect(second.post?.stdout ?? '').not.toContain('Go cache mounts: saved')
  })

  it('the same self-hosted runner again downloads and fills nothing, and compiles nothing', () => {
    const entry = server
      .stats()
      .entryList.find(e => e.key.startsWith('go-image-action-docker-go-') && e.committed)
    expect(problems(again)).toEqual([])
    expect(again.main.stdout).toContain(
      `Go cache mounts: ${entry?.key} is already in the builder's mounts`
    )
    expect(again.main.stdout).not.toMatch(/^Go cache mounts: (restored|filled)/m)
    // less than the mounts' entry: whatever the build cache fetched, not that entry
    expect(againDownloaded).toBeLessThan(entry?.size ?? 0)
    const compiled = compiledInBuild(again)
    expect(Object.keys(compiled).sort()).toEqual(['linux/amd64', 'linux/amd64->arm64'])
    for (const n of Object.values(compiled)) expect(n).toBe(0)
    expect(stageStatus(again, 'Go cache mounts out')).toBe('skipped')
  })
})

/**
 * A copy-out that hangs: the Go stage's image is the bench's golang with a `chmod` that sleeps ten
 * minutes (the copy-out runs chmod last; the image's own build never does), and the test hook
 * GIA_DOCKER_TIMEOUT_S lowers the mounts' bound (goMountsBound, 300 s by default) to 60 s, as it
 * lowers every fixed docker bound. build-timeout stays 3600 s: the old bound.
 */
describe('a copy-out that outlives its bound is a warning, and the release still pushes', () => {
  const repo = uniqueRepo('mounts-slow')
  const image = `${REGISTRY}/${repo}/hello-cli`
  const slowGo = `${REGISTRY}/${repo}/golang-slow-chmod:1`
  const base = mkdtempSync(join(tmpdir(), 'gia-e2e-mounts-slow-'))
  let server: CacheServer
  let r: ActionRun

  beforeAll(async () => {
    const dir = join(base, 'slow-go')
    mkdirSync(dir)
    writeFileSync(
      join(dir, 'Dockerfile'),
      [
        'FROM 127.0.0.1:5000/mirror/golang:1.26',
        // first on PATH, before /bin/chmod
        "RUN mkdir -p /usr/local/bin && printf '#!/bin/sh\\nsleep 600\\n' > /usr/local/bin/chmod && /bin/chmod +x /usr/local/bin/chmod",
        ''
      ].join('\n')
    )
    docker(['build', '--quiet', '--tag', slowGo, dir])
    docker(['push', '--quiet', slowGo])
    server = await startCacheServer({ dir: join(base, 'cache') })
    const workspace = mkdtempSync(join(base, 'ws-'))
    cpSync(join(ROOT, 'examples', 'hello'), workspace, { recursive: true })
    const fx = release(`v5.9.0-slow.${randomBytes(3).toString('hex')}`)
    r = await runAction({
      ...fx,
      workspace,
      env: {
        ...fx.env,
        ...server.env(),
        RUNNER_TEMP: mkdtempSync(join(base, 'runner-temp-')),
        RUNNER_ENVIRONMENT: 'github-hosted',
        GIA_DOCKER_TIMEOUT_S: '60'
      },
      inputs: {
        image,
        dockerfile: 'cmd/hello-cli/Dockerfile',
        platforms: 'linux/amd64',
        // the builder's shared mounts (warm: little to compile); the copy-out only reads them
        'build-args': `GO_IMAGE=${slowGo}`,
        'go-gate': 'false'
      }
    })
  }, 10 * MINUTES)

  afterAll(async () => {
    await server?.stop()
    removeImages([...tagsOf(r), slowGo])
    rmSync(base, { recursive: true, force: true })
  })

  it('stops the copy-out at its bound, warns, and marks the stage unavailable', () => {
    expect(r.main.exitCode).toBe(0)
    expect(r.main.annotations.filter(a => a.command === 'error')).toEqual([])
    expect(problems(r)).toEqual([
      'warning: Go cache mounts: could not copy them out, nothing is saved: docker buildx build did not finish in 60 s and was stopped (raise the build-timeout input if it needs longer)'
    ])
    expect(stageStatus(r, 'Go cache mounts out')).toBe('unavailable')
    expect(r.post?.stdout ?? '').not.toContain('Go cache mounts: saved')
  })

  it('still smoke-tests and pushes the release', async () => {
    expect(stageStatus(r, 'Smoke test')).toBe('ok')
    expect(stageStatus(r, 'Push')).toBe('ok')
    expect(await registryTags(REGISTRY, `${repo}/hello-cli`)).toEqual(
      expect.arrayContaining(tagsOf(r).map(t => t.slice(t.lastIndexOf(':') + 1)))
    )
  })
})
