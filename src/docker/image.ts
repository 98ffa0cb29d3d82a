import { readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { run } from '../exec.js'
import { DOCKER_SAVE_TIMEOUT_S, dockerBound } from './timeouts.js'
import { tempDir } from '../tempDir.js'

/** One platform's manifest in an image index. */
export interface PlatformManifest {
  platform: string
  digest: string
  /** Manifest + config + layers, bytes (compressed, as pushed). */
  size: number
  /**
   * The predicate types of the in-toto statements the index attests this manifest with (its
   * attestation manifest's layers), e.g. `https://spdx.dev/Document` for an SBOM; none: no entry.
   */
  attestations?: string[]
}

/** An OCI content descriptor. */
export interface Descriptor {
  mediaType?: string
  digest: string
  size: number
  platform?: { os: string; architecture: string; variant?: string }
  annotations?: Record<string, string>
}

/** `os/arch[/variant]` of a descriptor. */
export function platformOf(d: Descriptor): string {
  const p = d.platform
  if (!p) return 'unknown/unknown'
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/')
}

/** Whether an index entry is an attestation manifest (`unknown/unknown`), not a platform's image. */
export function isAttestation(d: Descriptor): boolean {
  return (
    d.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest' ||
    platformOf(d) === 'unknown/unknown'
  )
}

/**
 * The per-platform manifests of an OCI image index, with each image's size and the predicate
 * types of its attestations, read through a blob reader (a local OCI layout or a registry).
 * Attestation manifests are not platforms: left out, each read into the manifest it refers to.
 */
export async function indexManifests(
  indexJson: string,
  readBlob: (digest: string) => Promise<string>
): Promise<PlatformManifest[]> {
  const index = JSON.parse(indexJson) as { manifests?: Descriptor[] }
  const entries = index.manifests ?? []
  const attested = await attestationsBySubject(entries, readBlob)
  const out: PlatformManifest[] = []
  for (const d of entries) {
    if (isAttestation(d)) continue
    const manifest = JSON.parse(await readBlob(d.digest)) as {
      config: Descriptor
      layers: Descriptor[]
    }
    const size = d.size + manifest.config.size + manifest.layers.reduce((n, l) => n + l.size, 0)
    const attestations = attested.get(d.digest)
    out.push({
      platform: platformOf(d),
      digest: d.digest,
      size,
      ...(attestations && { attestations })
    })
  }
  return out
}

/** Predicate types of each attestation manifest's statements, by the digest of what it attests. */
async function attestationsBySubject(
  entries: Descriptor[],
  readBlob: (digest: string) => Promise<string>
): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>()
  for (const d of entries) {
    const subject = d.annotations?.['vnd.docker.reference.digest']
    if (!isAttestation(d) || !subject) continue
    const manifest = JSON.parse(await readBlob(d.digest)) as { layers?: Descriptor[] }
    const types = (manifest.layers ?? [])
      .map(l => l.annotations?.['in-toto.io/predicate-type'])
      .filter((t): t is string => !!t)
    out.set(subject, [...(out.get(subject) ?? []), ...types])
  }
  return out
}

/**
 * `docker save` of an image into a fresh OCI layout directory (the tar is unpacked and removed).
 * By image ID (the index digest) where known, so a concurrent run that re-points a local tag
 * cannot swap the image.
 */
export async function saveLayout(ref: string): Promise<string> {
  const dir = await tempDir('save-')
  try {
    await run('docker', ['save', '--output', join(dir, 'image.tar'), ref], {
      silent: true,
      timeoutSeconds: dockerBound(DOCKER_SAVE_TIMEOUT_S)
    })
    await run('tar', ['-xf', join(dir, 'image.tar'), '-C', dir], { silent: true })
    await rm(join(dir, 'image.tar'))
    return dir
  } catch (e) {
    await rm(dir, { recursive: true, force: true })
    throw e
  }
}

/** The path of a blob in an OCI layout. */
export function blobPath(layout: string, digest: string): string {
  return join(layout, 'blobs', ...digest.split(':'))
}

/** The image of an OCI layout written by docker save: its top descriptor (index or manifest). */
export async function layoutRoot(layout: string): Promise<Descriptor> {
  // docker save wraps the image's own index in a top-level index.json; unwrap it.
  const top = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as {
    manifests: Descriptor[]
  }
  const d = top.manifests[0]
  if (!d) throw new Error(`${layout}: the saved image has no manifest`)
  return d
}

/** Whether a media type is an image index (OCI) or manifest list (Docker). */
export function isIndexType(mediaType: string | undefined): boolean {
  return !!mediaType && (mediaType.includes('manifest.list') || mediaType.includes('image.index'))
}

/**
 * The index digest and per-platform manifests of an image saved to an OCI layout: exactly what
 * `docker run --platform` runs and what the push sends.
 */
export async function readLayout(
  layout: string
): Promise<{ digest: string; manifests: PlatformManifest[] }> {
  const blob = (digest: string): Promise<string> => readFile(blobPath(layout, digest), 'utf8')
  const d = await layoutRoot(layout)
  if (isIndexType(d.mediaType)) {
    return { digest: d.digest, manifests: await indexManifests(await blob(d.digest), blob) }
  }
  // A single-platform image: one manifest, its platform in the config.
  const manifest = JSON.parse(await blob(d.digest)) as { config: Descriptor }
  const config = JSON.parse(await blob(manifest.config.digest)) as {
    os: string
    architecture: string
    variant?: string
  }
  const platform = { os: config.os, architecture: config.architecture, variant: config.variant }
  return {
    digest: d.digest,
    manifests: await indexManifests(JSON.stringify({ manifests: [{ ...d, platform }] }), blob)
  }
}

/**
 * The index digest and per-platform manifests of an image in the engine's (containerd) store,
 * read from `docker save`.
 */
export async function localImage(
  ref: string
): Promise<{ digest: string; manifests: PlatformManifest[] }> {
  const dir = await saveLayout(ref)
  try {
    return await readLayout(dir)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
