import { describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import * as glob from '@actions/glob'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import {
  GO_CACHE_PARTS,
  goBuildConfig,
  goCacheKeys,
  goCacheParts,
  keyMarker,
  partKeys,
  sumHash,
  wholeKey
} from '../src/go/cache.js'
import { buildPlan } from '../src/plan/plan.js'
import { contextOf } from '../test/fixtures/context.js'
import { release } from '../test/fixtures/events.js'
import { inputsFor } from '../test/fixtures/inputs.js'

describe('Go cache keys', () => {
  it('keys on OS, arch, Go version, go.sum and the build config, falling back in that order', () => {
    const keys = goCacheKeys('linux', 'amd64', 'go1.26.8', 'abc', 'no gate; runner builds: none')
    expect(keys.key).toMatch(/^go-image-action-go-linux-amd64-go1\.26\.8-abc-[0-9a-f]{8}$/)
    expect(keys.restoreKeys).toEqual([
      'go-image-action-go-linux-amd64-go1.26.8-abc-',
      'go-image-action-go-linux-amd64-go1.26.8-'
    ])
    for (const k of keys.restoreKeys) expect(keys.key.startsWith(k)).toBe(true)
    expect(goCacheKeys('linux', 'amd64', 'go1.26.8', 'abc', 'other').key).not.toBe(keys.key)
  })

  it("each part of the Go caches has keys of its own: no restore key of one part is a prefix of another part's key", () => {
    const keys = goCacheKeys('linux', 'amd64', 'go1.26.8', 'abc', 'cfg')
    const parts = Array.from({ length: GO_CACHE_PARTS }, (_, i) =>
      partKeys(keys, i, GO_CACHE_PARTS)
    )
    expect(parts[0].key).toMatch(
      /^go-image-action-go-part1of4-linux-amd64-go1\.26\.8-abc-[0-9a-f]{8}$/
    )
    expect(new Set(parts.map(p => p.key)).size).toBe(GO_CACHE_PARTS)
    for (const [i, p] of parts.entries()) {
      expect(wholeKey(p.key)).toBe(keys.key)
      expect(p.restoreKeys.map(wholeKey)).toEqual(keys.restoreKeys)
      for (const [j, q] of parts.entries())
        for (const r of p.restoreKeys) expect(q.key.startsWith(r)).toBe(i === j)
    }
  })

  it('the parts hold every file of a real GOCACHE and GOMODCACHE once, under a path with glob characters', async () => {
    const base = join(mkdtempSync(join(tmpdir(), 'go-parts-')), 'a[1]*b?')
    const gocache = join(base, 'gocache')
    const modcache = join(base, 'mod')
    mkdirSync(join(modcache, 'cache', 'download'), { recursive: true })
    writeFileSync(join(modcache, 'cache', 'download', 'x.zip'), 'zip')
    // a build makes GOCACHE's 256 entry directories, README and trim.txt; go clean -testcache
    // its test-expiry note
    const mod = join(base, 'x')
    mkdirSync(mod)
    writeFileSync(join(mod, 'go.mod'), 'module x\n')
    writeFileSync(join(mod, 'x.go'), 'package x\n')
    const env = { ...process.env, GOCACHE: gocache, GOMODCACHE: modcache, GOFLAGS: '' }
    execFileSync('go', ['build', '.'], { cwd: mod, env })
    execFileSync('go', ['clean', '-testcache'], { cwd: mod, env })
    expect(
      readdirSync(gocache)
        .filter(n => n.length !== 2)
        .sort()
    ).toEqual(['README', 'testexpire.txt', 'trim.txt'])
    const top = [modcache, ...readdirSync(gocache).map(n => join(gocache, n))]
    expect(top).toHaveLength(1 + 256 + 3)
    const parts = goCacheParts(modcache, gocache)
    expect(parts).toHaveLength(GO_CACHE_PARTS)
    const matched: string[][] = []
    for (const patterns of parts) {
      const g = await glob.create(patterns.join('\n'), { implicitDescendants: false })
      matched.push(await g.glob())
    }
    // each part has something (the cache service refuses to save nothing)
    for (const m of matched) expect(m.length).toBeGreaterThan(0)
    expect(matched.flat().sort()).toEqual(top.sort())
  })

  it('a new runner-build platform or gate setting is a new build config; their order is not', () => {
    const web = { Dockerfile: 'FROM scratch\n' }
    const config = (inputs: Record<string, string>): string =>
      goBuildConfig(
        buildPlan(inputsFor(inputs), contextOf(release()), {
          now: new Date(0),
          nodeArch: 'x64',
          dockerfiles: web
        })
      )
    const runner = '- name: a\n  main: ./cmd/a\n- name: b'
    const two = config({ images: runner, platforms: 'linux/arm64,linux/amd64' })
    expect(two).toBe('gate -trimpath CGO_ENABLED=0; runner builds: linux/amd64,linux/arm64')
    expect(config({ images: runner, platforms: 'linux/amd64,linux/arm64' })).toBe(two)
    expect(config({ images: runner, platforms: 'linux/amd64' })).not.toBe(two)
    expect(config({ images: runner, platforms: 'linux/amd64', 'go-gate': 'false' })).toBe(
      'no gate; runner builds: linux/amd64'
    )
    // Dockerfile builds compile in BuildKit, not in the runner's Go caches
    expect(config({ image: 'b', platforms: 'linux/amd64,linux/arm64' })).toBe(
      'gate; runner builds: none'
    )
  })

  it('notes the key inside the cache: `go clean -cache` removes the note with the cache', () => {
    const gocache = mkdtempSync(join(tmpdir(), 'gocache-'))
    mkdirSync(dirname(keyMarker(gocache)), { recursive: true })
    writeFileSync(keyMarker(gocache), 'go-image-action-go-linux-amd64-go1.26.8-abc-12345678\n')
    expect(keyMarker(gocache).startsWith(gocache + '/')).toBe(true)
    execFileSync('go', ['clean', '-cache'], { env: { ...process.env, GOCACHE: gocache } })
    expect(existsSync(keyMarker(gocache))).toBe(false)
  })

  it('hashes go.sum, or go.mod without one, and changes with it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sum-'))
    writeFileSync(join(dir, 'go.mod'), 'module x\n')
    const modOnly = await sumHash([dir])
    writeFileSync(join(dir, 'go.sum'), 'a v1 h1:x\n')
    const one = await sumHash([dir])
    writeFileSync(join(dir, 'go.sum'), 'a v2 h1:y\n')
    const two = await sumHash([dir])
    expect(new Set([modOnly, one, two]).size).toBe(3)
    expect(one).toMatch(/^[0-9a-f]{32}$/)
  })

  it("covers every module's go.sum: a change in the second module changes the hash", async () => {
    const web = mkdtempSync(join(tmpdir(), 'sum-web-'))
    const ws = mkdtempSync(join(tmpdir(), 'sum-ws-'))
    writeFileSync(join(web, 'go.sum'), 'a v1 h1:x\n')
    writeFileSync(join(ws, 'go.sum'), 'b v1 h1:x\n')
    const before = await sumHash([web, ws])
    expect(await sumHash([ws, web])).toBe(before)
    writeFileSync(join(ws, 'go.sum'), 'b v2 h1:y\n')
    const after = await sumHash([web, ws])
    expect(after).not.toBe(before)
    expect(await sumHash([web])).not.toBe(after)
  })
})
