import * as cache from '@actions/cache'
import * as core from '@actions/core'
import { createHash } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { goCacheUnavailableReason } from '../cacheService.js'
import { run } from '../exec.js'
import type { Plan } from '../plan/plan.js'

/** State keys the post step reads to save the Go caches. */
export const GO_CACHE_STATE = { key: 'goCacheKey', paths: 'goCachePaths', save: 'goCacheSave' }

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
  const prefix = `go-image-action-go-${os}-${arch}-${goVersion}-`
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

/** What restoring the Go caches found. */
export interface GoCacheRestore {
  /** The exact key hit. */
  hit: boolean
  matchedKey?: string
  key?: string
  /** Why the cache service cannot be used here (then nothing was looked up). */
  unavailable?: string
}

/**
 * Restores GOMODCACHE and GOCACHE. Returns whether the exact key hit. A cache service problem is
 * a warning, never a failure.
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
  const paths = [modcache, gocache]
  core.saveState(GO_CACHE_STATE.key, keys.key)
  core.saveState(GO_CACHE_STATE.paths, JSON.stringify(paths))
  if ((await readFile(keyMarker(gocache), 'utf8').catch(() => '')).trim() === keys.key) {
    core.info(
      `Go cache: ${keys.key} is already in ${gocache} (an earlier run on this runner restored or saved it); nothing to download`
    )
    return { hit: true, matchedKey: keys.key, key: keys.key }
  }
  let matchedKey: string | undefined
  try {
    matchedKey = await cache.restoreCache(paths, keys.key, keys.restoreKeys)
  } catch (e) {
    core.warning(`Go cache: restore failed: ${(e as Error).message}`)
  }
  const hit = matchedKey === keys.key
  if (hit) await markKey(gocache, keys.key)
  core.info(
    matchedKey
      ? `Go cache: restored ${matchedKey}${hit ? ' (exact)' : ` (prefix; ${keys.key} will be saved)`}`
      : `Go cache: no entry for ${keys.key} or ${keys.restoreKeys.map(k => `${k}*`).join(' or ')}`
  )
  return { hit, matchedKey, key: keys.key }
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

/** Post step: saves the Go caches when the exact key missed and the job succeeded. */
export async function saveGoCache(): Promise<void> {
  if (core.getState(GO_CACHE_STATE.save) !== 'true') return
  const key = core.getState(GO_CACHE_STATE.key)
  const paths = JSON.parse(core.getState(GO_CACHE_STATE.paths) || '[]') as string[]
  if (!key || paths.length === 0) return
  try {
    const id = await cache.saveCache(paths, key)
    if (id !== -1) {
      core.info(`Go cache: saved ${key}`)
      const [, gocache] = paths
      await markKey(gocache, key)
    }
  } catch (e) {
    core.warning(`Go cache: save failed: ${(e as Error).message}`)
  }
}
