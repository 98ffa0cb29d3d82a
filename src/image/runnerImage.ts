/**
 * A runner build's image made by the action itself, as ko makes one: the base read from its
 * registry (blobs cached by digest), one layer with the binary, config, manifests and index
 * written as an OCI layout, loaded into the engine for the smoke tests (its image ID checked
 * against the written digest), and each platform's executable checked from the same layout.
 */
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { BuiltImage } from '../docker/build.js'
import { readLayout } from '../docker/image.js'
import { verifyArchitecture } from '../docker/verify.js'
import type { AttestationPlan, PlannedImage } from '../plan/plan.js'
import type { RegistryClient } from '../registry/client.js'
import { tempDir } from '../tempDir.js'
import { parseBaseRef, readBase, scratchBase, type BasePlatform } from './base.js'
import { loadLayout } from './load.js'
import { writeImage } from './write.js'

/** What every runner image of a run shares. */
export interface RunnerImageOptions {
  /** Where base blobs are kept by digest. */
  cacheDir: string
  /** A registry client per registry host. */
  client: (registry: string) => RegistryClient
  sourceDateEpoch: number
  attestations: AttestationPlan
  source: string
  commit: string
  /** Keep the layout for the push. */
  keep: boolean
}

/**
 * The base image of every platform of a runner build the action writes (none for `scratch`),
 * read from its registry: it needs no binary, so it can be read while they are built.
 */
export async function readRunnerBase(
  image: PlannedImage,
  o: RunnerImageOptions
): Promise<Map<string, BasePlatform>> {
  const baseImage = image.runnerBuild?.generated?.baseImage
  if (!baseImage) throw new Error(`internal: ${image.name} is not written by the action`)
  if (baseImage === 'scratch') return scratchBase(image.platforms)
  const ref = parseBaseRef(baseImage, `${image.origin}.base-image`)
  return readBase(ref, image.platforms, o.client(ref.registry), o.cacheDir)
}

/** When an image's binaries are there (by default, all of them already are). */
export interface BinariesReady {
  /** Settles once a platform's binary is built: its layer is written then. */
  ready: (platform: string) => Promise<void>
  /** Settles once all are built and checked: the image is loaded only then. */
  checked: Promise<void>
}

const ALL_THERE: BinariesReady = { ready: () => Promise.resolve(), checked: Promise.resolve() }

/**
 * Writes and loads one runner build's image, each platform's layer as soon as its binary is built;
 * resolves, once it is in the engine, to the read of its architecture checks (a promise in an
 * object: awaiting it must not wait for the read; collected with the smoke tests, like a BuildKit
 * image's read-back) and the line for the log (several images are written at once; the caller
 * prints their lines in the plan's order).
 */
export async function writeRunnerImage(
  image: PlannedImage,
  o: RunnerImageOptions,
  base: Promise<Map<string, BasePlatform>> = readRunnerBase(image, o),
  binaries: BinariesReady = ALL_THERE
): Promise<{ read: Promise<BuiltImage>; note: string }> {
  const rb = image.runnerBuild
  if (!rb?.generated) throw new Error(`internal: ${image.name} is not written by the action`)
  // when the last binary was built and checked, for the time the image still took after it
  let checkedAt = Date.now()
  const checked = binaries.checked.then(() => void (checkedAt = Date.now()))
  checked.catch(() => undefined)
  const basePlatforms = await base
  const layout = join(await tempDir('image-'), 'layout')
  const written = await writeImage(layout, image, {
    generated: rb.generated,
    binaries: new Map(image.platforms.map(p => [p, join(rb.outDir, p, rb.binary)])),
    ready: binaries.ready,
    base: basePlatforms,
    sourceDateEpoch: o.sourceDateEpoch,
    attestations: o.attestations,
    source: o.source,
    commit: o.commit,
    main: rb.main
  })
  // nothing of an image whose binaries failed their check goes into the engine
  await checked
  const writeEnd = Date.now()
  await loadLayout(layout, image.versionTag, written.digest)
  const seconds = (ms: number): string => (Math.max(0, ms) / 1000).toFixed(1)
  const times = `written ${seconds(writeEnd - checkedAt)} s after its last binary, load ${seconds(Date.now() - writeEnd)} s`
  const note = `${image.name}: ${written.digest} written and loaded (${times}): ${written.manifests.map(m => `${m.platform} ${m.digest.slice(7, 19)}`).join(', ')}`
  const read = (async (): Promise<BuiltImage> => {
    try {
      // read back as a BuildKit image is: sizes, and what each platform is attested with
      const { manifests } = await readLayout(layout)
      const architecture = await verifyArchitecture(layout, manifests)
      return {
        image,
        digest: written.digest,
        manifests,
        layout: o.keep ? layout : undefined,
        architecture,
        sources: written.sources
      }
    } finally {
      if (!o.keep) await rm(layout, { recursive: true, force: true })
    }
  })()
  return { read, note }
}
