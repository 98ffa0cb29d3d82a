import * as core from '@actions/core'
import { createSmokeNetwork, removeSmokeNetwork, smokeTest } from '../docker/smoke.js'
import { printFenced } from '../util/fence.js'
import { oneLine } from '../util/text.js'
import { platformTag } from '../docker/classic.js'
import { limit } from '../limit.js'
import { stoppedBy } from '../util/stopped.js'
import type { Plan } from '../plan/plan.js'
import type { ImageResult, SmokeResult } from '../results.js'
import { addBuilt } from './built.js'
import type { Stage, StageContext, StageLog } from './stage.js'

/**
 * How many smoke tests run at once, of all images: a smoke test mostly waits for the engine to
 * create, start and remove a container (and for QEMU to start a foreign binary).
 */
const SMOKE_PARALLEL = 4

/** Whether any image is smoke-tested. */
export function smokes(plan: Plan): boolean {
  return plan.images.some(i => i.smoke.enabled)
}

/**
 * Runs each image's smoke tests as soon as the image is in the engine, beside the Go gate and the
 * stages after it, up to Architecture (no push before then): an image the action writes once the
 * Write images stage has loaded it, one BuildKit builds once the Build stage has ended, and a
 * platform foreign to the runner once QEMU has ended. Records each outcome on its platform's
 * result and fails, naming every failed image and platform, before any push.
 */
export const smokeStage: Stage = {
  name: 'Smoke test',
  applies: plan => smokes(plan) || 'smoke-test: false or no platform to test',
  besideUntil: 'Architecture',
  async run(ctx, log) {
    // a network of the run's own for the servers probed over HTTP, removed whatever happens
    const network = ctx.plan.images.some(i => i.smoke.enabled && i.smoke.http)
      ? await createSmokeNetwork(ctx.github.runId, log)
      : undefined
    const outcomes = await smokeAll(ctx, log, network).finally(
      () => network && removeSmokeNetwork(network, log)
    )
    // the read-backs the Build stage started
    await ctx.ended('Build')
    addBuilt(ctx, await Promise.all(ctx.reads))
    const failures = record(ctx, outcomes, log)
    if (failures.length > 0)
      throw new Error(`smoke test failed for ${failures.join(', ')}; nothing was pushed`)
  }
}

/**
 * Every image's platforms from one pool, SMOKE_PARALLEL at a time, each test once its image is in
 * the engine (inEngine); the outcomes come back per image, in the plan's order.
 */
async function smokeAll(
  ctx: StageContext,
  log: StageLog,
  network?: string
): Promise<SmokeResult[][]> {
  const tests = ctx.plan.images.flatMap((image, i) =>
    image.smoke.platforms.map(p => ({ image, i, p }))
  )
  const outcomes = await limit(tests, SMOKE_PARALLEL, async ({ image, i, p }) => {
    await inEngine(ctx, i)
    if (ctx.plan.qemu.platforms.includes(p)) await ctx.ended('QEMU')
    // the classic store holds each platform under a tag of the run's own
    const token = ctx.classicToken
    const { result, removed } = await smokeTest(
      image,
      p,
      network,
      token ? platformTag(image, p, token) : undefined,
      log
    )
    // the containers go while the run goes on; the run waits for them before it ends
    ctx.pending.push(removed)
    return result
  })
  let at = 0
  return ctx.plan.images.map(image => outcomes.slice(at, (at += image.smoke.platforms.length)))
}

/**
 * Settles once the image with index i in the plan is in the engine: written and loaded by the
 * Write images stage, or else built by the Build stage (which has ended).
 */
async function inEngine(ctx: StageContext, i: number): Promise<void> {
  const written = await ctx.writes?.[i]?.catch((e: unknown) => {
    throw stoppedBy('Write images', e)
  })
  if (written) return
  await ctx.ended('Build')
}

/** What the smoke test waited for, for the error. */
function expectation(smoke: Plan['images'][number]['smoke']): string {
  if (!smoke.http) return `the output to contain "${smoke.expect}"`
  const body = smoke.expect ? ` with "${smoke.expect}" in the body` : ''
  return `GET :${smoke.http.port}${smoke.http.path} to answer 2xx${body}`
}

/** Puts each outcome on its platform's result and logs it; returns the failed ones' names. */
function record(ctx: StageContext, outcomes: SmokeResult[][], log: StageLog): string[] {
  const failures: string[] = []
  for (const [n, image] of ctx.plan.images.entries()) {
    const r = ctx.results.images.find(x => x.name === image.name) as ImageResult
    for (const [i, platform] of image.smoke.platforms.entries()) {
      const res = outcomes[n][i]
      const pr = r.platforms.find(p => p.platform === platform)
      if (pr) pr.smoke = res
      if (res.ok) {
        // the image's output is data: one line of it, escaped, fenced as repository code's output
        const line = oneLine(`ok   ${image.name} ${platform}: ${res.output.split('\n')[0]}`)
        log(() => printFenced(line))
      } else {
        const msg = `smoke test of ${image.name} on ${platform} failed: \`${res.command}\` printed:\n${res.output}\nexpected ${expectation(image.smoke)}`
        log(() => core.error(msg, { title: `smoke test ${platform}` }))
        failures.push(`${image.name} on ${platform}`)
      }
    }
  }
  return failures
}
