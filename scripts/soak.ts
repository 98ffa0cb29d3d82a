/**
 * `npm run soak`: randomized registry faults against the real push path, counting inconsistent
 * states. Each run publishes release 1.0.0 of two images (a tiny two-platform image, built once
 * and then served from the engine's cache) to fresh repositories through the fault proxy
 * (test/registry-proxy) in front of 127.0.0.1:5000, with 0-4 faults drawn from the seed: 5xx,
 * 429 with Retry-After, connection resets, stalls, on blob uploads, manifest PUTs by digest and
 * by tag, tag reads and the tag list, a few times or for good. After each run the invariants of
 * test/registry-proxy/check.ts are checked: every tag on the tested index, no floating tag while a
 * version tag is missing, outputs that say exactly what the registry holds. A run that failed is
 * run again without faults, which must complete with the same digests.
 *
 *   npm run soak -- [--runs N] [--seed S] [--minutes M] [--verbose]
 *
 * Prints the seed first (a run is reproduced with --seed), a line per run, and a total; exits 1
 * when any state was inconsistent. Bounded: no run starts after M minutes (default 30), and each
 * run is killed after 3 minutes. Not part of `npm test`. Node 24 runs this file directly.
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import type * as Harness from '../test/harness/runner.js'
import type * as Events from '../test/fixtures/events.js'
import type * as Proxy from '../test/registry-proxy/proxy.js'
import type * as Check from '../test/registry-proxy/check.js'

const load = async <T>(path: string): Promise<T> =>
  (await import(new URL(path, import.meta.url).href)) as T
const { runAction } = await load<typeof Harness>('../test/harness/runner.ts')
const { release } = await load<typeof Events>('../test/fixtures/events.ts')
const { startRegistryProxy } = await load<typeof Proxy>('../test/registry-proxy/proxy.ts')
const { inconsistencies, registryState } = await load<typeof Check>(
  '../test/registry-proxy/check.ts'
)

const args = process.argv.slice(2)
const opt = (name: string, fallback: number): number =>
  args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback
const runs = opt('--runs', 30)
const seed = opt('--seed', randomBytes(4).readUInt32BE(0))
const minutes = opt('--minutes', 30)
const verbose = args.includes('--verbose')
for (const [name, v] of [
  ['--runs', runs],
  ['--seed', seed],
  ['--minutes', minutes]
] as const)
  if (!Number.isInteger(v) || v < 0) throw new Error(`${name} needs a whole number`)

/** mulberry32: a small seeded generator, so a seed reproduces the fault scripts. */
function generator(s: number): () => number {
  let a = s >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
const random = generator(seed)
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]

const TARGETS = [
  { method: 'POST', path: 'blobs/uploads/$', what: 'blob upload start' },
  { method: 'PUT', path: 'blobs/uploads/', what: 'blob upload' },
  { method: 'HEAD', path: 'blobs/', what: 'blob HEAD' },
  { method: 'PUT', path: 'manifests/sha256:', what: 'manifest PUT by digest' },
  { method: 'PUT', path: 'manifests/1\\.0\\.0$', what: 'version tag PUT' },
  { method: 'PUT', path: 'manifests/latest$', what: 'latest PUT' },
  { method: 'HEAD', path: 'manifests/(1\\.0\\.0|latest)$', what: 'tag HEAD' },
  { method: 'GET', path: 'manifests/', what: 'manifest GET' },
  { method: 'GET', path: 'tags/list', what: 'tag list' }
] as const
const FAULTS: Proxy.Fault[] = [
  { kind: 'status', status: 500 },
  { kind: 'status', status: 502 },
  { kind: 'status', status: 503, retryAfter: 1 },
  { kind: 'status', status: 429, retryAfter: 1 },
  { kind: 'reset' },
  { kind: 'reset' },
  { kind: 'stall' }
]

const workspace = mkdtempSync(join(tmpdir(), 'gia-soak-'))
writeFileSync(join(workspace, 'Dockerfile'), 'FROM scratch\nCOPY hello.txt /hello.txt\n')
writeFileSync(join(workspace, 'hello.txt'), 'hello\n')

