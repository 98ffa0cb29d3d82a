/**
 * The gate's own checks around its build settings, with the real Go on small modules.
 */
import { describe, expect, it, jest } from '@jest/globals'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { goGate } from '../src/go/gate.js'

const printed: string[] = []
jest.spyOn(process.stdout, 'write').mockImplementation(chunk => {
  printed.push(String(chunk))
  return true
})

/** A workspace with a module: a main package, and `cpkg` made only of cgo files when asked. */
function module(withCgoOnly: boolean): string {
  const ws = mkdtempSync(join(tmpdir(), 'gia-gate-'))
  writeFileSync(join(ws, 'go.mod'), 'module example.com/m\n\ngo 1.26\n')
  writeFileSync(join(ws, 'main.go'), 'package main\n\nfunc main() {}\n')
  if (withCgoOnly) {
    mkdirSync(join(ws, 'cpkg'))
    writeFileSync(
      join(ws, 'cpkg', 'c.go'),
      'package cpkg\n\n// int two() { return 2; }\nimport "C"\n\n// Two is 2.\nfunc Two() int { return int(C.two()) }\n'
    )
  }
  return ws
}

async function gate(ws: string, env: Record<string, string>): Promise<string[]> {
  printed.length = 0
  await goGate(ws, ws, { testArgs: ['./...'], buildFlags: ['-trimpath'], env })
  return printed
    .join('')
    .split('\n')
    .filter(l => l.startsWith('::warning'))
}

describe('the gate with the runner builds’ CGO_ENABLED=0', () => {
  it('warns, naming them, about packages it leaves out for having only cgo files', async () => {
    const warnings = await gate(module(true), { CGO_ENABLED: '0' })
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toContain(
      'go-gate: with CGO_ENABLED=0, as the runner builds, go vet and go test leave out cpkg (only cgo files there)'
    )
  }, 120_000)

  it('says nothing when every package is in, or when the job keeps its own cgo setting', async () => {
    expect(await gate(module(false), { CGO_ENABLED: '0' })).toEqual([])
    expect(await gate(module(true), {})).toEqual([])
  }, 120_000)
})
