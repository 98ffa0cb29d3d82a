/**
 * `npm run bench:build`: this action's Dockerfile build against docker/build-push-action's
 * released bundle, on the same Dockerfile, the same kind of builder and the same cache service.
 *
 * examples/hello's hello-cli Dockerfile (or `--dockerfile`), `--platforms` (default
 * linux/amd64,linux/arm64), a new version every run (new build args, so the `go build` step runs
 * again), `type=gha,mode=max` against the local cache service (test/cache-server). Ours: gate
 * off, no push (Go cache mounts, Build, smoke test, architecture check). build-push-action v7:
 * `load: true` with the same tag, build args and cache, its own defaults otherwise (it has no
 * smoke test; what it builds is loaded, as a pipeline that tests before pushing needs).
 *
 *   hosted      (default) each run on a fresh docker-container builder (BuildKit from
 *               `--buildkit-image`), as setup-buildx gives every hosted job: only the Actions
 *               cache carries over. A first, uncounted cold run of each fills the cache service.
 *   persistent  (`--persistent`) every run on one builder that stays (a self-hosted runner).
 *
 * The two run in turn (A B B A ...), `--repeat N` pairs (default 3); each row prints the step's
 * wall time, this action's Build stage, the machine's CPU seconds and the 1-minute load average
 * before the run; the last lines the medians. `--one ours|bpa` runs one counted run and prints its
 * JSON (for an external timer; give it `--cache-dir` and `--repo` so that runs share a cache); `--rawjson DIR` keeps each build's `BUILDKIT_PROGRESS=rawjson`
 * log there, to see where a build's seconds go. `--images 2` releases hello-cli and hello-web
 * (ours: one step with `images`; build-push-action: one step per image, one after the other).
 * `--before DIR` compares this action with another build of itself instead of build-push-action
 * (a directory with its action.yml and dist/, e.g. `git archive <commit> action.yml dist | tar
 * -x -C DIR`): the variants are then `ours` and `before`.
 *
 * build-push-action is not in this repository: check its release out into the git-ignored
 * `.peers/` first:
 *   git clone https://github.com/docker/build-push-action .peers/build-push-action
 *   git -C .peers/build-push-action checkout v7.3.0
 *
 * Node 24 runs this file directly (type stripping); modules are loaded through computed
 * specifiers so tsc, which checks this file, needs no `.ts` import extensions.
 */
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
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
const opt = (name: string, def: string): string =>
  args.includes(name) ? args[args.indexOf(name) + 1] : def
const repeat = Number(opt('--repeat', '3'))
const platforms = opt('--platforms', 'linux/amd64,linux/arm64')
const dockerfile = opt('--dockerfile', 'cmd/hello-cli/Dockerfile')
const buildkitImage = opt('--buildkit-image', '127.0.0.1:5000/mirror/buildkit:v0.34.2')
const persistent = args.includes('--persistent')
const images = Number(opt('--images', '1'))
if (images !== 1 && images !== 2) throw new Error('--images is 1 or 2')
const before = opt('--before', '')
const one = opt('--one', '')
const rawjson = opt('--rawjson', '')
const bpaDir = join(root, '.peers', 'build-push-action')
const cacheDir = opt('--cache-dir', mkdtempSync(join(tmpdir(), 'gia-bench-build-cache-')))
if (!before && !existsSync(join(bpaDir, 'action.yml')))
  throw new Error(`no ${bpaDir}: check build-push-action out there first (see this file's header)`)

type Variant = 'ours' | 'bpa' | 'before'
/** The two variants compared: this action against build-push-action, or against `--before`. */
const VARIANTS: [Variant, Variant] = before ? ['ours', 'before'] : ['ours', 'bpa']
interface Row {
  variant: Variant
  ok: boolean
  wallS: number
  buildS: number
  mountsS: number
  cpuS: number
  load: number
}

const sh = (argv: string[]): string =>
  execFileSync('docker', argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim()
const say = (line: string): void => void process.stderr.write(`${line}\n`)

/** The machine's busy CPU seconds so far (all cores), from /proc/stat. */
function cpuSeconds(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].split(/\s+/).slice(1).map(Number)
  // user nice system idle iowait irq softirq steal: busy = all but idle and iowait
  return (f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) / 100
}

function newBuilder(): string {
  const name = `gia-bench-${randomBytes(4).toString('hex')}`
  sh(
    ['buildx', 'create', '--name', name, '--driver', 'docker-container'].concat([
      '--driver-opt',
      `image=${buildkitImage}`,
      '--driver-opt',
      'network=host',
      '--bootstrap'
    ])
  )
  return name
}

const server = await startCacheServer({ dir: cacheDir })
// the image names give the gha cache scopes: the same --repo (with the same --cache-dir) reuses
// what earlier invocations saved, e.g. for --one runs under an external timer
const repo = `127.0.0.1:5000/${opt('--repo', `bench-build-${randomBytes(3).toString('hex')}`)}`
const DOCKERFILES = ['cmd/hello-cli/Dockerfile', 'cmd/hello-web/Dockerfile']
const names = ['hello-cli', 'hello-web'].slice(0, images)
// one path for every run sharing the cache service (the entry version depends on it)
const runnerTemp = `${cacheDir}-runner-temp`
let shared: string | undefined
let runs = 0

/** The run's images (every tag of the bench's repositories). */
function removeImages(): void {
  for (const name of names) {
    const refs = sh(['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}', `${repo}/${name}`])
    if (refs) sh(['image', 'rm', ...refs.split('\n')])
  }
}

