import * as core from '@actions/core'
import { describe, expect, it, jest } from '@jest/globals'
import { buildPlan } from '../src/plan/plan.js'
import { emptyResults } from '../src/results.js'
import { slots } from '../src/limit.js'
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

describe('a stage beside the others (besideUntil)', () => {
  const fx = release('v1.0.0')
  const inputs = inputsFor({ image: 'a' })
  const run = (
    stages: Stage[]
  ): { results: ReturnType<typeof emptyResults>; done: Promise<void> } => {
    const plan = buildPlan(inputs, contextOf(fx), {
      now: new Date('2026-01-01T00:00:00Z'),
      nodeArch: 'x64',
      dockerfiles: { Dockerfile: DOCKERFILE }
    })
    const results = emptyResults()
    const ctx = stageContext(plan, inputs, contextOf(fx), results, '/workspace')
    return { results, done: runStages(stages, ctx) }
  }
  /** A promise and its resolve, to hold a stage until the test lets it go. */
  const gate = (): { wait: Promise<void>; open: () => void } => {
    let open = (): void => undefined
    const wait = new Promise<void>(r => (open = r))
    return { wait, open }
  }
  const printed = (): string =>
    (process.stdout.write as unknown as jest.Mock).mock.calls.map(c => String(c[0])).join('')

  it('runs beside the stages after it, is waited for by the one it names, and prints its lines as its group then', async () => {
    ;(process.stdout.write as unknown as jest.Mock).mockClear()
    const events: string[] = []
    const build = gate()
    const { results, done } = run([
      {
        name: 'Go build',
        applies: () => true,
        besideUntil: 'Build',
        async run(_ctx, log) {
          events.push('go build started')
          log('linux/amd64: ./cmd/a -> /out/a')
          await build.wait
          events.push('go build ended')
        }
      },
      {
        name: 'Go gate',
        applies: () => true,
        async run() {
          // runs while the Go build is still going
          events.push('gate')
          build.open()
        }
      },
      {
        name: 'Build',
        applies: () => true,
        async run() {
          events.push('build')
        }
      }
    ])
    await done
    expect(events).toEqual(['go build started', 'gate', 'go build ended', 'build'])
    expect(results.stages.map(s => [s.stage, s.status])).toEqual([
      ['Go build', 'ok'],
      ['Go gate', 'ok'],
      ['Build', 'ok']
    ])
    // its group comes whole, after the gate's, before Build's
    expect(printed()).toMatch(
      /::group::Go gate\n::endgroup::\n::group::Go build\nlinux\/amd64: \.\/cmd\/a -> \/out\/a\n::endgroup::\n::group::Build\n/
    )
  })

  it('runs what it logs as a function (an annotation, fenced output) only when its group is printed', async () => {
    ;(process.stdout.write as unknown as jest.Mock).mockClear()
    const printedWhenLogged: string[] = []
    const { done } = run([
      {
        name: 'Smoke test',
        applies: () => true,
        besideUntil: 'Architecture',
        async run(_ctx, log) {
          log(() => core.error('smoke test of a on linux/arm64 failed'))
          printedWhenLogged.push(printed())
        }
      },
      {
        name: 'Go gate',
        applies: () => true,
        async run() {
          core.info('ok  example.com/a (cached)')
        }
      },
      { name: 'Architecture', applies: () => true, run: async () => undefined }
    ])
    await done
    // nothing of it was printed when it logged, and the annotation comes in its group, after the gate's
    expect(printedWhenLogged).toEqual([''])
    expect(printed()).toMatch(
      /::group::Go gate\nok {2}example\.com\/a \(cached\)\n::endgroup::\n::group::Smoke test\n::error::smoke test of a on linux\/arm64 failed\n::endgroup::\n::group::Architecture\n/
    )
  })

  it('stops the run at the next stage boundary when it fails: the stage it names never starts', async () => {
    const events: string[] = []
    const { results, done } = run([
      {
        name: 'Go build',
        applies: () => true,
        besideUntil: 'Push',
        async run() {
          throw new Error('go build of ./cmd/a for linux/arm64 failed')
        }
      },
      {
        name: 'Go gate',
        applies: () => true,
        async run() {
          events.push('gate')
        }
      },
      {
        name: 'Push',
        applies: () => true,
        async run() {
          events.push('push')
        }
      }
    ])
    await expect(done).rejects.toThrow('go build of ./cmd/a for linux/arm64 failed')
    expect(events).not.toContain('push')
    expect(results.stages.find(s => s.stage === 'Go build')?.status).toBe('failed')
  })

  it("lets a stage beside wait for another's end: passed or skipped resolves, failed or never run rejects", async () => {
    const seen: string[] = []
    const { done } = run([
      {
        name: 'Go build',
        applies: () => true,
        besideUntil: 'Push',
        async run(ctx) {
          for (const stage of ['Go gate', 'QEMU', 'Smoke test', 'Push'])
            await ctx.ended(stage).then(
              () => seen.push(`${stage} ended`),
              (e: Error) => seen.push(`${stage}: ${e.message}`)
            )
        }
      },
      { name: 'Go gate', applies: () => true, run: async () => undefined },
      { name: 'QEMU', applies: () => 'not needed', run: async () => undefined },
      {
        name: 'Smoke test',
        applies: () => true,
        async run() {
          throw new Error('smoke test failed')
        }
      },
      { name: 'Push', applies: () => true, run: async () => undefined }
    ])
    await expect(done).rejects.toThrow('smoke test failed')
    expect(seen).toEqual([
      'Go gate ended',
      'QEMU ended',
      'Smoke test: Smoke test failed: smoke test failed',
      'Push: the run stopped before Push ended'
    ])
  })

  it('reports a stage beside that could not go on, as what it waited for failed, as stopped; the run fails with the other failure', async () => {
    const { results, done } = run([
      {
        name: 'Smoke test',
        applies: () => true,
        besideUntil: 'Architecture',
        async run(ctx) {
          // waits for an image the Build stage never builds
          await ctx.ended('Build')
        }
      },
      {
        name: 'Write images',
        applies: () => true,
        besideUntil: 'Build',
        async run() {
          throw new Error('base image: 401 Unauthorized')
        }
      },
      { name: 'Go gate', applies: () => true, run: async () => undefined },
      { name: 'Build', applies: () => true, run: async () => undefined },
      { name: 'Architecture', applies: () => true, run: async () => undefined }
    ])
    await expect(done).rejects.toThrow('base image: 401 Unauthorized')
    expect(results.stages.map(s => [s.stage, s.status, s.note])).toEqual([
      ['Smoke test', 'stopped', 'the run stopped before Build ended'],
      ['Write images', 'failed', undefined],
      ['Go gate', 'ok', undefined]
    ])
  })

  it('ends the run only when the work stages left pending has ended, also when a stage failed', async () => {
    for (const fail of [false, true]) {
      let removed = false
      const { done } = run([
        {
          name: 'Smoke test',
          applies: () => true,
          async run(ctx) {
            ctx.pending.push(new Promise(r => setTimeout(r, 50)).then(() => (removed = true)))
          }
        },
        {
          name: 'Push',
          applies: () => true,
          async run() {
            if (fail) throw new Error('push failed')
          }
        }
      ])
      await (fail ? expect(done).rejects.toThrow('push failed') : done)
      expect(removed).toBe(true)
    }
  })

  it("ends before the failure of a stage after it goes on, which stays the run's error", async () => {
    const events: string[] = []
    const { done } = run([
      {
        name: 'Go build',
        applies: () => true,
        besideUntil: 'Build',
        async run() {
          await new Promise(r => setTimeout(r, 50))
          events.push('go build ended')
          throw new Error('second failure')
        }
      },
      {
        name: 'Go gate',
        applies: () => true,
        async run() {
          throw new Error('go test failed')
        }
      }
    ])
    await expect(done).rejects.toThrow('go test failed')
    expect(events).toEqual(['go build ended'])
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

describe('slots', () => {
  it('runs at most n at once, the waiting ones in the order they came', async () => {
    const slot = slots(2)
    let running = 0
    let most = 0
    const order: number[] = []
    await Promise.all(
      [30, 10, 10, 10, 10].map((ms, i) =>
        slot(async () => {
          running++
          most = Math.max(most, running)
          order.push(i)
          await new Promise(r => setTimeout(r, ms))
          running--
        })
      )
    )
    expect(most).toBe(2)
    expect(order).toEqual([0, 1, 2, 3, 4])
  })

  it('frees the slot of a call that throws', async () => {
    const slot = slots(1)
    await expect(slot(async () => Promise.reject(new Error('no')))).rejects.toThrow('no')
    await expect(slot(async () => 'yes')).resolves.toBe('yes')
  })
})
