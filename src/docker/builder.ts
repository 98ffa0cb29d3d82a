import * as core from '@actions/core'
import { randomBytes } from 'node:crypto'
import { run } from '../exec.js'
import { inspectBuilder, type BuilderInfo, type EngineInfo } from './engine.js'

/** State key under which a builder the action created is remembered for the post step. */
export const BUILDER_STATE = 'builder'

/**
 * Reuses the current builder when it can build every planned platform, export caches and load
 * into the engine (the `docker` driver with the containerd image store, which the Engine stage
 * requires, or a `docker-container`/`remote` builder the workflow set up); otherwise creates a
 * `docker-container` builder, as docker/setup-buildx-action does, and remembers it for removal in
 * the post step.
 */
export async function setupBuilder(engine: EngineInfo, runId: string): Promise<BuilderInfo> {
  const current = await inspectBuilder()
  const reusable =
    (current.driver === 'docker' && engine.containerdStore) ||
    current.driver === 'docker-container' ||
    current.driver === 'remote'
  if (reusable) {
    core.info(
      `using builder ${current.name} (driver ${current.driver}, BuildKit ${current.buildkitVersion || 'unknown'})`
    )
    return current
  }
  const name = `go-image-action-${runId || 'local'}-${randomBytes(3).toString('hex')}`
  core.info(
    `the current builder ${current.name} (driver ${current.driver}) is not one the action builds with; creating a docker-container builder ${name}`
  )
  // remembered before it exists: a main step killed while creating it still has it removed
  core.saveState(BUILDER_STATE, name)
  await run('docker', [
    'buildx',
    'create',
    '--name',
    name,
    '--driver',
    'docker-container',
    '--bootstrap'
  ])
  return inspectBuilder(name)
}

/** Post step: removes the builder the action created. */
export async function removeBuilder(name: string): Promise<void> {
  await run('docker', ['buildx', 'rm', name], { allowFailure: true })
}
