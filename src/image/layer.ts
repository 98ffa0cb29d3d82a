/**
 * The one layer a runner build adds to its base: the binary at `/<binary>`, as a tar with fixed
 * metadata (the release date as its time, root-owned, mode 0755), gzip-compressed. The same
 * binary and date always give the same bytes, so the layer and the image are reproducible.
 */
import { createHash } from 'node:crypto'
import { promisify } from 'node:util'
import { constants, gzip } from 'node:zlib'
import { pack } from 'tar-stream'

/** A layer's compressed bytes with its digests. */
export interface Layer {
  /** sha256 of the compressed blob (the manifest's layer digest). */
  digest: string
  /** sha256 of the uncompressed tar (the config's diff_id). */
  diffId: string
  bytes: Buffer
}

/** One regular file of a layer. */
export interface LayerFile {
  /** Its path in the image, without the leading `/`. */
  name: string
  bytes: Buffer
  mode: number
}

function sha256(b: Buffer): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`
}

/** The uncompressed tar of `files`, every entry with uid/gid 0, no owner names and `mtime`. */
export async function layerTar(files: LayerFile[], mtimeSeconds: number): Promise<Buffer> {
  const tar = pack()
  const chunks: Buffer[] = []
  const done = new Promise<void>((resolve, reject) => {
    tar.on('data', (c: unknown) => void chunks.push(c as Buffer))
    tar.on('end', () => resolve())
    tar.on('error', reject)
  })
  const mtime = new Date(Math.floor(mtimeSeconds) * 1000)
  for (const f of files)
    tar.entry(
      { name: f.name, size: f.bytes.length, mode: f.mode, mtime, uid: 0, gid: 0, type: 'file' },
      f.bytes
    )
  tar.finalize()
  await done
  return Buffer.concat(chunks)
}

/**
 * The layer of `files`: tar, then gzip with no name and no time in its header (Node's zlib, so
 * the same input gives the same bytes with the same Node), at level 1 as ko's layers are
 * (go-containerregistry's default, gzip.BestSpeed): half the time of the default level 6 for a
 * 9 MB Go binary (0.12 s against 0.22 s here), for a layer about 4% larger.
 */
export async function buildLayer(files: LayerFile[], mtimeSeconds: number): Promise<Layer> {
  const tar = await layerTar(files, mtimeSeconds)
  // off the main thread: the platforms' layers compress side by side
  const bytes = await promisify(gzip)(tar, { level: constants.Z_BEST_SPEED })
  return { digest: sha256(bytes), diffId: sha256(tar), bytes }
}
