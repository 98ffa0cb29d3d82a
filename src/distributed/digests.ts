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
  /** The image's labels, for the merge to check every job built the same release. */
  labels: Record<string, string>
  smoke?: SmokeResult
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
