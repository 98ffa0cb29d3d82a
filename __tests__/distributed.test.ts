import { describe, expect, it, jest } from '@jest/globals'
import { computeOutputs } from '../src/outputs.js'
import { digestArtifactName, runnerFor } from '../src/plan/distributed.js'
import { buildPlan, type Plan } from '../src/plan/plan.js'
import { emptyResults } from '../src/results.js'
import { STAGES } from '../src/stages/pipeline.js'
import {
  attestationOf,
  disagreements,
  mergedEntries,
  missingDigests,
  type DigestRecord,
  type HandedOnImage
} from '../src/distributed/digests.js'
import { contextOf } from '../test/fixtures/context.js'
import { branchPush, release, schedule, type EventFixture } from '../test/fixtures/events.js'
import { inputsFor } from '../test/fixtures/inputs.js'

jest.spyOn(process.stdout, 'write').mockImplementation(() => true)

const CROSS =
  'FROM --platform=$BUILDPLATFORM golang:1.26 AS build\nARG TARGETOS TARGETARCH\nRUN GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /app .\nFROM scratch\nCOPY --from=build /app /app\n'
/** A Go build in a target-platform stage: warned about when it would run under QEMU. */
const EMULATED = 'FROM golang:1.26\nRUN go build -o /app .\n'
const IMAGES = [
  '- name: ghcr.io/acme/cli',
  '  platforms: linux/amd64,linux/arm64,linux/arm/v7',
  '- name: ghcr.io/acme/web',
  '  dockerfile: web/Dockerfile',
  '  platforms: linux/arm64,linux/s390x'
].join('\n')

function plan(
  withInputs: Record<string, string>,
  fx: EventFixture = release('v1.2.3'),
  runnerArch = 'X64',
  // a clock per job: each job of the flow starts at its own time
  now = new Date()
): Plan {
  return buildPlan(inputsFor(withInputs), contextOf(fx, { runnerArch }), {
    now,
    nodeArch: 'x64',
    commitDate: '2026-11-20T08:00:00+01:00',
    dockerfiles: new Proxy({} as Record<string, string>, {
      get: (_, k: string) => (k === 'web/Dockerfile' ? EMULATED : CROSS)
    })
  })
}

describe('mode: plan', () => {
  it('outputs one matrix entry per distinct platform, with the default runner labels', () => {
    const p = plan({ images: IMAGES, mode: 'plan' })
    expect(JSON.parse(computeOutputs(p, emptyResults()).matrix)).toEqual({
      include: [
        { platform: 'linux/amd64', runner: 'ubuntu-24.04' },
        { platform: 'linux/arm64', runner: 'ubuntu-24.04-arm' },
        { platform: 'linux/arm/v7', runner: 'ubuntu-24.04-arm' },
        { platform: 'linux/s390x', runner: 'ubuntu-24.04' }
      ]
    })
    expect(STAGES[p.mode]).toEqual([])
    // nothing is built in the plan job: no QEMU, no warning about an emulated go build
    expect(p.qemu.platforms).toEqual([])
    expect(p.fileWarnings).toEqual([])
  })

  it('takes runners lines first, exact or with a trailing *', () => {
    const rules = inputsFor({
      image: 'ghcr.io/acme/app',
      runners: 'linux/s390x=my-s390x\nlinux/arm/*=pi-runner, linux/arm64=arm-big'
    }).runners
    expect(runnerFor('linux/s390x', rules)).toBe('my-s390x')
    expect(runnerFor('linux/arm/v6', rules)).toBe('pi-runner')
    expect(runnerFor('linux/arm64', rules)).toBe('arm-big')
    expect(runnerFor('linux/amd64', rules)).toBe('ubuntu-24.04')
  })

  it.each([
    [{ runners: 'linux/arm64' }, /^runners: 'linux\/arm64' is not a PLATFORM=RUNNER-LABEL line/],
    [{ runners: 'linux/arm64=a b' }, /^runners: 'a b' is not a runner label/],
    [{ mode: 'matrix' }, /^mode: 'matrix' is not one of all, plan, platform, merge/],
    [{ platform: 'linux/arm64' }, /^platform: only for mode: platform \(the mode is all\)/],
    [{ mode: 'platform' }, /^platform: mode: platform builds one platform; set platform:/],
    [
      { mode: 'platform', platform: 'linux/s390x' },
      /^platform: no image is planned for linux\/s390x/
    ],
    [{ mode: 'platform', platform: 'linux/sparc' }, /^platform: unknown platform 'linux\/sparc'/]
  ])('refuses %j naming the input', (extra, error) => {
    expect(() => plan({ image: 'ghcr.io/acme/app', ...extra })).toThrow(error)
  })
})

