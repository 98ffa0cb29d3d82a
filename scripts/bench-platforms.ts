/**
 * `npm run bench:platforms`: wall time of the WHOLE action (the bundle, run the way the runner runs
 * it, through test/harness/runner.ts) building examples/hello's hello-cli for 1, 2, 4 and 8
 * platforms, cold, warm and warm on a fresh runner ("hosted"), three ways:
 *
 *   (a) cmd/hello-cli/Dockerfile.emulated: the Go stage runs on the TARGET platform, so every `go`
 *       process runs under QEMU (GO_IMAGE=127.0.0.1:5000/mirror/golang-emu:1.26, a multi-platform
 *       Go toolchain image made by scripts/bench/toolchains.sh);
 *   (b) cmd/hello-cli/Dockerfile: the Go stage runs on the build platform and cross-compiles;
 *   (c) a runner build (`main: ./cmd/hello-cli`): the action cross-compiles on the runner and
 *       packages with its generated Dockerfile on 127.0.0.1:5000/mirror/static:nonroot.
 *
 * Same inputs for every variant: a `release` event, go-gate false, push false, the cache on (the
 * default: Go caches in the Actions cache, buildx type=gha) against a local cache service started
 * for each cell (test/cache-server), smoke tests on every platform (the defaults: smoke-test true,
 * smoke-platforms all), platforms in the order linux/amd64, arm64, arm/v7, 386, ppc64le, s390x,
 * riscv64, arm/v6. Every run is a release of the same commit with a new version (VERSION, DATE and
 * so the ldflags change) on a fresh copy of the example.
 *
 *   cold    a first run: empty GOPATH/GOMODCACHE/GOCACHE, `docker buildx prune -af`, the bench's
 *           earlier images removed from the engine, an empty cache service (the run fills it);
 *   warm    right after, on the same runner: Go cache dirs and builder cache kept (a self-hosted
 *           runner, or a re-run on one machine);
 *   hosted  then on a fresh runner, as every GitHub-hosted job is: builder cache pruned, images
 *           removed, empty Go cache dirs; only the cache service (what the earlier runs saved)
 *           carries over, so the Go caches are restored from it and buildx imports type=gha.
 *
 * The base images (mirror/golang, golang-emu, static) stay in the engine's store: `buildx prune`
 * does not remove images, and every run resolves them against the local registry.
 *
 * Usage (root, bench up; brings the bench and, for (a), the toolchain image up if needed):
 *   npm run bench:platforms                                   everything (see --estimate)
 *   npm run bench:platforms -- --variants b,c --platforms 1,2 a subset
 *   npm run bench:platforms -- --estimate                     how long the selection takes
 *   npm run bench:platforms -- --table                        reprint the table from the results
 *   npm run bench:platforms -- --platforms 2 --repeat 3      median of 3 cold/warm/hosted runs
 *   options: --variants a,b,c  --platforms 1,2,4,8  --repeat N (each cell N times, the median is
 *   kept with every sample)  --fresh (forget earlier results instead of merging)  --no-wait (do
 *   not wait for other jest / bench runs)  --timeout-min N (per run, 120)
 *
 * The full run (a, b, c x 1, 2, 4, 8 x cold + warm) took 20 min on the 2-core bench, 11 of them
 * for (a) cold at 4 and 8 platforms.
 *
 * The engine's builder is shared: before each cell the bench waits (30 s polls, 15 min at most)
 * until no jest or bench.ts process runs, and notes any that appear during a run. Runs overlap
 * destructively: the cold setup prunes the builder cache, and so do e2e tests and `npm run bench`;
 * a build whose cache is pruned under it fails with "ERROR: failed to solve: not found".
 *
 * Results are merged by (variant, platforms, mode) into .bench/platforms.json, and the whole
 * table is rewritten to .bench/platforms.md and printed. Each run's log: .bench/platforms-logs/.
 *
 * Node 24 runs this file directly (type stripping); modules are loaded through computed
 * specifiers so tsc, which checks this file, needs no `.ts` import extensions.
 */
