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

/**
 * Builds and loads every image; reading each loaded image back (docker save: its index and
 * per-platform digests) starts at once and, when smoke tests run, is collected by that stage:
 * both only read the engine's store, and the read is a per-platform cost. The images the action
 * writes itself are all written and loaded at once, beside the BuildKit builds. On the classic
 * store each platform is loaded on its own, and the build to push is exported from the builder
 * and checked against them (classicBuilt), alongside the smoke tests too.
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
      for (const [i, image] of images.entries()) {
        if (writtenByAction(image, engine)) continue
        const { read } = await buildkitRead(
          image,
          (opts ??= buildOptions(ctx)),
          classic,
          ctx.plan.push
        )
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
 * `docker buildx build` of one image; resolves, once it is loaded, to the read-back of the loaded
 * image. On the classic store the export that is pushed is read and checked at once.
 */
async function buildkitRead(
  image: PlannedImage,
  opts: BuildOptions,
  classic: string | undefined,
  keep: boolean
): Promise<{ read: Promise<BuiltImage> }> {
  // the classic store's export reads the context too: done before the context files go
  if (classic)
    return {
      read: Promise.resolve(
        await classicBuilt(image, await loadPlatforms(image, opts, classic), opts, keep)
      )
    }
  return { read: readLoaded(await buildImage(image, opts), keep) }
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
