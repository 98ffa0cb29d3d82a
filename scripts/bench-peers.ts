/**
 * `npm run bench:peers`: this action against its peers on the same release (issue 13's table).
 * Every run releases examples/hello (hello-cli and hello-web, a module dependency) under a new
 * version, pushed to the local registry 127.0.0.1:5000, for linux/amd64 + linux/arm64 (2) or the
 * 8 platforms of bench:platforms, as one job of a fresh runner. The contenders
 * (scripts/bench/peers/contenders.ts): this action with runner builds and with the examples'
 * Dockerfiles; the Docker pipeline (docker/setup-buildx-action, docker/metadata-action,
 * docker/build-push-action with `type=gha,mode=max`, actions/setup-go with its cache, gofmt / vet /
 * test, `docker run --version` per platform); GoReleaser v2 (`dockers_v2`); ko. docker's actions
 * and setup-go run as their own released bundles (scripts/bench/peers/setup.ts), the way the runner
 * runs them (test/harness/job.ts).
 *
 *   cold    nothing local (empty Go caches, no builder cache, no images but the base images) and
 *           an empty Actions cache (a new local cache service, test/cache-server);
 *   warm    "hosted warm": a fresh runner whose only carry-over is the Actions cache the earlier
 *           runs of the same contender filled (the same cache service): fresh GOCACHE/GOMODCACHE,
 *           builder cache pruned, the run's images removed.
 *
 * Every contender's jobs run on a dockerd of the bench's own (the bench's binary, containerd
 * image store, a private socket, its own bridge with outbound NAT, test/e2e/dockerd.ts), so
 * pruning its builder cache touches no one else's builds, and its containers' CPU is accounted
 * apart. It has a containerd of its own too, started empty, as a fresh runner's is: the machine's
 * shared one keeps the metadata of every test and build run on it (90 MB), which its garbage
 * collection walks after every container or image removed (0.2-0.3 s of CPU each). Runs are
 * interleaved: each round runs every contender cold, then every contender warm, the order
 * rotated by one each round. Per run: wall time, the 1-minute load average before and
 * after, and CPU seconds (scripts/bench/peers/cpu.ts). Each figure is the median of the runs, with
 * the range; every run is kept in .bench/peers.json, the table goes to .bench/peers.md.
 *
 * Usage (root; the bench up, scripts/bench-up.sh):
 *   npm run bench:peers                                    2 and 8 platforms, cold + warm, 3 rounds
 *   npm run bench:peers -- --platforms 2 --repeat 1        a quick pass
 *   npm run bench:peers -- --platforms 8 --modes warm      one cold run fills the cache, then warm
 *   npm run bench:peers -- --only ko,ours-runner           a subset of the contenders
 *   npm run bench:peers -- --table                         reprint the table from the results
 *   npm run bench:peers -- --modes warm --keep-cache       more warm runs on the Actions cache the
 *                                                          earlier runs left (no cold fill)
 *   options: --platforms 2,8  --modes cold,warm  --repeat N (rounds, 3)  --only a,b  --fresh
 *   (forget earlier results)  --keep-cache  --mirrors DIR  --timeout-min N (per run, 30)
 *   --verbose
 *
 * The action bundles come from bare git mirrors under --mirrors DIR or $GIA_PEERS_MIRRORS
 * (`<owner>+<name>/repo`, `<owner>+<name>`, `<owner>/<name>.git`); without one they are cloned from
 * https://github.com at their pinned tags. Either way they are checked out into .peers/actions/.
 * setup-go cannot download Go here: it is pointed at a runner tool cache (.peers/toolcache) that
 * holds the machine's Go (a link to its GOROOT), as a hosted runner's holds preinstalled versions.
 */
import { execFileSync } from 'node:child_process'
import {
  appendFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  symlinkSync,
  writeFileSync
} from 'node:fs'
import { homedir, loadavg } from 'node:os'
import { join, relative } from 'node:path'
import { parseArgs } from 'node:util'
import type * as Harness from '../test/harness/runner.js'
import type * as Events from '../test/fixtures/events.js'
import type * as CacheServer from '../test/cache-server/server.js'
import type * as Dockerd from '../test/e2e/dockerd.js'
import type * as Contenders from './bench/peers/contenders.js'
import type * as Setup from './bench/peers/setup.js'
import type * as Cpu from './bench/peers/cpu.js'
import type * as Api from './bench/peers/github-api.js'
import type * as Table from './bench/peers/table.js'
import type * as ProcessTree from '../src/util/processTree.js'

