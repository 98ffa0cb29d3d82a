/**
 * A local GitHub Actions cache service for tests.
 *
 * Speaks both wire protocols the way GitHub does (see
 * /work/shared/reference/cache-service.md):
 *
 *  - v2: Twirp JSON `github.actions.results.api.v1.CacheService/{CreateCacheEntry,
 *    FinalizeCacheEntryUpload,GetCacheEntryDownloadURL}` plus an Azure-Blob-like
 *    endpoint behind signed URLs (Put Blob, Put Block, Put Block List, GET/HEAD
 *    with Range / x-ms-range). Used by @actions/cache >= 4 and BuildKit >= 0.20.
 *  - v1: `_apis/artifactcache/{cache,caches,caches/:id}` (lookup, reserve, PATCH
 *    chunks, commit). Used by BuildKit < 0.20 (e.g. the one inside Docker 26.1),
 *    by @actions/cache on GHES, and by @actions/cache without
 *    ACTIONS_CACHE_SERVICE_V2.
 *
 * Entries persist in `dir` (state.json + blob files), so a server restarted on
 * the same dir sees the same cache, accepts the same tokens and signed URLs.
 *
 * This file must stay self-contained (node: built-ins only, no relative imports,
 * erasable TypeScript only) so Node 24 can run it directly with type stripping.
 */
import * as crypto from 'node:crypto'
import * as fs from 'node:fs'
import * as fsp from 'node:fs/promises'
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'
import * as path from 'node:path'
import { Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'

// ---------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------

/** One entry of the token's `ac` claim, spelled exactly as GitHub does. */
export interface TokenScope {
  Scope: string
  /** Bit mask: 1 = read, 2 = write. */
  Permission: number
}

export interface CacheServerOptions {
  /** Directory for entries and blobs; created if missing; reused across restarts. */
  dir: string
  /** Port to listen on; 0 (default) picks a free one. */
  port?: number
  /** Interface to bind; default 127.0.0.1. */
  host?: string
  /** Host name put into URLs handed out (env, signed URLs); default: host, or 127.0.0.1 for wildcard binds. */
  advertiseHost?: string
  /** Scopes of the tokens minted by env()/token() unless overridden; default refs/heads/main read+write. */
  scopes?: TokenScope[]
  /** `repository_id` claim of minted tokens; default "1". */
  repositoryId?: string
  /** Lifetime of minted tokens in seconds; default 6 h (a job's maximum). */
  tokenTtlSeconds?: number
  /** Lifetime of signed blob URLs in seconds; default 1 h. */
  signedUrlTtlSeconds?: number
  /** Largest entry accepted (v1 cacheSize check, v2 finalize check); default 10 GiB. */
  maxEntryBytes?: number
  /** Accept any well-formed, unexpired JWT with an `ac` claim, not only ones this server signed. */
  acceptForeignTokens?: boolean
  /** Called with one line per request (method, path, status), e.g. for debugging. */
  log?: (line: string) => void
}

export interface ProtocolStats {
  /** Lookups (v1 GET cache, v2 GetCacheEntryDownloadURL) that passed auth and validation. */
  lookups: number
  /** Lookups whose matched key equals the primary (first) key. */
  exactHits: number
  /** Lookups matched by a prefix of the primary key or by a restore key. */
  prefixHits: number
  misses: number
  /** Successful reservations (v1 POST caches, v2 CreateCacheEntry). */
  reserves: number
  /** Reservations rejected with 409 because key+version+scope already exists. */
  conflicts: number
  /** Successful commits (v1 POST caches/:id, v2 FinalizeCacheEntryUpload). */
  commits: number
  /** Requests rejected with 401 (missing or invalid bearer token). */
  unauthorized: number
  /** v1: PATCH chunks received. */
  chunks: number
  /** v2: Put Blob requests (single-shot uploads). */
  singleShotUploads: number
  /** v2: Put Block requests. */
  blocksStaged: number
  /** v2: Put Block List requests. */
  blockLists: number
  /** Request body bytes received for entry data. */
  bytesUploaded: number
  /** Blob GET requests served (200 or 206). */
  downloads: number
  /** Ranged blob GET requests served with 206. */
  rangeDownloads: number
  /** Response body bytes sent for entry data. */
  bytesDownloaded: number
}

export interface EntryInfo {
  id: number
  key: string
  version: string
  scope: string
  /** Protocol that created the entry. */
  protocol: 'v1' | 'v2'
  committed: boolean
  size: number | null
  createdAt: string
  committedAt: string | null
}

export interface CacheStats {
  /** Committed entries. */
  entries: number
  /** Reserved but not yet committed entries. */
  pending: number
  /** Sum of committed entry sizes. */
  totalBytes: number
  /** Keys of committed entries, oldest first. */
  keys: string[]
  /** All entries (committed and pending), oldest first. */
  entryList: EntryInfo[]
  v1: ProtocolStats
  v2: ProtocolStats
  /** v1 + v2. */
  total: ProtocolStats
}

/** The counts of the requests for the keys that start with one prefix (see CacheServer.statsFor). */
export interface KeyStats {
  v1: ProtocolStats
  v2: ProtocolStats
  /** v1 + v2. */
  total: ProtocolStats
}

export interface TokenOptions {
  scopes?: TokenScope[]
  ttlSeconds?: number
  /** Seconds to shift `nbf`/`exp`, e.g. negative to mint an expired token in tests. */
  clockSkewSeconds?: number
}

export interface CacheServer {
  /** Base URL with trailing slash, e.g. http://127.0.0.1:34567/ (= ACTIONS_RESULTS_URL). */
  url: string
  port: number
  host: string
  dir: string
  /** v1 base URL with trailing slash (= ACTIONS_CACHE_URL). */
  cacheUrl: string
  /** v2 base URL with trailing slash (= ACTIONS_RESULTS_URL). */
  resultsUrl: string
  stop(): Promise<void>
  stats(): CacheStats
  /**
   * The counts of the requests for keys starting with one of `prefixes` since the last
   * resetStats: one client's traffic, told apart by its keys (`go-image-action-` for the
   * action's @actions/cache entries; `buildkit-blob-` and `index-` for BuildKit's gha cache). A
   * lookup counts for its primary key; requests rejected before their key is read
   * (unauthorized) count for no key.
   */
  statsFor(...prefixes: string[]): KeyStats
  resetStats(): void
  entries(): EntryInfo[]
  /**
   * Removes the committed entries of `key` and their archives, as GitHub's service does when a
   * repository's caches pass their size limit (the least recently used go first) or a user runs
   * `gh cache delete`. Returns how many it removed.
   */
  evict(key: string): number
  /** Mints an HS256 JWT shaped like the runner's ACTIONS_RUNTIME_TOKEN. */
  token(opts?: TokenOptions): string
  /** The ACTIONS_* variables a runner hands a node action, with a freshly minted token. */
  env(opts?: TokenOptions): Record<string, string>
}

// ---------------------------------------------------------------------------
// Constants
// ---------------------------------------------------------------------------

const TWIRP_PREFIX = '/twirp/github.actions.results.api.v1.CacheService/'
const V1_MARKER = '/_apis/artifactcache/'
const BLOB_ACCOUNT = 'devstoreaccount1'
const BLOB_CONTAINER = 'actions-cache'
const BLOB_PREFIX = `/${BLOB_ACCOUNT}/${BLOB_CONTAINER}/`
const AZURE_VERSION = '2025-01-05'
const MAX_KEY_LENGTH = 512
const MAX_KEYS = 10
const MAX_JSON_BODY = 1024 * 1024
const STATE_FILE = 'state.json'
const SECRET_FILE = 'secret.key'

// ---------------------------------------------------------------------------
// Internal types
// ---------------------------------------------------------------------------

interface StoredEntry {
  id: number
  key: string
  version: string
  scope: string
  protocol: 'v1' | 'v2'
  committed: boolean
  size: number | null
  createdAt: string
  committedAt: string | null
  /** Last path segment of the signed blob URLs. */
  blobName: string
  /** v1: byte ranges written so far (inclusive, merged). */
  ranges: Array<[number, number]>
  /** v2: size of the uploaded blob (Put Blob or Put Block List), null before. */
  uploadedSize: number | null
  etag: string
}

interface State {
  nextId: number
  entries: StoredEntry[]
}

interface Principal {
  scopes: TokenScope[]
  readScopes: string[]
  writeScope: string | null
}

type Proto = 'v1' | 'v2'

export class HttpError extends Error {
  status: number
  code: string
  constructor(status: number, code: string, message: string) {
    super(message)
    this.status = status
    this.code = code
  }
}

function emptyProtocolStats(): ProtocolStats {
  return {
    lookups: 0,
    exactHits: 0,
    prefixHits: 0,
    misses: 0,
    reserves: 0,
    conflicts: 0,
    commits: 0,
    unauthorized: 0,
    chunks: 0,
    singleShotUploads: 0,
    blocksStaged: 0,
    blockLists: 0,
    bytesUploaded: 0,
    downloads: 0,
    rangeDownloads: 0,
    bytesDownloaded: 0
  }
}

// ---------------------------------------------------------------------------
// Small helpers (exported for the artifact service, test/artifact-server)
// ---------------------------------------------------------------------------

export function b64url(buf: Buffer | string): string {
  return Buffer.from(buf).toString('base64url')
}

export function hmac(secret: Buffer, data: string): Buffer {
  return crypto.createHmac('sha256', secret).update(data).digest()
}

export function safeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && crypto.timingSafeEqual(a, b)
}

