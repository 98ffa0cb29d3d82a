/**
 * Smoke tests of servers for real (examples/server: a banner on start, /healthz, no --version),
 * one run for every case: a banner read from the output while the server keeps running, an HTTP
 * probe on a network of the run's own (amd64 and arm64 under QEMU), and the three ways to fail:
 * the process exits non-zero first, the text never comes, the probe never gets a 2xx.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { runAction, type ActionRun } from '../harness/runner.js'
import { release } from '../fixtures/events.js'
import {
  docker,
  exampleWorkspace,
  REGISTRY,
  removeImages,
  requireBench,
  tagsOf,
  uniqueRepo
} from './bench.js'

const MINUTES = 60_000
const BOTH = ['linux/amd64', 'linux/arm64']

interface PlatformSmoke {
  platform: string
  smoke?: { ok: boolean; output: string; command: string; ms: number }
}

/** A runner build of examples/server with the given smoke keys (YAML lines). */
function server(repo: string, name: string, keys: string[]): string[] {
  return [
    `- name: ${REGISTRY}/${repo}/${name}`,
    '  main: .',
    '  binary: server',
    `  base-image: ${REGISTRY}/mirror/static:nonroot`,
    '  expose: 8080',
    ...keys.map(k => `  ${k}`)
  ]
}

function smokeOf(r: ActionRun, name: string): Record<string, PlatformSmoke['smoke']> {
  const img = JSON.parse(r.main.outputs.metadata).images.find((i: { name: string }) =>
    i.name.endsWith(`/${name}`)
  )
  return Object.fromEntries(
    (img.platformResults as PlatformSmoke[]).map(p => [p.platform, p.smoke])
  )
}

beforeAll(() => requireBench())

/** The smoke-timeout of the two images that never pass (the clock starts before `docker run`). */
const TIMEOUT_S = 15

describe('smoke tests of a server', () => {
  const repo = uniqueRepo('server')
  let r: ActionRun

  beforeAll(async () => {
    r = await runAction({
      ...release('v1.4.0'),
      workspace: exampleWorkspace('server'),
      inputs: {
        images: [
          // the banner is in the output, the server keeps serving: passes at once
          ...server(repo, 'banner', ["smoke-args: ''", 'smoke-expect: listening on :8080']),
          // probed over HTTP from the runner, on both platforms (arm64 under QEMU)
          ...server(repo, 'http', ['smoke-http: 8080/healthz', 'smoke-expect: ok 1.4.0']),
          // today's default, --version: this server exits with code 2 at once
          ...server(repo, 'version', ['platforms: linux/amd64']),
          // the text never comes: fails at the image's own timeout (long enough for the server to
          // start and print its banner, or answer 404, on a loaded machine: both are checked)
          ...server(repo, 'silent', [
            'platforms: linux/amd64',
            "smoke-args: ''",
            'smoke-expect: never printed',
            `smoke-timeout: ${TIMEOUT_S}`
          ]),
          // the probe never gets a 2xx (404): fails at the timeout, with the last answer
          ...server(repo, 'not-found', [
            'platforms: linux/amd64',
            'smoke-http: 8080/nope',
            `smoke-timeout: ${TIMEOUT_S}`
          ])
        ].join('\n'),
        platforms: BOTH.join(','),
        'go-gate': 'false',
        cache: 'false',
        push: 'false'
      }
    })
  }, 15 * MINUTES)

  afterAll(() => removeImages(tagsOf(r)))

  it('fails the run for the three failing images only, before any push', () => {
    expect(r.main.exitCode).not.toBe(0)
    const failed = r.main.annotations
      .filter(a => a.command === 'error' && a.properties.title?.startsWith('smoke test'))
      .map(a => /smoke test of \S+\/(\S+) on (\S+) failed/.exec(a.message)?.slice(1).join(' '))
      .sort()
    expect(failed).toEqual(['not-found linux/amd64', 'silent linux/amd64', 'version linux/amd64'])
  })

  it('passes a server on its banner while it keeps running, on every platform', () => {
    const smoke = smokeOf(r, 'banner')
    for (const p of BOTH) {
      expect(smoke[p]?.ok).toBe(true)
      expect(smoke[p]?.output).toContain('server 1.4.0 (commit 6113728')
      expect(smoke[p]?.command).toContain('--network none')
    }
  })

  it('passes an HTTP probe of /healthz on the run network, on amd64 and arm64 (QEMU)', () => {
    const smoke = smokeOf(r, 'http')
    for (const p of BOTH) {
      expect(smoke[p]?.ok).toBe(true)
      expect(smoke[p]?.command).toMatch(/--network gia-smoke-1-[0-9a-f]+ /)
      expect(smoke[p]?.command).not.toContain('--version')
      expect(smoke[p]?.command).not.toMatch(/ -p |--publish/)
    }
    expect(r.main.stdout).toContain('GET :8080/healthz answers 2xx with "ok 1.4.0" in the body')
  })

  it('fails at once when the process exits non-zero before the text appears', () => {
    const smoke = smokeOf(r, 'version')['linux/amd64']
    expect(smoke?.ok).toBe(false)
    expect(smoke?.output).toContain('flag provided but not defined: -version')
    expect(smoke?.output).toContain('(exit code 2)')
    expect(smoke?.output).not.toContain('timed out')
  })

  it('fails at the smoke-timeout when the text never comes, or the probe never gets a 2xx', () => {
    const silent = smokeOf(r, 'silent')['linux/amd64']
    expect(silent?.ok).toBe(false)
    expect(silent?.output).toContain('server 1.4.0')
    expect(silent?.output).toContain(`(timed out after ${TIMEOUT_S} s)`)
    const notFound = smokeOf(r, 'not-found')['linux/amd64']
    expect(notFound?.ok).toBe(false)
    expect(notFound?.output).toContain(
      `(timed out after ${TIMEOUT_S} s; last probe: GET 8080/nope answered 404`
    )
  })

  it('leaves no smoke container and no smoke network behind', () => {
    const containers = docker(['ps', '-a', '--format', '{{.Names}} {{.Image}}'])
      .split('\n')
      .filter(c => c.includes(`/${repo}/`))
    expect(containers).toEqual([])
    // this run's network, as it logged it and as its smoke commands name it (other runs on the
    // shared engine create networks of their own meanwhile)
    const commands = ['banner', 'http', 'version', 'silent', 'not-found'].flatMap(name =>
      Object.values(smokeOf(r, name)).map(smoke => smoke?.command ?? '')
    )
    const ours = new Set([
      ...[...r.main.stdout.matchAll(/^smoke network: (\S+) /gm)].map(m => m[1]),
      ...commands.flatMap(c => /--network (gia-smoke-\S+) /.exec(c)?.[1] ?? [])
    ])
    expect(ours.size).toBe(1)
    const networks = docker(['network', 'ls', '--format', '{{.Name}}']).split('\n')
    expect(networks.filter(n => ours.has(n))).toEqual([])
  })
})
