import * as core from '@actions/core'
import type { GitHubContext } from '../context.js'
import type { HandedOnImage } from '../distributed/digests.js'
import type { BuiltImage } from '../docker/build.js'
import type { BuilderInfo, EngineInfo } from '../docker/engine.js'
import type { GoMountsRestore } from '../docker/goCacheMounts.js'
import type { Inputs } from '../inputs.js'
import type { Plan, PlannedImage } from '../plan/plan.js'
import type { Results, StageTiming } from '../results.js'
import type { WrittenImage } from './write.js'
import { Stopped, stoppedBy } from '../util/stopped.js'
import { deferred, type Deferred } from '../util/deferred.js'

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
  /**
   * Settles once a runner-build image's binaries are built and checked (rejected when they cannot
   * be); set by the Go build stage when it starts.
   */
  binaries?: Map<PlannedImage, Promise<void>>
  /**
   * Per runner-build image and platform, settles once that binary is built (not yet checked:
   * `binaries` says when the image's are); set by the Go build stage when it starts.
   */
  binaryBuilt?: Map<PlannedImage, Map<string, Promise<void>>>
  /**
   * Per image in plan order, what the Write images stage wrote and loaded (undefined for an image
   * it does not write); set when that stage starts.
   */
  writes?: Promise<WrittenImage | undefined>[]
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
  /**
   * For a stage running beside others: settles once the stage named has ended, resolved when it
   * passed or was skipped, rejected with a Stopped when it failed or the run stopped before it
   * (set by runStages).
   */
  ended: (stage: string) => Promise<void>
  /**
   * Resolved by the Go gate once go vet has passed in every module: the packages are compiled for
   * the runner's own platform (a runner build for it then only links, beside go test). Never
   * settles when the gate does not vet: wait for its end too (ended).
   */
  gateCompiled: Deferred
  /**
   * Work a stage started and did not wait for (e.g. removing smoke containers): runStages waits
   * for all of it before the run ends, whether it succeeded or not.
   */
  pending: Promise<unknown>[]
}

/**
 * A stage's log: a line, or a function that prints (fenced output, an annotation) when the line
 * would be printed. A stage beside the others keeps both until it is joined.
 */
export type StageLog = (line: string | (() => void)) => void

/** Prints what a stage logged (StageLog). */
function print(line: string | (() => void)): void {
  if (typeof line === 'string') core.info(line)
  else line()
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
  /**
   * Resolves to an outcome when the stage ran but what it needed was not there. `log` prints a
   * line in the stage's log group (see besideUntil).
   */
  run(ctx: StageContext, log: StageLog): Promise<StageOutcome | void>
  /**
   * Runs beside the stages that follow it, up to the stage named here, which waits for it (so
   * does the end of the run): the executor starts it and goes on at once. Such a stage prints only
   * through `log`; its lines are kept and printed as its log group once it has ended and is
   * waited for. A failure stops the run at the next stage boundary.
   */
  besideUntil?: string
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
    onSuccess: [],
    ended: () => Promise.reject(new Error('internal: no stage runs')),
    gateCompiled: deferred(),
    pending: []
  }
}

/** A stage running beside the others (Stage.besideUntil). */
interface Beside {
  stage: Stage
  lines: (string | (() => void))[]
  /** Settles when the stage has ended; never rejects. */
  ended: Promise<void>
  error?: unknown
}

/**
 * Runs the stages in order, each that applies in a log group, timed; records every stage in
 * `results.stages` as ok, failed, skipped (with its note) or unavailable (with the note its run
 * returned). A stage with besideUntil runs beside the stages after it. The first failure stops the
 * run: no further stage starts, and what runs beside ends before the error goes on. The run ends
 * once the work the stages left pending (ctx.pending) has ended.
 */
