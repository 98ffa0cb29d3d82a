/**
 * The build information a Go binary carries, read from its bytes as `go version -m` prints it,
 * without a `go` process: Go 1.18 and later write a blob that starts with a magic, then the Go
 * version and the module information as length-prefixed strings (debug/buildinfo's inline
 * format, flag 2). Older binaries point into their data instead; those are left to `go version -m`.
 */

const MAGIC = Buffer.from('\xff Go buildinf:', 'latin1')
/** The magic, pointer size and flags, padded: the strings start after it. */
const HEADER = 32
/** The module information is framed by 16-byte sentinels (cmd/go's infoStart and infoEnd). */
const FRAME = 16

/** What readGoBuildInfo found. */
export type GoBuildInfo =
  /** The Go version, and the lines `go version -m` prints under the file (each tab-indented). */
  | { version: string; section: string }
  /** A Go binary of before Go 1.18 (not inline): ask `go version -m`. */
  | 'old'
  /** No build information: not a Go binary. */
  | undefined

/** An unsigned varint at `at`: its value and where it ends, or undefined past the end. */
function uvarint(bytes: Buffer, at: number): { value: number; end: number } | undefined {
  let value = 0
  for (let shift = 0, i = at; i < bytes.length && shift < 35; i++, shift += 7) {
    value += (bytes[i] & 0x7f) * 2 ** shift
    if (bytes[i] < 0x80) return { value, end: i + 1 }
  }
  return undefined
}

/** The bytes of a length-prefixed string at `at`, or undefined when it does not fit. */
function lengthPrefixed(bytes: Buffer, at: number): { data: Buffer; end: number } | undefined {
  const n = uvarint(bytes, at)
  if (!n || n.end + n.value > bytes.length) return undefined
  return { data: bytes.subarray(n.end, n.end + n.value), end: n.end + n.value }
}

/** The build information of the Go binary `bytes`, as `go version -m` reads it (GoBuildInfo). */
export function readGoBuildInfo(bytes: Buffer): GoBuildInfo {
  let old = false
  // the magic may also be data of a program that reads build information: take the first
  // occurrence that holds a valid blob
  for (let at = bytes.indexOf(MAGIC); at >= 0; at = bytes.indexOf(MAGIC, at + 1)) {
    const pointerSize = bytes[at + MAGIC.length]
    const flags = bytes[at + MAGIC.length + 1]
    if (pointerSize !== 4 && pointerSize !== 8) continue
    if ((flags & 2) === 0) {
      old = true
      continue
    }
    const version = lengthPrefixed(bytes, at + HEADER)
    const goVersion = version?.data.toString('utf8') ?? ''
    if (!version || !/^(go|devel )/.test(goVersion)) continue
    const mod = lengthPrefixed(bytes, version.end)
    if (!mod) continue
    // debug/buildinfo: framed (in bytes: the sentinels are not text) when long enough and the
    // end sentinel follows a newline
    const m = mod.data
    const text =
      m.length >= 2 * FRAME + 1 && m[m.length - FRAME - 1] === 0x0a
        ? m.subarray(FRAME, m.length - FRAME).toString('utf8')
        : ''
    const section = text
      .split('\n')
      .filter(Boolean)
      .map(l => `\t${l}`)
      .join('\n')
    return { version: goVersion, section }
  }
  return old ? 'old' : undefined
}
