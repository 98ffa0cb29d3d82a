/**
 * Jest global setup of the end-to-end tests (the `e2e` project of jest.config.js; Jest runs it
 * only when a test of that project runs): makes `npm test` work alone on a fresh machine.
 *
 * - The bench: when the engine (with buildx) or a registry does not answer, or bench-up.sh never
 *   finished here, it runs scripts/bench-up.sh (idempotent; as root). Not root: one line says why
 *   it cannot, and every end-to-end test fails with that reason (requireBench in test/e2e/bench.ts).
 * - nektos/act for test/e2e/act.test.ts: scripts/tools.sh act when it is not installed at its
 *   pinned version.
 * When everything is up this takes a fraction of a second: two docker commands, two HTTP requests,
 * and `go version -m` of the act binary.
 */
import { execFile, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'

const root = join(import.meta.dirname, '..', '..')
const STATE = process.env['GIA_BENCH_STATE'] ?? '/var/lib/gia-bench'

/** Set for the test files when the bench is not up and cannot be brought up: the reason. */
export const BENCH_UNAVAILABLE = 'GIA_BENCH_UNAVAILABLE'

const run = promisify(execFile)

async function answers(url: string, ok: number[]): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(3000) })
    return ok.includes(res.status)
  } catch {
    return false
  }
}

/** What of the bench does not answer; [] when it is all up. */
export async function benchProblems(): Promise<string[]> {
  const checks: [string, Promise<boolean>][] = [
    [
      'the Docker engine',
      run('docker', ['version', '--format', '{{.Server.Version}}'], { timeout: 10_000 }).then(
        () => true,
        () => false
      )
    ],
    [
      'docker buildx',
      run('docker', ['buildx', 'version'], { timeout: 10_000 }).then(
        () => true,
        () => false
      )
    ],
    ['the registry 127.0.0.1:5000', answers('http://127.0.0.1:5000/v2/', [200])],
    // the htpasswd registry answers 401 without credentials
    ['the registry 127.0.0.1:5001', answers('http://127.0.0.1:5001/v2/', [401])],
    [
      `${STATE}/bench.env (written when bench-up.sh finishes)`,
      Promise.resolve(existsSync(join(STATE, 'bench.env')))
    ],
    [
      `${STATE}/current.env (today's buildx and BuildKit, scripts/bench/current.sh)`,
      Promise.resolve(existsSync(join(STATE, 'current.env')))
    ],
    [
      `${STATE}/sbom-scanner.env (the SBOM scanner image, scripts/bench/sbom-scanner.sh)`,
      Promise.resolve(existsSync(join(STATE, 'sbom-scanner.env')))
    ]
  ]
  const results = await Promise.all(checks.map(([, p]) => p))
  return checks.filter((_, i) => !results[i]).map(([what]) => what)
}

function say(line: string): void {
  process.stdout.write(`[e2e setup] ${line}\n`)
}

async function ensureBench(): Promise<void> {
  const missing = await benchProblems()
  if (missing.length === 0) return
  const uid = process.getuid?.() ?? 0
  if (uid !== 0) {
    const why = `the bench is not up (${missing.join(', ')} not answering) and scripts/bench-up.sh needs root (this is uid ${uid}): run \`sudo scripts/bench-up.sh\`, then npm test`
    say(why)
    process.env[BENCH_UNAVAILABLE] = why
    return
  }
  say(`${missing.join(', ')} not answering: running scripts/bench-up.sh`)
  const r = spawnSync('bash', [join(root, 'scripts', 'bench-up.sh')], { stdio: 'inherit' })
  const still = await benchProblems()
  if (r.status !== 0 || still.length > 0) {
    const why = `scripts/bench-up.sh ${r.status !== 0 ? `exited ${r.status ?? r.signal}` : 'finished'} and ${still.join(', ') || 'nothing'} still does not answer`
    say(why)
    process.env[BENCH_UNAVAILABLE] = why
  }
}

function ensureAct(): void {
  const tools = join(root, 'scripts', 'tools.sh')
  if (spawnSync('bash', [tools, '--path', 'act'], { stdio: 'ignore' }).status === 0) return
  say('nektos/act is not installed at its pinned version: scripts/tools.sh act')
  // a failure here shows in test/e2e/act.test.ts, which names the missing binary
  spawnSync('bash', [tools, 'act'], { stdio: 'inherit' })
}

export default async function setup(): Promise<void> {
  await ensureBench()
  // without the bench every end-to-end test fails anyway: no minutes spent compiling act
  if (!process.env[BENCH_UNAVAILABLE]) ensureAct()
}
