import * as core from '@actions/core'

/** The post step: cleans up and saves caches; it never fails the job. */
export async function post(): Promise<void> {
  try {
    core.debug('post: nothing to clean up')
  } catch (e) {
    core.warning(`post: ${(e as Error).message}`)
  }
}
