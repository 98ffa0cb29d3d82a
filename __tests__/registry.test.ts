import { describe, expect, it, jest } from '@jest/globals'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { retryDelay } from '../src/docker/retry.js'
import { floatingRange, publishTargets, taggedVersions } from '../src/plan/publish.js'
import { configKeys, dockerCredentials, parseChallenge } from '../src/registry/auth.js'
import { registryBase } from '../src/registry/client.js'
import {
  parseRetryAfter,
  RegistryError,
  RegistryTimeoutError,
  transientKind
} from '../src/registry/errors.js'

jest.spyOn(process.stdout, 'write').mockImplementation(() => true)

/** An error as fetch (undici) throws it: a TypeError whose cause carries the socket's code. */
function fetchFailed(code: string): Error {
  return new TypeError('fetch failed', {
    cause: Object.assign(new Error('other side closed'), { code })
  })
}

describe('transient registry errors, by kind', () => {
  it.each([
    [new RegistryError('x', 429, 2000), 'HTTP 429'],
    [new RegistryError('x', 500), 'HTTP 500'],
    [new RegistryError('x', 502), 'HTTP 502'],
    [new RegistryError('x', 503), 'HTTP 503'],
    [new RegistryError('x', 504), 'HTTP 504'],
    [new RegistryTimeoutError('stalled'), 'timeout'],
    [fetchFailed('ECONNRESET'), 'ECONNRESET'],
    [fetchFailed('EPIPE'), 'EPIPE'],
    [fetchFailed('ECONNREFUSED'), 'ECONNREFUSED'],
    [fetchFailed('UND_ERR_SOCKET'), 'UND_ERR_SOCKET'],
    [new Error('wrapped', { cause: fetchFailed('UND_ERR_SOCKET') }), 'UND_ERR_SOCKET'],
    [
      new Error('write tcp 127.0.0.1:1->127.0.0.1:5000: use of closed network connection'),
      'connection closed'
    ],
    [new Error('write: broken pipe'), 'broken pipe'],
    [new Error('read: connection reset by peer'), 'connection reset'],
    [new Error('unexpected EOF'), 'unexpected EOF']
  ])('%s is %s', (e, kind) => {
    expect(transientKind(e)).toBe(kind)
  })

  it.each([
    new RegistryError('unauthorized', 401),
    new RegistryError('denied', 403),
    new RegistryError('manifest invalid', 400),
    new RegistryError('name unknown', 404),
    new Error('the registry stored sha256:a for sha256:b'),
    new TypeError("Cannot read properties of undefined (reading 'x')")
  ])('%s is not transient', e => {
    expect(transientKind(e)).toBeUndefined()
  })
})

describe('Retry-After', () => {
  const now = Date.parse('2026-01-01T00:00:00Z')
  it.each([
    ['3', 3000],
    [' 0 ', 0],
    ['Thu, 01 Jan 2026 00:00:05 GMT', 5000],
    ['Wed, 31 Dec 2025 23:59:00 GMT', 0],
    ['soon', undefined],
    [null, undefined]
  ])('%s -> %s ms', (value, ms) => {
    expect(parseRetryAfter(value, now)).toBe(ms)
  })

  it('waits at least as long as the registry asks, else the backoff', () => {
    expect(retryDelay(1, 5000, () => 0)).toBe(5000)
    expect(retryDelay(1, undefined, () => 0)).toBe(1000)
    expect(retryDelay(3, undefined, () => 0)).toBe(4000)
    expect(retryDelay(3, 1000, () => 1)).toBe(4800)
  })
})

