import { pushAll } from '../docker/push.js'
import type { Stage } from './stage.js'

/**
 * Publishes every image by digest, then its version tags, then floating tags (see pushAll);
 * records each tag's outcome.
 */
export const pushStage: Stage = {
  name: 'Push',
  applies: plan => plan.push || plan.pushReason,
  async run(ctx) {
    // writes each tag's outcome into the results as it goes: a failure still reports it
    await pushAll(ctx.built, ctx.results.images, {
      timeoutMs: ctx.inputs.registryTimeout * 1000
    })
    ctx.results.pushed = true
  }
}
