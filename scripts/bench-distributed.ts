/**
 * `npm run bench:distributed`: one release of two images (examples/hello: hello-cli and hello-web
 * as runner builds on the static base image) for four platforms (linux/amd64, linux/arm64,
 * linux/arm/v7, linux/riscv64), published two ways, wall time of the bundle's main + post steps:
 *
 *   single:      one job, `mode: all`, on an amd64 runner: smoke tests of arm64, arm/v7 and
 *                riscv64 under QEMU
 *   distributed: a plan job, one platform job per platform (RUNNER_ARCH as its runner label of the
 *                plan's matrix says: ARM64 for ubuntu-24.04-arm, X64 otherwise) and a merge job;
 *                the critical path is plan + slowest platform job + merge
 *
 * Jobs run one after another on this machine, each as a fresh runner (empty GOCACHE; the module
 * cache is filled once before timing), against the local registry and artifact service. This
 * machine is amd64: a platform job for arm64 or arm/v7 here still runs its smoke test through the
 * kernel's QEMU binfmt handler, so its figure is an upper bound of a native runner's. Prints a table
 * and writes .bench/distributed.json. `--no-bundle` measures dist/ as it is; `--verbose` streams
 * the action's log. Node 24 runs this file directly (type stripping); a resolve hook maps the
 * test servers' `.js` imports to their `.ts` files.
 */
import { execFileSync } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { register } from 'node:module'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import type * as Harness from '../test/harness/runner.js'
import type * as Events from '../test/fixtures/events.js'
import type * as ArtifactServer from '../test/artifact-server/server.js'

register(
  'data:text/javascript,' +
    encodeURIComponent(
      'export async function resolve(s, c, next) { try { return await next(s, c) } catch (e) { ' +
        "if (s.endsWith('.js') && s.startsWith('.')) return next(s.slice(0, -3) + '.ts', c); throw e } }"
    )
)

const root = new URL('..', import.meta.url).pathname
const load = async <T>(path: string): Promise<T> =>
  (await import(new URL(path, import.meta.url).href)) as T
const { runAction, ROOT } = await load<typeof Harness>('../test/harness/runner.ts')
const { release } = await load<typeof Events>('../test/fixtures/events.ts')
const { startArtifactServer } = await load<typeof ArtifactServer>(
  '../test/artifact-server/server.ts'
)

const args = process.argv.slice(2)
const PLATFORMS = ['linux/amd64', 'linux/arm64', 'linux/arm/v7', 'linux/riscv64']
const REGISTRY = '127.0.0.1:5000'
const say = (line: string): void => void process.stderr.write(`${line}\n`)
const sh = (cmd: string, argv: string[], cwd = root): string =>
  execFileSync(cmd, argv, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim()

if (!args.includes('--no-bundle')) {
  say('bundle: dist/main and dist/post')
  execFileSync('npm', ['run', '--silent', 'bundle'], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit']
  })
}

const base = mkdtempSync(join(tmpdir(), 'gia-bench-dist-'))
const workspace = join(base, 'workspace')
cpSync(join(ROOT, 'examples', 'hello'), workspace, { recursive: true })
const GOMODCACHE = join(base, 'gomodcache')
execFileSync('go', ['mod', 'download'], { cwd: workspace, env: { ...process.env, GOMODCACHE } })

const id = Date.now().toString(36)
const artifacts = await startArtifactServer()

interface Job {
  name: string
  ms: number
  load: number
}

/** One job of a flow, as a fresh runner: its own empty GOCACHE. */
async function job(
  flow: string,
  name: string,
  mode: string,
  extra: Record<string, string>,
  runnerArch = 'X64'
): Promise<Job> {
  const gocache = join(base, `gocache-${flow}-${name.replaceAll('/', '-')}`)
  mkdirSync(gocache, { recursive: true })
  const fx = release(`v1.0.0-bench.${id}${flow === 'single' ? 'a' : 'b'}`)
  const before = loadavg()[0]
  const started = Date.now()
  const r = await runAction({
    ...fx,
    workspace,
    env: {
      ...fx.env,
      ...artifacts.env(`${flow}-${id}`, name),
      GOCACHE: gocache,
      GOMODCACHE,
      RUNNER_ARCH: runnerArch
    },
    inputs: {
      images: ['hello-cli', 'hello-web']
        .map(
          n =>
            `- name: ${REGISTRY}/bench-dist-${id}/${n}\n  main: ./cmd/${n}\n  base-image: ${REGISTRY}/mirror/static:nonroot`
        )
        .join('\n'),
      platforms: PLATFORMS.join(','),
      push: 'true',
      'go-gate': 'false',
      cache: 'false',
      mode,
      ...extra
    },
    onOutput: chunk => {
      if (args.includes('--verbose')) process.stderr.write(chunk)
    }
  })
  const ms = Date.now() - started
  if (r.failed) {
    process.stderr.write(r.log)
    throw new Error(`${flow} ${name} failed`)
  }
  say(`${flow} ${name}: ${(ms / 1000).toFixed(1)} s (load ${before.toFixed(2)})`)
  return { name, ms, load: Number(before.toFixed(2)) }
}

const single = await job('single', 'all', 'all', {})
const plan = await job('distributed', 'plan', 'plan', {})
const matrix = PLATFORMS.map(p => ({
  platform: p,
  runner: p === 'linux/arm64' || p.startsWith('linux/arm/') ? 'ubuntu-24.04-arm' : 'ubuntu-24.04'
}))
const platformJobs: Job[] = []
for (const m of matrix) {
  platformJobs.push(
    await job(
      'distributed',
      m.platform,
      'platform',
      { platform: m.platform },
      m.runner.endsWith('-arm') ? 'ARM64' : 'X64'
    )
  )
}
const merge = await job('distributed', 'merge', 'merge', {})
await artifacts.stop()
const slowest = platformJobs.reduce((a, b) => (b.ms > a.ms ? b : a))
const critical = plan.ms + slowest.ms + merge.ms
const s = (ms: number): string => `${(ms / 1000).toFixed(1)} s`

const result = {
  machine: {
    cpus: cpus().length,
    docker: sh('docker', ['version', '--format', '{{.Server.Version}}'])
  },
  platforms: PLATFORMS,
  single,
  distributed: { plan, platformJobs, merge, slowest: slowest.name, criticalPathMs: critical }
}
mkdirSync(join(root, '.bench'), { recursive: true })
writeFileSync(join(root, '.bench', 'distributed.json'), `${JSON.stringify(result, null, 2)}\n`)
process.stdout.write(
  [
    '| flow | plan | platform jobs | merge | critical path |',
    '|---|---:|---|---:|---:|',
    `| single job (\`mode: all\`, QEMU smoke tests) | | | | ${s(single.ms)} |`,
    `| distributed | ${s(plan.ms)} | ${platformJobs.map(j => `${j.name} ${s(j.ms)}`).join(', ')} | ${s(merge.ms)} | ${s(critical)} (plan + ${slowest.name} + merge) |`,
    ''
  ].join('\n')
)
