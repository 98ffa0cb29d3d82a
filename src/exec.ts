import * as exec from '@actions/exec'

/** The result of a finished command. */
export interface ExecResult {
  exitCode: number
  stdout: string
  stderr: string
}

/** Options of run(). */
export interface RunOptions {
  cwd?: string
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
}

/**
 * The one wrapper around @actions/exec: an argument array (never a shell), output captured, and
 * an Error built from stderr when the command fails (unless allowFailure).
 */
export async function run(
  command: string,
  args: string[],
  opts: RunOptions = {}
): Promise<ExecResult> {
  let stdout = ''
  let stderr = ''
  const exitCode = await exec.exec(command, args, {
    cwd: opts.cwd,
    env: opts.env ? { ...(process.env as Record<string, string>), ...opts.env } : undefined,
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
  if (exitCode !== 0 && !opts.allowFailure) {
    const detail = (stderr.trim() || stdout.trim()).split('\n').slice(-20).join('\n')
    throw new Error(
      `${command} ${args[0] ?? ''} failed with exit code ${exitCode}${detail ? `:\n${detail}` : ''}`
    )
  }
  return { exitCode, stdout, stderr }
}
