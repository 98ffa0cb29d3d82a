/**
 * Tests for the local GitHub Actions cache service (test/cache-server/server.ts).
 *
 * Most tests drive the real clients against it: @actions/cache 6.x (v2 Twirp +
 * Azure blob upload through @azure/storage-blob, and the v1 REST path), raw HTTP
 * the way BuildKit's go-actions-cache speaks v1, and (when `go` is installed) the
 * real go-actions-cache at the versions BuildKit v0.13 (v1) and current BuildKit
 * (v2) vendor.
 */
import {
  afterAll,
  afterEach,
  beforeAll,
  beforeEach,
  describe,
  expect,
  jest,
  test
} from '@jest/globals'
import * as cache from '@actions/cache'
import { BlockBlobClient } from '@azure/storage-blob'
import { spawn, spawnSync } from 'node:child_process'
import * as crypto from 'node:crypto'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { startCacheServer, type CacheServer, type TokenScope } from './server.js'

const here = path.dirname(fileURLToPath(import.meta.url))
const repoRoot = path.resolve(here, '..', '..')
const TWIRP = 'twirp/github.actions.results.api.v1.CacheService/'
/** go-actions-cache's constant version: sha256("|go-actionscache-1.0") */
const GO_VERSION = '693bb7016429d80366022f036f84856888c9f13e00145f5f6f4dce303a38d6f2'
const MAIN: TokenScope[] = [{ Scope: 'refs/heads/main', Permission: 3 }]
const PR: TokenScope[] = [
  { Scope: 'refs/pull/7/merge', Permission: 3 },
  { Scope: 'refs/heads/main', Permission: 1 }
]

jest.setTimeout(60_000)

// ---------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'cache-server-test-'))
afterAll(() => fs.rmSync(tmpRoot, { recursive: true, force: true }))

let seq = 0
function tmpDir(name: string): string {
  const d = path.join(tmpRoot, `${name}-${++seq}`)
  fs.mkdirSync(d, { recursive: true })
  return d
}

function uniq(prefix: string): string {
  return `${prefix}-${crypto.randomBytes(4).toString('hex')}-`
}

// process.env is restored after every test; @actions/cache reads it per call
let savedEnv: Record<string, string | undefined> = {}
beforeEach(() => {
  savedEnv = { ...process.env }
})
afterEach(() => {
  for (const k of Object.keys(process.env)) if (!(k in savedEnv)) delete process.env[k]
  for (const [k, v] of Object.entries(savedEnv)) process.env[k] = v
})

function setEnv(vars: Record<string, string | undefined>): void {
  for (const [k, v] of Object.entries(vars)) {
    if (v === undefined) delete process.env[k]
    else process.env[k] = v
  }
}

// @actions/core logs through process.stdout.write; capture it so tests can
// assert on the client's messages and the jest output stays readable.
let output: string[] = []
beforeEach(() => {
  output = []
  jest.spyOn(process.stdout, 'write').mockImplementation(((chunk: unknown) => {
    output.push(String(chunk))
    return true
  }) as typeof process.stdout.write)
})
afterEach(() => {
  jest.restoreAllMocks()
})
const logs = (): string => output.join('')

/** A workspace with RUNNER_TEMP/GITHUB_WORKSPACE set, as a runner provides them. */
function workspace(): { ws: string; dataDir: string } {
  const ws = tmpDir('ws')
  fs.mkdirSync(path.join(ws, '_temp'))
  setEnv({ GITHUB_WORKSPACE: ws, RUNNER_TEMP: path.join(ws, '_temp') })
  return { ws, dataDir: path.join(ws, 'data') }
}

function writeFiles(dir: string, files: Record<string, string | Buffer>): void {
  fs.rmSync(dir, { recursive: true, force: true })
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true })
    fs.writeFileSync(path.join(dir, name), content)
  }
}

function readFiles(dir: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const name of fs.readdirSync(dir, { recursive: true }) as string[]) {
    const p = path.join(dir, name)
    if (fs.statSync(p).isFile())
      out[name] = crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex')
  }
  return out
}

function useServer(server: CacheServer, mode: 'v1' | 'v2', scopes?: TokenScope[]): void {
  const env = server.env(scopes ? { scopes } : undefined)
  setEnv({ ...env, GITHUB_SERVER_URL: undefined, ACTIONS_CACHE_MODE: undefined })
  if (mode === 'v1') setEnv({ ACTIONS_CACHE_SERVICE_V2: undefined })
}

function hasZstd(): boolean {
  const r = spawnSync('zstd', ['--quiet', '--version'], { encoding: 'utf8' })
  return r.status !== null && `${r.stdout ?? ''}${r.stderr ?? ''}` !== ''
}

function actionsCacheVersion(paths: string[]): string {
  const method = hasZstd() ? 'zstd-without-long' : 'gzip'
  return crypto
    .createHash('sha256')
    .update([...paths, method, '1.0'].join('|'))
    .digest('hex')
}

async function twirp(
  server: CacheServer,
  method: string,
  body: unknown,
  token?: string | null
): Promise<{ status: number; json: Record<string, unknown> }> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' }
  if (token !== null) headers.Authorization = `Bearer ${token ?? server.token()}`
  const res = await fetch(`${server.url}${TWIRP}${method}`, {
    method: 'POST',
    headers,
    body: JSON.stringify(body)
  })
  return { status: res.status, json: (await res.json()) as Record<string, unknown> }
}

/** v1 REST the way go-actions-cache sends it (Accept header, Bearer token, base + "_apis/artifactcache/"). */
async function v1(
  server: CacheServer,
  method: string,
  resource: string,
  opts: {
    body?: Buffer | string
    headers?: Record<string, string>
    token?: string | null
    base?: string
  } = {}
): Promise<Response> {
  const headers: Record<string, string> = {
    Accept: 'application/json;api-version=6.0-preview.1',
    ...opts.headers
  }
  if (opts.token !== null) headers.Authorization = `Bearer ${opts.token ?? server.token()}`
  const body =
    typeof opts.body === 'string' || opts.body === undefined
      ? opts.body
      : Uint8Array.from(opts.body)
  return fetch(`${opts.base ?? server.cacheUrl}_apis/artifactcache/${resource}`, {
    method,
    headers,
    body
  })
}

