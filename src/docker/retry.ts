import * as core from '@actions/core'

/**
 * Whether a failed registry request is worth another attempt: the registry answered with a
 * server error or the connection dropped. Never a 4xx (auth, quota, name, missing tag): those
 * fail the same way again.
 */
export function transientRegistryError(message: string): boolean {
  return /\b(500 Internal Server Error|502 Bad Gateway|503 Service Unavailable|504 Gateway Timeout)\b|connection reset by peer|broken pipe|i\/o timeout|unexpected EOF|TLS handshake timeout/.test(
    message
  )
}

/** Attempts per registry operation, and the pause before the second one (doubled after). */
export const REGISTRY_ATTEMPTS = 3
const RETRY_MS = 1000

/**
 * Runs a registry operation again after a transient error (see transientRegistryError), with a
 * warning that names the operation and the error. Only for idempotent operations: pushing
 * content-addressed blobs and manifests, or reading. A registry with the filesystem driver can
 * answer 500 ("invalid checksum digest format") to a HEAD of a tag while Docker's own concurrent
 * per-platform PUTs rewrite that tag's link; so can any registry under load.
 */
export async function retryTransient<T>(what: string, op: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await op()
    } catch (e) {
      const message = (e as Error).message
      if (attempt >= REGISTRY_ATTEMPTS || !transientRegistryError(message)) throw e
      const wait = RETRY_MS * 2 ** (attempt - 1)
      const reason = message.split('\n').filter(Boolean).slice(-1)[0]
      core.warning(
        `${what} failed on a registry error (${reason}); attempt ${attempt + 1} of ${REGISTRY_ATTEMPTS} in ${wait / 1000} s`
      )
      await new Promise(resolve => setTimeout(resolve, wait))
    }
  }
}
