/** A promise with its settlers, for one part of the run to settle and others to wait for. */
export interface Deferred<T = void> {
  promise: Promise<T>
  resolve: (value: T) => void
  reject: (e: unknown) => void
}

/**
 * A new Deferred; settling it again does nothing. Its rejection is never unhandled: what waits
 * for it may never come (no image waits for binaries on the classic store).
 */
export function deferred<T = void>(): Deferred<T> {
  let resolve: (value: T) => void = () => undefined
  let reject: (e: unknown) => void = () => undefined
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  promise.catch(() => undefined)
  return { promise, resolve, reject }
}
