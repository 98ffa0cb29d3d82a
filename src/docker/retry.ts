import * as core from '@actions/core'
import { transientKind, transientText } from '../registry/errors.js'
import { outsideFence } from '../util/fence.js'

/**
 * Whether a failed docker command's output shows a transient registry error (a server error, a
 * rate limit, a dropped connection, however Go words it). Never a 4xx other than 429 (auth,
 * name, missing tag): those fail the same way again.
 */
export function transientRegistryError(message: string): boolean {
  return transientText(message) !== undefined
}

/** Attempts per registry operation. */
export const REGISTRY_ATTEMPTS = 4
/** The pause before the second attempt, doubled before each later one (plus up to 20% jitter). */
const RETRY_MS = 1000
/** The longest `Retry-After` this action waits; a registry that asks for more fails the run. */
export const MAX_RETRY_AFTER_MS = 120_000

/** How long to wait before attempt `attempt + 1`: the backoff, or longer when the registry asked. */
export function retryDelay(
  attempt: number,
  retryAfterMs: number | undefined,
  random = Math.random
): number {
  const backoff = RETRY_MS * 2 ** (attempt - 1) * (1 + 0.2 * random())
  return Math.max(Math.round(backoff), retryAfterMs ?? 0)
}

/** Options of retryTransient. */
export interface RetryOptions {
  /** Attempts in all (default REGISTRY_ATTEMPTS). */
  attempts?: number
}

/**
 * Runs a registry operation again after a transient error (see transientKind: HTTP 408/429/5xx,
 * a dropped, refused or stalled connection), waiting with backoff and at least as long as the
 * registry's `Retry-After`, with a warning that names the operation, the kind of error and the
 * attempt. Only for idempotent operations: reading, or writing content-addressed blobs and
 * manifests (a tag PUT writes the same bytes again).
 */
export async function retryTransient<T>(
  what: string,
  op: () => Promise<T>,
  opts: RetryOptions = {}
): Promise<T> {
  const attempts = opts.attempts ?? REGISTRY_ATTEMPTS
  for (let attempt = 1; ; attempt++) {
    try {
      return await op()
    } catch (e) {
      const kind = transientKind(e)
      if (!kind) throw e
      const message = (e as Error).message
      if (attempt >= attempts) {
        throw new Error(`${what} failed after ${attempts} attempts (${kind}): ${message}`, {
          cause: e
        })
      }
      const retryAfter = (e as { retryAfterMs?: number }).retryAfterMs
      if (retryAfter !== undefined && retryAfter > MAX_RETRY_AFTER_MS) {
        throw new Error(
          `${what}: the registry asks to retry after ${Math.round(retryAfter / 1000)} s, longer than the ${MAX_RETRY_AFTER_MS / 1000} s this action waits: ${message}`,
          { cause: e }
        )
      }
      const wait = retryDelay(attempt, retryAfter)
      const reason = message.split('\n').filter(Boolean).slice(-1)[0]
      // a fence may be open for a build running at the same time: the warning must still count
      outsideFence(() =>
        core.warning(
          `${what} failed on a transient registry error (${kind}: ${reason}); attempt ${attempt + 1} of ${attempts} in ${(wait / 1000).toFixed(1)} s${retryAfter !== undefined ? ' (Retry-After)' : ''}`
        )
      )
      await new Promise(resolve => setTimeout(resolve, wait))
    }
  }
}
