import * as core from '@actions/core'
import { randomBytes } from 'node:crypto'
import { run } from '../exec.js'
import type { PlannedImage } from '../plan/plan.js'
import type { ImageResult } from '../results.js'
import { buildx, type BuildOptions, type BuiltImage } from './build.js'
import { platformOf } from './image.js'
import { retryTransient } from './retry.js'

/**
 * The classic image store holds one platform per tag: each platform of the multi-platform build
 * is loaded on its own, under a tag of this run's, smoke-tested there, and what is pushed later
 * (from the builder, by digest) must have the same content.
 */

/** One platform of an image as the engine holds it. */
export interface LoadedPlatform {
  platform: string
  /** The local tag it was loaded under (this run's own). */
  ref: string
  /** The image config's digest (the classic store's image ID). */
  config: string
  /** The uncompressed layer digests (rootfs.diff_ids). */
  diffIds: string[]
}

/** State key: the local tags this run loaded, removed by the post step. */
export const LOADED_TAGS_STATE = 'classic-tags'
const loadedTags: string[] = []

/** Post step: removes the local tags of the platforms the run loaded (the registry keeps them). */
export async function removeLoadedTags(tags: string[]): Promise<void> {
  if (tags.length > 0)
    await run('docker', ['image', 'rm', '--force', ...tags], { silent: true, allowFailure: true })
}

/** A local tag for one platform of one run: `<name>:gia-<run>-linux-arm-v7`. */
export function platformTag(image: PlannedImage, platform: string, run: string): string {
  return `${image.name}:gia-${run}-${platform.replace(/\//g, '-')}`
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

/** One platform of an image in the registry: its manifest, config and layers. */
export interface PushedPlatform {
  platform: string
  digest: string
  config: string
  diffIds: string[]
  /** Manifest + config + layers, bytes. */
  size: number
}

interface Descriptor {
  mediaType?: string
  digest: string
  size: number
  platform?: { os: string; architecture: string; variant?: string }
  annotations?: Record<string, string>
}

async function inspectRaw(ref: string): Promise<string> {
  const res = await retryTransient(`inspecting ${ref}`, () =>
    run('docker', ['buildx', 'imagetools', 'inspect', '--raw', ref], { silent: true })
  )
  return res.stdout
}

/**
 * The platforms of an index in the registry, attestation manifests left out: each one's manifest
 * digest, config digest and diff IDs (read from the config).
 */
export async function pushedPlatforms(name: string, digest: string): Promise<PushedPlatform[]> {
  const index = JSON.parse(await inspectRaw(`${name}@${digest}`)) as { manifests?: Descriptor[] }
  const out: PushedPlatform[] = []
  for (const d of index.manifests ?? []) {
    if (d.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest') continue
    const platform = platformOf(d)
    if (platform === 'unknown/unknown') continue
    const manifest = JSON.parse(await inspectRaw(`${name}@${d.digest}`)) as {
      config: Descriptor
      layers: Descriptor[]
    }
    const config = JSON.parse(
      (
        await retryTransient(`inspecting ${name}@${d.digest}`, () =>
          run(
            'docker',
            [
              'buildx',
              'imagetools',
              'inspect',
              `${name}@${d.digest}`,
              '--format',
              '{{json .Image}}'
            ],
            { silent: true }
          )
        )
      ).stdout
    ) as { rootfs?: { diff_ids?: string[] } }
    out.push({
      platform,
      digest: d.digest,
      config: manifest.config.digest,
      diffIds: config.rootfs?.diff_ids ?? [],
      size: d.size + manifest.config.size + manifest.layers.reduce((n, l) => n + l.size, 0)
    })
  }
  return out
}

/**
 * What was pushed must be what was tested: per platform, the same config digest and the same
 * layer diff IDs (manifest digests may differ between exporters, the content may not). Returns
 * the reasons it is not, empty when it is.
 */
export function contentDifferences(loaded: LoadedPlatform[], pushed: PushedPlatform[]): string[] {
  const reasons: string[] = []
  for (const l of loaded) {
    const p = pushed.find(x => x.platform === l.platform)
    if (!p) {
      reasons.push(`${l.platform}: not in the pushed index`)
      continue
    }
    if (p.config !== l.config)
      reasons.push(`${l.platform}: config ${p.config} pushed, ${l.config} tested`)
    if (p.diffIds.join(',') !== l.diffIds.join(','))
      reasons.push(
        `${l.platform}: layers ${p.diffIds.map(d => d.slice(7, 19)).join(',')} pushed, ${l.diffIds.map(d => d.slice(7, 19)).join(',')} tested`
      )
  }
  for (const p of pushed)
    if (!loaded.some(l => l.platform === p.platform))
      reasons.push(`${p.platform}: pushed but not tested`)
  return reasons
}

/**
 * Pushes an image from the builder by digest (no tag moves), the same build as the tested loads
 * (the builder's cache makes it cheap), and checks its content against what was tested. Throws,
 * naming every difference, before any tag is written.
 */
export async function pushTested(
  image: PlannedImage,
  opts: BuildOptions,
  loaded: LoadedPlatform[]
): Promise<{ digest: string; platforms: PushedPlatform[] }> {
  const digest = await buildx(image, opts, { type: 'push-by-digest' })
  if (!digest) throw new Error(`push of ${image.name}: buildx reported no digest`)
  const platforms = await pushedPlatforms(image.name, digest)
  const diff = contentDifferences(loaded, platforms)
  if (diff.length > 0) {
    throw new Error(
      `${image.name}@${digest} is not what was smoke-tested, so no tag was moved: ${diff.join('; ')}`
    )
  }
  core.info(
    `${image.name}@${digest}: pushed by digest; every platform has the tested config and layers`
  )
  return { digest, platforms }
}

/** A classic-store image before its push: no index digest yet, one loaded image per platform. */
export function classicBuilt(image: PlannedImage, loaded: LoadedPlatform[]): BuiltImage {
  return {
    image,
    digest: '',
    manifests: loaded.map(l => ({ platform: l.platform, digest: '', size: 0 })),
    loaded
  }
}

/**
 * Pushes every image by digest (pushTested) before any tag moves, then records what was pushed:
 * the index digest and each platform's manifest digest and size, in the built images (which the
 * tags are then pointed at) and in the results.
 */
export async function pushClassic(
  built: BuiltImage[],
  opts: BuildOptions,
  results: ImageResult[]
): Promise<void> {
  for (const b of built) {
    const pushed = await pushTested(b.image, opts, b.loaded ?? [])
    b.digest = pushed.digest
    b.manifests = pushed.platforms.map(p => ({
      platform: p.platform,
      digest: p.digest,
      size: p.size
    }))
    const r = results.find(x => x.name === b.image.name)
    if (!r) continue
    r.digest = pushed.digest
    for (const p of r.platforms) {
      const m = pushed.platforms.find(x => x.platform === p.platform)
      if (m) Object.assign(p, { digest: m.digest, size: m.size })
    }
  }
}
