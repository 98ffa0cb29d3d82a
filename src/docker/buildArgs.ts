import type { AttestationPlan, PlannedImage } from '../plan/plan.js'
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
  /**
   * Where the image goes: `load` the whole multi-platform image into the engine's store
   * (containerd store); `load` only `platform` under `tag` (classic store: one platform at a
   * time, no attestation, no tag of the plan); or export the build as an OCI layout directory
   * `dest` (classic store: what the push sends).
   */
  output:
    | { type: 'load' }
    | { type: 'load-platform'; platform: string; tag: string }
    | { type: 'oci'; dest: string }
  /** SOURCE_DATE_EPOCH for reproducible image timestamps (config and history dates). */
  sourceDateEpoch: number
  attestations: AttestationPlan
  /**
   * Load with OCI media types (a platform job's manifests, so that the merge's index is an OCI
   * index, which carries annotations; a Docker manifest list cannot).
   */
  ociMediaTypes?: boolean
}

/** The `--provenance`/`--sbom` flags: attestations off, or the planned ones. */
export function attestationArgs(att: AttestationPlan | undefined): string[] {
  if (!att || att.provenance === 'false') {
    const args = ['--provenance=false']
    if (att?.sbomScanner) args.push(`--sbom=generator=${att.sbomScanner}`)
    return args
  }
  const args = [`--provenance=mode=${att.provenance}`]
  if (att.sbomScanner) args.push(`--sbom=generator=${att.sbomScanner}`)
  return args
}

/** Whether the output is an index: several platforms, or attestations (always in an index). */
export function outputIsIndex(platforms: number, att: AttestationPlan | undefined): boolean {
  return platforms > 1 || (!!att && (att.provenance !== 'false' || !!att.sbomScanner))
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
  const out = opts.output
  if (out.type === 'load-platform') {
    // one platform of the multi-platform build, for the classic store: the smoke test's copy
    args.splice(args.indexOf('--platform') + 1, 1, out.platform)
    args.push('--tag', out.tag)
  } else {
    if (out.type === 'load') for (const tag of image.tags) args.push('--tag', tag)
    const level = outputIsIndex(image.platforms.length, opts.attestations) ? 'index' : 'manifest'
    for (const [k, v] of Object.entries(image.annotations))
      args.push('--annotation', `${level}:${k}=${v}`)
  }
  if (opts.cache.gha) {
    args.push('--cache-from', `type=gha,scope=${image.cacheScope}`)
    args.push('--cache-to', `type=gha,scope=${image.cacheScope},mode=max,ignore-error=true`)
  }
  args.push('--metadata-file', opts.metadataFile)
  // a one-platform load only feeds the smoke test: no attestation (the classic store would
  // refuse the index it makes)
  args.push(...attestationArgs(out.type === 'load-platform' ? undefined : opts.attestations))
  if (out.type === 'oci') args.push('--output', `type=oci,dest=${out.dest},tar=false`)
  else if (out.type === 'load' && opts.ociMediaTypes)
    args.push('--output', 'type=docker,oci-mediatypes=true')
  else args.push('--load')
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
  network = 'none',
  ref = image.versionTag
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
    ref,
    ...image.smoke.args
  ]
}
