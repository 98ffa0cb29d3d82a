/**
 * Publishing the tested image. The bytes come from the engine's store as saved after the build
 * (an OCI layout, see readLoaded), never from a local tag: blobs, then each platform manifest,
 * then the index, all by digest, and the index read back and checked. Only then is each tag
 * pointed at it, one manifest PUT per tag, each verified: a tag is either unchanged or on the
 * tested index. Floating tags (`latest`, `1`, `1.2`) come last, only when every version tag of
 * every image is in, and follow the highest stable release in the repository's tag list.
 */
import * as core from '@actions/core'
import { readFile, rm, stat } from 'node:fs/promises'
import semver from 'semver'
import type { PublishTarget, FloatingTag } from '../plan/publish.js'
import { taggedVersions } from '../plan/publish.js'
import { parseImageName } from '../plan/reference.js'
import { dockerCredentials } from '../registry/auth.js'
import { RegistryClient, sha256 } from '../registry/client.js'
import type { ImageResult, TagResult } from '../results.js'
import type { BuiltImage } from './build.js'
import { blobPath, isIndexType, layoutRoot, type Descriptor } from './image.js'
import { limit } from '../limit.js'
import { retryTransient } from './retry.js'

/** A manifest (index or single image) as bytes, with its digest and media type. */
export interface ManifestBytes {
  digest: string
  mediaType: string
  bytes: Buffer
}

/** Everything to upload for one image: blobs (configs, layers), child manifests, the index. */
export interface ImageContent {
  root: ManifestBytes
  /** The platform manifests of an index (empty for a single-manifest image). */
  children: ManifestBytes[]
  blobs: { digest: string; size: number; file: string }[]
}

/** How many blobs (or manifests) of one image are pushed at once. */
const PUSH_PARALLEL = 4

/** How many times a floating tag is checked again after a write before the run gives up. */
const FLOAT_ROUNDS = 5

/** Reads an image's manifests and blob list from its saved OCI layout, checking every digest. */
export async function layoutContent(layout: string, digest: string): Promise<ImageContent> {
  const read = async (d: Descriptor): Promise<ManifestBytes> => {
    const bytes = await readFile(blobPath(layout, d.digest))
    if (sha256(bytes) !== d.digest) throw new Error(`${layout}: blob ${d.digest} is corrupt`)
    const mediaType = d.mediaType ?? (JSON.parse(bytes.toString('utf8')) as Descriptor).mediaType
    return { digest: d.digest, mediaType: mediaType as string, bytes }
  }
  const top = await layoutRoot(layout)
  if (top.digest !== digest)
    throw new Error(`${layout} holds ${top.digest}, not the tested image ${digest}`)
  const root = await read(top)
  const children = isIndexType(root.mediaType)
    ? await Promise.all(
        (
          (JSON.parse(root.bytes.toString('utf8')) as { manifests: Descriptor[] }).manifests ?? []
        ).map(read)
      )
    : []
  const blobs = new Map<string, { digest: string; size: number; file: string }>()
  for (const m of children.length > 0 ? children : [root]) {
    const parsed = JSON.parse(m.bytes.toString('utf8')) as {
      config: Descriptor
      layers?: Descriptor[]
    }
    for (const d of [parsed.config, ...(parsed.layers ?? [])]) {
      const file = blobPath(layout, d.digest)
      const size = (await stat(file)).size
      if (size !== d.size)
        throw new Error(`${layout}: blob ${d.digest} has ${size} bytes, not ${d.size}`)
      blobs.set(d.digest, { digest: d.digest, size, file })
    }
  }
  return { root, children, blobs: [...blobs.values()] }
}

/**
 * Uploads an image by digest: missing blobs, each platform manifest, then the index; reads the
 * index back and checks its digest. No tag is touched.
 */
export async function pushByDigest(
  client: RegistryClient,
  repo: string,
  content: ImageContent,
  mountFrom: (digest: string) => string | undefined = () => undefined
): Promise<void> {
  const where = `${client.registry}/${repo}`
  // several at once: each is a round trip or more, and the registry serves them side by side
  await limit(content.blobs, PUSH_PARALLEL, b =>
    retryTransient(`upload of blob ${b.digest.slice(0, 19)} to ${where}`, async () => {
      if (await client.blobExists(repo, b.digest)) return
      const from = mountFrom(b.digest)
      if (from && (await client.mountBlob(repo, b.digest, from))) return
      await client.uploadBlob(repo, b.digest, b.file, b.size)
    })
  )
  const put = (m: ManifestBytes): Promise<void> =>
    retryTransient(`PUT manifest ${where}@${m.digest}`, async () => {
      const got = await client.putManifest(repo, m.digest, m.bytes, m.mediaType)
      if (got !== m.digest) throw new Error(`${where}: the registry stored ${got} for ${m.digest}`)
    })
  // the platform manifests (their blobs are in), then the index that names them
  await limit(content.children, PUSH_PARALLEL, put)
  await put(content.root)
  const back = await retryTransient(`GET manifest ${where}@${content.root.digest}`, () =>
    client.getManifest(repo, content.root.digest)
  )
  if (back?.digest !== content.root.digest) {
    throw new Error(`${where}@${content.root.digest} reads back as ${back?.digest ?? 'nothing'}`)
  }
}

