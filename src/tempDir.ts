import * as core from '@actions/core'
import { mkdirSync, mkdtempSync } from 'node:fs'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** State key of the run's temporary directory, removed by the post step. */
export const TEMP_DIR_STATE = 'tempDir'

let root: string | undefined

/**
 * A fresh directory for temporary files (`prefix` names what it holds), inside the run's own
 * temporary directory under RUNNER_TEMP. That directory is remembered in the step's state as soon
 * as it exists, so the post step removes it even after a main step that failed or was killed.
 */
export async function tempDir(prefix: string): Promise<string> {
  if (root === undefined) {
    const base = process.env['RUNNER_TEMP'] || tmpdir()
    mkdirSync(base, { recursive: true })
    root = mkdtempSync(join(base, 'go-image-action-'))
    core.saveState(TEMP_DIR_STATE, root)
  }
  return mkdtemp(join(root, prefix))
}
