import { resolve } from 'node:path'
import { runnerBuild } from '../go/build.js'
import { goBuildConfig, markGoCacheForSave, restoreGoCache } from '../go/cache.js'
import { goGate } from '../go/gate.js'
import type { Plan } from '../plan/plan.js'
import type { Stage } from './stage.js'

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

/** Cross-compiles each runner-build image's binaries on the runner. */
export const goBuildStage: Stage = {
  name: 'Go build',
  applies: plan => plan.images.some(i => i.runnerBuild) || 'no runner build (no image sets main)',
  async run(ctx) {
    for (const image of ctx.plan.images.filter(i => i.runnerBuild)) {
      // in the image's own module
      const goDir = resolve(ctx.github.workspace, image.runnerBuild?.goDir ?? '.')
      await runnerBuild(image, goDir, ctx.github.workspace, ctx.plan.sourceDateEpoch)
    }
  }
}
