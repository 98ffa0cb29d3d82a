import { describe, expect, it } from '@jest/globals'
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { extract, type Header } from 'tar-stream'
import { parseBaseRef, scratchBase } from '../src/image/base.js'
import { runnerConfig } from '../src/image/config.js'
import { buildLayer } from '../src/image/layer.js'
import { provenanceStatement, purl } from '../src/image/provenance.js'
import { writeImage, type WriteOptions } from '../src/image/write.js'
import { buildPlan, type PlannedImage } from '../src/plan/plan.js'
import { imageWriter, type GeneratedDockerfileOptions } from '../src/plan/runnerBuild.js'
import { contextOf } from '../test/fixtures/context.js'
import { release } from '../test/fixtures/events.js'
import { inputsFor } from '../test/fixtures/inputs.js'

const generated: GeneratedDockerfileOptions = {
  baseImage: 'scratch',
  binary: 'app',
  labels: {},
  expose: [],
  user: '65532:65532',
  cmd: [],
  files: false
}

describe('who writes a runner build image', () => {
  it.each([
    ['a generated Dockerfile, no attestation', {}, 'action'],
    ['a minimal provenance (written by the action)', { provenance: 'min' }, 'action'],
    ["the image's own Dockerfile", { generated: undefined }, 'buildkit'],
    ['files', { generated: { ...generated, files: true } }, 'buildkit'],
    ['an SBOM', { sbomScanner: 'scanner:1' }, 'buildkit'],
    ['provenance max', { provenance: 'max' }, 'buildkit'],
    ['a platform job', { mode: 'platform' }, 'buildkit']
  ] as const)('%s: %s', (_what, o, writer) => {
    const opts = { generated, mode: 'all', provenance: 'false', ...o } as {
      generated?: GeneratedDockerfileOptions
      mode: string
      provenance: string
      sbomScanner?: string
    }
    const got = imageWriter({
      generated: 'generated' in o ? o.generated : generated,
      mode: opts.mode,
      attestations: { provenance: opts.provenance, sbomScanner: opts.sbomScanner }
    })
    expect(got.writer).toBe(writer)
    expect(got.writerNote).not.toBe('')
  })

  it('is in the plan, with its reason printed', () => {
    const plan = buildPlan(
      inputsFor({
        images: '- name: 127.0.0.1:5000/acme/app\n  main: ./cmd/app\n  base-image: scratch'
      }),
      contextOf(release('v1.2.3')),
      { now: new Date(0), nodeArch: 'x64', dockerfiles: {} }
    )
    expect(plan.images[0].runnerBuild).toMatchObject({
      writer: 'action',
      generated: { baseImage: 'scratch', binary: 'app', user: '65532:65532' }
    })
  })
})

describe('the image config of a runner build', () => {
  const base = {
    architecture: 'arm',
    os: 'linux',
    config: {
      Env: ['PATH=/bin'],
      WorkingDir: '/home/nonroot',
      Cmd: ['/bin/sh'],
      Labels: { base: 'yes', 'org.opencontainers.image.version': 'base' }
    },
    history: [{ created_by: 'base' }],
    rootfs: { type: 'layers', diff_ids: ['sha256:base'] }
  }
  const opts = {
    ...generated,
    platform: 'linux/arm/v7',
    labels: { 'org.opencontainers.image.version': '1.2.3' },
    diffId: 'sha256:ours',
    created: '2019-05-15T15:20:53Z'
  }

  it('keeps the base env and working directory; sets user, entrypoint, labels and the layer', () => {
    const c = runnerConfig(base, opts) as Record<string, any>
    expect(c).toMatchObject({ os: 'linux', architecture: 'arm', variant: 'v7' })
    expect(c.created).toBe('2019-05-15T15:20:53Z')
    expect(c.config).toEqual({
      Env: ['PATH=/bin'],
      WorkingDir: '/home/nonroot',
      User: '65532:65532',
      Entrypoint: ['/app'],
      Labels: { base: 'yes', 'org.opencontainers.image.version': '1.2.3' }
    })
    expect(c.rootfs.diff_ids).toEqual(['sha256:base', 'sha256:ours'])
    expect(c.history).toHaveLength(2)
  })

  it('sets CMD and the exposed ports when given (EXPOSE 9100 is 9100/tcp)', () => {
    const c = runnerConfig(base, { ...opts, cmd: ['serve'], expose: ['9100', '51820/udp'] }) as {
      config: Record<string, unknown>
    }
    expect(c.config['Cmd']).toEqual(['serve'])
    expect(c.config['ExposedPorts']).toEqual({ '9100/tcp': {}, '51820/udp': {} })
  })
})

