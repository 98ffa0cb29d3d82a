import { architectureStage } from './architecture.js'
import { buildStage } from './build.js'
import { builderStage, engineStage, loginStage, qemuStage } from './engine.js'
import { goBuildStage, goCacheStage, goGateStage } from './go.js'
import { goCacheMountsOutStage, goCacheMountsStage } from './goCacheMounts.js'
import { pushStage } from './push.js'
import { smokeStage } from './smoke.js'
import { writeStage } from './write.js'
import type { Stage } from './stage.js'
import { collectStage, handOnStage, mergeStage, pushDigestStage } from './distributed.js'
import type { Mode } from '../inputs.js'

/**
 * The single-job run (mode `all`): Go cache -> gate -> buildx -> login -> build -> architecture ->
 * push, with stages beside them: the engine's questions and QEMU, the runner builds' `go build`,
 * the images the action writes (each once its binaries are built) and the smoke tests (each once
 * its image is in the engine) run while the gate does. Any failure stops the run before anything
 * is pushed.
 */
export const ALL_STAGES: readonly Stage[] = [
  // beside the Go stages, up to QEMU
  engineStage,
  goCacheStage,
  // beside the gate and the stages after it: up to Build, Build, Architecture and Builder
  goBuildStage,
  writeStage,
  smokeStage,
  qemuStage,
  goGateStage,
  builderStage,
  loginStage,
  goCacheMountsStage,
  buildStage,
  goCacheMountsOutStage,
  architectureStage,
  pushStage
]

/**
 * A platform job (mode `platform`): the same up to the smoke test, on the job's one platform,
 * then a push by digest (no tag) and the digests handed on to the merge.
 */
export const PLATFORM_STAGES: readonly Stage[] = [
  ...ALL_STAGES.filter(s => s !== pushStage),
  pushDigestStage,
  handOnStage
]

/** The merge job (mode `merge`): every platform job's digests into tagged indexes. */
export const MERGE_STAGES: readonly Stage[] = [loginStage, collectStage, mergeStage]

/** The stages of each mode; the plan job runs none (the plan and its `matrix` are its work). */
export const STAGES: Record<Mode, readonly Stage[]> = {
  all: ALL_STAGES,
  plan: [],
  platform: PLATFORM_STAGES,
  merge: MERGE_STAGES
}
