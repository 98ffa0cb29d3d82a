/**
 * Registry faults, for real: a fault-injecting proxy (test/registry-proxy) in front of the real
 * registry on 127.0.0.1:5000 answers scripted requests with 5xx, 429 + Retry-After, connection
 * resets, stalls and holds; everything else reaches the registry. The image is a tiny two-platform
 * one (FROM scratch, one file): the engine builds it once and serves it from its cache after, so
 * each case costs a push, not a build. Every case ends with the same invariants
 * (test/registry-proxy/check.ts): every tag on the tested index, floating tags only when every
 * version tag is in, outputs that say exactly what the registry holds.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runAction, type ActionRun } from '../harness/runner.js'
import { release } from '../fixtures/events.js'
import { authRegistry, removeImages, requireBench, tagsOf, uniqueRepo } from './bench.js'
import { startDockerd, type SecondDaemon } from './dockerd.js'
import { startRegistryProxy, type RegistryProxy } from '../registry-proxy/proxy.js'
import { imagesOf, inconsistencies, registryState } from '../registry-proxy/check.js'

const MINUTES = 60_000

/** A workspace with a two-platform image that builds in a second from the engine's cache. */
function tinyWorkspace(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gia-ws-tiny-'))
  writeFileSync(join(dir, 'Dockerfile'), 'FROM scratch\nCOPY hello.txt /hello.txt\n')
  writeFileSync(join(dir, 'hello.txt'), 'hello\n')
  return dir
}
const workspace = tinyWorkspace()

/** Publishes release `version` of the images (full names) through whatever host they name. */
function publish(
  names: string[],
  version: string,
  inputs: Record<string, string> = {},
  timeoutMs = 5 * MINUTES,
  dockerHost?: string
): Promise<ActionRun> {
  const fx = release(`v${version}`)
  return runAction({
    ...fx,
    env: dockerHost ? { ...fx.env, DOCKER_HOST: dockerHost } : fx.env,
    workspace,
    timeoutMs,
    inputs: {
      ...(names.length === 1
        ? { image: names[0] }
        : { images: names.map(n => `- name: ${n}`).join('\n') }),
      dockerfile: 'Dockerfile',
      platforms: 'linux/amd64,linux/arm64',
      'smoke-test': 'false',
      'go-gate': 'false',
      cache: 'false',
      // a provenance attestation records its build's start time, so an index with one is not the
      // same on a re-run; these tests are about the registry, not attestations
      provenance: 'false',
      // no fault here needs the timeout but the stall (which sets its own): a short one would
      // also cut a real request that a loaded machine makes slow, and retry it with one warning
      // more than the faults injected
      'registry-timeout': '30',
      ...inputs
    }
  })
}

const annotations = (r: ActionRun, kind: string): string[] =>
  r.main.annotations.filter(a => a.command === kind).map(a => a.message)
const digestOf = (r: ActionRun, name: string): string =>
  (JSON.parse(r.main.outputs['digests'] ?? '{}') as Record<string, string>)[name]
const statusOf = (r: ActionRun, ref: string): string | undefined =>
  imagesOf(r)
    .flatMap(i => i.tagResults)
    .find(t => t.ref === ref)?.status

const proxy: RegistryProxy = await startRegistryProxy()
const runs: ActionRun[] = []
beforeAll(() => requireBench())
afterAll(async () => {
  await proxy?.close()
  removeImages(runs.flatMap(tagsOf))
})
/** A fresh image name behind the proxy; its repository path on the registry. */
function image(prefix: string, name = 'tiny'): { name: string; repo: string } {
  const repo = `${uniqueRepo(prefix)}/${name}`
  return { name: `${proxy.host}/${repo}`, repo }
}

