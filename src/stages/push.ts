import { pushAll } from '../docker/push.js'
import type { ImageResult } from '../results.js'
import type { Stage } from './stage.js'

/** Pushes every tag of every image, `latest` last; records what was pushed. */
export const pushStage: Stage = {
  name: 'Push',
  applies: plan => plan.push || plan.pushReason,
  async run(ctx) {
    const pushed = await pushAll(ctx.built, ctx.plan.metadata.version)
    for (const p of pushed) {
      const r = ctx.results.images.find(x => x.name === p.name) as ImageResult
      r.pushedTags = p.pushedTags
      r.latestNote = p.latestNote
    }
    ctx.results.pushed = true
  }
}
