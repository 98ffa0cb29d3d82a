import { describe, expect, it } from '@jest/globals'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'
import { ROOT } from '../test/harness/runner.js'

/** Every string of a YAML document with its path. */
function strings(node: unknown, path: string[] = []): [string, string][] {
  if (typeof node === 'string') return [[path.join('.'), node]]
  if (node && typeof node === 'object')
    return Object.entries(node).flatMap(([k, v]) => strings(v, [...path, k]))
  return []
}

describe('action.yml', () => {
  it('has expressions only in input defaults, where runners evaluate them', () => {
    // elsewhere a runner refuses to load the action: nektos/act says "expressions are not allowed
    // here", GitHub's runner "A template expression is not allowed in this context"
    const manifest = parse(readFileSync(join(ROOT, 'action.yml'), 'utf8')) as unknown
    const misplaced = strings(manifest).filter(
      ([path, text]) => text.includes('${{') && !/^inputs\.[^.]+\.default$/.test(path)
    )
    expect(misplaced).toEqual([])
  })
})
