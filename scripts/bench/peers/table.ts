/**
 * The results of `npm run bench:peers` (every run, kept in .bench/peers.json) and the table made
 * of them: issue 13's shape (median [min-max] seconds per contender, platforms and mode), the
 * ratios to ko, the issue's targets, the load and CPU seconds, the failures.
 */
import type { CpuSeconds } from './cpu.js'

export type Mode = 'cold' | 'warm'

/** One measured job. */
export interface Run {
  contender: string
  platforms: number
  mode: Mode
  round: number
  /** Wall time of the whole job, seconds. */
  seconds: number
  ok: boolean
  error?: string
  /** This action's stage times, seconds. */
  stages?: Record<string, number>
  /** The 1-minute load average before and after the run. */
  load1: [number, number]
  cpu: CpuSeconds
  version: string
  at: string
  log: string
  /** The commit measured (HEAD of the checkout; `+` when src or dist differed from it). */
  commit?: string
}

export interface Store {
  machine: Record<string, string>
  runs: Run[]
}

const LABELS: Record<string, string> = {
  'ours-runner': 'this action, runner builds (`main:`)',
  'ours-dockerfile': "this action, the examples' cross-compiling Dockerfiles",
  docker: 'Docker pipeline, same Dockerfiles',
  goreleaser: 'GoReleaser v2 (`dockers_v2`)',
  ko: 'ko'
}
const COLUMNS: [number, Mode][] = [
  [2, 'cold'],
  [2, 'warm'],
  [8, 'cold'],
  [8, 'warm']
]

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}
const fmt = (s: number): string => (s >= 100 ? s.toFixed(0) : s.toFixed(1))

function runsOf(store: Store, c: string, n: number, m: Mode): Run[] {
  return store.runs.filter(r => r.contender === c && r.platforms === n && r.mode === m)
}

/** The median of the successful runs, undefined when none succeeded. */
export function medianOf(store: Store, c: string, n: number, m: Mode): number | undefined {
  const ok = runsOf(store, c, n, m).filter(r => r.ok)
  return ok.length ? median(ok.map(r => r.seconds)) : undefined
}

function cell(store: Store, c: string, n: number, m: Mode): string {
  const runs = runsOf(store, c, n, m)
  if (runs.length === 0) return '-'
  const ok = runs.filter(r => r.ok).map(r => r.seconds)
  const failed = runs.length - ok.length
  if (ok.length === 0) return `failed (${runs.length} of ${runs.length})`
  const range = ok.length > 1 ? ` [${fmt(Math.min(...ok))}-${fmt(Math.max(...ok))}]` : ''
  return `${fmt(median(ok))}${range} (n=${ok.length}${failed ? `, ${failed} failed` : ''})`
}

/** Which round of which invocation a run belongs to (from its log's name). */
function roundKey(r: Run): string {
  const m = /-(cold|warm)-(\d+)(?:-([a-z0-9]+))?\.log$/.exec(r.log)
  return `${m?.[2] ?? r.round}|${m?.[3] ?? ''}`
}

/**
 * The median of the per-round ratios a/b (both runs of a round succeeded): each round runs the
 * contenders one after another, so a ratio within a round compares runs under about the same load.
 */
export function roundRatio(
  store: Store,
  a: string,
  b: string,
  n: number,
  m: Mode
): { ratio: number; rounds: number } | undefined {
  const bs = new Map(
    runsOf(store, b, n, m)
      .filter(r => r.ok)
      .map(r => [roundKey(r), r])
  )
  const ratios = runsOf(store, a, n, m)
    .filter(r => r.ok && bs.has(roundKey(r)))
    .map(r => r.seconds / (bs.get(roundKey(r)) as Run).seconds)
  return ratios.length ? { ratio: median(ratios), rounds: ratios.length } : undefined
}

const ratio = (a?: number, b?: number): number | undefined =>
  a !== undefined && b !== undefined ? a / b : undefined
const rfmt = (r?: number): string => (r === undefined ? '-' : `${r.toFixed(2)}x`)