// ---------------------------------------------------------------------------
// @actions/cache, v2 (the protocol github.com speaks)
// ---------------------------------------------------------------------------

describe('@actions/cache v2 against the local service', () => {
  let server: CacheServer
  beforeAll(async () => {
    server = await startCacheServer({ dir: tmpDir('srv-v2') })
  })
  afterAll(() => server.stop())
  beforeEach(() => server.resetStats())

  test('env() looks like what the runner hands a node action', () => {
    const env = server.env()
    expect(env.ACTIONS_CACHE_SERVICE_V2).toBe('True')
    expect(env.ACTIONS_RESULTS_URL).toBe(`http://127.0.0.1:${server.port}/`)
    expect(env.ACTIONS_CACHE_URL).toMatch(
      new RegExp(`^http://127\\.0\\.0\\.1:${server.port}/[0-9a-f]+/$`)
    )
    const parts = env.ACTIONS_RUNTIME_TOKEN.split('.')
    expect(parts).toHaveLength(3)
    const claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString()) as Record<
      string,
      unknown
    >
    expect(JSON.parse(claims.ac as string)).toEqual(MAIN)
    expect(typeof claims.ac).toBe('string') // BuildKit requires a JSON *string*
    const now = Date.now() / 1000
    expect(claims.nbf as number).toBeLessThanOrEqual(now)
    expect(claims.exp as number).toBeGreaterThan(now + 3600)
  })

  test('save then exact restore round-trips file contents', async () => {
    const { dataDir } = workspace()
    useServer(server, 'v2')
    const key = `${uniq('go-mod')}abc`
    writeFiles(dataDir, { 'a.txt': 'hello\n', 'sub/b.bin': crypto.randomBytes(100 * 1024) })
    const before = readFiles(dataDir)

    const id = await cache.saveCache([dataDir], key)
    expect(id).toBeGreaterThan(0)
    fs.rmSync(dataDir, { recursive: true })

    expect(await cache.restoreCache([dataDir], key)).toBe(key)
    expect(readFiles(dataDir)).toEqual(before)
    expect(logs()).toContain(`Cache hit for: ${key}`)

    const s = server.stats()
    expect(s.keys).toContain(key)
    const entry = s.entryList.find(e => e.key === key)
    expect(entry).toMatchObject({ id, committed: true, protocol: 'v2', scope: 'refs/heads/main' })
    expect(entry?.version).toBe(actionsCacheVersion([dataDir]))
    expect(s.v2).toMatchObject({
      reserves: 1,
      commits: 1,
      lookups: 1,
      exactHits: 1,
      prefixHits: 0,
      misses: 0,
      singleShotUploads: 1,
      blocksStaged: 0,
      downloads: 1
    })
    expect(s.v2.bytesUploaded).toBe(entry?.size)
    expect(s.v2.bytesDownloaded).toBe(entry?.size)
    expect(s.v1.lookups).toBe(0)
  })

  test('miss returns undefined and is counted', async () => {
    const { dataDir } = workspace()
    useServer(server, 'v2')
    expect(
      await cache.restoreCache([dataDir], uniq('nothing'), [uniq('nothing-either')])
    ).toBeUndefined()
    expect(server.stats().v2).toMatchObject({ lookups: 1, misses: 1, exactHits: 0, prefixHits: 0 })
  })

  test('evict: the entry and its archive are gone, a restore of its key falls back to an older one', async () => {
    const { dataDir } = workspace()
    useServer(server, 'v2')
    const prefix = uniq('evict')
    writeFiles(dataDir, { 'a.txt': 'old\n' })
    const old = readFiles(dataDir)
    await cache.saveCache([dataDir], `${prefix}1`)
    writeFiles(dataDir, { 'a.txt': 'new\n' })
    await cache.saveCache([dataDir], `${prefix}2`)
    const archive = path.join(
      server.dir,
      'blobs',
      String(server.entries().find(e => e.key === `${prefix}2`)?.id)
    )
    expect(fs.existsSync(archive)).toBe(true)

    expect(server.evict(`${prefix}2`)).toBe(1)
    expect(server.evict(`${prefix}2`)).toBe(0)
    expect(fs.existsSync(archive)).toBe(false)
    expect(server.stats().keys).not.toContain(`${prefix}2`)
    fs.rmSync(dataDir, { recursive: true })
    expect(await cache.restoreCache([dataDir], `${prefix}2`, [prefix])).toBe(`${prefix}1`)
    expect(readFiles(dataDir)).toEqual(old)
  })

  test('statsFor: two clients on v2 are counted apart by their keys; lookups by the primary key', async () => {
    const { dataDir } = workspace()
    useServer(server, 'v2')
    // the action's Go cache and, say, BuildKit's blobs: same protocol, other key prefixes
    const go = uniq('go-image-action-go')
    const bk = uniq('buildkit-blob')
    writeFiles(dataDir, { 'a.txt': 'go' })
    expect(await cache.saveCache([dataDir], `${go}1`)).toBeGreaterThan(0)
    expect(await cache.restoreCache([dataDir], `${go}1`)).toBe(`${go}1`)
    // a miss on bk's primary key that a restore key of the other prefix would not match either
    expect(await cache.restoreCache([dataDir], `${bk}1`, [`${go}zzz`])).toBeUndefined()
    writeFiles(dataDir, { 'b.txt': 'bk' })
    expect(await cache.saveCache([dataDir], `${bk}2`)).toBeGreaterThan(0)
    // a prefix hit counts for the key asked for (bk), not for the entry found
    expect(await cache.restoreCache([dataDir], `${bk}9`, [bk])).toBe(`${bk}2`)

    const g = server.statsFor(go).v2
    const b = server.statsFor(bk).v2
    expect(g).toMatchObject({ lookups: 1, exactHits: 1, misses: 0, reserves: 1, commits: 1 })
    expect(g).toMatchObject({ downloads: 1, singleShotUploads: 1 })
    expect(b).toMatchObject({ lookups: 2, misses: 1, prefixHits: 1, reserves: 1, commits: 1 })
    expect(b).toMatchObject({ downloads: 1, singleShotUploads: 1 })
    expect(server.statsFor(go).v1.lookups + server.statsFor(bk).v1.lookups).toBe(0)
    // the two add up to the protocol's counts (nothing else ran since the reset)
    const all = server.stats().v2
    for (const f of ['lookups', 'reserves', 'commits', 'downloads', 'bytesUploaded'] as const)
      expect(g[f] + b[f]).toBe(all[f])
    expect(server.statsFor(go).total).toEqual(g)
    server.resetStats()
    expect(server.statsFor(go).total.lookups + server.statsFor(bk).total.commits).toBe(0)
  })

  test('restore keys: prefix match picks the newest entry, exact beats prefix, keys in order', async () => {
    const { dataDir } = workspace()
    useServer(server, 'v2')
    const p = uniq('go-build')
    for (const suffix of ['aaa', 'bbb', 'bbbb']) {
      writeFiles(dataDir, { 'which.txt': suffix })
      expect(await cache.saveCache([dataDir], `${p}${suffix}`)).toBeGreaterThan(0)
    }
    const restoreWhich = async (
      key: string,
      restoreKeys?: string[]
    ): Promise<[string | undefined, string]> => {
      fs.rmSync(dataDir, { recursive: true, force: true })
      const hit = await cache.restoreCache([dataDir], key, restoreKeys)
      const which = fs.existsSync(path.join(dataDir, 'which.txt'))
        ? fs.readFileSync(path.join(dataDir, 'which.txt'), 'utf8')
        : ''
      return [hit, which]
    }
    server.resetStats()

    // primary misses, restore key is a prefix of all three: the newest wins
    expect(await restoreWhich(`${p}zzz`, [p])).toEqual([`${p}bbbb`, 'bbbb'])
    expect(logs()).toContain(`Cache hit for restore-key: ${p}bbbb`)
    // exact match of the primary key beats a newer prefix match (bbbb)
    expect(await restoreWhich(`${p}bbb`, [p])).toEqual([`${p}bbb`, 'bbb'])
    // the primary key itself is used as a prefix before any restore key
    expect(await restoreWhich(`${p}a`, [`${p}bbb`])).toEqual([`${p}aaa`, 'aaa'])
    // restore keys are tried in order; an exact restore key beats a newer prefix match of it
    expect(await restoreWhich(`${p}zzz`, [`${p}nope`, `${p}bbb`, p])).toEqual([`${p}bbb`, 'bbb'])

    expect(server.stats().v2).toMatchObject({ lookups: 4, exactHits: 1, prefixHits: 3, misses: 0 })
  })

  test('matching requires the same version (paths and compression)', async () => {
    const { ws, dataDir } = workspace()
    useServer(server, 'v2')
    const key = `${uniq('ver')}x`
    writeFiles(dataDir, { 'f.txt': 'v' })
    expect(await cache.saveCache([dataDir], key)).toBeGreaterThan(0)
    // same key, different path list => different version => miss
    expect(await cache.restoreCache([dataDir, path.join(ws, 'other')], key)).toBeUndefined()
    expect(await cache.restoreCache([dataDir], key)).toBe(key)
  })

  test('duplicate save is rejected with 409 and the client reports it already exists', async () => {
    const { dataDir } = workspace()
    useServer(server, 'v2')
    const key = `${uniq('dup')}k`
    writeFiles(dataDir, { 'f.txt': 'first' })
    expect(await cache.saveCache([dataDir], key)).toBeGreaterThan(0)
    writeFiles(dataDir, { 'f.txt': 'second' })
    expect(await cache.saveCache([dataDir], key)).toBe(-1)
    expect(logs()).toContain(
      `Failed to save: Unable to reserve cache with key ${key}, another job may be creating this cache.`
    )
    expect(server.stats().v2).toMatchObject({ reserves: 1, conflicts: 1, commits: 1 })

    // the committed entry is unchanged
    fs.rmSync(dataDir, { recursive: true })
    expect(await cache.restoreCache([dataDir], key)).toBe(key)
    expect(fs.readFileSync(path.join(dataDir, 'f.txt'), 'utf8')).toBe('first')

    // what the wire says, as GitHub does
    const r = await twirp(server, 'CreateCacheEntry', {
      key,
      version: actionsCacheVersion([dataDir])
    })
    expect(r.status).toBe(409)
    expect(r.json).toEqual({
      code: 'already_exists',
      msg: 'cache entry with the same key, version, and scope already exists'
    })
  })

  test('a several-MiB archive round-trips (single-shot Put Blob)', async () => {
    const { dataDir } = workspace()
    useServer(server, 'v2')
    const key = `${uniq('big')}x`
    writeFiles(dataDir, { 'rand.bin': crypto.randomBytes(6 * 1024 * 1024 + 123) })
    const before = readFiles(dataDir)
    expect(await cache.saveCache([dataDir], key)).toBeGreaterThan(0)
    fs.rmSync(dataDir, { recursive: true })
    expect(await cache.restoreCache([dataDir], key)).toBe(key)
    expect(readFiles(dataDir)).toEqual(before)
    const s = server.stats().v2
    expect(s.singleShotUploads).toBe(1)
    expect(s.bytesUploaded).toBeGreaterThan(6 * 1024 * 1024)
    expect(s.bytesDownloaded).toBe(s.bytesUploaded)
  })

  // @actions/cache only switches to Put Block / Put Block List above 128 MiB
  // (maxSingleShotSize), so this one moves ~140 MiB through the real client.
  test('an archive over 128 MiB goes up in out-of-order 64 MiB blocks and round-trips', async () => {
    const { dataDir } = workspace()
    useServer(server, 'v2')
    const key = `${uniq('huge')}x`
    fs.mkdirSync(dataDir, { recursive: true })
    const fd = fs.openSync(path.join(dataDir, 'rand.bin'), 'w')
    for (let i = 0; i < 140; i++) fs.writeSync(fd, crypto.randomBytes(1024 * 1024))
    fs.closeSync(fd)
    const before = readFiles(dataDir)
    expect(await cache.saveCache([dataDir], key)).toBeGreaterThan(0)
    fs.rmSync(dataDir, { recursive: true })
    expect(await cache.restoreCache([dataDir], key)).toBe(key)
    expect(readFiles(dataDir)).toEqual(before)
    const s = server.stats().v2
    expect(s).toMatchObject({
      singleShotUploads: 0,
      blocksStaged: 3,
      blockLists: 1,
      commits: 1,
      exactHits: 1
    })
    expect(s.bytesDownloaded).toBe(s.bytesUploaded)
  }, 180_000)

  test('scopes: a PR reads its base branch, writes only its own scope; read-only tokens cannot save', async () => {
    const { dataDir } = workspace()
    const key = `${uniq('scoped')}k`

    useServer(server, 'v2', MAIN)
    writeFiles(dataDir, { 'f.txt': 'main' })
    expect(await cache.saveCache([dataDir], key)).toBeGreaterThan(0)

    // PR token: hit on main's entry (read scope)
    useServer(server, 'v2', PR)
    fs.rmSync(dataDir, { recursive: true })
    expect(await cache.restoreCache([dataDir], key)).toBe(key)
    expect(fs.readFileSync(path.join(dataDir, 'f.txt'), 'utf8')).toBe('main')
    // same key+version in the PR scope is not a duplicate
    writeFiles(dataDir, { 'f.txt': 'pr' })
    expect(await cache.saveCache([dataDir], key)).toBeGreaterThan(0)
    // the PR now finds its own entry first
    fs.rmSync(dataDir, { recursive: true })
    expect(await cache.restoreCache([dataDir], key)).toBe(key)
    expect(fs.readFileSync(path.join(dataDir, 'f.txt'), 'utf8')).toBe('pr')

    // main never sees the PR's entry
    useServer(server, 'v2', MAIN)
    fs.rmSync(dataDir, { recursive: true })
    expect(await cache.restoreCache([dataDir], key)).toBe(key)
    expect(fs.readFileSync(path.join(dataDir, 'f.txt'), 'utf8')).toBe('main')

    const scopes = server
      .stats()
      .entryList.filter(e => e.key === key)
      .map(e => e.scope)
    expect(scopes.sort()).toEqual(['refs/heads/main', 'refs/pull/7/merge'])

    // read-only token: save is denied with GitHub's `cache write denied:` prefix
    useServer(server, 'v2', [{ Scope: 'refs/heads/main', Permission: 1 }])
    writeFiles(dataDir, { 'f.txt': 'ro' })
    expect(await cache.saveCache([dataDir], `${key}ro`)).toBe(-1)
    expect(logs()).toMatch(/cache write denied:/)
  })

  test('the bearer token is checked', async () => {
    // no token, wrong signature, expired
    const body = { key: 'k', version: 'v' }
    const none = await twirp(server, 'GetCacheEntryDownloadURL', body, null)
    expect(none.status).toBe(401)
    expect(none.json.code).toBe('unauthenticated')
    const t = server.token()
    const forged = `${t.slice(0, t.lastIndexOf('.'))}.${Buffer.from('nope').toString('base64url')}`
    expect((await twirp(server, 'GetCacheEntryDownloadURL', body, forged)).status).toBe(401)
    const expired = server.token({ ttlSeconds: 10, clockSkewSeconds: -3600 })
    expect((await twirp(server, 'GetCacheEntryDownloadURL', body, expired)).status).toBe(401)
    expect((await twirp(server, 'GetCacheEntryDownloadURL', body)).status).toBe(200)
    expect(server.stats().v2.unauthorized).toBe(3)

    // @actions/cache with a bad token: warning, restore is a miss, nothing thrown
    const { dataDir } = workspace()
    useServer(server, 'v2')
    process.env.ACTIONS_RUNTIME_TOKEN = forged
    expect(await cache.restoreCache([dataDir], 'whatever')).toBeUndefined()
    expect(logs()).toMatch(/Failed to restore: .*\(401\) Unauthorized/)
  })
})