const load = async <T>(path: string): Promise<T> =>
  (await import(new URL(path, import.meta.url).href)) as T
const { ROOT } = await load<typeof Harness>('../test/harness/runner.ts')
const { release } = await load<typeof Events>('../test/fixtures/events.ts')
const { startCacheServer } = await load<typeof CacheServer>('../test/cache-server/server.ts')
const { startDockerd } = await load<typeof Dockerd>('../test/e2e/dockerd.ts')
const { CONTENDERS, runContender } = await load<typeof Contenders>('./bench/peers/contenders.ts')
const setup = await load<typeof Setup>('./bench/peers/setup.ts')
const { cpuSample, cpuSpent } = await load<typeof Cpu>('./bench/peers/cpu.ts')
const { startGitHubApi } = await load<typeof Api>('./bench/peers/github-api.ts')
const table = await load<typeof Table>('./bench/peers/table.ts')
const { processTree } = await load<typeof ProcessTree>('../src/util/processTree.ts')

type Contender = Contenders.Contender
type Mode = Table.Mode
type Run = Table.Run

const REGISTRY = '127.0.0.1:5000'
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
const PEERS = join(ROOT, '.peers')
const OUT_DIR = join(ROOT, '.bench')
const JSON_FILE = join(OUT_DIR, 'peers.json')
const MD_FILE = join(OUT_DIR, 'peers.md')
const LOG_DIR = join(OUT_DIR, 'peers-logs')

// --- options ------------------------------------------------------------------------------------
const { values: opt } = parseArgs({
  options: {
    platforms: { type: 'string', default: '2,8' },
    modes: { type: 'string', default: 'cold,warm' },
    repeat: { type: 'string', default: '3' },
    only: { type: 'string', default: Object.keys(CONTENDERS).join(',') },
    mirrors: { type: 'string', default: process.env['GIA_PEERS_MIRRORS'] ?? '' },
    fresh: { type: 'boolean', default: false },
    'keep-cache': { type: 'boolean', default: false },
    table: { type: 'boolean', default: false },
    verbose: { type: 'boolean', default: false },
    'timeout-min': { type: 'string', default: '30' }
  }
})
const list = (s: string): string[] =>
  s
    .split(',')
    .map(x => x.trim())
    .filter(Boolean)
const counts = list(opt.platforms).map(n => {
  if (!['2', '8'].includes(n)) throw new Error(`--platforms: '${n}' is not 2 or 8`)
  return Number(n)
})
const modes = list(opt.modes).map(m => {
  if (m !== 'cold' && m !== 'warm') throw new Error(`--modes: '${m}' is not cold or warm`)
  return m as Mode
})
const contenders = list(opt.only).map(c => {
  if (!(c in CONTENDERS))
    throw new Error(`--only: '${c}' is not one of ${Object.keys(CONTENDERS).join(', ')}`)
  return c as Contender
})
const repeat = Number(opt.repeat)
if (!Number.isInteger(repeat) || repeat < 1) throw new Error(`--repeat: '${opt.repeat}'`)
const timeoutMs = Number(opt['timeout-min']) * 60_000

const say = (line: string): void =>
  void process.stdout.write(`[bench:peers ${new Date().toISOString().slice(11, 19)}] ${line}\n`)
const sh = (cmd: string, args: string[], env?: Record<string, string>): string =>
  execFileSync(cmd, args, {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 1 << 26
  })

function loadStore(): Table.Store {
  if (opt.fresh || !existsSync(JSON_FILE)) return { machine: {}, runs: [] }
  return JSON.parse(readFileSync(JSON_FILE, 'utf8')) as Table.Store
}

function save(store: Table.Store): void {
  mkdirSync(OUT_DIR, { recursive: true })
  writeFileSync(JSON_FILE, JSON.stringify(store, null, 2) + '\n')
  writeFileSync(MD_FILE, table.markdown(store))
}

if (opt.table) {
  const store = loadStore()
  save(store)
  process.stdout.write(table.markdown(store))
  process.exit(0)
}

