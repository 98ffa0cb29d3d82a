/**
 * An image's filesystem read from its layer blobs (as `docker save` writes them): which path is
 * what after the layers are stacked (whiteouts applied), symlinks resolved inside the image, and
 * one file's bytes. Enough to find the executable a container would run, without running one.
 */
import { createReadStream } from 'node:fs'
import { open } from 'node:fs/promises'
import { posix } from 'node:path'
import type { Readable } from 'node:stream'
import * as zlib from 'node:zlib'
import { extract, type Header } from 'tar-stream'

/** One path of the stacked filesystem. */
export interface FsEntry {
  type: 'file' | 'link' | 'symlink' | 'directory' | 'other'
  /** A symlink's target, or a hard link's archive path. */
  linkname?: string
  /** Index of the layer that holds it. */
  layer: number
}

/** Default PATH of a container whose config sets none (as runc and the Docker engine use). */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

/** `./usr/bin/` -> `usr/bin`: the key of a path inside an archive or the image. */
export function entryKey(name: string): string {
  return posix.normalize(`/${name}`).replace(/^\/+/, '').replace(/\/+$/, '')
}

/** A layer blob decompressed (gzip or zstd, by their magic bytes; else taken as a plain tar). */
async function layerStream(file: string): Promise<Readable> {
  const fh = await open(file, 'r')
  const magic = Buffer.alloc(4)
  try {
    await fh.read(magic, 0, 4, 0)
  } finally {
    await fh.close()
  }
  const raw = createReadStream(file)
  if (magic[0] === 0x1f && magic[1] === 0x8b) return raw.pipe(zlib.createGunzip())
  if (magic.readUInt32LE(0) === 0xfd2fb528) {
    const zstd = (zlib as unknown as { createZstdDecompress?: () => NodeJS.ReadWriteStream })
      .createZstdDecompress
    if (!zstd) throw new Error(`${file}: a zstd layer, which this Node cannot decompress`)
    return raw.pipe(zstd()) as unknown as Readable
  }
  return raw
}

/** Calls `fn` with every entry of a layer; `fn` may read the entry's stream, or not. */
async function eachEntry(
  file: string,
  fn: (header: Header, stream: AsyncIterable<unknown>) => Promise<void> | void
): Promise<void> {
  const entries = extract()
  const input = await layerStream(file)
  input.on('error', e => entries.destroy(e))
  input.pipe(entries as unknown as NodeJS.WritableStream)
  for await (const entry of entries) {
    await fn(entry.header, entry)
    entry.resume()
  }
}

function typeOf(header: Header): FsEntry['type'] {
  switch (header.type) {
    case 'file':
    case 'contiguous-file':
      return 'file'
    case 'link':
      return 'link'
    case 'symlink':
      return 'symlink'
    case 'directory':
      return 'directory'
    default:
      return 'other'
  }
}

/**
 * Stacks one layer's entries onto the paths of the layers below it: a `.wh.<name>` whiteout
 * removes `<name>` (and what is under it), an opaque `.wh..wh..opq` everything below its
 * directory; then the layer's own entries are added.
 */
export function applyLayer(
  below: Map<string, FsEntry>,
  layer: { key: string; entry: FsEntry }[]
): void {
  const removeTree = (key: string, self: boolean): void => {
    if (self) below.delete(key)
    const prefix = key === '' ? '' : `${key}/`
    for (const k of [...below.keys()]) if (k.startsWith(prefix) && k !== key) below.delete(k)
  }
  for (const { key } of layer) {
    const base = posix.basename(key)
    const dir = posix.dirname(key) === '.' ? '' : posix.dirname(key)
    if (base === '.wh..wh..opq') removeTree(dir, false)
    else if (base.startsWith('.wh.')) removeTree(posix.join(dir, base.slice(4)), true)
  }
  for (const { key, entry } of layer) {
    if (!posix.basename(key).startsWith('.wh.')) below.set(key, entry)
  }
}

/** An image's stacked filesystem. */
export class ImageFs {
  private constructor(
    private readonly entries: Map<string, FsEntry>,
    private readonly layers: string[]
  ) {}

  /** Reads the layers (blob files, lowest first) of one image. */
  static async read(layers: string[]): Promise<ImageFs> {
    const entries = new Map<string, FsEntry>()
    for (const [i, file] of layers.entries()) {
      const layer: { key: string; entry: FsEntry }[] = []
      await eachEntry(file, header => {
        const key = entryKey(header.name)
        if (key === '') return
        const linkname = header.linkname ?? undefined
        layer.push({ key, entry: { type: typeOf(header), linkname, layer: i } })
      })
      applyLayer(entries, layer)
    }
    return new ImageFs(entries, layers)
  }

  /** Builds one from entries (for tests of resolution). */
  static of(entries: Map<string, FsEntry>): ImageFs {
    return new ImageFs(entries, [])
  }

  /**
   * The path `path` names inside the image, every symlink on the way followed (absolute targets
   * from the image's root, `..` never above it), as a key; undefined for a symlink loop.
   */
  resolve(path: string, from = '/'): string | undefined {
    let todo = (path.startsWith('/') ? path : posix.join(from, path)).split('/')
    let current: string[] = []
    for (let hops = 0; todo.length > 0;) {
      const part = todo.shift() as string
      if (part === '' || part === '.') continue
      if (part === '..') {
        current.pop()
        continue
      }
      const key = [...current, part].join('/')
      const entry = this.entries.get(key)
      if (entry?.type === 'symlink' && entry.linkname !== undefined) {
        if (++hops > 40) return undefined
        if (entry.linkname.startsWith('/')) current = []
        todo = [...entry.linkname.split('/'), ...todo]
        continue
      }
      current.push(part)
    }
    return current.join('/')
  }

  /** The entry at a key (no symlink followed). */
  entry(key: string): FsEntry | undefined {
    return this.entries.get(key)
  }

  /**
   * The file a container would execute for `argv0`: a path (relative to `workingDir`) or a name
   * looked up in `PATH`, as the runtime does; symlinks followed. Undefined when there is none.
   */
  findExecutable(argv0: string, pathVar: string, workingDir = '/'): string | undefined {
    const candidates = argv0.includes('/')
      ? [argv0.startsWith('/') ? argv0 : posix.join(workingDir || '/', argv0)]
      : pathVar
          .split(':')
          .filter(Boolean)
          .map(dir => posix.join(dir, argv0))
    for (const candidate of candidates) {
      const key = this.resolve(candidate)
      const type = key === undefined ? undefined : this.entries.get(key)?.type
      if (type === 'file' || type === 'link') return `/${key}`
    }
    return undefined
  }

  /** The bytes of a regular file (or hard link) at a key, read from its layer. */
  async readFile(key: string): Promise<Buffer> {
    const entry = this.entries.get(key)
    if (!entry || (entry.type !== 'file' && entry.type !== 'link'))
      throw new Error(`/${key} is not a file in the image`)
    const wanted = entry.type === 'link' ? entryKey(entry.linkname ?? '') : key
    // a hard link's target is an earlier member of its own layer, or else of a lower one
    const layer =
      entry.type === 'link' ? (this.entries.get(wanted)?.layer ?? entry.layer) : entry.layer
    let found: Buffer | undefined
    await eachEntry(this.layers[Math.min(layer, entry.layer)], async (header, stream) => {
      if (found || entryKey(header.name) !== wanted || typeOf(header) !== 'file') return
      const chunks: Buffer[] = []
      for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array))
      found = Buffer.concat(chunks)
    })
    if (!found) throw new Error(`/${key}: its content is not in its layer`)
    return found
  }
}
