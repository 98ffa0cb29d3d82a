/** Runs fn over items, at most n at a time; results in the items' order. */
export async function limit<T, R>(
  items: T[],
  n: number,
  fn: (item: T) => Promise<R>
): Promise<R[]> {
  const out: R[] = new Array(items.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i])
    }
  }
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker))
  return out
}

/**
 * A pool of n slots: each call runs fn once a slot is free (in the order of the calls) and frees
 * it when fn settles.
 */
export function slots(n: number): <R>(fn: () => Promise<R>) => Promise<R> {
  let free = n
  const waiting: (() => void)[] = []
  return async fn => {
    if (free > 0) free--
    else await new Promise<void>(resolve => waiting.push(resolve))
    try {
      return await fn()
    } finally {
      const next = waiting.shift()
      if (next) next()
      else free++
    }
  }
}
