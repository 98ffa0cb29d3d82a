import * as core from '@actions/core'
import { randomBytes } from 'node:crypto'
import semver from 'semver'
import { run } from '../exec.js'
import { DOCKER_SETUP_TIMEOUT_S, dockerBound } from './timeouts.js'
import { inspectBuilder, type BuilderInfo, type EngineInfo } from './engine.js'

/** State key under which a builder the action created is remembered for the post step. */
export const BUILDER_STATE = 'builder'

/** What the run needs of its builder, beyond the engine. */
export interface BuilderNeeds {
  /** The buildx `type=gha` cache is on and its service speaks v2 only. */
  ghaV2: boolean
  /** The BuildKit image of a docker-container builder, if one is created. */
  buildkitImage: string
}

/** BuildKit and buildx speak the v2 cache protocol from these versions. */
const V2_BUILDKIT = '0.20.0'
const V2_BUILDX = '0.21.0'

function older(version: string, than: string): boolean {
  const v = semver.coerce(version)
  return !v || semver.lt(v, than)
}

/**
 * Why the current builder cannot do this run's job, or undefined when it can. The `docker` driver
 * builds several platforms, loads them and exports a cache only on the containerd image store; it
 * runs the engine's own BuildKit, which speaks the v2 cache protocol only from 0.20 (buildx must
 * be 0.21 too, or no builder helps). Pure.
 */
export function builderShortfall(
  current: BuilderInfo,
  engine: EngineInfo,
  needs: Pick<BuilderNeeds, 'ghaV2'>
): string | undefined {
  if (current.driver === 'docker-container' || current.driver === 'remote') return undefined
  if (current.driver !== 'docker') return `its driver ${current.driver} is not one the action knows`
  if (!engine.containerdStore)
    return 'the classic image store: the docker driver cannot build several platforms or export a cache there'
  if (
    needs.ghaV2 &&
    !older(engine.buildxVersion, V2_BUILDX) &&
    older(current.buildkitVersion, V2_BUILDKIT)
  )
    return `the cache service speaks v2 and the engine's BuildKit ${current.buildkitVersion || 'unknown'} only v1`
  return undefined
}

/**
 * Reuses the current builder when it can do the job (see builderShortfall); otherwise creates a
 * `docker-container` builder from `buildkit-image`, as docker/setup-buildx-action does, and
 * remembers it for removal in the post step. Its container is on the host's network, like the
 * `docker` driver's builds: a registry or cache service on the runner's localhost is reachable
 * (BuildKit speaks plain HTTP to localhost registries), and so is the module proxy from RUN steps.
 */
export async function setupBuilder(
  engine: EngineInfo,
  runId: string,
  needs: BuilderNeeds
): Promise<BuilderInfo> {
  const current = await inspectBuilder()
  const why = builderShortfall(current, engine, needs)
  if (!why) {
    core.info(
      `using builder ${current.name} (driver ${current.driver}, BuildKit ${current.buildkitVersion || 'unknown'})`
    )
    return current
  }
  const name = `go-image-action-${runId || 'local'}-${randomBytes(3).toString('hex')}`
  core.info(
    `the current builder ${current.name} (driver ${current.driver}) will not do: ${why}; creating a docker-container builder ${name} from ${needs.buildkitImage}`
  )
  // remembered before it exists: a main step killed while creating it still has it removed
  core.saveState(BUILDER_STATE, name)
  await run(
    'docker',
    [
      'buildx',
      'create',
      '--name',
      name,
      '--driver',
      'docker-container',
      '--driver-opt',
      `image=${needs.buildkitImage}`,
      '--driver-opt',
      'network=host',
      '--bootstrap'
    ],
    { timeoutSeconds: dockerBound(DOCKER_SETUP_TIMEOUT_S) }
  )
  const created = await inspectBuilder(name)
  core.info(`builder ${name}: BuildKit ${created.buildkitVersion || 'unknown'}`)
  return { ...created, created: true }
}

/** Post step: removes the builder the action created. */
export async function removeBuilder(name: string): Promise<void> {
  await run('docker', ['buildx', 'rm', name], { allowFailure: true })
}

/**
 * `sbom: true` needs its scanner image, which BuildKit pulls from its registry: checks that the
 * registry serves it, and fails with the fix when it does not.
 */
export async function checkSbomScanner(image: string): Promise<void> {
  const res = await run('docker', ['buildx', 'imagetools', 'inspect', image], {
    silent: true,
    allowFailure: true
  })
  if (res.exitCode !== 0) {
    throw new Error(
      `sbom: true needs the scanner image ${image}, which cannot be pulled here (${res.stderr.trim().split('\n').pop()}); ` +
        "mirror it and set 'sbom-scanner', or set 'sbom: false'"
    )
  }
}
