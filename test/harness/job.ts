/**
 * A job of several steps, run the way the runner runs one (runner-protocol.md): JavaScript actions
 * from any checked-out action directory (its action.yml's `runs.main`, `runs.post`,
 * `runs.post-if`) and `run:` commands, in order. What a step writes to GITHUB_ENV and GITHUB_PATH
 * reaches the later steps; ACTIONS_* (the cache service's URLs and token) reach JavaScript
 * actions only, as on the runner; `finish` runs the post steps in reverse order with each
 * action's STATE_*. `npm run bench:peers` runs docker's and setup-go's released bundles with it.
 */
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { parse as parseYaml } from 'yaml'
import type * as Runner from './runner.js'
import type { StepResult } from './runner.js'

// loaded through a computed specifier: Node runs the bench scripts that use this file directly
// (type stripping), where './runner.js' does not exist
const { fileCommandFiles, inputEnvName, runnerEnv, spawnNode, stampLines, stepResult } =
  (await import(new URL('./runner.ts', import.meta.url).href)) as typeof Runner

interface ActionManifest {
  inputs?: Record<string, { default?: string | boolean }>
  runs: { using: string; main: string; post?: string; 'post-if'?: string }
}

/** Where and as what the job runs. */
export interface JobOptions {
  eventName: string
  payload: object
  workspace: string
  /** The job's env: GITHUB_REF, GITHUB_SHA, GOPATH, ..., and the runner's ACTIONS_*. */
  env?: Record<string, string>
  githubToken?: string
  /** Kills a step after this long (default 20 minutes). */
  timeoutMs?: number
  /** Called with everything the steps print. */
  onOutput?: (chunk: string) => void
}

/** What a `run:` step left. */
export interface CommandResult {
  exitCode: number
  stdout: string
  stderr: string
}

interface Post {
  name: string
  entry: string
  postIf: string
  env: Record<string, string>
}

/** A step failed; the job stops there (its post steps still run in `finish`). */
export class StepFailed extends Error {}

/** One job on a fresh runner: its own temp, tool cache and file-command directories. */
export class Job {
  readonly temp: string
  private readonly base: Record<string, string>
  private readonly runtime: Record<string, string> = {}
  private readonly added: Record<string, string> = {}
  private readonly paths: string[] = []
  private readonly posts: Post[] = []
  private readonly token: string
  private steps = 0
  failed = false
  readonly log: string[] = []

  private readonly opts: JobOptions

  constructor(opts: JobOptions, toolCache?: string) {
    this.opts = opts
    this.temp = mkdtempSync(join(tmpdir(), 'gia-job-'))
    const runnerTemp = mkdirp(join(this.temp, 'runner-temp'))
    const eventPath = join(runnerTemp, '_github_workflow', 'event.json')
    mkdirp(join(runnerTemp, '_github_workflow'))
    writeFileSync(eventPath, JSON.stringify(opts.payload))
    this.token = opts.githubToken ?? `ghs_harness${randomUUID().replace(/-/g, '')}`
    const env: Record<string, string> = {}
    for (const [k, v] of Object.entries(opts.env ?? {})) {
      if (k.startsWith('ACTIONS_')) this.runtime[k] = v
      else env[k] = v
    }
    this.base = runnerEnv({
      eventName: opts.eventName,
      eventPath,
      workspace: opts.workspace,
      runnerTemp,
      toolCache: toolCache ?? mkdirp(join(this.temp, 'toolcache')),
      env
    })
  }

  /** The env a step starts with: the job's, what earlier steps added, GITHUB_PATH first. */
  private stepEnv(): Record<string, string> {
    const env = { ...this.base, ...this.added }
    if (this.paths.length > 0) env['PATH'] = [...this.paths, env['PATH'] ?? ''].join(delimiter)
    return env
  }