import { execFile, execFileSync } from 'node:child_process'
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync
} from 'node:fs'
import { availableParallelism, loadavg, tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { parseArgs, promisify } from 'node:util'
import type * as Harness from '../test/harness/runner.js'
import type * as Events from '../test/fixtures/events.js'
import type * as CacheServer from '../test/cache-server/server.js'

const load = async <T>(path: string): Promise<T> =>
  (await import(new URL(path, import.meta.url).href)) as T
const { runAction, ROOT, stagesAndSmoke } = await load<typeof Harness>('../test/harness/runner.ts')
const { release, SHA } = await load<typeof Events>('../test/fixtures/events.ts')
const { startCacheServer } = await load<typeof CacheServer>('../test/cache-server/server.ts')

const REGISTRY = '127.0.0.1:5000'
const REPO = `${REGISTRY}/gia-bench-platforms`
const GO_EMU_IMAGE = `${REGISTRY}/mirror/golang-emu:1.26`
const GO_IMAGE = `${REGISTRY}/mirror/golang:1.26`
const BASE_IMAGE = `${REGISTRY}/mirror/static:nonroot`
const ORDER = [
  'linux/amd64',
  'linux/arm64',
  'linux/arm/v7',
  'linux/386',
  'linux/ppc64le',
  'linux/s390x',
  'linux/riscv64',
  'linux/arm/v6'
]
const COUNTS = [1, 2, 4, 8]
const VARIANTS = {
  a: '(a) emulated Go stage (Dockerfile.emulated)',
  b: '(b) cross-compiling Dockerfile',
  c: '(c) runner build (main:)'
} as const
type Variant = keyof typeof VARIANTS
const MODES = ['cold', 'warm', 'hosted'] as const
type Mode = (typeof MODES)[number]
const OTHERS = 'jest|bench.ts'

const OUT_DIR = join(ROOT, '.bench')
const JSON_FILE = join(OUT_DIR, 'platforms.json')
const MD_FILE = join(OUT_DIR, 'platforms.md')
const LOG_DIR = join(OUT_DIR, 'platforms-logs')

/** CPU seconds spent by the whole machine since boot, idle and iowait excluded (/proc/stat). */
function machineCpuSeconds(): number {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1)
  const [user, nice, system, , , irq, softirq, steal] = fields.map(Number)
  return (user + nice + system + irq + softirq + (steal || 0)) / 100
}

/** One measured run. */
interface Run {
  variant: Variant
  platforms: number
  mode: Mode
  seconds: number
  ok: boolean
  /** The first error annotation (or the exit code) when the run failed. */
  error?: string
  /** Seconds per stage of the action (Go build, Build, Smoke test, ...). */
  stages: Record<string, number>
  smokeOk: number
  warnings: string[]
  version: string
  at: string
  /** Other jest/bench processes seen while this run was measured. */
  concurrent: string[]
  load1Before: number
  /** CPU seconds the whole machine spent during the run (every process: node, go, dockerd,
   * containerd, BuildKit, runc, QEMU), from /proc/stat; wall time on 2 cores is at least half. */
  cpuSeconds?: number
  log: string
  /** Seconds of every repetition (--repeat N > 1); `seconds` is then their median. */
  samples?: number[]
}

interface Store {
  machine: Record<string, string>
  runs: Run[]
}

// --- options ------------------------------------------------------------------------------------
const { values: opt } = parseArgs({
  options: {
    variants: { type: 'string', default: 'a,b,c' },
    platforms: { type: 'string', default: COUNTS.join(',') },
    fresh: { type: 'boolean', default: false },
    'no-wait': { type: 'boolean', default: false },
    estimate: { type: 'boolean', default: false },
    table: { type: 'boolean', default: false },
    'timeout-min': { type: 'string', default: '120' },
    repeat: { type: 'string', default: '1' }
  }
})
const variants = list(opt.variants).map(v => {
  if (!(v in VARIANTS)) throw new Error(`--variants: '${v}' is not one of a, b, c`)
  return v as Variant
})
const counts = list(opt.platforms).map(n => {
  if (!COUNTS.includes(Number(n))) throw new Error(`--platforms: '${n}' is not one of 1, 2, 4, 8`)
  return Number(n)
})
const timeoutMs = Number(opt['timeout-min']) * 60_000
const repeat = Number(opt.repeat)
if (!Number.isInteger(repeat) || repeat < 1)
  throw new Error(`--repeat: '${opt.repeat}' is not a count`)

function list(s: string): string[] {
  return s
    .split(',')
    .map(x => x.trim())
    .filter(Boolean)
}

// --- small helpers ------------------------------------------------------------------------------
const say = (line: string): void => void process.stdout.write(`[bench:platforms] ${line}\n`)
const sh = (cmd: string, args: string[]): string =>
  execFileSync(cmd, args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
const execFileP = promisify(execFile)
const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms))
const fmt = (s: number | undefined): string => (s === undefined ? '-' : s.toFixed(1))
const key = (v: Variant, n: number, m: Mode): string => `${v}/${n}/${m}`

