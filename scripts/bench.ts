/**
 * `npm run bench`: cold vs warm wall time of the whole pipeline (main + post step of the bundle,
 * run the way the runner runs it) on examples/hello: two images, linux/amd64 + linux/arm64, the
 * Go gate on, push false, with the local GitHub Actions cache service.
 *
 *   cold: empty Go module and build caches, pruned BuildKit cache, empty cache service
 *   warm: the same cache service, fresh empty Go cache directories (the restore fills them),
 *         pruned BuildKit cache again (so the gha cache is what helps, as on a fresh runner)
 *
 * Before each run it waits (up to 3 minutes) for the 1-minute load average to drop below 1.
 * Prints a table and writes .bench/results.json. Options:
 *   --repeat N   N cold/warm pairs, each with a fresh cache service (default 1)
 *   --no-bundle  measure dist/ as it is (default: `npm run bundle` first)
 *   --verbose    stream the action's log
 *
 * Node 24 runs this file directly (type stripping); modules are loaded through computed
 * specifiers so tsc, which checks this file, needs no `.ts` import extensions. Nothing else heavy
 * should run on the machine meanwhile: the figures are wall times.
 */
import { execFileSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import type * as Harness from '../test/harness/runner.js'
import type * as Events from '../test/fixtures/events.js'
import type * as CacheServer from '../test/cache-server/server.js'

const root = new URL('..', import.meta.url).pathname
const load = async <T>(path: string): Promise<T> =>
  (await import(new URL(path, import.meta.url).href)) as T
const { runAction, ROOT } = await load<typeof Harness>('../test/harness/runner.ts')
const { release } = await load<typeof Events>('../test/fixtures/events.ts')
const { startCacheServer } = await load<typeof CacheServer>('../test/cache-server/server.ts')

const args = process.argv.slice(2)
const arg = (name: string): boolean => args.includes(name)
const repeat = arg('--repeat') ? Number(args[args.indexOf('--repeat') + 1]) : 1
if (!Number.isInteger(repeat) || repeat < 1) throw new Error('--repeat needs a whole number >= 1')

const PLATFORMS = 'linux/amd64,linux/arm64'
const REGISTRY = '127.0.0.1:5000'

const sh = (cmd: string, argv: string[], cwd = root): string =>
  execFileSync(cmd, argv, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim()
const say = (line: string): void => void process.stderr.write(`${line}\n`)

/** Removes a tree (Go's module cache is read-only) and recreates it empty. */
function emptyDir(dir: string): string {
  if (existsSync(dir)) execFileSync('chmod', ['-R', 'u+w', dir])
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  return dir
}

try {
  sh('docker', ['version', '--format', '{{.Server.Version}}'])
} catch {
  execFileSync('bash', [join(root, 'scripts/bench-up.sh')], { stdio: 'inherit' })
}
if (!arg('--no-bundle')) {
  say('bundle: dist/main and dist/post')
  execFileSync('npm', ['run', '--silent', 'bundle'], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit']
  })
}

/** Waits (at most 3 minutes) for the 1-minute load average to drop below 1: the bundle step, a
 * previous run or anything else still busy would skew the next wall time. */
async function settle(): Promise<void> {
  const until = Date.now() + 180_000
  while (loadavg()[0] >= 1 && Date.now() < until) await new Promise(r => setTimeout(r, 5_000))
}

interface Measure {
  phase: 'cold' | 'warm'
  ok: boolean
  /** main + post step (which saves the Go caches), as the job sees it */
  wallMs: number
  stages: Record<string, number>
  goCacheHit: string
  /** go test packages reported (cached) */
  goTestCached: string
  /** v1 (BuildKit type=gha) lookups that matched / missed, and bytes downloaded */
  ghaHits: number
  ghaMisses: number
  ghaDownloadedBytes: number
  ghaUploadedBytes: number
  /** v2 (@actions/cache, Go caches) */
  goCacheDownloadedBytes: number
  goCacheUploadedBytes: number
  /** go build / go mod download steps taken from the cache (CACHED or loaded), of all */
  buildStepsCached: string
  /** 1-minute load average before and after the run (anything else running skews the figures) */
  load: [number, number]
}

const base = mkdtempSync(join(tmpdir(), 'gia-bench-'))
const workspace = join(base, 'workspace')
const goBase = join(base, 'go')
const goEnv = {
  GOPATH: join(goBase, 'gopath'),
  GOMODCACHE: join(goBase, 'gopath', 'pkg', 'mod'),
  GOCACHE: join(goBase, 'gocache')
}
const repo = `bench-${Date.now().toString(36)}`
const images = [`${REGISTRY}/${repo}/hello-cli`, `${REGISTRY}/${repo}/hello-web`]
// the bench's own version: BuildKit merges identical steps of concurrent builds, so another
// build of the same tree as the same release would blur the cold figures
const version = `1.2.3-bench.${Date.now().toString(36)}`
const fx = release(`v${version}`)

/** Removes the bench's images (version and latest of both) from the engine. */
function removeImages(): void {
  execFileSync(
    'docker',
    ['image', 'rm', '--force', ...images.flatMap(i => [`${i}:${version}`, `${i}:latest`])],
    { stdio: 'ignore' }
  )
}

async function measure(
  phase: 'cold' | 'warm',
  server: Awaited<ReturnType<typeof startCacheServer>>
): Promise<Measure> {
  // a fresh runner: the checkout at the same path, empty Go caches, no local build cache
  emptyDir(workspace)
  cpSync(join(ROOT, 'examples', 'hello'), workspace, { recursive: true })
  emptyDir(goBase)
  sh('docker', ['buildx', 'prune', '--all', '--force'])
  removeImages()
  server.resetStats()
  await settle()
  say(`${phase}: running`)
  const loadBefore = loadavg()[0]
  const started = Date.now()
  const r = await runAction({
    ...fx,
    workspace,
    env: { ...fx.env, ...server.env(), ...goEnv },
    inputs: {
      images: images
        .map(i => `- name: ${i}\n  dockerfile: cmd/${i.split('/').pop()}/Dockerfile`)
        .join('\n'),
      platforms: PLATFORMS,
      push: 'false'
    },
    onOutput: chunk => {
      if (arg('--verbose')) process.stderr.write(chunk)
    }
  })
  const wallMs = Date.now() - started
  const meta = JSON.parse(r.main.outputs['metadata'] ?? '{"stages":[]}') as {
    stages: { stage: string; ms: number }[]
  }
  const stages = Object.fromEntries(meta.stages.map(s => [s.stage, s.ms]))
  const s = server.stats()
  // go test's `ok  \t<package>\t<time|(cached)>` (the smoke test's ok lines have no tabs)
  const testLines = r.main.stdout.split('\n').filter(l => /^ok\s*\t\S+\t/.test(l))
  // step numbers restart per build: count per build command. A step came from the cache when
  // buildx printed `#N CACHED` or only downloaded its blobs (`#N sha256:... done`), which it does
  // instead when a later step needs the files.
  let stepsCached = 0
  let stepsAll = 0
  for (const build of r.main.stdout.split(/^\[command\]\S*docker buildx build .*$/m).slice(1)) {
    const own = build.split(/^(\[command\]|::endgroup::)/m)[0]
    const names = new Set<string>()
    const done = new Set<string>()
    for (const l of own.split('\n')) {
      const m = /^#(\d+) \[[^\]]*\] RUN .*\bgo (mod download|build)\b/.exec(l)
      if (m) names.add(m[1])
      const c = /^#(\d+) (CACHED|sha256:[0-9a-f]{64} \S+ \/ \S+ .*done)$/.exec(l)
      if (c) done.add(c[1])
    }
    stepsAll += names.size
    stepsCached += [...names].filter(n => done.has(n)).length
  }
  const m: Measure = {
    phase,
    ok: !r.failed && r.post?.exitCode === 0,
    wallMs,
    stages,
    goCacheHit: r.main.outputs['go-cache-hit'] ?? '',
    goTestCached: `${testLines.filter(l => l.endsWith('(cached)')).length}/${testLines.length}`,
    ghaHits: s.v1.exactHits + s.v1.prefixHits,
    ghaMisses: s.v1.misses,
    ghaDownloadedBytes: s.v1.bytesDownloaded,
    ghaUploadedBytes: s.v1.bytesUploaded,
    goCacheDownloadedBytes: s.v2.bytesDownloaded,
    goCacheUploadedBytes: s.v2.bytesUploaded,
    buildStepsCached: `${stepsCached}/${stepsAll}`,
    load: [Number(loadBefore.toFixed(2)), Number(loadavg()[0].toFixed(2))]
  }
  if (!m.ok) {
    process.stderr.write(r.log)
    throw new Error(`the ${phase} run failed`)
  }
  return m
}

const pairs: { cold: Measure; warm: Measure }[] = []
try {
  for (let i = 0; i < repeat; i++) {
    const dir = emptyDir(join(base, `cache-${i}`))
    const server = await startCacheServer({ dir })
    try {
      const cold = await measure('cold', server)
      const warm = await measure('warm', server)
      pairs.push({ cold, warm })
    } finally {
      await server.stop()
    }
  }
} finally {
  removeImages()
  emptyDir(base)
  rmSync(base, { recursive: true, force: true })
}

const sec = (ms: number): string => (ms / 1000).toFixed(1)
const mb = (b: number): string => (b / 1024 / 1024).toFixed(1)
const rows: string[][] = [
  [
    'run',
    'wall s',
    'Go cache s',
    'Go gate s',
    'Build s',
    'Smoke s',
    'ratio',
    'gha hits',
    'gha misses',
    'gha MB down/up',
    'go steps from cache',
    'go-cache-hit',
    'go test (cached)'
  ]
]
pairs.forEach(({ cold, warm }, i) => {
  for (const m of [cold, warm]) {
    rows.push([
      `${m.phase}${pairs.length > 1 ? ` #${i + 1}` : ''}`,
      sec(m.wallMs),
      sec(m.stages['Go cache'] ?? 0),
      sec(m.stages['Go gate'] ?? 0),
      sec(m.stages['Build'] ?? 0),
      sec(m.stages['Smoke test'] ?? 0),
      m.phase === 'warm' ? `${(cold.wallMs / warm.wallMs).toFixed(1)}x` : '',
      String(m.ghaHits),
      String(m.ghaMisses),
      `${mb(m.ghaDownloadedBytes)}/${mb(m.ghaUploadedBytes)}`,
      m.buildStepsCached,
      m.goCacheHit,
      m.goTestCached
    ])
  }
})
const widths = rows[0].map((_, c) => Math.max(...rows.map(r => r[c].length)))
const line = (r: string[]): string => `| ${r.map((v, c) => v.padEnd(widths[c])).join(' | ')} |`
const table = [
  line(rows[0]),
  `|${widths.map(w => '-'.repeat(w + 2)).join('|')}|`,
  ...rows.slice(1).map(line)
].join('\n')

const machine = {
  cpus: cpus().length,
  docker: sh('docker', ['version', '--format', '{{.Server.Version}}']),
  buildx: sh('docker', ['buildx', 'version']),
  go: sh('go', ['version'])
}
process.stdout.write(
  `\ngo-image-action bench: examples/hello, 2 images x ${PLATFORMS}, Go gate on, push false, local cache service\n` +
    `${machine.cpus} CPUs, Docker ${machine.docker}, ${machine.buildx}, ${machine.go}\n\n${table}\n`
)
mkdirSync(join(root, '.bench'), { recursive: true })
const out = join(root, '.bench', 'results.json')
writeFileSync(
  out,
  JSON.stringify(
    {
      date: new Date().toISOString(),
      command: 'npm run bench',
      example: 'examples/hello',
      images: images.map(i => i.split('/').pop()),
      platforms: PLATFORMS.split(','),
      machine,
      pairs: pairs.map(p => ({ ...p, ratio: Number((p.cold.wallMs / p.warm.wallMs).toFixed(2)) }))
    },
    null,
    2
  ) + '\n'
)
// the load average lags (a minute): only the one before the first run says whether anything
// else was running; the rest are in the JSON
const idle = pairs[0].cold.load[0]
if (idle > 1) {
  process.stdout.write(
    `\nwarning: the machine was busy before the first run (1-minute load ${idle}); wall times are skewed\n`
  )
}
process.stdout.write(`\nwritten: ${out}\n`)
