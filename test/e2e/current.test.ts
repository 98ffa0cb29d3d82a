/**
 * Today's buildx and BuildKit, the core cases of the end-to-end suite in `npm test`, lean: a
 * release with buildx 0.3x (the bench's current.sh build, through a DOCKER_CONFIG of its own)
 * against the local cache service, which speaks v2 like GitHub's. The engine's BuildKit (Docker
 * 26.1) speaks only v1, so the action creates a docker-container builder from `buildkit-image`
 * (the bench's local BuildKit 0.3x). Three runs, shared by the assertions:
 * - publish: a release, cold (no cache entry), pushed; the index carries the provenance
 *   attestations, an SBOM per platform (`sbom: true` with the bench's scanner image, see
 *   scripts/bench/sbom-scanner.sh) and the OCI annotations;
 * - cache: the same release on a fresh runner (a new builder, empty Go cache mounts: only the
 *   Actions cache carries over) takes every Go build step from the gha cache over v2, and the Go
 *   cache mounts from @actions/cache, also over v2; the service counts each client by its keys;
 * - a pull request: built and smoke-tested on both platforms, nothing pushed.
 * The whole files pipeline.test.ts and cache.test.ts also pass with GIA_BUILDX=current (README).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startCacheServer, type CacheServer, type KeyStats } from '../cache-server/server.js'
import { pullRequest, release, SHA, type EventFixture } from '../fixtures/events.js'
import { runAction, type ActionRun } from '../harness/runner.js'
import {
  currentBuildxConfig,
  currentTools,
  docker,
  exampleWorkspace,
  REGISTRY,
  registryTags,
  removeImages,
  requireBench,
  sbomScanner,
  tagsOf,
  uniqueRepo
} from './bench.js'

const MINUTES = 60_000
/** The keys of the action's @actions/cache entries (here: the Go cache mounts). */
const ACTION_KEYS = 'go-image-action-'
/** The keys of BuildKit's gha cache: layer blobs, one index per scope. */
const BUILDKIT_KEYS = ['buildkit-blob-', 'index-']

/** The service's counts of each client, told apart by their keys. */
function counts(server: CacheServer): { action: KeyStats; buildkit: KeyStats } {
  return { action: server.statsFor(ACTION_KEYS), buildkit: server.statsFor(...BUILDKIT_KEYS) }
}

/** A directory at a fixed path, emptied (a runner's RUNNER_TEMP: the same path every job). */
function emptyDir(dir: string): string {
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  return dir
}

/** The `docker buildx build` log of a run, from the command line to the end of its group. */
function buildLog(r: ActionRun): string {
  const out = r.main.stdout
  const start = out.search(/^\[command\]\S*docker buildx build /m)
  if (start < 0) throw new Error('no build in the log')
  return out.slice(start, out.indexOf('::endgroup::', start))
}

/** `#N [stage] RUN ... go build` steps of a plain-progress log that ran (neither CACHED nor loaded). */
function goBuildsRan(log: string): string[] {
  const named = new Map<string, string>()
  const reused = new Set<string>()
  for (const line of log.split('\n')) {
    const m = /^#(\d+) (\[[^\]]*\] RUN .*\bgo (?:mod download|build)\b.*)$/.exec(line)
    if (m && !named.has(m[1])) named.set(m[1], m[2])
    const c = /^#(\d+) (CACHED|sha256:[0-9a-f]{64} \S+ \/ \S+ .*done)$/.exec(line)
    if (c) reused.add(c[1])
  }
  return [...named].filter(([n]) => !reused.has(n)).map(([, name]) => name)
}

