/**
 * The engine requirement for real: a second dockerd with the classic image store (the default
 * before Docker 29, and what a runner's Docker may still use) on a socket of its own. The action
 * must stop at its Engine stage with an error that names the store and the fix, before any build.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { release } from '../fixtures/events.js'
import { runAction } from '../harness/runner.js'
import { exampleWorkspace, REGISTRY, registryTags, requireBench, uniqueRepo } from './bench.js'
import { startDockerd, type SecondDaemon } from './dockerd.js'

const MINUTES = 60_000
let daemon: SecondDaemon | undefined

beforeAll(async () => {
  requireBench()
  daemon = await startDockerd('classic', false)
  const info = execFileSync('docker', [
    '--host',
    daemon.host,
    'info',
    '--format',
    '{{json .DriverStatus}}'
  ])
  expect(info.toString()).not.toContain('io.containerd.snapshotter')
}, 2 * MINUTES)

afterAll(async () => {
  await daemon?.stop()
}, 2 * MINUTES)

it(
  'stops at the Engine stage on the classic image store, naming the store and the fix; nothing is built',
  async () => {
    const repo = uniqueRepo('classic')
    const fx = release('v1.0.0')
    const r = await runAction({
      ...fx,
      workspace: exampleWorkspace('hello'),
      env: { ...fx.env, DOCKER_HOST: (daemon as SecondDaemon).host },
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
