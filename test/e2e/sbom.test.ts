/**
 * An SBOM from a real scanner: syft, built from its Go module into the bench's scanner image
 * (scripts/bench/sbom-scanner.sh, with our glue for BuildKit's SBOM generator protocol), run by
 * BuildKit during the build. One release of examples/hello's CLI with `sbom: true` on two
 * platforms, on the engine's own builder (`docker` driver, Docker 26's BuildKit, containerd
 * store). What is checked is what the registry holds: per platform, an attestation manifest whose
 * SPDX statement lists the Go module the binary was built with and the binary itself.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { release } from '../fixtures/events.js'
import { runAction, ROOT, type ActionRun } from '../harness/runner.js'
import {
  docker,
  exampleWorkspace,
  REGISTRY,
  removeImages,
  requireBench,
  sbomScanner,
  tagsOf,
  uniqueRepo
} from './bench.js'

const MINUTES = 60_000
const SPDX = 'https://spdx.dev/Document'

interface Descriptor {
  digest: string
  platform?: { os: string; architecture: string }
  annotations?: Record<string, string>
}

interface SpdxDocument {
  creationInfo: { creators: string[] }
  packages: { name: string; versionInfo?: string; sourceInfo?: string }[]
  files?: { fileName: string; comment?: string }[]
}

/** The version of `module` that examples/hello's go.mod requires. */
function required(module: string): string {
  const gomod = readFileSync(join(ROOT, 'examples', 'hello', 'go.mod'), 'utf8')
  const v = new RegExp(`^\\s*(?:require\\s+)?${module.replace(/\./g, '\\.')}\\s+(v\\S+)`, 'm').exec(
    gomod
  )?.[1]
  if (!v) throw new Error(`examples/hello/go.mod does not require ${module}`)
  return v
}

describe('sbom: true with the bench scanner: the pushed index carries an SPDX SBOM per platform', () => {
  const repo = `${uniqueRepo('sbom')}/hello-cli`
  const image = `${REGISTRY}/${repo}`
  const scanner = sbomScanner()
  let r: ActionRun

  /** A blob (`blobs`) or manifest (`manifests`) of the repository, by digest, from the registry. */
  async function registryGet(kind: 'blobs' | 'manifests', digest: string): Promise<string> {
    const res = await fetch(`http://${REGISTRY}/v2/${repo}/${kind}/${digest}`, {
      headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' }
    })
    if (!res.ok) throw new Error(`${kind} ${digest}: HTTP ${res.status}`)
    return res.text()
  }

  beforeAll(async () => {
    requireBench()
    const fx = release('v1.4.0')
    r = await runAction({
      ...fx,
      workspace: exampleWorkspace('hello'),
      inputs: {
        image,
        dockerfile: 'cmd/hello-cli/Dockerfile',
        platforms: 'linux/amd64,linux/arm64',
        'go-gate': 'false',
        cache: 'false',
        sbom: 'true',
        'sbom-scanner': scanner.image
      }
    })
  }, 15 * MINUTES)

  afterAll(() => removeImages(tagsOf(r)))

  it('releases; smoke tests and architecture checks see the two platforms, not the attestations', () => {
    expect(r.main.annotations.filter(a => a.command !== 'notice')).toEqual([])
    expect(r.main.exitCode).toBe(0)
    expect(r.main.stdout).toMatch(
      /\[command\]\S*docker buildx build .*--sbom=generator=127\.0\.0\.1:5000\/mirror\/sbom-scanner:/
    )
    const platforms = JSON.parse(r.main.outputs.metadata).images[0].platformResults as {
      platform: string
      smoke?: { ok: boolean }
      architecture?: { status: string }
      attestations?: string[]
    }[]
    expect(platforms.map(p => p.platform)).toEqual(['linux/amd64', 'linux/arm64'])
    for (const p of platforms) {
      expect(p.smoke?.ok).toBe(true)
      expect(p.architecture?.status).toBe('verified')
      expect(p.attestations).toContain(SPDX)
    }
  })

  it(
    'pushes per platform an attestation manifest with an SPDX statement listing golang.org/x/text and the binary',
    async () => {
      const index = JSON.parse(
        docker(['buildx', 'imagetools', 'inspect', '--raw', `${image}:1.4.0`])
      ) as {
        manifests: Descriptor[]
      }
      const images = index.manifests.filter(m => m.platform?.os !== 'unknown')
      expect(images.map(m => `${m.platform?.os}/${m.platform?.architecture}`)).toEqual([
        'linux/amd64',
        'linux/arm64'
      ])
      expect(index.manifests).toHaveLength(4)
      for (const m of images) {
        const att = index.manifests.find(
          a => a.annotations?.['vnd.docker.reference.digest'] === m.digest
        )
        expect(att?.platform).toEqual({ os: 'unknown', architecture: 'unknown' })
        expect(att?.annotations?.['vnd.docker.reference.type']).toBe('attestation-manifest')
        const layers = (
          JSON.parse(await registryGet('manifests', att!.digest)) as { layers: Descriptor[] }
        ).layers
        const spdx = layers.filter(l => l.annotations?.['in-toto.io/predicate-type'] === SPDX)
        expect(spdx).toHaveLength(1)
        const statement = JSON.parse(await registryGet('blobs', spdx[0].digest)) as {
          predicateType: string
          subject: { digest: { sha256: string } }[]
          predicate: SpdxDocument
        }
        expect(statement.predicateType).toBe(SPDX)
        // the statement is about this platform's image (BuildKit sets the subject)
        expect(statement.subject.map(s => `sha256:${s.digest.sha256}`)).toContain(m.digest)
        const doc = statement.predicate
        expect(doc.creationInfo.creators).toContain(
          `Tool: syft-${scanner.syftVersion.replace(/^v/, '')}`
        )
        // read from the binary's build info: the module dependency, at go.mod's version
        expect(doc.packages).toContainEqual(
          expect.objectContaining({
            name: 'golang.org/x/text',
            versionInfo: required('golang.org/x/text')
          })
        )
        expect(doc.packages).toContainEqual(
          expect.objectContaining({
            sourceInfo: expect.stringContaining('/usr/local/bin/hello-cli')
          })
        )
        // the binary, which BuildKit found in one of the image's layers (the core SBOM's files)
        expect(doc.files).toContainEqual(
          expect.objectContaining({
            fileName: 'usr/local/bin/hello-cli',
            comment: expect.stringMatching(/^layerID: sha256:[0-9a-f]{64}$/)
          })
        )
      }
    },
    2 * MINUTES
  )

  it('says what each platform is attested with in the summary', () => {
    expect(r.main.summary).toContain(
      '| | attestations | linux/amd64: SBOM (SPDX), provenance (SLSA); linux/arm64: SBOM (SPDX), provenance (SLSA) | | | |'
    )
  })
})
