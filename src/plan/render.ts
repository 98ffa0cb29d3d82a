import type { Plan } from './plan.js'

/** The plan as aligned text for the log. */
export function renderPlanText(plan: Plan): string {
  const m = plan.metadata
  const rows: [string, string][] = [
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
    ['dry run', String(plan.dryRun)]
  ]
  const lines = table(rows)
  for (const img of plan.images) {
    lines.push('', `image ${img.name} (${img.origin})`)
    lines.push(
      ...table([
        [
          'dockerfile',
          `${img.dockerfile} (context ${img.context}${img.target ? `, target ${img.target}` : ''})`
        ],
        ['platforms', img.platforms.join(', ')],
        ['tags', img.tags.join('\n')],
        ['build args', img.buildArgs.map(a => `${a.key}=${a.value}`).join('\n')],
        [
          'labels',
          Object.entries(img.labels)
            .map(([k, v]) => `${k}=${v}`)
            .join('\n')
        ],
        ['cache scope', img.cacheScope],
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

function table(rows: [string, string][]): string[] {
  const width = Math.max(...rows.map(([k]) => k.length))
  return rows.flatMap(([k, v]) =>
    v.split('\n').map((line, i) => `${(i === 0 ? k : '').padEnd(width)}  ${line}`)
  )
}

function md(text: string): string {
  return text.replace(/[|`<>]/g, c => `\\${c}`)
}