export async function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = []
  let n = 0
  for await (const chunk of req) {
    const b = chunk as Buffer
    n += b.length
    if (n > limit) throw new HttpError(413, 'too_large', `request body larger than ${limit} bytes`)
    chunks.push(b)
  }
  return Buffer.concat(chunks)
}

export async function readJson(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  const raw = await readBody(req, MAX_JSON_BODY)
  if (raw.length === 0) return {}
  let parsed: unknown
  try {
    parsed = JSON.parse(raw.toString('utf8'))
  } catch (e) {
    throw new HttpError(400, 'malformed', `request body is not valid JSON: ${(e as Error).message}`)
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new HttpError(400, 'malformed', 'request body must be a JSON object')
  }
  return parsed as Record<string, unknown>
}

export function str(body: Record<string, unknown>, name: string): string {
  const v = body[name]
  if (v === undefined || v === null) return ''
  if (typeof v !== 'string')
    throw new HttpError(400, 'invalid_argument', `${name} must be a string`)
  return v
}

/** int64 fields arrive as JSON strings from protobuf-ts and as numbers from Go. */
export function int64(body: Record<string, unknown>, name: string): number | null {
  const v = body[name]
  if (v === undefined || v === null) return null
  const n = typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : typeof v === 'number' ? v : NaN
  if (!Number.isSafeInteger(n))
    throw new HttpError(400, 'invalid_argument', `${name} must be an integer`)
  return n
}

function checkKey(key: string, what: string): void {
  if (!key) throw new HttpError(400, 'invalid_argument', `${what} is required`)
  if (key.length > MAX_KEY_LENGTH) {
    throw new HttpError(
      400,
      'invalid_argument',
      `${what} is longer than ${MAX_KEY_LENGTH} characters`
    )
  }
  if (key.includes(','))
    throw new HttpError(400, 'invalid_argument', `${what} cannot contain commas`)
}

function mergeRange(
  ranges: Array<[number, number]>,
  start: number,
  end: number
): Array<[number, number]> {
  const all = [...ranges, [start, end] as [number, number]].sort((a, b) => a[0] - b[0])
  const out: Array<[number, number]> = []
  for (const r of all) {
    const last = out[out.length - 1]
    if (last && r[0] <= last[1] + 1) last[1] = Math.max(last[1], r[1])
    else out.push([r[0], r[1]])
  }
  return out
}

function newer(a: StoredEntry, b: StoredEntry): number {
  // newest first: creation time, then id (ids grow monotonically)
  const t = Date.parse(b.createdAt) - Date.parse(a.createdAt)
  return t !== 0 ? t : b.id - a.id
}

function httpDate(iso: string): string {
  return new Date(iso).toUTCString()
}