describe('mode: platform', () => {
  it('builds only the images that have the job platform, only on it, natively', () => {
    const p = plan(
      { images: IMAGES, mode: 'platform', platform: 'linux/arm64' },
      undefined,
      'ARM64'
    )
    expect(p.images.map(i => [i.name, i.platforms, i.smoke.platforms])).toEqual([
      ['ghcr.io/acme/cli', ['linux/arm64'], ['linux/arm64']],
      ['ghcr.io/acme/web', ['linux/arm64'], ['linux/arm64']]
    ])
    expect(p.qemu.platforms).toEqual([])
    expect(p.distributed.platform).toBe('linux/arm64')
    expect(STAGES[p.mode].map(s => s.name)).toEqual([
      'Engine',
      'Go cache',
      'Go build',
      'Write images',
      'Smoke test',
      'QEMU',
      'Go gate',
      'Builder',
      'Login',
      'Go cache mounts',
      'Build',
      'Go cache mounts out',
      // a platform job checks its executable's architecture before its push by digest
      'Architecture',
      'Push by digest',
      'Hand on digests'
    ])
    const amd = plan({ images: IMAGES, mode: 'platform', platform: 'linux/amd64' })
    expect(amd.images.map(i => i.name)).toEqual(['ghcr.io/acme/cli'])
  })

  it('plans provenance as a single job does: min for a public repository, else the input', () => {
    const pub = plan({ image: 'ghcr.io/acme/app', mode: 'platform', platform: 'linux/arm64' })
    expect(pub.attestations).toMatchObject({
      provenance: 'min',
      provenanceReason: 'provenance: auto (public repository)'
    })
    const max = plan({ image: 'a/b', mode: 'platform', platform: 'linux/arm64', provenance: 'max' })
    expect(max.attestations.provenance).toBe('max')
    const off = plan({ image: 'a/b', mode: 'merge', provenance: 'false' })
    expect(off.attestations.provenance).toBe('false')
  })

  it('takes the one entry of platforms as the job platform when platform is empty', () => {
    const p = plan({ image: 'ghcr.io/acme/app', mode: 'platform', platforms: 'linux/arm64' })
    expect(p.distributed.platform).toBe('linux/arm64')
  })

  it('names one artifact per platform, the same in every job, another for other images', () => {
    const jobs = [
      plan({ images: IMAGES, mode: 'plan' }),
      plan({ images: IMAGES, mode: 'platform', platform: 'linux/s390x' }),
      plan({ images: IMAGES, mode: 'merge' })
    ]
    expect(new Set(jobs.map(j => j.distributed.artifactPrefix)).size).toBe(1)
    expect(digestArtifactName(jobs[0].distributed.artifactPrefix, 'linux/arm/v7')).toMatch(
      /^go-image-action-digests-[0-9a-f]{12}-linux-arm-v7$/
    )
    expect(plan({ image: 'ghcr.io/acme/cli' }).distributed.artifactPrefix).not.toBe(
      jobs[0].distributed.artifactPrefix
    )
  })
})

describe('every job of the flow', () => {
  it.each([
    ['a release', release('v1.2.3')],
    ['a branch push', branchPush('main')],
    ['a schedule (the commit date from git)', schedule()]
  ])('derives the same version, commit, date, tags and labels from %s', (_, fx) => {
    const jobs = [
      plan({ images: IMAGES, mode: 'plan' }, fx, 'X64', new Date('2026-11-29T10:00:00Z')),
      plan(
        { images: IMAGES, mode: 'platform', platform: 'linux/arm64' },
        fx,
        'ARM64',
        new Date('2026-11-29T10:03:00Z')
      ),
      plan(
        { images: IMAGES, mode: 'platform', platform: 'linux/amd64' },
        fx,
        'X64',
        new Date('2026-11-29T10:04:00Z')
      ),
      plan({ images: IMAGES, mode: 'merge' }, fx, 'X64', new Date('2026-11-29T10:09:00Z'))
    ]
    const seen = jobs.map(j => ({
      version: j.metadata.version,
      commit: j.metadata.commit,
      date: j.metadata.date,
      epoch: j.sourceDateEpoch,
      cli: [j.images[0].tags, j.images[0].labels, j.images[0].buildArgs]
    }))
    for (const s of seen) expect(s).toEqual(seen[0])
    // from the event or the commit, never from a job's own clock
    expect(jobs[0].metadata.dateSource).not.toMatch(/clock/)
    expect(seen[0].date).not.toMatch(/^2026-11-29/)
  })
})

