import * as core from '@actions/core'
import { buildxCacheVersion, buildCacheUnavailableReason } from '../cacheService.js'
import { checkSbomScanner, setupBuilder } from '../docker/builder.js'
import { inspectEngine } from '../docker/engine.js'
import { login, loginTargets } from '../docker/login.js'
import { setupQemu } from '../docker/qemu.js'
import { needs, type Stage, type StageContext } from './stage.js'
import type { Plan } from '../plan/plan.js'

/**
 * Asks the engine what it is: its image store decides how images are loaded and pushed. Runs
 * beside the Go stages (from the start of the run, up to QEMU): three docker calls that need
 * nothing of them.
 */
export const engineStage: Stage = {
  name: 'Engine',
  applies: () => true,
  besideUntil: 'QEMU',
  async run(ctx, log) {
    const info = await inspectEngine()
    log(
      `Docker ${info.serverVersion}, buildx ${info.buildxVersion}, ${info.containerdStore ? 'containerd' : 'classic'} image store`
    )
    if (!info.containerdStore)
      log(
        'the classic image store holds one platform per tag: each platform is loaded and smoke-tested on its own, and the push sends the same build exported from the builder, checked to have the tested content'
      )
    ctx.engine = info
  }
}

/**
 * Registers binfmt handlers for the foreign platforms the plan runs: beside the gate, up to the
 * Builder (BuildKit's RUN steps on those platforms need them; smoke tests wait for it).
 */
export const qemuStage: Stage = {
  name: 'QEMU',
  applies: plan => plan.qemu.platforms.length > 0 || plan.qemu.reason,
  besideUntil: 'Builder',
  async run(ctx, log) {
    await setupQemu(ctx.plan.qemu.platforms, log)
  }
}

/** Picks or creates the buildx builder. */
export const builderStage: Stage = {
  name: 'Builder',
  // BuildKit builds the Dockerfiles, and runner builds on the classic image store
  applies: (plan, ctx) =>
    plan.images.some(i => i.runnerBuild?.writer !== 'action') ||
    ctx.engine?.containerdStore === false ||
    'every image is written by the action (runner builds)',
  async run(ctx) {
    const plan = ctx.plan
    const b = await setupBuilder(needs(ctx.engine, 'Engine'), ctx.github.runId, {
      ghaV2:
        plan.cache &&
        !buildCacheUnavailableReason(process.env) &&
        buildxCacheVersion(process.env) === 2,
      buildkitImage: plan.buildkitImage
    })
    if (plan.attestations.sbomScanner) await checkSbomScanner(plan.attestations.sbomScanner)
    const unsupported = ctx.plan.images
      .flatMap(i => i.platforms)
      .filter(p => b.platforms.length > 0 && !b.platforms.includes(p))
    if (unsupported.length > 0) {
      core.info(
        `builder ${b.name} lists no ${[...new Set(unsupported)].join(', ')}: only stages on $BUILDPLATFORM can build them`
      )
    }
    ctx.builder = b
  }
}

/** `docker login` to the registries that need it (passwords on stdin). */
export const loginStage: Stage = {
  name: 'Login',
  applies(plan, ctx) {
    ctx.logins = plannedLogins(plan, ctx)
    if (plan.secretsWithheld) return `${plan.secretsWithheld}: no secrets`
    return ctx.logins.length > 0 || 'no credentials needed'
  },
  run: ctx => login(ctx.logins)
}

/** The registries the Login stage logs in to, and as whom (throws on half a username/password). */
export function plannedLogins(plan: Plan, ctx: StageContext): StageContext['logins'] {
  return loginTargets(
    plan.registries,
    {
      username: ctx.inputs.registryUsername,
      password: ctx.inputs.registryPassword,
      actor: ctx.github.actor,
      githubToken: ctx.inputs.githubToken
    },
    plan.push,
    plan.secretsWithheld
  )
}
