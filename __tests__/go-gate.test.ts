/**
 * The gate's own checks around its build settings, with the real Go on small modules.
 */
import { afterEach, describe, expect, it, jest } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
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

/**
 * A `go` first on PATH that notes when each of its commands starts and ends (nanoseconds) and
 * runs the real one; `go vet` sleeps `slowVet` seconds first when asked. A command killed before
 * its end notes no end.
 */
function goWrapper(slowVet = 0): { env: Record<string, string>; events: () => string[][] } {
  const bin = mkdtempSync(join(tmpdir(), 'gia-gate-go-'))
  const log = join(bin, 'log')
  const real = execFileSync('sh', ['-c', 'command -v go'], { encoding: 'utf8' }).trim()
  writeFileSync(
    join(bin, 'go'),
    [
      '#!/bin/sh',
      `echo "start $1 $(date +%s%N)" >> ${log}`,
      slowVet ? `[ "$1" = vet ] && sleep ${slowVet}` : '',
      `${real} "$@"; rc=$?`,
      `echo "end $1 $(date +%s%N)" >> ${log}`,
      'exit $rc',
      ''
    ].join('\n'),
    { mode: 0o755 }
  )
  const path = `${bin}:${process.env.PATH ?? ''}`
  return {
    env: { PATH: path },
    events: () =>
      (existsSync(log) ? readFileSync(log, 'utf8') : '')
        .split('\n')
        .filter(Boolean)
        .map(l => l.split(' '))
  }
}

/** When the wrapped `go <command>` started and ended (ns; undefined when it did not). */
function span(events: string[][], command: string): { start?: number; end?: number } {
  const at = (what: string): number | undefined => {
    const e = events.find(x => x[0] === what && x[1] === command)
    return e ? Number(e[2]) : undefined
  }
  return { start: at('start'), end: at('end') }
}

describe('the gate runs its steps at once, its log in order', () => {
  const savedPath = process.env.PATH
  afterEach(() => {
    process.env.PATH = savedPath
  })

  async function run(
    ws: string,
    slowVet: number,
    overlap: { testBesideVet?: boolean }
  ): Promise<{ error?: Error; log: string; events: string[][]; ms: number }> {
    const go = goWrapper(slowVet)
    process.env.PATH = go.env.PATH
    printed.length = 0
    const started = Date.now()
    const error = await goGate(
      ws,
      ws,
      { testArgs: ['./...'], buildFlags: ['-trimpath'], env: {} },
      undefined,
      overlap
    ).then(
      () => undefined,
      (e: unknown) => e as Error
    )
    return { error, log: printed.join(''), events: go.events(), ms: Date.now() - started }
  }

  /** The lines of the log that are not fenced output: the gate's own, in order. */
  const own = (log: string): string[] =>
    log.split('\n').filter(l => /^(\[command\]|gofmt|go version|::error)/.test(l))

  it('with the packages compiled, go test runs beside go vet; the log is gofmt, vet, test', async () => {
    const r = await run(module(false), 2, { testBesideVet: true })
    expect(r.error).toBeUndefined()
    const vet = span(r.events, 'vet')
    const test = span(r.events, 'test')
    expect(test.start).toBeLessThan(vet.end as number)
    expect(own(r.log).map(l => l.replace(/ .*/, ''))).toEqual([
      'go',
      'gofmt:',
      '[command]go',
      '[command]go'
    ])
    expect(own(r.log)[2]).toMatch(/^\[command\]go vet /)
    expect(own(r.log)[3]).toMatch(/^\[command\]go test /)
  }, 120_000)

  it('without, go test starts once go vet has ended', async () => {
    const r = await run(module(false), 1, {})
    expect(r.error).toBeUndefined()
    expect(span(r.events, 'test').start).toBeGreaterThan(span(r.events, 'vet').end as number)
  }, 120_000)

  it('an unformatted file fails the gate at once: go vet and go test are stopped and print nothing', async () => {
    const ws = module(false)
    writeFileSync(join(ws, 'main.go'), 'package main\n\nfunc main() {  }\n')
    const r = await run(ws, 30, { testBesideVet: true })
    expect(r.error?.message).toBe('go-gate: gofmt: 1 file(s) not formatted: main.go')
    expect(r.ms).toBeLessThan(20_000)
    // go vet was started beside gofmt, and killed in its sleep
    expect(span(r.events, 'vet')).toEqual({ start: expect.any(Number), end: undefined })
    expect(r.log).not.toMatch(/\[command\]go (vet|test)/)
    expect(own(r.log).filter(l => l.startsWith('::error'))).toHaveLength(1)
  }, 120_000)

  it('a go vet finding stops go test beside it, whose output is not printed', async () => {
    const ws = module(false)
    writeFileSync(
      join(ws, 'main.go'),
      'package main\n\nimport "fmt"\n\nfunc main() { fmt.Printf("%d\\n", "x") }\n'
    )
    writeFileSync(
      join(ws, 'main_test.go'),
      'package main\n\nimport (\n\t"testing"\n\t"time"\n)\n\nfunc TestSlow(t *testing.T) { time.Sleep(30 * time.Second) }\n'
    )
    const r = await run(ws, 0, { testBesideVet: true })
    expect(r.error?.message).toMatch(/^go-gate: go vet failed:/)
    expect(r.ms).toBeLessThan(25_000)
    expect(span(r.events, 'test')).toEqual({ start: expect.any(Number), end: undefined })
    expect(r.log).toMatch(/\[command\]go vet /)
    expect(r.log).not.toMatch(/\[command\]go test /)
  }, 120_000)
})
