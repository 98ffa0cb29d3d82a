import * as cache from '@actions/cache'
import * as core from '@actions/core'
import { createHash, randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { run } from '../exec.js'
import { goMountsBound } from './timeouts.js'
import { goCacheUnavailableReason } from '../cacheService.js'
import {
  extractDockerfile,
  goCacheMountsConfig,
  KEY_NOTE_SOURCE,
  probeDockerfile,
  seedDockerfile,
  type GoCacheMountsPlan
} from '../plan/goCacheMounts.js'
import type { PlannedImage } from '../plan/plan.js'

/** State keys the post step reads to save the Go cache mounts. */
export const GO_MOUNTS_STATE = { key: 'goMountsKey', dir: 'goMountsDir', save: 'goMountsSave' }

/** What the restore found, for the extraction and the post step. */
export interface GoMountsRestore {
  /** The Actions cache can be used (runtime env, service). */
  available: boolean
  /** Why it cannot. */
  unavailable?: string
  /** The exact key was restored: nothing new to save. */
  hit: boolean
  /** The directory that carries the mounts' files. */
  dir: string
  /** The exact key, noted in each mount when they are copied out. */
  key?: string
}

/** Each image with the mounts no earlier image has (a mount is the builder's, not an image's). */
export function carriedMounts(
  images: PlannedImage[]
): { image: PlannedImage; plan: GoCacheMountsPlan }[] {
  const seen = new Set<string>()
  const out: { image: PlannedImage; plan: GoCacheMountsPlan }[] = []
  for (const image of images) {
    const plan = image.goCacheMounts
    const id = (m: { identity: string }): string => `${plan?.namespace}|${m.identity}`
    const mounts = (plan?.mounts ?? []).filter(m => !seen.has(id(m)))
    for (const m of mounts) seen.add(id(m))
    if (plan && mounts.length > 0) out.push({ image, plan: { ...plan, mounts } })
  }
  return out
}

/** The Actions cache key of the mounts: like the runner's Go cache (go.sum, then the config). */
export async function goMountsKeys(
  images: PlannedImage[],
  workspace: string,
  runnerPlatform: string
): Promise<{ key: string; restoreKeys: string[] }> {
  const sums = createHash('sha256')
  for (const context of [...new Set(images.map(i => i.context))].sort()) {
    const dir = resolve(workspace, context)
    const text = await readFile(join(dir, 'go.sum'), 'utf8').catch(() =>
      readFile(join(dir, 'go.mod'), 'utf8').catch(() => '')
    )
    sums.update(`${context}\n${text}\n`)
  }
  const sum = sums.digest('hex').slice(0, 32)
  const config = createHash('sha256').update(goCacheMountsConfig(images)).digest('hex').slice(0, 8)
  const prefix = `go-image-action-docker-go-${runnerPlatform.replace(/\//g, '-')}-`
  return { key: `${prefix}${sum}-${config}`, restoreKeys: [`${prefix}${sum}-`, prefix] }
}

/**
 * Restores the Go cache mounts from the Actions cache into a directory under RUNNER_TEMP and
 * copies them into the builder's cache mounts of the same identity. A problem is a warning:
 * the build then just compiles more.
 */
export async function restoreGoCacheMounts(
  images: PlannedImage[],
  opts: {
    builder: string
    workspace: string
    runnerPlatform: string
    /** The builder may hold the mounts of an earlier run (a persistent, self-hosted one). */
    persistent: boolean
    /** build-timeout, from which each throwaway build's bound is derived (goMountsBound). */
    buildTimeoutSeconds: number
  }
): Promise<GoMountsRestore> {
  const dir = join(process.env['RUNNER_TEMP'] || tmpdir(), 'go-image-action', 'go-cache-mounts')
  const why =
    goCacheUnavailableReason(process.env) ??
    (cache.isFeatureAvailable() ? undefined : '@actions/cache reports no cache service')
  if (why) {
    core.info(`Go cache mounts: not carried, the Actions cache is not available (${why})`)
    return { available: false, unavailable: why, hit: false, dir }
  }
  const keys = await goMountsKeys(images, opts.workspace, opts.runnerPlatform)
  core.saveState(GO_MOUNTS_STATE.key, keys.key)
  core.saveState(GO_MOUNTS_STATE.dir, dir)
  await rm(dir, { recursive: true, force: true })
  if (
    opts.persistent &&
    (await builderHolds(images, opts.builder, opts.buildTimeoutSeconds)) === keys.key
  ) {
    const saved = await cache
      .restoreCache([dir], keys.key, [], { lookupOnly: true })
      .catch(() => undefined)
    core.info(
      `Go cache mounts: ${keys.key} is already in the builder's mounts (an earlier run on it restored or saved it); nothing to download${saved ? '' : ', but the Actions cache lacks it: it will be saved'}`
    )
    return { available: true, hit: saved === keys.key, dir, key: keys.key }
  }
  await mkdir(dir, { recursive: true })
  let matched: string | undefined
  try {
    matched = await cache.restoreCache([dir], keys.key, keys.restoreKeys)
  } catch (e) {
    core.warning(`Go cache mounts: restore failed: ${(e as Error).message}`)
  }
  const hit = matched === keys.key
  if (!matched) {
    core.info(
      `Go cache mounts: no entry for ${keys.key} or ${keys.restoreKeys.map(k => `${k}*`).join(' or ')}`
    )
    return { available: true, hit, dir, key: keys.key }
  }
  core.info(
    `Go cache mounts: restored ${matched}${hit ? ' (exact)' : ` (prefix; ${keys.key} will be saved)`}`
  )
  const present = new Set(await readdir(dir))
  for (const { image, plan } of carriedMounts(images)) {
    const mounts = plan.mounts.filter(m => present.has(m.dir))
    if (mounts.length === 0) continue
    await throwaway(image, seedDockerfile({ ...plan, mounts }), ['--output', 'type=cacheonly'], {
      builder: opts.builder,
      buildTimeoutSeconds: opts.buildTimeoutSeconds,
      context: dir,
      what: `filled ${mounts.map(m => m.target).join(', ')}`
    }).catch((e: Error) =>
      core.warning(`Go cache mounts: could not fill those of ${image.name}: ${e.message}`)
    )
  }
  return { available: true, hit, dir, key: keys.key }
}

/**
 * The Actions cache key every carried mount of the builder notes (MOUNT_KEY_NOTE), or undefined
 * when one has none or they differ (a new builder, mounts filled otherwise or pruned).
 */
async function builderHolds(
  images: PlannedImage[],
  builder: string,
  buildTimeoutSeconds: number
): Promise<string | undefined> {
  const out = await mkdtemp(join(tmpdir(), 'gia-mounts-probe-'))
  const empty = await mkdtemp(join(tmpdir(), 'gia-mounts-'))
  try {
    const notes = new Set<string>()
    for (const { image, plan } of carriedMounts(images)) {
      await throwaway(
        image,
        probeDockerfile(plan),
        [...runUnique(), '--output', `type=local,dest=${out}`],
        { builder, buildTimeoutSeconds, context: empty, what: 'read the key the mounts hold' }
      )
      for (const m of plan.mounts) notes.add((await readFile(join(out, m.dir), 'utf8')).trim())
    }
    return notes.size === 1 ? [...notes][0] : undefined
  } catch {
    core.info('Go cache mounts: the builder holds none from an earlier run')
    return undefined
  } finally {
    await rm(out, { recursive: true, force: true })
    await rm(empty, { recursive: true, force: true })
  }
}

/** A build arg that makes BuildKit run a throwaway's steps again instead of reusing them. */
function runUnique(): string[] {
  return ['--build-arg', `GO_IMAGE_ACTION_RUN=${randomBytes(8).toString('hex')}`]
}

/**
 * Copies the builder's Go cache mounts out into the carried directory, for the post step to
 * save. Runs only when the exact key missed (an exact hit has nothing new worth the upload).
 * A failure is a warning, as a failed cache save is: the release goes on, nothing is saved, and
 * the returned text says why (for the stages table).
 */
export async function extractGoCacheMounts(
  images: PlannedImage[],
  restored: GoMountsRestore,
  builder: string,
  buildTimeoutSeconds: number
): Promise<string | undefined> {
  const out = `${restored.dir}.new`
  try {
    await copyOut(images, restored, out, builder, buildTimeoutSeconds)
  } catch (e) {
    await rm(out, { recursive: true, force: true })
    const problem = `could not copy them out, nothing is saved: ${(e as Error).message}`
    core.warning(`Go cache mounts: ${problem}`)
    return problem
  }
  await rm(restored.dir, { recursive: true, force: true })
  await rename(out, restored.dir)
  core.saveState(GO_MOUNTS_STATE.save, 'true')
}

/** Builds the copy-out Dockerfile of each image's carried mounts into `out`. */
async function copyOut(
  images: PlannedImage[],
  restored: GoMountsRestore,
  out: string,
  builder: string,
  buildTimeoutSeconds: number
): Promise<void> {
  await rm(out, { recursive: true, force: true })
  // the context holds only the key each mount notes
  const context = await mkdtemp(join(tmpdir(), 'gia-mounts-'))
  try {
    await writeFile(join(context, KEY_NOTE_SOURCE), `${restored.key ?? ''}\n`)
    for (const { image, plan } of carriedMounts(images)) {
      await throwaway(
        image,
        extractDockerfile(plan),
        [...runUnique(), '--output', `type=local,dest=${out}`],
        {
          builder,
          buildTimeoutSeconds,
          context,
          what: `copied out ${plan.mounts.map(m => m.target).join(', ')}`
        }
      )
    }
  } finally {
    await rm(context, { recursive: true, force: true })
  }
}

/**
 * Builds a generated Dockerfile on the builder with the image's build args (the mounts' bases and
 * BUILDKIT_CACHE_MOUNT_NS may use them), quietly, and says what it did. Bounded by goMountsBound
 * of `buildTimeoutSeconds`, not build-timeout itself.
 */
async function throwaway(
  image: PlannedImage,
  dockerfile: string,
  output: string[],
  opts: { builder: string; buildTimeoutSeconds: number; context: string; what: string }
): Promise<void> {
  const started = Date.now()
  const tmp = await mkdtemp(join(tmpdir(), 'gia-dance-'))
  try {
    const file = join(tmp, 'Dockerfile')
    await writeFile(file, dockerfile)
    const args = ['buildx', 'build', '--builder', opts.builder, '--file', file]
    for (const a of image.buildArgs) args.push('--build-arg', `${a.key}=${a.value}`)
    args.push('--provenance=false', ...output, opts.context)
    await run('docker', args, {
      silent: true,
      timeoutSeconds: goMountsBound(opts.buildTimeoutSeconds),
      timeoutRaise: 'the build-timeout input'
    })
    core.info(
      `Go cache mounts: ${opts.what} (for ${image.name}) in ${((Date.now() - started) / 1000).toFixed(1)} s`
    )
  } finally {
    await rm(tmp, { recursive: true, force: true })
  }
}

/** Post step: saves the carried Go cache mounts when the run extracted them. */
export async function saveGoCacheMounts(): Promise<void> {
  if (core.getState(GO_MOUNTS_STATE.save) !== 'true') return
  const key = core.getState(GO_MOUNTS_STATE.key)
  const dir = core.getState(GO_MOUNTS_STATE.dir)
  if (!key || !dir) return
  try {
    const id = await cache.saveCache([dir], key)
    if (id !== -1) core.info(`Go cache mounts: saved ${key}`)
  } catch (e) {
    core.warning(`Go cache mounts: save failed: ${(e as Error).message}`)
  }
}
