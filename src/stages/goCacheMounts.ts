import { extractGoCacheMounts, restoreGoCacheMounts } from '../docker/goCacheMounts.js'
import type { Plan } from '../plan/plan.js'
import { needs, type Stage } from './stage.js'

function mountImages(plan: Plan): Plan['images'] {
  return plan.images.filter(i => i.goCacheMounts?.mounts.length)
}

/**
 * Restores the Go cache mounts of the Dockerfile builds from the Actions cache and fills the
 * builder's mounts with them (after Login: filling pulls the Go stage's base image). A builder
 * that may have outlived an earlier run is asked first which entry its mounts hold: with the
 * exact key, nothing is downloaded or filled.
 */
export const goCacheMountsStage: Stage = {
  name: 'Go cache mounts',
  applies: plan =>
    (plan.cache && mountImages(plan).length > 0) ||
    (plan.cache ? 'no RUN --mount=type=cache of a Go cache' : 'cache: false'),
  async run(ctx) {
    const builder = needs(ctx.builder, 'Builder')
    const restored = await restoreGoCacheMounts(mountImages(ctx.plan), {
      builder: builder.name,
      // a GitHub-hosted runner, or a builder this run created, starts with no mounts
      persistent: process.env['RUNNER_ENVIRONMENT'] !== 'github-hosted' && !builder.created,
      workspace: ctx.github.workspace,
      runnerPlatform: ctx.plan.runnerPlatform,
      buildTimeoutSeconds: ctx.plan.buildTimeoutSeconds
    })
    ctx.goMounts = restored
    if (restored.unavailable) return { status: 'unavailable', note: restored.unavailable }
  }
}

/**
 * After the build: copies the mounts out for the post step to save, unless the key was exact. A
 * failed copy is a warning and "unavailable" in the stages table, never a failed release.
 */
export const goCacheMountsOutStage: Stage = {
  name: 'Go cache mounts out',
  applies: (_plan, ctx) =>
    !ctx.goMounts
      ? 'no Go cache mounts carried'
      : !ctx.goMounts.available
        ? 'the Actions cache is not available'
        : !ctx.goMounts.hit || 'restored on the exact key: nothing new to save',
  async run(ctx) {
    const problem = await extractGoCacheMounts(
      mountImages(ctx.plan),
      needs(ctx.goMounts, 'Go cache mounts'),
      needs(ctx.builder, 'Builder').name,
      ctx.plan.buildTimeoutSeconds
    )
    if (problem) return { status: 'unavailable', note: problem }
  }
}
