import * as core from '@actions/core'
import { resolve } from 'node:path'
import { ACTION_DIR_STATE, removeWritten, runnerBuilds, WRITTEN_STATE } from '../go/build.js'
import { goBuildConfig, markGoCacheForSave, restoreGoCache } from '../go/cache.js'
import { goGate } from '../go/gate.js'
import type { Plan } from '../plan/plan.js'
import type { Stage, StageContext } from './stage.js'

/** Whether the run uses Go on the runner (the gate or a runner build). */
function usesGo(plan: Plan): boolean {
  return plan.goGate.enabled || plan.images.some(i => i.runnerBuild)
}

/** Restores GOMODCACHE and GOCACHE; the post step saves them when the key was not an exact hit. */
export const goCacheStage: Stage = {
  name: 'Go cache',
  applies: plan =>
    (usesGo(plan) && plan.cache) ||
    (plan.cache ? 'no Go step (go-gate: false, no runner build)' : 'cache: false'),
  async run(ctx) {
    const dirs = ctx.plan.goModules.map(d => resolve(ctx.github.workspace, d))
    const restored = await restoreGoCache(dirs, goBuildConfig(ctx.plan))
    ctx.results.goCacheHit = restored.hit
    ctx.onSuccess.push(() => markGoCacheForSave(restored.hit))
    if (restored.unavailable) return { status: 'unavailable', note: restored.unavailable }
  }
}

/** gofmt, go vet and go test. */
export const goGateStage: Stage = {
  name: 'Go gate',
  applies: plan => plan.goGate.enabled || 'go-gate: false',
  async run(ctx) {
    // in each distinct module directory of the images
    for (const dir of ctx.plan.goGate.workingDirectories)
      await goGate(resolve(ctx.github.workspace, dir), ctx.github.workspace, ctx.plan.goGate)
  }
}

/**
 * Cross-compiles each runner-build image's binaries on the runner, into the action's own
 * directory (and, for a context the user names, copies them there, never over a file). Runs
 * beside the Go gate and the engine's stages, up to the Build stage: the gate's result is waited
 * for before anything is built from them, and nothing is pushed unless both passed.
 */
export const goBuildStage: Stage = {
  name: 'Go build',
  applies: plan => plan.images.some(i => i.runnerBuild) || 'no runner build (no image sets main)',
  besideUntil: 'Build',
  async run(ctx, log) {
    // the post step removes the action's own directory, and what is left in a user's context
    core.saveState(ACTION_DIR_STATE, ctx.plan.actionDir)
    const out = await runnerBuilds(ctx.plan.images, {
      // each image in its own module
      goDirOf: image => resolve(ctx.github.workspace, image.runnerBuild?.goDir ?? '.'),
      workspace: ctx.github.workspace,
      sourceDateEpoch: ctx.plan.sourceDateEpoch,
      runnerPlatform: ctx.plan.runnerPlatform,
      // a gate that does not run (go-gate: false) has ended as skipped
      nativeAfter: ctx.ended(goGateStage.name),
      log,
      copied: paths => core.saveState(WRITTEN_STATE, JSON.stringify(paths))
    })
    ctx.contextFiles.push(...out.written)
  }
}

/**
 * Removes what runner builds copied into a user's context, once the images are built (or the
 * build failed): nothing is left in the checkout for a later step to see.
 */
export async function removeContextFiles(ctx: StageContext): Promise<void> {
  if (ctx.contextFiles.length === 0) return
  await removeWritten(ctx.contextFiles)
  ctx.contextFiles = []
  // removed: the post step must not remove a file a later step may put there
  core.saveState(WRITTEN_STATE, '[]')
}
