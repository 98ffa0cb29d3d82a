/**
 * Go build information read from a binary's bytes against `go version -m` on the same binaries:
 * real builds, little- and big-endian, 64- and 32-bit.
 */
import { describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { splitGoVersionM } from '../src/go/build.js'
import { readGoBuildInfo } from '../src/go/buildInfo.js'

describe('Go build information without a go process', () => {
  it('reads what go version -m reads, for amd64 (v3), arm (v6) and s390x (big-endian)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gia-buildinfo-'))
    writeFileSync(join(dir, 'go.mod'), 'module example.com/bi\n\ngo 1.26\n')
    writeFileSync(join(dir, 'main.go'), 'package main\n\nfunc main() {}\n')
    const targets: Record<string, string>[] = [
      { GOARCH: 'amd64', GOAMD64: 'v3' },
      { GOARCH: 'arm', GOARM: '6' },
      { GOARCH: 's390x' }
    ]
    const files = targets.map(t => join(dir, `bin-${Object.values(t).join('-')}`))
    for (const [i, t] of targets.entries())
      execFileSync('go', ['build', '-trimpath', '-ldflags=-s -w', '-o', files[i], '.'], {
        cwd: dir,
        env: { ...process.env, ...t, GOOS: 'linux', CGO_ENABLED: '0', GOFLAGS: '' }
      })
    const text = execFileSync('go', ['version', '-m', ...files], { cwd: dir, encoding: 'utf8' })
    const sections = splitGoVersionM(text, files)
    for (const [i, file] of files.entries()) {
      const info = readGoBuildInfo(readFileSync(file))
      expect(info).toEqual({
        version: expect.stringMatching(/^go1\./),
        section: sections.get(file)
      })
      if (typeof info === 'object') {
        expect(text).toContain(`${file}: ${info.version}\n`)
        for (const [k, v] of Object.entries(targets[i]))
          expect(info.section).toContain(`\tbuild\t${k}=${v}`)
      }
    }
  }, 300_000)

  it('finds none in a file that is not a Go binary, or in a magic followed by no valid blob', () => {
    expect(readGoBuildInfo(readFileSync('/bin/sh'))).toBeUndefined()
    const magic = Buffer.from('\xff Go buildinf:', 'latin1')
    // a pointer size that is not 4 or 8, then a valid header with a string that runs past the end
    const junk = Buffer.concat([magic, Buffer.from([3, 2]), Buffer.alloc(16)])
    const cut = Buffer.concat([magic, Buffer.from([8, 2]), Buffer.alloc(16), Buffer.from([100])])
    expect(readGoBuildInfo(Buffer.concat([junk, cut]))).toBeUndefined()
  })

  it('leaves a binary of before Go 1.18 (pointers, not strings) to go version -m', () => {
    const magic = Buffer.from('\xff Go buildinf:', 'latin1')
    expect(readGoBuildInfo(Buffer.concat([magic, Buffer.from([8, 0]), Buffer.alloc(32)]))).toBe(
      'old'
    )
  })
})