const proxy = await startRegistryProxy()
function publish(names: string[]): Promise<Harness.ActionRun> {
  return runAction({
    ...release('v1.0.0'),
    workspace,
    timeoutMs: 3 * 60_000,
    inputs: {
      images: names.map(n => `- name: ${n}`).join('\n'),
      dockerfile: 'Dockerfile',
      platforms: 'linux/amd64,linux/arm64',
      'smoke-test': 'false',
      'go-gate': 'false',
      cache: 'false',
      // an attestation records its build's start time: the re-run check needs an index without one
      provenance: 'false',
      'registry-timeout': '2'
    }
  })
}
const digests = (r: Harness.ActionRun): Record<string, string> =>
  JSON.parse(r.main.outputs['digests'] ?? '{}') as Record<string, string>

console.log(`soak: seed ${seed}, ${runs} runs, at most ${minutes} minutes`)
const started = Date.now()
let done = 0
let inconsistent = 0
let failedRuns = 0
try {
  for (let i = 1; i <= runs; i++) {
    if (Date.now() - started > minutes * 60_000) {
      console.log(`time is up after ${done} runs`)
      break
    }
    const base = `soak-${seed}-${i}-${randomBytes(2).toString('hex')}`
    const repos = [`${base}/a`, `${base}/b`]
    const names = repos.map(r => `${proxy.host}/${r}`)
    const count = Math.floor(random() * 5)
    const script: string[] = []
    proxy.rules.length = 0
    for (let f = 0; f < count; f++) {
      const target = pick(TARGETS)
      const fault = pick(FAULTS)
      const repo = pick(repos)
      const forGood = random() < 0.15
      const times = forGood ? undefined : 1 + Math.floor(random() * 4)
      proxy.rules.push({
        method: target.method,
        path: new RegExp(`^/v2/${repo}/${target.path}`),
        times,
        fault
      })
      script.push(
        `${fault.kind === 'status' ? fault.status : fault.kind} on ${target.what} of ${repo.slice(-1)} ${forGood ? 'for good' : `x${times}`}`
      )
    }
    const t0 = Date.now()
    const r = await publish(names)
    const problems = await inconsistencies(r)
    let rerun = ''
    if (r.main.exitCode !== 0) {
      failedRuns++
      proxy.rules.length = 0
      const again = await publish(names)
      const before = digests(r)
      const after = digests(again)
      problems.push(...(await inconsistencies(again)).map(p => `re-run: ${p}`))
      if (again.main.exitCode !== 0) problems.push('re-run without faults failed')
      for (const n of names)
        if (before[n] && before[n] !== after[n])
          problems.push(`re-run: ${n} is ${after[n]}, the failed run tested ${before[n]}`)
      for (const [k, repo] of repos.entries())
        if (again.main.exitCode === 0) {
          const state = await registryState(repo)
          if (state['latest'] !== after[names[k]])
            problems.push(`re-run: ${repo}:latest is not on the index`)
        }
      rerun = `, re-run ${again.main.exitCode === 0 ? 'ok' : 'FAILED'}`
    }
    done++
    if (problems.length > 0) inconsistent++
    const error = r.main.annotations.find(a => a.command === 'error')?.message.split('\n')[0]
    console.log(
      `run ${i}: ${script.join('; ') || 'no fault'} -> exit ${r.main.exitCode}${rerun} (${((Date.now() - t0) / 1000).toFixed(1)} s)${problems.length ? `\n  INCONSISTENT: ${problems.join('\n  INCONSISTENT: ')}` : ''}${verbose && error ? `\n  error: ${error}` : ''}`
    )
  }
} finally {
  await proxy.close()
}
console.log(
  `soak: seed ${seed}: ${done} runs (${failedRuns} failed on their faults and were re-run), inconsistent = ${inconsistent}, ${((Date.now() - started) / 60_000).toFixed(1)} min`
)
process.exitCode = inconsistent === 0 ? 0 : 1