describe('registry auth', () => {
  it('parses Bearer and Basic challenges', () => {
    expect(
      parseChallenge(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:a/b:pull,push"'
      )
    ).toEqual({
      scheme: 'bearer',
      params: {
        realm: 'https://auth.docker.io/token',
        service: 'registry.docker.io',
        scope: 'repository:a/b:pull,push'
      }
    })
    expect(parseChallenge('Basic realm="gia-bench"')).toEqual({
      scheme: 'basic',
      params: { realm: 'gia-bench' }
    })
    expect(parseChallenge(null)).toBeUndefined()
  })

  it('reads the credentials docker login stored, by the keys docker uses', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gia-dockercfg-'))
    const auth = (u: string, p: string): string => Buffer.from(`${u}:${p}`).toString('base64')
    writeFileSync(
      join(dir, 'config.json'),
      JSON.stringify({
        auths: {
          '127.0.0.1:5001': { auth: auth('gia', 'pa:ss') },
          'https://index.docker.io/v1/': { auth: auth('hub', 'tok') },
          'https://ghcr.io/v2/': { auth: auth('octo', 'ghs') }
        }
      })
    )
    expect(await dockerCredentials('127.0.0.1:5001', dir)).toEqual({
      username: 'gia',
      password: 'pa:ss'
    })
    expect(await dockerCredentials('docker.io', dir)).toEqual({ username: 'hub', password: 'tok' })
    expect(await dockerCredentials('ghcr.io', dir)).toEqual({ username: 'octo', password: 'ghs' })
    expect(await dockerCredentials('quay.io', dir)).toBeUndefined()
    expect(await dockerCredentials('quay.io', join(dir, 'none'))).toBeUndefined()
    expect(configKeys('docker.io')[0]).toBe('https://index.docker.io/v1/')
  })

  it('talks plain HTTP to loopback registries only, and to Docker Hub at its API host', () => {
    expect(registryBase('127.0.0.1:5000')).toBe('http://127.0.0.1:5000')
    expect(registryBase('localhost:5000')).toBe('http://localhost:5000')
    expect(registryBase('ghcr.io')).toBe('https://ghcr.io')
    expect(registryBase('docker.io')).toBe('https://registry-1.docker.io')
    expect(registryBase('127.0.0.1.example.com')).toBe('https://127.0.0.1.example.com')
  })
})

describe('floating tags', () => {
  it.each([
    ['latest', '*'],
    ['1', '1.x'],
    ['v2', '2.x'],
    ['1.2', '1.2.x'],
    ['stable', '*']
  ])('%s follows %s', (tag, range) => {
    expect(floatingRange(tag)).toBe(range)
  })

  it('reads the versions of the repository from tags shaped like this run own', () => {
    const tags = ['1.2.9', '1.3.0', '1.4.0-rc.1', 'latest', '1', 'sha-abc1234', 'v2.0.0', 'x1.0.0']
    expect(taggedVersions(tags, ['1.2.9'], '1.2.9')).toEqual([
      { version: '1.2.9', tag: '1.2.9' },
      { version: '1.3.0', tag: '1.3.0' },
      { version: '2.0.0', tag: 'v2.0.0' }
    ])
    expect(
      taggedVersions(['v1.0.0-alpine', '1.1.0', 'v1.2.0-alpine'], ['v1.0.0-alpine'], '1.0.0')
    ).toEqual([
      { version: '1.0.0', tag: 'v1.0.0-alpine' },
      { version: '1.2.0', tag: 'v1.2.0-alpine' }
    ])
  })

  it('plans version tags first, latest as a floating tag', () => {
    expect(publishTargets('r/a', ['r/a:1.2.3', 'r/a:latest'], '1.2.3')).toEqual([
      {
        name: 'r/a',
        versionTags: ['1.2.3'],
        floating: [{ tag: 'latest', version: '1.2.3', range: '*' }]
      }
    ])
    expect(publishTargets('r/a', ['r/a:main', 'r/a:sha-1234567'], 'main')[0].floating).toEqual([])
  })
})

describe('commands under a timeout', () => {
  it('stops a command that does not finish, with an error naming it and the time', async () => {
    const { run } = await import('../src/exec.js')
    await expect(run('sleep', ['30'], { timeoutSeconds: 1, silent: true })).rejects.toThrow(
      'sleep 30 did not finish in 1 s and was stopped'
    )
    const res = await run('sleep', ['30'], { timeoutSeconds: 1, silent: true, allowFailure: true })
    expect(res.timedOut).toBe(true)
    const quick = await run('true', [], { timeoutSeconds: 5, silent: true })
    expect([quick.exitCode, quick.timedOut]).toEqual([0, false])
  }, 30_000)
})
