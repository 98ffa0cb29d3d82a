/**
 * Runs the bundled action the way the GitHub Actions runner does (runner-protocol.md §9): a child
 * process `node dist/main/index.js` under Node 24, cwd = the workspace, every declared input as
 * INPUT_<NAME> with its default, the GITHUB_* and RUNNER_* env, fresh file-command files; then the
 * post entry with STATE_* from the main step's GITHUB_STATE.
 */
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse as parseYaml } from 'yaml'

/** The repository root (where action.yml is). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

/** Node 24 from the `node` devDependency, as the runner's node24 would be. */
export const NODE24 = join(ROOT, 'node_modules', '.bin', 'node')

/** One annotation or command read from stdout. */
export interface WorkflowCommand {
  command: string
  properties: Record<string, string>
  message: string
}

/** What one step (main or post) left behind. */
export interface StepResult {
  exitCode: number
  stdout: string
  stderr: string
  outputs: Record<string, string>
  state: Record<string, string>
  env: Record<string, string>
  path: string[]
  summary: string
  /** ::error / ::warning / ::notice lines. */
  annotations: WorkflowCommand[]
  /** Values registered with ::add-mask::. */
  masks: string[]
}

/** A whole action run: main, then post. */
export interface ActionRun {
  main: StepResult
  post?: StepResult
  /** The step failed (main's exit code was not 0). */
  failed: boolean
  /** Everything both steps printed, stdout and stderr, for "no secret in any log" checks. */
  log: string
}

/** How to run the action. */
export interface RunActionOptions {
  /** Inputs by name (hyphens kept), as a workflow's `with:`. */
  inputs?: Record<string, string>
  eventName: string
  payload: object
  /** GITHUB_REF, GITHUB_SHA, ... and any other env (ACTIONS_* for the cache). */
  env?: Record<string, string>
  /** The workspace (cwd and GITHUB_WORKSPACE); a fresh temp dir when unset. */
  workspace?: string
  /** The value `${{ github.token }}` evaluates to. */
  githubToken?: string
  /** Run the post entry too (default true, as `post-if: always()`). */
  post?: boolean
  /** Kill the step after this long (default 20 minutes). */
  timeoutMs?: number
  /** Called with every chunk the steps print (for long e2e runs). */
  onOutput?: (chunk: string) => void
  /**
   * Kills the main step, as a cancelled job's runner does, once everything it printed matches
   * `when`: `signal` goes to its whole process group (node and the commands it runs); `before`
   * runs first, to look at what the main step left while it is still there.
   */
  killMain?: { when: RegExp; signal: NodeJS.Signals; before?: () => void }
  /**
   * Another action's directory (its action.yml, `runs.main` and `runs.post`), e.g. a peer's
   * released bundle for a benchmark; default this repository.
   */
  action?: string
}

interface ManifestInput {
  default?: string
}

interface Manifest {
  inputs: Record<string, ManifestInput>
  runs: { main: string; post?: string }
}

function readManifest(dir: string): Manifest {
  return parseYaml(readFileSync(join(dir, 'action.yml'), 'utf8')) as Manifest
}

/**
 * Inputs declared in action.yml with their defaults, `${{ github.token }}` evaluated;
 * `buildkit-image` defaults to GIA_BUILDKIT_IMAGE when set (the bench's local BuildKit image: no
 * registry here serves moby/buildkit).
 */
export function manifestInputs(githubToken: string, dir = ROOT): Record<string, string> {
  const manifest = readManifest(dir)
  const out: Record<string, string> = {}
  for (const [name, spec] of Object.entries(manifest.inputs)) {
    const def = spec.default ?? ''
    out[name] = def === '${{ github.token }}' ? githubToken : def
  }
  if (dir === ROOT && process.env['GIA_BUILDKIT_IMAGE'])
    out['buildkit-image'] = process.env['GIA_BUILDKIT_IMAGE']
  return out
}

