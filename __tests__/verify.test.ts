import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import {
  mkdirSync,
  mkdtempSync,
  openSync,
  readSync,
  rmSync,
  closeSync,
  writeFileSync
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { pack } from 'tar-stream'
import {
  armFloatAbi,
  describeElf,
  describeExpected,
  elfProblems,
  parseElfHeader
} from '../src/docker/elf.js'
import { applyLayer, entryKey, ImageFs, type FsEntry } from '../src/docker/imageFs.js'
import { describeArchitecture, findEntrypoint } from '../src/docker/verify.js'

/** An ELF header: class (1|2), data (1 LSB|2 MSB), e_machine, e_flags. */
function elf(cls: 1 | 2, data: 1 | 2, machine: number, flags = 0): Buffer {
  const b = Buffer.alloc(64)
  b.writeUInt32BE(0x7f454c46, 0)
  b[4] = cls
  b[5] = data
  b[6] = 1
  const le = data === 1
  if (le) b.writeUInt16LE(machine, 18)
  else b.writeUInt16BE(machine, 18)
  const at = cls === 2 ? 48 : 36
  if (le) b.writeUInt32LE(flags, at)
  else b.writeUInt32BE(flags, at)
  return b
}

const X86_64 = elf(2, 1, 62)
const AARCH64 = elf(2, 1, 183)
const GO_ARM = elf(1, 1, 40, 0x5000002) // what Go's linker writes: EABI5, no float ABI
const ARM_HARD = elf(1, 1, 40, 0x5000402)
const ARM_SOFT = elf(1, 1, 40, 0x5000202)
const S390X = elf(2, 2, 22)
const I386 = elf(1, 1, 3)

describe('ELF headers', () => {
  it('reads the header of a real executable: this Node', () => {
    const fd = openSync(process.execPath, 'r')
    const b = Buffer.alloc(64)
    readSync(fd, b, 0, 64, 0)
    closeSync(fd)
    const h = parseElfHeader(b)
    const machine = { x64: 62, arm64: 183 }[process.arch as 'x64' | 'arm64']
    expect(h).toMatchObject({ bits: 64, endian: 'LSB', machine })
    expect(elfProblems(h!, process.arch === 'x64' ? 'linux/amd64' : 'linux/arm64')).toEqual([])
  })

  it.each([
    ['not ELF', Buffer.from('#!/bin/sh\necho hi\n'.padEnd(64))],
    ['too short', X86_64.subarray(0, 40)],
    ['a bad class', Buffer.concat([X86_64.subarray(0, 4), Buffer.from([9]), X86_64.subarray(5)])]
  ])('refuses %s', (_n, bytes) => {
    expect(parseElfHeader(bytes)).toBeUndefined()
  })

  it.each([
    [X86_64, 'ELF 64-bit LSB, EM_X86_64 (x86-64)'],
    [AARCH64, 'ELF 64-bit LSB, EM_AARCH64 (aarch64)'],
    [GO_ARM, 'ELF 32-bit LSB, EM_ARM (arm), EABI5, float ABI unspecified'],
    [ARM_HARD, 'ELF 32-bit LSB, EM_ARM (arm), EABI5, float ABI hard'],
    [S390X, 'ELF 64-bit MSB, EM_S390 (s390x)'],
    [elf(2, 1, 999), 'ELF 64-bit LSB, e_machine 999']
  ])('describes %#', (bytes, text) => {
    expect(describeElf(parseElfHeader(bytes)!)).toBe(text)
  })

  it('reads the ARM float ABI from e_flags', () => {
    expect([GO_ARM, ARM_HARD, ARM_SOFT].map(b => armFloatAbi(parseElfHeader(b)!))).toEqual([
      'unspecified',
      'hard',
      'soft'
    ])
  })

  it.each([
    ['linux/amd64', X86_64, []],
    ['linux/arm64', AARCH64, []],
    ['linux/arm64', X86_64, ['EM_X86_64, not EM_AARCH64']],
    ['linux/amd64', AARCH64, ['EM_AARCH64, not EM_X86_64']],
    ['linux/arm/v7', GO_ARM, []],
    ['linux/arm/v7', ARM_HARD, []],
    ['linux/arm/v7', ARM_SOFT, ['soft-float ABI, not hard-float for linux/arm/v7']],
    ['linux/arm/v5', ARM_HARD, ['hard-float ABI, not soft-float for linux/arm/v5']],
    ['linux/arm/v6', elf(1, 1, 40, 0x4000000), ['EABI version 4, not 5']],
    ['linux/arm/v7', AARCH64, ['ELF 64-bit, not 32-bit', 'EM_AARCH64, not EM_ARM']],
    ['linux/386', X86_64, ['ELF 64-bit, not 32-bit', 'EM_X86_64, not EM_386']],
    ['linux/386', I386, []],
    ['linux/s390x', S390X, []],
    ['linux/ppc64le', elf(2, 2, 21), ['MSB, not LSB']],
    ['linux/riscv64', elf(2, 1, 243), []],
    ['linux/unknownarch', X86_64, []]
  ])('%s against %#', (platform, bytes, problems) => {
    expect(elfProblems(parseElfHeader(bytes)!, platform)).toEqual(problems)
  })

  it('says what a platform needs', () => {
    expect(describeExpected('linux/arm64')).toBe('ELF 64-bit LSB, EM_AARCH64 (aarch64)')
    expect(describeExpected('linux/arm/v7')).toBe('ELF 32-bit LSB, EM_ARM (arm)')
  })
})

/** A gzipped tar layer of entries: a string is a file's content, `->x` a symlink, `=>x` a hard link, `/` a directory. */
async function layer(
  dir: string,
  name: string,
  entries: [string, string | Buffer][]
): Promise<string> {
  const p = pack()
  for (const [path, what] of entries) {
    if (Buffer.isBuffer(what)) p.entry({ name: path }, what)
    else if (what === '/') p.entry({ name: path, type: 'directory' })
    else if (what.startsWith('->'))
      p.entry({ name: path, type: 'symlink', linkname: what.slice(2) })
    else if (what.startsWith('=>')) p.entry({ name: path, type: 'link', linkname: what.slice(2) })
    else p.entry({ name: path }, what)
  }
  p.finalize()
  const chunks: Buffer[] = []
  for await (const c of p) chunks.push(Buffer.from(c as Uint8Array))
  const file = join(dir, name)
  writeFileSync(file, gzipSync(Buffer.concat(chunks)))
  return file
}

describe("an image's filesystem from its layers", () => {
  let dir: string
  let fs: ImageFs
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gia-test-layers-'))
    fs = await ImageFs.read([
      await layer(dir, 'l0', [
        ['./bin/', '/'],
        ['./bin/busybox', 'BUSYBOX'],
        ['./bin/sh', '->busybox'],
        ['./usr/bin/env', '=>bin/busybox'],
        ['./old/app', 'OLD'],
        ['./opaque/gone', 'GONE'],
        ['./app/run.sh', '#!/bin/sh\necho hi\n'],
        ['./app/py.sh', '#!/usr/bin/python3\n']
      ]),
      await layer(dir, 'l1', [
        ['old/.wh.app', ''],
        ['opaque/.wh..wh..opq', ''],
        ['opaque/kept', 'KEPT'],
        ['usr/local/bin/app', 'APP'],
        ['usr/local/bin/link', '->../../../../../usr/local/bin/app'],
        ['usr/local/bin/loop', '->loop'],
        ['srv', '->/usr/local']
      ])
    ])
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('stacks layers: whiteouts and opaque directories hide what is below', () => {
    expect(fs.entry('old/app')).toBeUndefined()
    expect(fs.entry('opaque/gone')).toBeUndefined()
    expect(fs.entry('opaque/kept')).toMatchObject({ type: 'file', layer: 1 })
    expect(fs.entry('bin/busybox')).toMatchObject({ type: 'file', layer: 0 })
  })

  it.each([
    ['/usr/local/bin/app', '/', 'usr/local/bin/app'],
    ['/usr/local/bin/link', '/', 'usr/local/bin/app'],
    ['/srv/bin/app', '/', 'usr/local/bin/app'],
    ['bin/app', '/srv', 'usr/local/bin/app'],
    ['/../../bin/sh', '/', 'bin/busybox'],
    ['/usr/local/bin/loop', '/', undefined]
  ])('resolves %s (from %s)', (path, from, key) => {
    expect(fs.resolve(path, from)).toBe(key)
  })

  it.each([
    ['app', '/usr/local/sbin:/usr/local/bin:/usr/bin', '/', '/usr/local/bin/app'],
    ['sh', '/usr/local/bin:/bin', '/', '/bin/busybox'],
    ['app', '/bin', '/', undefined],
    ['./bin/app', '', '/srv', '/usr/local/bin/app'],
    ['/usr/local/bin/app', '', '/home/nonroot', '/usr/local/bin/app'],
    ['/usr/local/bin/loop', '', '/', undefined]
  ])('finds the executable of %s in PATH %s', (argv0, path, wd, file) => {
    expect(fs.findExecutable(argv0, path, wd)).toBe(file)
  })

  it('reads a file and a hard link from their layers', async () => {
    expect((await fs.readFile('usr/local/bin/app')).toString()).toBe('APP')
    expect((await fs.readFile('usr/bin/env')).toString()).toBe('BUSYBOX')
    await expect(fs.readFile('bin/sh')).rejects.toThrow('/bin/sh is not a file in the image')
  })

  it('normalises archive names', () => {
    expect(['./usr/bin/', '/usr//bin', 'usr/bin', './'].map(entryKey)).toEqual([
      'usr/bin',
      'usr/bin',
      'usr/bin',
      ''
    ])
  })

  it('applies a whiteout of a directory to everything under it', () => {
    const below = new Map<string, FsEntry>([
      ['a', { type: 'directory', layer: 0 }],
      ['a/b', { type: 'file', layer: 0 }],
      ['ab', { type: 'file', layer: 0 }]
    ])
    applyLayer(below, [{ key: '.wh.a', entry: { type: 'file', layer: 1 } }])
    expect([...below.keys()]).toEqual(['ab'])
  })
})

describe('the line the log and the error show', () => {
  it('names image, platform, file, what was found and what was needed', () => {
    expect(
      describeArchitecture('reg/app', 'linux/arm64', {
        status: 'mismatch',
        file: '/usr/local/bin/app',
        found: 'ELF 64-bit LSB, EM_X86_64 (x86-64); Go binary for GOOS=linux GOARCH=amd64',
        expected: 'ELF 64-bit LSB, EM_AARCH64 (aarch64)',
        problems: ['EM_X86_64, not EM_AARCH64', 'Go GOARCH=amd64']
      })
    ).toBe(
      'reg/app linux/arm64: /usr/local/bin/app is ELF 64-bit LSB, EM_X86_64 (x86-64); Go binary for GOOS=linux GOARCH=amd64, not a linux/arm64 executable (EM_X86_64, not EM_AARCH64, Go GOARCH=amd64; linux/arm64 needs ELF 64-bit LSB, EM_AARCH64 (aarch64))'
    )
  })
})

describe("a platform's entrypoint in a saved image", () => {
  let layout: string
  const ARM64_BINARY = Buffer.concat([AARCH64, Buffer.from('rest of the binary')])
  beforeAll(async () => {
    layout = mkdtempSync(join(tmpdir(), 'gia-test-layout-'))
    const blobs = join(layout, 'blobs', 'sha256')
    mkdirSync(blobs, { recursive: true })
    await layer(blobs, 'layer', [
      ['bin/busybox', ARM64_BINARY],
      ['bin/sh', '->busybox'],
      ['app/start.sh', '#!/bin/sh -e\nexec /app/x\n'],
      ['app/run.py', '#!/usr/bin/python3\n'],
      ['app/data.txt', 'hello']
    ])
    const image = (name: string, config: object): void => {
      writeFileSync(join(blobs, `config-${name}`), JSON.stringify({ config }))
      writeFileSync(
        join(blobs, `manifest-${name}`),
        JSON.stringify({
          config: { digest: `sha256:config-${name}` },
          layers: [{ digest: 'sha256:layer' }]
        })
      )
    }
    image('elf', { Entrypoint: ['busybox'], Env: ['PATH=/bin'] })
    image('script', { Entrypoint: ['/app/start.sh'] })
    image('python', { Cmd: ['./run.py'], WorkingDir: '/app' })
    image('text', { Entrypoint: ['/app/data.txt'] })
    image('none', {})
    image('missing', { Entrypoint: ['/nope'] })
  })
  afterAll(() => rmSync(layout, { recursive: true, force: true }))

  it.each([
    [
      'elf',
      { status: 'verified', file: '/bin/busybox', found: 'ELF 64-bit LSB, EM_AARCH64 (aarch64)' }
    ],
    ['script', { status: 'verified', file: '/bin/busybox', script: '/app/start.sh' }],
    [
      'python',
      {
        status: 'not-checked',
        file: '/app/run.py',
        note: '/app/run.py is a script (#!/usr/bin/python3) and its interpreter is not in the image: not an ELF executable'
      }
    ],
    ['text', { status: 'not-checked', note: '/app/data.txt is not an ELF executable' }],
    ['none', { status: 'not-checked', note: 'the image has no ENTRYPOINT or CMD' }],
    ['missing', { status: 'not-checked', note: '/nope: no such file in the image' }]
  ])('%s', async (name, want) => {
    const found = await findEntrypoint(layout, `sha256:manifest-${name}`, 'linux/arm64')
    expect(found.result).toMatchObject(want)
  })

  it('finds the wrong machine', async () => {
    const found = await findEntrypoint(layout, 'sha256:manifest-elf', 'linux/amd64')
    expect(found.result).toMatchObject({
      status: 'mismatch',
      problems: ['EM_AARCH64, not EM_X86_64'],
      expected: 'ELF 64-bit LSB, EM_X86_64 (x86-64)'
    })
  })
})
