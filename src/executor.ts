import * as core from '@actions/core'
import type { GitHubContext } from './context.js'
import type { Inputs } from './inputs.js'
import type { Plan } from './plan/plan.js'
import type { Results, StageTiming } from './results.js'

/**
 * Runs one stage in a log group and records its time, also when it fails.
 */
export async function stage<T>(results: Results, name: string, fn: () => Promise<T>): Promise<T> {
  const started = Date.now()
  const timing: StageTiming = { stage: name, ms: 0, status: 'ok' }
  results.stages.push(timing)
  try {
    return await core.group(name, fn)
  } catch (e) {
    timing.status = 'failed'
    throw e
  } finally {
    timing.ms = Date.now() - started
  }
}

/**
 * Runs the plan: gate -> qemu/buildx -> build -> smoke -> push. Any failure stops the run before
 * anything is pushed.
 */
export async function execute(plan: Plan, inputs: Inputs, ctx: GitHubContext): Promise<Results> {
  void plan
  void inputs
  void ctx
  throw new Error('building images is not implemented yet; use dry-run: true')
}
