import { describe, expect, it, jest } from '@jest/globals'
import { buildPlan } from '../src/plan/plan.js'
import { emptyResults } from '../src/results.js'
import { runStages, stageContext, type Stage } from '../src/stages/stage.js'
import { attestationsCell, renderResultsMarkdown } from '../src/summary.js'
import { contextOf } from '../test/fixtures/context.js'
import { release } from '../test/fixtures/events.js'
import { inputsFor } from '../test/fixtures/inputs.js'

jest.spyOn(process.stdout, 'write').mockImplementation(() => true)

const DOCKERFILE = 'FROM scratch\nCOPY app /app\nENTRYPOINT ["/app"]\n'

describe('runStages', () => {
  it('records a stage that ran but could not do its job as unavailable, with why, in the summary too', async () => {
    const fx = release('v1.0.0')
    const inputs = inputsFor({ image: 'a' })
    const plan = buildPlan(inputs, contextOf(fx), {
      now: new Date('2026-01-01T00:00:00Z'),
      nodeArch: 'x64',
      dockerfiles: { Dockerfile: DOCKERFILE }
    })
    const results = emptyResults()
    const ran: string[] = []
    const stages: Stage[] = [
      {
        name: 'Go cache',
        applies: () => true,
        async run() {
          ran.push('Go cache')
          return { status: 'unavailable', note: 'ACTIONS_CACHE_URL is not set' }
        }
      },
      {
        name: 'Go gate',
        applies: () => true,
        async run() {
          ran.push('Go gate')
        }
      },
      { name: 'QEMU', applies: () => 'not needed', run: async () => undefined }
    ]
    await runStages(stages, stageContext(plan, inputs, contextOf(fx), results, '/workspace'))
    expect(ran).toEqual(['Go cache', 'Go gate'])
    expect(results.stages.map(s => [s.stage, s.status, s.note])).toEqual([
      ['Go cache', 'unavailable', 'ACTIONS_CACHE_URL is not set'],
      ['Go gate', 'ok', undefined],
      ['QEMU', 'skipped', 'not needed']
    ])
    expect(renderResultsMarkdown(plan, results)).toMatch(
      /^\| Go cache \| unavailable \(ACTIONS_CACHE_URL is not set\) \| [\d.]+ s \|$/m
    )
  })
})

describe('attestations in the summary', () => {
  it('names each platform with what the index attests it with; nothing when there is nothing', () => {
    expect(
      attestationsCell([
        {
          platform: 'linux/amd64',
          attestations: ['https://spdx.dev/Document', 'https://slsa.dev/provenance/v1']
        },
        { platform: 'linux/arm64', attestations: ['https://example.com/a|b'] },
        { platform: 'linux/386' }
      ])
    ).toBe('linux/amd64: SBOM (SPDX), provenance (SLSA); linux/arm64: https://example.com/a\\|b')
    expect(attestationsCell([{ platform: 'linux/amd64' }])).toBe('')
  })
})