// --- the machine --------------------------------------------------------------------------------
function removeTree(dir: string): void {
  if (existsSync(dir)) execFileSync('chmod', ['-R', 'u+w', dir], { stdio: 'ignore' })
  rmSync(dir, { recursive: true, force: true })
}

function emptyDir(dir: string): string {
  removeTree(dir)
  mkdirSync(dir, { recursive: true })
  return dir
}

function machine(dockerHost: string): Record<string, string> {
  const first = (cmd: string, args: string[], env?: Record<string, string>): string => {
    try {
      return sh(cmd, args, env).trim().split('\n')[0]
    } catch {
      return 'unknown'
    }
  }
  return {
    cores: first('nproc', []),
    docker: first('docker', ['version', '--format', '{{.Server.Version}}'], {
      DOCKER_HOST: dockerHost
    }),
    buildx: first('docker', ['buildx', 'version']),
    go: first('go', ['version']),
    node: first(join(ROOT, 'node_modules', '.bin', 'node'), ['--version']),
    commit: first('git', ['rev-parse', '--short', 'HEAD']),
    dirty: first('git', ['status', '--porcelain', '--', 'src', 'dist']) === '' ? 'no' : 'yes'
  }
}

say('bench: Docker engine, buildx, QEMU, local registry (scripts/bench-up.sh)')
execFileSync('bash', [join(ROOT, 'scripts/bench-up.sh')], {
  stdio: ['ignore', 'ignore', 'inherit']
})
const currentEnv = readFileSync('/var/lib/gia-bench/current.env', 'utf8')
const buildkitImage = /^GIA_BUILDKIT_IMAGE=(.*)$/m.exec(currentEnv)?.[1]
if (!buildkitImage) throw new Error('no GIA_BUILDKIT_IMAGE in /var/lib/gia-bench/current.env')

say(
  `actions: ${Object.values(setup.ACTIONS)
    .map(a => `${a.repo}@${a.tag}`)
    .join(', ')}`
)
const actions = setup.checkoutActions(join(PEERS, 'actions'), opt.mirrors || undefined)
const { toolCache, goVersion } = setup.seedToolCache(join(PEERS, 'toolcache'))
say(`setup-go's tool cache: Go ${goVersion} (${relative(ROOT, toolCache)})`)
const tools = contenders.some(c => c === 'ko' || c === 'goreleaser')
  ? setup.installTools(ROOT)
  : { ko: '', goreleaser: '' }

const stamp = Date.now().toString(36)
const cgroup = `gia-peers-${stamp}`
say(`engine: a private dockerd (containerd store, NAT, containers in cgroup ${cgroup})`)
const dockerd = await startDockerd('peers', true, { nat: true, cgroupParent: `/${cgroup}` })
const cpuSources = { dockerdPid: dockerd.pid, containerdPid: dockerd.containerdPid, cgroup }
const fx0 = release('v1.0.0')
const api = await startGitHubApi(
  'octo-org/octo-repo', // the harness's GITHUB_REPOSITORY
  fx0.payload['repository'] as Record<string, unknown>,
  () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')
)

const cleanup = async (): Promise<void> => {
  // a job still running (a step or a post step) when the bench is stopped: it would retry
  // against the cache service stopped here for many minutes
  const engine = new Set([...processTree(dockerd.pid), ...processTree(dockerd.containerdPid)])
  for (const pid of processTree(process.pid).filter(p => p !== process.pid && !engine.has(p))) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      /* gone meanwhile */
    }
  }
  await api.stop()
  await dockerd.stop()
  // the containers' cgroup, empty once the daemon is gone
  for (const controller of readdirSync('/sys/fs/cgroup')) {
    const top = join('/sys/fs/cgroup', controller, cgroup)
    if (!existsSync(top)) continue
    // innermost first: the containers' and the builder's cgroups under it
    const dirs = readdirSync(top, { withFileTypes: true, recursive: true })
      .filter(e => e.isDirectory())
      .map(e => join(e.parentPath, e.name))
      .sort((a, b) => b.length - a.length)
    for (const dir of [...dirs, top]) {
      try {
        rmdirSync(dir)
      } catch {
        /* still in use */
      }
    }
  }
}
process.once('SIGINT', () => void cleanup().then(() => process.exit(130)))
process.once('SIGTERM', () => void cleanup().then(() => process.exit(143)))

