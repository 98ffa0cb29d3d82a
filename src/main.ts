import * as core from '@actions/core'
import { access, readFile, stat } from 'node:fs/promises'
import { resolve } from 'node:path'
import { readContext } from './context.js'
import { execute } from './executor.js'
import { gitCommitDate } from './git.js'
import { getInputs } from './inputs.js'
import { commitOf } from './plan/metadata.js'
import { buildPlan, dockerfilePaths, filesPaths, imageGoDirs, type Plan } from './plan/plan.js'
import { renderPlanMarkdown, renderPlanText } from './plan/render.js'
import { emptyResults, type Results } from './results.js'
import { setOutputs } from './outputs.js'
import { renderResultsMarkdown } from './summary.js'

/** The main step: inputs -> plan -> stages -> outputs and summary. */
export async function run(): Promise<void> {
  let plan: Plan | undefined
  let results: Results = emptyResults()
  try {
    const inputs = getInputs()
    const ctx = readContext(process.env)
    const commitDate = await gitCommitDate(commitOf(ctx), ctx.workspace)
    const dockerfiles: Record<string, string | undefined> = {}
    for (const file of dockerfilePaths(inputs)) {
      dockerfiles[file] = await readFile(resolve(ctx.workspace, file), 'utf8').catch(
        () => undefined
      )
    }
    const goDir = await stat(resolve(ctx.workspace, inputs.goWorkingDirectory)).catch(
      () => undefined
    )
    const goDirectoriesExist: Record<string, boolean> = {}
    for (const dir of imageGoDirs(inputs)) {
      const st = await stat(resolve(ctx.workspace, dir)).catch(() => undefined)
      goDirectoriesExist[dir] = st?.isDirectory() ?? false
    }
    const files: Record<string, boolean> = {}
    for (const file of filesPaths(inputs)) {
      files[file] = await access(resolve(ctx.workspace, file)).then(
        () => true,
        () => false
      )
    }
    plan = buildPlan(inputs, ctx, {
      goWorkingDirectoryExists: goDir?.isDirectory() ?? false,
      goDirectoriesExist,
      files,
      commitDate,
      now: new Date(),
      nodeArch: process.arch,
      dockerfiles,
      cgoEnabled: process.env['CGO_ENABLED']
    })
    const planned = plan
    await core.group('Plan', async () => core.info(renderPlanText(planned)))
    for (const n of plan.notices) core.notice(n)
    for (const w of plan.warnings) core.warning(w)
    for (const w of plan.fileWarnings) {
      core.warning(w.message, {
        file: w.file,
        startLine: w.line,
        title: w.title
      })
    }

    if (plan.dryRun) {
      core.info('dry-run: true; stopping after the plan')
      setOutputs(plan, results)
      await writeSummary(plan, results)
      return
    }
    await execute(plan, inputs, ctx, results)
    setOutputs(plan, results)
    await writeSummary(plan, results)
  } catch (error) {
    if (plan) {
      setOutputs(plan, results)
      await writeSummary(plan, results).catch(() => undefined)
    }
    core.setFailed(error instanceof Error ? error.message : String(error))
  }
}

async function writeSummary(plan: Plan, results: Results): Promise<void> {
  if (!process.env['GITHUB_STEP_SUMMARY']) return
  const title = plan.dryRun
    ? `go-image-action plan (dry run): ${plan.metadata.version}`
    : plan.mode === 'all'
      ? `go-image-action: ${plan.metadata.version}${results.pushed ? ' published' : ''}`
      : `go-image-action ${plan.mode}${plan.distributed.platform ? ` ${plan.distributed.platform}` : ''}: ${plan.metadata.version}${results.pushed ? (plan.mode === 'merge' ? ' published' : ' pushed by digest') : ''}`
  await core.summary
    .addHeading(title, 2)
    .addRaw(renderPlanMarkdown(plan), true)
    .addRaw('\n', true)
    .addRaw(renderResultsMarkdown(plan, results), true)
    .write()
}