/** Runs main and then post, the way the runner does. */
export async function runAction(opts: RunActionOptions): Promise<ActionRun> {
  const temp = mkdtempSync(join(tmpdir(), 'gia-runner-'))
  const workspace = opts.workspace ?? mkdirp(join(temp, 'workspace'))
  const runnerTemp = mkdirp(join(temp, 'runner-temp'))
  const eventPath = join(runnerTemp, '_github_workflow', 'event.json')
  mkdirp(dirname(eventPath))
  writeFileSync(eventPath, JSON.stringify(opts.payload))

  const githubToken = opts.githubToken ?? `ghs_harness${randomUUID().replace(/-/g, '')}`
  const actionDir = opts.action ?? ROOT
  const inputs = { ...manifestInputs(githubToken, actionDir), ...(opts.inputs ?? {}) }
  const base = runnerEnv({
    eventName: opts.eventName,
    eventPath,
    workspace,
    runnerTemp,
    toolCache: mkdirp(join(temp, 'toolcache')),
    env: opts.env
  })
  for (const [name, value] of Object.entries(inputs)) base[inputEnvName(name)] = value
  base['GITHUB_ACTION'] = 'go-image-action'
  base['GITHUB_ACTION_PATH'] = actionDir
  Object.assign(base, opts.env ?? {}) // the caller's env wins, as before inputs were added

  const log: string[] = []
  const runs = readManifest(actionDir).runs
  const main = await runStep(join(actionDir, runs.main), base, temp, workspace, opts, log)
  let post: StepResult | undefined
  if (opts.post !== false && runs.post) {
    const postEnv = { ...base }
    for (const [k, v] of Object.entries(main.state)) postEnv[`STATE_${k}`] = v
    post = await runStep(join(actionDir, runs.post), postEnv, temp, workspace, opts, log, 'post')
  }
  return { main, post, failed: main.exitCode !== 0, log: log.join('') }
}

/** The environment variable the runner gives an input: `INPUT_<NAME>`, spaces as `_`. */
export function inputEnvName(name: string): string {
  return `INPUT_${name.replace(/ /g, '_').toUpperCase()}`
}

/** Where a job runs: its event, workspace and runner directories, and extra env. */
export interface RunnerEnvOptions {
  eventName: string
  eventPath: string
  workspace: string
  runnerTemp: string
  toolCache: string
  /** Added last: GITHUB_REF, GITHUB_SHA, ACTIONS_* for the cache, ... */
  env?: Record<string, string>
}

/**
 * The environment the runner gives every step of a job: this process's env without any runner
 * variable of its own (INPUT_*, GITHUB_*, RUNNER_*, ACTIONS_*, STATE_*, Jest's), then the
 * GITHUB_* and RUNNER_* of a job of octo-org/octo-repo, then `env`.
 */
export function runnerEnv(o: RunnerEnvOptions): Record<string, string> {
  const base: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || /^(INPUT_|GITHUB_|RUNNER_|ACTIONS_|STATE_)/.test(k)) continue
    if (k === 'NODE_OPTIONS' || k.startsWith('JEST_') || k === 'NODE_ICU_DATA') continue
    base[k] = v
  }
  const repo = 'octo-org/octo-repo'
  Object.assign(base, {
    GITHUB_ACTIONS: 'true',
    CI: 'true',
    GITHUB_EVENT_NAME: o.eventName,
    GITHUB_EVENT_PATH: o.eventPath,
    GITHUB_WORKSPACE: o.workspace,
    GITHUB_REPOSITORY: repo,
    GITHUB_REPOSITORY_OWNER: repo.split('/')[0],
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_API_URL: 'https://api.github.com',
    GITHUB_RUN_ID: '1',
    GITHUB_RUN_NUMBER: '1',
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_ACTOR: 'octocat',
    GITHUB_JOB: 'build',
    RUNNER_OS: 'Linux',
    RUNNER_ARCH: process.arch === 'arm64' ? 'ARM64' : 'X64',
    RUNNER_TEMP: o.runnerTemp,
    RUNNER_TOOL_CACHE: o.toolCache,
    ...(o.env ?? {})
  })
  return base
}

/** Fresh, empty file-command files (GITHUB_OUTPUT, GITHUB_ENV, ...) in `dir`. */
export function fileCommandFiles(dir: string): Record<FileCommand, string> {
  mkdirp(dir)
  const files = {
    GITHUB_OUTPUT: join(dir, `set_output_${randomUUID()}`),
    GITHUB_ENV: join(dir, `set_env_${randomUUID()}`),
    GITHUB_PATH: join(dir, `add_path_${randomUUID()}`),
    GITHUB_STATE: join(dir, `save_state_${randomUUID()}`),
    GITHUB_STEP_SUMMARY: join(dir, `step_summary_${randomUUID()}`)
  }
  for (const f of Object.values(files)) writeFileSync(f, '')
  return files
}

