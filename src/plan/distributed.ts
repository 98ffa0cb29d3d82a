import { createHash } from 'node:crypto'
import type { Mode, RunnerRule } from '../inputs.js'

/** One job of the platform matrix. */
export interface MatrixEntry {
  platform: string
  runner: string
}

/** What `strategy.matrix` takes: `{"include": [...]}`. */
export interface Matrix {
  include: MatrixEntry[]
}

/** The distributed flow's part of the plan. */
export interface DistributedPlan {
  /** One platform job per distinct platform of all images (the plan job's `matrix` output). */
  matrix: Matrix
  /** Mode `platform`: the platform this job builds. */
  platform?: string
  /**
   * Start of the names of the run's digest artifacts of this release's images; the same in
   * every job of one workflow, different for another set of images in the same run.
   */
  artifactPrefix: string
}

/** Runner labels used when `runners` says nothing about a platform. */
export const DEFAULT_RUNNERS: readonly RunnerRule[] = [
  { platform: 'linux/arm64', runner: 'ubuntu-24.04-arm' },
  { platform: 'linux/arm/*', runner: 'ubuntu-24.04-arm' },
  { platform: '*', runner: 'ubuntu-24.04' }
]

/** The runner label for a platform: the first matching `runners` rule, else the defaults. */
export function runnerFor(platform: string, rules: readonly RunnerRule[]): string {
  const matches = (rule: RunnerRule): boolean =>
    rule.platform.endsWith('*')
      ? platform.startsWith(rule.platform.slice(0, -1))
      : rule.platform === platform
  return ([...rules, ...DEFAULT_RUNNERS].find(matches) as RunnerRule).runner
}

/** One entry per distinct platform, in the order the images list them. */
export function platformMatrix(platforms: string[][], rules: readonly RunnerRule[]): Matrix {
  const distinct = [...new Set(platforms.flat())]
  return { include: distinct.map(platform => ({ platform, runner: runnerFor(platform, rules) })) }
}

/** The artifact prefix for a set of images (see DistributedPlan.artifactPrefix). */
export function artifactPrefix(imageNames: string[]): string {
  const hash = createHash('sha256')
    .update([...imageNames].sort().join('\n'))
    .digest('hex')
  return `go-image-action-digests-${hash.slice(0, 12)}-`
}

/** The name of one platform job's digest artifact. */
export function digestArtifactName(prefix: string, platform: string): string {
  return `${prefix}${platform.replaceAll('/', '-')}`
}

/**
 * The platform a `platform` job builds: the `platform` input, else the one entry of `platforms`.
 * Throws naming the input when neither says it, or when `platform` is set in another mode.
 */
export function jobPlatform(
  mode: Mode,
  platformInput: string | undefined,
  platforms: string[]
): string | undefined {
  if (mode !== 'platform') {
    if (platformInput)
      throw new Error(`platform: only for mode: platform (the mode is ${mode}); leave it empty`)
    return undefined
  }
  if (platformInput) return platformInput
  if (platforms.length === 1) return platforms[0]
  throw new Error(
    'platform: mode: platform builds one platform; set platform: ${{ matrix.platform }} ' +
      `(or platforms to that one platform; it is ${platforms.join(',')})`
  )
}
