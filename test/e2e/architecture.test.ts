/**
 * No image ships a binary for the wrong architecture: examples/wrong-arch has the real-world
 * mistake `ARG TARGETARCH=amd64` in its build stage, so its linux/arm64 image holds an x86-64
 * binary. The smoke test passes (an amd64 runner runs that binary natively); the architecture
 * check before the push must stop the run, and the plan warns on the Dockerfile line.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { rmSync } from 'node:fs'
import { runAction, type ActionRun } from '../harness/runner.js'
import { release } from '../fixtures/events.js'
import {
  exampleWorkspace,
  REGISTRY,
  registryTags,
  removeImages,
  requireBench,
  tagsOf,
  uniqueRepo
} from './bench.js'

const MINUTES = 60_000

interface PlatformResult {
  platform: string
  smoke?: { ok: boolean }
  architecture?: { status: string; file?: string; found?: string; problems?: string[] }
}

beforeAll(() => requireBench())

describe('a Dockerfile with a default on TARGETARCH (examples/wrong-arch)', () => {
  const repo = uniqueRepo('wrongarch')
  let ws: string
  let r: ActionRun

  beforeAll(async () => {
    ws = exampleWorkspace('wrong-arch')
    r = await runAction({
      ...release('v1.0.0'),
      workspace: ws,
      inputs: {
        image: `${REGISTRY}/${repo}/wrong-arch`,
        platforms: 'linux/amd64,linux/arm64',
        'go-gate': 'false',
        cache: 'false'
      }
    })
  }, 20 * MINUTES)

  afterAll(() => {
    removeImages(tagsOf(r))
    rmSync(ws, { recursive: true, force: true })
  })

  const platforms = (): PlatformResult[] =>
    JSON.parse(r.main.outputs['metadata']).images[0].platformResults

  it('fails at the architecture check, naming image, platform, file and what it found', () => {
    expect(r.main.exitCode).not.toBe(0)
    const stages = JSON.parse(r.main.outputs['metadata']).stages.map(
      (s: { stage: string; status: string }) => `${s.stage}:${s.status}`
    )
    // the smoke test did not catch it: the x86-64 binary ran on the amd64 runner
    expect(stages).toEqual(
      expect.arrayContaining(['Build:ok', 'Smoke test:ok', 'Architecture:failed'])
    )
    expect(stages.some((s: string) => s.startsWith('Push'))).toBe(false)
    const errors = r.main.annotations.filter(a => a.command === 'error').map(a => a.message)
    const arm64 = errors.find(e => e.startsWith(`${REGISTRY}/${repo}/wrong-arch linux/arm64:`))
    expect(arm64).toContain('/usr/local/bin/wrong-arch is ELF 64-bit LSB, EM_X86_64 (x86-64)')
    expect(arm64).toContain('Go binary for GOOS=linux GOARCH=amd64')
    expect(arm64).toContain('not a linux/arm64 executable')
    expect(arm64).toContain('EM_X86_64, not EM_AARCH64')
    // only the wrong platform is named
    expect(errors.filter(e => e.includes(' linux/amd64: '))).toEqual([])
  })

  it('pushes nothing', async () => {
    expect(await registryTags(REGISTRY, `${repo}/wrong-arch`)).toEqual([])
  })

  it('reports each platform in the metadata output and the summary', () => {
    const [amd64, arm64] = ['linux/amd64', 'linux/arm64'].map(
      p => platforms().find(x => x.platform === p) as PlatformResult
    )
    expect(amd64.smoke?.ok).toBe(true)
    expect(arm64.smoke?.ok).toBe(true)
    expect(amd64.architecture).toMatchObject({
      status: 'verified',
      file: '/usr/local/bin/wrong-arch',
      found: expect.stringMatching(
        /^ELF 64-bit LSB, EM_X86_64 \(x86-64\); Go binary for GOOS=linux GOARCH=amd64\b/
      )
    })
    expect(arm64.architecture).toMatchObject({
      status: 'mismatch',
      file: '/usr/local/bin/wrong-arch',
      problems: ['EM_X86_64, not EM_AARCH64', 'Go GOARCH=amd64']
    })
    expect(r.main.summary).toMatch(
      /\| linux\/arm64 \|.*\| \*\*wrong architecture\*\*: \/usr\/local\/bin\/wrong-arch: ELF 64-bit LSB, EM_X86_64/
    )
    expect(r.main.summary).toMatch(
      /\| linux\/amd64 \|.*\| verified: \/usr\/local\/bin\/wrong-arch: ELF/
    )
  })

  it('warned on the Dockerfile line with the default, in the plan', () => {
    const w = r.main.annotations.find(
      a => a.command === 'warning' && a.properties['title'] === 'Default on TARGETARCH'
    )
    expect(w?.properties).toMatchObject({ file: 'Dockerfile', line: '14' })
    expect(w?.message).toContain('ARG TARGETARCH=amd64: BuildKit uses this default')
  })
})