function loadStore(): Store {
  if (opt.fresh || !existsSync(JSON_FILE)) return { machine: {}, runs: [] }
  return JSON.parse(readFileSync(JSON_FILE, 'utf8')) as Store
}

/** Other heavy processes (e2e tests, the other bench), not this one or its children. */
async function othersRunning(): Promise<string[]> {
  try {
    const { stdout } = await execFileP('pgrep', ['-fa', OTHERS])
    return stdout
      .split('\n')
      .filter(Boolean)
      .filter(l => Number(l.split(' ')[0]) !== process.pid)
  } catch {
    return [] // pgrep exits 1 when nothing matches
  }
}

/** Waits (polling every 30 s, at most 15 min) until no other jest / bench run is going. */
async function waitQuiet(): Promise<string[]> {
  if (opt['no-wait']) return []
  const deadline = Date.now() + 15 * 60_000
  let others = await othersRunning()
  while (others.length > 0 && Date.now() < deadline) {
    say(`waiting: something else runs (${others.map(o => o.slice(0, 80)).join(' | ')})`)
    await sleep(30_000)
    others = await othersRunning()
  }
  if (others.length > 0) say('still busy after 15 min: measuring anyway (noted in the results)')
  return others
}

function machine(): Record<string, string> {
  const tryRun = (cmd: string, args: string[]): string => {
    try {
      return sh(cmd, args).trim().split('\n')[0]
    } catch {
      return 'unknown'
    }
  }
  return {
    cores: String(availableParallelism()),
    docker: tryRun('docker', ['version', '--format', '{{.Server.Version}}']),
    buildx: tryRun('docker', ['buildx', 'version']),
    go: tryRun('go', ['version']),
    qemu: tryRun('qemu-aarch64-static', ['--version']),
    node: tryRun(join(ROOT, 'node_modules', '.bin', 'node'), ['--version'])
  }
}

/** The newest modification time under a directory. */
function newest(dir: string): number {
  let t = 0
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) t = Math.max(t, statSync(join(e.parentPath, e.name)).mtimeMs)
  }
  return t
}

function removeTree(dir: string): void {
  // the module cache is read-only on purpose
  try {
    execFileSync('chmod', ['-R', 'u+w', dir], { stdio: 'ignore' })
  } catch {
    /* ignore */
  }
  rmSync(dir, { recursive: true, force: true })
}

/** Removes every image the bench left in the engine (earlier runs' tags). */
function removeBenchImages(): void {
  const refs = sh('docker', ['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}'])
    .split('\n')
    .filter(r => r.startsWith(`${REPO}/`))
  if (refs.length > 0) sh('docker', ['image', 'rm', '--force', ...refs])
}

function imagesInput(v: Variant): string {
  const name = `- name: ${REPO}/hello-cli-${v}`
  switch (v) {
    case 'a':
      return [
        name,
        '  dockerfile: cmd/hello-cli/Dockerfile.emulated',
        '  build-args:',
        `    - GO_IMAGE=${GO_EMU_IMAGE}`
      ].join('\n')
    case 'b':
      return [
        name,
        '  dockerfile: cmd/hello-cli/Dockerfile',
        '  build-args:',
        `    - GO_IMAGE=${GO_IMAGE}`
      ].join('\n')
    case 'c':
      return [name, '  main: ./cmd/hello-cli', `  base-image: ${BASE_IMAGE}`].join('\n')
  }
}