const engineEnv = { DOCKER_HOST: dockerd.host }
const newest = (dir: string): number =>
  Math.max(
    ...sh('find', [dir, '-type', 'f', '-printf', '%T@\n']).split('\n').filter(Boolean).map(Number)
  )
if (newest(join(ROOT, 'src')) > newest(join(ROOT, 'dist')))
  say('WARNING: src/ is newer than dist/: this measures the bundle as it is (npm run bundle)')

/** A fresh runner on the private engine: no images but the base ones, no containers, no builder
 * cache or volumes, empty Go cache directories, workspace and RUNNER_TEMP at their fixed paths. */
function freshRunner(c: Contender): void {
  const docker = (args: string[]): string => sh('docker', args, engineEnv)
  const containers = docker(['ps', '-aq']).split('\n').filter(Boolean)
  if (containers.length > 0) docker(['rm', '--force', ...containers])
  const images = docker(['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}'])
    .split('\n')
    .filter(r => r && !r.startsWith(`${REGISTRY}/mirror/`))
  if (images.length > 0) docker(['image', 'rm', '--force', ...images])
  docker(['buildx', 'prune', '--all', '--force'])
  docker(['volume', 'prune', '--all', '--force'])
  const dir = join(PEERS, 'run', c)
  emptyDir(join(dir, 'go'))
  emptyDir(join(dir, 'runner-temp'))
  emptyDir(join(dir, 'scratch'))
  emptyDir(join(dir, 'docker-config'))
  // the buildx plugin as the machine has it; builders and logins are the runner's own
  symlinkSync(join(homedir(), '.docker', 'cli-plugins'), join(dir, 'docker-config', 'cli-plugins'))
}

/** A checkout of examples/hello at the release's tag, at the contender's fixed path. */
function checkout(c: Contender, version: string): { workspace: string; sha: string } {
  const workspace = emptyDir(join(PEERS, 'run', c, 'workspace'))
  cpSync(join(ROOT, 'examples', 'hello'), workspace, { recursive: true })
  const date = '2026-11-01T00:00:00Z'
  const env = {
    GIT_AUTHOR_NAME: 'bench',
    GIT_AUTHOR_EMAIL: 'bench@example.com',
    GIT_COMMITTER_NAME: 'bench',
    GIT_COMMITTER_EMAIL: 'bench@example.com',
    GIT_AUTHOR_DATE: date,
    GIT_COMMITTER_DATE: date
  }
  const git = (args: string[]): string =>
    execFileSync('git', args, { cwd: workspace, env: { ...process.env, ...env }, encoding: 'utf8' })
  git(['init', '--quiet', '--initial-branch', 'main'])
  git(['add', '-A'])
  git(['commit', '--quiet', '-m', 'release'])
  git(['tag', `v${version}`])
  git(['remote', 'add', 'origin', 'https://github.com/octo-org/octo-repo.git'])
  return { workspace, sha: git(['rev-parse', 'HEAD']).trim() }
}

// --- one run ------------------------------------------------------------------------------------
let runCounter = 0
async function measure(
  c: Contender,
  n: number,
  mode: Mode,
  round: number,
  cacheEnv: Record<string, string>
): Promise<Run> {
  freshRunner(c)
  const version = `1.${Math.floor(Date.now() / 1000)}.${++runCounter}`
  const { workspace, sha } = checkout(c, version)
  const fx = release(`v${version}`)
  fx.env['GITHUB_SHA'] = sha
  fx.payload['release'].published_at = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')
  const dir = join(PEERS, 'run', c)
  const logFile = join(LOG_DIR, `${c}-${n}-${mode}-${round}-${stamp}.log`)
  writeFileSync(logFile, '')
  const load1 = loadavg()[0]
  const cpu0 = cpuSample(cpuSources)
  const t0 = process.hrtime.bigint()
  const outcome = await runContender(c, {
    platforms: ORDER.slice(0, n),
    version,
    workspace,
    repo: `${REGISTRY}/gia-peers-${stamp}/${c}`,
    baseImage: BASE_IMAGE,
    buildkitImage: buildkitImage as string,
    cgroupParent: `/${cgroup}`,
    eventName: fx.eventName,
    payload: fx.payload,
    env: {
      ...fx.env,
      // what a GitHub-hosted runner's jobs get (runner-protocol.md 3.4): a fresh runner
      RUNNER_ENVIRONMENT: 'github-hosted',
      ...cacheEnv,
      ...engineEnv,
      DOCKER_CONFIG: join(dir, 'docker-config'),
      GOPATH: join(dir, 'go', 'gopath'),
      GOMODCACHE: join(dir, 'go', 'gopath', 'pkg', 'mod'),
      GOCACHE: join(dir, 'go', 'gocache'),
      RUNNER_TEMP: join(dir, 'runner-temp')
    },
    apiUrl: api.url,
    actions,
    toolCache,
    tools,
    scratch: join(dir, 'scratch'),
    timeoutMs,
    onOutput: chunk => {
      appendFileSync(logFile, chunk)
      if (opt.verbose) process.stdout.write(chunk)
    }
  })
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9
  const cpu = cpuSpent(cpu0, cpuSample(cpuSources))
  return {
    contender: c,
    platforms: n,
    mode,
    round,
    seconds: Math.round(seconds * 100) / 100,
    ok: outcome.ok,
    error: outcome.error,
    stages: outcome.stages,
    load1: [Math.round(load1 * 100) / 100, Math.round(loadavg()[0] * 100) / 100],
    cpu,
    version,
    at: new Date().toISOString(),
    log: relative(ROOT, logFile),
    commit: store.machine['commit'] + (store.machine['dirty'] === 'yes' ? '+' : '')
  }
}