describe('mode: merge', () => {
  const merge = plan({ images: IMAGES, mode: 'merge' })
  const record = (platform: string, names: string[], over: Partial<DigestRecord> = {}) => ({
    version: merge.metadata.version,
    commit: merge.metadata.commit,
    date: merge.metadata.date,
    platform,
    images: names.map(name => ({
      name,
      platform,
      digest: `sha256:${'a'.repeat(64)}`,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      manifestSize: 475,
      labels: merge.images.find(i => i.name === name)?.labels ?? {}
    })),
    ...over
  })
  const cli = 'ghcr.io/acme/cli'
  const web = 'ghcr.io/acme/web'

  it('runs login, collect and merge only', () => {
    expect(STAGES[merge.mode].map(s => s.name)).toEqual(['Login', 'Collect digests', 'Merge'])
  })

  it('names every planned image and platform no platform job handed on', () => {
    const records = [record('linux/amd64', [cli]), record('linux/arm64', [cli, web])]
    expect(missingDigests(merge, records)).toEqual([
      'ghcr.io/acme/cli on linux/arm/v7',
      'ghcr.io/acme/web on linux/s390x'
    ])
    records.push(record('linux/arm/v7', [cli]), record('linux/s390x', [web]))
    expect(missingDigests(merge, records)).toEqual([])
    expect(disagreements(merge, records)).toEqual([])
  })

  it('refuses digests of another release (version, commit, date or labels)', () => {
    const other = record('linux/arm64', [cli], {
      commit: 'f'.repeat(40),
      date: '2026-01-01T00:00:00Z'
    })
    other.images[0].labels = { ...other.images[0].labels, 'org.opencontainers.image.version': 'x' }
    expect(disagreements(merge, [other])).toEqual([
      `the linux/arm64 job built commit ${'f'.repeat(40)}, this merge plans ${merge.metadata.commit}`,
      `the linux/arm64 job built date 2026-01-01T00:00:00Z, this merge plans ${merge.metadata.date}`,
      "the linux/arm64 job labelled ghcr.io/acme/cli differently from this merge's plan"
    ])
  })
})

describe('attestation manifests from the platform jobs into the merged index', () => {
  const d = (c: string): string => `sha256:${c.repeat(64)}`
  const MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
  const ref = (digest: string) => ({
    'vnd.docker.reference.digest': digest,
    'vnd.docker.reference.type': 'attestation-manifest'
  })
  // what buildx writes for one platform with provenance on
  const platformIndex = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      {
        mediaType: MANIFEST,
        digest: d('a'),
        size: 480,
        platform: { os: 'linux', architecture: 'arm64' }
      },
      {
        mediaType: MANIFEST,
        digest: d('b'),
        size: 566,
        platform: { os: 'unknown', architecture: 'unknown' },
        annotations: ref(d('a'))
      }
    ]
  })

  it("finds a platform manifest's attestation in its job's index, and none for another digest", () => {
    expect(attestationOf(platformIndex, d('a'))).toEqual({
      mediaType: MANIFEST,
      digest: d('b'),
      size: 566,
      annotations: ref(d('a'))
    })
    expect(attestationOf(platformIndex, d('b'))).toBeUndefined()
    expect(attestationOf(platformIndex, d('c'))).toBeUndefined()
  })

  const part = (platform: string, digest: string, attestation?: string): HandedOnImage => ({
    name: 'ghcr.io/acme/cli',
    platform,
    digest,
    mediaType: MANIFEST,
    manifestSize: 480,
    labels: {},
    ...(attestation
      ? {
          attestation: {
            mediaType: MANIFEST,
            digest: attestation,
            size: 566,
            annotations: ref(digest)
          }
        }
      : {})
  })

  it("lists the platform manifests, then each one's attestation (unknown/unknown), as buildx does", () => {
    expect(
      mergedEntries([part('linux/amd64', d('1'), d('3')), part('linux/arm/v7', d('2'), d('4'))])
    ).toEqual([
      {
        mediaType: MANIFEST,
        digest: d('1'),
        size: 480,
        platform: { os: 'linux', architecture: 'amd64' }
      },
      {
        mediaType: MANIFEST,
        digest: d('2'),
        size: 480,
        platform: { os: 'linux', architecture: 'arm', variant: 'v7' }
      },
      {
        mediaType: MANIFEST,
        digest: d('3'),
        size: 566,
        platform: { os: 'unknown', architecture: 'unknown' },
        annotations: ref(d('1'))
      },
      {
        mediaType: MANIFEST,
        digest: d('4'),
        size: 566,
        platform: { os: 'unknown', architecture: 'unknown' },
        annotations: ref(d('2'))
      }
    ])
    // provenance off in a platform job: its manifest alone
    expect(mergedEntries([part('linux/amd64', d('1'))]).map(e => e.digest)).toEqual([d('1')])
  })

  it('refuses an attestation that references another manifest', () => {
    const wrong = part('linux/amd64', d('1'), d('3'))
    ;(wrong.attestation as { annotations: Record<string, string> }).annotations = ref(d('9'))
    expect(() => mergedEntries([wrong])).toThrow(
      `ghcr.io/acme/cli on linux/amd64: the attestation ${d('3')} references ${d('9')}, not the platform manifest ${d('1')}`
    )
  })
})
