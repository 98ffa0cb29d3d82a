import { buildStage } from './build.js'
import { builderStage, engineStage, loginStage, qemuStage } from './engine.js'
import { goBuildStage, goCacheStage, goGateStage } from './go.js'
import { pushStage } from './push.js'
import { smokeStage } from './smoke.js'
import type { Stage } from './stage.js'

/**
 * The single-job run (mode `all`): gate -> qemu/buildx -> login -> build -> smoke -> push. Any
 * failure stops the run before anything is pushed.
 */
export const ALL_STAGES: readonly Stage[] = [
  goCacheStage,
  goGateStage,
  goBuildStage,
  engineStage,
  qemuStage,
  builderStage,
  loginStage,
  buildStage,
  smokeStage,
  pushStage
]
