import type { Plan, PlannedImage } from './plan/plan.js'
import { md } from './plan/render.js'
import { oneLine } from './util/text.js'
import type { ArchitectureResult, PlatformResult, Results } from './results.js'

/** The results part of the job summary: digests, sizes, smoke results and stage times. */
export function renderResultsMarkdown(plan: Plan, results: Results): string {
  const out: string[] = []
  if (results.images.length > 0) {
    out.push(
      '### Images',
      '',
      '| image | platform | digest | size | smoke test | architecture |',
      '|---|---|---|---|---|---|'
    )
    for (const img of results.images) {
      out.push(
        `| \`${img.name}\` | index | \`${img.digest ?? '-'}\` | | ${img.pushedTags.length ? `pushed: ${img.pushedTags.map(t => `\`${t}\``).join(', ')}` : 'not pushed'} | |`
      )
      for (const p of img.platforms) {
        const smoke = p.smoke
          ? `${p.smoke.ok ? 'passed' : '**failed**'} (${(p.smoke.ms / 1000).toFixed(1)} s)`
          : 'not run'
        out.push(
          `| | ${p.platform} | \`${p.digest ?? '-'}\` | ${p.size === undefined ? '-' : formatBytes(p.size)} | ${smoke} | ${architectureCell(p.architecture)} |`
        )
      }
      const attested = attestationsCell(img.platforms)
      if (attested) out.push(`| | attestations | ${attested} | | | |`)
      for (const t of img.tags ?? []) {
        if (t.status === 'pushed') continue
        out.push(`| | tag \`${md(t.ref)}\` | ${t.status}${t.note ? `: ${md(t.note)}` : ''} | | | |`)
      }
      if (img.latestNote && !img.tags?.length) out.push(`| | | ${md(img.latestNote)} | | | |`)
    }
    out.push('')
  }
  if (results.stages.length > 0) {
    out.push('### Stages', '', '| stage | status | time |', '|---|---|---|')
    for (const s of results.stages) {
      out.push(
        `| ${s.stage} | ${s.status}${s.note ? ` (${md(s.note)})` : ''} | ${(s.ms / 1000).toFixed(1)} s |`
      )
    }
    out.push('')
  }
  const first = plan.images[0]
  if (results.pushed && first) {
    const passed = results.images.find(r => r.name === first.name)?.platforms.some(p => p.smoke?.ok)
    out.push('Run it:', '', '```', ...runIt(first, passed === true).map(oneLine), '```')
  }
  return out.join('\n')
}

/**
 * The commands that run a published image: those its smoke test proved, or, when it was not
 * smoke-tested, the image with no arguments.
 */
export function runIt(image: PlannedImage, smokePassed: boolean): string[] {
  const { smoke } = image
  if (!smokePassed) return [`docker run --rm ${image.versionTag}`]
  const args = smoke.args.length > 0 ? ` ${smoke.args.map(shellWord).join(' ')}` : ''
  if (!smoke.http) return [`docker run --rm ${image.versionTag}${args}`]
  const port = smoke.http.port
  return [
    `docker run --rm -d -p ${port}:${port} ${image.versionTag}${args}`,
    `curl http://localhost:${port}${smoke.http.path}`
  ]
}

/** A word as a POSIX shell reads it back: quoted when it holds anything but safe characters. */
function shellWord(word: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`
}

/** The architecture check of one platform, for a table cell. */
export function architectureCell(a: ArchitectureResult | undefined): string {
  // the file's path and the note come from the image: data, escaped
  return md(architectureText(a))
}

function architectureText(a: ArchitectureResult | undefined): string {
  if (!a) return 'not checked'
  const file = a.file ? `${a.file}${a.script ? ` (interpreter of ${a.script})` : ''}: ` : ''
  switch (a.status) {
    case 'verified':
      return `verified: ${file}${a.found}${a.note ? ` (${a.note})` : ''}`
    case 'mismatch':
      return `**wrong architecture**: ${file}${a.found} (${(a.problems ?? []).join(', ')})`
    default:
      return `not checked: ${a.note ?? ''}`
  }
}

/** What the index attests, per platform (`linux/amd64: SBOM (SPDX), provenance (SLSA)`). */
export function attestationsCell(platforms: PlatformResult[]): string {
  return platforms
    .filter(p => p.attestations?.length)
    .map(p => `${p.platform}: ${(p.attestations ?? []).map(predicateName).join(', ')}`)
    .join('; ')
}

function predicateName(type: string): string {
  if (type === 'https://spdx.dev/Document') return 'SBOM (SPDX)'
  if (type.startsWith('https://slsa.dev/provenance/')) return 'provenance (SLSA)'
  return md(type) // from the image: data, escaped
}

/** Bytes as KiB/MiB with one decimal. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`
  return `${(n / 1024 / 1024).toFixed(1)} MiB`
}
