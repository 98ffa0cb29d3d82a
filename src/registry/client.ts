/**
 * A small client of the registry HTTP API v2 (the OCI distribution spec) over Node's fetch: blobs
 * and manifests by digest, tags as manifest PUTs, the tag list. It authenticates as `docker login`
 * did (the docker config's credentials), with Basic auth or the Bearer token flow, and bounds
 * every request: one that makes no progress for `timeoutMs` is aborted with a clear error.
 */
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { Readable } from 'node:stream'
import { basicAuth, parseChallenge, type Challenge, type RegistryCredentials } from './auth.js'
import { parseRetryAfter, RegistryError, RegistryTimeoutError } from './errors.js'

/** Manifest media types the client accepts: indexes first, then single-platform manifests. */
export const MANIFEST_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json'
]

/** The default of the `registry-timeout` input: seconds a registry request may go without progress. */
export const DEFAULT_REGISTRY_TIMEOUT_S = 60

/** An answer read in full (registry answers other than blobs are small). */
interface Answer {
  status: number
  headers: Headers
  body: Buffer
}

/** A request body that can be made again (after a 401 and a new token). */
interface Body {
  open(): Readable | Buffer
  length: number
  type: string
}

/** Options of a RegistryClient. */
export interface ClientOptions {
  /** Abort a request that makes no progress for this long. */
  timeoutMs: number
  /** The credentials, looked up once on the first 401 (undefined: anonymous). */
  credentials: () => Promise<RegistryCredentials | undefined>
}

/** The API base of a registry: Docker Hub's real host, plain HTTP for a loopback registry. */
export function registryBase(registry: string): string {
  if (registry === 'docker.io' || registry === 'index.docker.io')
    return 'https://registry-1.docker.io'
  const loopback = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/.test(registry)
  return `${loopback ? 'http' : 'https'}://${registry}`
}

