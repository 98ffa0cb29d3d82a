/**
 * Checkers of the input values for servers, tag schemes and repositories as they are (smoke
 * timeout and HTTP probe, tag templates, go-gate steps, per-image Go module, the generated
 * Dockerfile's expose/user/cmd/files). Pure; each throws an Error naming the input.
 */
import { posix as path } from 'node:path'
import { splitList } from './util/lists.js'

/** A step of the Go gate. */
export type GoGateStep = 'fmt' | 'vet' | 'test'
/** Every step, in the order they run. */
export const GO_GATE_STEPS: readonly GoGateStep[] = ['fmt', 'vet', 'test']

/** The HTTP probe of a smoke test: `http://<container>:<port><path>`. */
export interface SmokeHttp {
  port: number
  /** Starts with `/`. */
  path: string
}

/** One `files` entry of a generated Dockerfile: a path of the module copied to `dest`. */
export interface FileCopy {
  /** Relative to the image's Go module directory, normalised, inside it. */
  src: string
  /** Absolute path in the image, normalised. */
  dest: string
}

/** A scalar or list value (YAML) as a list of strings; a string is split on newlines and commas. */
function asList(value: string | string[]): string[] {
  return Array.isArray(value) ? value.map(v => v.trim()).filter(Boolean) : splitList(value)
}

/** `smoke-timeout`: whole seconds, 1 to 3600. */
export function parseSmokeTimeout(value: string, name: string): number {
  const n = Number(value)
  if (!/^\d+$/.test(value.trim()) || n < 1 || n > 3600)
    throw new Error(`${name}: '${value}' is not a number of seconds from 1 to 3600`)
  return n
}

/** `smoke-http`: `<port>[/<path>]`, e.g. `8080/healthz`; '' for none. */
export function parseSmokeHttp(value: string, name: string): SmokeHttp | undefined {
  const v = value.trim()
  if (v === '') return undefined
  const m = /^(\d{1,5})(\/[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*)?$/.exec(v)
  const port = m ? Number(m[1]) : 0
  if (!m || port < 1 || port > 65535)
    throw new Error(`${name}: '${value}' is not <port>[/<path>], e.g. 8080/healthz`)
  return { port, path: m[2] ?? '/' }
}

/** `go-gate`: `true` (every step), `false` (none) or a list of `fmt`, `vet`, `test`. */
export function parseGoGate(value: string, name: string): GoGateStep[] {
  const v = value.trim()
  if (/^true$/i.test(v)) return [...GO_GATE_STEPS]
  if (/^false$/i.test(v)) return []
  const steps = splitList(v).map(s => s.toLowerCase())
  const bad = steps.filter(s => !(GO_GATE_STEPS as readonly string[]).includes(s))
  if (steps.length === 0 || bad.length > 0)
    throw new Error(
      `${name}: '${value}' is not true, false or a list of ${GO_GATE_STEPS.join(', ')}`
    )
  return GO_GATE_STEPS.filter(s => steps.includes(s))
}

/** Tag templates: one per line (commas too: a tag never holds one). */
export function parseTagTemplates(value: string | string[], name: string): string[] {
  const templates = asList(value)
  if (templates.length === 0) throw new Error(`${name}: no tag template given`)
  return templates
}

/**
 * A directory of the workspace (a Go module): relative, normalised, never outside the workspace.
 */
export function parseWorkspaceDir(value: string, name: string): string {
  const dir = path.normalize(value.trim() || '.').replace(/(.)\/+$/, '$1')
  if (path.isAbsolute(dir) || dir === '..' || dir.startsWith('../') || dir.startsWith('-'))
    throw new Error(`${name}: '${value}' must be a directory inside the workspace`)
  return dir
}

/** `expose`: ports, `9100` or `51820/udp` (tcp, udp, sctp). */
export function parseExpose(value: string | string[], name: string): string[] {
  return asList(value).map(p => {
    const m = /^(\d{1,5})(?:\/(tcp|udp|sctp))?$/.exec(p)
    if (!m || Number(m[1]) < 1 || Number(m[1]) > 65535)
      throw new Error(`${name}: '${p}' is not a port such as 9100 or 51820/udp`)
    return p
  })
}

/** `user`: `uid[:gid]` or a name, as Dockerfile USER takes it. */
export function parseUser(value: string, name: string): string {
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]*)?$/.test(value))
    throw new Error(`${name}: '${value}' is not a user such as 65532:65532 or nonroot`)
  return value
}

/**
 * `files`: `src:dest` copies from the module into the image. `src` must stay inside the module
 * (no absolute path, no `..` out of it); `dest` is an absolute path in the image other than `/`.
 */
export function parseFiles(value: string | string[], name: string): FileCopy[] {
  return asList(value).map(entry => {
    const colon = entry.indexOf(':')
    const rawSrc = colon < 0 ? '' : entry.slice(0, colon).trim()
    const rawDest = colon < 0 ? '' : entry.slice(colon + 1).trim()
    if (!rawSrc || !rawDest) throw new Error(`${name}: '${entry}' is not src:dest`)
    const src = path.normalize(rawSrc).replace(/(.)\/+$/, '$1')
    if (path.isAbsolute(src) || src === '..' || src.startsWith('../') || src === '.')
      throw new Error(
        `${name}: '${entry}': the source must be a path inside the module (no absolute path, no '..' out of it)`
      )
    const dest = path.normalize(rawDest).replace(/(.)\/+$/, '$1')
    if (!path.isAbsolute(dest) || dest === '/' || !/^[A-Za-z0-9_./@+-]+$/.test(dest))
      throw new Error(
        `${name}: '${entry}': the destination must be an absolute path in the image, such as /srv/static`
      )
    return { src, dest }
  })
}