describe('transient faults on blob uploads, manifest PUTs, tags and the tag list', () => {
  const img = image('transient')
  let r: ActionRun
  beforeAll(async () => {
    const at = (p: string): RegExp => new RegExp(`^/v2/${img.repo}/${p}`)
    proxy.rules.push(
      { method: 'POST', path: at('blobs/uploads/$'), times: 1, fault: { kind: 'reset' } },
      {
        method: 'PUT',
        path: at('blobs/uploads/'),
        times: 1,
        fault: { kind: 'status', status: 500 }
      },
      { method: 'PUT', path: at('blobs/uploads/'), times: 1, fault: { kind: 'reset' } },
      {
        method: 'PUT',
        path: at('manifests/sha256:'),
        times: 1,
        fault: { kind: 'status', status: 503 }
      },
      {
        method: 'PUT',
        path: at('manifests/1\\.0\\.0$'),
        times: 1,
        fault: { kind: 'status', status: 502 }
      },
      {
        method: 'PUT',
        path: at('manifests/latest$'),
        times: 1,
        fault: { kind: 'status', status: 429, retryAfter: 2 }
      },
      { method: 'GET', path: at('tags/list'), times: 1, fault: { kind: 'reset' } }
    )
    r = await publish([img.name], '1.0.0')
    runs.push(r)
  }, 10 * MINUTES)

  it('retries each with a warning naming the request and the kind of error, and succeeds', () => {
    expect(annotations(r, 'error')).toEqual([])
    expect(r.main.exitCode).toBe(0)
    expect(proxy.injected.filter(i => i.includes(img.repo))).toHaveLength(7)
    const warnings = annotations(r, 'warning').filter(w => w.includes('transient registry error'))
    expect(warnings).toHaveLength(7)
    expect(warnings).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^upload of blob sha256:\S+ to .* \((ECONNRESET|UND_ERR_SOCKET|EPIPE)/
        ),
        expect.stringMatching(/^upload of blob .* \(HTTP 500: .*HTTP 500/),
        expect.stringMatching(/^PUT manifest .*@sha256:.* \(HTTP 503/),
        expect.stringMatching(new RegExp(`^PUT ${img.name}:1\\.0\\.0 failed .* \\(HTTP 502`)),
        expect.stringMatching(
          new RegExp(
            `^PUT ${img.name}:latest failed .*\\(HTTP 429.* in 2\\.\\d s \\(Retry-After\\)$`
          )
        ),
        expect.stringMatching(/^GET tags of .* \((ECONNRESET|UND_ERR_SOCKET)/)
      ])
    )
  })

  it('publishes the tested index under every tag, and the outputs say so', async () => {
    const tested = digestOf(r, img.name)
    expect(await registryState(img.repo)).toEqual({ '1.0.0': tested, latest: tested })
    expect(statusOf(r, `${img.name}:1.0.0`)).toBe('pushed')
    expect(statusOf(r, `${img.name}:latest`)).toBe('pushed')
    expect(await inconsistencies(r)).toEqual([])
  })
})

describe('the index upload under a tag fails for good', () => {
  const img = image('index-fails')
  let r: ActionRun
  beforeAll(async () => {
    proxy.rules.push({
      method: 'PUT',
      path: new RegExp(`^/v2/${img.repo}/manifests/1\\.0\\.0$`),
      index: true,
      fault: { kind: 'status', status: 500 }
    })
    r = await publish([img.name], '1.0.0')
    runs.push(r)
  }, 10 * MINUTES)

  it('leaves no tag on a one-platform image: the tag is absent, latest untouched', async () => {
    expect(r.main.exitCode).not.toBe(0)
    // Docker 26 put each platform manifest under the tag before the index: a one-platform tag
    expect(await registryState(img.repo)).toEqual({})
    expect(await inconsistencies(r)).toEqual([])
  })

  it('fails after bounded attempts with an error naming the tag and the status', () => {
    expect(proxy.injected.filter(i => i.includes(`${img.repo}/manifests/1.0.0`))).toHaveLength(4)
    const errors = annotations(r, 'error')
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatch(
      new RegExp(`PUT ${img.name}:1\\.0\\.0 failed after 4 attempts \\(HTTP 500\\)`)
    )
    expect(statusOf(r, `${img.name}:1.0.0`)).toBe('failed')
    expect(statusOf(r, `${img.name}:latest`)).toBe('not pushed')
    expect(r.main.summary).toContain(`tag \`${img.name}:1.0.0\` | failed: PUT`)
    expect(r.main.summary).toContain(`tag \`${img.name}:latest\` | not pushed: not reached`)
  })
})

