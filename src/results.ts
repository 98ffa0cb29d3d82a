/** What happened to one platform of one image. */
export interface PlatformResult {
  platform: string
  /** Digest of the platform's manifest. */
  digest?: string
  /** Compressed size of the platform's image (manifest, config and layers), bytes. */
  size?: number
  smoke?: SmokeResult
}

/** The outcome of one smoke test run. */
export interface SmokeResult {
  ok: boolean
  command: string
  output: string
  ms: number
}

/** What happened to one tag of one image. */
export interface TagResult {
  /** The full reference, `<name>:<tag>`. */
  ref: string
  /**
   * `pushed`: the tag points at the tested index, verified. `kept`: a floating tag left where it
   * was (a newer release holds it). `failed`: its push failed. `not pushed`: not reached.
   */
  status: 'pushed' | 'kept' | 'failed' | 'not pushed'
  /** Why, when it is not simply pushed. */
  note?: string
}

/** What happened to one image. */
export interface ImageResult {
  name: string
  /** Digest of the image index (the multi-platform manifest list). */
  digest?: string
  platforms: PlatformResult[]
  /** Tags that were pushed (verified on the tested index). */
  pushedTags: string[]
  /** Every tag the push was to write and what happened to it (set by the Push stage). */
  tags?: TagResult[]
  /** Why `latest` was left where it was, if it was. */
  latestNote?: string
}

/** How long a stage took. */
export interface StageTiming {
  stage: string
  ms: number
  /** `unavailable`: the stage ran but what it needed was not there (e.g. no cache service). */
  status: 'ok' | 'failed' | 'skipped' | 'unavailable'
  note?: string
}

/** Everything the executor reports back; outputs and summary come from this only. */
export interface Results {
  images: ImageResult[]
  stages: StageTiming[]
  pushed: boolean
  /** The Go caches were restored on the exact key. */
  goCacheHit?: boolean
}

/** Results of a run that did nothing yet (a dry run). */
export function emptyResults(): Results {
  return { images: [], stages: [], pushed: false }
}
