/**
 * Runs workflows under nektos/act, a runner nobody here wrote (scripts/tools.sh installs the
 * pinned version), on this host: `-P ubuntu-latest=-self-hosted` runs the job's steps as host
 * processes, so no image is pulled. Nothing is fetched: the workflows use only `uses: ./` and
 * `run:`, `--action-offline-mode` and `--pull=false` are set, act's version check is off
 * (ACT_DISABLE_VERSION_CHECK), and HOME/XDG dirs are the test's own, so no ~/.actrc applies.
 * act's own cache server (the one its users get) serves the Actions cache; with `artifactServer`
 * act also starts its artifact server and sets ACTIONS_RUNTIME_TOKEN.
 *
 * act writes JSON log lines (`--json`); they are read back into steps: each step's printed lines,
 * result, outputs, annotations and the job summary act read after it.
 */
import { execFileSync, spawn } from 'node:child_process'
import { cpSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { NODE24, ROOT } from './runner.js'

/** One step of the job, in one stage (`Main` or `Post`). */
export interface ActStep {
  stage: string
  /** The step's id (`id:`, or its index). */
  id: string
  /** `success`, `failure` or `skipped`; undefined when act never reported one. */
  result?: string
  /** What the step printed (its output lines, workflow commands excluded). */
  output: string
  /** Outputs it set. */
  outputs: Record<string, string>
  /** The job summary act read after the step, if any. */
  summary?: string
  /** ::error / ::warning / ::notice messages. */
  annotations: { command: string; message: string }[]
}

/** What one `act` invocation did. */
export interface ActRun {
  exitCode: number
  /** `success` or `failure`. */
  jobResult?: string
  /** By `${stage}:${id}`, e.g. `Main:gia`, `Post:gia`. */
  steps: Record<string, ActStep>
  /** act's debug lines (with `verbose`): its cache server's requests among them. */
  debug: string[]
  /** Every line act wrote, for failure messages. */
  log: string
}

/** The path of the pinned act binary; an error saying how to get it when it is missing. */
export function actBinary(): string {
  try {
    return execFileSync('bash', [join(ROOT, 'scripts/tools.sh'), '--path', 'act'], {
      encoding: 'utf8'
    }).trim()
  } catch {
    throw new Error('nektos/act is not installed at its pinned version: run scripts/tools.sh act')
  }
}

/**
 * A git repository holding the action (action.yml, dist/), the examples and `workflows`
 * (file name -> text) under .github/workflows, committed, with an `origin` that names
 * octo-org/octo-repo (act reads GITHUB_REPOSITORY from it; nothing is fetched). Returns its HEAD.
 */
export function actRepo(dir: string, workflows: Record<string, string>): string {
  mkdirSync(join(dir, '.github', 'workflows'), { recursive: true })
  cpSync(join(ROOT, 'action.yml'), join(dir, 'action.yml'))
  cpSync(join(ROOT, 'dist'), join(dir, 'dist'), { recursive: true })
  cpSync(join(ROOT, 'examples'), join(dir, 'examples'), { recursive: true })
  for (const [name, text] of Object.entries(workflows))
    writeFileSync(join(dir, '.github', 'workflows', name), text)
  const git = (...args: string[]): string =>
    execFileSync('git', args, {
      cwd: dir,
      encoding: 'utf8',
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: 'octocat',
        GIT_AUTHOR_EMAIL: 'octocat@example.com',
        GIT_COMMITTER_NAME: 'octocat',
        GIT_COMMITTER_EMAIL: 'octocat@example.com',
        GIT_AUTHOR_DATE: '2024-05-01T12:00:00Z',
        GIT_COMMITTER_DATE: '2024-05-01T12:00:00Z'
      }
    }).trim()
  git('init', '--quiet', '--initial-branch=main')
  git('remote', 'add', 'origin', 'https://github.com/octo-org/octo-repo.git')
  git('add', '--all')
  git('commit', '--quiet', '--message', 'the action and its examples')
  return git('rev-parse', 'HEAD')
}

/** How to run act once. */
export interface ActOptions {
  act: string
  /** The repository (actRepo), act's working directory. */
  repo: string
  event: string
  payload: object
  /** The workflow file under .github/workflows. */
  workflow: string
  /** A directory of the test's own: HOME, act's caches, the event file. */
  home: string
  /** act's cache server storage (its --cache-server-path); shared by runs that share a cache. */
  cacheDir: string
  /** Start act's artifact server too (then act sets ACTIONS_RUNTIME_TOKEN). */
  artifactServer?: boolean
  /** Variables for the job (act --env). */
  env?: Record<string, string>
  /** act --verbose: its debug lines, with its cache server's requests. */
  verbose?: boolean
  timeoutMs?: number
}

