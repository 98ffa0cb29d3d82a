import * as cache from '@actions/cache'
import * as core from '@actions/core'
import { createHash } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { goCacheUnavailableReason } from '../cacheService.js'
import { run } from '../exec.js'
import type { Plan } from '../plan/plan.js'

/** State keys the post step reads to save the Go caches. */
export const GO_CACHE_STATE = {
  key: 'goCacheKey',
  gocache: 'goCacheDir',
  parts: 'goCacheParts',
  save: 'goCacheSave'
}

/** GOCACHE's entry directories (two hex digits) in the parts after the first, by first digit. */
const GOCACHE_SPLIT = ['[0-4]', '[5-9a]', '[b-f]']

/**
 * How many cache entries the Go caches are kept in (goCacheParts). Each is downloaded and
 * unpacked by a tar of its own, side by side: unpacking is the kernel creating files (tar's time
 * is nearly all system time), which one tar does on one core. Four serve a 4-core hosted runner;
 * on 2 cores they unpack as fast as two (README, Benchmarks).
 */
export const GO_CACHE_PARTS = 1 + GOCACHE_SPLIT.length

/** The start of every Go cache key; a part's key has its part right after it (partKeys). */
const KEY_START = 'go-image-action-go-'

/** The cache key of the Go caches and its restore-key fallbacks. */
export interface GoCacheKeys {
  key: string
  /** The same dependencies built another way, then anything of the same OS, arch and Go. */
  restoreKeys: string[]
}

/**
 * Keys from OS, arch, Go version, the hash of go.sum and the hash of what the run compiles (see
 * goBuildConfig). Unlike setup-go, the restore keys fall back to the newest entry of the same
 * OS/arch/Go version, so a dependency change starts warm; and a new platform or gate setting
 * misses the exact key, so the post step saves the packages it compiled. (An exact hit saves
 * nothing: with go.sum alone in the key, a platform added later would be compiled from scratch
 * on every fresh runner until the dependencies change.)
 */
export function goCacheKeys(
  os: string,
  arch: string,
  goVersion: string,
  sumHash: string,
  config: string
): GoCacheKeys {
  const prefix = `${KEY_START}${os}-${arch}-${goVersion}-`
  const configHash = createHash('sha256').update(config).digest('hex').slice(0, 8)
  return {
    key: `${prefix}${sumHash}-${configHash}`,
    restoreKeys: [`${prefix}${sumHash}-`, prefix]
  }
}

/**
 * What the run compiles with Go, as text for the cache key: the gate's build flags and
 * environment, and the platforms of the runner builds. Pure.
 */
export function goBuildConfig(plan: Pick<Plan, 'goGate' | 'images'>): string {
  const gate = plan.goGate.enabled
    ? `gate ${[...plan.goGate.buildFlags, ...Object.entries(plan.goGate.env).map(([k, v]) => `${k}=${v}`)].join(' ')}`.trim()
    : 'no gate'
  const platforms = [
    ...new Set(plan.images.filter(i => i.runnerBuild).flatMap(i => i.platforms))
  ].sort()
  return `${gate}; runner builds: ${platforms.join(',') || 'none'}`
}

/**
 * sha256 of every module's go.sum (or go.mod when a module has no dependencies), hex, first 32:
 * a dependency change in any module of the run changes the key.
 */
export async function sumHash(goDirs: string[]): Promise<string> {
  const hash = createHash('sha256')
  for (const dir of goDirs.length === 1 ? goDirs : [...goDirs].sort()) {
    const text = await readFile(join(dir, 'go.sum'), 'utf8').catch(() =>
      readFile(join(dir, 'go.mod'), 'utf8')
    )
    // one module hashes as before (no name), so existing keys stay valid
    if (goDirs.length > 1) hash.update(`${dir}\n`)
    hash.update(text)
  }
  return hash.digest('hex').slice(0, 32)
}

/**
 * The keys of part `i` (from 0) of `n`: the part right after the common start, so that no part's
 * restore key is a prefix of another part's key (the service also tells parts apart by their
 * paths, the entry's version). Pure.
 */
