/**
 * No data becomes a workflow command, an output line or an output key (issue 10). Every input and
 * every field of the event and the runner's environment the action reads is given, one at a time,
 * a value that tries every way in: newlines and carriage returns followed by `::` commands, the
 * legacy `##[` form, `%0A` escapes, and the heredoc delimiter of GITHUB_OUTPUT. A dry run of the
 * bundle (cheap: no engine) either refuses the value with one error naming where it came from, or
 * runs; either way stdout, read line by line as the runner reads it (`\r` ends a line too, leading
 * whitespace is dropped), holds only commands the action issues itself, and the outputs have the
 * keys and the number of lines of a run with a harmless value.
 */
import { beforeAll, describe, expect, it } from '@jest/globals'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runAction, type ActionRun } from '../harness/runner.js'
import {
  branchPush,
  dispatch,
  pullRequest,
  release,
  type EventFixture
} from '../fixtures/events.js'

/** What an attacker puts in a field. */
const EVIL = [
  'v1',
  '::warning::FORGED',
  '\r::add-mask::FORGED',
  '  ::set-output name=FORGED::1',
  '##[error]FORGED',
  '::stop-commands::FORGED%0A::error::FORGED',
  'ghadelimiter_00000000-0000-0000-0000-000000000000',
  'org.opencontainers.image.version=FORGED'
].join('\n')

const TOKEN = 'ghs_injectiontesttoken'
const PASSWORD = 'registry-pass-injection'
const COMMANDS = ['group', 'endgroup', 'error', 'warning', 'notice', 'debug', 'add-mask']

let workspace = ''

beforeAll(() => {
  workspace = mkdtempSync(join(tmpdir(), 'gia-inject-'))
  writeFileSync(join(workspace, 'Dockerfile'), 'FROM scratch\nCOPY app /app\nENTRYPOINT ["/app"]\n')
  mkdirSync(join(workspace, 'cmd', 'app'), { recursive: true })
})

/** One way data gets in: an event (and env), inputs, and where the value goes. */
interface Case {
  name: string
  fixture: () => EventFixture
  inputs?: Record<string, string>
  /** Puts the value into the event or the env. */
  set: (value: string, fx: EventFixture, inputs: Record<string, string>) => void
}

const input = (name: string): Case => ({
  name: `input ${name}`,
  fixture: release,
  set: (v, _fx, inputs) => {
    if (name === 'images') inputs['image'] = ''
    inputs[name] = v
  }
})
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Payload = Record<string, any>
const field = (name: string, fixture: () => EventFixture, set: (p: Payload, v: string) => void) =>
  ({ name: `payload ${name}`, fixture, set: (v, fx) => set(fx.payload, v) }) as Case
const env = (name: string, fixture: () => EventFixture = release): Case => ({
  name: `env ${name}`,
  fixture,
  set: (v, fx) => (fx.env[name] = v)
})

const INPUTS = [
  'image',
  'images',
  'context',
  'dockerfile',
  'platforms',
  'build-args',
  'push',
  'latest',
  'version',
  'dry-run',
  'go-gate',
  'go-test-args',
  'go-working-directory',
  'cache',
  'smoke-test',
  'smoke-args',
  'smoke-expect',
  'smoke-platforms',
  'qemu',
  'registry-username',
  'registry-password',
  'github-token'
]

const CASES: Case[] = [
  ...INPUTS.map(input),
  // values without control characters that still look like commands (accepted, printed)
  {
    name: 'input build-args value with :: and %0A',
    fixture: release,
    set: (_v, _fx, i) => (i['build-args'] = 'A=::warning::FORGED%0A::error::FORGED')
  },
  {
    name: 'input smoke-expect with ::',
    fixture: release,
    set: (_v, _fx, i) => (i['smoke-expect'] = '::add-mask::FORGED')
  },
  {
    name: 'an images item key (smoke-args list item)',
    fixture: release,
    set: (v, _fx, i) => (i['images'] = `- name: a\n  smoke-args: [${JSON.stringify(v)}]`)
  },
  field('action', release, (p, v) => (p.action = v)),
  field('release.tag_name', release, (p, v) => (p.release.tag_name = v)),
  field('release.published_at', release, (p, v) => (p.release.published_at = v)),
  field('release.created_at', release, (p, v) => {
    p.release.published_at = null
    p.release.created_at = v
  }),
  field('release.draft', release, (p, v) => (p.release.draft = v)),
  field('release.prerelease', release, (p, v) => (p.release.prerelease = v)),
  field('repository.description', release, (p, v) => (p.repository.description = v)),
  field('repository.license.spdx_id', release, (p, v) => (p.repository.license = { spdx_id: v })),
  field('repository.full_name', pullRequest, (p, v) => (p.repository.full_name = v)),
  field('head_commit.timestamp', branchPush, (p, v) => (p.head_commit.timestamp = v)),
  field('deleted', branchPush, (p, v) => (p.deleted = v)),
  field(
    'inputs.version',
    () => dispatch({ version: 'x' }),
    (p, v) => (p.inputs.version = v)
  ),
  field('number', pullRequest, (p, v) => (p.number = v)),
  field('pull_request.head.sha', pullRequest, (p, v) => (p.pull_request.head.sha = v)),
  field('pull_request.head.repo.fork', pullRequest, (p, v) => (p.pull_request.head.repo.fork = v)),
  field(
    'pull_request.head.repo.full_name',
    pullRequest,
    (p, v) => (p.pull_request.head.repo.full_name = v)
  ),
  field(
    'pull_request.base.repo.full_name',
    pullRequest,
    (p, v) => (p.pull_request.base.repo.full_name = v)
  ),
  env('GITHUB_EVENT_NAME'),
  env('GITHUB_SHA'),
  env('GITHUB_REF'),
  env('GITHUB_REF', branchPush),
  env('GITHUB_REPOSITORY'),
  env('GITHUB_SERVER_URL'),
  env('GITHUB_ACTOR'),
  env('GITHUB_RUN_ID'),
  env('RUNNER_ARCH'),
  {
    name: 'env CGO_ENABLED (printed in the plan of a runner build)',
    fixture: release,
    inputs: { image: '', images: '- name: ghcr.io/octo-org/app\n  main: ./cmd/app' },
    set: (v, fx) => (fx.env['CGO_ENABLED'] = v)
  }
]

