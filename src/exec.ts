import { spawn } from 'node:child_process'
import { constants, EOL } from 'node:os'
import { DOCKER_CONTROL_TIMEOUT_S, dockerBound } from './docker/timeouts.js'
import { controlCharProblem } from './inputSchema.js'
import { processEnv, processKind, runsRepositoryCode } from './processEnv.js'
import { openFence, writeFenced } from './util/fence.js'
import { signalTree } from './util/processTree.js'

/** The result of a finished command. */
export interface ExecResult {
  exitCode: number
  stdout: string
  stderr: string
  /** The command was stopped at its timeoutSeconds. */
  timedOut?: boolean
}

/** Options of run(). */
export interface RunOptions {
  cwd?: string
  /**
   * Variables set on top of the environment the command's kind gets (src/processEnv.ts decides
   * that environment from the command; it never simply inherits the action's).
   */
  env?: Record<string, string>
  /** Text written to the command's standard input (passwords go here, never in arguments). */
  input?: string
  /** Do not echo the command and its output to the log. */
  silent?: boolean
  /** Return a failed result instead of throwing. */
  allowFailure?: boolean
  /** Called with every chunk of stdout and stderr as it arrives (to act on output while the
   * command runs). */
  onOutput?: (chunk: string) => void
  /**
   * Stop the command after this many seconds: SIGTERM to its whole process tree (docker and its
   * buildx plugin alike), SIGKILL 10 s later. A docker command without one gets the control-call
   * bound (src/docker/timeouts.ts): no docker call is unbounded.
   */
  timeoutSeconds?: number
  /** What to raise when the timeout is too short (e.g. "the build-timeout input"), for the error. */
  timeoutRaise?: string
  /**
   * Print the output in a fence (src/util/fence.ts): by default for the processes that run or
   * build the repository's code (go, gofmt, `docker buildx build`).
   */
  fenced?: boolean
  /**
   * For a command run beside another whose log comes first: its echo (the command line, then its
   * output) is held until this settles; `true` prints what was held and streams the rest, `false`
   * prints nothing of it. run() resolves only once it has settled.
   */
  echoAfter?: Promise<boolean>
  /** Stops the command when aborted: SIGTERM to its whole process tree, SIGKILL 10 s later. */
  signal?: AbortSignal
}

/** A command stopped at its timeout; the message names it and what to raise. */
export class CommandTimeoutError extends Error {
  constructor(
    readonly call: string,
    readonly seconds: number,
    raise?: string
  ) {
    super(
      `${call} did not finish in ${seconds} s and was stopped${raise ? ` (raise ${raise} if it needs longer)` : ''}`
    )
    this.name = 'CommandTimeoutError'
  }
}

/** The bound of a command: its own, or the control-call bound for docker. */
function boundOf(command: string, opts: RunOptions): number | undefined {
  if (opts.timeoutSeconds !== undefined) return opts.timeoutSeconds
  return command === 'docker' ? dockerBound(DOCKER_CONTROL_TIMEOUT_S) : undefined
}

const osSignals = constants.signals as Record<string, number>

/** The grace between SIGTERM and SIGKILL of a command stopped at its timeout. */
const KILL_AFTER_MS = 10_000

/**
 * Spawns a command (its own stdio pipes, no shell) and resolves with its exit code once it and
 * its output are done; at `seconds`, its whole process tree is stopped. A command that cannot be
 * started resolves with 127, as a shell would say.
 */
function spawnBounded(
  command: string,
  args: string[],
  opts: {
    cwd?: string
    env: Record<string, string>
    input?: string
    seconds?: number
    signal?: AbortSignal
    onChunk: (chunk: string, stream: 'stdout' | 'stderr') => void
  }
): Promise<{ exitCode: number; timedOut: boolean }> {
  return new Promise(resolve => {
    const child = spawn(command, args, { cwd: opts.cwd, env: opts.env, stdio: 'pipe' })
    let timedOut = false
    const timers: NodeJS.Timeout[] = []
    const pid = child.pid
    const stop = (): void => {
      if (pid === undefined) return
      signalTree(pid, 'SIGTERM')
      timers.push(setTimeout(() => signalTree(pid, 'SIGKILL'), KILL_AFTER_MS))
    }
    if (opts.seconds !== undefined)
      timers.push(
        setTimeout(() => {
          timedOut = true
          stop()
        }, opts.seconds * 1000)
      )
    if (opts.signal?.aborted) stop()
    else opts.signal?.addEventListener('abort', stop, { once: true })
    // decoded as UTF-8 across chunk boundaries
    child.stdout.setEncoding('utf8')
    child.stderr.setEncoding('utf8')
    child.stdout.on('data', (d: string) => opts.onChunk(d, 'stdout'))
    child.stderr.on('data', (d: string) => opts.onChunk(d, 'stderr'))
    child.stdin.on('error', () => undefined)
    child.stdin.end(opts.input ?? '')
    child.on('error', (e: Error) => {
      opts.onChunk(`${command}: ${e.message}\n`, 'stderr')
    })
    child.on('close', (code, signal) => {
      for (const t of timers) clearTimeout(t)
      opts.signal?.removeEventListener('abort', stop)
      // a command that could not start closes with a negative errno
      const exitCode = code === null ? 128 + (osSignals[signal ?? ''] ?? 0) : code < 0 ? 127 : code
      resolve({ exitCode, timedOut })
    })
  })
}

