import * as core from '@actions/core'
import type { GitHubContext } from '../context.js'
import type { HandedOnImage } from '../distributed/digests.js'
import type { BuiltImage } from '../docker/build.js'
import type { BuilderInfo, EngineInfo } from '../docker/engine.js'
import type { GoMountsRestore } from '../docker/goCacheMounts.js'
import type { Inputs } from '../inputs.js'
import type { Plan } from '../plan/plan.js'
import type { Results, StageTiming } from '../results.js'

/**
 * What the stages of one run share: the plan and inputs they run, the results they fill, and
 * what earlier stages hand on to later ones. A stage that needs something new adds a field here.
 */
export interface StageContext {
  plan: Plan
  inputs: Inputs
  github: GitHubContext
  results: Results
  /** The first Go module directory of the run, absolute (plan.goModules has them all). */
  goDir: string
  /** Set by the Engine stage. */
  engine?: EngineInfo
  /** Set by the Builder stage. */
  builder?: BuilderInfo
  /**
   * The classic image store: the token of this run's per-platform local tags (platformTag), set
   * by the Build stage; undefined on the containerd store.
   */
  classicToken?: string
  /** Set by the Go cache mounts stage. */
  goMounts?: GoMountsRestore
  /** Registries to log in to and as whom (decided when the Login stage is considered). */
  logins: { registry: string; username: string; password: string }[]
  /** Reading each loaded image back (docker save), started by the Build stage, in plan order. */
  reads: Promise<BuiltImage>[]
  /** Images built and read back (digests, platforms), in plan order. */
  built: BuiltImage[]
  /**
   * What runner builds copied into contexts the user named (files and the directories made for
   * them): removed once the images are built.
   */
  contextFiles: string[]
  /** The merge: every platform job's pushed digests (set by Collect digests). */
  handedOn?: HandedOnImage[]
  /** Run once every stage succeeded (e.g. marking the Go cache for the post step to save). */
  onSuccess: (() => void)[]
}

/** One step of the pipeline. */
export interface Stage {
  /** The log group's and the results' name of the stage. */
  name: string
  /**
   * Whether the stage runs for this plan: `true`, or the note saying why it is skipped. Decided
   * from the plan; `ctx` only for what the plan does not hold (credentials).
   */
  applies(plan: Plan, ctx: StageContext): true | string
  /** Resolves to an outcome when the stage ran but what it needed was not there. */
  run(ctx: StageContext): Promise<StageOutcome | void>
}

/** A stage that ran without failing, but could not do its job (e.g. no cache service). */
export interface StageOutcome {
  status: 'unavailable'
  /** Why, for the stages table. */
  note: string
}

/** A new context for a run of `plan`. */
export function stageContext(
  plan: Plan,
  inputs: Inputs,
  github: GitHubContext,
  results: Results,
  goDir: string
): StageContext {
  return {
    plan,
    inputs,
    github,
    results,
    goDir,
    logins: [],
    reads: [],
    built: [],
    contextFiles: [],
    onSuccess: []
  }
}

/**
 * Runs the stages in order, each that applies in a log group, timed; records every stage in
 * `results.stages` as ok, failed, skipped (with its note) or unavailable (with the note its run
 * returned). The first failure stops the run.
 */
export async function runStages(stages: readonly Stage[], ctx: StageContext): Promise<void> {
  for (const s of stages) {
    const applies = s.applies(ctx.plan, ctx)
    if (applies !== true) {
      ctx.results.stages.push({ stage: s.name, ms: 0, status: 'skipped', note: applies })
      continue
    }
    await timed(ctx.results, s.name, () => s.run(ctx))
  }
  for (const done of ctx.onSuccess) done()
}

/** Runs one stage in a log group and records its time, also when it fails. */
async function timed(
  results: Results,
  name: string,
  fn: () => Promise<StageOutcome | void>
): Promise<void> {
  const started = Date.now()
  const timing: StageTiming = { stage: name, ms: 0, status: 'ok' }
  results.stages.push(timing)
  try {
    const outcome = await core.group(name, fn)
    if (outcome) Object.assign(timing, outcome)
  } catch (e) {
    timing.status = 'failed'
    throw e
  } finally {
    timing.ms = Date.now() - started
  }
}

/** A value an earlier stage must have set; an error naming that stage if it did not. */
export function needs<T>(value: T | undefined, stage: string): T {
  if (value === undefined) throw new Error(`internal: the ${stage} stage did not run first`)
  return value
}