describe('the binary layer', () => {
  const entries = async (gz: Buffer): Promise<Header[]> => {
    const x = extract()
    const out: Header[] = []
    x.end(gunzipSync(gz))
    for await (const e of x) {
      out.push(e.header)
      e.resume()
    }
    return out
  }

  it('is the same bytes for the same binary and date, root-owned, 0755, at the release date', async () => {
    const bin = Buffer.from('\x7fELF binary')
    const a = await buildLayer([{ name: 'app', bytes: bin, mode: 0o755 }], 1557933653.25)
    const b = await buildLayer([{ name: 'app', bytes: bin, mode: 0o755 }], 1557933653.25)
    expect(b.digest).toBe(a.digest)
    expect(b.diffId).toBe(a.diffId)
    expect(a.digest).not.toBe(a.diffId)
    const [h, ...rest] = await entries(a.bytes)
    expect(rest).toEqual([])
    expect(h).toMatchObject({ name: 'app', mode: 0o755, uid: 0, gid: 0, size: bin.length })
    expect(h.mtime.getTime()).toBe(1557933653000)
  })

  it('is compressed at gzip level 1, as ko compresses its layers (XFL byte 4: fastest)', async () => {
    const bin = Buffer.from('\x7fELF '.repeat(4096))
    const layer = await buildLayer([{ name: 'app', bytes: bin, mode: 0o755 }], 0)
    // RFC 1952: byte 8 is XFL, 4 when the compressor used its fastest algorithm
    expect(layer.bytes[8]).toBe(4)
  })

  it('differs when the binary does', async () => {
    const a = await buildLayer([{ name: 'app', bytes: Buffer.from('a'), mode: 0o755 }], 0)
    const b = await buildLayer([{ name: 'app', bytes: Buffer.from('b'), mode: 0o755 }], 0)
    expect(b.digest).not.toBe(a.digest)
  })
})

describe('base references and provenance', () => {
  it.each([
    ['127.0.0.1:5000/mirror/static:nonroot', '127.0.0.1:5000', 'mirror/static', 'nonroot'],
    ['alpine', 'docker.io', 'library/alpine', 'latest'],
    ['ghcr.io/o/base@sha256:abc', 'ghcr.io', 'o/base', 'sha256:abc']
  ])('%s', (raw, registry, repo, ref) => {
    expect(parseBaseRef(raw, 'base-image')).toEqual({ registry, repo, ref })
  })

  it('names subjects as BuildKit does, and holds no time', () => {
    expect(purl('127.0.0.1:5000/a/b:1.2.3', 'linux/arm/v7')).toBe(
      'pkg:docker/127.0.0.1%3A5000/a/b@1.2.3?platform=linux%2Farm%2Fv7'
    )
    expect(purl('127.0.0.1:5000/a/b@sha256:ab', 'linux/amd64')).toBe(
      'pkg:docker/127.0.0.1%3A5000/a/b@sha256:ab?platform=linux%2Famd64'
    )
    const s = JSON.parse(
      provenanceStatement({
        platform: 'linux/amd64',
        tags: ['r/a:1'],
        subject: 'sha256:ff',
        source: 'https://github.com/o/r',
        commit: 'c0ffee',
        main: './cmd/app'
      }).toString()
    )
    expect(s.subject).toEqual([
      { name: 'pkg:docker/r/a@1?platform=linux%2Famd64', digest: { sha256: 'ff' } }
    ])
    expect(JSON.stringify(s)).not.toMatch(/On"|InvocationID/)
  })
})

describe('an image written while its binaries are built', () => {
  const platforms = ['linux/amd64', 'linux/arm64']
  const image = {
    name: 'r.example/app',
    platforms,
    tags: ['r.example/app:1.0.0'],
    annotations: {}
  } as unknown as PlannedImage
  /** Two different "binaries" in a directory of their own. */
  function binaries(): Map<string, string> {
    const dir = mkdtempSync(join(tmpdir(), 'gia-writer-'))
    return new Map(
      platforms.map(p => {
        const file = join(dir, p.replace('/', '-'))
        writeFileSync(file, `binary for ${p}\n`.repeat(1000))
        return [p, file]
      })
    )
  }
  const options = (bins: Map<string, string>): WriteOptions => ({
    generated,
    binaries: bins,
    base: scratchBase(platforms),
    sourceDateEpoch: 1_700_000_000,
    attestations: { provenance: 'false' } as WriteOptions['attestations'],
    source: '',
    commit: 'c0ffee',
    main: './cmd/app'
  })
  const blobs = (layout: string): string[] => {
    try {
      return readdirSync(join(layout, 'blobs', 'sha256'))
    } catch {
      return []
    }
  }

  it("writes a platform's layer as soon as its binary is there, the same image in the end", async () => {
    const bins = binaries()
    const whole = await writeImage(
      join(mkdtempSync(join(tmpdir(), 'gia-layout-')), 'l'),
      image,
      options(bins)
    )
    let arm64 = (): void => undefined
    const arm64Built = new Promise<void>(resolve => (arm64 = resolve))
    const layout = join(mkdtempSync(join(tmpdir(), 'gia-layout-')), 'l')
    let settled = false
    const writing = writeImage(layout, image, {
      ...options(bins),
      ready: p => (p === 'linux/arm64' ? arm64Built : Promise.resolve())
    }).finally(() => (settled = true))
    // linux/amd64's layer, config and manifest, while linux/arm64's binary is still "built"
    for (let i = 0; i < 200 && blobs(layout).length < 3; i++)
      await new Promise(r => setTimeout(r, 10))
    expect(blobs(layout)).toHaveLength(3)
    expect(settled).toBe(false)
    arm64()
    const written = await writing
    expect(written.digest).toBe(whole.digest)
    expect(blobs(layout)).toHaveLength(7)
  })
})