function counter(): Transform & { bytes: number } {
  const t = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      t.bytes += chunk.length
      cb(null, chunk)
    }
  }) as Transform & { bytes: number }
  t.bytes = 0
  return t
}

/** Parses `bytes=a-b`, `bytes=a-`, `bytes=-n`; null when absent or not a single byte range. */
export function parseRange(
  header: string | undefined,
  size: number
): { start: number; end: number } | 'unsatisfiable' | null {
  if (!header) return null
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim())
  if (!m || (m[1] === '' && m[2] === '')) return null
  let start: number
  let end: number
  if (m[1] === '') {
    const suffix = Number(m[2])
    if (suffix === 0) return 'unsatisfiable'
    start = Math.max(0, size - suffix)
    end = size - 1
  } else {
    start = Number(m[1])
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1)
    if (m[2] !== '' && Number(m[2]) < start) return null
  }
  if (start >= size) return 'unsatisfiable'
  return { start, end }
}

// ---------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------

export async function startCacheServer(options: CacheServerOptions): Promise<CacheServer> {
  const dir = path.resolve(options.dir)
  const host = options.host ?? '127.0.0.1'
  const defaultScopes: TokenScope[] = options.scopes ?? [
    { Scope: 'refs/heads/main', Permission: 3 }
  ]
  const repositoryId = options.repositoryId ?? '1'
  const tokenTtl = options.tokenTtlSeconds ?? 6 * 3600
  const urlTtl = options.signedUrlTtlSeconds ?? 3600
  const maxEntryBytes = options.maxEntryBytes ?? 10 * 1024 * 1024 * 1024
  const log = options.log

  const blobsDir = path.join(dir, 'blobs')
  const uploadsDir = path.join(dir, 'uploads')
  fs.mkdirSync(blobsDir, { recursive: true })
  fs.mkdirSync(uploadsDir, { recursive: true })

  // Secret: signs tokens and blob URLs; persisted so both survive restarts.
  const secretPath = path.join(dir, SECRET_FILE)
  let secret: Buffer
  if (fs.existsSync(secretPath)) {
    secret = Buffer.from(fs.readFileSync(secretPath, 'utf8').trim(), 'hex')
  } else {
    secret = crypto.randomBytes(32)
    fs.writeFileSync(secretPath, secret.toString('hex') + '\n', { mode: 0o600 })
  }
  // GitHub's ACTIONS_CACHE_URL carries a per-run path segment; BuildKit and
  // @actions/cache both keep it. Any prefix is accepted, this one is advertised.
  const v1Prefix = hmac(secret, 'v1-prefix').toString('hex').slice(0, 24)

  const statePath = path.join(dir, STATE_FILE)
  const state: State = fs.existsSync(statePath)
    ? (JSON.parse(fs.readFileSync(statePath, 'utf8')) as State)
    : { nextId: 1, entries: [] }
  const byBlobName = new Map<string, StoredEntry>()
  const byId = new Map<number, StoredEntry>()
  for (const e of state.entries) {
    byBlobName.set(e.blobName, e)
    byId.set(e.id, e)
  }

  function persist(): void {
    const tmp = `${statePath}.${process.pid}.tmp`
    fs.writeFileSync(tmp, JSON.stringify(state, null, 1))
    fs.renameSync(tmp, statePath)
  }
  persist()

  let counters: Record<Proto, ProtocolStats> = {
    v1: emptyProtocolStats(),
    v2: emptyProtocolStats()
  }
  // the same counts per cache key (a lookup counts for its primary key), so that a test can
  // tell clients apart by their keys' prefix: @actions/cache and BuildKit both speak v2
  let perKey = new Map<string, Record<Proto, ProtocolStats>>()

  /** Adds `n` to one counter of a protocol, and of `key` when the request names one. */
  function bump(proto: Proto, key: string | undefined, field: keyof ProtocolStats, n = 1): void {
    counters[proto][field] += n
    if (key === undefined) return
    let k = perKey.get(key)
    if (!k) perKey.set(key, (k = { v1: emptyProtocolStats(), v2: emptyProtocolStats() }))
    k[proto][field] += n
  }

  const dataPath = (e: StoredEntry): string =>
    e.committed ? path.join(blobsDir, String(e.id)) : path.join(uploadsDir, `${e.id}.data`)
  const blocksDir = (e: StoredEntry): string => path.join(uploadsDir, `${e.id}.blocks`)

  // ---- tokens -------------------------------------------------------------

  function mintToken(opts: TokenOptions = {}): string {
    const now = Math.floor(Date.now() / 1000) + (opts.clockSkewSeconds ?? 0)
    const scopes = opts.scopes ?? defaultScopes
    const header = { typ: 'JWT', alg: 'HS256', x5t: b64url(hmac(secret, 'kid').subarray(0, 20)) }
    const claims = {
      nameid: 'dddddddd-dddd-dddd-dddd-dddddddddddd',
      scp: 'Actions.ExampleScope Actions.Results:00000000-0000-0000-0000-000000000000:00000000-0000-0000-0000-000000000000',
      IdentityTypeClaim: 'System:ServiceIdentity',
      'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/sid':
        'DDDDDDDD-DDDD-DDDD-DDDD-DDDDDDDDDDDD',
      'http://schemas.microsoft.com/ws/2008/06/identity/claims/primarysid':
        'dddddddd-dddd-dddd-dddd-dddddddddddd',
      aui: crypto.randomUUID(),
      sid: crypto.randomUUID(),
      ac: JSON.stringify(scopes),
      acsl: '10',
      orchid: `${crypto.randomUUID()}.build.__default`,
      repository_id: repositoryId,
      iss: 'vstoken.actions.githubusercontent.com',
      aud: 'vso:00000000-0000-0000-0000-000000000000',
      nbf: now - 60,
      iat: now - 60,
      exp: now + (opts.ttlSeconds ?? tokenTtl)
    }
    const unsigned = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`
    return `${unsigned}.${b64url(hmac(secret, unsigned))}`
  }

  function authenticate(req: http.IncomingMessage): Principal {
    const auth = req.headers['authorization'] ?? ''
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth)
    if (!m) throw new HttpError(401, 'unauthenticated', 'missing bearer token')
    const parts = m[1].split('.')
    if (parts.length !== 3) throw new HttpError(401, 'unauthenticated', 'token is not a JWT')
    let header: Record<string, unknown>
    let claims: Record<string, unknown>
    try {
      header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8')) as Record<
        string,
        unknown
      >
      claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as Record<
        string,
        unknown
      >
    } catch {
      throw new HttpError(401, 'unauthenticated', 'token is not a JWT')
    }
    if (!options.acceptForeignTokens) {
      const sig = Buffer.from(parts[2], 'base64url')
      if (header.alg !== 'HS256' || !safeEqual(sig, hmac(secret, `${parts[0]}.${parts[1]}`))) {
        throw new HttpError(401, 'unauthenticated', 'token signature is invalid')
      }
    }
    const now = Date.now() / 1000
    if (typeof claims.exp !== 'number' || claims.exp < now) {
      throw new HttpError(401, 'unauthenticated', 'token is expired')
    }
    if (typeof claims.nbf !== 'number' || claims.nbf > now + 60) {
      throw new HttpError(401, 'unauthenticated', 'token is not valid yet')
    }
    if (typeof claims.ac !== 'string')
      throw new HttpError(401, 'unauthenticated', 'token has no ac claim')
    let scopes: TokenScope[]
    try {
      scopes = JSON.parse(claims.ac) as TokenScope[]
      if (!Array.isArray(scopes)) throw new Error('not an array')
    } catch {
      throw new HttpError(401, 'unauthenticated', 'token ac claim is not a JSON list')
    }
    const writable = scopes.filter(s => (s.Permission & 2) !== 0)
    const readable = scopes.filter(s => (s.Permission & 1) !== 0)
    // Search the current ref (the writable scope) first, then the others
    // (base / default branch) in token order, like GitHub.
    const readScopes = [
      ...readable.filter(s => (s.Permission & 2) !== 0),
      ...readable.filter(s => (s.Permission & 2) === 0)
    ].map(s => s.Scope)
    return {
      scopes,
      readScopes: [...new Set(readScopes)],
      writeScope: writable.length ? writable[writable.length - 1].Scope : null
    }
  }

  // ---- signed blob URLs ---------------------------------------------------

  function signedUrl(e: StoredEntry, perm: 'r' | 'cw', proto: Proto): string {
    const se = new Date(Date.now() + urlTtl * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z')
    const pathname = `${BLOB_PREFIX}${e.blobName}`
    const sig = hmac(secret, `${perm}\n${se}\n${proto}\n${pathname}`).toString('base64')
    const q = new URLSearchParams({ sv: AZURE_VERSION, sr: 'b', sp: perm, se, proto, sig })
    return `${baseUrl}${pathname.slice(1)}?${q.toString()}`
  }

  function checkSignature(u: URL, needed: 'r' | 'w'): Proto {
    const sp = u.searchParams.get('sp') ?? ''
    const se = u.searchParams.get('se') ?? ''
    const proto = u.searchParams.get('proto') ?? ''
    const sig = Buffer.from(u.searchParams.get('sig') ?? '', 'base64')
    const expected = hmac(secret, `${sp}\n${se}\n${proto}\n${u.pathname}`)
    if (!safeEqual(sig, expected) || (proto !== 'v1' && proto !== 'v2')) {
      throw new HttpError(
        403,
        'AuthenticationFailed',
        'Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.'
      )
    }
    if (!(Date.parse(se) > Date.now())) {
      throw new HttpError(
        403,
        'AuthenticationFailed',
        'Signed expiry time has to be after signed start time'
      )
    }
    if (!sp.includes(needed)) {
      throw new HttpError(
        403,
        'AuthorizationPermissionMismatch',
        'This request is not authorized to perform this operation using this permission.'
      )
    }
    return proto
  }

  // ---- matching -----------------------------------------------------------

  function findMatch(
    keys: string[],
    version: string,
    readScopes: string[]
  ): StoredEntry | undefined {
    const committed = state.entries.filter(e => e.committed && e.version === version)
    for (const scope of readScopes) {
      const inScope = committed.filter(e => e.scope === scope).sort(newer)
      for (const k of keys) {
        const exact = inScope.find(e => e.key === k)
        if (exact) return exact
        const prefix = inScope.find(e => e.key.startsWith(k))
        if (prefix) return prefix
      }
    }
    return undefined
  }

  function recordLookup(proto: Proto, keys: string[], hit: StoredEntry | undefined): void {
    bump(proto, keys[0], 'lookups')
    bump(proto, keys[0], !hit ? 'misses' : hit.key === keys[0] ? 'exactHits' : 'prefixHits')
  }

  function reserve(proto: Proto, key: string, version: string, writeScope: string): StoredEntry {
    const dup = state.entries.find(
      e => e.key === key && e.version === version && e.scope === writeScope
    )
    if (dup) {
      bump(proto, key, 'conflicts')
      throw new HttpError(409, 'already_exists', 'exists')
    }
    const e: StoredEntry = {
      id: state.nextId++,
      key,
      version,
      scope: writeScope,
      protocol: proto,
      committed: false,
      size: null,
      createdAt: new Date().toISOString(),
      committedAt: null,
      blobName: `${crypto.randomBytes(16).toString('hex')}`,
      ranges: [],
      uploadedSize: null,
      etag: `"0x${crypto.randomBytes(8).toString('hex').toUpperCase()}"`
    }
    state.entries.push(e)
    byBlobName.set(e.blobName, e)
    byId.set(e.id, e)
    bump(proto, key, 'reserves')
    persist()
    return e
  }

  async function commit(proto: Proto, e: StoredEntry, size: number): Promise<void> {
    const dst = path.join(blobsDir, String(e.id))
    const src = path.join(uploadsDir, `${e.id}.data`)
    if (fs.existsSync(src)) await fsp.rename(src, dst)
    else await fsp.writeFile(dst, Buffer.alloc(0))
    await fsp.rm(blocksDir(e), { recursive: true, force: true })
    e.committed = true
    e.size = size
    e.committedAt = new Date().toISOString()
    e.ranges = []
    bump(proto, e.key, 'commits')
    persist()
  }

  async function receiveInto(
    req: http.IncomingMessage,
    file: string,
    flags: string,
    start: number,
    proto: Proto,
    key: string
  ): Promise<number> {
    const c = counter()
    try {
      await pipeline(req, c, fs.createWriteStream(file, { flags, start }))
    } finally {
      bump(proto, key, 'bytesUploaded', c.bytes)
    }
    return c.bytes
  }

  // ---- v2: Twirp ----------------------------------------------------------

  async function handleTwirp(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    method: string
  ): Promise<void> {
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'Content-Type': 'application/json' })
      res.end(JSON.stringify(body))
    }
    try {
      if (req.method !== 'POST')
        throw new HttpError(
          404,
          'bad_route',
          `unsupported method ${req.method} (only POST is allowed)`
        )
      const ct = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase()
      if (ct !== 'application/json')
        throw new HttpError(404, 'bad_route', `unexpected Content-Type: "${ct}"`)
      if (
        !['CreateCacheEntry', 'FinalizeCacheEntryUpload', 'GetCacheEntryDownloadURL'].includes(
          method
        )
      ) {
        throw new HttpError(404, 'bad_route', `no handler for path "${TWIRP_PREFIX}${method}"`)
      }
      let who: Principal
      try {
        who = authenticate(req)
      } catch (e) {
        counters.v2.unauthorized++
        throw e
      }
      const body = await readJson(req)
      const key = str(body, 'key')
      const version = str(body, 'version')
      checkKey(key, 'key')
      if (!version) throw new HttpError(400, 'invalid_argument', 'version is required')

      if (method === 'GetCacheEntryDownloadURL') {
        const rk = body['restore_keys'] ?? body['restoreKeys'] ?? []
        if (!Array.isArray(rk) || rk.some(k => typeof k !== 'string')) {
          throw new HttpError(400, 'invalid_argument', 'restore_keys must be a list of strings')
        }
        const keys = [key, ...(rk as string[])]
        if (keys.length > MAX_KEYS)
          throw new HttpError(400, 'invalid_argument', `at most ${MAX_KEYS} keys are allowed`)
        for (const k of rk as string[]) checkKey(k, 'restore key')
        if (who.readScopes.length === 0) {
          throw new HttpError(
            403,
            'permission_denied',
            'cache read denied: the token has no readable cache scope'
          )
        }
        const hit = findMatch(keys, version, who.readScopes)
        recordLookup('v2', keys, hit)
        if (!hit) return send(200, { ok: false, signed_download_url: '', matched_key: '' })
        return send(200, {
          ok: true,
          signed_download_url: signedUrl(hit, 'r', 'v2'),
          matched_key: hit.key
        })
      }

      if (method === 'CreateCacheEntry') {
        if (!who.writeScope) {
          return send(200, {
            ok: false,
            signed_upload_url: '',
            message: 'cache write denied: the token has no writable cache scope'
          })
        }
        let e: StoredEntry
        try {
          e = reserve('v2', key, version, who.writeScope)
        } catch (err) {
          if (err instanceof HttpError && err.status === 409) {
            throw new HttpError(
              409,
              'already_exists',
              'cache entry with the same key, version, and scope already exists'
            )
          }
          throw err
        }
        return send(200, { ok: true, signed_upload_url: signedUrl(e, 'cw', 'v2') })
      }

      // FinalizeCacheEntryUpload
      const size = int64(body, 'size_bytes') ?? int64(body, 'sizeBytes')
      if (size === null || size < 0)
        throw new HttpError(400, 'invalid_argument', 'size_bytes is required')
      if (!who.writeScope) {
        return send(200, {
          ok: false,
          entry_id: '0',
          message: 'cache write denied: the token has no writable cache scope'
        })
      }
      const e = state.entries.find(
        x => x.key === key && x.version === version && x.scope === who.writeScope
      )
      if (!e) throw new HttpError(404, 'not_found', 'cache entry not found')
      if (e.committed) {
        throw new HttpError(
          409,
          'already_exists',
          'cache entry with the same key, version, and scope already exists'
        )
      }
      if (e.uploadedSize === null) {
        return send(200, {
          ok: false,
          entry_id: '0',
          message: 'no blob was uploaded for this cache entry'
        })
      }
      if (e.uploadedSize !== size) {
        return send(200, {
          ok: false,
          entry_id: '0',
          message: `size_bytes ${size} does not match the uploaded blob size ${e.uploadedSize}`
        })
      }
      if (size > maxEntryBytes) {
        return send(200, {
          ok: false,
          entry_id: '0',
          message: `cache entry is larger than ${maxEntryBytes} bytes`
        })
      }
      await commit('v2', e, size)
      // entry_id is an int64, hence a JSON string (BuildKit's Go client requires that)
      return send(200, { ok: true, entry_id: String(e.id) })
    } catch (err) {
      const e =
        err instanceof HttpError ? err : new HttpError(500, 'internal', (err as Error).message)
      return send(e.status, { code: e.code, msg: e.message })
    }
  }

  // ---- v2: blob endpoint --------------------------------------------------

  function azureHeaders(e: StoredEntry | null): Record<string, string> {
    const h: Record<string, string> = {
      'x-ms-request-id': crypto.randomUUID(),
      'x-ms-version': AZURE_VERSION,
      Date: new Date().toUTCString()
    }
    if (e) {
      h['ETag'] = e.etag
      h['Last-Modified'] = httpDate(e.committedAt ?? e.createdAt)
    }
    return h
  }

  function sendAzureError(res: http.ServerResponse, err: HttpError): void {
    const body = `<?xml version="1.0" encoding="utf-8"?><Error><Code>${err.code}</Code><Message>${err.message
      .replace(/&/g, '&amp;')
      .replace(
        /</g,
        '&lt;'
      )}\nRequestId:${crypto.randomUUID()}\nTime:${new Date().toISOString()}</Message></Error>`
    res.writeHead(err.status, {
      ...azureHeaders(null),
      'x-ms-error-code': err.code,
      'Content-Type': 'application/xml',
      'Content-Length': Buffer.byteLength(body)
    })
    res.end(body)
  }

  async function handleBlob(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    u: URL
  ): Promise<void> {
    try {
      const blobName = u.pathname.slice(BLOB_PREFIX.length)
      const method = req.method ?? 'GET'
      const needed = method === 'GET' || method === 'HEAD' ? 'r' : 'w'
      const proto = checkSignature(u, needed)
      const e = byBlobName.get(blobName)
      if (!e) throw new HttpError(404, 'BlobNotFound', 'The specified blob does not exist.')

      if (method === 'GET' || method === 'HEAD') return await serveBlob(req, res, e, proto)

      if (method !== 'PUT')
        throw new HttpError(
          405,
          'UnsupportedHttpVerb',
          `The resource doesn't support the specified HTTP verb ${method}.`
        )
      if (e.committed) {
        throw new HttpError(
          409,
          'BlobImmutableDueToPolicy',
          'This operation is not permitted as the cache entry is already committed.'
        )
      }
      const comp = u.searchParams.get('comp')
      if (comp === 'block') {
        const blockId = u.searchParams.get('blockid') ?? ''
        const raw = Buffer.from(blockId, 'base64')
        if (!blockId || raw.length === 0 || raw.length > 64 || raw.toString('base64') !== blockId) {
          throw new HttpError(
            400,
            'InvalidQueryParameterValue',
            'Value for one of the query parameters specified in the request URI is invalid.'
          )
        }
        await fsp.mkdir(blocksDir(e), { recursive: true })
        const file = path.join(blocksDir(e), raw.toString('hex'))
        const tmp = `${file}.${crypto.randomBytes(4).toString('hex')}.tmp`
        const n = await receiveInto(req, tmp, 'w', 0, proto, e.key)
        const declared = req.headers['content-length']
        if (declared !== undefined && Number(declared) !== n) {
          await fsp.rm(tmp, { force: true })
          throw new HttpError(
            400,
            'InvalidInput',
            'The request body is shorter than Content-Length.'
          )
        }
        await fsp.rename(tmp, file)
        bump(proto, e.key, 'blocksStaged')
        res.writeHead(201, {
          ...azureHeaders(null),
          'x-ms-request-server-encrypted': 'true',
          'Content-Length': '0'
        })
        return void res.end()
      }
      if (comp === 'blocklist') {
        const xml = (await readBody(req, 8 * 1024 * 1024)).toString('utf8')
        if (!/<BlockList>/.test(xml))
          throw new HttpError(
            400,
            'InvalidXmlDocument',
            'XML specified is not syntactically valid.'
          )
        const ids = [...xml.matchAll(/<(Latest|Committed|Uncommitted)>\s*([^<]*?)\s*<\/\1>/g)].map(
          m => m[2]
        )
        const files = ids.map(id =>
          path.join(blocksDir(e), Buffer.from(id, 'base64').toString('hex'))
        )
        for (const f of files) {
          if (!fs.existsSync(f))
            throw new HttpError(400, 'InvalidBlockList', 'The specified block list is invalid.')
        }
        const out = path.join(uploadsDir, `${e.id}.data`)
        const tmp = `${out}.${crypto.randomBytes(4).toString('hex')}.tmp`
        const fh = await fsp.open(tmp, 'w')
        try {
          for (const f of files) {
            for await (const chunk of fs.createReadStream(f)) await fh.write(chunk as Buffer)
          }
        } finally {
          await fh.close()
        }
        await fsp.rename(tmp, out)
        await fsp.rm(blocksDir(e), { recursive: true, force: true })
        e.uploadedSize = (await fsp.stat(out)).size
        e.etag = `"0x${crypto.randomBytes(8).toString('hex').toUpperCase()}"`
        bump(proto, e.key, 'blockLists')
        persist()
        res.writeHead(201, {
          ...azureHeaders(e),
          'x-ms-request-server-encrypted': 'true',
          'Content-Length': '0'
        })
        return void res.end()
      }
      if (comp) throw new HttpError(400, 'InvalidQueryParameterValue', `Unsupported comp=${comp}.`)
      // Put Blob
      const blobType = req.headers['x-ms-blob-type']
      if (blobType !== 'BlockBlob') {
        throw new HttpError(
          400,
          'MissingRequiredHeader',
          "An HTTP header that's mandatory for this request is not specified: x-ms-blob-type=BlockBlob."
        )
      }
      const out = path.join(uploadsDir, `${e.id}.data`)
      const tmp = `${out}.${crypto.randomBytes(4).toString('hex')}.tmp`
      const n = await receiveInto(req, tmp, 'w', 0, proto, e.key)
      const declared = req.headers['content-length']
      if (declared !== undefined && Number(declared) !== n) {
        await fsp.rm(tmp, { force: true })
        throw new HttpError(400, 'InvalidInput', 'The request body is shorter than Content-Length.')
      }
      await fsp.rename(tmp, out)
      e.uploadedSize = n
      e.etag = `"0x${crypto.randomBytes(8).toString('hex').toUpperCase()}"`
      bump(proto, e.key, 'singleShotUploads')
      persist()
      res.writeHead(201, {
        ...azureHeaders(e),
        'x-ms-request-server-encrypted': 'true',
        'Content-Length': '0'
      })
      return void res.end()
    } catch (err) {
      const e =
        err instanceof HttpError ? err : new HttpError(500, 'InternalError', (err as Error).message)
      if (!res.headersSent) sendAzureError(res, e)
      else res.destroy()
    }
  }

  async function serveBlob(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    e: StoredEntry,
    proto: Proto
  ): Promise<void> {
    if (!e.committed || e.size === null)
      throw new HttpError(404, 'BlobNotFound', 'The specified blob does not exist.')
    const size = e.size
    const rangeHeader = (req.headers['x-ms-range'] as string | undefined) ?? req.headers['range']
    const range = parseRange(rangeHeader, size)
    const headers: Record<string, string> = {
      ...azureHeaders(e),
      'Content-Type': 'application/octet-stream',
      'Accept-Ranges': 'bytes',
      'x-ms-blob-type': 'BlockBlob',
      'x-ms-creation-time': httpDate(e.createdAt),
      'x-ms-lease-state': 'available',
      'x-ms-lease-status': 'unlocked',
      'x-ms-server-encrypted': 'true'
    }
    if (range === 'unsatisfiable') {
      res.writeHead(416, {
        ...headers,
        'Content-Range': `bytes */${size}`,
        'x-ms-error-code': 'InvalidRange',
        'Content-Length': '0'
      })
      return void res.end()
    }
    const start = range ? range.start : 0
    const end = range ? range.end : size - 1
    const length = size === 0 ? 0 : end - start + 1
    headers['Content-Length'] = String(length)
    if (range) headers['Content-Range'] = `bytes ${start}-${end}/${size}`
    res.writeHead(range ? 206 : 200, headers)
    if (req.method === 'HEAD') return void res.end()
    bump(proto, e.key, 'downloads')
    if (range) bump(proto, e.key, 'rangeDownloads')
    if (length === 0) return void res.end()
    const c = counter()
    try {
      await pipeline(fs.createReadStream(dataPath(e), { start, end }), c, res)
    } finally {
      bump(proto, e.key, 'bytesDownloaded', c.bytes)
    }
  }

  // ---- v1 REST ------------------------------------------------------------

  async function handleV1(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    u: URL,
    resource: string
  ): Promise<void> {
    const send = (status: number, body?: unknown): void => {
      if (body === undefined) {
        res.writeHead(status)
        return void res.end()
      }
      res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' })
      res.end(JSON.stringify(body))
    }
    const apiError = (status: number, typeKey: string, message: string): HttpError =>
      new HttpError(status, typeKey, message)
    try {
      let who: Principal
      try {
        who = authenticate(req)
      } catch (e) {
        counters.v1.unauthorized++
        throw e
      }
      const method = req.method ?? 'GET'

      if (resource === 'cache' && method === 'GET') {
        const keysParam = u.searchParams.get('keys') ?? ''
        const version = u.searchParams.get('version') ?? ''
        const keys = keysParam.split(',').filter(k => k !== '')
        if (keys.length === 0) throw apiError(400, 'ArgumentException', 'keys is required')
        if (keys.length > MAX_KEYS)
          throw apiError(400, 'ArgumentException', `at most ${MAX_KEYS} keys are allowed`)
        for (const k of keys) checkKey(k, 'key')
        if (!version) throw apiError(400, 'ArgumentException', 'version is required')
        if (who.readScopes.length === 0) {
          throw apiError(
            403,
            'ArtifactCacheReadDeniedException',
            'cache read denied: the token has no readable cache scope'
          )
        }
        const hit = findMatch(keys, version, who.readScopes)
        recordLookup('v1', keys, hit)
        if (!hit) return send(204)
        return send(200, {
          scope: hit.scope,
          cacheKey: hit.key,
          cacheVersion: hit.version,
          creationTime: hit.createdAt,
          archiveLocation: signedUrl(hit, 'r', 'v1')
        })
      }

      if (resource === 'caches' && method === 'GET') {
        // diagnostics listing used by @actions/cache in debug mode
        const key = u.searchParams.get('key') ?? ''
        const list = state.entries
          .filter(e => e.committed && e.key === key && who.readScopes.includes(e.scope))
          .sort(newer)
          .map(e => ({
            cacheKey: e.key,
            cacheVersion: e.version,
            scope: e.scope,
            creationTime: e.createdAt
          }))
        return send(200, { totalCount: list.length, artifactCaches: list })
      }

      if (resource === 'caches' && method === 'POST') {
        const body = await readJson(req)
        const key = str(body, 'key')
        const version = str(body, 'version')
        checkKey(key, 'key')
        if (!version) throw apiError(400, 'ArgumentException', 'version is required')
        const cacheSize = int64(body, 'cacheSize')
        if (cacheSize !== null && cacheSize > maxEntryBytes) {
          throw apiError(
            400,
            'ArtifactCacheSizeLimitExceededException',
            `Cache size of ~${Math.round(cacheSize / (1024 * 1024))} MB (${cacheSize} B) is over the data cap limit, not saving cache.`
          )
        }
        if (!who.writeScope) {
          throw apiError(
            403,
            'ArtifactCacheWriteDeniedException',
            'cache write denied: the token has no writable cache scope'
          )
        }
        let e: StoredEntry
        try {
          e = reserve('v1', key, version, who.writeScope)
        } catch (err) {
          if (err instanceof HttpError && err.status === 409) {
            throw apiError(
              409,
              'ArtifactCacheItemAlreadyExistsException',
              `Cache already exists. Scope: ${who.writeScope}, Key: ${key}, Version: ${version}`
            )
          }
          throw err
        }
        await fsp.writeFile(path.join(uploadsDir, `${e.id}.data`), Buffer.alloc(0))
        return send(201, { cacheId: e.id })
      }

      const m = /^caches\/(\d+)$/.exec(resource)
      if (m && (method === 'PATCH' || method === 'POST')) {
        const e = byId.get(Number(m[1]))
        if (!e || e.protocol !== 'v1' || e.scope !== who.writeScope) {
          throw apiError(
            404,
            'ArtifactCacheNotFoundException',
            `Cache with id ${m[1]} was not found`
          )
        }
        if (e.committed)
          throw apiError(
            400,
            'InvalidOperationException',
            `Cache with id ${e.id} is already committed`
          )

        if (method === 'PATCH') {
          const cr = /^bytes (\d+)-(\d+)\/(\*|\d+)$/.exec(req.headers['content-range'] ?? '')
          if (!cr)
            throw apiError(400, 'ArgumentException', 'Content-Range header is missing or malformed')
          const start = Number(cr[1])
          const end = Number(cr[2])
          if (end < start || end >= maxEntryBytes)
            throw apiError(400, 'ArgumentException', 'Content-Range is invalid')
          const file = path.join(uploadsDir, `${e.id}.data`)
          const n = await receiveInto(req, file, 'r+', start, 'v1', e.key)
          if (n !== end - start + 1) {
            throw apiError(
              400,
              'ArgumentException',
              `Content-Range ${start}-${end} does not match the ${n} bytes received`
            )
          }
          e.ranges = mergeRange(e.ranges, start, end)
          bump('v1', e.key, 'chunks')
          persist()
          return send(204)
        }

        // commit
        const body = await readJson(req)
        const size = int64(body, 'size')
        if (size === null || size < 0) throw apiError(400, 'ArgumentException', 'size is required')
        const covered =
          size === 0
            ? e.ranges.length === 0
            : e.ranges.length === 1 && e.ranges[0][0] === 0 && e.ranges[0][1] === size - 1
        if (!covered) {
          const got = e.ranges.map(r => `${r[0]}-${r[1]}`).join(',') || 'nothing'
          throw apiError(
            400,
            'ArgumentException',
            `Uploaded cache size does not match the committed size ${size} (received ranges: ${got})`
          )
        }
        await commit('v1', e, size)
        return send(204)
      }

      throw apiError(404, 'NotFound', `no route for ${method} ${V1_MARKER}${resource}`)
    } catch (err) {
      const e =
        err instanceof HttpError
          ? err
          : new HttpError(500, 'InternalServerError', (err as Error).message)
      if (res.headersSent) return void res.destroy()
      send(e.status, {
        $id: '1',
        innerException: null,
        message: e.message,
        typeName: `Microsoft.Azure.DevOps.ArtifactCache.WebApi.${e.code}, Microsoft.Azure.DevOps.ArtifactCache.WebApi`,
        typeKey: e.code,
        errorCode: 0,
        eventId: 3000
      })
    }
  }

  // ---- dispatch -------------------------------------------------------------

  function snapshot(): CacheStats {
    const entryList = state.entries.map(toInfo)
    const committed = state.entries.filter(e => e.committed)
    const total = emptyProtocolStats()
    for (const k of Object.keys(total) as Array<keyof ProtocolStats>)
      total[k] = counters.v1[k] + counters.v2[k]
    return {
      entries: committed.length,
      pending: state.entries.length - committed.length,
      totalBytes: committed.reduce((n, e) => n + (e.size ?? 0), 0),
      keys: committed.map(e => e.key),
      entryList,
      v1: { ...counters.v1 },
      v2: { ...counters.v2 },
      total
    }
  }

  function statsFor(...prefixes: string[]): KeyStats {
    const out = { v1: emptyProtocolStats(), v2: emptyProtocolStats(), total: emptyProtocolStats() }
    for (const [key, k] of perKey) {
      if (!prefixes.some(p => key.startsWith(p))) continue
      for (const f of Object.keys(out.total) as Array<keyof ProtocolStats>) {
        out.v1[f] += k.v1[f]
        out.v2[f] += k.v2[f]
        out.total[f] += k.v1[f] + k.v2[f]
      }
    }
    return out
  }

  function toInfo(e: StoredEntry): EntryInfo {
    return {
      id: e.id,
      key: e.key,
      version: e.version,
      scope: e.scope,
      protocol: e.protocol,
      committed: e.committed,
      size: e.size,
      createdAt: e.createdAt,
      committedAt: e.committedAt
    }
  }

  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://localhost')
    if (log) {
      res.on('close', () => {
        const q = u.search ? `?${u.search.slice(1).replace(/sig=[^&]*/, 'sig=***')}` : ''
        log(
          `${req.method} ${u.pathname}${q} -> ${res.statusCode}${res.writableFinished ? '' : ' (aborted)'}`
        )
      })
    }
    const p = u.pathname
    let work: Promise<void>
    if (p.startsWith(TWIRP_PREFIX)) {
      work = handleTwirp(req, res, p.slice(TWIRP_PREFIX.length))
    } else if (p.includes(V1_MARKER)) {
      work = handleV1(req, res, u, p.slice(p.indexOf(V1_MARKER) + V1_MARKER.length))
    } else if (p.startsWith(BLOB_PREFIX)) {
      work = handleBlob(req, res, u)
    } else if (p === '/_stats' && req.method === 'GET') {
      res.writeHead(200, { 'Content-Type': 'application/json' })
      res.end(JSON.stringify(snapshot()))
      return
    } else if (p === '/_env' && req.method === 'GET') {
      res.writeHead(200, { 'Content-Type': 'application/json' })
      res.end(JSON.stringify(env()))
      return
    } else {
      res.writeHead(404, { 'Content-Type': 'application/json' })
      res.end(JSON.stringify({ code: 'bad_route', msg: `no handler for ${req.method} ${p}` }))
      return
    }
    work.catch(err => {
      if (!res.headersSent) {
        res.writeHead(500, { 'Content-Type': 'application/json' })
        res.end(JSON.stringify({ code: 'internal', msg: String((err as Error)?.message ?? err) }))
      } else {
        res.destroy()
      }
    })
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const port = (server.address() as AddressInfo).port
  let advertised =
    options.advertiseHost ??
    (host === '0.0.0.0' || host === '::' || host === '' ? '127.0.0.1' : host)
  if (advertised.includes(':') && !advertised.startsWith('[')) advertised = `[${advertised}]`
  const baseUrl = `http://${advertised}:${port}/`
  const cacheUrl = `${baseUrl}${v1Prefix}/`

  function env(opts?: TokenOptions): Record<string, string> {
    return {
      ACTIONS_RUNTIME_TOKEN: mintToken(opts),
      ACTIONS_RESULTS_URL: baseUrl,
      ACTIONS_CACHE_URL: cacheUrl,
      ACTIONS_CACHE_SERVICE_V2: 'True'
    }
  }

  let stopped: Promise<void> | null = null
  return {
    url: baseUrl,
    port,
    host,
    dir,
    cacheUrl,
    resultsUrl: baseUrl,
    stop(): Promise<void> {
      if (!stopped) {
        stopped = new Promise<void>(resolve => {
          server.close(() => resolve())
          server.closeAllConnections()
        })
      }
      return stopped
    },
    stats: snapshot,
    statsFor,
    resetStats(): void {
      counters = { v1: emptyProtocolStats(), v2: emptyProtocolStats() }
      perKey = new Map()
    },
    entries: () => state.entries.map(toInfo),
    evict(key: string): number {
      const gone = state.entries.filter(e => e.committed && e.key === key)
      for (const e of gone) {
        fs.rmSync(dataPath(e), { force: true })
        byBlobName.delete(e.blobName)
        byId.delete(e.id)
      }
      state.entries = state.entries.filter(e => !gone.includes(e))
      persist()
      return gone.length
    },
    token: mintToken,
    env
  }
}
