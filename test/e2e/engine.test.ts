/**
 * The engine requirement for real: a second dockerd with the classic image store (the default
 * before Docker 29, and what a runner's Docker may still use) on a socket of its own. The action
 * must stop at its Engine stage with an error that names the store and the fix, before any build.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals'
import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { release } from '../fixtures/events.js'
import { runAction } from '../harness/runner.js'
import { exampleWorkspace, REGISTRY, registryTags, requireBench, uniqueRepo } from './bench.js'

const MINUTES = 60_000
const dir = mkdtempSync(join(tmpdir(), 'gia-e2e-classic-'))
const host = `unix://${join(dir, 'docker.sock')}`
/** A bridge of the second daemon's own: `--bridge none` would make it delete the bench's docker0. */
const bridge = `giacl${randomBytes(3).toString('hex')}`
let dockerd: ChildProcess | undefined

/** The bench's dockerd (scripts/bench-up.sh unpacks it under GIA_BENCH_PREFIX). */
function dockerdPath(): string {
  const env = readFileSync('/var/lib/gia-bench/bench.env', 'utf8')
  const prefix = /^GIA_BENCH_PREFIX=(.*)$/m.exec(env)?.[1] ?? '/opt/gia-bench'
  return join(prefix, 'usr', 'sbin', 'dockerd')
}

function answers(): boolean {
  try {
    execFileSync('docker', ['--host', host, 'version'], { stdio: 'pipe', timeout: 5_000 })
    return true
  } catch {
    return false
  }
}

beforeAll(async () => {
  requireBench()
  writeFileSync(join(dir, 'daemon.json'), '{"features": {"containerd-snapshotter": false}}\n')
  const bin = dockerdPath()
  if (!existsSync(bin)) throw new Error(`no dockerd at ${bin}: run scripts/bench-up.sh`)
  execFileSync('ip', ['link', 'add', bridge, 'type', 'bridge'])
  execFileSync('ip', ['addr', 'add', '172.31.254.1/24', 'dev', bridge])
  execFileSync('ip', ['link', 'set', bridge, 'up'])
  dockerd = spawn(
    bin,
    [
      ...['--config-file', join(dir, 'daemon.json'), '--host', host],
      ...['--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec')],
      ...['--pidfile', join(dir, 'docker.pid')],
      // the bench's containerd, in namespaces of this daemon's own
      ...['--containerd', '/run/containerd/containerd.sock'],
      ...['--containerd-namespace', 'gia-e2e-classic'],
      ...['--containerd-plugins-namespace', 'gia-e2e-classic-plugins'],
      // its own bridge and no iptables rules: the bench's network stays as it is
      ...['--bridge', bridge, '--iptables=false', '--ip6tables=false']
    ],
    {
      stdio: ['ignore', 'ignore', 'ignore'],
      env: { ...process.env, PATH: `${dirname(bin)}:${process.env['PATH']}` }
    }
  )
  const deadline = Date.now() + 60_000
  while (!answers()) {
    if (Date.now() > deadline || dockerd.exitCode !== null)
      throw new Error(`the classic-store dockerd did not answer on ${host}`)
    await new Promise(r => setTimeout(r, 500))
  }
  const info = execFileSync('docker', [
    '--host',
    host,
    'info',
    '--format',
    '{{json .DriverStatus}}'
  ])
  expect(info.toString()).not.toContain('io.containerd.snapshotter')
}, 2 * MINUTES)

afterAll(async () => {
  if (dockerd && dockerd.exitCode === null) {
    const exited = new Promise(r => dockerd?.once('exit', r))
    dockerd.kill('SIGTERM')
    await exited
  }
  execFileSync('ip', ['link', 'del', bridge], { stdio: 'pipe' })
  rmSync(dir, { recursive: true, force: true })
}, 2 * MINUTES)

it(
  'stops at the Engine stage on the classic image store, naming the store and the fix; nothing is built',
  async () => {
    const repo = uniqueRepo('classic')
    const fx = release('v1.0.0')
    const r = await runAction({
      ...fx,
      workspace: exampleWorkspace('hello'),
      env: { ...fx.env, DOCKER_HOST: host },
      inputs: {
        image: `${REGISTRY}/${repo}/hello-cli`,
        dockerfile: 'cmd/hello-cli/Dockerfile',
        platforms: 'linux/amd64,linux/arm64',
        'go-gate': 'false',
        cache: 'false'
      }
    })
    expect(r.main.exitCode).toBe(1)
    const stages = JSON.parse(r.main.outputs.metadata).stages as { stage: string; status: string }[]
    expect(stages.find(s => s.stage === 'Engine')?.status).toBe('failed')
    for (const later of ['QEMU', 'Builder', 'Build', 'Smoke test', 'Push'])
      expect(stages.find(s => s.stage === later)).toBeUndefined()
    const errors = r.main.annotations.filter(a => a.command === 'error').map(a => a.message)
    expect(errors).toEqual([
      expect.stringMatching(
        /the engine uses the classic image store, which cannot hold a multi-platform image to test before pushing; enable the containerd image store \("features": \{"containerd-snapshotter": true\} in daemon\.json/
      )
    ])
    expect(r.main.stdout).toMatch(/^Docker 26\.\S+, buildx \S+, classic image store$/m)
    expect(r.log).not.toMatch(/docker buildx build/)
    expect(r.main.outputs.push).toBe('false')
    expect(await registryTags(REGISTRY, `${repo}/hello-cli`)).toEqual([])
    // the bench's engine and network are as they were
    expect(execFileSync('ip', ['link', 'show', 'docker0']).toString()).toContain('docker0')
  },
  5 * MINUTES
)