// --- one run ------------------------------------------------------------------------------------
async function measure(
  v: Variant,
  n: number,
  mode: Mode,
  goDir: string,
  version: string,
  others: string[],
  suffix: string,
  cacheEnv: Record<string, string>
): Promise<Run> {
  const platforms = ORDER.slice(0, n)
  const workspace = mkdtempSync(join(tmpdir(), `gia-bench-platforms-${v}${n}-`))
  cpSync(join(ROOT, 'examples', 'hello'), workspace, { recursive: true })
  const fx = release(`v${version}`)
  fx.env['GITHUB_SHA'] = SHA
  fx.payload.release.published_at = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')
  const logFile = join(LOG_DIR, `${v}-${n}-${mode}${suffix}.log`)
  const logChunks: string[] = []
  const concurrent = new Set(others)
  const watch = setInterval(() => {
    void othersRunning().then(o => o.forEach(x => concurrent.add(x)))
  }, 5_000)
  const load1Before = loadavg()[0]
  const cpuBefore = machineCpuSeconds()
  const started = process.hrtime.bigint()
  const r = await runAction({
    ...fx,
    workspace,
    timeoutMs,
    env: {
      ...fx.env,
      ...cacheEnv,
      GOPATH: join(goDir, 'gopath'),
      GOMODCACHE: join(goDir, 'gopath', 'pkg', 'mod'),
      GOCACHE: join(goDir, 'gocache')
    },
    inputs: {
      images: imagesInput(v),
      platforms: platforms.join(','),
      'go-gate': 'false',
      push: 'false'
    },
    onOutput: chunk => void logChunks.push(chunk)
  })
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  const cpuSeconds = Math.round((machineCpuSeconds() - cpuBefore) * 10) / 10
  clearInterval(watch)
  for (const x of await othersRunning()) concurrent.add(x)
  writeFileSync(logFile, logChunks.join(''))
  rmSync(workspace, { recursive: true, force: true })

  const { stages, smokeOk } = stagesAndSmoke(r)
  const errors = r.main.annotations.filter(a => a.command === 'error').map(a => a.message)
  const ok = !r.failed && smokeOk === n
  return {
    variant: v,
    platforms: n,
    mode,
    seconds,
    ok,
    error: ok
      ? undefined
      : (errors[0]?.slice(0, 500) ??
        `exit code ${r.main.exitCode}, ${smokeOk}/${n} smoke tests ok`),
    stages,
    smokeOk,
    warnings: r.main.annotations
      .filter(a => a.command === 'warning')
      .map(a => a.message.split('\n')[0].slice(0, 200)),
    version,
    at: new Date().toISOString(),
    concurrent: [...concurrent].map(c => c.slice(0, 160)),
    load1Before: Math.round(load1Before * 100) / 100,
    cpuSeconds,
    log: relative(ROOT, logFile)
  }
}

/** Prunes the builder cache and removes the bench's images: a runner with no local build state. */
function freshEngine(): void {
  removeBenchImages()
  sh('docker', ['buildx', 'prune', '--all', '--force'])
}

/** Cold, warm and hosted, one after another, for one variant and platform count; `repeat` times. */
async function cell(v: Variant, n: number, index: number, store: Store): Promise<void> {
  const got: Record<Mode, Run[]> = { cold: [], warm: [], hosted: [] }
  for (let rep = 1; rep <= repeat; rep++) {
    const others = await waitQuiet()
    const of = repeat > 1 ? ` (${rep}/${repeat})` : ''
    say(
      `${VARIANTS[v]}, ${n} platform(s)${of}: cold (prune builder cache, fresh Go caches, empty cache service)`
    )
    mkdirSync(join(OUT_DIR, 'platforms-go'), { recursive: true })
    const work = mkdtempSync(join(OUT_DIR, 'platforms-go', `${v}-${n}-`))
    const server = await startCacheServer({ dir: join(work, 'cache-service') })
    try {
      let goDir = ''
      for (const [i, mode] of MODES.entries()) {
        if (mode !== 'warm') {
          // cold and hosted start on a runner with nothing local: no builder cache, no images of
          // the bench, empty Go cache directories (hosted then restores them from the service)
          freshEngine()
          // the same path every time: a runner's Go cache paths do not change between jobs, and
          // @actions/cache keys its entries by the paths
          goDir = join(work, 'go')
          removeTree(goDir)
          mkdirSync(goDir)
        }
        const version = `1.${index}.${(rep - 1) * MODES.length + i}`
        const suffix = repeat > 1 ? `-${rep}` : ''
        const run = await measure(
          v,
          n,
          mode,
          goDir,
          version,
          mode === 'cold' ? others : [],
          suffix,
          server.env()
        )
        got[mode].push(run)
        say(
          `${VARIANTS[v]}, ${n} platform(s)${of}, ${mode}: ${fmt(run.seconds)} s ${run.ok ? 'ok' : `FAILED: ${run.error}`}` +
            ` [${Object.entries(run.stages)
              .filter(([, s]) => s >= 0.5)
              .map(([k, s]) => `${k} ${fmt(s)}`)
              .join(', ')}]` +
            (run.concurrent.length
              ? ` (concurrent: ${run.concurrent.length} other process(es))`
              : '')
        )
      }
    } finally {
      await server.stop()
      removeTree(work)
    }
  }
  for (const mode of MODES) {
    // the median run (the lower middle one for an even count), with every sample's time
    const runs = got[mode]
    const sorted = [...runs].sort((x, y) => x.seconds - y.seconds)
    const median: Run = { ...sorted[Math.floor((sorted.length - 1) / 2)] }
    median.ok = runs.every(r => r.ok)
    median.error = runs.find(r => !r.ok)?.error
    median.concurrent = [...new Set(runs.flatMap(r => r.concurrent))]
    if (runs.length > 1) median.samples = runs.map(r => Math.round(r.seconds * 10) / 10)
    store.runs = store.runs.filter(x => key(x.variant, x.platforms, x.mode) !== key(v, n, mode))
    store.runs.push(median)
  }
  save(store)
}

