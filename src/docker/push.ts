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
 * last, and only where it does not move backwards.
 */
export async function pushAll(built: BuiltImage[], version: string): Promise<PushResult[]> {
  const results: PushResult[] = built.map(b => ({ name: b.image.name, pushedTags: [] }))
  for (const [i, b] of built.entries()) {
    for (const tag of b.image.tags.filter(t => !t.endsWith(':latest'))) {
      await pushTag(tag)
      await verifyPushed(b, tag)
      results[i].pushedTags.push(tag)
    }
  }
  for (const [i, b] of built.entries()) {
    // on every name of the image
    for (const latest of b.image.tags.filter(t => t.endsWith(':latest'))) {
      const current = (await remoteLabels(latest))?.['org.opencontainers.image.version']
      if (!latestMayMove(current, version)) {
        results[i].latestNote = `latest stays at ${current}: it is newer than ${version}`
        core.notice(`${latest}: ${results[i].latestNote}`)
        continue
      }
      await pushTag(latest)
      await verifyPushed(b, latest)
      results[i].pushedTags.push(latest)
    }
  }
  return results
}
