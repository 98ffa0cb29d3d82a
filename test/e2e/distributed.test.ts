/**
 * The distributed flow for real: a plan job, two platform jobs on two separate Docker daemons
 * (the bench's and a second dockerd, a runner each; the arm64 one says RUNNER_ARCH=ARM64, so its
 * plan runs the arm64 smoke test natively, without a QEMU stage), and merge jobs, against the
 * real registry and the local artifact service (test/artifact-server). A merge before the arm64
 * job has run names what is missing and tags nothing; the merge after it creates the index from
 * exactly the digests the platform jobs tested, with every tag and `latest`.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals'
import { randomBytes } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { release } from '../fixtures/events.js'
import { runAction, type ActionRun } from '../harness/runner.js'
import { startArtifactServer, type ArtifactServer } from '../artifact-server/server.js'
import {
  exampleWorkspace,
  REGISTRY,
  registryTags,
  remoteIndex,
  requireBench,
  uniqueRepo
} from './bench.js'
import { startDockerd, type SecondDaemon } from './dockerd.js'

const MINUTES = 60_000
const PLATFORMS = ['linux/amd64', 'linux/arm64']
const fx = release('v3.1.4')
const repo = uniqueRepo('dist')
const image = `${REGISTRY}/${repo}/hello-cli`
const run = `run-${randomBytes(4).toString('hex')}`
let artifacts: ArtifactServer
let arm: SecondDaemon | undefined
const jobs: Record<string, ActionRun> = {}

/** One job of the workflow: the same inputs everywhere but the mode and the platform. */
function job(name: string, mode: string, extra: Record<string, string> = {}, env = {}) {
  return runAction({
    ...fx,
    workspace: exampleWorkspace('hello'),
    env: { ...fx.env, ...artifacts.env(run, name), ...env },
    inputs: {
      images: [
        `- name: ${image}`,
        '  main: ./cmd/hello-cli',
        `  base-image: ${REGISTRY}/mirror/static:nonroot`
      ].join('\n'),
      platforms: PLATFORMS.join(','),
      'go-gate': 'false',
      cache: 'false',
      mode,
      ...extra
    }
  })
}

function meta(r: ActionRun) {
  return JSON.parse(r.main.outputs.metadata)
}

/** The index a reference names, as the registry holds it (`imagetools inspect --raw`). */
function rawIndex(ref: string): {
  manifests: {
    digest: string
    platform: { os: string; architecture: string }
    annotations?: Record<string, string>
  }[]
  annotations?: Record<string, string>
} {
  return JSON.parse(
    execFileSync('docker', ['buildx', 'imagetools', 'inspect', '--raw', ref], { encoding: 'utf8' })
  )
}

/** The platform manifests the two platform jobs smoke-tested, amd64 then arm64. */
function testedPlatformDigests(): string[] {
  return [...tested(jobs.amd64), ...tested(jobs.arm64)].map(p => p.digest)
}

function stages(r: ActionRun): string[] {
  return meta(r).stages.map((s: { stage: string; status: string }) => `${s.stage}:${s.status}`)
}

function tested(r: ActionRun): {
  platform: string
  digest: string
  smoke?: { ok: boolean }
  architecture?: { status: string }
}[] {
  return meta(r).images[0].platformResults
}

beforeAll(async () => {
  requireBench()
  artifacts = await startArtifactServer()
  arm = await startDockerd('arm', true)
  jobs.plan = await job('plan', 'plan')
  jobs.amd64 = await job('build-amd64', 'platform', { platform: 'linux/amd64' })
  jobs.early = await job('merge-early', 'merge')
  jobs.arm64 = await job(
    'build-arm64',
    'platform',
    { platform: 'linux/arm64' },
    { DOCKER_HOST: arm.host, RUNNER_ARCH: 'ARM64' }
  )
  jobs.merge = await job('merge', 'merge')
}, 20 * MINUTES)

afterAll(async () => {
  await artifacts?.stop()
  await arm?.stop()
}, 2 * MINUTES)

it('plans one platform job per platform, each on its runner label', () => {
  expect(jobs.plan.main.exitCode).toBe(0)
  expect(JSON.parse(jobs.plan.main.outputs.matrix)).toEqual({
    include: [
      { platform: 'linux/amd64', runner: 'ubuntu-24.04' },
      { platform: 'linux/arm64', runner: 'ubuntu-24.04-arm' }
    ]
  })
  expect(stages(jobs.plan)).toEqual([])
})

it('builds, tests natively and pushes each platform by digest only, on its own daemon', async () => {
  for (const [r, platform] of [
    [jobs.amd64, 'linux/amd64'],
    [jobs.arm64, 'linux/arm64']
  ] as const) {
    expect(r.main.annotations.filter(a => a.command === 'error')).toEqual([])
    expect(r.main.exitCode).toBe(0)
    expect(stages(r)).toEqual(
      expect.arrayContaining([
        'QEMU:skipped',
        'Smoke test:ok',
        // the executable's architecture checked before the push by digest
        'Architecture:ok',
        'Push by digest:ok',
        'Hand on digests:ok'
      ])
    )
    expect(stages(r).some(s => s.startsWith('Push:'))).toBe(false)
    expect(tested(r).map(p => [p.platform, p.smoke?.ok])).toEqual([[platform, true]])
    expect(tested(r).map(p => [p.platform, p.architecture?.status])).toEqual([
      [platform, 'verified']
    ])
  }
  // the arm64 image is in the second daemon's store only
  const arch = (host?: string): string =>
    execFileSync(
      'docker',
      [
        ...(host ? ['--host', host] : []),
        'image',
        'inspect',
        `${image}:3.1.4`,
        '--format',
        '{{.Architecture}}'
      ],
      { encoding: 'utf8' }
    ).trim()
  expect(arch((arm as SecondDaemon).host)).toBe('arm64')
  expect(arch()).toBe('amd64')
  // one artifact per platform job
  expect(
    artifacts
      .artifacts()
      .map(a => a.name.replace(/^go-image-action-digests-[0-9a-f]{12}-/, ''))
      .sort()
  ).toEqual(['linux-amd64', 'linux-arm64'])
})