// --- rounds -------------------------------------------------------------------------------------
const store = loadStore()
store.machine = machine(dockerd.host)
mkdirSync(LOG_DIR, { recursive: true })
const t0 = Date.now()
try {
  for (const n of counts) {
    const servers = new Map<Contender, Awaited<ReturnType<typeof startCacheServer>>>()
    const coldFailed = new Set<Contender>()
    const record = (run: Run): void => {
      store.runs.push(run)
      save(store)
      say(
        `${n} platforms, ${run.mode}, ${run.contender}: ${run.seconds.toFixed(1)} s` +
          ` ${run.ok ? 'ok' : `FAILED: ${run.error}`}` +
          ` (load ${run.load1[0]}, CPU ${run.cpu.total} s)`
      )
    }
    for (let round = 1; round <= repeat; round++) {
      const order = contenders.map((_, i) => contenders[(i + round - 1) % contenders.length])
      // cold: a new, empty cache service per contender (the warm runs of the round use it);
      // with --modes warm, one cold run per contender fills it in the first round
      for (const c of order) {
        if (!modes.includes('cold') && servers.has(c)) continue
        await servers.get(c)?.stop()
        const dir = join(PEERS, 'run', c, `cache-service-${n}`)
        if (!modes.includes('cold') && opt['keep-cache'] && existsSync(join(dir, 'state.json'))) {
          // the Actions cache an earlier invocation's runs left: no cold run needed to fill it
          servers.set(c, await startCacheServer({ dir }))
          say(`${n} platforms, ${c}: the Actions cache earlier runs left (${relative(ROOT, dir)})`)
          continue
        }
        const server = await startCacheServer({ dir: emptyDir(dir) })
        servers.set(c, server)
        say(`${n} platforms, cold, ${c} (round ${round}/${repeat})`)
        const cold = await measure(c, n, 'cold', round, server.env())
        record(cold)
        if (!cold.ok) coldFailed.add(c)
      }
      if (!modes.includes('warm')) continue
      for (const c of order) {
        if (coldFailed.delete(c)) {
          // its cache is empty or partial: the next run would not be a hosted-warm one
          say(`${n} platforms, warm, ${c} (round ${round}/${repeat}): skipped, its cold run failed`)
          if (!modes.includes('cold')) {
            await servers.get(c)?.stop() // --modes warm: the next round fills it again
            servers.delete(c)
          }
          continue
        }
        say(`${n} platforms, warm, ${c} (round ${round}/${repeat})`)
        record(
          await measure(
            c,
            n,
            'warm',
            round,
            (servers.get(c) as { env(): Record<string, string> }).env()
          )
        )
      }
    }
    for (const s of servers.values()) await s.stop()
  }
} finally {
  await cleanup()
}
save(store)
say(
  `done in ${((Date.now() - t0) / 60_000).toFixed(1)} min; ${relative(ROOT, JSON_FILE)}, ${relative(ROOT, MD_FILE)}`
)
process.stdout.write('\n' + table.markdown(store))