export type FileCommand =
  'GITHUB_OUTPUT' | 'GITHUB_ENV' | 'GITHUB_PATH' | 'GITHUB_STATE' | 'GITHUB_STEP_SUMMARY'

/** What a step left in its file-command files and on stdout. */
export function stepResult(
  files: Record<FileCommand, string>,
  exitCode: number,
  stdout: string,
  stderr: string
): StepResult {
  return {
    exitCode,
    stdout,
    stderr,
    outputs: parseFileCommand(readFileSync(files.GITHUB_OUTPUT, 'utf8'), 'GITHUB_OUTPUT'),
    state: parseFileCommand(readFileSync(files.GITHUB_STATE, 'utf8'), 'GITHUB_STATE'),
    env: parseFileCommand(readFileSync(files.GITHUB_ENV, 'utf8'), 'GITHUB_ENV'),
    path: readFileSync(files.GITHUB_PATH, 'utf8').split('\n').filter(Boolean),
    summary: readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8'),
    annotations: parseCommands(stdout).filter(c =>
      ['error', 'warning', 'notice'].includes(c.command)
    ),
    masks: parseCommands(stdout)
      .filter(c => c.command === 'add-mask')
      .map(c => c.message)
  }
}

async function runStep(
  entry: string,
  env: Record<string, string>,
  temp: string,
  workspace: string,
  opts: RunActionOptions,
  log: string[],
  which: 'main' | 'post' = 'main'
): Promise<StepResult> {
  const files = fileCommandFiles(join(temp, `_runner_file_commands_${which}`))
  const { exitCode, stdout, stderr } = await spawnNode(
    entry,
    { ...env, ...files },
    workspace,
    opts,
    log,
    which === 'main' ? opts.killMain : undefined
  )
  return stepResult(files, exitCode, stdout, stderr)
}

/**
 * Under GIA_JOB_STAMPS=1 (the benches' kept logs), each line of `chunk` begins with this
 * process's clock in seconds, `[12.34] `; otherwise `chunk` as it is.
 */
export function stampLines(chunk: string): string {
  if (!process.env['GIA_JOB_STAMPS']) return chunk
  return chunk.replace(/^(?=.)/gm, `[${(performance.now() / 1000).toFixed(2)}] `)
}

/** Spawns `node24 entry` as the runner spawns a JavaScript action's step. */
export function spawnNode(
  entry: string,
  env: Record<string, string>,
  cwd: string,
  opts: RunActionOptions,
  log: string[],
  kill?: RunActionOptions['killMain']
): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(NODE24, [entry], {
      cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: kill !== undefined
    })
    let stdout = ''
    let stderr = ''
    let killed = false
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20 * 60_000)
    const seen = (chunk: string): void => {
      log.push(chunk)
      opts.onOutput?.(stampLines(chunk))
      if (kill && !killed && kill.when.test(stdout + stderr)) {
        killed = true
        kill.before?.()
        process.kill(-(child.pid as number), kill.signal)
      }
    }
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString()
      seen(d.toString())
    })
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString()
      seen(d.toString())
    })
    child.on('error', reject)
    child.on('close', code => {
      clearTimeout(timer)
      resolvePromise({ exitCode: code ?? 1, stdout, stderr })
    })
  })
}

/**
 * Parses a GITHUB_OUTPUT / GITHUB_ENV / GITHUB_STATE file with the runner's rules
 * (runner-protocol.md §4.2), throwing on anything the runner would reject.
 */
export function parseFileCommand(text: string, name: string): Record<string, string> {
  const out: Record<string, string> = {}
  const lines = text.split('\n')
  if (lines[lines.length - 1] === '') lines.pop()
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]
    if (line === '') continue
    const eq = line.indexOf('=')
    const heredoc = line.indexOf('<<')
    if (eq >= 0 && (heredoc < 0 || eq < heredoc)) {
      const key = line.slice(0, eq)
      if (!key) throw new Error(`${name}: invalid format '${line}'`)
      out[key] = line.slice(eq + 1)
      continue
    }
    if (heredoc < 0) throw new Error(`${name}: invalid format '${line}'`)
    const key = line.slice(0, heredoc)
    const delim = line.slice(heredoc + 2)
    if (!key || !delim) {
      throw new Error(
        `${name}: Invalid format '${line}'. Name must not be empty and delimiter must not be empty`
      )
    }
    const value: string[] = []
    let closed = false
    for (i++; i < lines.length; i++) {
      if (lines[i] === delim) {
        closed = true
        break
      }
      value.push(lines[i])
    }
    if (!closed) throw new Error(`${name}: Invalid value. Matching delimiter not found '${delim}'`)
    out[key] = value.join('\n')
  }
  return out
}

