import * as core from '@actions/core'
import { resolve } from 'node:path'
import { ACTION_DIR_STATE, removeWritten, runnerBuilds, WRITTEN_STATE } from '../go/build.js'
import { goBuildConfig, markGoCacheForSave, restoreGoCache } from '../go/cache.js'
import { goGate } from '../go/gate.js'
import type { Plan } from '../plan/plan.js'
import type { Stage, StageContext } from './stage.js'
import { Stopped, stoppedBy } from '../util/stopped.js'
import { deferred } from '../util/deferred.js'

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
    // in each distinct module directory of the images; all of them vetted, their packages are
    // compiled for the runner's own platform
    const dirs = ctx.plan.goGate.workingDirectories
    // with the Go cache's exact key the packages are compiled: go test need not wait for go vet
    const overlap = { testBesideVet: ctx.results.goCacheHit === true }
    for (const [i, dir] of dirs.entries())
      await goGate(
        resolve(ctx.github.workspace, dir),
        ctx.github.workspace,
        ctx.plan.goGate,
        i === dirs.length - 1 ? ctx.gateCompiled.resolve : undefined,
        overlap
      )
  }
}

/**
 * Cross-compiles each runner-build image's binaries on the runner, into the action's own
 * directory (and, for a context the user names, copies them there, never over a file). Runs
 * beside the Go gate and the engine's stages, up to the Build stage; nothing is pushed unless
 * both passed. Each image's binaries are handed on as soon as they are built (ctx.binaries).
 * The runner's own platform waits for the gate's go vet, which compiles the same packages for it
 * (two `go` processes at once would both compile them), or for the whole gate when it does not
 * vet; not when the Go cache hit its exact key: the dependencies of that go.sum are then
 * compiled, and only packages of the repository changed since can compile twice.
 */
export const goBuildStage: Stage = {
  name: 'Go build',
  applies: plan => plan.images.some(i => i.runnerBuild) || 'no runner build (no image sets main)',
  besideUntil: 'Build',
  async run(ctx, log) {
    const images = ctx.plan.images.filter(i => i.runnerBuild)
    const ready = new Map(images.map(i => [i, deferred()]))
    ctx.binaries = new Map([...ready].map(([image, d]) => [image, d.promise]))
    const built = new Map(images.map(i => [i, new Map(i.platforms.map(p => [p, deferred()]))]))
    ctx.binaryBuilt = new Map(
      [...built].map(([image, ps]) => [image, new Map([...ps].map(([p, d]) => [p, d.promise]))])
    )
    try {
      // the post step removes the action's own directory, and what is left in a user's context
      core.saveState(ACTION_DIR_STATE, ctx.plan.actionDir)
      const out = await runnerBuilds(ctx.plan.images, {
        // each image in its own module
        goDirOf: image => resolve(ctx.github.workspace, image.runnerBuild?.goDir ?? '.'),
        workspace: ctx.github.workspace,
        sourceDateEpoch: ctx.plan.sourceDateEpoch,
        runnerPlatform: ctx.plan.runnerPlatform,
        // a gate that does not run (go-gate: false) has ended as skipped; one that vets has
        // compiled the packages once go vet passed, and go test compiles only test variants
        nativeAfter: ctx.results.goCacheHit
          ? Promise.resolve()
          : Promise.race([ctx.ended(goGateStage.name), ctx.gateCompiled.promise]),
        log,
        copied: paths => core.saveState(WRITTEN_STATE, JSON.stringify(paths)),
        // what waits for an image's binaries stops when they fail: the failure is this stage's
        ready: (image, done) =>
          done.then(ready.get(image)?.resolve, (e: unknown) =>
            ready.get(image)?.reject(stoppedBy('Go build', e))
          ),
        built: (image, platform, done) => {
          const d = built.get(image)?.get(platform)
          done.then(d?.resolve, (e: unknown) => d?.reject(stoppedBy('Go build', e)))
        }
      })
      ctx.contextFiles.push(...out.written)
    } finally {
      // an image runnerBuilds never heard of (it failed first) has no binaries either
      for (const d of ready.values()) d.reject(new Stopped('Go build failed'))
      for (const ps of built.values())
        for (const d of ps.values()) d.reject(new Stopped('Go build failed'))
    }
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
