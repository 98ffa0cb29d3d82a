import { readFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { run } from '../exec.js'

/** A user name and password (or token) for one registry. */
export interface RegistryCredentials {
  username: string
  password: string
}

/** The parts of a docker CLI config file the registry client reads. */
interface DockerConfig {
  auths?: Record<
    string,
    { auth?: string; username?: string; password?: string; identitytoken?: string }
  >
  credsStore?: string
  credHelpers?: Record<string, string>
}

/** The registry host as docker keys it in config.json (`https://index.docker.io/v1/` for Hub). */
export function configKeys(registry: string): string[] {
  if (
    registry === 'docker.io' ||
    registry === 'registry-1.docker.io' ||
    registry === 'index.docker.io'
  )
    return ['https://index.docker.io/v1/', 'index.docker.io', 'docker.io', 'registry-1.docker.io']
  return [registry, `https://${registry}`, `http://${registry}`]
}

/** A config.json key reduced to its host (`https://ghcr.io/v2/` -> `ghcr.io`). */
function keyHost(key: string): string {
  return key.replace(/^[a-z]+:\/\//, '').replace(/\/.*$/, '')
}

/** The directory of the docker CLI config the action's `docker login` wrote to. */
export function dockerConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  return env['DOCKER_CONFIG'] || join(homedir(), '.docker')
}

/**
 * The credentials `docker login` stored for a registry: from the config file's `auths`, or from
 * its credential helper (`credHelpers`, `credsStore`) through `docker-credential-<helper> get`.
 * Undefined when there are none (anonymous access).
 */
export async function dockerCredentials(
  registry: string,
  configDir = dockerConfigDir()
): Promise<RegistryCredentials | undefined> {
  const text = await readFile(join(configDir, 'config.json'), 'utf8').catch(() => undefined)
  if (!text) return undefined
  const config = JSON.parse(text) as DockerConfig
  const keys = configKeys(registry)
  const hosts = new Set(keys.map(keyHost))
  const helper =
    keys.map(k => config.credHelpers?.[k]).find(Boolean) ??
    Object.entries(config.credHelpers ?? {}).find(([k]) => hosts.has(keyHost(k)))?.[1] ??
    config.credsStore
  const entry =
    keys.map(k => config.auths?.[k]).find(Boolean) ??
    Object.entries(config.auths ?? {}).find(([k]) => hosts.has(keyHost(k)))?.[1]
  if (entry?.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
  }
  if (entry?.username && entry.password)
    return { username: entry.username, password: entry.password }
  if (helper) return helperCredentials(helper, keys[0])
  return undefined
}

/** `docker-credential-<helper> get`, the server on stdin (the docker credential helper protocol). */
async function helperCredentials(
  helper: string,
  server: string
): Promise<RegistryCredentials | undefined> {
  const res = await run(`docker-credential-${helper}`, ['get'], {
    input: server,
    silent: true,
    allowFailure: true,
    timeoutSeconds: 30
  })
  if (res.exitCode !== 0) return undefined
  const body = JSON.parse(res.stdout) as { Username?: string; Secret?: string }
  if (!body.Secret) return undefined
  return { username: body.Username ?? '', password: body.Secret }
}

/** One `WWW-Authenticate` challenge: its scheme and parameters. */
export interface Challenge {
  scheme: string
  params: Record<string, string>
}

/**
 * Parses a `WWW-Authenticate` header (`Bearer realm="...",service="...",scope="..."` or
 * `Basic realm="..."`) into its scheme and parameters.
 */
export function parseChallenge(header: string | null): Challenge | undefined {
  if (!header) return undefined
  const m = /^\s*([A-Za-z]+)\s*(.*)$/.exec(header)
  if (!m) return undefined
  const params: Record<string, string> = {}
  for (const p of m[2].matchAll(/([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g)) {
    params[p[1].toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3]
  }
  return { scheme: m[1].toLowerCase(), params }
}

/** The `Authorization: Basic` value of credentials. */
export function basicAuth(c: RegistryCredentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`
}
