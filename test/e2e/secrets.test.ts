/**
 * Secrets stay with the action (issue 10). One real run of the bundle on examples/envprobe, with
 * registry credentials for the htpasswd registry, a github token, the runner's tokens and a few
 * secret-named variables in the job's environment:
 * - the gate's `go test` runs a test that reads its environment (probe_test.go), and every tool
 *   `go` runs, in the gate and in the runner build, goes through a -toolexec probe
 *   (toolexec-probe.sh) that records the variables it sees: none of the withheld ones are there,
 *   the job's own variable is;
 * - no process's command line ever holds the password (`ps` is sampled all through the run) and
 *   docker login reads it from stdin.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFile } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { release } from '../fixtures/events.js'
import { runAction, type ActionRun } from '../harness/runner.js'
import {
  authRegistry,
  exampleWorkspace,
  removeImages,
  requireBench,
  tagsOf,
  uniqueRepo
} from './bench.js'

const MINUTES = 60_000
/** What a repository's code must not see, as the probe's test matches it. */
const WITHHELD =
  /^(INPUT_|STATE_|ACTIONS_)|^GITHUB_(OUTPUT|ENV|PATH|STATE|STEP_SUMMARY|TOKEN)$|TOKEN|PASSWORD|PASSWD|SECRET/i

let run: ActionRun
let probeDir = ''
let password = ''
const commandLines = new Set<string>()

beforeAll(async () => {
  requireBench()
  const auth = authRegistry()
  password = auth.password
  const ws = exampleWorkspace('envprobe')
  probeDir = mkdtempSync(join(tmpdir(), 'gia-envprobe-'))
  const sampling = sampleCommandLines(commandLines)
  try {
    run = await runAction({
      ...release('v1.0.0'),
      workspace: ws,
      inputs: {
        images: `- name: ${auth.host}/${uniqueRepo('secrets')}/envprobe\n  main: .\n  binary: envprobe\n  base-image: 127.0.0.1:5000/mirror/static:nonroot`,
        platforms: 'linux/amd64',
        push: 'false',
        cache: 'false',
        'registry-username': auth.user,
        'registry-password': auth.password
      },
      githubToken: 'ghs_secretsprobetoken',
      env: {
        ...release('v1.0.0').env,
        ACTIONS_RUNTIME_TOKEN: 'runtime-token-probe',
        ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'id-token-probe',
        ACTIONS_ID_TOKEN_REQUEST_URL: 'https://id.example/token',
        GITHUB_TOKEN: 'ghs_envtokenprobe',
        NPM_TOKEN: 'npm-probe',
        DB_PASSWORD: 'db-probe',
        DEPLOY_SECRET: 'deploy-probe',
        // the job's own settings reach its tests
        ENVPROBE_OUT: probeDir,
        ENVPROBE_KEEP: 'kept',
        GOFLAGS: `-toolexec=${join(ws, 'toolexec-probe.sh')}`
      }
    })
  } finally {
    sampling.stop()
  }
}, 15 * MINUTES)

afterAll(() => removeImages(tagsOf(run)))

/** `ps -eo args` every 100 ms until stopped, every line kept. */
function sampleCommandLines(into: Set<string>): { stop: () => void } {
  let stopped = false
  const tick = (): void => {
    if (stopped) return
    execFile('ps', ['-eo', 'args'], { maxBuffer: 16 << 20 }, (_e, out) => {
      for (const line of String(out ?? '').split('\n')) into.add(line)
      setTimeout(tick, 100)
    })
  }
  tick()
  return { stop: () => (stopped = true) }
}

/** The stage statuses of the run, by name. */
function stages(r: ActionRun): Record<string, string> {
  const list = JSON.parse(r.main.outputs.metadata).stages as { stage: string; status: string }[]
  return Object.fromEntries(list.map(s => [s.stage, s.status]))
}

/** What each probe recorded: the file, the go command it ran under, the variable names. */
function probes(): { file: string; parent: string; names: string[] }[] {
  return readdirSync(probeDir).map(file => {
    const [first, ...rest] = readFileSync(join(probeDir, file), 'utf8').split('\n')
    const names = file === 'test.txt' ? [first, ...rest] : rest
    return { file, parent: file === 'test.txt' ? 'go test' : first, names: names.filter(Boolean) }
  })
}

describe('repository code gets no secret', () => {
  it('the run passed the gate, built on the runner, logged in, built and smoke-tested', () => {
    expect(run.main.annotations.filter(a => a.command === 'error')).toEqual([])
    expect(stages(run)).toMatchObject({
      'Go gate': 'ok',
      'Go build': 'ok',
      Login: 'ok',
      Build: 'ok',
      'Smoke test': 'ok'
    })
  })

  it("go test's own code read no input, token, file-command path or secret-named variable", () => {
    const test = probes().find(p => p.file === 'test.txt')
    expect(test).toBeDefined()
    expect(test?.names.filter(n => WITHHELD.test(n))).toEqual([])
    expect(test?.names).toEqual(expect.arrayContaining(['ENVPROBE_KEEP', 'GOFLAGS', 'PATH']))
  })

  it('neither did any tool go ran, in go vet, go test and the runner go build', () => {
    const tools = probes().filter(p => p.file.startsWith('toolexec-'))
    const parents = tools.map(p => p.parent)
    expect(parents.some(p => / vet /.test(p))).toBe(true)
    expect(parents.some(p => / test /.test(p))).toBe(true)
    expect(parents.some(p => / build .*-trimpath/.test(p))).toBe(true)
    for (const p of tools) {
      expect([p.parent, p.names.filter(n => WITHHELD.test(n))]).toEqual([p.parent, []])
      expect(p.names).toContain('ENVPROBE_KEEP')
    }
  })

  it('no command line held the password; docker login read it from stdin', () => {
    expect(commandLines.size).toBeGreaterThan(10)
    expect([...commandLines].filter(l => l.includes(password))).toEqual([])
    expect(run.log).toMatch(
      /\[command\].*docker login --username \S+ --password-stdin 127\.0\.0\.1:5001/
    )
    expect(run.log.replace(/^::add-mask::.*$/gm, '')).not.toContain(password)
  })
})
