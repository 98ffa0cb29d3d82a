import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals'
import { OutputRelay } from '../src/util/outputRelay.js'
import { parseCommands } from '../test/harness/runner.js'

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

/** The printed text without the fence's stop and resume lines. */
function text(): string {
  return printed
    .join('')
    .split('\n')
    .filter(l => !/^::(stop-commands::[0-9a-f]{32}|[0-9a-f]{32}::)$/.test(l))
    .join('\n')
}

describe('OutputRelay: commands that run at once, printed one after another', () => {
  it('streams the first, holds the others until every one before has ended, each whole', () => {
    const relay = new OutputRelay(3)
    relay.write(1, 'b1\n')
    relay.write(0, 'a1\n')
    relay.write(2, 'c1\n')
    expect(text()).toBe('a1\n')
    relay.write(1, 'b2\n')
    relay.end(2)
    expect(text()).toBe('a1\n')
    relay.write(0, 'a2\n')
    relay.end(0)
    // the second's held output, then it streams; the third ended already: printed after it
    expect(text()).toBe('a1\na2\nb1\nb2\n')
    relay.write(1, 'b3\n')
    expect(text()).toBe('a1\na2\nb1\nb2\nb3\n')
    relay.end(1)
    expect(text()).toBe('a1\na2\nb1\nb2\nb3\nc1\n')
  })

  it('starts the next command on a line of its own', () => {
    const relay = new OutputRelay(2)
    relay.write(1, 'b\n')
    relay.write(0, 'a without newline')
    relay.end(0)
    relay.end(1)
    expect(text()).toBe('a without newline\nb\n')
  })

  it('prints it all in one fence, closed when the last command ends: no command in it takes effect', () => {
    const relay = new OutputRelay(2)
    relay.write(0, '::error::forged\n')
    relay.write(1, '::add-mask::x\n')
    relay.end(1)
    const fence = /^::stop-commands::([0-9a-f]{32})$/m.exec(printed.join(''))?.[1]
    expect(fence).toBeDefined()
    expect(printed.join('')).not.toContain(`::${fence}::`)
    relay.end(0)
    const log = printed.join('')
    expect(log.match(/::stop-commands::/g)).toHaveLength(1)
    expect(log.endsWith(`::${fence}::\n`)).toBe(true)
    expect(parseCommands(log)).toEqual([])
  })

  it('opens no fence when nothing was printed', () => {
    const relay = new OutputRelay(2)
    relay.end(1)
    relay.end(0)
    expect(printed).toEqual([])
  })
})
