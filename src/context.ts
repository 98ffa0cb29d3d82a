import { readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'

/** The GitHub context the action works from, as the runner hands it over. */
export interface GitHubContext {
  eventName: string
  /** The webhook payload (GITHUB_EVENT_PATH), `{}` when there is none. */
  payload: Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any
  sha: string
  ref: string
  repository: string
  serverUrl: string
  actor: string
  workspace: string
  runId: string
  /** RUNNER_ARCH (X64, ARM64, ...), empty when unknown. */
  runnerArch: string
  /** RUNNER_TEMP: the job's own temporary directory (the system's when unset). */
  runnerTemp: string
}

/**
 * Reads the GitHub context from the environment the runner sets (GITHUB_*, RUNNER_*), the way
 * @actions/github's `context` does.
 * @param env the process environment
 */
export function readContext(env: NodeJS.ProcessEnv): GitHubContext {
  const eventPath = env['GITHUB_EVENT_PATH']
  let payload: Record<string, unknown> = {}
  if (eventPath) {
    try {
      payload = JSON.parse(readFileSync(eventPath, 'utf8')) as Record<string, unknown>
    } catch (e) {
      throw new Error(
        `GITHUB_EVENT_PATH: cannot read the event payload ${eventPath}: ${(e as Error).message}`
      )
    }
  }
  return {
    eventName: env['GITHUB_EVENT_NAME'] ?? '',
    payload,
    sha: env['GITHUB_SHA'] ?? '',
    ref: env['GITHUB_REF'] ?? '',
    repository: env['GITHUB_REPOSITORY'] ?? '',
    serverUrl: (env['GITHUB_SERVER_URL'] || 'https://github.com').replace(/\/+$/, ''),
    actor: env['GITHUB_ACTOR'] ?? '',
    workspace: env['GITHUB_WORKSPACE'] || process.cwd(),
    runId: env['GITHUB_RUN_ID'] ?? '',
    runnerArch: env['RUNNER_ARCH'] ?? '',
    runnerTemp: env['RUNNER_TEMP'] || tmpdir()
  }
}
