import { describe, expect, it } from '@jest/globals'
import { builderShortfall } from '../src/docker/builder.js'
import { contentDifferences, platformTag } from '../src/docker/classic.js'
import type { PlannedImage } from '../src/plan/plan.js'

describe('builderShortfall: when the action creates a docker-container builder', () => {
  const docker = { name: 'default', driver: 'docker', platforms: [], buildkitVersion: '' }
  const containerd = { serverVersion: '26.1.5', containerdStore: true, buildxVersion: '0.13.1' }
  it.each([
    ['docker driver, containerd store', docker, containerd, false, undefined],
    [
      'docker driver, classic store',
      docker,
      { ...containerd, containerdStore: false },
      false,
      'the classic image store: the docker driver cannot build several platforms or export a cache there'
    ],
    // buildx 0.13 cannot speak v2 whatever the builder: no point in another one
    ['v2 cache, buildx 0.13, BuildKit 0.13', docker, containerd, true, undefined],
    [
      'v2 cache, buildx 0.38, the engine BuildKit unknown (Debian reports v0.0.0+unknown)',
      { ...docker, buildkitVersion: '0.0.0+unknown' },
      { ...containerd, buildxVersion: '0.38.2' },
      true,
      "the cache service speaks v2 and the engine's BuildKit 0.0.0+unknown only v1"
    ],
    [
      'v2 cache, buildx 0.38, Docker 29 BuildKit 0.26',
      { ...docker, buildkitVersion: '0.26.2' },
      { ...containerd, buildxVersion: '0.38.2' },
      true,
      undefined
    ],
    [
      'a docker-container builder the workflow set up, classic store',
      { ...docker, driver: 'docker-container', buildkitVersion: '0.13.0' },
      { ...containerd, containerdStore: false },
      true,
      undefined
    ]
  ])('%s', (_name, current, engine, ghaV2, why) => {
    expect(builderShortfall(current, engine, { ghaV2 })).toBe(why)
  })
})

describe('contentDifferences: what was pushed must be what was tested', () => {
  const loaded = [
    {
      platform: 'linux/amd64',
      ref: 'r:a',
      config: 'sha256:c1',
      diffIds: ['sha256:l1', 'sha256:l2']
    },
    {
      platform: 'linux/arm64',
      ref: 'r:b',
      config: 'sha256:c2',
      diffIds: ['sha256:l1', 'sha256:l3']
    }
  ]
  const pushed = loaded.map(l => ({ platform: l.platform, config: l.config, diffIds: l.diffIds }))
  it('accepts the same configs and layers under other manifest digests', () => {
    expect(contentDifferences(loaded, pushed)).toEqual([])
  })
  it('names every difference', () => {
    expect(
      contentDifferences(loaded, [
        { ...pushed[0], config: 'sha256:cX', diffIds: ['sha256:l1', 'sha256:lX'] },
        { ...pushed[1], platform: 'linux/arm/v7' }
      ])
    ).toEqual([
      'linux/amd64: config sha256:cX to push, sha256:c1 tested',
      'linux/amd64: layers l1,lX to push, l1,l2 tested',
      'linux/arm64: not in the build to push',
      'linux/arm/v7: to push but not tested'
    ])
  })
})

it('loads each platform of a run under a tag of its own', () => {
  const image = { name: 'ghcr.io/acme/app' } as PlannedImage
  expect(platformTag(image, 'linux/arm/v7', '0a1b2c3d')).toBe(
    'ghcr.io/acme/app:gia-0a1b2c3d-linux-arm-v7'
  )
})