/** Runs one workflow under act and reads its JSON log back. */
export async function runAct(o: ActOptions): Promise<ActRun> {
  const nodeDir = join(o.home, 'node24')
  mkdirSync(nodeDir, { recursive: true })
  try {
    symlinkSync(NODE24, join(nodeDir, 'node'))
  } catch {
    // already there
  }
  const eventFile = join(o.home, `${o.event}-${Date.now()}.json`)
  writeFileSync(eventFile, JSON.stringify(o.payload))
  const args = [
    o.event,
    '--json',
    '--workflows',
    join('.github', 'workflows', o.workflow),
    '--eventpath',
    eventFile,
    '-P',
    'ubuntu-latest=-self-hosted',
    '--pull=false',
    '--action-offline-mode',
    '--cache-server-path',
    o.cacheDir,
    '--cache-server-addr',
    '127.0.0.1'
  ]
  if (o.artifactServer) {
    args.push(
      '--artifact-server-path',
      join(o.home, 'artifacts'),
      '--artifact-server-addr',
      '127.0.0.1',
      '--artifact-server-port',
      String(await freePort())
    )
  }
  if (o.verbose) args.push('--verbose')
  for (const [k, v] of Object.entries(o.env ?? {})) args.push('--env', `${k}=${v}`)

  // act hands its own environment to host steps: give it the machine's, without this process's
  // runner and test variables
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || /^(INPUT_|GITHUB_|RUNNER_|ACTIONS_|STATE_|JEST_)/.test(k)) continue
    if (k === 'NODE_OPTIONS' || k === 'CI') continue
    env[k] = v
  }
  Object.assign(env, {
    HOME: o.home,
    XDG_CONFIG_HOME: join(o.home, '.config'),
    XDG_CACHE_HOME: join(o.home, '.cache'),
    ACT_DISABLE_VERSION_CHECK: '1',
    // Node 24 first, as a runner's node24 (the machine's node may be older)
    PATH: `${nodeDir}:${process.env['PATH'] ?? ''}`
  })
  const { exitCode, text } = await spawnAct(o.act, args, o.repo, env, o.timeoutMs ?? 20 * 60_000)
  return parseActLog(text, exitCode)
}

function spawnAct(
  act: string,
  args: string[],
  cwd: string,
  env: Record<string, string>,
  timeoutMs: number
): Promise<{ exitCode: number; text: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(act, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
    const chunks: string[] = []
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.stdout.on('data', (d: Buffer) => chunks.push(d.toString()))
    child.stderr.on('data', (d: Buffer) => chunks.push(d.toString()))
    child.on('error', reject)
    child.on('close', code => {
      clearTimeout(timer)
      resolvePromise({ exitCode: code ?? 1, text: chunks.join('') })
    })
  })
}

interface ActLine {
  msg?: string
  level?: string
  stage?: string
  stepID?: string[]
  stepResult?: string
  jobResult?: string
  raw_output?: boolean
  command?: string
  name?: string
  arg?: string
  content?: string
}

/** act's `--json` log, read into steps. */
export function parseActLog(text: string, exitCode: number): ActRun {
  const run: ActRun = { exitCode, steps: {}, debug: [], log: text }
  for (const line of text.split('\n')) {
    let j: ActLine
    try {
      j = JSON.parse(line) as ActLine
    } catch {
      continue
    }
    if (j.jobResult) run.jobResult = j.jobResult
    if (j.level === 'debug') {
      run.debug.push(j.msg ?? '')
      continue
    }
    if (!j.stage || !j.stepID?.length) continue
    const key = `${j.stage}:${j.stepID[0]}`
    const step = (run.steps[key] ??= {
      stage: j.stage,
      id: j.stepID[0],
      output: '',
      outputs: {},
      annotations: []
    })
    if (j.stepResult) step.result = j.stepResult
    if (j.raw_output) step.output += j.msg ?? ''
    if (j.command === 'set-output' && j.name) step.outputs[j.name] = j.arg ?? ''
    if (j.command === 'summary') step.summary = j.content
    if (j.command && ['error', 'warning', 'notice'].includes(j.command))
      step.annotations.push({ command: j.command, message: j.arg ?? '' })
  }
  return run
}

function freePort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const server = createServer()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolvePromise(port))
    })
  })
}