describe('a stalled registry', () => {
  const img = image('stall')
  let r: ActionRun
  beforeAll(async () => {
    proxy.rules.push({
      method: 'PUT',
      path: new RegExp(`^/v2/${img.repo}/manifests/1\\.0\\.0$`),
      fault: { kind: 'stall' }
    })
    // the harness kills a run after 3 minutes: a hang shows as no error at all
    r = await publish([img.name], '1.0.0', { 'registry-timeout': '2' }, 3 * MINUTES)
    runs.push(r)
  }, 10 * MINUTES)

  it('ends the run with an error naming the request and the timeout, outputs and summary set', async () => {
    const errors = annotations(r, 'error')
    expect(errors).toEqual([
      expect.stringMatching(
        new RegExp(
          `PUT ${img.name}:1\\.0\\.0 failed after 4 attempts \\(timeout\\): PUT manifest .*:1\\.0\\.0: no progress from the registry in 2 s \\(registry-timeout\\)`
        )
      )
    ])
    expect(r.main.exitCode).toBe(1)
    expect(statusOf(r, `${img.name}:1.0.0`)).toBe('failed')
    expect(r.main.summary).toContain('| Push | failed |')
    expect(await registryState(img.repo)).toEqual({})
    expect(await inconsistencies(r)).toEqual([])
  })
})

describe('the second image cannot be pushed by digest', () => {
  const a = image('by-digest', 'a')
  const b = { name: a.name.replace(/\/a$/, '/b'), repo: a.repo.replace(/\/a$/, '/b') }
  let r: ActionRun
  beforeAll(async () => {
    // the index PUT by digest of b, before any tag
    const rule = {
      method: 'PUT',
      path: new RegExp(`^/v2/${b.repo}/manifests/sha256:`),
      index: true,
      fault: { kind: 'status' as const, status: 500 }
    }
    proxy.rules.push(rule)
    r = await publish([a.name, b.name], '1.0.0')
    proxy.rules.splice(proxy.rules.indexOf(rule), 1)
    runs.push(r)
  }, 10 * MINUTES)

  it('moves no tag of either image: every image goes by digest before the first tag', async () => {
    expect(r.main.exitCode).toBe(1)
    expect(await registryState(a.repo)).toEqual({})
    expect(await registryState(b.repo)).toEqual({})
    expect(statusOf(r, `${a.name}:1.0.0`)).toBe('not pushed')
    expect(statusOf(r, `${b.name}:1.0.0`)).toBe('not pushed')
    expect(r.main.summary).toContain(
      `tag \`${b.name}:1.0.0\` | not pushed: the push by digest failed`
    )
    expect(await inconsistencies(r)).toEqual([])
  })
})

describe('one tag fails for good, then the release is run again', () => {
  const a = image('one-tag', 'a')
  const b = { name: a.name.replace(/\/a$/, '/b'), repo: a.repo.replace(/\/a$/, '/b') }
  let first: ActionRun
  let again: ActionRun
  let afterFirst: Record<string, string>[]
  let firstProblems: string[]
  beforeAll(async () => {
    const rule = {
      method: 'PUT',
      path: new RegExp(`^/v2/${b.repo}/manifests/1\\.0\\.0$`),
      fault: { kind: 'status' as const, status: 500 }
    }
    proxy.rules.push(rule)
    first = await publish([a.name, b.name], '1.0.0')
    afterFirst = [await registryState(a.repo), await registryState(b.repo)]
    firstProblems = await inconsistencies(first)
    proxy.rules.splice(proxy.rules.indexOf(rule), 1)
    again = await publish([a.name, b.name], '1.0.0')
    runs.push(first, again)
  }, 10 * MINUTES)

  it('reports exactly what was pushed: the first image version tag, nothing else', async () => {
    expect(first.main.exitCode).toBe(1)
    expect(statusOf(first, `${a.name}:1.0.0`)).toBe('pushed')
    expect(statusOf(first, `${a.name}:latest`)).toBe('not pushed')
    expect(statusOf(first, `${b.name}:1.0.0`)).toBe('failed')
    expect(statusOf(first, `${b.name}:latest`)).toBe('not pushed')
    expect(imagesOf(first).find(i => i.name === a.name)?.pushedTags).toEqual([`${a.name}:1.0.0`])
    expect(first.main.summary).toContain(`pushed: \`${a.name}:1.0.0\``)
    expect(first.main.outputs['push']).toBe('false')
    // latest of neither image moved: a version tag of the release is missing
    expect(afterFirst).toEqual([{ '1.0.0': digestOf(first, a.name) }, {}])
    expect(firstProblems).toEqual([])
  })

  it('the re-run completes with the same digests', async () => {
    expect(annotations(again, 'error')).toEqual([])
    expect(again.main.exitCode).toBe(0)
    for (const img of [a, b]) {
      const tested = digestOf(first, img.name)
      expect(digestOf(again, img.name)).toBe(tested)
      expect(await registryState(img.repo)).toEqual({ '1.0.0': tested, latest: tested })
    }
    expect(await inconsistencies(again)).toEqual([])
  })
})

