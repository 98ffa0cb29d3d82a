import * as core from '@actions/core'
import semver from 'semver'
import { run } from '../exec.js'
import type { ImageResult } from '../results.js'
import type { BuiltImage } from './build.js'
import { remoteLabels } from './image.js'
import { retryTransient } from './retry.js'

interface RemoteManifest {
  digest: string
  manifests?: {
    digest: string
    platform?: { os: string; architecture: string; variant?: string }
  }[]
}

/** The index a tag points at in its registry, as imagetools reports it. */
async function remoteIndex(ref: string): Promise<RemoteManifest> {
  const res = await retryTransient(`inspecting ${ref}`, () =>
    run('docker', ['buildx', 'imagetools', 'inspect', ref, '--format', '{{json .Manifest}}'], {
      silent: true
    })
  )
  return JSON.parse(res.stdout) as RemoteManifest
}

/**
 * Checks that the registry now serves exactly what was built and smoke-tested: the same index
 * digest and the same per-platform manifest digests.
 */
export async function verifyPushed(built: BuiltImage, ref: string): Promise<void> {
  const remote = await remoteIndex(ref)
  if (remote.digest !== built.digest) {
    throw new Error(
      `${ref} in the registry is ${remote.digest}, but the tested image is ${built.digest}`
    )
  }
  // A single-platform image is one manifest: its own digest is the platform's.
  const remoteDigests = new Set(
    remote.manifests ? remote.manifests.map(m => m.digest) : [remote.digest]
  )
  const untested = built.manifests.filter(m => !remoteDigests.has(m.digest))
  if (untested.length > 0) {
    throw new Error(
      `${ref}: the pushed index lacks the tested manifests of ${untested.map(m => m.platform).join(', ')}`
    )
  }
}

/**
 * `docker push` of one tag, again after a transient registry error. Pushing is idempotent: blobs
 * and manifests are content-addressed, so another attempt sends the same tested digests (checked
 * by verifyPushed afterwards).
 */
async function pushTag(tag: string): Promise<void> {
  await retryTransient(`docker push ${tag}`, () => run('docker', ['push', tag]))
}

/**
 * Points a tag at an index already in the registry (pushed by digest): `imagetools create` from
 * that one index writes it unchanged under the tag (same digest, checked by verifyPushed).
 */
async function tagDigest(tag: string, digest: string): Promise<void> {
  const repo = tag.slice(0, tag.lastIndexOf(':'))
  await retryTransient(`tagging ${tag}`, () =>
    run('docker', ['buildx', 'imagetools', 'create', '--tag', tag, `${repo}@${digest}`])
  )
}

/** Whether `latest` may move to this version: not when the current `latest` is a higher semver. */
export function latestMayMove(current: string | undefined, next: string): boolean {
  if (!current) return true
  const a = semver.valid(current)
  const b = semver.valid(next)
  if (!a || !b) return true
  return !semver.gt(a, b)
}

/** What the push did for one image: the tags it pushed, and why `latest` stayed if it did. */
export type PushResult = Pick<ImageResult, 'name' | 'pushedTags' | 'latestNote'>

/**
 * Pushes every image: version tags first (each verified against what was tested), then `latest`
 * last, and only where it does not move backwards. `engine`: `docker push` of the tags the engine
 * holds; `by-digest`: the images are in the registry already (pushed by digest), only tags move.
 */
export async function pushAll(
  built: BuiltImage[],
  version: string,
  from: 'engine' | 'by-digest' = 'engine'
): Promise<PushResult[]> {
  const results: PushResult[] = built.map(b => ({ name: b.image.name, pushedTags: [] }))
  const publish = (b: BuiltImage, tag: string): Promise<void> =>
    from === 'engine' ? pushTag(tag) : tagDigest(tag, b.digest)
  for (const [i, b] of built.entries()) {
    for (const tag of b.image.tags.filter(t => !t.endsWith(':latest'))) {
      await publish(b, tag)
      await verifyPushed(b, tag)
      results[i].pushedTags.push(tag)
    }
  }
  for (const [i, b] of built.entries()) {
    const latest = b.image.tags.find(t => t.endsWith(':latest'))
    if (!latest) continue
    const current = (await remoteLabels(latest))?.['org.opencontainers.image.version']
    if (!latestMayMove(current, version)) {
      results[i].latestNote = `latest stays at ${current}: it is newer than ${version}`
      core.notice(`${b.image.name}: ${results[i].latestNote}`)
      continue
    }
    await publish(b, latest)
    await verifyPushed(b, latest)
    results[i].pushedTags.push(latest)
  }
  return results
}