describe('current buildx and BuildKit: a release, then a fresh runner from the v2 gha cache', () => {
  const base = mkdtempSync(join(tmpdir(), 'gia-e2e-current-'))
  const repo = uniqueRepo('current')
  const image = `${REGISTRY}/${repo}/hello-cli`
  const config = currentBuildxConfig()
  const prImage = `${REGISTRY}/${repo}/hello-pr`
  let server: CacheServer
  let first: ActionRun
  let second: ActionRun
  let pr: ActionRun
  let firstStats: ReturnType<typeof counts>
  let secondStats: ReturnType<typeof counts>
  const loaded: string[] = []

  async function run(
    fx: EventFixture,
    name: string,
    push: string,
    sbom = 'true'
  ): Promise<ActionRun> {
    fx.payload.repository.description = 'Says hello, on every platform'
    fx.payload.repository.license = { spdx_id: 'MIT' }
    const r = await runAction({
      ...fx,
      workspace: exampleWorkspace('hello'),
      env: {
        ...fx.env,
        ...server.env(),
        DOCKER_CONFIG: config,
        // one path, emptied, as on every hosted runner: the Go cache mounts are restored under
        // it, and an Actions cache entry's version depends on the paths it holds
        RUNNER_TEMP: emptyDir(join(base, 'runner-temp'))
      },
      inputs: {
        image: name,
        dockerfile: 'cmd/hello-cli/Dockerfile',
        platforms: 'linux/amd64,linux/arm64',
        'go-gate': 'false',
        push,
        sbom,
        'sbom-scanner': sbomScanner().image
      }
    })
    loaded.push(...tagsOf(r))
    return r
  }

  beforeAll(async () => {
    requireBench()
    server = await startCacheServer({ dir: join(base, 'cache') })
    const wall: number[] = [Date.now()]
    first = await run(release('v2.0.0'), image, 'true')
    firstStats = counts(server)
    server.resetStats()
    wall.push(Date.now())
    // same commit, same build args: the Go steps' cache keys are the same
    second = await run(release('v2.0.0'), image, 'false')
    secondStats = counts(server)
    wall.push(Date.now())
    // a pull request to the same repository (its build date is now: its own build steps)
    // (no SBOM: the release runs check it; a scan would only add time here)
    pr = await run(pullRequest(), prImage, 'auto', 'false')
    wall.push(Date.now())
    // what each run costs npm test (printed for the README's figures, never asserted)
    const s = wall.slice(1).map((t, i) => ((t - wall[i]) / 1000).toFixed(0))
    console.log(`current e2e: release ${s[0]} s, fresh runner ${s[1]} s, pull request ${s[2]} s`)
  }, 20 * MINUTES)

  afterAll(async () => {
    await server?.stop()
    removeImages(loaded)
    rmSync(base, { recursive: true, force: true })
    rmSync(config, { recursive: true, force: true })
  })

  it('runs buildx 0.3x on a docker-container builder of the local BuildKit, without a warning', () => {
    const tools = currentTools()
    for (const r of [first, second, pr]) {
      expect(r.main.annotations.filter(a => a.command !== 'notice')).toEqual([])
      expect(r.main.exitCode).toBe(0)
      expect(r.post?.exitCode).toBe(0)
      expect(r.main.stdout).toContain(
        `, buildx ${tools.buildxVersion.replace(/^v/, '')}, containerd image store`
      )
      expect(r.main.stdout).toMatch(
        new RegExp(
          `will not do: the cache service speaks v2 and the engine's BuildKit \\S+ only v1; creating a docker-container builder \\S+ from ${tools.buildkitImage.replace(/[.]/g, '\\.')}$`,
          'm'
        )
      )
      expect(r.main.stdout).toContain(`: BuildKit ${tools.buildkitVersion.replace(/^v/, '')}`)
    }
  })

  it('exports the build cache over v2 and the fresh builder of run 2 hits it: no Go step runs', () => {
    const [cold, warm] = [firstStats.buildkit, secondStats.buildkit]
    expect(cold.v1.lookups + cold.v1.reserves).toBe(0)
    expect(cold.v2.misses).toBeGreaterThan(0)
    expect(cold.v2.commits).toBeGreaterThan(5)
    expect(buildLog(first)).toMatch(/^#\d+ exporting to GitHub Actions Cache$/m)
    expect(goBuildsRan(buildLog(first)).length).toBeGreaterThanOrEqual(3)
    // run 2: the same steps, found in the service (v2), none executed, nothing new saved
    expect(warm.v1.lookups).toBe(0)
    // (not "no miss": with `sbom: true` the warm run had 2 misses, one per platform; what counts
    // is that every Go step was found)
    expect(warm.v2.exactHits).toBeGreaterThan(5)
    expect(warm.v2.prefixHits).toBeGreaterThanOrEqual(1) // the scope's index
    expect(warm.v2.downloads).toBeGreaterThan(0)
    expect(buildLog(second)).toMatch(/^#\d+ importing cache manifest from gha:/m)
    expect(goBuildsRan(buildLog(second))).toEqual([])
  })

  it('the Go cache mounts go through @actions/cache (v2) next to BuildKit: saved cold, restored warm', () => {
    const [cold, warm] = [firstStats.action, secondStats.action]
    expect(first.main.stdout).toMatch(/^Go cache mounts: no entry for go-image-action-docker-go-/m)
    expect(cold.v2).toMatchObject({ lookups: 1, misses: 1, reserves: 1, commits: 1 })
    const key = /^Go cache mounts: saved (\S+)$/m.exec(first.post?.stdout ?? '')?.[1]
    expect(key).toMatch(/^go-image-action-docker-go-linux-amd64-/)
    expect(server.stats().keys).toContain(key)
    expect(second.main.stdout).toContain(`Go cache mounts: restored ${key} (exact)`)
    expect(warm.v2).toMatchObject({ lookups: 1, exactHits: 1, downloads: 1, reserves: 0 })
    expect(second.post?.stdout ?? '').not.toContain('Go cache mounts: saved')
    expect(cold.v1.lookups + warm.v1.lookups + cold.v1.reserves).toBe(0)
  })

  it('a pull request builds and smoke-tests both platforms, and pushes nothing', async () => {
    expect(pr.main.exitCode).toBe(0)
    expect(pr.main.outputs.push).toBe('false')
    const meta = JSON.parse(pr.main.outputs.metadata)
    const status = (stage: string): string =>
      meta.stages.find((s: { stage: string }) => s.stage === stage)?.status
    expect([status('Build'), status('Smoke test'), status('Push')]).toEqual(['ok', 'ok', 'skipped'])
    const results = meta.images[0].platformResults as { platform: string; smoke: { ok: boolean } }[]
    expect(results.map(p => `${p.platform}:${p.smoke.ok}`)).toEqual([
      'linux/amd64:true',
      'linux/arm64:true'
    ])
    expect(await registryTags(REGISTRY, `${repo}/hello-pr`)).toEqual([])
  })

  it('publishes the index with the OCI annotations, a provenance attestation and an SBOM per platform', async () => {
    expect(await registryTags(REGISTRY, `${repo}/hello-cli`)).toEqual(['2.0.0', 'latest'])
    const index = JSON.parse(
      docker(['buildx', 'imagetools', 'inspect', '--raw', `${image}:2.0.0`])
    ) as {
      manifests: {
        digest: string
        platform: { os: string; architecture: string }
        annotations?: Record<string, string>
      }[]
      annotations: Record<string, string>
    }
    expect(index.annotations).toMatchObject({
      'org.opencontainers.image.description': 'Says hello, on every platform',
      'org.opencontainers.image.licenses': 'MIT',
      'org.opencontainers.image.source': 'https://github.com/octo-org/octo-repo',
      'org.opencontainers.image.version': '2.0.0',
      'org.opencontainers.image.revision': SHA,
      'org.opencontainers.image.created': '2019-05-15T15:20:53Z'
    })
    const images = index.manifests.filter(m => m.platform.os !== 'unknown')
    const attestations = index.manifests.filter(
      m => m.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest'
    )
    expect(images.map(m => `${m.platform.os}/${m.platform.architecture}`)).toEqual([
      'linux/amd64',
      'linux/arm64'
    ])
    expect(attestations.map(a => a.annotations?.['vnd.docker.reference.digest']).sort()).toEqual(
      images.map(m => m.digest).sort()
    )
    const provenance = JSON.parse(
      docker([
        'buildx',
        'imagetools',
        'inspect',
        `${image}:2.0.0`,
        '--format',
        '{{json .Provenance}}'
      ])
    ) as Record<string, { SLSA?: { buildType?: string; buildDefinition?: { buildType?: string } } }>
    expect(Object.keys(provenance).sort()).toEqual(['linux/amd64', 'linux/arm64'])
    // SLSA v1 from BuildKit 0.34 (v0.2 from older ones: buildType at the top)
    const slsa = provenance['linux/arm64'].SLSA
    expect(slsa?.buildDefinition?.buildType ?? slsa?.buildType).toMatch(/buildkit/)
    // the SBOM of the bench's scanner, made by this BuildKit, per platform (as buildx reads it)
    const sbom = JSON.parse(
      docker(['buildx', 'imagetools', 'inspect', `${image}:2.0.0`, '--format', '{{json .SBOM}}'])
    ) as Record<string, { SPDX?: { packages?: { name: string }[] } }>
    expect(Object.keys(sbom).sort()).toEqual(['linux/amd64', 'linux/arm64'])
    for (const p of Object.values(sbom))
      expect(p.SPDX?.packages?.map(k => k.name)).toContain('golang.org/x/text')
    // the results and smoke tests are per platform: no unknown/unknown entry
    const meta = JSON.parse(first.main.outputs.metadata).images[0]
    expect(
      meta.platformResults.map((p: { platform: string; attestations?: string[] }) => [
        p.platform,
        p.attestations?.sort()
      ])
    ).toEqual([
      ['linux/amd64', ['https://slsa.dev/provenance/v1', 'https://spdx.dev/Document']],
      ['linux/arm64', ['https://slsa.dev/provenance/v1', 'https://spdx.dev/Document']]
    ])
    expect(JSON.parse(first.main.outputs.digests)[image]).toBe(
      JSON.parse(
        docker([
          'buildx',
          'imagetools',
          'inspect',
          `${image}:latest`,
          '--format',
          '{{json .Manifest}}'
        ])
      ).digest
    )
  })
})

it(
  'sbom: true without a scanner image the registry serves fails in the Builder stage, naming it; nothing is built',
  async () => {
    requireBench()
    const fx = release('v1.0.0')
    const repo = uniqueRepo('sbom')
    const r = await runAction({
      ...fx,
      workspace: exampleWorkspace('hello'),
      inputs: {
        image: `${REGISTRY}/${repo}/hello-cli`,
        dockerfile: 'cmd/hello-cli/Dockerfile',
        platforms: 'linux/amd64',
        'go-gate': 'false',
        cache: 'false',
        sbom: 'true'
      }
    })
    expect(r.main.exitCode).toBe(1)
    expect(r.main.annotations.filter(a => a.command === 'error').map(a => a.message)).toEqual([
      expect.stringMatching(
        /^sbom: true needs the scanner image docker\/buildkit-syft-scanner:stable-1, which cannot be pulled here \(.+\); mirror it and set 'sbom-scanner', or set 'sbom: false'$/
      )
    ])
    const stages = JSON.parse(r.main.outputs.metadata).stages as { stage: string; status: string }[]
    expect(stages.find(s => s.stage === 'Builder')?.status).toBe('failed')
    expect(stages.find(s => s.stage === 'Build')).toBeUndefined()
    expect(r.log).not.toMatch(/docker buildx build/)
  },
  5 * MINUTES
)
