/**
 * A runner build's base image, read from its registry as ko reads it: the manifest of each
 * platform, its config and its layers (kept in the blob cache, fetched once per digest).
 * `scratch` is no image at all: no layer, an empty config.
 */
import { readFile } from 'node:fs/promises'
import { parseImageName } from '../plan/reference.js'
import { cachedBlob } from '../registry/blobs.js'
import { isIndexType, platformOf, type Descriptor } from '../docker/image.js'
import type { RegistryClient } from '../registry/client.js'
import { retryTransient } from '../docker/retry.js'

/** A base image reference split into where it is and which manifest it names. */
export interface BaseRef {
  registry: string
  repo: string
  /** A tag or a digest. */
  ref: string
}

/** One platform of a base image, with its blobs on disk. */
export interface BasePlatform {
  /** `pkg:docker/...`-ready name and the manifest digest, for provenance materials. */
  ref?: BaseRef & { manifestDigest: string }
  /** The base config (an OCI/Docker image config), parsed. */
  config: Record<string, unknown>
  /** Its layers, in order, each with the cached file. */
  layers: (Descriptor & { file: string })[]
}

/** `127.0.0.1:5000/mirror/static:nonroot`, `alpine@sha256:...`: registry, repository, tag/digest. */
export function parseBaseRef(raw: string, inputName: string): BaseRef {
  const [nameTag, digest] = raw.split('@')
  const slash = nameTag.lastIndexOf('/')
  const colon = nameTag.lastIndexOf(':')
  const hasTag = colon > slash
  const name = parseImageName(hasTag ? nameTag.slice(0, colon) : nameTag, inputName)
  return {
    registry: name.registry,
    repo: name.path,
    ref: digest ?? (hasTag ? nameTag.slice(colon + 1) : 'latest')
  }
}

/** Whether an index entry is the platform's image (`linux/arm64` matches `linux/arm64/v8`). */
function matches(d: Descriptor, platform: string): boolean {
  const have = platformOf(d)
  return have === platform || (platform === 'linux/arm64' && have === 'linux/arm64/v8')
}

/**
 * Reads the base image for every platform. `client` is the base's registry; blobs go into
 * `cacheDir`. Fails naming the base and the platform it lacks.
 */
export async function readBase(
  base: BaseRef,
  platforms: string[],
  client: RegistryClient,
  cacheDir: string
): Promise<Map<string, BasePlatform>> {
  const where = `${base.registry}/${base.repo}:${base.ref}`
  const get = (ref: string): ReturnType<RegistryClient['getManifest']> =>
    retryTransient(`GET manifest ${where}`, () => client.getManifest(base.repo, ref))
  const top = await get(base.ref)
  if (!top) throw new Error(`base image ${where}: no such manifest in the registry`)
  const out = new Map<string, BasePlatform>()
  for (const platform of platforms) {
    let manifest = top
    if (isIndexType(top.mediaType)) {
      const index = JSON.parse(top.bytes.toString('utf8')) as { manifests?: Descriptor[] }
      const entry = (index.manifests ?? []).find(d => matches(d, platform))
      if (!entry) throw new Error(`base image ${where} has no ${platform} image`)
      const child = await get(entry.digest)
      if (!child) throw new Error(`base image ${where}: ${entry.digest} is missing`)
      manifest = child
    }
    const parsed = JSON.parse(manifest.bytes.toString('utf8')) as {
      config: Descriptor
      layers?: Descriptor[]
    }
    const blob = (d: Descriptor): Promise<string> => cachedBlob(cacheDir, client, base.repo, d)
    const config = JSON.parse(await readFile(await blob(parsed.config), 'utf8')) as Record<
      string,
      unknown
    >
    const arch = [config['os'], config['architecture'], config['variant']].filter(Boolean)
    if (
      !isIndexType(top.mediaType) &&
      !matches({ ...parsed.config, platform: platformFields(arch) }, platform)
    )
      throw new Error(`base image ${where} is ${arch.join('/')}, not ${platform}`)
    const layers = await Promise.all(
      (parsed.layers ?? []).map(async d => ({ ...d, file: await blob(d) }))
    )
    out.set(platform, { ref: { ...base, manifestDigest: manifest.digest }, config, layers })
  }
  return out
}

/** A descriptor's platform from `[os, architecture, variant]`. */
function platformFields(parts: unknown[]): Descriptor['platform'] {
  const [os, architecture, variant] = parts as string[]
  return { os, architecture, ...(variant ? { variant } : {}) }
}

/** The `scratch` base: no layer, an empty config, for every platform. */
export function scratchBase(platforms: string[]): Map<string, BasePlatform> {
  return new Map(platforms.map(p => [p, { config: {}, layers: [] }]))
}
