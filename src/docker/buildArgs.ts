import type { PlannedImage } from '../plan/plan.js'
import { FILES_CONTEXT } from '../plan/runnerBuild.js'

/** How the build cache is wired, decided by the executor from the plan and the runtime env. */
export interface CacheWiring {
  /** Use `type=gha` (the runtime env is there and caching is on). */
  gha: boolean
}

/** Options of the build command that are not in the image's plan. */
export interface BuildCommandOptions {
  /** The buildx builder to use. */
  builder: string
  /** Where buildx writes the build's metadata (digests). */
  metadataFile: string
  cache: CacheWiring
  /** `--load` the whole multi-platform image into the engine's store (containerd store). */
  load: boolean
  /** SOURCE_DATE_EPOCH for reproducible image timestamps (config and history dates). */
  sourceDateEpoch: number
  /**
   * Load with OCI media types (a platform job's manifests, so that the merge's index is an OCI
   * index, which carries annotations; a Docker manifest list cannot).
   */
  ociMediaTypes?: boolean
}

/**
 * The `docker buildx build` argument array for one image: platforms, build args, labels, target,
 * every planned tag, cache and metadata file. Pure; no shell ever sees it.
 */
export function buildCommand(image: PlannedImage, opts: BuildCommandOptions): string[] {
  const args = ['buildx', 'build', '--builder', opts.builder]
  args.push('--platform', image.platforms.join(','))
  args.push('--file', image.dockerfile)
  for (const a of image.buildArgs) args.push('--build-arg', `${a.key}=${a.value}`)
  args.push('--build-arg', `SOURCE_DATE_EPOCH=${opts.sourceDateEpoch}`)
  for (const [k, v] of Object.entries(image.labels)) args.push('--label', `${k}=${v}`)
  if (image.target) args.push('--target', image.target)
  const files = image.runnerBuild?.filesDir
  if (files) args.push('--build-context', `${FILES_CONTEXT}=${files}`)
  for (const tag of image.tags) args.push('--tag', tag)
  if (opts.cache.gha) {
    args.push('--cache-from', `type=gha,scope=${image.cacheScope}`)
    args.push('--cache-to', `type=gha,scope=${image.cacheScope},mode=max,ignore-error=true`)
  }
  args.push('--metadata-file', opts.metadataFile)
  // Loaded images carry no provenance attestation (no unknown/unknown entry in the index).
  args.push('--provenance=false')
  if (opts.load && opts.ociMediaTypes) args.push('--output', 'type=docker,oci-mediatypes=true')
  else if (opts.load) args.push('--load')
  args.push(image.context)
  return args
}

/**
 * The `docker run` argument array of one smoke test. Without `network` the container has none
 * (a version check needs none, and skipping the bridge's veth pair takes about 0.1 s off every
 * start); an HTTP smoke test gets the run's own internal network, with no published port.
 */
export function smokeCommand(
  image: PlannedImage,
  platform: string,
  name: string,
  network = 'none'
): string[] {
  return [
    'run',
    '--rm',
    '--name',
    name,
    '--pull',
    'never',
    '--network',
    network,
    // the output is read from the attached streams; a log file of it in the daemon would only
    // cost time
    '--log-driver',
    'none',
    '--platform',
    platform,
    image.versionTag,
    ...image.smoke.args
  ]
}