describe('floating tags of tag templates when a version tag fails for good, then a re-run', () => {
  // v2.2.0 is out (v2, v2.2 and latest on it); v2.3.0 has two version tags, `2.3.0` fails for
  // good: v2.3 must not appear, and v2 and latest must stay on v2.2.0, until the re-run
  const img = image('floating')
  const tags = { tags: '{{tag}}\n{{version}}\nv{{major}}.{{minor}}\nv{{major}}' }
  const ref = (tag: string): string => `${img.name}:${tag}`
  let before: ActionRun
  let failed: ActionRun
  let again: ActionRun
  const state: Record<string, string>[] = []
  beforeAll(async () => {
    before = await publish([img.name], '2.2.0', tags)
    const rule = {
      method: 'PUT',
      path: new RegExp(`^/v2/${img.repo}/manifests/2\\.3\\.0$`),
      fault: { kind: 'status' as const, status: 500 }
    }
    proxy.rules.push(rule)
    failed = await publish([img.name], '2.3.0', tags)
    state.push(await registryState(img.repo))
    proxy.rules.splice(proxy.rules.indexOf(rule), 1)
    again = await publish([img.name], '2.3.0', tags)
    state.push(await registryState(img.repo))
    runs.push(before, failed, again)
  }, 10 * MINUTES)

  it('v2.2.0 went out with its floating tags', () => {
    expect(before.main.exitCode).toBe(0)
    expect(
      imagesOf(before)[0].tagResults.map(t => `${t.ref.slice(img.name.length + 1)} ${t.status}`)
    ).toEqual(['v2.2.0 pushed', '2.2.0 pushed', 'v2.2 pushed', 'v2 pushed', 'latest pushed'])
  })

  it('leaves v2, v2.3 and latest untouched, and says exactly which tags were pushed', () => {
    expect(failed.main.exitCode).toBe(1)
    const old = digestOf(before, img.name)
    const tested = digestOf(failed, img.name)
    expect(tested).not.toBe(old)
    expect(state[0]).toEqual({
      '2.2.0': old,
      'v2.2.0': old,
      'v2.2': old,
      v2: old,
      latest: old,
      'v2.3.0': tested
    })
    const statuses = Object.fromEntries(
      ['v2.3.0', '2.3.0', 'v2.3', 'v2', 'latest'].map(t => [t, statusOf(failed, ref(t))])
    )
    expect(statuses).toEqual({
      'v2.3.0': 'pushed',
      '2.3.0': 'failed',
      'v2.3': 'not pushed',
      v2: 'not pushed',
      latest: 'not pushed'
    })
    expect(imagesOf(failed)[0].pushedTags).toEqual([ref('v2.3.0')])
    expect(failed.main.outputs['push']).toBe('false')
    expect(failed.main.summary).toContain(`pushed: \`${ref('v2.3.0')}\``)
    expect(failed.main.summary).toContain(`tag \`${ref('2.3.0')}\` | failed: PUT`)
    for (const t of ['v2.3', 'v2', 'latest'])
      expect(failed.main.summary).toContain(`tag \`${ref(t)}\` | not pushed`)
  })

  it('the re-run completes with the same digest and moves v2, v2.3 and latest to it', () => {
    expect(annotations(again, 'error')).toEqual([])
    expect(again.main.exitCode).toBe(0)
    const tested = digestOf(failed, img.name)
    const old = digestOf(before, img.name)
    expect(digestOf(again, img.name)).toBe(tested)
    expect(state[1]).toEqual({
      '2.2.0': old,
      'v2.2.0': old,
      'v2.2': old,
      '2.3.0': tested,
      'v2.3.0': tested,
      'v2.3': tested,
      v2: tested,
      latest: tested
    })
    expect(
      imagesOf(again)[0].tagResults.map(t => `${t.ref.slice(img.name.length + 1)} ${t.status}`)
    ).toEqual(expect.arrayContaining(['v2.3 pushed', 'v2 pushed', 'latest pushed']))
  })
})

/**
 * Two releases racing for `latest` under one image name, on one engine (or `second` on another
 * engine, `secondHost`): `first` is held at its write of latest (after it decided to move it)
 * until `second` has finished.
 */
