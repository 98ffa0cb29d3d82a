import * as core from '@actions/core'
import semver from 'semver'
import { buildImage, readLoaded, type BuildOptions, type BuiltImage } from '../docker/build.js'
import type { EngineInfo } from '../docker/engine.js'
import type { PlannedImage } from '../plan/plan.js'
import { classicBuilt, loadPlatforms, runToken } from '../docker/classic.js'
import { buildCacheUnavailableReason, buildxCacheVersion } from '../cacheService.js'
import { addBuilt } from './built.js'
import { removeContextFiles } from './go.js'
import { needs, type Stage, type StageContext } from './stage.js'
import { smokes } from './smoke.js'
import { writtenByAction } from './write.js'
import { OutputRelay } from '../util/outputRelay.js'

/**
 * Builds and loads every image BuildKit builds, and collects those the Write images stage wrote;
 * reading each loaded image back (docker save: its index and per-platform digests) starts at once
 * and, when smoke tests run, is collected by that stage: both only read the engine's store, and
 * the read is a per-platform cost. On the containerd store the BuildKit builds run at once
 * (parallelBuilds). On the classic store each platform is loaded on its own, one image after
 * another, and the build to push is exported from the builder and checked against them
 * (classicBuilt), alongside the smoke tests too.
 */
export const buildStage: Stage = {
  name: 'Build',
  applies: () => true,
  async run(ctx) {
    const engine = needs(ctx.engine, 'Engine')
    const classic = engine.containerdStore ? undefined : runToken()
    ctx.classicToken = classic
    const images = ctx.plan.images
    // written and loaded beside the Go stages: the Write images stage has ended, each has settled
    const written = await Promise.all(ctx.writes ?? [])
    const reads: Promise<BuiltImage>[] = new Array(images.length)
    try {
      // decided once (the cache check warns), and only when BuildKit builds something
      let opts: BuildOptions | undefined
      const built = classic
        ? undefined
        : await parallelBuilds(ctx, engine, () => (opts ??= buildOptions(ctx)))
      for (const [i, image] of images.entries()) {
        const w = written[i]
        if (w) {
          reads[i] = w.read
          continue
        }
        const { read } = classic
          ? await classicRead(image, (opts ??= buildOptions(ctx)), classic, ctx.plan.push)
          : (built?.get(image) as { read: Promise<BuiltImage> })
        reads[i] = settledLater(read)
      }
    } finally {
      // the binaries a runner build copied into a user's context have been sent to the builder
      await removeContextFiles(ctx)
    }
    ctx.reads.push(...reads)
    if (!smokes(ctx.plan)) addBuilt(ctx, await Promise.all(ctx.reads))
  }
}

/** A read awaited later: a later build's failure must not leave it an unhandled rejection. */
function settledLater<T>(read: Promise<T>): Promise<T> {
  read.catch(() => undefined)
  return read
}

/** What every BuildKit build of the run shares. */
function buildOptions(ctx: StageContext): BuildOptions {
  const engine = needs(ctx.engine, 'Engine')
  const builder = needs(ctx.builder, 'Builder')
  return {
    builder: builder.name,
    cache: {
      gha: ctx.plan.cache && buildCacheUsable(builder.buildkitVersion, engine.buildxVersion)
    },
    workspace: ctx.github.workspace,
    sourceDateEpoch: ctx.plan.sourceDateEpoch,
    attestations: ctx.plan.attestations,
    // a platform job's manifests go into the merge's OCI index, which carries annotations
    ociMediaTypes: ctx.plan.mode === 'platform',
    timeoutSeconds: ctx.plan.buildTimeoutSeconds
  }
}

/**
 * The containerd store: every BuildKit-built image's `docker buildx build --load` at once (the
 * builder shares their common steps and cache mounts, and one build's export and load overlap
 * another's work); each is read back as soon as it is loaded. The logs are relayed (OutputRelay):
 * the first build's streams, each other's is printed whole after the one before it. Waits for
 * every build (the context stays until no build reads it), then fails with the first failure in
 * plan order; else resolves to each image's read.
 */
async function parallelBuilds(
  ctx: StageContext,
  engine: EngineInfo,
  options: () => BuildOptions
): Promise<Map<PlannedImage, { read: Promise<BuiltImage> }>> {
  const images = ctx.plan.images.filter(image => !writtenByAction(image, engine))
  const reads = new Map<PlannedImage, { read: Promise<BuiltImage> }>()
  if (images.length === 0) return reads
  const opts = options()
  const relay = new OutputRelay(images.length)
  const builds = images.map((image, i) =>
    buildImage(image, opts, text => relay.write(i, text)).finally(() => relay.end(i))
  )
  for (const [i, build] of builds.entries()) {
    const read = build.then(loaded => readLoaded(loaded, ctx.plan.push))
    // awaited later, or dropped with a failed build: never an unhandled rejection
    read.catch(() => undefined)
    reads.set(images[i], { read })
  }
  const failed = (await Promise.allSettled(builds)).find(b => b.status === 'rejected')
  if (failed) throw failed.reason
  return reads
}

/**
 * The classic store: each platform of the image built and loaded on its own, and the export that
 * is pushed read and checked at once (it reads the context too: done before the context files go).
 */
async function classicRead(
  image: PlannedImage,
  opts: BuildOptions,
  token: string,
  keep: boolean
): Promise<{ read: Promise<BuiltImage> }> {
  const loaded = await loadPlatforms(image, opts, token)
  return { read: Promise.resolve(await classicBuilt(image, loaded, opts, keep)) }
}

/**
 * Whether the buildx `type=gha` cache can work, with a warning when it cannot: buildx drops a gha
 * entry silently when the runtime env is missing, and old buildx/BuildKit speak only the v1
 * protocol that GitHub no longer serves.
 */
export function buildCacheUsable(buildkitVersion: string, buildxVersion: string): boolean {
  const why = buildCacheUnavailableReason(process.env)
  if (why) {
    core.warning(`build cache: off, ${why}`)
    return false
  }
  if (buildxCacheVersion(process.env) === 2) {
    const oldBuildx = semver.valid(buildxVersion) && semver.lt(buildxVersion, '0.21.0')
    const oldBuildkit =
      semver.valid(semver.coerce(buildkitVersion)) &&
      semver.lt(semver.coerce(buildkitVersion) as semver.SemVer, '0.20.0')
    if (oldBuildx || oldBuildkit) {
      core.warning(
        `build cache: the cache service is v2, but buildx ${buildxVersion} / BuildKit ${buildkitVersion || 'unknown'} speak only v1 ` +
          '(v2 needs buildx >= 0.21 and BuildKit >= 0.20); on GitHub-hosted runners this cache will not work'
      )
    }
  }
  return true
}