/** This action's inputs: one image (`image`, `dockerfile`) or two (`images`). */
function oursInputs(): Record<string, string> {
  const common = { platforms, 'go-gate': 'false', push: 'false' }
  if (images === 1) return { ...common, image: `${repo}/hello-cli`, dockerfile }
  const items = names.map((n, i) => `- name: ${repo}/${n}\n  dockerfile: ${DOCKERFILES[i]}`)
  return { ...common, images: items.join('\n') }
}

/** build-push-action's inputs for one image: load it, the same tag, build args and cache. */
function bpaInputs(i: number, builder: string, version: string): Record<string, string> {
  return {
    context: '.',
    file: images === 1 ? dockerfile : DOCKERFILES[i],
    platforms,
    builder,
    load: 'true',
    tags: `${repo}/${names[i]}:${version}`,
    'build-args': `VERSION=${version}`,
    'cache-from': `type=gha,scope=bpa-${names[i]}`,
    'cache-to': `type=gha,scope=bpa-${names[i]},mode=max,ignore-error=true`
  }
}

async function runOnce(variant: Variant): Promise<Row> {
  const builder = persistent ? (shared ??= newBuilder()) : newBuilder()
  const workspace = mkdtempSync(join(tmpdir(), 'gia-bench-build-ws-'))
  cpSync(join(ROOT, 'examples', 'hello'), workspace, { recursive: true })
  const version = `1.${++runs}.0-${randomBytes(2).toString('hex')}`
  const fx = release(`v${version}`)
  // RUNNER_TEMP is one path on every hosted runner (the Go cache mounts entry is restored there,
  // and the Actions cache entry's version depends on the paths it holds); emptied every run
  rmSync(runnerTemp, { recursive: true, force: true })
  mkdirSync(runnerTemp, { recursive: true })
  const env: Record<string, string> = {
    ...fx.env,
    ...server.env(),
    BUILDX_BUILDER: builder,
    RUNNER_TEMP: runnerTemp,
    // a hosted runner's builder starts empty; a self-hosted one may hold an earlier run's mounts
    RUNNER_ENVIRONMENT: persistent ? 'self-hosted' : 'github-hosted'
  }
  if (rawjson) env['BUILDKIT_PROGRESS'] = 'rawjson'
  const load1 = loadavg()[0]
  const cpu0 = cpuSeconds()
  const started = Date.now()
  // build-push-action: one step per image, one after another, as in a workflow
  const steps =
    variant === 'bpa' ? names.map((_, i) => bpaInputs(i, builder, version)) : [oursInputs()]
  let r: Awaited<ReturnType<typeof runAction>> | undefined
  let log = ''
  let failed = false
  for (const inputs of steps) {
    r = await runAction({
      ...fx,
      workspace,
      env,
      inputs,
      action: variant === 'bpa' ? bpaDir : variant === 'before' ? before : ROOT
    })
    log += r.log
    failed ||= r.failed
  }
  if (!r) throw new Error('no step ran')
  const wallS = (Date.now() - started) / 1000
  const cpuS = cpuSeconds() - cpu0
  if (rawjson) {
    mkdirSync(rawjson, { recursive: true })
    writeFileSync(join(rawjson, `${runs}-${variant}.log`), log)
  }
  const stages = Object.fromEntries(
    (
      JSON.parse(r.main.outputs['metadata'] ?? '{"stages":[]}') as {
        stages?: { stage: string; ms: number }[]
      }
    ).stages?.map(s => [s.stage, s.ms / 1000]) ?? []
  )
  if (!persistent) sh(['buildx', 'rm', builder])
  rmSync(workspace, { recursive: true, force: true })
  removeImages()
  if (failed) say(log.slice(-3000))
  return {
    variant,
    ok: !failed,
    wallS,
    buildS: variant === 'bpa' ? wallS : (stages['Build'] ?? NaN),
    mountsS: stages['Go cache mounts'] ?? 0,
    cpuS,
    load: load1
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
const fmt = (r: Row): string =>
  `${r.variant.padEnd(4)} ${r.ok ? 'ok  ' : 'FAIL'} step ${r.wallS.toFixed(1)} s, build ${r.buildS.toFixed(1)} s, mounts ${r.mountsS.toFixed(1)} s, cpu ${r.cpuS.toFixed(1)} s, load ${r.load.toFixed(2)}`

try {
  if (one) {
    process.stdout.write(`${JSON.stringify(await runOnce(one as Variant))}\n`)
  } else {
    for (const v of VARIANTS) say(`cold (not counted): ${fmt(await runOnce(v))}`)
    const rows: Row[] = []
    for (let i = 0; i < repeat; i++) {
      const order = i % 2 ? [...VARIANTS].reverse() : VARIANTS
      for (const v of order) {
        const row = await runOnce(v)
        rows.push(row)
        say(fmt(row))
      }
    }
    for (const v of VARIANTS) {
      const rs = rows.filter(r => r.variant === v)
      const m = (k: keyof Row): string => median(rs.map(r => r[k] as number)).toFixed(1)
      say(
        `median ${v} (n=${rs.length}): step ${m('wallS')} s, build ${m('buildS')} s, mounts ${m('mountsS')} s, cpu ${m('cpuS')} s, load ${m('load')}`
      )
    }
  }
} finally {
  await server.stop()
  if (shared) sh(['buildx', 'rm', shared])
}
