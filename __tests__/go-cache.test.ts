import { describe, expect, it } from '@jest/globals'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { cacheUnavailableReason, goCacheKeys, sumHash } from '../src/go/cache.js'

describe('Go cache keys', () => {
  it('keys on OS, arch, Go version and go.sum, falling back to the same toolchain', () => {
    expect(goCacheKeys('linux', 'amd64', 'go1.26.8', 'abc')).toEqual({
      key: 'go-image-action-go-linux-amd64-go1.26.8-abc',
      restoreKeys: ['go-image-action-go-linux-amd64-go1.26.8-']
    })
  })

  it('hashes go.sum, or go.mod without one, and changes with it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sum-'))
    writeFileSync(join(dir, 'go.mod'), 'module x\n')
    const modOnly = await sumHash(dir)
    writeFileSync(join(dir, 'go.sum'), 'a v1 h1:x\n')
    const one = await sumHash(dir)
    writeFileSync(join(dir, 'go.sum'), 'a v2 h1:y\n')
    const two = await sumHash(dir)
    expect(new Set([modOnly, one, two]).size).toBe(3)
    expect(one).toMatch(/^[0-9a-f]{32}$/)
  })

  it.each([
    [{}, 'ACTIONS_RUNTIME_TOKEN is not set'],
    [{ ACTIONS_RUNTIME_TOKEN: 't' }, 'neither ACTIONS_CACHE_URL nor ACTIONS_RESULTS_URL is set'],
    [
      { ACTIONS_RUNTIME_TOKEN: 't', ACTIONS_CACHE_SERVICE_V2: 'True', ACTIONS_CACHE_URL: 'u' },
      'ACTIONS_CACHE_SERVICE_V2 is set but ACTIONS_RESULTS_URL is not'
    ],
    [
      { ACTIONS_RUNTIME_TOKEN: 't', ACTIONS_CACHE_SERVICE_V2: 'True', ACTIONS_RESULTS_URL: 'u' },
      undefined
    ],
    [{ ACTIONS_RUNTIME_TOKEN: 't', ACTIONS_CACHE_URL: 'u' }, undefined]
  ])('cache availability %j', (env, why) => {
    expect(cacheUnavailableReason(env)).toBe(why)
  })
})
