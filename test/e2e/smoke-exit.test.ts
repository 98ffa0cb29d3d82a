/**
 * How a smoke test's container goes once its text test has passed (src/docker/smoke.ts), on the
 * real engine: one that ends by itself within EXIT_GRACE_MS is left to `docker run --rm` (never
 * killed: no `docker rm --force`, a docker process and a kill less per platform); one that runs
 * on is killed and removed after that grace. Told apart by the engine's own events.
 */
import { beforeAll, describe, expect, it } from '@jest/globals'
import { EXIT_GRACE_MS, smokeTest } from '../../src/docker/smoke.js'
import type { PlannedImage } from '../../src/plan/plan.js'
import { docker, REGISTRY, requireBench } from './bench.js'

/** A local image with a shell (bench-up.sh mirrors it). */
const SHELL_IMAGE = `${REGISTRY}/mirror/golang:1.26`

/** An image whose smoke test prints the version, then runs `sleep` for `seconds`. */
function image(seconds: number): PlannedImage {
  return {
    name: 'smoke-exit',
    versionTag: SHELL_IMAGE,
    smoke: {
      enabled: true,
      platforms: ['linux/amd64'],
      args: ['sh', '-c', `echo smoke-exit 1.2.3; sleep ${seconds}`],
      expect: '1.2.3',
      timeoutSeconds: 60
    }
  } as unknown as PlannedImage
}

/** What the engine said of the container `name` between `since` and now (`die`, `kill`, ...). */
function actions(name: string, since: number): string[] {
  return docker([
    'events',
    '--since',
    String(since),
    '--until',
    String(Math.ceil(Date.now() / 1000) + 1),
    '--filter',
    'type=container',
    '--filter',
    `container=${name}`,
    '--format',
    '{{.Action}}'
  ])
    .split('\n')
    .filter(Boolean)
}

/** Smoke-tests `img` and waits until its container is gone: its name, and the engine's events. */
async function smoke(img: PlannedImage): Promise<{ ok: boolean; actions: string[]; ms: number }> {
  const since = Math.floor(Date.now() / 1000) - 1
  const started = Date.now()
  const { result, removed } = await smokeTest(img, 'linux/amd64')
  await removed
  const ms = Date.now() - started
  const name = /--name (\S+)/.exec(result.command)?.[1] as string
  expect(docker(['ps', '--all', '--quiet', '--filter', `name=^${name}$`]).trim()).toBe('')
  return { ok: result.ok, actions: actions(name, since), ms }
}

beforeAll(() => requireBench())

describe('a smoke test whose text test passed', () => {
  it('leaves a container that ends by itself within the grace to docker run --rm: not killed', async () => {
    const r = await smoke(image(1))
    expect(r.ok).toBe(true)
    expect(r.actions).toContain('die')
    expect(r.actions).toContain('destroy')
    expect(r.actions).not.toContain('kill')
  }, 60_000)

  it('kills and removes one still running after the grace', async () => {
    const r = await smoke(image(120))
    expect(r.ok).toBe(true)
    expect(r.actions).toContain('kill')
    expect(r.actions).toContain('destroy')
    expect(r.ms).toBeGreaterThanOrEqual(EXIT_GRACE_MS)
    expect(r.ms).toBeLessThan(60_000)
  }, 90_000)
})
