/**
 * Blobs fetched from a registry, kept on disk by digest so that each is fetched once: a base
 * image's config and layers are the same for every image and every run on the runner.
 */
import { randomBytes } from 'node:crypto'
import { mkdir, rename, stat, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { RegistryClient } from './client.js'
import { retryTransient } from '../docker/retry.js'

/** Where a blob is in a cache directory (`<dir>/sha256/<hex>`, as in an OCI layout). */
export function cachedBlobPath(dir: string, digest: string): string {
  return join(dir, ...digest.split(':'))
}

/**
 * The path of a blob in the cache directory, fetched from `repo` first when the cache lacks it
 * (or holds a file of another size). The bytes are checked against the digest before they are
 * kept, and written under a temporary name first, so a concurrent run never reads half a blob.
 */
export async function cachedBlob(
  dir: string,
  client: RegistryClient,
  repo: string,
  blob: { digest: string; size: number }
): Promise<string> {
  const file = cachedBlobPath(dir, blob.digest)
  const have = await stat(file).catch(() => undefined)
  if (have?.size === blob.size) return file
  const bytes = await retryTransient(`GET blob ${blob.digest.slice(0, 19)}`, () =>
    client.getBlob(repo, blob.digest)
  )
  if (bytes.length !== blob.size)
    throw new Error(
      `${client.registry}/${repo}: blob ${blob.digest} has ${bytes.length} bytes, not ${blob.size}`
    )
  await mkdir(dirname(file), { recursive: true })
  const partial = `${file}.${randomBytes(4).toString('hex')}.partial`
  await writeFile(partial, bytes)
  await rename(partial, file)
  return file
}
