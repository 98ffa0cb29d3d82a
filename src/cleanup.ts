import * as core from '@actions/core'
import { rm } from 'node:fs/promises'
import { BUILDER_STATE, removeBuilder } from './docker/builder.js'
import { LOADED_TAGS_STATE, removeLoadedTags } from './docker/classic.js'
import { LOGINS_STATE, logout } from './docker/login.js'
import { removeSmokeNetwork, SMOKE_NETWORK_STATE } from './docker/smoke.js'
import { ACTION_DIR_STATE, removeWritten, WRITTEN_STATE } from './go/build.js'
import { saveGoCache } from './go/cache.js'
import { saveGoCacheMounts } from './docker/goCacheMounts.js'
import { TEMP_DIR_STATE } from './tempDir.js'

/**
 * The post step: saves the Go cache, logs out, removes the builder and the temporary files the
 * main step made, each from what the main step put in its state as it went, so it also cleans up
 * after a main step that failed or was cancelled (killed). It never fails the job.
 */
export async function post(): Promise<void> {
  const steps: [string, () => Promise<void>][] = [
    ['Go cache', saveGoCache],
    ['Go cache mounts', saveGoCacheMounts],
    [
      'logout',
      async () => {
        const logins = core.getState(LOGINS_STATE)
        if (logins) await logout(JSON.parse(logins) as string[])
      }
    ],
    [
      'loaded platforms',
      async () => {
        const tags = core.getState(LOADED_TAGS_STATE)
        if (tags) await removeLoadedTags(JSON.parse(tags) as string[])
      }
    ],
    [
      // only when the main step ended before its Smoke test stage removed it
      'smoke network',
      async () => {
        const network = core.getState(SMOKE_NETWORK_STATE)
        if (network) await removeSmokeNetwork(network)
      }
    ],
    [
      "the action's files",
      async () => {
        // what a runner build copied into a user's context, if the main step did not get to it
        const written = core.getState(WRITTEN_STATE)
        if (written) await removeWritten(JSON.parse(written) as string[])
        const dir = core.getState(ACTION_DIR_STATE)
        if (dir) await rm(dir, { recursive: true, force: true })
      }
    ],
    [
      'builder',
      async () => {
        const builder = core.getState(BUILDER_STATE)
        if (builder) await removeBuilder(builder)
      }
    ],
    [
      'temporary files',
      async () => {
        const dir = core.getState(TEMP_DIR_STATE)
        if (dir) await rm(dir, { recursive: true, force: true })
      }
    ]
  ]
  for (const [name, step] of steps) {
    try {
      await step()
    } catch (e) {
      core.warning(`post (${name}): ${(e as Error).message}`)
    }
  }
  // whatever a library did on the way (core.setFailed sets it), the post step does not fail
  process.exitCode = 0
}
