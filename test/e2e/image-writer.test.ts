/**
 * A runner build's image written by the action (src/image/), through the registry proxy
 * (test/registry-proxy) that records every request: the same release pushed to a second
 * repository of the same registry mounts the base's layers instead of uploading them, and pushed
 * again to the first uploads nothing; the base's blobs are fetched once per runner (a tool cache
 * shared by the runs); the three runs give the same digests; and what the engine smoke-tested is
 * the index the registry holds.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runAction, type ActionRun } from '../harness/runner.js'
import { release } from '../fixtures/events.js'
import { startRegistryProxy, type RegistryProxy } from '../registry-proxy/proxy.js'
import {
  docker,
  exampleWorkspace,
  removeImages,
  requireBench,
  tagsOf,
  uniqueRepo
} from './bench.js'

const MINUTES = 60_000
const PLATFORMS = ['linux/amd64', 'linux/arm64']
const ACCEPT =
  'application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json'

const proxy: RegistryProxy = await startRegistryProxy()
const toolCache = mkdtempSync(join(tmpdir(), 'gia-e2e-toolcache-'))
const runs: ActionRun[] = []

/** Publishes release v7.1.0 of hello-cli to `repo` behind the proxy, on the base behind it too. */
async function publish(repo: string): Promise<{ run: ActionRun; requests: string[] }> {
  const from = proxy.requests.length
  const event = release('v7.1.0')
  const run = await runAction({
    ...event,
    workspace: exampleWorkspace('hello'),
    env: { ...event.env, RUNNER_TOOL_CACHE: toolCache },
    inputs: {
      images: [
        `- name: ${proxy.host}/${repo}`,
        '  main: ./cmd/hello-cli',
        `  base-image: ${proxy.host}/mirror/static:nonroot`
      ].join('\n'),
      platforms: PLATFORMS.join(','),
      'go-gate': 'false',
      cache: 'false',
      provenance: 'false'
    }
  })
  runs.push(run)
  return { run, requests: proxy.requests.slice(from) }
}

/** The layer digests of the base's platforms, read from the registry itself. */
async function baseLayers(): Promise<string[]> {
  const get = async (ref: string): Promise<Record<string, any>> =>
    (
      await fetch(`http://127.0.0.1:5000/v2/mirror/static/manifests/${ref}`, {
        headers: { Accept: ACCEPT }
      })
    ).json() as Promise<Record<string, any>>
  const index = await get('nonroot')
  const layers: string[] = []
  for (const m of index.manifests) {
    const p = `${m.platform.os}/${m.platform.architecture}`
    if (PLATFORMS.includes(p))
      layers.push(...(await get(m.digest)).layers.map((l: any) => l.digest))
  }
  return [...new Set(layers)]
}

const digestOf = (r: ActionRun): string =>
  Object.values(JSON.parse(r.main.outputs['digests'] ?? '{}') as Record<string, string>)[0]
/** Blob uploads (the final PUT of an upload names the digest) in a request log. */
const uploads = (requests: string[], repo: string): string[] =>
  requests
    .filter(r => r.startsWith(`PUT /v2/${repo}/blobs/uploads/`))
    .map(r => decodeURIComponent(/digest=([^&]+)/.exec(r)?.[1] ?? ''))

beforeAll(() => requireBench())
afterAll(async () => {
  await proxy.close()
  removeImages(runs.flatMap(tagsOf))
  rmSync(toolCache, { recursive: true, force: true })
})

describe('a runner-build image written and pushed by the action', () => {
  const repoA = `${uniqueRepo('writer-a')}/hello-cli`
  const repoB = `${uniqueRepo('writer-b')}/hello-cli`
  let a: { run: ActionRun; requests: string[] }
  let b: { run: ActionRun; requests: string[] }
  let again: { run: ActionRun; requests: string[] }
  let base: string[]

  beforeAll(async () => {
    base = await baseLayers()
    a = await publish(repoA)
    b = await publish(repoB)
    again = await publish(repoA)
  }, 15 * MINUTES)

  it('publishes, smoke-tested, every run', () => {
    for (const r of [a, b, again]) {
      expect(r.run.main.annotations.filter(x => x.command === 'error')).toEqual([])
      expect(r.run.main.exitCode).toBe(0)
      expect(r.run.main.stdout).toContain('written and loaded')
    }
    expect(base.length).toBeGreaterThan(0)
  })

  it('gives the same digests for the same release, whatever the repository', () => {
    expect(digestOf(b.run)).toBe(digestOf(a.run))
    expect(digestOf(again.run)).toBe(digestOf(a.run))
  })

  it("mounts the base's layers into a new repository of the same registry, never uploads them", () => {
    const sent = uploads(b.requests, repoB)
    expect(sent.filter(d => base.includes(d))).toEqual([])
    // the binary's layer and the config of each platform: nothing else crosses the wire
    expect(sent).toHaveLength(2 * PLATFORMS.length)
    for (const d of base)
      expect(b.requests).toContainEqual(
        expect.stringMatching(
          new RegExp(
            `^POST /v2/${repoB}/blobs/uploads/\\?mount=${encodeURIComponent(d)}&from=mirror%2Fstatic`
          )
        )
      )
  })

  it('pushes the same release again without uploading or mounting a blob', () => {
    expect(again.requests.filter(r => r.startsWith(`POST /v2/${repoA}/blobs/uploads/`))).toEqual([])
    expect(uploads(again.requests, repoA)).toEqual([])
  })

  it("fetches the base's blobs once per runner (its tool cache)", () => {
    const gets = (rs: string[]): string[] =>
      rs.filter(r => r.startsWith('GET /v2/mirror/static/blobs/'))
    expect(gets(a.requests).length).toBeGreaterThan(0)
    expect(gets(b.requests)).toEqual([])
    expect(gets(again.requests)).toEqual([])
  })

  it('smoke-tested in the engine the very index the registry holds', async () => {
    const res = await fetch(`http://127.0.0.1:5000/v2/${repoA}/manifests/7.1.0`, {
      method: 'HEAD',
      headers: { Accept: ACCEPT }
    })
    const pushed = res.headers.get('docker-content-digest')
    const ref = `${proxy.host}/${repoA}:7.1.0`
    expect(docker(['image', 'inspect', '--format', '{{.Id}}', ref]).trim()).toBe(pushed)
    expect(pushed).toBe(digestOf(again.run))
  })
})