async function race(
  first: string,
  second: string,
  secondHost?: string
): Promise<{ img: { name: string; repo: string }; done: ActionRun[] }> {
  const img = image(`race-${first.replace(/\./g, '')}`)
  let release!: () => void
  const until = new Promise<void>(resolve => (release = resolve))
  proxy.rules.push({
    method: 'PUT',
    path: new RegExp(`^/v2/${img.repo}/manifests/latest$`),
    version: first,
    times: 1,
    fault: { kind: 'hold', until }
  })
  // a registry-timeout longer than the hold: the held request must not be abandoned and retried
  const held = publish([img.name], first, { 'registry-timeout': '300' })
  const deadline = Date.now() + 3 * MINUTES
  while (!proxy.injected.some(i => i.startsWith(`PUT /v2/${img.repo}/manifests/latest -> hold`))) {
    if (Date.now() > deadline) throw new Error(`${first} never reached its write of latest`)
    await new Promise(resolve => setTimeout(resolve, 200))
  }
  const other = await publish([img.name], second, {}, 5 * MINUTES, secondHost)
  release()
  const done = [await held, other]
  runs.push(...done)
  return { img, done }
}

describe.each([
  ['1.2.9', '1.3.0'],
  ['1.3.0', '1.2.9']
])('racing releases: %s held at latest while %s runs', (first, second) => {
  let result: Awaited<ReturnType<typeof race>>
  beforeAll(async () => {
    result = await race(first, second)
  }, 10 * MINUTES)

  it('leave latest on 1.3.0', async () => {
    const { img, done } = result
    for (const r of done) {
      expect(annotations(r, 'error')).toEqual([])
      expect(r.main.exitCode).toBe(0)
    }
    const state = await registryState(img.repo)
    expect(Object.keys(state).sort()).toEqual(['1.2.9', '1.3.0', 'latest'])
    expect(state['latest']).toBe(state['1.3.0'])
    expect(state['1.3.0']).not.toBe(state['1.2.9'])
  })
})

describe('racing releases on two engines', () => {
  let daemon: SecondDaemon | undefined
  const results: Awaited<ReturnType<typeof race>>[] = []
  beforeAll(async () => {
    daemon = await startDockerd('race', true)
    results.push(
      await race('1.2.9', '1.3.0', daemon.host),
      await race('1.3.0', '1.2.9', daemon.host)
    )
  }, 10 * MINUTES)
  afterAll(async () => {
    await daemon?.stop()
  }, 2 * MINUTES)

  it('leave latest on 1.3.0 in both orders', async () => {
    for (const { img, done } of results) {
      for (const r of done) expect(r.main.exitCode).toBe(0)
      const state = await registryState(img.repo)
      expect(state['latest']).toBe(state['1.3.0'])
      expect(state['1.3.0']).not.toBe(state['1.2.9'])
    }
  })
})

describe('registries that ask for credentials', () => {
  it(
    'pushes with the Bearer token flow, the credentials docker login stored',
    async () => {
      const auth = { user: 'gia-token-user', password: `pw-${Date.now()}` }
      const tokenProxy = await startRegistryProxy({ bearer: auth })
      try {
        const repo = `${uniqueRepo('bearer')}/tiny`
        const name = `${tokenProxy.host}/${repo}`
        const r = await publish([name], '1.0.0', {
          'registry-username': auth.user,
          'registry-password': auth.password
        })
        runs.push(r)
        expect(annotations(r, 'error')).toEqual([])
        expect(r.main.exitCode).toBe(0)
        const tested = digestOf(r, name)
        expect(await registryState(repo)).toEqual({ '1.0.0': tested, latest: tested })
        // docker login asked for a token without a scope; the push for one of the repository
        expect(tokenProxy.requests).toContainEqual(
          expect.stringMatching(
            new RegExp(
              `^GET /token\\?.*scope=repository%3A${encodeURIComponent(repo)}%3Apull%2Cpush`
            )
          )
        )
      } finally {
        await tokenProxy.close()
      }
    },
    5 * MINUTES
  )

  it(
    'pushes to the htpasswd registry with Basic auth',
    async () => {
      const auth = authRegistry()
      const repo = `${uniqueRepo('basic')}/tiny`
      const r = await publish([`${auth.host}/${repo}`], '1.0.0', {
        'registry-username': auth.user,
        'registry-password': auth.password
      })
      runs.push(r)
      expect(annotations(r, 'error')).toEqual([])
      expect(r.main.exitCode).toBe(0)
      expect(statusOf(r, `${auth.host}/${repo}:latest`)).toBe('pushed')
    },
    5 * MINUTES
  )
})
