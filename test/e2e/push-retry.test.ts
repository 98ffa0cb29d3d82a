/**
 * Pushing through a registry that fails the way the CNCF registry's filesystem driver does under
 * Docker 26's concurrent per-platform PUTs: `HEAD /v2/<repo>/manifests/<tag>` answered with 500
 * ("invalid checksum digest format"). A small proxy in front of the real registry on 127.0.0.1:5000
 * injects the failure; everything else is forwarded untouched, so the engine, buildx and the real
 * registry do the work.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { createServer, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { runAction, type ActionRun } from '../harness/runner.js'
import { release } from '../fixtures/events.js'
import {
  exampleWorkspace,
  registryTags,
  remoteIndex,
  removeImages,
  requireBench,
  tagsOf,
  uniqueRepo
} from './bench.js'

const MINUTES = 60_000

interface FaultyRegistry {
  host: string
  /** The requests answered with the injected 500, as `METHOD path`. */
  injected: string[]
  close(): Promise<void>
}

/**
 * A proxy to 127.0.0.1:5000 that answers the first `failures[tag]` HEAD requests for the manifest
 * `<tag>` with the registry's own 500 body. The Host header is forwarded unchanged, so the
 * registry's upload Locations point back at the proxy.
 */
async function faultyRegistry(failures: Record<string, number>): Promise<FaultyRegistry> {
  const injected: string[] = []
  const left = { ...failures }
  const server: Server = createServer((req, res) => {
    const url = req.url ?? '/'
    const tag = /\/manifests\/([^/]+)$/.exec(url)?.[1]
    if (req.method === 'HEAD' && tag !== undefined && (left[tag] ?? 0) > 0) {
      left[tag]--
      injected.push(`${req.method} ${url}`)
      res.writeHead(500, { 'Content-Type': 'application/json; charset=utf-8' })
      res.end(
        JSON.stringify({
          errors: [
            { code: 'UNKNOWN', message: 'unknown error', detail: 'invalid checksum digest format' }
          ]
        })
      )
      return
    }
    const upstream = request(
      { host: '127.0.0.1', port: 5000, method: req.method, path: url, headers: req.headers },
      up => {
        res.writeHead(up.statusCode ?? 502, up.headers)
        up.pipe(res)
      }
    )
    upstream.on('error', e => res.destroy(e))
    req.pipe(upstream)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    host: `127.0.0.1:${port}`,
    injected,
    close: () =>
      new Promise<void>(resolve => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}

function publish(image: string): Promise<ActionRun> {
  return runAction({
    ...release('v1.2.3'),
    workspace: exampleWorkspace('hello'),
    inputs: {
      image,
      dockerfile: 'cmd/hello-cli/Dockerfile',
      platforms: 'linux/amd64,linux/arm64',
      cache: 'false',
      'go-gate': 'false'
    }
  })
}

const annotations = (r: ActionRun, kind: string): string[] =>
  r.main.annotations.filter(a => a.command === kind).map(a => a.message)

beforeAll(() => requireBench())

describe('one registry error on each tag', () => {
  const repo = uniqueRepo('retry')
  let registry: FaultyRegistry
  let r: ActionRun

  beforeAll(async () => {
    registry = await faultyRegistry({ '1.2.3': 1, latest: 1 })
    r = await publish(`${registry.host}/${repo}/hello-cli`)
  }, 15 * MINUTES)
  afterAll(async () => {
    await registry?.close()
    removeImages(tagsOf(r))
  })

  it('is retried, with a warning naming the operation and the error, and the run succeeds', () => {
    expect(registry.injected).toEqual([
      `HEAD /v2/${repo}/hello-cli/manifests/1.2.3`,
      `HEAD /v2/${repo}/hello-cli/manifests/latest`
    ])
    expect(annotations(r, 'error')).toEqual([])
    expect(r.main.exitCode).toBe(0)
    const warnings = annotations(r, 'warning').filter(w => w.includes('registry error'))
    // docker push's own look at the version tag, then the action's look at the current latest
    // (latest never moves backwards) before its push
    expect(warnings).toHaveLength(2)
    expect(warnings[0]).toContain(`docker push ${registry.host}/${repo}/hello-cli:1.2.3 failed`)
    expect(warnings[1]).toContain(`inspecting ${registry.host}/${repo}/hello-cli:latest failed`)
    for (const w of warnings) {
      expect(w).toContain('500 Internal Server Error')
      expect(w).toContain('attempt 2 of 3')
    }
  })

  it('publishes the tested index under both tags', async () => {
    expect(await registryTags('127.0.0.1:5000', `${repo}/hello-cli`)).toEqual(['1.2.3', 'latest'])
    const digest = (JSON.parse(r.main.outputs.digests) as Record<string, string>)[
      `${registry.host}/${repo}/hello-cli`
    ]
    expect(remoteIndex(`127.0.0.1:5000/${repo}/hello-cli:1.2.3`).digest).toBe(digest)
    expect(remoteIndex(`127.0.0.1:5000/${repo}/hello-cli:latest`).digest).toBe(digest)
  })
})

describe('a registry that keeps failing', () => {
  const repo = uniqueRepo('retry-fail')
  let registry: FaultyRegistry
  let r: ActionRun

  beforeAll(async () => {
    registry = await faultyRegistry({ '1.2.3': 100 })
    r = await publish(`${registry.host}/${repo}/hello-cli`)
  }, 15 * MINUTES)
  afterAll(async () => {
    await registry?.close()
    removeImages(tagsOf(r))
  })

  it('fails the run after three attempts, naming the tag, and never tags latest', async () => {
    expect(r.main.exitCode).not.toBe(0)
    // docker push asks before each attempt
    expect(registry.injected.length).toBeGreaterThanOrEqual(3)
    const warnings = annotations(r, 'warning').filter(w => w.includes('registry error'))
    expect(warnings).toHaveLength(2)
    for (const w of warnings)
      expect(w).toContain(`docker push ${registry.host}/${repo}/hello-cli:1.2.3 failed`)
    const errors = annotations(r, 'error')
    expect(errors).toHaveLength(1)
    expect(errors[0]).toContain('500 Internal Server Error')
    expect(errors[0]).toContain(`${repo}/hello-cli/manifests/1.2.3`)
    expect(await registryTags('127.0.0.1:5000', `${repo}/hello-cli`)).toEqual([])
  })
})
