/**
 * Loads an image the action wrote (an OCI layout) into the engine, for the smoke tests: `docker
 * load` of the layout as a tar, which tags it with every name of its `index.json`. The engine's
 * image ID must then be the written root digest: what runs in the smoke test is what is pushed.
 */
import { rm } from 'node:fs/promises'
import { DOCKER_CONTROL_TIMEOUT_S, DOCKER_LOAD_TIMEOUT_S, dockerBound } from '../docker/timeouts.js'
import { run } from '../exec.js'

/** The image ID the engine gives a reference (`sha256:...`). */
export async function imageId(ref: string): Promise<string> {
  const res = await run('docker', ['image', 'inspect', '--format', '{{.Id}}', ref], {
    silent: true,
    timeoutSeconds: dockerBound(DOCKER_CONTROL_TIMEOUT_S)
  })
  return res.stdout.trim()
}

/**
 * `docker load` of `layout` (tarred beside it), then checks that `ref` is the image `digest`
 * (on the containerd store the image ID is the root manifest's or index's digest).
 */
export async function loadLayout(layout: string, ref: string, digest: string): Promise<void> {
  const archive = `${layout}.tar`
  try {
    // tarred by tar, not read through this process: the bytes never enter its heap (a 2-platform
    // run's layouts are 25 MB, an 8-platform one's 100 MB, and each read and copy of them costs
    // garbage collection here)
    await run('tar', ['-cf', archive, '-C', layout, '.'], { silent: true })
    await run('docker', ['load', '--quiet', '--input', archive], {
      silent: true,
      timeoutSeconds: dockerBound(DOCKER_LOAD_TIMEOUT_S)
    })
  } finally {
    await rm(archive, { force: true })
  }
  const id = await imageId(ref)
  if (id !== digest)
    throw new Error(`docker load of ${ref}: the engine holds ${id || 'nothing'}, not ${digest}`)
}
