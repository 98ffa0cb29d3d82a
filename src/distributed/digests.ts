import type { Plan } from '../plan/plan.js'
import type { SmokeResult } from '../results.js'

/** One platform of one image, as a platform job pushed and tested it. */
export interface HandedOnImage {
  name: string
  platform: string
  /** The platform manifest's digest, pushed without a tag. */
  digest: string
  /** The manifest's media type and byte size, for the index's descriptor. */
  mediaType: string
  manifestSize: number
  /** The image's compressed size (manifest, config, layers), for the summary. */
  size?: number
  /**
   * The attestation manifest (provenance) of this platform manifest, pushed with it, when the
   * platform job made one: the merge puts it in the index as an `unknown/unknown` entry that
   * references the platform manifest, as buildx does in a multi-platform build.
   */
  attestation?: AttestationDescriptor
  /** The image's labels, for the merge to check every job built the same release. */
  labels: Record<string, string>
  smoke?: SmokeResult
}

/** An attestation manifest's descriptor, as the platform job's index listed it. */
export interface AttestationDescriptor {
  mediaType: string
  digest: string
  size: number
  /** `vnd.docker.reference.type: attestation-manifest` and `vnd.docker.reference.digest`. */
  annotations: Record<string, string>
}

/** What one platform job hands on to the merge (the JSON in its artifact). */
export interface DigestRecord {
  version: string
  commit: string
  date: string
  platform: string
  images: HandedOnImage[]
}

/** The file name of the record inside its artifact. */
export const RECORD_FILE = 'digests.json'

/**
 * What the merge cannot go on without, one line each: every planned image on every planned
 * platform must have come from a platform job. Pure.
 */
export function missingDigests(plan: Plan, records: DigestRecord[]): string[] {
  const missing: string[] = []
  for (const image of plan.images) {
    for (const platform of image.platforms) {
      const found = records.some(r =>
        r.images.some(i => i.name === image.name && i.platform === platform)
      )
      if (!found) missing.push(`${image.name} on ${platform}`)
    }
  }
  return missing
}

/**
 * Where a platform job's release differs from the merge's own plan (version, commit, date,
 * labels), one line each: images built from another event must not be merged. Pure.
 */
export function disagreements(plan: Plan, records: DigestRecord[]): string[] {
  const out: string[] = []
  const m = plan.metadata
  for (const r of records) {
    for (const [key, mine, theirs] of [
      ['version', m.version, r.version],
      ['commit', m.commit, r.commit],
      ['date', m.date, r.date]
    ]) {
      if (mine !== theirs)
        out.push(`the ${r.platform} job built ${key} ${theirs}, this merge plans ${mine}`)
    }
    for (const i of r.images) {
      const planned = plan.images.find(p => p.name === i.name)
      if (planned && JSON.stringify(planned.labels) !== JSON.stringify(i.labels))
        out.push(`the ${r.platform} job labelled ${i.name} differently from this merge's plan`)
    }
  }
  return out
}

/** The annotations by which an index entry is the attestation manifest of another entry. */
const REFERENCE_TYPE = 'vnd.docker.reference.type'
const REFERENCE_DIGEST = 'vnd.docker.reference.digest'

/**
 * The attestation manifest of platform manifest `digest` in an index's JSON (as buildx wrote
 * it), or undefined when there is none (attestations off, or a single manifest). Pure.
 */
export function attestationOf(
  indexJson: string,
  digest: string
): AttestationDescriptor | undefined {
  const index = JSON.parse(indexJson) as {
    manifests?: {
      mediaType?: string
      digest: string
      size: number
      annotations?: Record<string, string>
    }[]
  }
  const d = (index.manifests ?? []).find(
    m =>
      m.annotations?.[REFERENCE_TYPE] === 'attestation-manifest' &&
      m.annotations?.[REFERENCE_DIGEST] === digest
  )
  if (!d) return undefined
  return {
    mediaType: d.mediaType ?? 'application/vnd.oci.image.manifest.v1+json',
    digest: d.digest,
    size: d.size,
    annotations: d.annotations as Record<string, string>
  }
}

/** An entry of the merged index. */
export interface IndexEntry {
  mediaType: string
  digest: string
  size: number
  platform: { os: string; architecture: string; variant?: string }
  annotations?: Record<string, string>
}

/**
 * The merged index's entries: each platform manifest in the order given, then each one's
 * attestation manifest (`unknown/unknown`, referencing it), as buildx orders a multi-platform
 * build's index. Throws when an attestation references another manifest. Pure.
 */
export function mergedEntries(parts: HandedOnImage[]): IndexEntry[] {
  const images = parts.map(p => ({
    mediaType: p.mediaType,
    digest: p.digest,
    size: p.manifestSize,
    platform: platformObject(p.platform)
  }))
  const attestations = parts.flatMap(p => {
    const a = p.attestation
    if (!a) return []
    if (a.annotations[REFERENCE_DIGEST] !== p.digest)
      throw new Error(
        `${p.name} on ${p.platform}: the attestation ${a.digest} references ${a.annotations[REFERENCE_DIGEST]}, not the platform manifest ${p.digest}`
      )
    return [
      {
        mediaType: a.mediaType,
        digest: a.digest,
        size: a.size,
        platform: { os: 'unknown', architecture: 'unknown' },
        annotations: a.annotations
      }
    ]
  })
  return [...images, ...attestations]
}

/** `linux/arm/v7` as an OCI platform object. */
export function platformObject(platform: string): {
  os: string
  architecture: string
  variant?: string
} {
  const [os, architecture, variant] = platform.split('/')
  return variant ? { os, architecture, variant } : { os, architecture }
}