async function runCase(c: Case, value: string): Promise<ActionRun> {
  const fx = c.fixture()
  const inputs: Record<string, string> = {
    image: 'ghcr.io/octo-org/app',
    'dry-run': 'true',
    'registry-username': 'octocat',
    'registry-password': PASSWORD,
    ...c.inputs
  }
  c.set(value, fx, inputs)
  return runAction({
    workspace,
    eventName: fx.eventName,
    payload: fx.payload,
    env: fx.env,
    inputs,
    githubToken: TOKEN,
    post: false
  })
}

/** stdout as the runner splits it: `\r\n`, `\n` and `\r` end a line; leading whitespace is dropped. */
function runnerLines(stdout: string): string[] {
  return stdout.split(/\r\n|\r|\n/).map(l => l.trimStart())
}

/**
 * Lines the runner would take for a command the action did not issue: the legacy `##[` form, a
 * command the action never uses, a mask of anything but the two secrets, or any command whose
 * message starts with the attacker's text.
 */
function forged(stdout: string, secrets: string[]): string[] {
  return runnerLines(stdout).filter(line => {
    if (line.startsWith('##[')) return true
    const m = /^::([A-Za-z-]+)(?: [^:]*)?::(.*)$/.exec(line)
    if (!m) return line.startsWith('::')
    const [, command, raw] = m
    const message = raw.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%')
    if (!COMMANDS.includes(command)) return true
    if (command === 'add-mask') return !secrets.includes(message)
    return message.startsWith('FORGED')
  })
}

/** The commands of a run, by name, in order (what the runner acts on). */
function commands(stdout: string): string[] {
  return runnerLines(stdout)
    .map(l => /^::([A-Za-z-]+)/.exec(l)?.[1])
    .filter((c): c is string => c !== undefined)
}

const lineCounts = (outputs: Record<string, string>): Record<string, number> =>
  Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, v.split('\n').length]))

describe('no data becomes a workflow command, an output key or an output line', () => {
  it.concurrent.each(CASES.map(c => [c.name, c] as const))(
    '%s',
    async (_name, c) => {
      const evil = await runCase(c, EVIL)
      const secrets = [TOKEN, PASSWORD, EVIL]
      expect(forged(evil.main.stdout, secrets)).toEqual([])
      expect(evil.main.stdout).not.toMatch(/(^|[\r\n])\s*::(set-output|save-state|echo)/)
      if (evil.failed) {
        // refused in the plan: one error naming where the value came from, nothing else
        expect(commands(evil.main.stdout).filter(x => x !== 'add-mask')).toEqual(['error'])
        expect(evil.main.outputs).toEqual({})
        return
      }
      // accepted: the run does what a harmless value does, command for command, and the outputs
      // have the same keys and lines
      const harmless = await runCase(c, 'v1')
      expect(harmless.failed).toBe(false)
      expect(commands(evil.main.stdout)).toEqual(commands(harmless.main.stdout))
      // the same keys; no more lines (a licence that is no SPDX id is left out of the labels)
      expect(Object.keys(evil.main.outputs)).toEqual(Object.keys(harmless.main.outputs))
      const lines = lineCounts(harmless.main.outputs)
      for (const [key, n] of Object.entries(lineCounts(evil.main.outputs)))
        expect([key, n <= lines[key]]).toEqual([key, true])
      for (const line of evil.main.outputs['labels'].split('\n'))
        expect(line).toMatch(/^org\.opencontainers\.image\.[a-z]+=/)
      expect(evil.main.outputs['labels']).not.toMatch(/[\r\n]org\.opencontainers\.image\.version=F/)
      expect(evil.main.summary.split('\n').length).toBe(harmless.main.summary.split('\n').length)
    },
    60_000
  )
})
