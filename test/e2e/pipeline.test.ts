/**
 * The whole pipeline for real: the bundle run as the runner runs it, against the real engine
 * (containerd store, buildx, QEMU) and the real registries of scripts/bench-up.sh.
 */
import { beforeAll, describe, expect, it } from '@jest/globals'
import { existsSync, readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { runAction, type ActionRun } from '../harness/runner.js'
import { pullRequest, release, SHA, type EventFixture } from '../fixtures/events.js'
import {
  authRegistry,
  docker,
  exampleWorkspace,
  registryTags,
  remoteIndex,
  remoteLabels,
  REGISTRY,
  requireBench,
  runPublished,
  uniqueRepo
} from './bench.js'

const MINUTES = 60_000

function hello(repo: string, host = REGISTRY): string {
  return [
    `- name: ${host}/${repo}/hello-cli`,
    '  dockerfile: cmd/hello-cli/Dockerfile',
    `- name: ${host}/${repo}/hello-web`,
    '  dockerfile: cmd/hello-web/Dockerfile'
  ].join('\n')
}

function run(
  fx: EventFixture,
  workspace: string,
  inputs: Record<string, string>
): Promise<ActionRun> {
  return runAction({ ...fx, workspace, inputs: { cache: 'false', ...inputs } })
}

function errors(r: ActionRun): string[] {
  return r.main.annotations.filter(a => a.command === 'error').map(a => a.message)
}

beforeAll(() => requireBench())

describe('release: build, smoke-test and publish two images', () => {
  const repo = uniqueRepo('release')
  let result: ActionRun

  beforeAll(async () => {
    result = await run(release('v1.2.3'), exampleWorkspace('hello'), {
      images: hello(repo),
      platforms: 'linux/amd64,linux/arm64'
    })
  }, 15 * MINUTES)

  it('succeeds with the gate, build, smoke test and push stages', () => {
    expect(errors(result)).toEqual([])
    expect(result.main.exitCode).toBe(0)
    const stages = JSON.parse(result.main.outputs.metadata).stages.map(
      (s: { stage: string; status: string }) => `${s.stage}:${s.status}`
    )
    expect(stages).toEqual(
      expect.arrayContaining(['Go gate:ok', 'Build:ok', 'Smoke test:ok', 'Push:ok'])
    )
    expect(result.post?.exitCode).toBe(0)
  })

  it('publishes the version and latest of both images, with every platform in the index', async () => {
    const digests = JSON.parse(result.main.outputs.digests) as Record<string, string>
    for (const name of ['hello-cli', 'hello-web']) {
      const image = `${REGISTRY}/${repo}/${name}`
      expect(await registryTags(REGISTRY, `${repo}/${name}`)).toEqual(['1.2.3', 'latest'])
      const version = remoteIndex(`${image}:1.2.3`)
      expect(version.platforms.sort()).toEqual(['linux/amd64', 'linux/arm64'])
      expect(remoteIndex(`${image}:latest`).digest).toBe(version.digest)
      expect(digests[image]).toBe(version.digest)
    }
    expect(result.main.outputs.push).toBe('true')
    expect(result.main.outputs.tags.split('\n')).toHaveLength(4)
  })

  it('runs the published arm64 image from the registry and it prints version, commit and date', () => {
    const ref = `${REGISTRY}/${repo}/hello-cli:1.2.3`
    const out = runPublished(ref, 'linux/arm64', ['--version'])
    expect(out).toContain('1.2.3')
    expect(out).toContain(SHA)
    expect(out).toContain('2019-05-15T15:20:53Z')
  })

  it('labels the images', () => {
    const labels = remoteLabels(`${REGISTRY}/${repo}/hello-web:1.2.3`, 'linux/arm64')
    expect(labels).toMatchObject({
      'org.opencontainers.image.version': '1.2.3',
      'org.opencontainers.image.revision': SHA,
      'org.opencontainers.image.created': '2019-05-15T15:20:53Z',
      'org.opencontainers.image.title': 'hello-web',
      'org.opencontainers.image.source': 'https://github.com/octo-org/octo-repo'
    })
  })

  it('reports per-platform digests, sizes and smoke results, and a summary', () => {
    const meta = JSON.parse(result.main.outputs.metadata)
    for (const img of meta.images) {
      expect(img.platformResults.map((p: { platform: string }) => p.platform).sort()).toEqual([
        'linux/amd64',
        'linux/arm64'
      ])
      for (const p of img.platformResults) {
        expect(p.digest).toMatch(/^sha256:[0-9a-f]{64}$/)
        expect(p.size).toBeGreaterThan(100_000)
        expect(p.smoke.ok).toBe(true)
        expect(p.smoke.output).toContain('1.2.3')
      }
    }
    expect(result.main.summary).toContain('### Images')
    expect(result.main.summary).toMatch(/\| Smoke test \| ok \| \d+\.\d s \|/)
    expect(result.main.summary).toContain(
      `docker run --rm ${REGISTRY}/${repo}/hello-cli:1.2.3 --version`
    )
  })
})

it(
  'builds, smoke-tests and publishes six platforms',
  async () => {
    const repo = uniqueRepo('six')
    const platforms = [
      'linux/amd64',
      'linux/arm64',
      'linux/arm/v7',
      'linux/ppc64le',
      'linux/s390x',
      'linux/riscv64'
    ]
    const r = await run(release('v3.0.0'), exampleWorkspace('hello'), {
      images: `- name: ${REGISTRY}/${repo}/hello-cli\n  dockerfile: cmd/hello-cli/Dockerfile`,
      platforms: platforms.join(','),
      'go-gate': 'false'
    })
    expect(errors(r)).toEqual([])
    expect(r.main.exitCode).toBe(0)
    expect(remoteIndex(`${REGISTRY}/${repo}/hello-cli:3.0.0`).platforms.sort()).toEqual(
      [...platforms].sort()
    )
    const results = JSON.parse(r.main.outputs.metadata).images[0].platformResults
    expect(
      results
        .map((p: { platform: string; smoke: { ok: boolean } }) => `${p.platform}:${p.smoke.ok}`)
        .sort()
    ).toEqual(platforms.map(p => `${p}:true`).sort())
  },
  20 * MINUTES
)

it(
  'a pull request builds and smoke-tests, and the registry gains nothing',
  async () => {
    const repo = uniqueRepo('pr')
    const r = await run(pullRequest(), exampleWorkspace('hello'), {
      images: hello(repo),
      'go-gate': 'false'
    })
    expect(errors(r)).toEqual([])
    expect(r.main.exitCode).toBe(0)
    expect(r.main.outputs.push).toBe('false')
    const meta = JSON.parse(r.main.outputs.metadata)
    expect(meta.stages.find((s: { stage: string }) => s.stage === 'Push').status).toBe('skipped')
    for (const img of meta.images) {
      expect(img.platformResults.every((p: { smoke?: { ok: boolean } }) => p.smoke?.ok)).toBe(true)
    }
    expect(await registryTags(REGISTRY, `${repo}/hello-cli`)).toEqual([])
    expect(await registryTags(REGISTRY, `${repo}/hello-web`)).toEqual([])
  },
  15 * MINUTES
)

it(
  'an image whose --version prints the wrong thing fails the run, and nothing is pushed',
  async () => {
    const repo = uniqueRepo('broken')
    const r = await run(release('v1.0.0'), exampleWorkspace('broken-version'), {
      image: `${REGISTRY}/${repo}/broken`,
      'go-gate': 'false'
    })
    expect(r.main.exitCode).toBe(1)
    const errs = errors(r)
    const smoke = errs.find(e =>
      e.startsWith(`smoke test of ${REGISTRY}/${repo}/broken on linux/amd64 failed`)
    )
    expect(smoke).toContain(`docker run --rm --name gia-smoke-`)
    expect(smoke).toContain('0.0.0-wrong')
    expect(smoke).toContain('expected the output to contain "1.0.0"')
    expect(errs.some(e => e.includes('linux/arm64'))).toBe(true)
    expect(errs[errs.length - 1]).toMatch(/smoke test failed for .*; nothing was pushed/)
    expect(r.main.outputs.push).toBe('false')
    expect(await registryTags(REGISTRY, `${repo}/broken`)).toEqual([])
  },
  15 * MINUTES
)

describe('login', () => {
  let auth: ReturnType<typeof authRegistry>
  beforeAll(() => {
    auth = authRegistry()
  })

  it(
    'logs in to the htpasswd registry, pushes, logs out, and never prints the password',
    async () => {
      const repo = uniqueRepo('login')
      const r = await run(release('v1.0.0'), exampleWorkspace('hello'), {
        image: `${auth.host}/${repo}/hello-cli`,
        dockerfile: 'cmd/hello-cli/Dockerfile',
        platforms: 'linux/amd64',
        'go-gate': 'false',
        'registry-username': auth.user,
        'registry-password': auth.password
      })
      expect(errors(r)).toEqual([])
      expect(r.main.exitCode).toBe(0)
      expect(await registryTags(auth.host, `${repo}/hello-cli`, auth)).toEqual(['1.0.0', 'latest'])
      expect(r.main.masks).toContain(auth.password)
      expect(r.log.replace(/^::add-mask::.*$/gm, '')).not.toContain(auth.password)
      // the post step logged out
      const config = join(process.env['DOCKER_CONFIG'] ?? join(homedir(), '.docker'), 'config.json')
      const auths = existsSync(config) ? (JSON.parse(readFileSync(config, 'utf8')).auths ?? {}) : {}
      expect(Object.keys(auths)).not.toContain(auth.host)
    },
    15 * MINUTES
  )

  it(
    'fails clearly on a wrong password, pushes nothing, and never prints it',
    async () => {
      const repo = uniqueRepo('badlogin')
      const wrong = `wrong-${auth.password}-x`
      const r = await run(release('v1.0.0'), exampleWorkspace('hello'), {
        image: `${auth.host}/${repo}/hello-cli`,
        dockerfile: 'cmd/hello-cli/Dockerfile',
        platforms: 'linux/amd64',
        'go-gate': 'false',
        'registry-username': auth.user,
        'registry-password': wrong
      })
      expect(r.main.exitCode).toBe(1)
      expect(errors(r)).toEqual([
        expect.stringMatching(
          new RegExp(
            `^login to ${auth.host.replace(/\./g, '\\.')} as ${auth.user} failed: .*unauthorized`,
            'i'
          )
        )
      ])
      expect(r.log.replace(/^::add-mask::.*$/gm, '')).not.toContain(wrong)
      expect(await registryTags(auth.host, `${repo}/hello-cli`, auth)).toEqual([])
    },
    15 * MINUTES
  )
})

it(
  're-running an older release does not move latest back',
  async () => {
    const repo = uniqueRepo('latest')
    const image = `${REGISTRY}/${repo}/hello-cli`
    const inputs = {
      image,
      dockerfile: 'cmd/hello-cli/Dockerfile',
      platforms: 'linux/amd64',
      'go-gate': 'false'
    }
    const newer = await run(release('v2.0.0'), exampleWorkspace('hello'), inputs)
    expect(newer.main.exitCode).toBe(0)
    const latestBefore = remoteIndex(`${image}:latest`).digest
    expect(latestBefore).toBe(remoteIndex(`${image}:2.0.0`).digest)

    const older = await run(release('v1.5.0'), exampleWorkspace('hello'), inputs)
    expect(errors(older)).toEqual([])
    expect(older.main.exitCode).toBe(0)
    expect(await registryTags(REGISTRY, `${repo}/hello-cli`)).toEqual(['1.5.0', '2.0.0', 'latest'])
    expect(remoteIndex(`${image}:latest`).digest).toBe(latestBefore)
    expect(older.main.annotations).toContainEqual(
      expect.objectContaining({
        command: 'notice',
        message: `${image}: latest stays at 2.0.0: it is newer than 1.5.0`
      })
    )
  },
  15 * MINUTES
)