  /** Runs a JavaScript action's main entry with `inputs` (and its declared defaults). */
  async uses(name: string, dir: string, inputs: Record<string, string> = {}): Promise<StepResult> {
    this.ensureRunning(name)
    const manifest = parseYaml(readFileSync(join(dir, 'action.yml'), 'utf8')) as ActionManifest
    if (!/^node\d+$/.test(manifest.runs.using))
      throw new Error(`${name}: ${manifest.runs.using} actions are not supported`)
    const env = { ...this.stepEnv(), ...this.runtime }
    for (const [input, spec] of Object.entries(manifest.inputs ?? {}))
      env[inputEnvName(input)] = this.evaluate(name, String(spec.default ?? ''))
    for (const [input, value] of Object.entries(inputs)) env[inputEnvName(input)] = value
    env['GITHUB_ACTION'] = `step${++this.steps}`
    env['GITHUB_ACTION_PATH'] = dir
    const r = await this.node(name, join(dir, manifest.runs.main), env)
    for (const [k, v] of Object.entries(r.env)) this.added[k] = v
    this.paths.unshift(...[...r.path].reverse())
    if (manifest.runs.post) {
      const postEnv = { ...env }
      for (const [k, v] of Object.entries(r.state)) postEnv[`STATE_${k}`] = v
      this.posts.push({
        name: `Post ${name}`,
        entry: join(dir, manifest.runs.post),
        postIf: manifest.runs['post-if'] ?? 'always()',
        env: postEnv
      })
    }
    if (r.exitCode !== 0) this.fail(name, r.annotations.find(a => a.command === 'error')?.message)
    return r
  }

  /** A `run:` step: one command, argv only, in the workspace, without the runner's ACTIONS_*. */
  async run(
    name: string,
    cmd: string,
    args: string[],
    opts: { env?: Record<string, string>; cwd?: string } = {}
  ): Promise<CommandResult> {
    this.ensureRunning(name)
    const env = { ...this.stepEnv(), ...(opts.env ?? {}) }
    this.say(`##[group]Run ${name}\n${cmd} ${args.join(' ')}\n`)
    const r = await this.spawn(cmd, args, env, opts.cwd ?? this.opts.workspace)
    this.say('##[endgroup]\n')
    if (r.exitCode !== 0)
      this.fail(name, `${cmd} exited with ${r.exitCode}: ${lastLines(r.stderr || r.stdout)}`)
    return r
  }

  /** Post steps, last action first; `post-if: success()` ones only when the job succeeded. */
  async finish(): Promise<StepResult[]> {
    const out: StepResult[] = []
    for (const post of [...this.posts].reverse()) {
      if (post.postIf.includes('success()') && this.failed) continue
      const r = await this.node(post.name, post.entry, { ...post.env, ...this.added })
      out.push(r)
      if (r.exitCode !== 0) this.failed = true
    }
    return out
  }

  private async node(
    name: string,
    entry: string,
    env: Record<string, string>
  ): Promise<StepResult> {
    const files = fileCommandFiles(join(this.temp, `_runner_file_commands_${randomUUID()}`))
    this.say(`##[group]${name}\n`)
    const { exitCode, stdout, stderr } = await spawnNode(
      entry,
      { ...env, ...files },
      this.opts.workspace,
      this.opts,
      this.log
    )
    this.say('##[endgroup]\n')
    return stepResult(files, exitCode, stdout, stderr)
  }

  private spawn(
    cmd: string,
    args: string[],
    env: Record<string, string>,
    cwd: string
  ): Promise<CommandResult> {
    return new Promise((resolve, reject) => {
      const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
      let stdout = ''
      let stderr = ''
      const timer = setTimeout(() => child.kill('SIGKILL'), this.opts.timeoutMs ?? 20 * 60_000)
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString()
        this.say(d.toString())
      })
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString()
        this.say(d.toString())
      })
      child.on('error', reject)
      child.on('close', code => {
        clearTimeout(timer)
        resolve({ exitCode: code ?? 1, stdout, stderr })
      })
    })
  }

  /** An input's default: `${{ github.token }}` (also inside setup-go's expression) or literal. */
  private evaluate(name: string, value: string): string {
    if (!value.includes('${{')) return value
    if (value.includes('github.token')) return this.token
    throw new Error(`${name}: cannot evaluate the default ${value}`)
  }

  private say(chunk: string): void {
    const line = stampLines(chunk)
    this.log.push(line)
    this.opts.onOutput?.(line)
  }

  private ensureRunning(name: string): void {
    if (this.failed) throw new StepFailed(`${name}: skipped, an earlier step failed`)
  }

  private fail(name: string, why: string | undefined): never {
    this.failed = true
    throw new StepFailed(`${name} failed${why ? `: ${why}` : ''}`)
  }
}

/** The end of a command's output, colours removed, on one line. */
function lastLines(text: string): string {
  // eslint-disable-next-line no-control-regex
  const plain = text
    .replace(/\x1b\[[0-9;]*m/g, '')
    .trim()
    .split('\n')
    .slice(-3)
  return plain
    .map(l => l.trim())
    .join(' | ')
    .slice(-400)
}

function mkdirp(p: string): string {
  mkdirSync(p, { recursive: true })
  return p
}
