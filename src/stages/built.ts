import type { BuiltImage } from '../docker/build.js'
import type { ImageResult } from '../results.js'
import type { StageContext } from './stage.js'

/** Records images read back: in `built` for the push, in the results for outputs and summary. */
export function addBuilt(ctx: StageContext, built: BuiltImage[]): void {
  ctx.built.push(...built)
  ctx.results.images.push(...built.map(imageResult))
}

function imageResult(b: BuiltImage): ImageResult {
  return {
    name: b.image.name,
    digest: b.digest,
    platforms: b.manifests.map(m => ({
      platform: m.platform,
      digest: m.digest,
      size: m.size,
      architecture: b.architecture.get(m.platform),
      ...(m.attestations && { attestations: m.attestations })
    })),
    pushedTags: []
  }
}