// ---------------------------------------------------------------------------
// v2 wire details (what BuildKit >= 0.20's Go client relies on)
// ---------------------------------------------------------------------------

describe('v2 wire protocol', () => {
  let server: CacheServer
  beforeAll(async () => {
    server = await startCacheServer({ dir: tmpDir('srv-v2wire') })
  })
  afterAll(() => server.stop())
  beforeEach(() => server.resetStats())

  test('Azure SDK block upload (Put Block x N + Put Block List), ranged and HEAD downloads', async () => {
    const key = `${uniq('blocks')}k`
    const version = GO_VERSION
    const created = await twirp(server, 'CreateCacheEntry', { key, version })
    expect(created.status).toBe(200)
    expect(created.json.ok).toBe(true)
    const uploadUrl = created.json.signed_upload_url as string
    // path-style URL the SDK can parse for an IP host: /<account>/<container>/<blob>
    expect(new URL(uploadUrl).pathname).toMatch(/^\/devstoreaccount1\/actions-cache\/[0-9a-f]+$/)
    expect(new URL(uploadUrl).searchParams.get('sig')).toBeTruthy()

    const data = crypto.randomBytes(5 * 1024 * 1024 + 17)
    const client = new BlockBlobClient(uploadUrl)
    const up = await client.uploadData(data, {
      blockSize: 1024 * 1024,
      maxSingleShotSize: 1024 * 1024,
      concurrency: 4
    })
    expect(up._response.status).toBe(201)
    expect(up.requestId).toBeTruthy() // x-ms-request-id, which the Go client dereferences

    // Go sends size_bytes as a number; entry_id must come back as a string
    const fin = await twirp(server, 'FinalizeCacheEntryUpload', {
      key,
      size_bytes: data.length,
      version
    })
    expect(fin).toEqual({
      status: 200,
      json: { ok: true, entry_id: expect.stringMatching(/^\d+$/) }
    })

    const got = await twirp(server, 'GetCacheEntryDownloadURL', {
      key: `${key}zz`,
      restore_keys: [`${key}zz`, key],
      version
    })
    expect(got.json).toMatchObject({ ok: true, matched_key: key })
    const downloadUrl = got.json.signed_download_url as string

    // SDK download: HEAD (getProperties) + x-ms-range GETs
    const reader = new BlockBlobClient(downloadUrl)
    const props = await reader.getProperties()
    expect(props.contentLength).toBe(data.length)
    expect(
      Buffer.compare(
        await reader.downloadToBuffer(0, undefined, { blockSize: 2 * 1024 * 1024, concurrency: 2 }),
        data
      )
    ).toBe(0)
    // plain GET with Range, as go-actions-cache does when resuming
    const ranged = await fetch(downloadUrl, { headers: { Range: 'bytes=4194304-' } })
    expect(ranged.status).toBe(206)
    expect(ranged.headers.get('content-range')).toBe(
      `bytes 4194304-${data.length - 1}/${data.length}`
    )
    expect(Buffer.compare(Buffer.from(await ranged.arrayBuffer()), data.subarray(4194304))).toBe(0)
    expect(
      (await fetch(downloadUrl, { headers: { 'x-ms-range': `bytes=${data.length}-` } })).status
    ).toBe(416)

    const s = server.stats().v2
    expect(s).toMatchObject({
      blocksStaged: 6,
      blockLists: 1,
      singleShotUploads: 0,
      commits: 1,
      prefixHits: 1
    })
    expect(s.bytesUploaded).toBe(data.length)
  })

  test('signed URLs: tampering, wrong permission, missing blob type and committed blobs are refused', async () => {
    const key = `${uniq('sig')}k`
    const created = await twirp(server, 'CreateCacheEntry', { key, version: 'v' })
    const uploadUrl = new URL(created.json.signed_upload_url as string)

    const put = (
      u: URL,
      headers: Record<string, string> = { 'x-ms-blob-type': 'BlockBlob' }
    ): Promise<Response> => fetch(u, { method: 'PUT', headers, body: 'abc' })
    const tampered = new URL(uploadUrl)
    tampered.searchParams.set('se', '2099-01-01T00:00:00Z')
    const t = await put(tampered)
    expect(t.status).toBe(403)
    expect(t.headers.get('x-ms-error-code')).toBe('AuthenticationFailed')
    expect((await put(uploadUrl, {})).status).toBe(400) // no x-ms-blob-type
    const ok = await put(uploadUrl)
    expect(ok.status).toBe(201)
    expect(ok.headers.get('x-ms-request-id')).toBeTruthy()
    expect(ok.headers.get('etag')).toBeTruthy()

    // finalize with the wrong size: ok:false
    const bad = await twirp(server, 'FinalizeCacheEntryUpload', {
      key,
      size_bytes: '4',
      version: 'v'
    })
    expect(bad.json.ok).toBe(false)
    // before finalize the entry is invisible
    expect((await twirp(server, 'GetCacheEntryDownloadURL', { key, version: 'v' })).json.ok).toBe(
      false
    )
    expect(
      (await twirp(server, 'FinalizeCacheEntryUpload', { key, size_bytes: '3', version: 'v' })).json
        .ok
    ).toBe(true)
    expect((await put(uploadUrl)).status).toBe(409) // committed: immutable

    const dl = new URL(
      (await twirp(server, 'GetCacheEntryDownloadURL', { key, version: 'v' })).json
        .signed_download_url as string
    )
    expect(await (await fetch(dl)).text()).toBe('abc')
    expect((await put(dl)).status).toBe(403) // read-only URL
    expect(
      (
        await twirp(server, 'FinalizeCacheEntryUpload', {
          key: `${key}none`,
          size_bytes: '3',
          version: 'v'
        })
      ).status
    ).toBe(404)
  })

  test('Twirp errors are JSON; unknown methods and non-JSON bodies are rejected', async () => {
    const unknown = await twirp(server, 'DeleteCacheEntry', { key: 'k' })
    expect(unknown).toEqual({ status: 404, json: { code: 'bad_route', msg: expect.any(String) } })
    const res = await fetch(`${server.url}${TWIRP}CreateCacheEntry`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${server.token()}` },
      body: '{not json'
    })
    expect(res.status).toBe(400)
    expect(((await res.json()) as Record<string, unknown>).code).toBe('malformed')
    expect((await twirp(server, 'CreateCacheEntry', { key: 'a,b', version: 'v' })).status).toBe(400)
    expect(
      (await twirp(server, 'CreateCacheEntry', { key: 'x'.repeat(513), version: 'v' })).status
    ).toBe(400)
  })
})

// ---------------------------------------------------------------------------
// v1: @actions/cache (GHES / no ACTIONS_CACHE_SERVICE_V2) and go-actions-cache style
// ---------------------------------------------------------------------------

describe('v1 protocol', () => {
  let server: CacheServer
  beforeAll(async () => {
    server = await startCacheServer({ dir: tmpDir('srv-v1') })
  })
  afterAll(() => server.stop())
  beforeEach(() => server.resetStats())

  test('@actions/cache v1: multi-chunk save, exact and restore-key restore, duplicate rejected', async () => {
    const { dataDir } = workspace()
    useServer(server, 'v1')
    setEnv({ CACHE_UPLOAD_CHUNK_SIZE: '1' }) // 1 MiB chunks, 4 in parallel
    const p = uniq('v1')
    writeFiles(dataDir, { 'rand.bin': crypto.randomBytes(5 * 1024 * 1024 + 99), 'a.txt': 'one' })
    const before = readFiles(dataDir)
    const id = await cache.saveCache([dataDir], `${p}one`)
    expect(id).toBeGreaterThan(0)
    let s = server.stats()
    expect(s.v2.reserves).toBe(0)
    expect(s.v1).toMatchObject({ reserves: 1, commits: 1 })
    expect(s.v1.chunks).toBeGreaterThanOrEqual(6)
    expect(s.entryList.find(e => e.id === id)).toMatchObject({
      key: `${p}one`,
      protocol: 'v1',
      committed: true,
      version: actionsCacheVersion([dataDir])
    })

    fs.rmSync(dataDir, { recursive: true })
    expect(await cache.restoreCache([dataDir], `${p}one`)).toBe(`${p}one`)
    expect(readFiles(dataDir)).toEqual(before)

    writeFiles(dataDir, { 'a.txt': 'two' })
    expect(await cache.saveCache([dataDir], `${p}two`)).toBeGreaterThan(0)
    fs.rmSync(dataDir, { recursive: true })
    expect(await cache.restoreCache([dataDir], `${p}three`, [p])).toBe(`${p}two`)
    expect(fs.readFileSync(path.join(dataDir, 'a.txt'), 'utf8')).toBe('two')

    expect(await cache.saveCache([dataDir], `${p}two`)).toBe(-1)
    expect(logs()).toContain(
      `Failed to save: Unable to reserve cache with key ${p}two, another job may be creating this cache. More details: Cache already exists.`
    )
    expect(await cache.restoreCache([dataDir], uniq('absent'))).toBeUndefined()

    s = server.stats()
    expect(s.v1).toMatchObject({
      lookups: 3,
      exactHits: 1,
      prefixHits: 1,
      misses: 1,
      reserves: 2,
      conflicts: 1,
      commits: 2,
      downloads: 2
    })
    expect(s.v2.lookups).toBe(0)
  })

  test('GITHUB_SERVER_URL of a GHES host forces v1 even with ACTIONS_CACHE_SERVICE_V2', async () => {
    const { dataDir } = workspace()
    useServer(server, 'v2')
    setEnv({ GITHUB_SERVER_URL: 'https://ghes.example.com' })
    writeFiles(dataDir, { 'f.txt': 'x' })
    expect(await cache.saveCache([dataDir], `${uniq('ghes')}k`)).toBeGreaterThan(0)
    expect(server.stats().v1.commits).toBe(1)
    expect(server.stats().v2.reserves).toBe(0)
  })

  test('go-actions-cache call sequence: lookup, reserve, 409, chunked PATCH, commit, prefix lookup, ranged download', async () => {
    const key = `${uniq('buildkit-blob-1-sha256')}abc`
    const json = (r: Response): Promise<Record<string, unknown>> =>
      r.json() as Promise<Record<string, unknown>>

    // lookup miss
    const miss = await v1(
      server,
      'GET',
      `cache?keys=${encodeURIComponent(key)}&version=${GO_VERSION}`
    )
    expect(miss.status).toBe(204)
    expect(await miss.text()).toBe('')

    // reserve, then a duplicate reserve while still uncommitted
    const reserve = (): Promise<Response> =>
      v1(server, 'POST', 'caches', {
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ key, version: GO_VERSION })
      })
    const r1 = await reserve()
    expect(r1.status).toBe(201)
    const { cacheId } = (await json(r1)) as { cacheId: number }
    expect(cacheId).toBeGreaterThan(0)
    const dup = await reserve()
    expect(dup.status).toBe(409)
    const dupBody = await json(dup)
    expect(dupBody.typeKey).toContain('AlreadyExists') // go-actions-cache maps this to os.ErrExist
    expect(String(dupBody.message).toLowerCase()).toContain('already exists')

    // chunks out of order; a short body is refused
    const data = crypto.randomBytes(300_000)
    const patch = (
      start: number,
      end: number,
      body: Buffer = data.subarray(start, end + 1)
    ): Promise<Response> =>
      v1(server, 'PATCH', `caches/${cacheId}`, {
        headers: {
          'Content-Type': 'application/octet-stream',
          'Content-Range': `bytes ${start}-${end}/*`
        },
        body
      })
    expect((await patch(200_000, 299_999)).status).toBe(204)
    expect((await patch(0, 99_999, data.subarray(0, 10))).status).toBe(400)
    expect((await patch(0, 99_999)).status).toBe(204)

    // visible only after commit; commit checks the uploaded size
    const commit = (size: number): Promise<Response> =>
      v1(server, 'POST', `caches/${cacheId}`, {
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ size })
      })
    expect((await commit(300_000)).status).toBe(400) // 100000-199999 missing
    expect(
      (await v1(server, 'GET', `cache?keys=${encodeURIComponent(key)}&version=${GO_VERSION}`))
        .status
    ).toBe(204)
    expect((await patch(100_000, 199_999)).status).toBe(204)
    expect((await commit(300_000)).status).toBe(204)
    expect((await commit(300_000)).status).toBe(400) // already committed
    expect((await reserve()).status).toBe(409) // committed key+version

    // exact lookup; download without Authorization, and with Range as ReadAt(off>0) does
    const hit = await v1(
      server,
      'GET',
      `cache?keys=${encodeURIComponent(key)}&version=${GO_VERSION}`
    )
    expect(hit.status).toBe(200)
    const entry = await json(hit)
    expect(entry).toMatchObject({
      cacheKey: key,
      scope: 'refs/heads/main',
      cacheVersion: GO_VERSION
    })
    const loc = entry.archiveLocation as string
    const full = await fetch(loc)
    expect(full.status).toBe(200)
    expect(Buffer.compare(Buffer.from(await full.arrayBuffer()), data)).toBe(0)
    const part = await fetch(loc, { headers: { Range: 'bytes=123456-' } })
    expect(part.status).toBe(206)
    expect(part.headers.get('content-range')).toMatch(/^bytes 123456-/)
    expect(Buffer.compare(Buffer.from(await part.arrayBuffer()), data.subarray(123456))).toBe(0)

    // wrong version: miss
    expect(
      (await v1(server, 'GET', `cache?keys=${encodeURIComponent(key)}&version=${'0'.repeat(64)}`))
        .status
    ).toBe(204)

    const s = server.stats().v1
    expect(s).toMatchObject({
      lookups: 4,
      exactHits: 1,
      misses: 3,
      reserves: 1,
      conflicts: 2,
      commits: 1,
      chunks: 3,
      downloads: 2,
      rangeDownloads: 1
    })
    expect(s.bytesDownloaded).toBe(300_000 + 300_000 - 123456)
  })

  test('SaveMutable-style index: "<index>#" prefix lookups return the newest "#n"; any URL path prefix works', async () => {
    const index = `${uniq('index-expscope-1')}f921bd05`
    const bases = [server.cacheUrl, server.url, `${server.url}some/other/prefix/`]
    const save = async (key: string, body: string, base: string): Promise<void> => {
      const r = await v1(server, 'POST', 'caches', {
        base,
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ key, version: GO_VERSION })
      })
      expect(r.status).toBe(201)
      const { cacheId } = (await r.json()) as { cacheId: number }
      const p = await v1(server, 'PATCH', `caches/${cacheId}`, {
        base,
        headers: { 'Content-Range': `bytes 0-${body.length - 1}/*` },
        body
      })
      expect(p.status).toBe(204)
      expect(
        (
          await v1(server, 'POST', `caches/${cacheId}`, {
            base,
            body: JSON.stringify({ size: body.length })
          })
        ).status
      ).toBe(204)
    }
    const load = async (
      keys: string,
      base = server.cacheUrl
    ): Promise<Record<string, unknown> | null> => {
      const r = await v1(
        server,
        'GET',
        `cache?keys=${encodeURIComponent(keys)}&version=${GO_VERSION}`,
        { base }
      )
      return r.status === 204 ? null : ((await r.json()) as Record<string, unknown>)
    }
    expect(await load(`${index}#`)).toBeNull()
    await save(`${index}#1`, 'one', bases[0])
    await save(`${index}#2`, 'two', bases[1])
    expect((await load(`${index}#`))?.cacheKey).toBe(`${index}#2`)
    const imported = await load(index, bases[2])
    expect(imported?.cacheKey).toBe(`${index}#2`)
    expect(await (await fetch(imported?.archiveLocation as string)).text()).toBe('two')
    // multiple keys: the first one that matches wins
    expect((await load(`${index}#1,${index}`))?.cacheKey).toBe(`${index}#1`)
    expect(server.stats().keys).toEqual(expect.arrayContaining([`${index}#1`, `${index}#2`]))
  })

  test('v1 auth: 401 without a bearer token; read-only token cannot reserve', async () => {
    const noAuth = await v1(server, 'GET', `cache?keys=k&version=${GO_VERSION}`, { token: null })
    expect(noAuth.status).toBe(401)
    const ro = server.token({ scopes: [{ Scope: 'refs/heads/main', Permission: 1 }] })
    const r = await v1(server, 'POST', 'caches', {
      token: ro,
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ key: 'k', version: GO_VERSION })
    })
    expect(r.status).toBe(403)
    expect(((await r.json()) as Record<string, unknown>).message).toMatch(/^cache write denied:/)
    expect(server.stats().v1.unauthorized).toBe(1)
  })
})

// ---------------------------------------------------------------------------
// persistence, standalone process
// ---------------------------------------------------------------------------

describe('persistence and standalone mode', () => {
  test('entries, tokens and signed URLs survive a restart on the same dir', async () => {
    const dir = tmpDir('srv-persist')
    const { dataDir } = workspace()
    let server = await startCacheServer({ dir })
    useServer(server, 'v2')
    const token = process.env.ACTIONS_RUNTIME_TOKEN as string
    const key = `${uniq('persist')}k`
    writeFiles(dataDir, { 'f.txt': 'persisted' })
    expect(await cache.saveCache([dataDir], key)).toBeGreaterThan(0)
    // also a pending (reserved, uncommitted) v1 entry
    const pending = await v1(server, 'POST', 'caches', {
      body: JSON.stringify({ key: `${key}pending`, version: GO_VERSION }),
      headers: { 'Content-Type': 'application/json' }
    })
    expect(pending.status).toBe(201)
    const dl = (
      await twirp(server, 'GetCacheEntryDownloadURL', {
        key,
        version: actionsCacheVersion([dataDir])
      })
    ).json.signed_download_url as string
    const port = server.port
    await server.stop()

    server = await startCacheServer({ dir, port })
    try {
      expect(server.stats()).toMatchObject({ entries: 1, pending: 1, keys: [key] })
      expect(server.stats().v2.lookups).toBe(0) // counters are per process
      useServer(server, 'v2')
      process.env.ACTIONS_RUNTIME_TOKEN = token // a token minted before the restart
      fs.rmSync(dataDir, { recursive: true })
      expect(await cache.restoreCache([dataDir], key)).toBe(key)
      expect(fs.readFileSync(path.join(dataDir, 'f.txt'), 'utf8')).toBe('persisted')
      expect((await fetch(dl)).status).toBe(200)
      // still a duplicate after the restart, committed or not
      writeFiles(dataDir, { 'f.txt': 'again' })
      expect(await cache.saveCache([dataDir], key)).toBe(-1)
      const again = await v1(server, 'POST', 'caches', {
        body: JSON.stringify({ key: `${key}pending`, version: GO_VERSION }),
        headers: { 'Content-Type': 'application/json' }
      })
      expect(again.status).toBe(409)
    } finally {
      await server.stop()
    }
  })

  test('cli.ts runs under Node 24 type stripping, prints url+env, serves /_stats, stops on SIGTERM', async () => {
    const nodeBin = fs.existsSync(path.join(repoRoot, 'node_modules/.bin/node'))
      ? path.join(repoRoot, 'node_modules/.bin/node')
      : process.execPath
    const dir = tmpDir('srv-cli')
    const env = { ...process.env }
    delete env.NODE_OPTIONS
    const child = spawn(nodeBin, [path.join(here, 'cli.ts'), '--dir', dir, '--port', '0'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe']
    })
    let stderr = ''
    child.stderr.on('data', d => (stderr += String(d)))
    const exited = new Promise<number | null>(resolve => child.on('exit', code => resolve(code)))
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let buf = ''
        child.stdout.on('data', d => {
          buf += String(d)
          if (buf.includes('\n')) resolve(buf.slice(0, buf.indexOf('\n')))
        })
        child.on('exit', code => reject(new Error(`cli exited with ${code}: ${stderr}`)))
      })
      const ready = JSON.parse(line) as { url: string; port: number; env: Record<string, string> }
      expect(ready.url).toBe(`http://127.0.0.1:${ready.port}/`)
      expect(ready.env).toMatchObject({
        ACTIONS_RESULTS_URL: ready.url,
        ACTIONS_CACHE_SERVICE_V2: 'True'
      })
      expect(ready.env.ACTIONS_CACHE_URL.startsWith(ready.url)).toBe(true)

      // a v1 save with the printed env, then the stats another process sees
      const headers = {
        Authorization: `Bearer ${ready.env.ACTIONS_RUNTIME_TOKEN}`,
        'Content-Type': 'application/json'
      }
      const base = `${ready.env.ACTIONS_CACHE_URL}_apis/artifactcache/`
      const r = await fetch(`${base}caches`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ key: 'cli-key', version: GO_VERSION })
      })
      const { cacheId } = (await r.json()) as { cacheId: number }
      await fetch(`${base}caches/${cacheId}`, {
        method: 'PATCH',
        headers: { ...headers, 'Content-Range': 'bytes 0-1/*' },
        body: 'hi'
      })
      await fetch(`${base}caches/${cacheId}`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ size: 2 })
      })
      await fetch(`${base}cache?keys=cli-&version=${GO_VERSION}`, { headers })
      const stats = (await (await fetch(`${ready.url}_stats`)).json()) as {
        entries: number
        keys: string[]
        v1: Record<string, number>
      }
      expect(stats.entries).toBe(1)
      expect(stats.keys).toEqual(['cli-key'])
      expect(stats.v1).toMatchObject({ reserves: 1, commits: 1, prefixHits: 1, bytesUploaded: 2 })
    } finally {
      child.kill('SIGTERM')
    }
    expect(await exited).toBe(0)
  })
})

// ---------------------------------------------------------------------------
// the real Go client BuildKit uses
// ---------------------------------------------------------------------------

const goVersion = spawnSync('go', ['version'], { encoding: 'utf8' })
const haveGo = goVersion.status === 0
if (!haveGo) {
  process.stderr.write(
    'cache-server: `go` not found on PATH, skipping the go-actions-cache checks\n'
  )
}

describe('go-actions-cache (BuildKit gha client)', () => {
  let server: CacheServer
  const bin = path.join(tmpRoot, 'bin')
  beforeAll(async () => {
    server = await startCacheServer({ dir: tmpDir('srv-go') })
  })
  afterAll(() => server.stop())

  // asynchronous on purpose: the server runs in this process, a sync spawn would block it
  const exec = (
    cmd: string,
    args: string[],
    opts: { cwd?: string; env: NodeJS.ProcessEnv; timeoutMs: number }
  ): Promise<{ code: number | null; out: string }> =>
    new Promise(resolve => {
      const child = spawn(cmd, args, {
        cwd: opts.cwd,
        env: opts.env,
        stdio: ['ignore', 'pipe', 'pipe']
      })
      let out = ''
      child.stdout.on('data', d => (out += String(d)))
      child.stderr.on('data', d => (out += String(d)))
      const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs)
      child.on('close', code => {
        clearTimeout(timer)
        resolve({ code, out })
      })
    })
  const build = async (modfile: string, out: string): Promise<void> => {
    const r = await exec(
      'go',
      ['build', `-modfile=${modfile}`, '-buildvcs=false', '-o', out, '.'],
      {
        cwd: path.join(here, 'gocheck'),
        env: { ...process.env, GOFLAGS: '-mod=readonly' },
        timeoutMs: 240_000
      }
    )
    if (r.code !== 0) throw new Error(`go build (${modfile}) failed (${r.code}):\n${r.out}`)
  }
  const run = async (exe: string, env: Record<string, string>, prefix: string): Promise<string> => {
    const r = await exec(exe, [prefix], {
      env: { PATH: process.env.PATH ?? '', HOME: os.homedir(), ...env },
      timeoutMs: 120_000
    })
    if (r.code !== 0) throw new Error(`gocheck failed (${r.code}):\n${r.out}`)
    return r.out
  }

  ;(haveGo ? test : test.skip)(
    'v1: go-actions-cache @a0b64f338598 (BuildKit v0.13 / Docker 26.1) saves and loads',
    async () => {
      await build('go.mod', path.join(bin, 'gocheck-v1'))
      server.resetStats()
      const env = server.env()
      delete env.ACTIONS_CACHE_SERVICE_V2
      const prefix = uniq('go1')
      const out = await run(path.join(bin, 'gocheck-v1'), env, prefix)
      expect(out).toContain('PASS')
      const s = server.stats()
      expect(s.v1).toMatchObject({ conflicts: 1, commits: 3, exactHits: 1 })
      expect(s.v1.chunks).toBeGreaterThanOrEqual(7) // 1.5 MiB in 256 KiB chunks, plus two indexes
      expect(s.v1.rangeDownloads).toBeGreaterThanOrEqual(1)
      expect(s.v2.lookups).toBe(0)
      expect(s.keys.filter(k => k.startsWith(prefix))).toEqual([
        `${prefix}buildkit-blob-1-sha256:0123`,
        `${prefix}index-gocheck-1-f921bd05#1`,
        `${prefix}index-gocheck-1-f921bd05#2`
      ])
    },
    300_000
  )

  ;(haveGo ? test : test.skip)(
    'v2: go-actions-cache @afe8013b5ac4 (BuildKit v0.34) saves and loads',
    async () => {
      await build('go.v2.mod', path.join(bin, 'gocheck-v2'))
      server.resetStats()
      const prefix = uniq('go2')
      const out = await run(path.join(bin, 'gocheck-v2'), server.env(), prefix)
      expect(out).toContain('PASS')
      const s = server.stats()
      // 1.5 MiB blob: two 1 MiB blocks + block list; the small indexes: single-shot Put Blob
      expect(s.v2).toMatchObject({
        conflicts: 1,
        commits: 3,
        blocksStaged: 2,
        blockLists: 1,
        singleShotUploads: 2
      })
      expect(s.v2.rangeDownloads).toBeGreaterThanOrEqual(1)
      expect(s.v1.lookups).toBe(0)
      expect(s.keys.filter(k => k.startsWith(prefix))).toHaveLength(3)
    },
    300_000
  )
})
