import { resolve } from 'node:path'
import type { GitHubContext } from './context.js'
import type { Inputs } from './inputs.js'
import type { Plan } from './plan/plan.js'
import type { Results } from './results.js'
import { STAGES } from './stages/pipeline.js'
import { runStages, stageContext } from './stages/stage.js'

/**
 * Runs the stages of the plan's mode (src/stages/pipeline.ts). Any failure stops the run before anything is
 * pushed. `results` is filled as stages finish, so a failure still reports what happened.
 */
export async function execute(
  plan: Plan,
  inputs: Inputs,
  ctx: GitHubContext,
  results: Results
): Promise<Results> {
  const goDir = resolve(ctx.workspace, plan.goModules[0] ?? plan.goGate.workingDirectories[0])
  await runStages(STAGES[plan.mode], stageContext(plan, inputs, ctx, results, goDir))
  return results
}