function targets(store: Store): string[] {
  const m = (c: string, n: number, mode: Mode): number | undefined => medianOf(store, c, n, mode)
  const rows: [string, string, string, number, Mode, number][] = [
    [
      'Dockerfile mode, hosted warm, 2 platforms: at most 0.3x the Docker pipeline',
      'ours-dockerfile',
      'docker',
      2,
      'warm',
      0.3
    ],
    [
      'runner builds, hosted warm, 2 platforms: at most 1.5x ko',
      'ours-runner',
      'ko',
      2,
      'warm',
      1.5
    ],
    ['runner builds, cold, 2 platforms: at most 1.3x ko', 'ours-runner', 'ko', 2, 'cold', 1.3],
    [
      'runner builds, hosted warm, 8 platforms: at most 1.5x ko',
      'ours-runner',
      'ko',
      8,
      'warm',
      1.5
    ]
  ]
  return rows.map(([what, a, b, n, mode, max]) => {
    const r = ratio(m(a, n, mode), m(b, n, mode))
    const per = roundRatio(store, a, b, n, mode)
    const perText = per ? `; per round ${rfmt(per.ratio)} (median of ${per.rounds})` : ''
    return `- ${what}: ${rfmt(r)}${perText} -> ${r === undefined ? 'not measured' : r <= max ? 'met' : 'NOT met'}`
  })
}

function loadAndCpu(store: Store, contenders: string[]): string[] {
  const out = [
    '| contender | platforms | run | runs | load before (min-max) | CPU s, median: total = tree + dockerd + containers + containerd |',
    '|---|---:|---|---:|---|---|'
  ]
  for (const c of contenders)
    for (const [n, m] of COLUMNS) {
      const runs = runsOf(store, c, n, m)
      if (runs.length === 0) continue
      const loads = runs.map(r => r.load1[0])
      const med = (k: keyof CpuSeconds): string => median(runs.map(r => r.cpu[k])).toFixed(1)
      out.push(
        `| ${c} | ${n} | ${m === 'warm' ? 'hosted warm' : 'cold'} | ${runs.length} | ${Math.min(...loads).toFixed(1)}-${Math.max(...loads).toFixed(1)} | ${med('total')} = ${med('tree')} + ${med('dockerd')} + ${med('containers')} + ${med('containerd')} |`
      )
    }
  return out
}

export function markdown(store: Store): string {
  const contenders = Object.keys(LABELS).filter(c => store.runs.some(r => r.contender === c))
  const out: string[] = []
  out.push(
    '| | 2 platforms cold | 2 platforms hosted warm | 8 platforms cold | 8 platforms hosted warm |'
  )
  out.push('|---|---:|---:|---:|---:|')
  for (const c of contenders)
    out.push(`| ${LABELS[c]} | ${COLUMNS.map(([n, m]) => cell(store, c, n, m)).join(' | ')} |`)
  out.push('')
  out.push('Seconds, wall time of the whole job; median [min-max] of n runs.')
  out.push('')
  out.push(
    '| ratio to ko | 2 platforms cold | 2 platforms hosted warm | 8 platforms cold | 8 platforms hosted warm |'
  )
  out.push('|---|---:|---:|---:|---:|')
  for (const c of contenders.filter(c => c !== 'ko'))
    out.push(
      `| ${c} / ko | ${COLUMNS.map(([n, m]) => rfmt(ratio(medianOf(store, c, n, m), medianOf(store, 'ko', n, m)))).join(' | ')} |`
    )
  out.push('')
  out.push('The same, median of the per-round ratios (runs of one round ran one after another):')
  out.push('')
  out.push(
    '| per-round ratio to ko | 2 platforms cold | 2 platforms hosted warm | 8 platforms cold | 8 platforms hosted warm |'
  )
  out.push('|---|---:|---:|---:|---:|')
  for (const c of contenders.filter(c => c !== 'ko'))
    out.push(
      `| ${c} / ko | ${COLUMNS.map(([n, m]) => rfmt(roundRatio(store, c, 'ko', n, m)?.ratio)).join(' | ')} |`
    )
  out.push('')
  out.push('Targets (issue 13):')
  out.push('')
  out.push(...targets(store))
  out.push('')
  out.push(...loadAndCpu(store, contenders))
  const failed = store.runs.filter(r => !r.ok)
  if (failed.length > 0) {
    out.push('')
    out.push('Failed runs:')
    out.push('')
    for (const r of failed)
      out.push(
        `- ${r.contender}, ${r.platforms} platforms, ${r.mode}, round ${r.round}: ${r.error} (${r.log})`
      )
  }
  const m = store.machine
  const days = [...new Set(store.runs.map(r => r.at.slice(0, 10)))].join(', ')
  const commits = [...new Set(store.runs.map(r => r.commit ?? m['commit']))].join(', ')
  out.push('')
  out.push(
    `Machine: ${m['cores']} cores, Docker ${m['docker']}, ${m['buildx']}, ${m['go']}, Node ${m['node']}; ` +
      `commit ${commits}; measured ${days} with \`npm run bench:peers\`.`
  )
  return out.join('\n') + '\n'
}
