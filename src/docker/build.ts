import * as core from '@actions/core'
import { readFile, rm } from 'node:fs/promises'
import { EOL } from 'node:os'
import { join } from 'node:path'
import { CommandTimeoutError, run } from '../exec.js'
import type { AttestationPlan, PlannedImage } from '../plan/plan.js'
import { tempDir } from '../tempDir.js'
import { buildCommand, type BuildCommandOptions, type CacheWiring } from './buildArgs.js'
import type { ArchitectureResult } from '../results.js'
import type { LoadedPlatform } from './classic.js'
import { readLayout, saveLayout, type PlatformManifest } from './image.js'
import { verifyArchitecture } from './verify.js'

/** One built (and loaded) image. */
export interface BuiltImage {
  image: PlannedImage
  /** Index digest in the engine's store. */
  digest: string
  manifests: PlatformManifest[]
  /**
   * The image saved from the engine as an OCI layout directory (docker save), kept for the push:
   * its bytes are what was tested (on the classic store: the same build exported from the
   * builder, checked against the loaded platforms). Undefined when nothing will be pushed.
   */
  layout?: string
  /** The classic store: each platform loaded on its own, where its smoke test runs. */
  loaded?: LoadedPlatform[]
  /** Each platform's architecture check, by platform. */
  architecture: Map<string, ArchitectureResult>
  /**
   * Blobs already in a repository (a written image's base layers), by digest: `registry/repo`,
   * mounted from there by a push to the same registry instead of uploaded.
   */
  sources?: Map<string, string>
}

/** A finished `buildx build --load`: the image and the index digest buildx reported. */
export interface LoadedImage {
  image: PlannedImage
  /** From --metadata-file; undefined when buildx wrote none. */
  reportedDigest?: string
}

/** What every build of a run shares. */
export interface BuildOptions {
  builder: string
  cache: CacheWiring
  workspace: string
  sourceDateEpoch: number
  attestations: AttestationPlan
  /**
   * Load with OCI media types (a platform job's manifests, so that the merge's index is an OCI
   * index, which carries annotations; a Docker manifest list cannot).
   */
  ociMediaTypes?: boolean
  /** Seconds one `docker buildx build` may take (the plan's buildTimeoutSeconds). */
  timeoutSeconds: number
}

/**
 * Where a build's log goes: by default printed as it comes (fenced); with a function, the command
 * line and every chunk of output are handed to it instead (a build that runs beside others, whose
 * log an OutputRelay prints).
 */
export type BuildLog = ((text: string) => void) | undefined

/**
 * Runs one `docker buildx build` of an image with the given output and returns the digest buildx
 * reported (`containerimage.digest` of --metadata-file). A failure names the image.
 */
export async function buildx(
  image: PlannedImage,
  opts: BuildOptions,
  output: BuildCommandOptions['output'],
  log?: BuildLog
): Promise<string | undefined> {
  const dir = await tempDir('build-')
  const metadataFile = join(dir, 'metadata.json')
  const args = buildCommand(image, { ...opts, metadataFile, output })
  try {
    log?.(`[command]docker ${args.join(' ')}${EOL}`)
    await run('docker', args, {
      cwd: opts.workspace,
      timeoutSeconds: opts.timeoutSeconds,
      timeoutRaise: 'the build-timeout input',
      ...(log ? { silent: true, onOutput: log } : {})
    })
    const meta = JSON.parse(await readFile(metadataFile, 'utf8').catch(() => '{}')) as Record<
      string,
      unknown
    >
    return meta['containerimage.digest'] as string | undefined
  } catch (e) {
    const what = output.type === 'load-platform' ? ` for ${output.platform}` : ''
    if (e instanceof CommandTimeoutError) {
      const platforms =
        output.type === 'load-platform' ? output.platform : image.platforms.join(', ')
      throw new Error(
        `build of ${image.name} for ${platforms} (${image.origin}) did not finish in ${e.seconds} s: docker buildx build was stopped, nothing is pushed; raise the build-timeout input if the build needs longer`
      )
    }
    throw new Error(
      `build of ${image.name}${what} (${image.origin}) failed: ${(e as Error).message}`
    )
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/**
 * Builds one image with `docker buildx build --load`: the whole multi-platform index lands in the
 * containerd store.
 */
export async function buildImage(
  image: PlannedImage,
  opts: BuildOptions,
  log?: BuildLog
): Promise<LoadedImage> {
  return { image, reportedDigest: await buildx(image, opts, { type: 'load' }, log) }
}

/**
 * Reads back the index and per-platform digests of a loaded image: what will be tested and
 * pushed. Checks them against what buildx reported and the planned platforms. The image is saved
 * by the digest buildx reported (never by a local tag another run could re-point); with `keep`,
 * the saved layout stays for the push. Each platform's executable is checked against its platform
 * from the same saved image (src/docker/verify.ts).
 */
export async function readLoaded(loaded: LoadedImage, keep = false): Promise<BuiltImage> {
  const { image } = loaded
  const layout = await saveLayout(loaded.reportedDigest ?? image.versionTag)
  let local: Awaited<ReturnType<typeof readLayout>>
  let architecture: Map<string, ArchitectureResult>
  try {
    local = await readLayout(layout)
    // each platform's executable, from the same saved image
    architecture = await verifyArchitecture(layout, local.manifests)
  } finally {
    if (!keep) await rm(layout, { recursive: true, force: true })
  }
  const built = loaded.reportedDigest ?? local.digest
  if (built !== local.digest) {
    throw new Error(
      `build of ${image.name}: buildx reported ${built} but the engine holds ${local.digest}`
    )
  }
  const missing = image.platforms.filter(p => !local.manifests.some(m => m.platform === p))
  if (missing.length > 0) {
    throw new Error(`build of ${image.name}: the loaded image lacks ${missing.join(', ')}`)
  }
  core.info(
    `${image.name}: ${local.digest} (${local.manifests.map(m => `${m.platform} ${m.digest.slice(7, 19)}`).join(', ')})`
  )
  return {
    image,
    digest: local.digest,
    manifests: local.manifests,
    layout: keep ? layout : undefined,
    architecture
  }
}