it('a merge with a platform missing names it and tags nothing', async () => {
  expect(jobs.early.main.exitCode).toBe(1)
  const errors = jobs.early.main.annotations.filter(a => a.command === 'error')
  expect(errors.map(e => e.message)).toEqual([
    `no digest from a platform job for ${image} on linux/arm64 (did that job fail or not run?); nothing was tagged`
  ])
  expect(stages(jobs.early)).toEqual(['Login:skipped', 'Collect digests:failed'])
  // the platform jobs' digests alone are there: no tag at all until the merge
  expect(jobs.early.main.outputs.push).toBe('false')
})

it('merges exactly the tested digests into one index under every tag, latest last', async () => {
  const r = jobs.merge
  expect(r.main.annotations.filter(a => a.command === 'error')).toEqual([])
  expect(r.main.exitCode).toBe(0)
  expect(stages(r)).toEqual(['Login:skipped', 'Collect digests:ok', 'Merge:ok'])
  expect(await registryTags(REGISTRY, `${repo}/hello-cli`)).toEqual(['3.1.4', 'latest'])
  const index = remoteIndex(`${image}:3.1.4`)
  expect(index.platforms).toEqual(PLATFORMS)
  expect(remoteIndex(`${image}:latest`).digest).toBe(index.digest)
  expect(JSON.parse(r.main.outputs.digests)).toEqual({ [image]: index.digest })
  const raw = rawIndex(`${image}:3.1.4`)
  const testedDigests = testedPlatformDigests()
  // the tested platform manifests, then each one's attestation manifest, as buildx orders them
  expect(raw.manifests.slice(0, 2).map(m => m.digest)).toEqual(testedDigests)
  expect(raw.annotations?.['org.opencontainers.image.version']).toBe('3.1.4')
  expect(meta(r).images[0].pushedTags).toEqual([`${image}:3.1.4`, `${image}:latest`])
  expect(tested(r).map(p => [p.platform, p.digest, p.smoke?.ok])).toEqual(
    PLATFORMS.map((p, i) => [p, testedDigests[i], true])
  )
  // the published arm64 image runs and says what the release is
  const out = execFileSync(
    'docker',
    [
      'run',
      '--rm',
      '--pull',
      'always',
      '--platform',
      'linux/arm64',
      `${image}@${testedDigests[1]}`,
      '--version'
    ],
    { encoding: 'utf8' }
  )
  expect(out).toContain('3.1.4')
})

it("carries each platform job's provenance attestation into the merged index (public repository: min)", () => {
  const raw = rawIndex(`${image}:3.1.4`)
  const testedDigests = testedPlatformDigests()
  const attestations = raw.manifests.slice(2)
  expect(raw.manifests).toHaveLength(4)
  for (const [i, a] of attestations.entries()) {
    expect(a.platform).toEqual({ os: 'unknown', architecture: 'unknown' })
    expect(a.annotations).toEqual({
      'vnd.docker.reference.digest': testedDigests[i],
      'vnd.docker.reference.type': 'attestation-manifest'
    })
  }
  // each one the attestation its platform job pushed with its image and handed on
  for (const [i, r] of [jobs.amd64, jobs.arm64].entries())
    expect(r.main.stdout).toContain(`attestation manifest ${attestations[i].digest}`)
  // and in it, the provenance predicate BuildKit made for that platform's build
  const provenance = JSON.parse(
    execFileSync(
      'docker',
      ['buildx', 'imagetools', 'inspect', `${image}:3.1.4`, '--format', '{{json .Provenance}}'],
      { encoding: 'utf8' }
    )
  ) as Record<string, { SLSA?: { buildType?: string; buildDefinition?: { buildType?: string } } }>
  expect(Object.keys(provenance).sort()).toEqual(PLATFORMS)
  for (const p of PLATFORMS) {
    const slsa = provenance[p].SLSA
    expect(slsa?.buildDefinition?.buildType ?? slsa?.buildType).toMatch(/buildkit/)
  }
  // the smoke tests and the architecture checks ran on the platform manifests only
  for (const r of [jobs.amd64, jobs.arm64, jobs.merge])
    expect(tested(r).every(p => p.platform !== 'unknown/unknown')).toBe(true)
})

it('every job derived the same version, commit, date and labels from the event', () => {
  const seen = Object.values(jobs).map(r => [
    r.main.outputs.version,
    r.main.outputs.commit,
    r.main.outputs.date,
    r.main.outputs.labels
  ])
  for (const s of seen) expect(s).toEqual(seen[0])
})
