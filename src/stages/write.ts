import { join } from 'node:path'
import type { BuiltImage } from '../docker/build.js'
import type { EngineInfo } from '../docker/engine.js'
import { registryClients } from '../docker/push.js'
import { parseBaseRef } from '../image/base.js'
import { readRunnerBase, writeRunnerImage, type RunnerImageOptions } from '../image/runnerImage.js'
import type { PlannedImage } from '../plan/plan.js'
import { plannedLogins } from './engine.js'
import { needs, type Stage, type StageContext } from './stage.js'

/** An image the action wrote and loaded: its read-back (collected later) and its log line. */
export interface WrittenImage {
  read: Promise<BuiltImage>
  note: string
}

/**
 * Writes and loads the images the action writes itself (writtenByAction), each as soon as its
 * binaries are built (its base read from its registry meanwhile), all at once: beside the Go gate
 * and the engine's stages, up to the Build stage, which collects them. An image whose base is in
 * a registry the Login stage logs in to waits for that login. Every write ends before the stage
 * does; its lines come in the plan's order, and the first failure in that order is the stage's.
 */
export const writeStage: Stage = {
  name: 'Write images',
  applies: plan =>
    plan.images.some(i => i.runnerBuild?.writer === 'action') ||
    'no image written by the action (no runner build, or a Dockerfile of its own)',
  besideUntil: 'Build',
  async run(ctx, log) {
    // one set of options, and so one registry client per registry, for every image
    const opts = runnerImageOptions(ctx)
    const writes = ctx.plan.images.map(image =>
      image.runnerBuild?.writer === 'action'
        ? writeWhenBuilt(ctx, image, opts)
        : Promise.resolve(undefined)
    )
    ctx.writes = writes
    const settled = await Promise.allSettled(writes)
    for (const w of settled) if (w.status === 'fulfilled' && w.value) log(w.value.note)
    const failed = settled.find(w => w.status === 'rejected')
    if (failed) throw failed.reason
  }
}

/**
 * Whether the action writes the image itself: the plan says so for a runner build, and the
 * engine has the containerd store (the classic store holds one platform per tag: BuildKit).
 */
export function writtenByAction(image: PlannedImage, engine: EngineInfo): boolean {
  return image.runnerBuild?.writer === 'action' && engine.containerdStore
}

/** One image written and loaded once the engine is known and its binaries are built. */
async function writeWhenBuilt(
  ctx: StageContext,
  image: PlannedImage,
  opts: RunnerImageOptions
): Promise<WrittenImage | undefined> {
  await ctx.ended('Engine')
  if (!writtenByAction(image, needs(ctx.engine, 'Engine'))) return undefined
  if (baseNeedsLogin(ctx, image)) await ctx.ended('Login')
  // the base is read while the binaries are built, and each platform's layer is written as soon
  // as its binary is; the image is loaded once all are built and checked
  const base = readRunnerBase(image, opts)
  base.catch(() => undefined)
  const built = needs(ctx.binaryBuilt, 'Go build').get(image)
  const written = await writeRunnerImage(image, opts, base, {
    ready: platform => built?.get(platform) ?? Promise.resolve(),
    checked: needs(ctx.binaries, 'Go build').get(image) ?? Promise.resolve()
  })
  // awaited by the Build stage, or dropped with a failed run: never an unhandled rejection
  written.read.catch(() => undefined)
  return written
}

/** Whether the Login stage logs in to the registry of the image's base (read with those rights). */
function baseNeedsLogin(ctx: StageContext, image: PlannedImage): boolean {
  const base = image.runnerBuild?.generated?.baseImage
  if (!base || base === 'scratch') return false
  try {
    const { registry } = parseBaseRef(base, `${image.origin}.base-image`)
    return plannedLogins(ctx.plan, ctx).some(l => l.registry === registry)
  } catch {
    // the Login stage says what is wrong
    return true
  }
}

/** What the action's own image writer needs from the run. */
function runnerImageOptions(ctx: StageContext): RunnerImageOptions {
  return {
    // a self-hosted runner keeps its tool cache: base blobs are fetched once per digest
    cacheDir: join(process.env['RUNNER_TOOL_CACHE'] || ctx.plan.actionDir, 'go-image-action-blobs'),
    client: registryClients(ctx.inputs.registryTimeout * 1000),
    sourceDateEpoch: ctx.plan.sourceDateEpoch,
    attestations: ctx.plan.attestations,
    source: ctx.github.repository ? `${ctx.github.serverUrl}/${ctx.github.repository}` : '',
    commit: ctx.plan.metadata.commit,
    keep: ctx.plan.push
  }
}
