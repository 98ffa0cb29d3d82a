/**
 * The error of work that could not go on because what it waited for failed, or will not happen
 * now that the run has stopped: the stage it ends is reported as stopped, not failed (the failure
 * is the other stage's).
 */
export class Stopped extends Error {}

/** `e`, the failure of `what` that work waited for, as the reason that work stopped. */
export function stoppedBy(what: string, e: unknown): Stopped {
  if (e instanceof Stopped) return e
  return new Stopped(`${what} failed: ${e instanceof Error ? e.message : String(e)}`)
}
