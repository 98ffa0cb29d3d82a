import { randomBytes } from 'node:crypto'
import { run } from '../exec.js'
import type { PlannedImage } from '../plan/plan.js'
import type { SmokeResult } from '../results.js'
import { smokeCommand } from './buildArgs.js'

/** How long one smoke test may take (emulated platforms are slow to start). */
export const SMOKE_TIMEOUT_MS = 120_000

/**
 * Runs the image on one platform with its smoke arguments and checks the output contains the
 * expected text (`ref`: where the engine holds that platform, the version tag unless the classic
 * store holds it under a tag of its own). Never throws for a failed check: the result says what happened.
 */
export async function smokeTest(
  image: PlannedImage,
  platform: string,
  ref = image.versionTag,
  timeoutMs = SMOKE_TIMEOUT_MS
): Promise<SmokeResult> {
  const name = `gia-smoke-${randomBytes(4).toString('hex')}`
  const args = smokeCommand(image, platform, name, ref)
  const command = `docker ${args.join(' ')}`
  const started = Date.now()
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    void run('docker', ['rm', '--force', name], { silent: true, allowFailure: true })
  }, timeoutMs)
  try {
    const res = await run('docker', args, { silent: true, allowFailure: true })
    const output = (res.stdout + res.stderr).trim()
    const ms = Date.now() - started
    if (timedOut)
      return {
        ok: false,
        command,
        output: `${output}\n(timed out after ${timeoutMs / 1000} s)`.trim(),
        ms
      }
    if (res.exitCode !== 0)
      return { ok: false, command, output: `${output}\n(exit code ${res.exitCode})`.trim(), ms }
    return { ok: output.includes(image.smoke.expect), command, output, ms }
  } finally {
    clearTimeout(timer)
  }
}