/** `sha256:<hex>` of some bytes. */
export function sha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`
}

/** The message of a registry's error body (`{"errors":[{"code","message","detail"}]}`). */
function errorBody(body: Buffer): string {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as {
      errors?: { code?: string; message?: string; detail?: unknown }[]
    }
    return (parsed.errors ?? [])
      .map(e =>
        [e.code, e.message, typeof e.detail === 'string' ? e.detail : undefined]
          .filter(Boolean)
          .join(': ')
      )
      .join('; ')
  } catch {
    return body.toString('utf8').slice(0, 200).trim()
  }
}

/** A client of one registry. */
export class RegistryClient {
  readonly registry: string
  readonly base: string
  private readonly opts: ClientOptions
  private creds?: Promise<RegistryCredentials | undefined>
  /** The Authorization header per repository (Bearer tokens are scoped to one). */
  private readonly auth = new Map<string, string>()

  constructor(registry: string, opts: ClientOptions) {
    this.registry = registry
    this.base = registryBase(registry)
    this.opts = opts
  }

  /** Whether the repository holds the blob. */
  async blobExists(repo: string, digest: string): Promise<boolean> {
    const what = `HEAD blob ${digest.slice(0, 19)} in ${this.registry}/${repo}`
    const res = await this.send('HEAD', `/v2/${repo}/blobs/${digest}`, repo, what)
    if (res.status === 200) return true
    if (res.status === 404) return false
    throw this.failure(what, res)
  }

  /**
   * Uploads one blob from a file (monolithic: POST for an upload session, then one PUT with the
   * digest). Another attempt starts a new session.
   */
  async uploadBlob(repo: string, digest: string, file: string, size: number): Promise<void> {
    const what = `upload of blob ${digest.slice(0, 19)} to ${this.registry}/${repo}`
    const start = await this.send('POST', `/v2/${repo}/blobs/uploads/`, repo, what)
    if (start.status !== 202) throw this.failure(what, start)
    const location = start.headers.get('location')
    if (!location) throw new Error(`${what}: the registry gave no upload location`)
    const url = new URL(location, this.base)
    url.searchParams.set('digest', digest)
    const res = await this.send('PUT', url.toString(), repo, what, {
      open: () => createReadStream(file),
      length: size,
      type: 'application/octet-stream'
    })
    if (res.status !== 201) throw this.failure(what, res)
  }

  /**
   * Mounts a blob from another repository of the same registry (no bytes sent). Resolves true
   * when the registry mounted it, false when it opened an upload instead (it does not hold the
   * blob there, or does not mount): the caller then uploads.
   */
  async mountBlob(repo: string, digest: string, from: string): Promise<boolean> {
    const what = `mount of blob ${digest.slice(0, 19)} from ${from} to ${this.registry}/${repo}`
    const query = `mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`
    const res = await this.send('POST', `/v2/${repo}/blobs/uploads/?${query}`, repo, what)
    if (res.status === 201) return true
    if (res.status === 202) return false
    throw this.failure(what, res)
  }

  /** A blob's bytes, checked against its digest. */
  async getBlob(repo: string, digest: string): Promise<Buffer> {
    const what = `GET blob ${digest.slice(0, 19)} of ${this.registry}/${repo}`
    const res = await this.send('GET', `/v2/${repo}/blobs/${digest}`, repo, what)
    if (res.status !== 200) throw this.failure(what, res)
    if (sha256(res.body) !== digest) throw new Error(`${what}: the bytes do not match the digest`)
    return res.body
  }

  /** PUT of a manifest under a digest or a tag; returns the digest the registry computed. */
  async putManifest(repo: string, ref: string, bytes: Buffer, mediaType: string): Promise<string> {
    const what = `PUT manifest ${this.registry}/${repo}${ref.startsWith('sha256:') ? '@' : ':'}${ref}`
    const res = await this.send('PUT', `/v2/${repo}/manifests/${ref}`, repo, what, {
      open: () => bytes,
      length: bytes.length,
      type: mediaType
    })
    if (res.status !== 201) throw this.failure(what, res)
    return res.headers.get('docker-content-digest') ?? sha256(bytes)
  }

  /** The digest a tag (or digest) resolves to, or undefined when the registry has no such manifest. */
  async manifestDigest(repo: string, ref: string): Promise<string | undefined> {
    const what = `HEAD manifest ${this.registry}/${repo}:${ref}`
    const res = await this.send('HEAD', `/v2/${repo}/manifests/${ref}`, repo, what)
    if (res.status === 404) return undefined
    if (res.status !== 200) throw this.failure(what, res)
    const digest = res.headers.get('docker-content-digest')
    if (digest) return digest
    return (await this.getManifest(repo, ref))?.digest
  }

  /** A manifest's bytes, media type and digest (computed from the bytes), or undefined on 404. */
  async getManifest(
    repo: string,
    ref: string
  ): Promise<{ bytes: Buffer; mediaType: string; digest: string } | undefined> {
    const what = `GET manifest ${this.registry}/${repo}:${ref}`
    const res = await this.send('GET', `/v2/${repo}/manifests/${ref}`, repo, what)
    if (res.status === 404) return undefined
    if (res.status !== 200) throw this.failure(what, res)
    const mediaType =
      res.headers.get('content-type')?.split(';')[0] ??
      ((JSON.parse(res.body.toString('utf8')) as { mediaType?: string }).mediaType as string)
    return { bytes: res.body, mediaType, digest: sha256(res.body) }
  }

  /** Every tag of a repository ([] when it does not exist), following the `Link` pages. */
  async listTags(repo: string): Promise<string[]> {
    const what = `GET tags of ${this.registry}/${repo}`
    const tags: string[] = []
    let path: string | undefined = `/v2/${repo}/tags/list?n=1000`
    while (path) {
      const res = await this.send('GET', path, repo, what)
      if (res.status === 404) return tags
      if (res.status !== 200) throw this.failure(what, res)
      tags.push(
        ...((JSON.parse(res.body.toString('utf8')) as { tags?: string[] | null }).tags ?? [])
      )
      path = /<([^>]+)>;\s*rel="?next"?/.exec(res.headers.get('link') ?? '')?.[1]
    }
    return tags
  }

  /** A RegistryError for an unexpected answer, with the registry's message and `Retry-After`. */
  private failure(what: string, res: Answer): RegistryError {
    const detail = errorBody(res.body)
    return new RegistryError(
      `${what}: HTTP ${res.status}${detail ? ` (${detail})` : ''}`,
      res.status,
      parseRetryAfter(res.headers.get('retry-after'))
    )
  }

  /** One request, authenticated again once after a 401 (Basic, or a new Bearer token). */
  private async send(
    method: string,
    path: string,
    repo: string,
    what: string,
    body?: Body
  ): Promise<Answer> {
    const url = new URL(path, this.base).toString()
    const res = await this.fetchOnce(method, url, repo, what, body)
    if (res.status !== 401) return res
    const challenge = parseChallenge(res.headers.get('www-authenticate'))
    if (!challenge) return res
    await this.authorize(repo, challenge, what)
    return this.fetchOnce(method, url, repo, what, body)
  }

  /** Sets the repository's Authorization header from a 401's challenge. */
  private async authorize(repo: string, challenge: Challenge, what: string): Promise<void> {
    this.creds ??= this.opts.credentials()
    const creds = await this.creds
    if (challenge.scheme === 'basic') {
      if (!creds)
        throw new RegistryError(
          `${what}: HTTP 401 and no credentials for ${this.registry} (docker login)`,
          401
        )
      this.auth.set(repo, basicAuth(creds))
      return
    }
    if (challenge.scheme !== 'bearer' || !challenge.params['realm'])
      throw new RegistryError(
        `${what}: HTTP 401 with an unknown challenge (${challenge.scheme})`,
        401
      )
    const url = new URL(challenge.params['realm'])
    if (challenge.params['service']) url.searchParams.set('service', challenge.params['service'])
    url.searchParams.set('scope', challenge.params['scope'] ?? `repository:${repo}:pull,push`)
    const res = await this.fetchOnce(
      'GET',
      url.toString(),
      undefined,
      `token for ${what}`,
      undefined,
      creds && basicAuth(creds)
    )
    if (res.status !== 200) throw this.failure(`token for ${this.registry}/${repo}`, res)
    const token = JSON.parse(res.body.toString('utf8')) as { token?: string; access_token?: string }
    const value = token.token ?? token.access_token
    if (!value)
      throw new Error(`token for ${this.registry}/${repo}: the token service gave no token`)
    this.auth.set(repo, `Bearer ${value}`)
  }

  /**
   * One fetch, aborted when it makes no progress for timeoutMs: the timer starts again on every
   * chunk of the request body sent and of the answer read.
   */
  private async fetchOnce(
    method: string,
    url: string,
    repo: string | undefined,
    what: string,
    body?: Body,
    authorization?: string
  ): Promise<Answer> {
    const ac = new AbortController()
    const seconds = this.opts.timeoutMs / 1000
    const stalled = new RegistryTimeoutError(
      `${what}: no progress from the registry in ${seconds} s (registry-timeout)`
    )
    let timer = setTimeout(() => ac.abort(stalled), this.opts.timeoutMs)
    const progress = (): void => {
      clearTimeout(timer)
      timer = setTimeout(() => ac.abort(stalled), this.opts.timeoutMs)
    }
    const headers: Record<string, string> = { Accept: MANIFEST_TYPES.join(', ') }
    const auth = authorization ?? (repo !== undefined ? this.auth.get(repo) : undefined)
    if (auth) headers['Authorization'] = auth
    let payload: BodyInit | undefined
    if (body) {
      headers['Content-Type'] = body.type
      headers['Content-Length'] = String(body.length)
      const opened = body.open()
      if (Buffer.isBuffer(opened)) payload = new Uint8Array(opened)
      else {
        opened.on('data', progress)
        payload = Readable.toWeb(opened) as unknown as BodyInit
      }
    }
    try {
      const res = await fetch(url, {
        method,
        headers,
        body: payload,
        signal: ac.signal,
        redirect: 'follow',
        ...(payload && !(payload instanceof Uint8Array) ? { duplex: 'half' } : {})
      } as RequestInit)
      progress()
      const chunks: Buffer[] = []
      if (res.body) {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          chunks.push(Buffer.from(chunk))
          progress()
        }
      }
      return { status: res.status, headers: res.headers, body: Buffer.concat(chunks) }
    } catch (e) {
      if (ac.signal.aborted) throw stalled
      throw new Error(
        `${what}: ${(e as Error).message}${(e as Error).cause ? ` (${String(((e as Error).cause as Error).message ?? (e as Error).cause)})` : ''}`,
        { cause: e }
      )
    } finally {
      clearTimeout(timer)
    }
  }
}
