import * as core from '@actions/core'
import semver from 'semver'
import { join } from 'node:path'
import { buildImage, readLoaded, type BuildOptions, type BuiltImage } from '../docker/build.js'
import type { EngineInfo } from '../docker/engine.js'
import { registryClients } from '../docker/push.js'
import { writeRunnerImage, type RunnerImageOptions } from '../image/runnerImage.js'
import type { PlannedImage } from '../plan/plan.js'
import { classicBuilt, loadPlatforms, runToken } from '../docker/classic.js'
import { buildCacheUnavailableReason, buildxCacheVersion } from '../cacheService.js'
import { addBuilt } from './built.js'
import { removeContextFiles } from './go.js'
import { needs, type Stage, type StageContext } from './stage.js'
import { smokes } from './smoke.js'
import { OutputRelay } from '../util/outputRelay.js'

/**
 * Builds and loads every image; reading each loaded image back (docker save: its index and
 * per-platform digests) starts at once and, when smoke tests run, is collected by that stage:
 * both only read the engine's store, and the read is a per-platform cost. The images the action
 * writes itself are all written and loaded at once, beside the BuildKit builds; on the containerd
 * store the BuildKit builds run at once too (parallelBuilds). On the classic store each platform
 * is loaded on its own, one image after another, and the build to push is exported from the
 * builder and checked against them (classicBuilt), alongside the smoke tests too.
 */
export const buildStage: Stage = {
  name: 'Build',
  applies: () => true,
  async run(ctx) {
    const engine = needs(ctx.engine, 'Engine')
    const classic = engine.containerdStore ? undefined : runToken()
    ctx.classicToken = classic
    const images = ctx.plan.images
    const reads: Promise<BuiltImage>[] = new Array(images.length)
    const writes = writeAll(ctx, engine)
    let building = true
    try {
      // decided once (the cache check warns), and only when BuildKit builds something
      let opts: BuildOptions | undefined
      const built = classic
        ? undefined
        : await parallelBuilds(ctx, engine, () => (opts ??= buildOptions(ctx)))
      for (const [i, image] of images.entries()) {
        if (writtenByAction(image, engine)) continue
        const { read } = classic
          ? await classicRead(image, (opts ??= buildOptions(ctx)), classic, ctx.plan.push)
          : (built?.get(image) as { read: Promise<BuiltImage> })
        reads[i] = settledLater(read)
      }
      building = false
    } finally {
      // the writes end before the stage does, whatever happened to a BuildKit build
      const written = await Promise.allSettled(writes.map(w => w ?? Promise.resolve(undefined)))
      for (const [i, w] of written.entries()) {
        if (w.status === 'fulfilled' && w.value) {
          core.info(w.value.note)
          reads[i] = settledLater(w.value.read)
        }
      }
      // the binaries a runner build copied into a user's context have been sent to the builder
      await removeContextFiles(ctx)
      // a failed write, unless a BuildKit build's failure is already on its way
      const failed = written.find(w => w.status === 'rejected')
      if (failed && !building) throw failed.reason
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

/**
 * Starts writing and loading every image the action writes itself, all at once (each is a
 * registry read of its base, a file write and a `docker load`); undefined for the others.
 */
function writeAll(
  ctx: StageContext,
  engine: EngineInfo
): (ReturnType<typeof writeRunnerImage> | undefined)[] {
  const opts = ctx.plan.images.some(i => writtenByAction(i, engine))
    ? runnerImageOptions(ctx)
    : undefined
  return ctx.plan.images.map(image =>
    opts && writtenByAction(image, engine) ? writeRunnerImage(image, opts) : undefined
  )
}

/**
 * Whether the action writes the image itself: the plan says so for a runner build, and the
 * engine has the containerd store (the classic store holds one platform per tag: BuildKit).
 */
export function writtenByAction(image: PlannedImage, engine: EngineInfo): boolean {
  return image.runnerBuild?.writer === 'action' && engine.containerdStore
}

/** What the action's own image writer needs from the run. */
function runnerImageOptions(ctx: StageContext): RunnerImageOptions {
  return {
    // a self-hosted runner keeps its tool cache: base blobs are fetched once per digest
    cacheDir: join(process.env['RUNNER_TOOL_CACHE'] || ctx.plan.actionDir, 'go-image-action-blobs'),
    client: registryClients(ctx.inputs.registryTimeout * 1000),
    sourceDateEpoch: ctx.plan.sourceDateEpoch,
    attestations: ctx.plan.attestations,
    source: ctx.github.repository ? `${ctx.github.serverUrl}/${ctx.github.repository}` : '',
    commit: ctx.plan.metadata.commit,
    keep: ctx.plan.push
  }
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