/**
 * How run() echoes a command to the log: its line, then its output as it comes (fenced when
 * `fenced`); nothing when silent; held until `echoAfter` says whether to print it. `end` closes
 * the fence, once the hold has settled.
 */
function commandEcho(
  line: string,
  opts: Pick<RunOptions, 'silent' | 'fenced' | 'echoAfter'>,
  repositoryCode: boolean
): { print: (chunk: string) => void; end: () => Promise<void> } {
  if (opts.silent) return { print: () => undefined, end: () => Promise.resolve() }
  let close: (() => void) | undefined
  let held: string[] | undefined
  const start = (): void => {
    process.stdout.write(`[command]${line}${EOL}`)
    if (opts.fenced ?? repositoryCode) close = openFence()
  }
  const write = (chunk: string): void => {
    if (close) writeFenced(chunk)
    else process.stdout.write(chunk)
  }
  let settled: Promise<void> = Promise.resolve()
  if (opts.echoAfter) {
    const h: string[] = []
    held = h
    settled = opts.echoAfter.then(
      go => {
        held = undefined
        if (!go) return void (held = [])
        start()
        for (const chunk of h) write(chunk)
      },
      () => void (held = [])
    )
  } else start()
  return {
    print: chunk => {
      if (held) held.push(chunk)
      else write(chunk)
    },
    end: async () => {
      await settled
      close?.()
    }
  }
}

/**
 * The one wrapper around child processes: an argument array (never a shell), an environment chosen
 * by the kind of process (processEnv), a bound on its time (docker always has one), output
 * captured and echoed (fenced when repository code prints it), and an Error built from stderr
 * when the command fails (unless allowFailure). An argument with a control character is refused:
 * it would print as lines of their own where the command is echoed to the log.
 */
export async function run(
  command: string,
  args: string[],
  opts: RunOptions = {}
): Promise<ExecResult> {
  const bad = args.findIndex(a => controlCharProblem(a) !== undefined)
  if (bad >= 0)
    throw new Error(`${command} ${args[0] ?? ''}: argument ${bad + 1} contains a control character`)
  const kind = processKind(command, args)
  const env = processEnv(kind, process.env, opts.env)
  const seconds = boundOf(command, opts)
  const call = `${command} ${args.slice(0, command === 'docker' && args[0] === 'buildx' ? 2 : 1).join(' ')}`
  let stdout = ''
  let stderr = ''
  const echo = commandEcho(`${command} ${args.join(' ')}`, opts, runsRepositoryCode(kind))
  let exitCode: number
  let timedOut = false
  try {
    ;({ exitCode, timedOut } = await spawnBounded(command, args, {
      cwd: opts.cwd,
      env,
      input: opts.input,
      seconds,
      signal: opts.signal,
      onChunk: (chunk, stream) => {
        if (stream === 'stdout') stdout += chunk
        else stderr += chunk
        echo.print(chunk)
        opts.onOutput?.(chunk)
      }
    }))
  } finally {
    await echo.end()
  }
  if (timedOut && !opts.allowFailure)
    throw new CommandTimeoutError(call, seconds as number, opts.timeoutRaise)
  if (exitCode !== 0 && !opts.allowFailure) {
    const detail = (stderr.trim() || stdout.trim()).split('\n').slice(-20).join('\n')
    throw new Error(
      `${command} ${args[0] ?? ''} failed with exit code ${exitCode}${detail ? `:\n${detail}` : ''}`
    )
  }
  return { exitCode, stdout, stderr, timedOut }
}
