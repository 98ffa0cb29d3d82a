/**
 * Writes a runner build's image as an OCI layout, without BuildKit: per platform the base's
 * layers plus the binary's layer (src/image/layer.ts), the config (src/image/config.ts) and the
 * manifest; then the index with the OCI annotations (and, when planned, a minimal provenance per
 * platform). The layout is what is loaded into the engine, checked and pushed.
 */
import { copyFile, link, mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { outputIsIndex } from '../docker/buildArgs.js'
import { blobPath, type Descriptor, type PlatformManifest } from '../docker/image.js'
import type { AttestationPlan, PlannedImage } from '../plan/plan.js'
import type { GeneratedDockerfileOptions } from '../plan/runnerBuild.js'
import { sha256 } from '../registry/client.js'
import type { BasePlatform } from './base.js'
import { platformFields, runnerConfig } from './config.js'
import { buildLayer } from './layer.js'
import { attestationConfig, provenanceStatement } from './provenance.js'

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json'
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json'
const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip'

/** What the writer needs besides the image's plan. */
export interface WriteOptions {
  /** The generated Dockerfile's options: base, binary, labels, ports, user, command. */
  generated: GeneratedDockerfileOptions
  /** `<os>/<arch>[/<variant>]` -> the binary compiled for it. */
  binaries: Map<string, string>
  /**
   * Settles once a platform's binary is there: each platform's layer is written as soon as its
   * binary is, while the others are still built (by default they all are there).
   */
  ready?: (platform: string) => Promise<void>
  base: Map<string, BasePlatform>
  sourceDateEpoch: number
  attestations: AttestationPlan
  /** For provenance: the repository URL ('' unknown), the commit and the Go package. */
  source: string
  commit: string
  main: string
}

/** The written image: the layout, its root digest and per-platform manifests. */
export interface WrittenImage {
  layout: string
  digest: string
  mediaType: string
  manifests: PlatformManifest[]
  /** Blobs that already are in a repository (the base's), by digest: `registry/repo`. */
  sources: Map<string, string>
}

/** A blob written into the layout; its descriptor. */
async function putBlob(layout: string, mediaType: string, bytes: Buffer): Promise<Descriptor> {
  const digest = sha256(bytes)
  const file = blobPath(layout, digest)
  await mkdir(join(layout, 'blobs', 'sha256'), { recursive: true })
  await writeFile(file, bytes)
  return { mediaType, digest, size: bytes.length }
}

/** A cached base layer into the layout: a hard link where the file system allows, else a copy. */
async function linkBlob(layout: string, file: string, digest: string): Promise<void> {
  const to = blobPath(layout, digest)
  await mkdir(join(layout, 'blobs', 'sha256'), { recursive: true })
  await link(file, to).catch(async e => {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return
    await copyFile(file, to)
  })
}

/** A base layer's descriptor in an OCI manifest (Docker's layer type is the same gzip tar). */
function ociLayer(d: Descriptor & { file?: string }): Descriptor {
  const { file: _file, ...rest } = d
  const mediaType = d.mediaType?.startsWith('application/vnd.docker.image.rootfs.')
    ? OCI_LAYER
    : d.mediaType
  return { ...rest, mediaType }
}

/** One platform's image: layer, config and manifest written; its manifest's descriptor. */
async function writePlatform(
  layout: string,
  platform: string,
  o: WriteOptions,
  annotations: Record<string, string> | undefined
): Promise<{ desc: Descriptor; size: number }> {
  const base = o.base.get(platform) as BasePlatform
  const g = o.generated
  const created = new Date(o.sourceDateEpoch * 1000).toISOString().replace('.000Z', 'Z')
  await o.ready?.(platform)
  const binary = await readFile(o.binaries.get(platform) as string)
  const layer = await buildLayer(
    [{ name: g.binary, bytes: binary, mode: 0o755 }],
    o.sourceDateEpoch
  )
  const layerDesc = await putBlob(layout, OCI_LAYER, layer.bytes)
  const config = runnerConfig(base.config, { ...g, platform, diffId: layer.diffId, created })
  const configDesc = await putBlob(layout, OCI_CONFIG, Buffer.from(JSON.stringify(config)))
  for (const l of base.layers) await linkBlob(layout, l.file, l.digest)
  const layers = [...base.layers.map(ociLayer), layerDesc]
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: configDesc,
    layers,
    ...(annotations ? { annotations } : {})
  }
  const desc = await putBlob(layout, OCI_MANIFEST, Buffer.from(JSON.stringify(manifest)))
  const size = desc.size + configDesc.size + layers.reduce((n, l) => n + l.size, 0)
  return { desc: { ...desc, platform: platformFields(platform) }, size }
}