// --- tables -------------------------------------------------------------------------------------
function find(store: Store, v: Variant, n: number, m: Mode): Run | undefined {
  return store.runs.find(r => r.variant === v && r.platforms === n && r.mode === m)
}

function ratio(x: Run | undefined, y: Run | undefined): number | undefined {
  return x && y && x.ok && y.ok ? x.seconds / y.seconds : undefined
}

const rfmt = (r: number | undefined): string => (r === undefined ? '-' : `${r.toFixed(2)}x`)

function cellText(r: Run | undefined): string {
  if (!r) return '-'
  const spread =
    r.samples && r.samples.length > 1
      ? ` [n=${r.samples.length}: ${Math.min(...r.samples).toFixed(1)}-${Math.max(...r.samples).toFixed(1)}]`
      : ''
  return `${fmt(r.seconds)}${spread}${r.ok ? '' : ' (failed)'}${r.concurrent.length ? ' *' : ''}`
}

function markdown(store: Store): string {
  const out: string[] = []
  out.push('| variant | run | 1 platform | 2 platforms | 4 platforms | 8 platforms | 8 vs 1 |')
  out.push('|---|---|---:|---:|---:|---:|---:|')
  for (const v of Object.keys(VARIANTS) as Variant[]) {
    for (const m of MODES) {
      const cells = COUNTS.map(n => cellText(find(store, v, n, m)))
      if (cells.every(c => c === '-')) continue
      const r81 = ratio(find(store, v, 8, m), find(store, v, 1, m))
      out.push(`| ${VARIANTS[v]} | ${m} | ${cells.join(' | ')} | ${rfmt(r81)} |`)
    }
  }
  out.push('')
  out.push(
    'Seconds, wall time of the whole action (main + post step); one run each, or the median of n runs (range in brackets) with --repeat. ' +
      '"*": another jest/bench process ran during the run.'
  )
  out.push('')
  out.push('| amd64 + arm64 (2 platforms) | cold | warm | hosted |')
  out.push('|---|---:|---:|---:|')
  for (const other of ['b', 'c'] as const) {
    const rs = MODES.map(m => rfmt(ratio(find(store, 'a', 2, m), find(store, other, 2, m))))
    out.push(`| (a) vs ${VARIANTS[other].split(' ')[0]}: (a) takes | ${rs.join(' | ')} |`)
  }
  out.push('')
  out.push('Targets (issue 5):')
  out.push('')
  for (const m of ['warm', 'hosted'] as const) {
    const t1 = ratio(find(store, 'c', 8, m), find(store, 'c', 1, m))
    out.push(
      `- runner builds, ${m}, 8 platforms within 1.5x of 1 platform: ${rfmt(t1)} -> ${t1 === undefined ? 'not measured' : t1 <= 1.5 ? 'met' : 'NOT met'}`
    )
  }
  for (const other of ['b', 'c'] as const) {
    for (const m of MODES) {
      const x = ratio(find(store, 'a', 2, m), find(store, other, 2, m))
      out.push(
        `- ${VARIANTS[other].split(' ')[0]} at least 5x faster than (a) for amd64 + arm64, ${m}: ${rfmt(x)} -> ${x === undefined ? 'not measured' : x >= 5 ? 'met' : 'NOT met'}`
      )
    }
  }
  out.push('')
  out.push(
    'Where the time goes (seconds per action stage; the rest is the plan, engine, QEMU and builder checks, and the post step):'
  )
  out.push('')
  out.push(
    '| variant | platforms | run | total | Go cache | Go build | Build | Smoke test | machine CPU s |'
  )
  out.push('|---|---:|---|---:|---:|---:|---:|---:|---:|')
  for (const v of Object.keys(VARIANTS) as Variant[]) {
    for (const n of COUNTS) {
      for (const m of MODES) {
        const r = find(store, v, n, m)
        if (!r) continue
        out.push(
          `| ${VARIANTS[v].split(' ')[0]} | ${n} | ${m} | ${cellText(r)} | ${fmt(r.stages['Go cache'])} | ${fmt(r.stages['Go build'])} | ${fmt(r.stages['Build'])} | ${fmt(r.stages['Smoke test'])} | ${fmt(r.cpuSeconds)} |`
        )
      }
    }
  }
  const failed = store.runs.filter(r => !r.ok)
  if (failed.length > 0) {
    out.push('')
    out.push('Failed runs:')
    out.push('')
    for (const r of failed)
      out.push(
        `- ${VARIANTS[r.variant].split(' ')[0]} ${r.platforms} ${r.mode}: ${r.error} (log ${r.log})`
      )
  }
  const busy = store.runs.filter(r => r.concurrent.length > 0)
  if (busy.length > 0) {
    out.push('')
    out.push('Runs with something else running at the same time:')
    out.push('')
    for (const r of busy)
      out.push(
        `- ${VARIANTS[r.variant].split(' ')[0]} ${r.platforms} ${r.mode}: ${r.concurrent.join('; ')}`
      )
  }
  const m = store.machine
  out.push('')
  out.push(
    `Machine: ${m['cores']} cores, Docker ${m['docker']}, ${m['buildx']}, ${m['go']}, ${m['qemu']}, Node ${m['node']}. ` +
      `Measured ${[...new Set(store.runs.map(r => r.at.slice(0, 10)))].join(', ')} with \`npm run bench:platforms\`.`
  )
  return out.join('\n') + '\n'
}

