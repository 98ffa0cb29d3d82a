/**
 * The action's own repository, as its users audit it: zizmor (offline) and actionlint on
 * .github/workflows/ and on every README block that is a whole workflow (a YAML mapping with `on`
 * and `jobs`), written to temporary files named after their README line. Exits non-zero on any
 * finding of either tool. The tools come from scripts/tools.sh (pinned versions).
 *
 *   node_modules/.bin/node scripts/audit-workflows.ts
 *
 * zizmor's configuration is .github/zizmor.yml, given explicitly so the README files get it too.
 * Node 24 runs this file directly (type stripping).
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'yaml'

const root = new URL('..', import.meta.url).pathname

/** The fenced yaml blocks of a Markdown text that are workflows, with their first line. */
function workflowBlocks(markdown: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = []
  const lines = markdown.split('\n')
  for (let i = 0; i < lines.length; i++) {
    if (!/^```ya?ml\s*$/.test(lines[i])) continue
    const start = i + 1
    let end = start
    while (end < lines.length && !/^```\s*$/.test(lines[end])) end++
    const text = lines.slice(start, end).join('\n')
    i = end
    let doc: unknown
    try {
      doc = parse(text)
    } catch {
      continue // not YAML on its own (a fragment): nothing a user runs as a workflow
    }
    if (doc && typeof doc === 'object' && 'on' in doc && 'jobs' in doc)
      out.push({ line: start + 1, text: `${text}\n` })
  }
  return out
}

function tool(name: string): string {
  try {
    return execFileSync('bash', [join(root, 'scripts/tools.sh'), '--path', name], {
      encoding: 'utf8'
    }).trim()
  } catch {
    throw new Error(`${name} is not installed at its pinned version: run scripts/tools.sh`)
  }
}

function runTool(label: string, cmd: string, args: string[]): boolean {
  process.stdout.write(`\n== ${label}\n`)
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' })
  if (r.error) throw r.error
  process.stdout.write(r.status === 0 ? `${label}: clean\n` : `${label}: exit ${r.status}\n`)
  return r.status === 0
}

const dir = mkdtempSync(join(tmpdir(), 'gia-readme-workflows-'))
try {
  const workflows = readdirSync(join(root, '.github/workflows'))
    .filter(f => /\.ya?ml$/.test(f))
    .map(f => join('.github/workflows', f))
  const readme = workflowBlocks(readFileSync(join(root, 'README.md'), 'utf8')).map(b => {
    const file = join(dir, `README.md-line-${b.line}.yml`)
    writeFileSync(file, b.text)
    return file
  })
  process.stdout.write(
    `auditing ${workflows.join(', ')} and ${readme.length} README workflow(s): ${readme.join(', ')}\n`
  )
  const files = [...workflows, ...readme]
  const zizmor = runTool('zizmor --offline', tool('zizmor'), [
    '--offline',
    '--no-progress',
    '--config',
    '.github/zizmor.yml',
    ...files
  ])
  const actionlint = runTool('actionlint', tool('actionlint'), ['-no-color', ...files])
  if (!zizmor || !actionlint) process.exitCode = 1
} finally {
  rmSync(dir, { recursive: true, force: true })
}
