import * as core from '@actions/core'
import { run } from '../exec.js'

/** State key of the registries logged in to, for logout in the post step. */
export const LOGINS_STATE = 'logins'

/** Credentials for the login stage. */
export interface Credentials {
  username: string
  password: string
  actor: string
  githubToken: string
}

/**
 * Which registries to log in to and as whom: with registry-username/-password every distinct
 * registry of the images; without them ghcr.io with the actor and github-token when pushing;
 * none when the run gets no secrets (`secretsWithheld`: a fork's or Dependabot's pull request,
 * whose credential inputs are empty or must not be used).
 * Pure; passwords are never part of the returned command.
 */
export function loginTargets(
  registries: string[],
  creds: Credentials,
  push: boolean,
  secretsWithheld?: string
): { registry: string; username: string; password: string }[] {
  if (secretsWithheld) return []
  if (creds.username || creds.password) {
    if (!creds.username || !creds.password) {
      throw new Error('registry-username and registry-password go together: one of them is empty')
    }
    return registries.map(registry => ({
      registry,
      username: creds.username,
      password: creds.password
    }))
  }
  if (push && registries.includes('ghcr.io') && creds.githubToken) {
    return [
      {
        registry: 'ghcr.io',
        username: creds.actor || 'github-actions',
        password: creds.githubToken
      }
    ]
  }
  return []
}

/**
 * `docker login --password-stdin` to each target. The password goes on stdin, never on the
 * command line; it is masked before anything runs.
 */
export async function login(
  targets: { registry: string; username: string; password: string }[]
): Promise<void> {
  const done: string[] = []
  for (const t of targets) {
    core.setSecret(t.password)
    // remembered before docker writes the login: a main step killed now is still logged out
    done.push(t.registry)
    core.saveState(LOGINS_STATE, JSON.stringify(done))
    const server = t.registry === 'docker.io' ? [] : [t.registry]
    const res = await run(
      'docker',
      ['login', '--username', t.username, '--password-stdin', ...server],
      {
        input: t.password,
        allowFailure: true,
        timeoutSeconds: LOGIN_TIMEOUT_S
      }
    )
    if (res.timedOut) {
      throw new Error(
        `login to ${t.registry} as ${t.username}: no answer in ${LOGIN_TIMEOUT_S} s (the registry stalls)`
      )
    }
    if (res.exitCode !== 0) {
      const why = (res.stderr || res.stdout).replaceAll(t.password, '***').trim().split('\n').pop()
      throw new Error(`login to ${t.registry} as ${t.username} failed: ${why}`)
    }
  }
}

/** How long `docker login` may take: it only asks the registry for /v2/ (and a token). */
const LOGIN_TIMEOUT_S = 120

/** Post step: logs out of every registry logged in to. */
export async function logout(registries: string[]): Promise<void> {
  for (const registry of registries) {
    await run('docker', ['logout', ...(registry === 'docker.io' ? [] : [registry])], {
      allowFailure: true
    })
  }
}