export function partKeys(keys: GoCacheKeys, i: number, n: number): GoCacheKeys {
  const part = (k: string): string => `${KEY_START}part${i + 1}of${n}-${k.slice(KEY_START.length)}`
  return { key: part(keys.key), restoreKeys: keys.restoreKeys.map(part) }
}

/** The key a part's key was made from (partKeys). Pure. */
export function wholeKey(partKey: string): string {
  return partKey.replace(/^(go-image-action-go-)part\d+of\d+-/, '$1')
}

/** `path` as a glob pattern that matches only itself (@actions/glob: `[*]` is a literal `*`). */
function literal(path: string): string {
  return path.replace(/[*?[]/g, c => `[${c}]`)
}

/**
 * The paths (@actions/glob patterns) of each of the GO_CACHE_PARTS entries: GOMODCACHE with the
 * files at GOCACHE's top (README, which go always writes, and its trim and test-expiry notes);
 * then GOCACHE's 256 entry directories, by the first hex digit of their names. Every file of
 * both caches is in exactly one part. Pure.
 */
export function goCacheParts(modcache: string, gocache: string): string[][] {
  const c = literal(gocache)
  return [
    [literal(modcache), `${c}/README`, `${c}/*.txt`],
    ...GOCACHE_SPLIT.map(first => [`${c}/${first}?`])
  ]
}

/** One part of the Go caches: the entry's paths and keys, and whether its exact key hit. */
export interface GoCachePart {
  paths: string[]
  key: string
  hit: boolean
}

/** What restoring the Go caches found. */
export interface GoCacheRestore {
  /** The exact key hit, for every part. */
  hit: boolean
  matchedKey?: string
  key?: string
  /** Why the cache service cannot be used here (then nothing was looked up). */
  unavailable?: string
}

/**
 * Restores GOMODCACHE and GOCACHE, their GO_CACHE_PARTS entries side by side. Returns whether
 * the exact key hit for every part. A part may come from another entry than the others (one
 * evicted, a save that failed half-way): Go's caches are content-addressed, so a mix is only
 * less warm, never wrong. A cache service problem is a warning, never a failure.
 */
export async function restoreGoCache(goDirs: string[], config: string): Promise<GoCacheRestore> {
  const why =
    goCacheUnavailableReason(process.env) ??
    (cache.isFeatureAvailable() ? undefined : '@actions/cache reports no cache service')
  if (why) {
    core.warning(`Go cache: the GitHub Actions cache is not available (${why}); Go starts cold`)
    return { hit: false, unavailable: why }
  }
  const env = await run(
    'go',
    ['env', 'GOMODCACHE', 'GOCACHE', 'GOVERSION', 'GOHOSTOS', 'GOHOSTARCH'],
    {
      cwd: goDirs[0],
      silent: true
    }
  )
  const [modcache, gocache, goVersion, os, arch] = env.stdout.trim().split('\n')
  const keys = goCacheKeys(os, arch, goVersion, await sumHash(goDirs), config)
  const paths = goCacheParts(modcache, gocache)
  const parts: GoCachePart[] = paths.map((p, i) => ({
    paths: p,
    key: partKeys(keys, i, paths.length).key,
    hit: false
  }))
  core.saveState(GO_CACHE_STATE.key, keys.key)
  core.saveState(GO_CACHE_STATE.gocache, gocache)
  core.saveState(GO_CACHE_STATE.parts, JSON.stringify(parts))
  if ((await readFile(keyMarker(gocache), 'utf8').catch(() => '')).trim() === keys.key) {
    core.info(
      `Go cache: ${keys.key} is already in ${gocache} (an earlier run on this runner restored or saved it); nothing to download`
    )
    return { hit: true, matchedKey: keys.key, key: keys.key }
  }
  const matched = await Promise.all(
    parts.map(async (part, i) => {
      try {
        const { restoreKeys } = partKeys(keys, i, parts.length)
        return await cache.restoreCache(part.paths, part.key, restoreKeys)
      } catch (e) {
        core.warning(
          `Go cache: restore of part ${i + 1} of ${parts.length} failed: ${(e as Error).message}`
        )
        return undefined
      }
    })
  )
  for (const [i, m] of matched.entries()) parts[i].hit = m === parts[i].key
  core.saveState(GO_CACHE_STATE.parts, JSON.stringify(parts))
  const hit = parts.every(p => p.hit)
  if (hit) await markKey(gocache, keys.key)
  const found = [...new Set(matched.filter(m => m !== undefined).map(wholeKey))]
  core.info(
    hit
      ? `Go cache: restored ${keys.key} (exact; ${parts.length} entries unpacked side by side)`
      : found.length > 0
        ? `Go cache: restored ${found.join(', ')} (${howRestored(parts, matched)}; ${keys.key} will be saved)`
        : `Go cache: no entry for ${keys.key} or ${keys.restoreKeys.map(k => `${k}*`).join(' or ')}`
  )
  return { hit, matchedKey: found[0], key: keys.key }
}

/** How the parts were restored when not every exact key hit: `prefix`, or the count of each kind. */
function howRestored(parts: GoCachePart[], matched: (string | undefined)[]): string {
  const n = parts.length
  const exact = parts.filter(p => p.hit).length
  const missing = matched.filter(m => m === undefined).length
  const prefix = n - exact - missing
  if (exact === 0 && missing === 0) return 'prefix'
  return [
    exact > 0 ? `${exact} of ${n} entries exact` : '',
    prefix > 0 ? `${prefix} by prefix` : '',
    missing > 0 ? `${missing} not found` : ''
  ]
    .filter(Boolean)
    .join(', ')
}

/**
 * Where a GOCACHE notes which cache key it holds, so that a persistent (self-hosted) runner does
 * not download and unpack what it already has. In a two-hex-digit subdirectory: `go clean -cache`
 * removes those (and so the note with the cache it describes), and Go's own trimming removes
 * only `-a`/`-d` entries, never this file.
 */
export function keyMarker(gocache: string): string {
  return join(gocache, 'ff', 'go-image-action-key')
}

async function markKey(gocache: string, key: string): Promise<void> {
  try {
    await mkdir(join(gocache, 'ff'), { recursive: true })
    await writeFile(keyMarker(gocache), `${key}\n`)
  } catch (e) {
    core.debug(`Go cache: could not note the key in ${gocache}: ${(e as Error).message}`)
  }
}

/** Main step, at the very end of a successful run: lets the post step save the Go caches. */
export function markGoCacheForSave(exactHit: boolean): void {
  if (!exactHit) core.saveState(GO_CACHE_STATE.save, 'true')
}

/**
 * Post step: saves the parts of the Go caches whose exact key missed, side by side, when the job
 * succeeded.
 */
export async function saveGoCache(): Promise<void> {
  if (core.getState(GO_CACHE_STATE.save) !== 'true') return
  const key = core.getState(GO_CACHE_STATE.key)
  const parts = JSON.parse(core.getState(GO_CACHE_STATE.parts) || '[]') as GoCachePart[]
  const missed = parts.filter(p => !p.hit)
  if (!key || missed.length === 0) return
  const saved = await Promise.all(
    missed.map(async p => {
      try {
        return (await cache.saveCache(p.paths, p.key)) !== -1
      } catch (e) {
        core.warning(`Go cache: save of ${p.key} failed: ${(e as Error).message}`)
        return false
      }
    })
  )
  const n = saved.filter(Boolean).length
  if (n === 0) return
  core.info(
    `Go cache: saved ${key}${n === parts.length ? '' : ` (${n} of its ${parts.length} entries; ${parts.length - missed.length} were restored exactly)`}`
  )
  // every part is in the service now: a later run on this runner needs to download none
  if (n === missed.length) await markKey(core.getState(GO_CACHE_STATE.gocache), key)
}
