import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { run } from '../exec.js'
import { retryTransient, transientRegistryError } from './retry.js'

/** One platform's manifest in an image index. */
export interface PlatformManifest {
  platform: string
  digest: string
  /** Manifest + config + layers, bytes (compressed, as pushed). */
  size: number
}

interface Descriptor {
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

/**
 * The per-platform manifests of an OCI image index, with each image's size, read through a
 * blob reader (a local OCI layout or a registry). Attestation manifests are left out.
 */
export async function indexManifests(
  indexJson: string,
  readBlob: (digest: string) => Promise<string>
): Promise<PlatformManifest[]> {
  const index = JSON.parse(indexJson) as { manifests?: Descriptor[] }
  const out: PlatformManifest[] = []
  for (const d of index.manifests ?? []) {
    if (d.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest') continue
    if (platformOf(d) === 'unknown/unknown') continue
    const manifest = JSON.parse(await readBlob(d.digest)) as {
      config: Descriptor
      layers: Descriptor[]
    }
    const size = d.size + manifest.config.size + manifest.layers.reduce((n, l) => n + l.size, 0)
    out.push({ platform: platformOf(d), digest: d.digest, size })
  }
  return out
}

/**
 * Saves an image of the engine's (containerd) store with `docker save` (an OCI layout: exactly
 * what `docker run --platform` runs and what `docker push` sends), extracted into a temporary
 * directory, and calls `fn` with that directory; removes it afterwards.
 */
export async function withSavedImage<T>(
  ref: string,
  fn: (layout: string) => Promise<T>
): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'gia-save-'))
  try {
    await run('docker', ['save', '--output', join(dir, 'image.tar'), ref], { silent: true })
    await run('tar', ['-xf', join(dir, 'image.tar'), '-C', dir], { silent: true })
    await rm(join(dir, 'image.tar'))
    return await fn(dir)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/** The index digest and per-platform manifests of a saved image (see withSavedImage). */
export async function layoutImage(
  dir: string,
  ref: string
): Promise<{ digest: string; manifests: PlatformManifest[] }> {
  const blob = (digest: string): Promise<string> =>
    readFile(join(dir, 'blobs', ...digest.split(':')), 'utf8')
  // docker save wraps the image's own index in a top-level index.json; unwrap it.
  const top = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as {
    manifests: Descriptor[]
  }
  const d = top.manifests[0]
  if (!d) throw new Error(`docker save ${ref}: no manifest`)
  if (d.mediaType?.includes('manifest.list') || d.mediaType?.includes('image.index')) {
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

/** The index digest and per-platform manifests of an image in the engine's store. */
export async function localImage(
  ref: string
): Promise<{ digest: string; manifests: PlatformManifest[] }> {
  return withSavedImage(ref, dir => layoutImage(dir, ref))
}

/** The labels of a remote image (of its first platform), or undefined when it does not exist. */
export async function remoteLabels(ref: string): Promise<Record<string, string> | undefined> {
  const res = await retryTransient(`inspecting ${ref}`, async () => {
    const r = await run(
      'docker',
      ['buildx', 'imagetools', 'inspect', ref, '--format', '{{json .Image}}'],
      { silent: true, allowFailure: true }
    )
    // a server error is retried, and never taken for "no such tag"
    if (r.exitCode !== 0 && transientRegistryError(r.stderr)) throw new Error(r.stderr.trim())
    return r
  })
  if (res.exitCode !== 0) {
    if (/not found|manifest unknown|404 Not Found/i.test(res.stderr)) return undefined
    throw new Error(`cannot inspect ${ref} in its registry: ${res.stderr.trim().split('\n').pop()}`)
  }
  const parsed = JSON.parse(res.stdout) as Record<
    string,
    { config?: { Labels?: Record<string, string> } }
  > & {
    config?: { Labels?: Record<string, string> }
  }
  if (parsed.config) return parsed.config.Labels ?? {}
  const first = Object.values(parsed)[0] as
    { config?: { Labels?: Record<string, string> } } | undefined
  return first?.config?.Labels ?? {}
}
