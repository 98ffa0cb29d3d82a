import * as core from '@actions/core'
import { createSmokeNetwork, removeSmokeNetwork, smokeTest } from '../docker/smoke.js'
import { printFenced } from '../util/fence.js'
import { oneLine } from '../util/text.js'
import { platformTag } from '../docker/classic.js'
import { limit } from '../limit.js'
import type { Plan } from '../plan/plan.js'
import type { ImageResult, SmokeResult } from '../results.js'
import { addBuilt } from './built.js'
import type { Stage, StageContext } from './stage.js'

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
 * Runs each image's smoke tests (while the Build stage's reads finish), records each outcome on
 * its platform's result and fails, naming every failed image and platform, before any push.
 */
export const smokeStage: Stage = {
  name: 'Smoke test',
  applies: plan => smokes(plan) || 'smoke-test: false or no platform to test',
  async run(ctx) {
    // a network of the run's own for the servers probed over HTTP, removed whatever happens
    const network = ctx.plan.images.some(i => i.smoke.enabled && i.smoke.http)
      ? await createSmokeNetwork(ctx.github.runId)
      : undefined
    const [readBack, outcomes] = await Promise.all([
      Promise.all(ctx.reads),
      smokeAll(ctx, network)
    ]).finally(() => network && removeSmokeNetwork(network))
    addBuilt(ctx, readBack)
    const failures = record(ctx, outcomes)
    if (failures.length > 0)
      throw new Error(`smoke test failed for ${failures.join(', ')}; nothing was pushed`)
  }
}

/**
 * Every image's platforms from one pool, SMOKE_PARALLEL at a time (an image's tests do not wait
 * for the image before it); the outcomes come back per image, in the plan's order.
 */
async function smokeAll(ctx: StageContext, network?: string): Promise<SmokeResult[][]> {
  const token = ctx.classicToken
  const tests = ctx.plan.images.flatMap(image => image.smoke.platforms.map(p => ({ image, p })))
  const outcomes = await limit(tests, SMOKE_PARALLEL, async ({ image, p }) => {
    // the classic store holds each platform under a tag of the run's own
    const { result, removed } = await smokeTest(
      image,
      p,
      network,
      token ? platformTag(image, p, token) : undefined
    )
    // the containers go while the run goes on; the run waits for them before it ends
    ctx.pending.push(removed)
    return result
  })
  let at = 0
  return ctx.plan.images.map(image => outcomes.slice(at, (at += image.smoke.platforms.length)))
}

/** What the smoke test waited for, for the error. */
function expectation(smoke: Plan['images'][number]['smoke']): string {
  if (!smoke.http) return `the output to contain "${smoke.expect}"`
  const body = smoke.expect ? ` with "${smoke.expect}" in the body` : ''
  return `GET :${smoke.http.port}${smoke.http.path} to answer 2xx${body}`
}

/** Puts each outcome on its platform's result and logs it; returns the failed ones' names. */
function record(ctx: StageContext, outcomes: SmokeResult[][]): string[] {
  const failures: string[] = []
  for (const [n, image] of ctx.plan.images.entries()) {
    const r = ctx.results.images.find(x => x.name === image.name) as ImageResult
    for (const [i, platform] of image.smoke.platforms.entries()) {
      const res = outcomes[n][i]
      const pr = r.platforms.find(p => p.platform === platform)
      if (pr) pr.smoke = res
      if (res.ok) {
        // the image's output is data: one line of it, escaped, fenced as repository code's output
        printFenced(oneLine(`ok   ${image.name} ${platform}: ${res.output.split('\n')[0]}`))
      } else {
        const msg = `smoke test of ${image.name} on ${platform} failed: \`${res.command}\` printed:\n${res.output}\nexpected ${expectation(image.smoke)}`
        core.error(msg, { title: `smoke test ${platform}` })
        failures.push(`${image.name} on ${platform}`)
      }
    }
  }
  return failures
}
