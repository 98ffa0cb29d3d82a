/**
 * A local GitHub Actions artifact service (v4 artifacts), as `@actions/artifact` 2+ speaks it:
 * the Twirp JSON API `github.actions.results.api.v1.ArtifactService` (CreateArtifact,
 * FinalizeArtifact, ListArtifacts, GetSignedArtifactURL, DeleteArtifact) at ACTIONS_RESULTS_URL,
 * and Azure-Blob-like signed URLs for the upload (Put Block, Put Block List, Put Blob) and the
 * download (GET, with Range). Tokens are HS256 JWTs whose `scp` claim holds
 * `Actions.Results:<run backend id>:<job backend id>`, as the runner's are: a job may create and
 * finalize only its own artifacts, and list and download every finalized artifact of its run.
 * Artifact names are unique in a run. Node built-ins only; the small HTTP helpers are the cache
 * service's (test/cache-server/server.ts).
 */
import crypto from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  b64url,
  hmac,
  HttpError,
  int64,
  parseRange,
  readBody,
  readJson,
  safeEqual,
  str
} from '../cache-server/server.js'

const TWIRP_PREFIX = '/twirp/github.actions.results.api.v1.ArtifactService/'
const BLOB_PREFIX = '/devstoreaccount1/actions-results/'
const AZURE_VERSION = '2025-01-05'
/** The names upload-artifact refuses (path-and-artifact-name-validation.ts). */
const BAD_NAME = /["\\:<>|*?\r\n/]/

/** One artifact as the service keeps it. */
export interface StoredArtifact {
  id: number
  runBackendId: string
  jobBackendId: string
  name: string
  finalized: boolean
  size: number
  /** `sha256:<hex>` as the client reported it at finalize. */
  hash?: string
  createdAt: string
  expiresAt?: string
  /** The blob: uncommitted blocks, then the committed bytes and content type. */
  blocks: Map<string, Buffer>
  data?: Buffer
  contentType?: string
}

/** A running artifact service. */
export interface ArtifactServer {
  url: string
  /** The env a job of run `run` (backend id) needs: ACTIONS_RUNTIME_TOKEN, ACTIONS_RESULTS_URL. */
  env(run: string, job: string): Record<string, string>
  artifacts(): StoredArtifact[]
  stop(): Promise<void>
}

/** Starts the service on 127.0.0.1 (port 0: any free port). */
export async function startArtifactServer(port = 0): Promise<ArtifactServer> {
  const secret = crypto.randomBytes(32)
  const artifacts: StoredArtifact[] = []
  let nextId = 1
  let baseUrl = ''

  function token(run: string, job: string): string {
    const now = Math.floor(Date.now() / 1000)
    const header = { typ: 'JWT', alg: 'HS256' }
    const claims = {
      scp: `Actions.ExampleScope Actions.Results:${run}:${job}`,
      iss: 'vstoken.actions.githubusercontent.com',
      nbf: now - 60,
      iat: now - 60,
      exp: now + 6 * 3600
    }
    const unsigned = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`
    return `${unsigned}.${b64url(hmac(secret, unsigned))}`
  }

  /** The run and job the request's token is for. */
  function authenticate(req: http.IncomingMessage): { run: string; job: string } {
    const m = /^Bearer\s+(\S+)$/i.exec(req.headers['authorization'] ?? '')
    const parts = m?.[1].split('.') ?? []
    if (parts.length !== 3) throw new HttpError(401, 'unauthenticated', 'missing bearer token')
    const sig = Buffer.from(parts[2], 'base64url')
    if (!safeEqual(sig, hmac(secret, `${parts[0]}.${parts[1]}`)))
      throw new HttpError(401, 'unauthenticated', 'token signature is invalid')
    const claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as {
      scp?: string
      exp?: number
    }
    if (!claims.exp || claims.exp < Date.now() / 1000)
      throw new HttpError(401, 'unauthenticated', 'token is expired')
    const scope = (claims.scp ?? '').split(' ').find(s => s.startsWith('Actions.Results:'))
    const [, run, job] = scope?.split(':') ?? []
    if (!run || !job) throw new HttpError(403, 'permission_denied', 'token has no Results scope')
    return { run, job }
  }

  function signedUrl(a: StoredArtifact, perm: 'r' | 'cw'): string {
    const se = new Date(Date.now() + 3600_000).toISOString().replace(/\.\d{3}Z$/, 'Z')
    const pathname = `${BLOB_PREFIX}${a.id}-${a.name}.zip`
    const sig = hmac(secret, `${perm}\n${se}\n${pathname}`).toString('base64')
    const q = new URLSearchParams({ sv: AZURE_VERSION, sr: 'b', sp: perm, se, sig })
    return `${baseUrl}${pathname.slice(1)}?${q.toString()}`
  }

  function ids(body: Record<string, unknown>, who: { run: string; job: string }): void {
    if (str(body, 'workflow_run_backend_id') !== who.run)
      throw new HttpError(403, 'permission_denied', 'workflow_run_backend_id is not the token’s')
  }

  async function handleTwirp(req: http.IncomingMessage, method: string): Promise<unknown> {
    if (req.method !== 'POST') throw new HttpError(405, 'bad_route', 'POST only')
    const who = authenticate(req)
    const body = await readJson(req)
    ids(body, who)
    const name = str(body, 'name')
    const inRun = artifacts.filter(a => a.runBackendId === who.run)
    if (method === 'CreateArtifact') {
      if (str(body, 'workflow_job_run_backend_id') !== who.job)
        throw new HttpError(
          403,
          'permission_denied',
          'workflow_job_run_backend_id is not the token’s'
        )
      if (!name || BAD_NAME.test(name))
        throw new HttpError(400, 'invalid_argument', `invalid artifact name '${name}'`)
      if ((int64(body, 'version') ?? 0) < 4)
        throw new HttpError(400, 'invalid_argument', 'version must be 4 or later')
      if (inRun.some(a => a.name === name && a.finalized))
        throw new HttpError(
          409,
          'already_exists',
          `an artifact named ${name} already exists in this run`
        )
      const old = inRun.findIndex(
        a => a.name === name && !a.finalized && a.jobBackendId === who.job
      )
      if (old >= 0) artifacts.splice(artifacts.indexOf(inRun[old]), 1)
      const a: StoredArtifact = {
        id: nextId++,
        runBackendId: who.run,
        jobBackendId: who.job,
        name,
        finalized: false,
        size: 0,
        createdAt: new Date().toISOString(),
        expiresAt: str(body, 'expires_at') || undefined,
        blocks: new Map()
      }
      artifacts.push(a)
      return { ok: true, signed_upload_url: signedUrl(a, 'cw') }
    }
    if (method === 'FinalizeArtifact') {
      const a = inRun.find(x => x.name === name && !x.finalized && x.jobBackendId === who.job)
      if (!a)
        throw new HttpError(404, 'not_found', `no artifact ${name} being uploaded by this job`)
      if (!a.data) throw new HttpError(400, 'failed_precondition', 'no blob was uploaded')
      const size = int64(body, 'size')
      if (size !== a.data.length)
        throw new HttpError(
          400,
          'invalid_argument',
          `size ${size} is not the blob's ${a.data.length}`
        )
      const hash = str(body, 'hash')
      const actual = `sha256:${crypto.createHash('sha256').update(a.data).digest('hex')}`
      if (hash && hash !== actual)
        throw new HttpError(400, 'invalid_argument', `hash ${hash} is not the blob's ${actual}`)
      Object.assign(a, { finalized: true, size, hash: actual })
      return { ok: true, artifact_id: String(a.id) }
    }
    if (method === 'ListArtifacts') {
      const nameFilter = str(body, 'name_filter')
      const idFilter = int64(body, 'id_filter')
      return {
        artifacts: inRun
          .filter(a => a.finalized)
          .filter(a => !nameFilter || a.name === nameFilter)
          .filter(a => idFilter === null || a.id === idFilter)
          .map(a => ({
            workflow_run_backend_id: a.runBackendId,
            workflow_job_run_backend_id: a.jobBackendId,
            database_id: String(a.id),
            name: a.name,
            size: String(a.size),
            created_at: a.createdAt,
            digest: a.hash
          }))
      }
    }
    if (method === 'GetSignedArtifactURL') {
      const a = inRun.find(x => x.name === name && x.finalized)
      if (!a) throw new HttpError(404, 'not_found', `no artifact named ${name} in this run`)
      return { signed_url: signedUrl(a, 'r') }
    }
    if (method === 'DeleteArtifact') {
      const a = inRun.find(x => x.name === name && x.finalized)
      if (!a) throw new HttpError(404, 'not_found', `no artifact named ${name} in this run`)
      artifacts.splice(artifacts.indexOf(a), 1)
      return { ok: true, artifact_id: String(a.id) }
    }
    throw new HttpError(404, 'bad_route', `no method ${method}`)
  }

  /** The artifact a signed blob URL is for, after checking its signature, expiry and permission. */
  function blobOf(u: URL, needed: 'r' | 'w'): StoredArtifact {
    const sp = u.searchParams.get('sp') ?? ''
    const se = u.searchParams.get('se') ?? ''
    const sig = Buffer.from(u.searchParams.get('sig') ?? '', 'base64')
    if (
      !safeEqual(sig, hmac(secret, `${sp}\n${se}\n${u.pathname}`)) ||
      !(Date.parse(se) > Date.now())
    )
      throw new HttpError(403, 'AuthenticationFailed', 'Server failed to authenticate the request.')
    if (!sp.includes(needed))
      throw new HttpError(
        403,
        'AuthorizationPermissionMismatch',
        'This request is not authorized to perform this operation using this permission.'
      )
    const id = Number(/^(\d+)-/.exec(u.pathname.slice(BLOB_PREFIX.length))?.[1])
    const a = artifacts.find(x => x.id === id)
    if (!a) throw new HttpError(404, 'BlobNotFound', 'The specified blob does not exist.')
    return a
  }

  async function handleBlob(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    u: URL
  ): Promise<void> {
    const azure = { 'x-ms-request-id': crypto.randomUUID(), 'x-ms-version': AZURE_VERSION }
    const method = req.method ?? 'GET'
    const a = blobOf(u, method === 'GET' || method === 'HEAD' ? 'r' : 'w')
    if (method === 'GET' || method === 'HEAD') {
      if (!a.finalized || !a.data)
        throw new HttpError(404, 'BlobNotFound', 'The specified blob does not exist.')
      const range = parseRange(
        (req.headers['x-ms-range'] as string) ?? req.headers['range'],
        a.data.length
      )
      if (range === 'unsatisfiable')
        throw new HttpError(416, 'InvalidRange', 'The range specified is invalid.')
      const bytes = range ? a.data.subarray(range.start, range.end + 1) : a.data
      res.writeHead(range ? 206 : 200, {
        ...azure,
        'Content-Type': a.contentType ?? 'application/octet-stream',
        'Content-Length': String(bytes.length),
        'x-ms-blob-type': 'BlockBlob',
        ...(range ? { 'Content-Range': `bytes ${range.start}-${range.end}/${a.data.length}` } : {})
      })
      return void res.end(method === 'HEAD' ? undefined : bytes)
    }
    if (method !== 'PUT') throw new HttpError(405, 'UnsupportedHttpVerb', `no ${method}`)
    if (a.finalized)
      throw new HttpError(409, 'BlobImmutableDueToPolicy', 'The artifact is finalized.')
    const comp = u.searchParams.get('comp')
    const body = await readBody(req, 1024 * 1024 * 1024)
    if (comp === 'block') {
      const id = u.searchParams.get('blockid') ?? ''
      if (!id || Buffer.from(id, 'base64').toString('base64') !== id)
        throw new HttpError(400, 'InvalidQueryParameterValue', 'blockid is not base64')
      a.blocks.set(id, body)
    } else if (comp === 'blocklist') {
      const ids = [
        ...body.toString('utf8').matchAll(/<(Latest|Uncommitted|Committed)>([^<]*)<\/\1>/g)
      ].map(m => m[2])
      if (ids.some(id => !a.blocks.has(id)))
        throw new HttpError(400, 'InvalidBlockList', 'The specified block list is invalid.')
      a.data = Buffer.concat(ids.map(id => a.blocks.get(id) as Buffer))
      a.contentType = (req.headers['x-ms-blob-content-type'] as string) ?? a.contentType
      a.blocks.clear()
    } else if (!comp) {
      if (req.headers['x-ms-blob-type'] !== 'BlockBlob')
        throw new HttpError(400, 'MissingRequiredHeader', 'x-ms-blob-type=BlockBlob is required')
      a.data = body
      a.contentType = (req.headers['x-ms-blob-content-type'] as string) ?? a.contentType
    } else throw new HttpError(400, 'InvalidQueryParameterValue', `Unsupported comp=${comp}.`)
    res.writeHead(201, {
      ...azure,
      ETag: `"0x${crypto.randomBytes(8).toString('hex').toUpperCase()}"`,
      'Last-Modified': new Date().toUTCString(),
      'x-ms-request-server-encrypted': 'true',
      'Content-Length': '0'
    })
    res.end()
  }

  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://localhost')
    const twirp = u.pathname.startsWith(TWIRP_PREFIX)
    const work = twirp
      ? handleTwirp(req, u.pathname.slice(TWIRP_PREFIX.length)).then(body => {
          res.writeHead(200, { 'Content-Type': 'application/json' })
          res.end(JSON.stringify(body))
        })
      : u.pathname.startsWith(BLOB_PREFIX)
        ? handleBlob(req, res, u)
        : Promise.reject(new HttpError(404, 'bad_route', `no handler for ${u.pathname}`))
    work.catch((err: unknown) => {
      const e = err instanceof HttpError ? err : new HttpError(500, 'internal', String(err))
      if (res.headersSent) return void res.destroy()
      if (twirp || !u.pathname.startsWith(BLOB_PREFIX)) {
        res.writeHead(e.status, { 'Content-Type': 'application/json' })
        return void res.end(JSON.stringify({ code: e.code, msg: e.message }))
      }
      const xml = `<?xml version="1.0" encoding="utf-8"?><Error><Code>${e.code}</Code><Message>${e.message}</Message></Error>`
      res.writeHead(e.status, { 'x-ms-error-code': e.code, 'Content-Type': 'application/xml' })
      res.end(xml)
    })
  })
  await new Promise<void>(resolve => server.listen(port, '127.0.0.1', resolve))
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
  return {
    url: baseUrl,
    env: (run, job) => ({ ACTIONS_RUNTIME_TOKEN: token(run, job), ACTIONS_RESULTS_URL: baseUrl }),
    artifacts: () => [...artifacts],
    stop: () =>
      new Promise<void>(resolve => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
  }
}
