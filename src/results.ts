/** What happened to one platform of one image. */
export interface PlatformResult {
  platform: string
  /** Digest of the platform's manifest. */
  digest?: string
  /** Compressed size of the platform's image (manifest, config and layers), bytes. */
  size?: number
  smoke?: SmokeResult
  /** Whether the executable the image runs fits the platform (checked before any push). */
  architecture?: ArchitectureResult
  /**
   * The predicate types of the statements attesting this platform's image in the index
   * (`https://spdx.dev/Document`: the SBOM; `https://slsa.dev/provenance/...`: provenance).
   */
  attestations?: string[]
}

/** The architecture check of one platform of an image. */
export interface ArchitectureResult {
  /**
   * `verified`: the entrypoint's executable fits the platform (ELF class, byte order, machine,
   * ARM float ABI, and a Go binary's GOOS/GOARCH/GOARM); `mismatch`: it does not, and the run
   * fails before any push; `not-checked`: there is no ELF executable to check (see `note`).
   */
  status: 'verified' | 'mismatch' | 'not-checked'
  /** The executable checked: its path in the image. */
  file?: string
  /** The script (`#!`) whose interpreter `file` is. */
  script?: string
  /** What was found: the ELF header and, for a Go binary, its recorded target. */
  found?: string
  /** What the platform needs. */
  expected?: string
  /** What does not fit the platform (a mismatch). */
  problems?: string[]
  /** Why nothing was checked, or what was left out (no go on PATH). */
  note?: string
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
  /**
   * `unavailable`: the stage ran but what it needed was not there (e.g. no cache service);
   * `stopped`: a stage beside the others could not go on, as what it waited for failed (the note
   * says which).
   */
  status: 'ok' | 'failed' | 'skipped' | 'unavailable' | 'stopped'
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
