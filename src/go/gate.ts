import * as core from '@actions/core'
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { run } from '../exec.js'
import type { GoGatePlan } from '../plan/plan.js'
import { deferred } from '../util/deferred.js'

/** A compiler, vet or test message with a position. */
export interface GoProblem {
  file: string
  line: number
  col?: number
  message: string
}

/**
 * Finds `file.go:line[:col]: message` positions in go build / vet / test output. The file is
 * made relative to the workspace for the annotation.
 */
export function parseGoProblems(
  output: string,
  goDir: string,
  workspace: string,
  packageDirs: string[] = []
): GoProblem[] {
  const out: GoProblem[] = []
  const seen = new Set<string>()
  for (const raw of output.split('\n')) {
    const m = /^\s*(?:vet: )?((?:\.{0,2}\/)?[^\s:]+\.go):(\d+)(?::(\d+))?:\s*(.*)$/.exec(raw)
    if (!m) continue
    // go test prints a bare file name (`x_test.go:12:`): find its package directory.
    const bare = !m[1].includes('/')
    const owner = bare ? packageDirs.filter(d => existsSync(join(d, m[1]))) : []
    const abs = owner.length === 1 ? join(owner[0], m[1]) : resolve(goDir, m[1])
    const file = relativeTo(workspace, abs)
    const key = `${file}:${m[2]}:${m[4]}`
    if (seen.has(key)) continue
    seen.add(key)
    out.push({ file, line: Number(m[2]), col: m[3] ? Number(m[3]) : undefined, message: m[4] })
  }
  return out
}

/** `abs` relative to the workspace when it is inside it (annotation paths are). */
function relativeTo(workspace: string, abs: string): string {
  return abs.startsWith(workspace + '/') ? abs.slice(workspace.length + 1) : abs
}

function annotate(problems: GoProblem[], title: string): void {
  for (const p of problems) {
    core.error(p.message, { file: p.file, startLine: p.line, startColumn: p.col, title })
  }
}

/**
 * The packages the gate's environment leaves out (with CGO_ENABLED=0, a package made only of cgo
 * files): `go vet ./...` and `go test ./...` skip them without a word. The warning naming them,
 * or undefined.
 */
async function leftOutWarning(
  dir: string,
  workspace: string,
  dirs: string[],
  env: Record<string, string>
): Promise<string | undefined> {
  if (Object.keys(env).length === 0 || dirs.length === 0) return undefined
  const listed = await run('go', ['list', '-f', '{{.Dir}}', './...'], {
    cwd: dir,
    env,
    silent: true,
    allowFailure: true
  })
  const kept = new Set(listed.stdout.split('\n').filter(Boolean))
  const left = dirs.filter(d => !kept.has(d)).map(d => relativeTo(workspace, d))
  if (left.length === 0) return undefined
  const settings = Object.entries(env)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ')
  return `go-gate: with ${settings}, as the runner builds, go vet and go test leave out ${left.join(', ')} (only cgo files there); set CGO_ENABLED in the job's env to gate them with cgo`
}

/**
 * `gofmt -l` of the package directories: resolves to the gate's error after annotating each
 * file, or undefined when they are clean.
 */
async function gofmtCheck(
  dir: string,
  workspace: string,
  dirs: string[]
): Promise<string | undefined> {
  const fmt = await run('gofmt', ['-l', ...dirs], { cwd: dir, silent: true, allowFailure: true })
  const bad = fmt.stdout
    .split('\n')
    .filter(Boolean)
    .map(f => relativeTo(workspace, resolve(dir, f)))
  // A file gofmt cannot parse is not listed: it prints `file.go:line:col: message` on stderr.
  const unparsable = parseGoProblems(fmt.stderr, dir, workspace)
  if (bad.length === 0 && fmt.exitCode === 0) return undefined
  for (const file of bad) {
    core.error('not gofmt-formatted: run gofmt -w', { file, title: 'gofmt' })
  }
  annotate(unparsable, 'gofmt')
  const why: string[] = []
  if (bad.length > 0) why.push(`${bad.length} file(s) not formatted: ${bad.join(', ')}`)
  if (fmt.exitCode !== 0) {
    const broken = [...new Set(unparsable.map(p => p.file))]
    why.push(
      `${broken.length > 0 ? `${broken.length} file(s) with syntax errors (${broken.join(', ')})` : `gofmt failed with exit code ${fmt.exitCode}`}:\n${fmt.stderr.trim()}`
    )
  }
  return `go-gate: gofmt: ${why.join('; ')}`
}

/** How the gate may overlap its steps. */
export interface GateOverlap {
  /**
   * go test runs beside go vet (its log after vet's): only when the packages are compiled
   * already (the Go cache hit its exact key), else both would compile them at once.
   */
  testBesideVet?: boolean
}