/** The attestation manifest of one platform (minimal provenance); its index entry. */
async function writeProvenance(
  layout: string,
  image: PlannedImage,
  platform: string,
  subject: string,
  o: WriteOptions
): Promise<Descriptor> {
  const b = o.base.get(platform)?.ref
  const statement = provenanceStatement({
    platform,
    tags: image.tags,
    subject,
    source: o.source,
    commit: o.commit,
    main: o.main,
    base: b && { name: `${b.registry}/${b.repo}`, ref: b.ref, digest: b.manifestDigest }
  })
  const layer = await putBlob(layout, 'application/vnd.in-toto+json', statement)
  const config = await putBlob(layout, OCI_CONFIG, attestationConfig(layer.digest))
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config,
    layers: [
      { ...layer, annotations: { 'in-toto.io/predicate-type': 'https://slsa.dev/provenance/v0.2' } }
    ]
  }
  const desc = await putBlob(layout, OCI_MANIFEST, Buffer.from(JSON.stringify(manifest)))
  return {
    ...desc,
    annotations: {
      'vnd.docker.reference.digest': subject,
      'vnd.docker.reference.type': 'attestation-manifest'
    },
    platform: { architecture: 'unknown', os: 'unknown' }
  }
}

/**
 * Writes the image into `layout` (an empty directory): every platform, the index when the output
 * is one (several platforms or a provenance), and `index.json` naming the root under every tag
 * (`io.containerd.image.name`, which `docker load` tags it with).
 */
export async function writeImage(
  layout: string,
  image: PlannedImage,
  o: WriteOptions
): Promise<WrittenImage> {
  const provenance = o.attestations.provenance !== 'false'
  const isIndex = outputIsIndex(image.platforms.length, o.attestations)
  const platforms = await Promise.all(
    image.platforms.map(p => writePlatform(layout, p, o, isIndex ? undefined : image.annotations))
  )
  let root = platforms[0].desc
  if (isIndex) {
    const attestations = provenance
      ? await Promise.all(
          image.platforms.map((p, i) =>
            writeProvenance(layout, image, p, platforms[i].desc.digest, o)
          )
        )
      : []
    const index = {
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [...platforms.map(p => p.desc), ...attestations],
      ...(Object.keys(image.annotations).length > 0 ? { annotations: image.annotations } : {})
    }
    root = await putBlob(layout, OCI_INDEX, Buffer.from(JSON.stringify(index)))
  }
  const { mediaType, digest, size } = root
  const names = image.tags.map(t => ({
    mediaType,
    digest,
    size,
    annotations: {
      'io.containerd.image.name': t,
      'org.opencontainers.image.ref.name': t.slice(t.lastIndexOf(':') + 1)
    }
  }))
  await writeFile(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }))
  await writeFile(
    join(layout, 'index.json'),
    JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: names })
  )
  const sources = new Map<string, string>()
  for (const b of o.base.values())
    for (const l of b.layers) if (b.ref) sources.set(l.digest, `${b.ref.registry}/${b.ref.repo}`)
  return {
    layout,
    digest,
    mediaType: mediaType as string,
    manifests: image.platforms.map((p, i) => ({
      platform: p,
      digest: platforms[i].desc.digest,
      size: platforms[i].size
    })),
    sources
  }
}
