import { readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { controlCharProblem } from './inputSchema.js'

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
  const v = (name: string): string => oneLineEnv(env, name)
  const repository = v('GITHUB_REPOSITORY')
  if (repository && !/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(repository))
    throw new Error(`GITHUB_REPOSITORY: '${repository}' is not owner/name`)
  const serverUrl = (v('GITHUB_SERVER_URL') || 'https://github.com').replace(/\/+$/, '')
  if (!/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/.test(serverUrl))
    throw new Error(`GITHUB_SERVER_URL: '${serverUrl}' is not an http(s) URL`)
  return {
    eventName: v('GITHUB_EVENT_NAME'),
    payload,
    sha: v('GITHUB_SHA'),
    ref: v('GITHUB_REF'),
    repository,
    serverUrl,
    actor: v('GITHUB_ACTOR'),
    workspace: v('GITHUB_WORKSPACE') || process.cwd(),
    runId: v('GITHUB_RUN_ID'),
    runnerArch: v('RUNNER_ARCH'),
    runnerTemp: v('RUNNER_TEMP') || tmpdir()
  }
}

/** A variable of the runner's environment, refused when it holds a control character. */
function oneLineEnv(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name] ?? ''
  const problem = controlCharProblem(value)
  if (problem) throw new Error(`${name}: ${JSON.stringify(value)} ${problem}`)
  return value
}
