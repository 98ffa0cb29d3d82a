import * as core from '@actions/core'
import { randomBytes } from 'node:crypto'
import { readFile, rm } from 'node:fs/promises'
import { run } from '../exec.js'
import type { PlannedImage } from '../plan/plan.js'
import { tempDir } from '../tempDir.js'
import { buildx, type BuildOptions, type BuiltImage } from './build.js'
import { blobPath, platformOf, readLayout, type Descriptor } from './image.js'
import { verifyArchitecture } from './verify.js'

/**
 * The classic image store holds one platform per tag: each platform of the multi-platform build
 * is loaded on its own, under a tag of this run's, and smoke-tested there. What is pushed is the
 * same build exported from the builder as an OCI layout (attestations and annotations included),
 * and only when every platform in it has the config and layers that were loaded.
 */

/** One platform of an image: its config digest and uncompressed layer digests. */
export interface PlatformContent {
  platform: string
  /** The image config's digest (the classic store's image ID). */
  config: string
  /** rootfs.diff_ids. */
  diffIds: string[]
}

/** One platform as the engine holds it. */
export interface LoadedPlatform extends PlatformContent {
  /** The local tag it was loaded under (this run's own). */
  ref: string
}

/** State key: the local tags this run loaded, removed by the post step. */
export const LOADED_TAGS_STATE = 'classic-tags'
const loadedTags: string[] = []

/** Post step: removes the local tags of the platforms the run loaded. */
export async function removeLoadedTags(tags: string[]): Promise<void> {
  if (tags.length > 0)
    await run('docker', ['image', 'rm', '--force', ...tags], { silent: true, allowFailure: true })
}

/** A local tag for one platform of one run: `<name>:gia-<run>-linux-arm-v7`. */
export function platformTag(image: PlannedImage, platform: string, token: string): string {
  return `${image.name}:gia-${token}-${platform.replace(/\//g, '-')}`
}

/** A token that keeps two runs on one engine from loading under each other's tags. */
export function runToken(): string {
  return randomBytes(4).toString('hex')
}

interface InspectedImage {
  Id: string
  Os: string
  Architecture: string
  Variant?: string
  RootFS: { Layers?: string[] }
}

/** Config digest, diff IDs and platform of a loaded image. */
export async function inspectLoaded(ref: string, platform: string): Promise<LoadedPlatform> {
  const res = await run('docker', ['image', 'inspect', '--format', '{{json .}}', ref], {
    silent: true
  })
  const img = JSON.parse(res.stdout) as InspectedImage
  const got = platformOf({
    digest: img.Id,
    size: 0,
    platform: { os: img.Os, architecture: img.Architecture, variant: img.Variant || undefined }
  })
  if (got !== platform) throw new Error(`${ref} was built for ${platform} but is ${got}`)
  return { platform, ref, config: img.Id, diffIds: img.RootFS.Layers ?? [] }
}

/**
 * Builds and loads every platform of an image on its own (a one-platform `--load` works with the
 * classic store); the builder's cache makes every platform after the first cheap.
 */
export async function loadPlatforms(
  image: PlannedImage,
  opts: BuildOptions,
  token: string
): Promise<LoadedPlatform[]> {
  const out: LoadedPlatform[] = []
  for (const platform of image.platforms) {
    const tag = platformTag(image, platform, token)
    loadedTags.push(tag)
    core.saveState(LOADED_TAGS_STATE, JSON.stringify(loadedTags))
    await buildx(image, opts, { type: 'load-platform', platform, tag })
    const loaded = await inspectLoaded(tag, platform)
    core.info(`${image.name} ${platform}: loaded as ${tag} (config ${loaded.config})`)
    out.push(loaded)
  }
  return out
}

/** Config digest and diff IDs of every platform of an OCI layout (attestations left out). */
export async function layoutContent(
  layout: string,
  platforms: string[]
): Promise<PlatformContent[]> {
  const json = async <T>(digest: string): Promise<T> =>
    JSON.parse(await readFile(blobPath(layout, digest), 'utf8')) as T
  const { manifests } = await readLayout(layout)
  const out: PlatformContent[] = []
  for (const m of manifests) {
    if (!platforms.includes(m.platform)) continue
    const manifest = await json<{ config: Descriptor }>(m.digest)
    const config = await json<{ rootfs?: { diff_ids?: string[] } }>(manifest.config.digest)
    out.push({
      platform: m.platform,
      config: manifest.config.digest,
      diffIds: config.rootfs?.diff_ids ?? []
    })
  }
  return out
}

/**
 * What is pushed must be what was tested: per platform, the same config digest and the same
 * layer diff IDs (manifest digests may differ between exporters, the content may not). Returns
 * the differences, empty when there is none.
 */
export function contentDifferences(loaded: PlatformContent[], pushed: PlatformContent[]): string[] {
  const short = (ids: string[]): string => ids.map(d => d.slice(7, 19)).join(',')
  const reasons: string[] = []
  for (const l of loaded) {
    const p = pushed.find(x => x.platform === l.platform)
    if (!p) {
      reasons.push(`${l.platform}: not in the build to push`)
      continue
    }
    if (p.config !== l.config)
      reasons.push(`${l.platform}: config ${p.config} to push, ${l.config} tested`)
    if (p.diffIds.join(',') !== l.diffIds.join(','))
      reasons.push(`${l.platform}: layers ${short(p.diffIds)} to push, ${short(l.diffIds)} tested`)
  }
  for (const p of pushed)
    if (!loaded.some(l => l.platform === p.platform))
      reasons.push(`${p.platform}: to push but not tested`)
  return reasons
}

/**
 * The classic store's built image: the same build exported from the builder as an OCI layout
 * (what a push sends), checked against the loaded platforms (a difference fails the run, naming
 * it, before anything reaches the registry) and, per platform, its executable against the
 * platform. With `keep` (a push follows) the layout stays for the push.
 */
export async function classicBuilt(
  image: PlannedImage,
  loaded: LoadedPlatform[],
  opts: BuildOptions,
  keep: boolean
): Promise<BuiltImage> {
  const layout = await tempDir('oci-')
  try {
    await buildx(image, opts, { type: 'oci', dest: layout })
    const diff = contentDifferences(loaded, await layoutContent(layout, image.platforms))
    if (diff.length > 0)
      throw new Error(
        `${image.name}: the build to push is not what was loaded for the smoke test, so nothing is pushed: ${diff.join('; ')}`
      )
    const { digest, manifests } = await readLayout(layout)
    const architecture = await verifyArchitecture(layout, manifests)
    core.info(
      `${image.name}: ${digest}; every platform has the config and layers of its loaded image`
    )
    return { image, digest, manifests, layout: keep ? layout : undefined, loaded, architecture }
  } finally {
    if (!keep) await rm(layout, { recursive: true, force: true })
  }
}