/**
 * Points a tag at an index already pushed by digest (one manifest PUT of the same bytes) and
 * checks that the tag now resolves to it. Exported for the merge mode.
 */
export async function tagIndex(
  client: RegistryClient,
  repo: string,
  index: ManifestBytes,
  tag: string
): Promise<void> {
  const ref = `${client.registry}/${repo}:${tag}`
  await retryTransient(`PUT ${ref}`, () =>
    client.putManifest(repo, tag, index.bytes, index.mediaType)
  )
  const now = await retryTransient(`HEAD ${ref}`, () => client.manifestDigest(repo, tag))
  if (now !== index.digest) {
    throw new Error(`${ref} resolves to ${now ?? 'nothing'} after the push, not ${index.digest}`)
  }
}

/**
 * Builds an OCI index of manifests already in the repository (platform manifests and their
 * attestation manifests, with their annotations; with index annotations,
 * e.g. the OCI labels), pushes it by digest and checks it: for the merge mode, where each
 * platform was pushed by digest in a job of its own.
 */
export async function createIndex(
  client: RegistryClient,
  repo: string,
  manifests: (Required<Pick<Descriptor, 'mediaType' | 'digest' | 'size' | 'platform'>> &
    Pick<Descriptor, 'annotations'>)[],
  annotations: Record<string, string> = {}
): Promise<ManifestBytes> {
  const mediaType = 'application/vnd.oci.image.index.v1+json'
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType,
      manifests,
      ...(Object.keys(annotations).length > 0 ? { annotations } : {})
    })
  )
  const index = { digest: sha256(bytes), mediaType, bytes }
  await pushByDigest(client, repo, { root: index, children: [], blobs: [] })
  return index
}

/** What happened to one floating tag. */
export interface FloatingOutcome {
  /** The tag now points at this run's index. */
  moved: boolean
  /** Why it was left or moved elsewhere (a newer release in the repository). */
  note?: string
}

/**
 * Moves a floating tag to this run's index unless the repository's tag list holds a newer stable
 * version of its range; then reads the list again and, while a newer version appeared and the tag
 * is not on it (a release that raced this one), points the tag at that version's index. The
 * highest stable version wins whatever the order of the runs. Exported for the merge mode.
 */
export async function moveFloatingTag(
  client: RegistryClient,
  repo: string,
  index: ManifestBytes,
  floating: FloatingTag,
  versionTags: string[]
): Promise<FloatingOutcome> {
  const where = `${client.registry}/${repo}`
  const ours = semver.valid(floating.version)
  if (!ours) {
    await tagIndex(client, repo, index, floating.tag)
    return {
      moved: true,
      note: `${floating.tag}: ${floating.version} is not semver; moved without comparing`
    }
  }
  const top = async (): Promise<{ version: string; tag?: string }> => {
    const tags = await retryTransient(`GET tags of ${where}`, () => client.listTags(repo))
    const found = taggedVersions(tags, versionTags, ours).filter(v =>
      semver.satisfies(v.version, floating.range)
    )
    const best = [ours, ...found.map(v => v.version)].sort(semver.rcompare)[0]
    return semver.eq(best, ours)
      ? { version: ours }
      : { version: best, tag: found.find(v => v.version === best)?.tag }
  }
  const first = await top()
  if (first.tag) {
    return {
      moved: false,
      note: `${floating.tag} stays at ${first.version}: it is newer than ${ours}`
    }
  }
  await tagIndex(client, repo, index, floating.tag)
  for (let round = 1; round <= FLOAT_ROUNDS; round++) {
    const now = await top()
    const want = now.tag
      ? await retryTransient(`GET ${where}:${now.tag}`, () =>
          client.getManifest(repo, now.tag as string)
        )
      : index
    if (!want) throw new Error(`${where}:${now.tag} vanished while moving ${floating.tag}`)
    const current = await retryTransient(`HEAD ${where}:${floating.tag}`, () =>
      client.manifestDigest(repo, floating.tag)
    )
    if (current === want.digest) {
      return now.tag
        ? {
            moved: false,
            note: `${floating.tag} on ${now.version}: released while this run moved it`
          }
        : { moved: true }
    }
    core.info(
      `${where}:${floating.tag} is on ${current ?? 'nothing'}; pointing it at ${now.version} (${want.digest})`
    )
    await tagIndex(client, repo, want, floating.tag)
  }
  throw new Error(`${where}:${floating.tag} kept changing under this run (${FLOAT_ROUNDS} checks)`)
}

/** One RegistryClient per registry host, with the credentials `docker login` stored. */
export function registryClients(timeoutMs: number): (registry: string) => RegistryClient {
  const clients = new Map<string, RegistryClient>()
  return registry => {
    let c = clients.get(registry)
    if (!c) {
      c = new RegistryClient(registry, {
        timeoutMs,
        credentials: () => dockerCredentials(registry)
      })
      clients.set(registry, c)
    }
    return c
  }
}

