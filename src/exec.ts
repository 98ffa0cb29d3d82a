import * as exec from '@actions/exec'
import { controlCharProblem } from './inputSchema.js'
import { processEnv, processKind } from './processEnv.js'

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
   * Stop the command after this many seconds (coreutils `timeout`, then SIGKILL 10 s later): for
   * commands that talk to a registry or the daemon and could otherwise hang the run.
   */
  timeoutSeconds?: number
}

/**
 * The one wrapper around @actions/exec: an argument array (never a shell), an environment chosen
 * by the kind of process (processEnv), output captured, and an Error built from stderr when the
 * command fails (unless allowFailure). An argument with a control character is refused: it would
 * print as lines of their own where the command is echoed to the log.
 */
export async function run(
  command: string,
  args: string[],
  opts: RunOptions = {}
): Promise<ExecResult> {
  const bad = args.findIndex(a => controlCharProblem(a) !== undefined)
  if (bad >= 0)
    throw new Error(`${command} ${args[0] ?? ''}: argument ${bad + 1} contains a control character`)
  const env = processEnv(processKind(command, args), process.env, opts.env)
  let stdout = ''
  let stderr = ''
  const limited = opts.timeoutSeconds !== undefined
  const argv = limited ? ['--kill-after=10', String(opts.timeoutSeconds), command, ...args] : args
  const exitCode = await exec.exec(limited ? 'timeout' : command, argv, {
    cwd: opts.cwd,
    env,
    input: opts.input === undefined ? undefined : Buffer.from(opts.input),
    silent: opts.silent ?? false,
    ignoreReturnCode: true,
    listeners: {
      stdout: (data: Buffer) => {
        stdout += data.toString()
        opts.onOutput?.(data.toString())
      },
      stderr: (data: Buffer) => {
        stderr += data.toString()
        opts.onOutput?.(data.toString())
      }
    }
  })
  // coreutils timeout: 124 when it stopped the command, 137 when it had to kill it
  const timedOut = limited && (exitCode === 124 || exitCode === 137)
  if (timedOut && !opts.allowFailure) {
    throw new Error(
      `${command} ${args[0] ?? ''} did not finish in ${opts.timeoutSeconds} s and was stopped`
    )
  }
  if (exitCode !== 0 && !opts.allowFailure) {
    const detail = (stderr.trim() || stdout.trim()).split('\n').slice(-20).join('\n')
    throw new Error(
      `${command} ${args[0] ?? ''} failed with exit code ${exitCode}${detail ? `:\n${detail}` : ''}`
    )
  }
  return { exitCode, stdout, stderr, timedOut }
}
