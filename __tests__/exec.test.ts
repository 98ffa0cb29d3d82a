import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import * as core from '@actions/core'
import { CommandTimeoutError, run } from '../src/exec.js'
import { openFence, outsideFence, writeFenced } from '../src/util/fence.js'
import { parseCommands } from '../test/harness/runner.js'
import { dockerBound } from '../src/docker/timeouts.js'

let printed: string[] = []

beforeEach(() => {
  printed = []
  jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    printed.push(chunk.toString())
    return true
  })
})
afterEach(() => {
  jest.restoreAllMocks()
})

const FORGED = [
  '::error::forged',
  '::add-mask::x',
  '::set-output name=a::b',
  '::stop-commands::guess',
  '::guess::',
  '::warning::after'
].join('\n')
/** FORGED as a printf format: `\n` written as backslash and n (an argument has no newline). */
const FORMAT = FORGED.replace(/\n/g, '\\n')

describe('run(): output of repository code is fenced', () => {
  it('prints the output between a stop-commands line and its resume line: no command takes effect', async () => {
    await run('printf', [FORMAT], { fenced: true })
    const log = printed.join('')
    expect(log).toContain('::warning::after')
    expect(parseCommands(log)).toEqual([])
    // the command line comes first, outside the fence
    expect(log.split('\n')[0]).toBe(`[command]printf ${FORMAT}`)
  })

  it('ends a fence on a line of its own after output that did not end its line', async () => {
    await run('printf', ['%s', 'no newline ::'], { fenced: true })
    const log = printed.join('')
    const token = /::stop-commands::([0-9a-f]{32})\n/.exec(log)?.[1]
    expect(log.endsWith(`no newline ::\n::${token}::\n`)).toBe(true)
    // the action's own command after it is read again
    expect(parseCommands(`${log}::warning::own\n`).map(c => c.message)).toEqual(['own'])
  })

  it('uses a fresh token for every fence', async () => {
    await run('printf', ['a\\n'], { fenced: true })
    await run('printf', ['b\\n'], { fenced: true })
    const tokens = [...printed.join('').matchAll(/::stop-commands::(\S+)\n/g)].map(m => m[1])
    expect(tokens).toHaveLength(2)
    expect(tokens[0]).not.toBe(tokens[1])
  })

  it('fences by default what runs repository code (go), not other tools', async () => {
    await run('go', ['version'])
    await run('printf', ['plain\\n'])
    const log = printed.join('')
    expect(log).toMatch(/^\[command\]go version\n::stop-commands::[0-9a-f]{32}\ngo version /)
    expect(log).toMatch(/::[0-9a-f]{32}::\n\[command\]printf plain\\n\nplain\n$/)
  })

  it("lets the action's own warning through while another command's output is fenced", async () => {
    const close = openFence()
    writeFenced('build output ::error::forged\n')
    outsideFence(() => core.warning('retrying a registry request'))
    writeFenced('more build output ::warning::forged\n')
    close()
    const log = printed.join('')
    // the action's warning takes effect; neither forged command does, before it or after it
    expect(parseCommands(log).map(c => `${c.command}: ${c.message}`)).toEqual([
      'warning: retrying a registry request'
    ])
    const tokens = [...log.matchAll(/::stop-commands::(\S+)\n/g)].map(m => m[1])
    expect(tokens).toHaveLength(2)
    expect(tokens[0]).not.toBe(tokens[1])
    expect(log.endsWith(`::${tokens[1]}::\n`)).toBe(true)
  })

  it('prints nothing, not even a fence, when silent', async () => {
    const res = await run('printf', [FORMAT], { fenced: true, silent: true })
    expect(res.stdout).toBe(FORGED)
    expect(printed).toEqual([])
  })
})

describe('run(): timeouts', () => {
  it('stops a command at its timeout with an error naming the call and what to raise', async () => {
    const started = Date.now()
    const err = await run('sleep', ['30'], {
      silent: true,
      timeoutSeconds: 1,
      timeoutRaise: 'the x input'
    }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(CommandTimeoutError)
    expect((err as Error).message).toBe(
      'sleep 30 did not finish in 1 s and was stopped (raise the x input if it needs longer)'
    )
    expect(Date.now() - started).toBeLessThan(15_000)
  })

  it("kills the command's whole process tree", async () => {
    const mark = String(700 + Math.floor(Math.random() * 200))
    const res = await run('bash', ['-c', `sleep ${mark} & sleep ${mark}; wait`], {
      silent: true,
      timeoutSeconds: 1,
      allowFailure: true
    })
    expect(res.timedOut).toBe(true)
    // signalled with bash; each ends once the (loaded) machine schedules it, and they sleep for
    // minutes: gone within seconds means they were killed (the SIGKILL timer ended with bash)
    const left = (): string[] =>
      execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
        .split('\n')
        .filter(l => l === `sleep ${mark}`)
    for (let waited = 0; left().length > 0 && waited < 5_000; waited += 100)
      await new Promise(r => setTimeout(r, 100))
    expect(left()).toEqual([])
  })

  it('bounds every docker call: GIA_DOCKER_TIMEOUT_S only lowers a fixed bound', () => {
    expect(dockerBound(120, {})).toBe(120)
    expect(dockerBound(120, { GIA_DOCKER_TIMEOUT_S: '3' })).toBe(3)
    expect(dockerBound(2, { GIA_DOCKER_TIMEOUT_S: '3' })).toBe(2)
    expect(dockerBound(120, { GIA_DOCKER_TIMEOUT_S: 'x' })).toBe(120)
  })
})
