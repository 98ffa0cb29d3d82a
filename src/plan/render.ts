import { oneLine } from '../util/text.js'
import type { Plan } from './plan.js'

/** The plan as aligned text for the log. */
export function renderPlanText(plan: Plan): string {
  const m = plan.metadata
  const rows: Row[] = [
    [
      'event',
      `${m.event} (${m.kind}${m.fork ? ', fork' : ''}${m.dependabot ? ', Dependabot' : ''})`
    ],
    ['version', `${m.version}  <- ${m.versionSource}`],
    ['commit', m.commit],
    ['date', `${m.date}  <- ${m.dateSource}`],
    ['push', `${plan.push}  <- ${plan.pushReason}`],
    ['latest', `${plan.latest}  <- ${plan.latestReason}`],
    ['runner', plan.runnerPlatform],
    [
      'qemu',
      plan.qemu.platforms.length
        ? `${plan.qemu.mode}: ${plan.qemu.platforms.join(', ')} (${plan.qemu.reason})`
        : `not needed (${plan.qemu.reason})`
    ],
    [
      'go gate',
      plan.goGate.enabled
        ? `${gateSteps(plan)} in ${plan.goGate.workingDirectories.join(', ')}${plan.goGate.note ? ` (${plan.goGate.note})` : ''}`
        : 'off'
    ],
    ['cache', plan.cache ? 'Go caches + buildx type=gha' : 'off'],
    [
      'attestations',
      `provenance ${plan.attestations.provenance}  <- ${plan.attestations.provenanceReason}${plan.attestations.sbomScanner ? `; SBOM by ${plan.attestations.sbomScanner}` : ''}`
    ],
    ['dry run', String(plan.dryRun)]
  ]
  if (plan.mode !== 'all') rows.unshift(['mode', modeText(plan)])
  const lines = table(rows)
  for (const img of plan.images) {
    lines.push('', oneLine(`image ${img.name} (${img.origin})`))
    lines.push(
      ...table([
        [
          'dockerfile',
          `${img.dockerfile} (context ${img.context}${img.target ? `, target ${img.target}` : ''})`
        ],
        ...(img.runnerBuild ? [['image', img.runnerBuild.writerNote] as Row] : []),
        ['platforms', img.platforms.join(', ')],
        ['tags', img.tags],
        ['build args', img.buildArgs.map(a => `${a.key}=${a.value}`)],
        ['labels', Object.entries(img.labels).map(([k, v]) => `${k}=${v}`)],
        ['cache scope', img.cacheScope],
        ...(img.goCacheMounts
          ? [
              [
                'go cache mounts',
                [
                  ...img.goCacheMounts.mounts.map(
                    m => `${m.target} (line ${m.line}): carried in the Actions cache`
                  ),
                  ...img.goCacheMounts.skipped.map(s => `${s}: not carried`)
                ]
              ] as Row
            ]
          : []),
        [
          'smoke test',
          img.smoke.enabled
            ? `${smokeText(img.smoke)} on ${img.smoke.platforms.join(', ')}, within ${img.smoke.timeoutSeconds} s${img.smoke.note ? ` (${img.smoke.note})` : ''}`
            : `off${img.smoke.note ? ` (${img.smoke.note})` : ''}`
        ]
      ]).map(l => `  ${l}`)
    )
  }
  return lines.join('\n')
}

/** The plan as Markdown for the job summary. */
export function renderPlanMarkdown(plan: Plan): string {
  const m = plan.metadata
  const out: string[] = []
  out.push(
    `| | |`,
    `|---|---|`,
    `| **version** | \`${md(m.version)}\` (${md(m.versionSource)}) |`,
    `| **commit** | \`${m.commit}\` |`,
    `| **date** | ${m.date} (${md(m.dateSource)}) |`,
    `| **event** | ${md(m.event)} (${m.kind}${m.fork ? ', fork' : ''}${m.dependabot ? ', Dependabot' : ''}) |`,
    `| **push** | ${plan.push ? 'yes' : 'no'} (${md(plan.pushReason)}) |`,
    `| **latest** | ${plan.latest ? 'yes' : 'no'} (${md(plan.latestReason)}) |`,
    ...(plan.mode === 'all' ? [] : [`| **mode** | ${md(modeText(plan))} |`]),
    ''
  )
  out.push('| image | platforms | tags | smoke test |', '|---|---|---|---|')
  for (const img of plan.images) {
    out.push(
      `| \`${img.name}\` | ${img.platforms.join('<br>')} | ${img.tags.map(t => `\`${md(t)}\``).join('<br>')} | ${
        img.smoke.enabled ? md(smokeText(img.smoke)) : 'off'
      } |`
    )
  }
  return out.join('\n')
}

/** What a smoke test runs and waits for, in one line. */
function smokeText(smoke: Plan['images'][number]['smoke']): string {
  const args = smoke.args.length > 0 ? smoke.args.join(' ') : '(no arguments)'
  if (!smoke.http) return `${args} -> expect "${smoke.expect}" in the output`
  const body = smoke.expect ? ` with "${smoke.expect}" in the body` : ''
  return `${args} -> GET :${smoke.http.port}${smoke.http.path} answers 2xx${body}`
}

function gateSteps(plan: Plan): string {
  const names = { fmt: 'gofmt', vet: 'go vet', test: `go test ${plan.goGate.testArgs.join(' ')}` }
  return plan.goGate.steps.map(s => names[s]).join(', ')
}

/** A row of the plan table: a value, or a list shown one item a line. */
type Row = [string, string | string[]]

/**
 * Aligned `key  value` lines. Every value is data (inputs, event fields) and is printed on its
 * own line(s) only as the table puts it: control characters are escaped (oneLine), so no value
 * starts a line of its own that the runner could read as a workflow command.
 */
function table(rows: Row[]): string[] {
  const width = Math.max(...rows.map(([k]) => k.length))
  return rows.flatMap(([k, v]) =>
    (Array.isArray(v) ? v : [v]).map(
      (line, i) => `${(i === 0 ? k : '').padEnd(width)}  ${oneLine(line)}`
    )
  )
}

/** Data in a Markdown table cell: one line, and no character that ends the cell or code span. */
export function md(text: string): string {
  return oneLine(text).replace(/[|`<>]/g, c => `\\${c}`)
}

/** What this job of the distributed flow does. */
function modeText(plan: Plan): string {
  const jobs = plan.distributed.matrix.include.map(e => `${e.platform} on ${e.runner}`)
  if (plan.mode === 'plan') return `plan: one platform job each for ${jobs.join(', ')}`
  if (plan.mode === 'platform')
    return `platform: builds and tests ${plan.distributed.platform}, pushes it by digest (no tag)`
  return `merge: the digests of ${jobs.length} platform job(s) into tagged indexes`
}