/**
 * The workflow commands the runner acts on in stdout, escapes decoded, read as the runner reads
 * them (runner-protocol.md §5): `\r\n`, `\n` and `\r` end a line, leading whitespace is
 * dropped, the legacy `##[name k=v;]message` form counts, and between `::stop-commands::TOKEN`
 * and a line `::TOKEN::` no line is a command (the stop and resume lines are not listed).
 */
export function parseCommands(stdout: string): WorkflowCommand[] {
  const out: WorkflowCommand[] = []
  let stopToken: string | undefined
  for (const raw of stdout.split(/\r\n|\r|\n/)) {
    const line = raw.trim()
    if (stopToken !== undefined) {
      if (line === `::${stopToken}::`) stopToken = undefined
      continue
    }
    const m = /^::([A-Za-z-]+)(?: ([^:]*))?::(.*)$/.exec(line)
    if (m) {
      if (m[1] === 'stop-commands') {
        stopToken = m[3]
        continue
      }
      const properties: Record<string, string> = {}
      for (const pair of (m[2] ?? '').split(',').filter(Boolean)) {
        const eq = pair.indexOf('=')
        properties[pair.slice(0, eq)] = unescape(pair.slice(eq + 1), true)
      }
      out.push({ command: m[1], properties, message: unescape(m[3], false) })
      continue
    }
    const legacy = /^##\[([A-Za-z-]+)(?: ([^\]]*))?\](.*)$/.exec(line)
    if (legacy) {
      const properties: Record<string, string> = {}
      for (const pair of (legacy[2] ?? '').split(';').filter(Boolean)) {
        const eq = pair.indexOf('=')
        properties[pair.slice(0, eq)] = pair.slice(eq + 1)
      }
      out.push({ command: legacy[1], properties, message: legacy[3] })
    }
  }
  return out
}

function unescape(s: string, property: boolean): string {
  let r = s.replace(/%0D/g, '\r').replace(/%0A/g, '\n')
  if (property) r = r.replace(/%3A/g, ':').replace(/%2C/g, ',')
  return r.replace(/%25/g, '%')
}

function mkdirp(p: string): string {
  mkdirSync(p, { recursive: true })
  return p
}

/**
 * What a run's `metadata` output says of it, for the benchmarks: the seconds of each stage that
 * ran, and how many platform smoke tests passed (none when the run failed before writing it).
 */
export function stagesAndSmoke(run: ActionRun): {
  stages: Record<string, number>
  smokeOk: number
} {
  try {
    const meta = JSON.parse(run.main.outputs['metadata'] ?? '{}') as {
      stages?: { stage: string; ms: number; status: string }[]
      images?: { platformResults?: { smoke?: { ok: boolean } }[] }[]
    }
    return {
      stages: Object.fromEntries(
        (meta.stages ?? []).filter(s => s.status !== 'skipped').map(s => [s.stage, s.ms / 1000])
      ),
      smokeOk: (meta.images ?? []).flatMap(i => i.platformResults ?? []).filter(p => p.smoke?.ok)
        .length
    }
  } catch {
    /* no metadata: the run failed early */
    return { stages: {}, smokeOk: 0 }
  }
}

/** The log of one image's `docker buildx build`, from its command line to the next command. */
export function buildLog(r: ActionRun, image: string): string {
  const start = r.main.stdout.search(
    new RegExp(
      `^\\[command\\]\\S*docker buildx build .*--tag ${image.replace(/[.]/g, '\\.')}:`,
      'm'
    )
  )
  if (start < 0) throw new Error(`no build of ${image} in the log`)
  const rest = r.main.stdout.slice(start + 1)
  const end = rest.search(/^(\[command\]|::endgroup::)/m)
  return end < 0 ? rest : rest.slice(0, end)
}