/**
 * Where a blob of the image already is on `registry` (a written image's base layers): the
 * repository to mount it from, instead of uploading it.
 */
function sameRegistry(b: BuiltImage, registry: string): (digest: string) => string | undefined {
  return digest => {
    const source = b.sources?.get(digest)
    if (!source) return undefined
    const where = parseImageName(source, 'base-image')
    return where.registry === registry ? where.path : undefined
  }
}

/** Where a push step stands, for the results of a failure. */
interface Step {
  target: PublishTarget
  tag?: string
}

/**
 * Publishes every built image to every target: all by digest first, then version tags, verified
 * one by one; floating tags last, only when every version tag of every image is in. Each tag's outcome is
 * written into `results` as it happens, so a failure still reports exactly what was pushed.
 */
export async function pushAll(
  built: BuiltImage[],
  results: ImageResult[],
  opts: { timeoutMs: number }
): Promise<void> {
  const client = registryClients(opts.timeoutMs)
  const items = built.map(b => {
    const r = results.find(x => x.name === b.image.name) as ImageResult
    r.tags = b.image.publish.flatMap(t =>
      [...t.versionTags, ...t.floating.map(f => f.tag)].map(tag => ({
        ref: `${t.name}:${tag}`,
        status: 'not pushed' as TagResult['status']
      }))
    )
    return { b, r }
  })
  const mark = (r: ImageResult, ref: string, status: TagResult['status'], note?: string): void => {
    const t = r.tags?.find(x => x.ref === ref)
    if (t) Object.assign(t, { status, note })
    if (status === 'pushed' && !r.pushedTags.includes(ref)) r.pushedTags.push(ref)
  }
  let step: { r: ImageResult; at: Step } | undefined
  try {
    const contents: ImageContent[] = []
    for (const { b } of items) {
      if (!b.layout) throw new Error(`${b.image.name}: the tested image was not kept for the push`)
      contents.push(await layoutContent(b.layout, b.digest))
    }
    // Every image to every target by digest first, PUSH_PARALLEL at a time (no tag names them
    // yet): no tag moves unless all of them are in. The first failure, in the plan's order, is
    // the push's once they have all ended.
    const targets = items.flatMap(({ b, r }, i) =>
      b.image.publish.map(target => ({ b, r, i, target }))
    )
    const failures = await limit(targets, PUSH_PARALLEL, async ({ b, i, target }) => {
      const { registry, path } = parseImageName(target.name, 'image')
      return pushByDigest(client(registry), path, contents[i], sameRegistry(b, registry)).then(
        () => undefined,
        (e: unknown) => e ?? new Error(`${target.name}: push by digest failed`)
      )
    })
    for (const [n, { b, r, target }] of targets.entries()) {
      step = { r, at: { target } }
      if (failures[n] !== undefined) throw failures[n]
      core.info(`${target.name}@${b.digest}: pushed by digest and read back`)
    }
    for (const [i, { b, r }] of items.entries()) {
      for (const target of b.image.publish) {
        const { registry, path } = parseImageName(target.name, 'image')
        const content = contents[i]
        for (const tag of target.versionTags) {
          step = { r, at: { target, tag } }
          await tagIndex(client(registry), path, content.root, tag)
          mark(r, `${target.name}:${tag}`, 'pushed')
          core.info(`${target.name}:${tag} -> ${b.digest}`)
        }
      }
    }
    for (const [i, { b, r }] of items.entries()) {
      for (const target of b.image.publish) {
        const { registry, path } = parseImageName(target.name, 'image')
        for (const f of target.floating) {
          step = { r, at: { target, tag: f.tag } }
          const out = await moveFloatingTag(
            client(registry),
            path,
            contents[i].root,
            f,
            target.versionTags
          )
          mark(r, `${target.name}:${f.tag}`, out.moved ? 'pushed' : 'kept', out.note)
          if (out.note) {
            if (f.tag === 'latest') r.latestNote = out.note
            core.notice(`${target.name}: ${out.note}`)
          }
          if (out.moved) core.info(`${target.name}:${f.tag} -> ${b.digest}`)
        }
      }
    }
  } catch (e) {
    const reason = (e as Error).message.split('\n')[0]
    const failedRef = step?.at.tag ? `${step.at.target.name}:${step.at.tag}` : undefined
    for (const { r } of items) {
      for (const t of r.tags ?? []) {
        if (t.status !== 'not pushed') continue
        if (t.ref === failedRef) t.note = reason
        else if (!failedRef && step && t.ref.startsWith(`${step.at.target.name}:`))
          t.note = `the push by digest failed: ${reason}`
        else t.note = `not reached: ${failedRef ?? step?.at.target.name} failed`
        if (t.ref === failedRef) t.status = 'failed'
      }
    }
    throw e
  } finally {
    for (const { b } of items) if (b.layout) await rm(b.layout, { recursive: true, force: true })
  }
}
