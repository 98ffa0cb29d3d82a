import * as core from '@actions/core'
import semver from 'semver'
import { buildImage, readLoaded, type BuildOptions } from '../docker/build.js'
import { classicBuilt, loadPlatforms, runToken } from '../docker/classic.js'
import { buildCacheUnavailableReason, buildxCacheVersion } from '../cacheService.js'
import { addBuilt } from './built.js'
import { removeContextFiles } from './go.js'
import { needs, type Stage } from './stage.js'
import { smokes } from './smoke.js'

/**
 * Builds and loads every image; reading each loaded image back (docker save: its index and
 * per-platform digests) starts at once and, when smoke tests run, is collected by that stage:
 * both only read the engine's store, and the read is a per-platform cost. On the classic store
 * each platform is loaded on its own, and the build to push is exported from the builder and
 * checked against them (classicBuilt), alongside the smoke tests too.
 */
export const buildStage: Stage = {
  name: 'Build',
  applies: () => true,
  async run(ctx) {
    const engine = needs(ctx.engine, 'Engine')
    const builder = needs(ctx.builder, 'Builder')
    const cache = {
      gha: ctx.plan.cache && buildCacheUsable(builder.buildkitVersion, engine.buildxVersion)
    }
    const opts: BuildOptions = {
      builder: builder.name,
      cache,
      workspace: ctx.github.workspace,
      sourceDateEpoch: ctx.plan.sourceDateEpoch,
      attestations: ctx.plan.attestations,
      // a platform job's manifests go into the merge's OCI index, which carries annotations
      ociMediaTypes: ctx.plan.mode === 'platform',
      timeoutSeconds: ctx.plan.buildTimeoutSeconds
    }
    const classic = engine.containerdStore ? undefined : runToken()
    ctx.classicToken = classic
    try {
      for (const image of ctx.plan.images) {
        // the classic store's export reads the context too: done before the context files go
        const read = classic
          ? Promise.resolve(
              await classicBuilt(
                image,
                await loadPlatforms(image, opts, classic),
                opts,
                ctx.plan.push
              )
            )
          : readLoaded(await buildImage(image, opts), ctx.plan.push)
        // awaited later; a later build's failure must not leave it an unhandled rejection
        read.catch(() => undefined)
        ctx.reads.push(read)
      }
    } finally {
      // the binaries a runner build copied into a user's context have been sent to the builder
      await removeContextFiles(ctx)
    }
    if (!smokes(ctx.plan)) addBuilt(ctx, await Promise.all(ctx.reads))
  }
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
