/**
 * The Go gate for real: the bundle runs gofmt, go vet and go test on a broken copy of
 * examples/hello, which lives in a subdirectory of the workspace (go-working-directory: app), so
 * the annotations must name workspace-relative paths, not Go's.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startCacheServer } from '../cache-server/server.js'
import { GO_CACHE_PARTS } from '../../src/go/cache.js'
import { release } from '../fixtures/events.js'
import { ROOT, runAction, type ActionRun, type WorkflowCommand } from '../harness/runner.js'
import { REGISTRY, registryTags, removeImages, requireBench, tagsOf, uniqueRepo } from './bench.js'

const MINUTES = 60_000

beforeAll(() => requireBench())

/** Images a test loaded into the engine, removed at the end. */
const loaded: string[] = []
afterAll(() => {
  removeImages(loaded)
})

/** A workspace holding examples/hello in app/, with `edit` applied to app/<file>. */
function workspace(edits: Record<string, (text: string) => string> = {}): string {
  const ws = mkdtempSync(join(tmpdir(), 'gia-e2e-gate-'))
  cpSync(join(ROOT, 'examples', 'hello'), join(ws, 'app'), { recursive: true })
  for (const [file, edit] of Object.entries(edits)) {
    const path = join(ws, 'app', file)
    const before = readFileSync(path, 'utf8')
    const after = edit(before)
    if (after === before) throw new Error(`the edit of ${file} changed nothing`)
    writeFileSync(path, after)
  }
  return ws
}

/** The 1-based line of the first line of app/<file> that contains `text`. */
function lineOf(ws: string, file: string, text: string): number {
  const i = readFileSync(join(ws, 'app', file), 'utf8')
    .split('\n')
    .findIndex(l => l.includes(text))
  if (i < 0) throw new Error(`${text} is not in ${file}`)
  return i + 1
}

function inputs(repo: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    image: `${REGISTRY}/${repo}/hello-cli`,
    context: 'app',
    dockerfile: 'cmd/hello-cli/Dockerfile',
    'go-working-directory': 'app',
    platforms: 'linux/amd64',
    cache: 'false',
    ...extra
  }
}

function stages(r: ActionRun): Record<string, string> {
  const list = JSON.parse(r.main.outputs.metadata).stages as { stage: string; status: string }[]
  return Object.fromEntries(list.map(s => [s.stage, s.status]))
}

function errors(r: ActionRun): WorkflowCommand[] {
  return r.main.annotations.filter(a => a.command === 'error')
}

/**
 * The stages that may have run when the gate fails: those before it, and those beside it (the
 * Engine stage's read-only docker questions, QEMU, the runner builds' `go build`, the images the
 * action writes and the smoke tests, each once what it needs is there, from the start of the run).
 */
const UP_TO_THE_GATE = [
  'Engine',
  'Go cache',
  'Go build',
  'Write images',
  'Smoke test',
  'QEMU',
  'Go gate'
]

/**
 * The gate failed, and nothing after it ran: no builder, no build, no push; the smoke test, which
 * waited beside for the Dockerfile build, is reported stopped, not failed.
 */
function stoppedAtTheGate(r: ActionRun): void {
  expect(r.main.exitCode).toBe(1)
  expect(stages(r)['Go gate']).toBe('failed')
  expect(Object.keys(stages(r)).filter(s => !UP_TO_THE_GATE.includes(s))).toEqual([])
  expect(stages(r)['Smoke test']).toBe('stopped')
  expect(r.log).not.toMatch(/docker buildx build/)
  expect(r.main.outputs.push).toBe('false')
}

const GREET = 'internal/greet/greet.go'
const GREET_TEST = 'internal/greet/greet_test.go'
const BUILDINFO = 'internal/buildinfo/buildinfo.go'

/** Joins the parameters of Greeting without a space: valid Go that gofmt rewrites. */
const misformat = (t: string): string =>
  t.replace('func Greeting(name, lang string) string {', 'func Greeting(name,lang string) string {')