export async function runStages(stages: readonly Stage[], ctx: StageContext): Promise<void> {
  const beside: Beside[] = []
  const ends = stageEnds(stages)
  ctx.ended = ends.of
  try {
    for (const s of stages) {
      await join(beside, b => b.stage.besideUntil === s.name || b.error !== undefined)
      const applies = s.applies(ctx.plan, ctx)
      if (applies !== true) {
        ctx.results.stages.push({ stage: s.name, ms: 0, status: 'skipped', note: applies })
        ends.settle(s.name)
        continue
      }
      if (s.besideUntil) beside.push(startBeside(ctx, s, ends.settle))
      else {
        await timed(ctx.results, s.name, () => s.run(ctx, print)).catch(e => {
          ends.settle(s.name, e)
          throw e
        })
        ends.settle(s.name)
      }
    }
    await join(beside, () => true)
  } catch (e) {
    // a stage beside waiting for one that will not run now ends too
    ends.stopAll()
    // no process of a stage beside outlives the run; its log is printed, its error is not the run's
    await join(beside, () => true).catch(() => undefined)
    throw e
  } finally {
    await Promise.allSettled(ctx.pending)
  }
  for (const done of ctx.onSuccess) done()
}

/** Each stage's end as a promise (StageContext.ended), settled by runStages. */
function stageEnds(stages: readonly Stage[]): {
  of: (stage: string) => Promise<void>
  settle: (stage: string, error?: unknown) => void
  stopAll: () => void
} {
  const ends = new Map(
    stages.map(s => {
      let settle: (error?: unknown) => void = () => undefined
      const ended = new Promise<void>((resolve, reject) => {
        settle = error => (error === undefined ? resolve() : reject(stoppedBy(s.name, error)))
      })
      // a stage nobody waits for must not be an unhandled rejection
      ended.catch(() => undefined)
      return [s.name, { ended, settle }] as const
    })
  )
  return {
    of: stage =>
      ends.get(stage)?.ended ??
      Promise.reject(new Error(`internal: no stage ${stage} in this run`)),
    settle: (stage, error) => ends.get(stage)?.settle(error ?? undefined),
    stopAll: () => {
      for (const [name, e] of ends) e.settle(new Stopped(`the run stopped before ${name} ended`))
    }
  }
}

/** Starts a stage beside the others: timed from now, its lines kept. */
function startBeside(
  ctx: StageContext,
  stage: Stage,
  settle: (stage: string, error?: unknown) => void
): Beside {
  const started = Date.now()
  const timing: StageTiming = { stage: stage.name, ms: 0, status: 'ok' }
  ctx.results.stages.push(timing)
  const b: Beside = { stage, lines: [], ended: Promise.resolve() }
  b.ended = stage
    .run(ctx, line => b.lines.push(line))
    .then(
      outcome => {
        if (outcome) Object.assign(timing, outcome)
      },
      (e: unknown) => {
        // stopped by another stage's failure, or the run's: the failure is that stage's
        if (e instanceof Stopped) Object.assign(timing, { status: 'stopped', note: e.message })
        else timing.status = 'failed'
        b.error = e ?? new Error(`${stage.name} failed`)
      }
    )
    .finally(() => {
      timing.ms = Date.now() - started
      settle(stage.name, b.error)
    })
  return b
}

/**
 * Waits for the stages beside that `due` picks, in the order they started, printing each one's
 * log group; throws the first one's failure (the first that is not Stopped, if any).
 */
async function join(beside: Beside[], due: (b: Beside) => boolean): Promise<void> {
  let failure: unknown
  for (const b of beside.filter(due)) {
    beside.splice(beside.indexOf(b), 1)
    await b.ended
    core.startGroup(b.stage.name)
    for (const line of b.lines) print(line)
    core.endGroup()
    // a stage's own failure before one that only stopped because of another's
    const own = !(b.error instanceof Stopped)
    if (b.error !== undefined && (failure === undefined || (failure instanceof Stopped && own)))
      failure = b.error
  }
  if (failure !== undefined) throw failure
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