function save(store: Store): void {
  mkdirSync(OUT_DIR, { recursive: true })
  writeFileSync(JSON_FILE, JSON.stringify(store, null, 2) + '\n')
  writeFileSync(MD_FILE, markdown(store))
}

/** Seconds the selection takes, from earlier results (cold + warm + about 15 s of setup each). */
function estimate(store: Store): { seconds: number; unknown: string[] } {
  let seconds = 0
  const unknown: string[] = []
  for (const v of variants)
    for (const n of counts)
      for (const m of MODES) {
        const r = find(store, v, n, m)
        if (r) seconds += (r.seconds + 8) * repeat
        else unknown.push(key(v, n, m))
      }
  return { seconds, unknown }
}

// --- main ---------------------------------------------------------------------------------------
const store = loadStore()
const est = estimate(store)
say(
  `selection: variants ${variants.join(',')}, platforms ${counts.join(',')} (cold + warm each); ` +
    (est.unknown.length === 0
      ? `estimated ${(est.seconds / 60).toFixed(0)} min from earlier results`
      : `earlier results cover ${(est.seconds / 60).toFixed(0)} min; no estimate for ${est.unknown.join(' ')}`)
)
if (opt.estimate) process.exit(0)
if (opt.table) {
  // rewrite .bench/platforms.md from the stored results and print it; nothing is measured
  save(store)
  process.stdout.write(markdown(store))
  process.exit(0)
}

say('bench: Docker engine, buildx, QEMU, local registry (scripts/bench-up.sh)')
execFileSync('bash', [join(ROOT, 'scripts/bench-up.sh')], {
  stdio: ['ignore', 'ignore', 'inherit']
})
if (variants.includes('a')) {
  say(`toolchain image for (a): ${GO_EMU_IMAGE} (scripts/bench/toolchains.sh)`)
  execFileSync('bash', [join(ROOT, 'scripts/bench/toolchains.sh')], { stdio: 'inherit' })
}
if (newest(join(ROOT, 'src')) > statSync(join(ROOT, 'dist', 'main', 'index.js')).mtimeMs)
  say(
    'WARNING: src/ is newer than dist/main/index.js: this measures the bundle as it is (npm run bundle to refresh)'
  )
mkdirSync(LOG_DIR, { recursive: true })
chmodSync(OUT_DIR, 0o755)
store.machine = machine()

const t0 = Date.now()
let index = 0
for (const v of variants) {
  for (const n of counts) {
    index++
    await cell(v, n, index, store)
  }
}
removeBenchImages()
save(store)
say(
  `done in ${((Date.now() - t0) / 60_000).toFixed(1)} min; ${relative(ROOT, JSON_FILE)}, ${relative(ROOT, MD_FILE)}`
)
process.stdout.write('\n' + markdown(store))
