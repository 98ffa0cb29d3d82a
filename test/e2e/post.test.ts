/**
 * The post step cleans up after a main step that was cancelled mid-build (issue 10). The main
 * step logs in to the htpasswd registry (with a docker config of the test's own) and starts a
 * build whose RUN step sleeps; once BuildKit runs that step, the main step's whole process group
 * gets SIGKILL, as a cancelled job's runner does in the end. Then the post step runs with the
 * state the main step left, and must succeed, log out of the registry in that docker config,
 * remove the run's temporary directory, and remove a builder named in its state, while leaving
 * the builder it found (the engine's default) alone.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { release } from '../fixtures/events.js'
import { runAction, type ActionRun } from '../harness/runner.js'
import { authRegistry, requireBench, uniqueRepo } from './bench.js'

const MINUTES = 60_000

let run: ActionRun
const dockerConfig = mkdtempSync(join(tmpdir(), 'gia-post-docker-'))
const builder = `gia-e2e-post-${randomBytes(3).toString('hex')}`
let host = ''
/** What the main step had left when it was killed. */
const atKill: { auths: string[]; tempDirs: string[] } = { auths: [], tempDirs: [] }
const runnerTemp = mkdtempSync(join(tmpdir(), 'gia-post-runner-temp-'))

/** docker with the test's docker config. */
function docker(args: string[]): string {
  return execFileSync('docker', args, {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, DOCKER_CONFIG: dockerConfig }
  })
}

function auths(): string[] {
  const file = join(dockerConfig, 'config.json')
  return existsSync(file) ? Object.keys(JSON.parse(readFileSync(file, 'utf8')).auths ?? {}) : []
}

beforeAll(async () => {
  requireBench()
  const auth = authRegistry()
  host = auth.host
  // a builder the post step is told (through its state) the action created: not bootstrapped,
  // so it needs no image
  docker(['buildx', 'create', '--name', builder, '--driver', 'docker-container'])
  const ws = mkdtempSync(join(tmpdir(), 'gia-post-ws-'))
  writeFileSync(
    join(ws, 'Dockerfile'),
    'FROM 127.0.0.1:5000/mirror/golang:1.26\nRUN echo go-image-action-post-test && sleep 90\n'
  )
  const fx = release('v1.0.0')
  run = await runAction({
    ...fx,
    workspace: ws,
    inputs: {
      image: `${auth.host}/${uniqueRepo('post')}/slow`,
      platforms: 'linux/amd64',
      'go-gate': 'false',
      cache: 'false',
      push: 'false',
      'smoke-test': 'false',
      'registry-username': auth.user,
      'registry-password': auth.password
    },
    env: {
      ...fx.env,
      DOCKER_CONFIG: dockerConfig,
      RUNNER_TEMP: runnerTemp,
      STATE_builder: builder
    },
    killMain: {
      when: /RUN echo go-image-action-post-test/,
      signal: 'SIGKILL',
      before: () => {
        atKill.auths = auths()
        atKill.tempDirs = readdirSync(runnerTemp).filter(d => d.startsWith('go-image-action-'))
      }
    }
  })
}, 10 * MINUTES)

afterAll(() => {
  try {
    docker(['buildx', 'rm', builder])
  } catch {
    // removed by the post step, as it should be
  }
})

describe('the post step after a main step killed mid-build', () => {
  it('the main step was killed in the Build stage, logged in', () => {
    expect(run.main.exitCode).not.toBe(0)
    expect(run.main.stdout).toContain('::group::Build')
    expect(run.main.stdout).not.toContain('::endgroup::\n::group::Smoke test')
    expect(atKill.auths).toContain(host)
    expect(run.main.state['logins']).toBe(JSON.stringify([host]))
  })

  it('the post step succeeds, without an error', () => {
    expect(run.post?.exitCode).toBe(0)
    expect(run.post?.annotations.filter(a => a.command === 'error')).toEqual([])
  })

  it('logged out of the registry in the docker config the main step used', () => {
    expect(auths()).not.toContain(host)
  })

  it("removed the run's temporary directory", () => {
    const dir = run.main.state['tempDir']
    expect(atKill.tempDirs).toEqual([basename(dir)])
    expect(existsSync(dir)).toBe(false)
    expect(readdirSync(runnerTemp)).toEqual([])
  })

  it('removed the builder in its state, and left the default builder alone', () => {
    expect(() => docker(['buildx', 'inspect', builder])).toThrow()
    expect(docker(['buildx', 'inspect', 'default'])).toMatch(/Driver:\s+docker/)
  })
})