/**
 * The Go gate, in `dir`: `gofmt -l` (vendor excluded), `go vet ./...`, `go test <args>`, vet and
 * test with the plan's build flags and environment. gofmt, the check for packages the gate's
 * environment leaves out and go vet run at once, and go test beside go vet when `overlap` allows;
 * the log comes in that order all the same (each command's echo waits for the step before it),
 * and the first step to fail in that order stops the ones after it (their processes too). Each
 * failure becomes annotations and an Error naming the step. `vetted` is called once go vet has
 * passed (it compiled, for the runner's own platform and with the runner builds' flags, every
 * package a main package of the module imports).
 */
export async function goGate(
  dir: string,
  workspace: string,
  gate: Pick<GoGatePlan, 'testArgs' | 'buildFlags' | 'env'> & Partial<Pick<GoGatePlan, 'steps'>>,
  vetted?: () => void,
  overlap: GateOverlap = {}
): Promise<{ goVersion: string }> {
  const steps = gate.steps ?? ['fmt', 'vet', 'test']
  const version = await run('go', ['version'], {
    cwd: dir,
    silent: true,
    allowFailure: true
  }).catch(() => undefined)
  if (!version || version.exitCode !== 0)
    throw new Error('go-gate: no `go` on PATH (set up Go first, or go-gate: false)')
  const goVersion = version.stdout.trim()
  core.info(goVersion)

  const files = await run('go', ['list', '-f', '{{.Dir}}', './...'], {
    cwd: dir,
    silent: true,
    allowFailure: true
  })
  const dirs = files.stdout
    .split('\n')
    .filter(d => d && !/(^|\/)vendor(\/|$)/.test(d.slice(dir.length)))
  const vets = steps.includes('vet')
  const tests = steps.includes('test')
  const stop = new AbortController()
  // what runs at once: gofmt, the left-out check, go vet (and go test); each step's log waits
  // for the verdict of the one before it, printed here in the gate's order
  const fmt =
    dirs.length > 0 && steps.includes('fmt')
      ? gofmtCheck(dir, workspace, dirs)
      : Promise.resolve(undefined)
  const leftOut = vets || tests ? leftOutWarning(dir, workspace, dirs, gate.env) : undefined
  // whether a step's held echo is printed: once the step before it passed
  const before = deferred<boolean>()
  const vet = vets ? goVet(dir, workspace, dirs, gate, before.promise, stop.signal) : undefined
  const afterVet = deferred<boolean>()
  const test =
    tests && overlap.testBesideVet
      ? goTest(dir, workspace, dirs, gate, afterVet.promise, stop.signal)
      : undefined
  try {
    const fmtError = await fmt
    if (fmtError) throw new Error(fmtError)
    core.info(steps.includes('fmt') ? 'gofmt: clean' : 'gofmt: not run (go-gate)')
    const warning = await leftOut
    if (warning) core.warning(warning)
    before.resolve(true)
    if (vet) {
      await vet
      // vet has compiled every package it vets the imports of: what a build of the module links
      vetted?.()
    }
    afterVet.resolve(true)
    if (test) await test
    else if (tests) await goTest(dir, workspace, dirs, gate)
  } catch (e) {
    // a step failed: the ones after it stop, unprinted
    stop.abort()
    before.resolve(false)
    afterVet.resolve(false)
    await Promise.allSettled([vet, test, leftOut])
    throw e
  }
  return { goVersion }
}

async function goVet(
  dir: string,
  workspace: string,
  dirs: string[],
  gate: Pick<GoGatePlan, 'buildFlags' | 'env'>,
  echoAfter?: Promise<boolean>,
  signal?: AbortSignal
): Promise<void> {
  const vet = await run('go', ['vet', ...gate.buildFlags, './...'], {
    cwd: dir,
    env: gate.env,
    allowFailure: true,
    echoAfter,
    signal
  })
  if (signal?.aborted) return
  if (vet.exitCode !== 0) {
    annotate(parseGoProblems(vet.stderr + vet.stdout, dir, workspace, dirs), 'go vet')
    throw new Error(
      `go-gate: go vet failed:\n${(vet.stderr || vet.stdout).trim().split('\n').slice(-15).join('\n')}`
    )
  }
}

async function goTest(
  dir: string,
  workspace: string,
  dirs: string[],
  gate: Pick<GoGatePlan, 'testArgs' | 'buildFlags' | 'env'>,
  echoAfter?: Promise<boolean>,
  signal?: AbortSignal
): Promise<void> {
  const test = await run('go', ['test', ...gate.buildFlags, ...gate.testArgs], {
    cwd: dir,
    env: gate.env,
    allowFailure: true,
    echoAfter,
    signal
  })
  if (signal?.aborted) return
  if (test.exitCode !== 0) {
    annotate(parseGoProblems(test.stdout + test.stderr, dir, workspace, dirs), 'go test')
    const tail = (test.stdout + test.stderr).trim().split('\n').slice(-20).join('\n')
    throw new Error(`go-gate: go test failed:\n${tail}`)
  }
}