describe('the Go gate stops a broken tree before any build', () => {
  it(
    'a gofmt violation: an error annotation naming the workspace-relative file, and no build',
    async () => {
      const repo = uniqueRepo('gofmt')
      const r = await runAction({
        ...release('v1.0.0'),
        workspace: workspace({ [GREET]: misformat }),
        inputs: inputs(repo)
      })
      stoppedAtTheGate(r)
      const errs = errors(r)
      expect(errs[0]).toEqual({
        command: 'error',
        properties: { title: 'gofmt', file: `app/${GREET}` },
        message: 'not gofmt-formatted: run gofmt -w'
      })
      // one file annotation: the well-formatted files are not named
      expect(errs.filter(a => a.properties.file)).toHaveLength(1)
      expect(errs[errs.length - 1].message).toBe(
        `go-gate: gofmt: 1 file(s) not formatted: app/${GREET}`
      )
      expect(await registryTags(REGISTRY, `${repo}/hello-cli`)).toEqual([])
    },
    5 * MINUTES
  )

  it(
    'a file gofmt cannot parse: an annotation with its file and line, and no build',
    async () => {
      const ws = workspace({ [GREET]: t => `${t}\nfunc broken( {\n}\n` })
      const r = await runAction({
        ...release('v1.0.0'),
        workspace: ws,
        inputs: inputs(uniqueRepo('syntax'))
      })
      stoppedAtTheGate(r)
      expect(errors(r)[0]).toMatchObject({
        properties: {
          title: 'gofmt',
          file: `app/${GREET}`,
          line: String(lineOf(ws, GREET, 'func broken('))
        },
        message: expect.stringContaining('expected')
      })
      expect(errors(r)[errors(r).length - 1].message).toMatch(
        new RegExp(`^go-gate: gofmt: 1 file\\(s\\) with syntax errors \\(app/${GREET}\\):\n`)
      )
    },
    5 * MINUTES
  )

  it(
    'a go vet finding: an annotation with file, line and column',
    async () => {
      const ws = workspace({
        [BUILDINFO]: t => `${t}\nfunc vetMe() string { return fmt.Sprintf("%d", "not a number") }\n`
      })
      const r = await runAction({
        ...release('v1.0.0'),
        workspace: ws,
        inputs: inputs(uniqueRepo('vet'))
      })
      stoppedAtTheGate(r)
      const line = String(lineOf(ws, BUILDINFO, 'func vetMe()'))
      expect(errors(r)[0]).toEqual({
        command: 'error',
        properties: {
          title: 'go vet',
          file: `app/${BUILDINFO}`,
          line,
          col: expect.stringMatching(/^\d+$/)
        },
        message: 'fmt.Sprintf format %d has arg "not a number" of wrong type string'
      })
      expect(errors(r)[errors(r).length - 1].message).toMatch(/^go-gate: go vet failed:/)
    },
    5 * MINUTES
  )

  it(
    'a compile error: an annotation with file and line',
    async () => {
      const ws = workspace({ [GREET]: t => `${t}\nvar notAnInt int = "text"\n` })
      const r = await runAction({
        ...release('v1.0.0'),
        workspace: ws,
        inputs: inputs(uniqueRepo('compile'))
      })
      stoppedAtTheGate(r)
      expect(errors(r)[0]).toMatchObject({
        properties: { file: `app/${GREET}`, line: String(lineOf(ws, GREET, 'var notAnInt')) },
        message: expect.stringContaining('cannot use "text"')
      })
    },
    5 * MINUTES
  )

  it(
    'a failing test on a release: an annotation with file and line, the run fails, nothing is pushed, no Go cache is saved',
    async () => {
      const repo = uniqueRepo('gotest')
      const ws = workspace({
        [GREET_TEST]: t =>
          t.replace('{"gopher", "en", "Hello, Gopher!"}', '{"gopher", "en", "Hello, Gopher?"}')
      })
      const dir = mkdtempSync(join(tmpdir(), 'gia-e2e-gate-cache-'))
      const server = await startCacheServer({ dir })
      const fx = release('v1.0.0')
      let r: ActionRun
      try {
        r = await runAction({
          ...fx,
          workspace: ws,
          // a fresh runner's empty GOCACHE: the machine's may already hold this key (and say so
          // in its note), and then nothing would be looked up
          env: { ...fx.env, ...server.env(), GOCACHE: join(dir, 'gocache') },
          inputs: inputs(repo, { cache: 'true' })
        })
        // the Go caches were looked up, and the failed job saved nothing
        expect(server.stats().v2.lookups).toBe(GO_CACHE_PARTS)
        expect(server.stats().keys).toEqual([])
      } finally {
        await server.stop()
        rmSync(dir, { recursive: true, force: true })
      }
      stoppedAtTheGate(r)
      expect(r.post?.exitCode).toBe(0)
      expect(r.post?.stdout).not.toContain('Go cache: saved')
      // the `t.Errorf` line, in the test file go test names without its directory
      expect(errors(r)[0]).toEqual({
        command: 'error',
        properties: {
          title: 'go test',
          file: `app/${GREET_TEST}`,
          line: String(lineOf(ws, GREET_TEST, 't.Errorf('))
        },
        message: 'Greeting("gopher", "en") = "Hello, Gopher!", want "Hello, Gopher?"'
      })
      expect(errors(r)[errors(r).length - 1].message).toMatch(
        /^go-gate: go test failed:[\s\S]*FAIL\texample\.com\/hello\/internal\/greet/
      )
      expect(await registryTags(REGISTRY, `${repo}/hello-cli`)).toEqual([])
    },
    5 * MINUTES
  )
})

it(
  'go-gate: false skips the gate: a gofmt violation then builds, smoke-tests and publishes',
  async () => {
    const repo = uniqueRepo('nogate')
    const r = await runAction({
      ...release('v1.0.0'),
      workspace: workspace({ [GREET]: misformat }),
      inputs: inputs(repo, { 'go-gate': 'false' })
    })
    loaded.push(...tagsOf(r))
    expect(errors(r)).toEqual([])
    expect(r.main.exitCode).toBe(0)
    expect(stages(r)).toMatchObject({
      'Go cache': 'skipped',
      'Go gate': 'skipped',
      Build: 'ok',
      'Smoke test': 'ok',
      Push: 'ok'
    })
    expect(r.log).not.toMatch(/\[command\]\S*(gofmt|go vet|go test)/)
    expect(await registryTags(REGISTRY, `${repo}/hello-cli`)).toEqual(['1.0.0', 'latest'])
  },
  10 * MINUTES
)
