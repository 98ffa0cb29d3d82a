import * as core from '@actions/core'
import { rm } from 'node:fs/promises'
import { downloadRecords, uploadRecord } from '../distributed/artifacts.js'
import {
  attestationOf,
  disagreements,
  mergedEntries,
  missingDigests,
  type DigestRecord,
  type HandedOnImage
} from '../distributed/digests.js'
import {
  createIndex,
  layoutContent,
  moveFloatingTag,
  pushByDigest,
  registryClients,
  tagIndex,
  type ManifestBytes
} from '../docker/push.js'
import { digestArtifactName } from '../plan/distributed.js'
import type { Plan, PlannedImage } from '../plan/plan.js'
import { parseImageName } from '../plan/reference.js'
import type { ImageResult, TagResult } from '../results.js'
import type { Stage, StageContext } from './stage.js'

const pushes = (plan: Plan): true | string => plan.push || plan.pushReason

/**
 * A platform job: pushes each tested image by digest (its platform manifest, config and layers,
 * and its attestation manifest when there is one, from the layout saved after the build), to
 * every repository name, and tags nothing.
 */
export const pushDigestStage: Stage = {
  name: 'Push by digest',
  applies: pushes,
  async run(ctx) {
    const client = registryClients(ctx.inputs.registryTimeout * 1000)
    const handedOn: HandedOnImage[] = []
    try {
      for (const b of ctx.built) {
        if (!b.layout)
          throw new Error(`${b.image.name}: the tested image was not kept for the push`)
        const content = await layoutContent(b.layout, b.digest)
        for (const target of b.image.publish) {
          const { registry, path } = parseImageName(target.name, 'image')
          await pushByDigest(client(registry), path, content)
          core.info(`${target.name}@${b.digest}: pushed by digest (no tag) and read back`)
        }
        // the platform manifests: an index's children, or the image itself when it is one
        const manifests = content.children.length > 0 ? content.children : [content.root]
        for (const m of b.manifests) {
          const bytes = manifests.find(x => x.digest === m.digest) as ManifestBytes
          const attestation =
            content.children.length > 0
              ? attestationOf(content.root.bytes.toString('utf8'), m.digest)
              : undefined
          if (attestation)
            core.info(`${b.image.name} ${m.platform}: attestation manifest ${attestation.digest}`)
          handedOn.push({
            name: b.image.name,
            platform: m.platform,
            digest: m.digest,
            mediaType: bytes.mediaType,
            manifestSize: bytes.bytes.length,
            size: m.size,
            ...(attestation ? { attestation } : {}),
            labels: b.image.labels
          })
        }
      }
    } finally {
      for (const b of ctx.built) if (b.layout) await rm(b.layout, { recursive: true, force: true })
    }
    ctx.handedOn = handedOn
    ctx.results.pushed = true
  }
}

/** A platform job: hands its digests and smoke results on to the merge as one run artifact. */
export const handOnStage: Stage = {
  name: 'Hand on digests',
  applies: pushes,
  async run(ctx) {
    const { plan } = ctx
    const platform = plan.distributed.platform as string
    const images = (ctx.handedOn ?? []).map(h => ({
      ...h,
      smoke: ctx.results.images
        .find(r => r.name === h.name)
        ?.platforms.find(p => p.platform === h.platform)?.smoke
    }))
    const m = plan.metadata
    const record: DigestRecord = {
      version: m.version,
      commit: m.commit,
      date: m.date,
      platform,
      images
    }
    await uploadRecord(digestArtifactName(plan.distributed.artifactPrefix, platform), record)
  }
}

/**
 * The merge: collects every platform job's digests; refuses, naming them, when a planned image
 * or platform is missing or a job built another release. Nothing is tagged before this passes.
 */
export const collectStage: Stage = {
  name: 'Collect digests',
  applies: pushes,
  async run(ctx) {
    const records = await downloadRecords(ctx.plan.distributed.artifactPrefix)
    const missing = missingDigests(ctx.plan, records)
    if (missing.length > 0)
      throw new Error(
        `no digest from a platform job for ${missing.join(', ')} (did that job fail or not run?); nothing was tagged`
      )
    const differ = disagreements(ctx.plan, records)
    if (differ.length > 0)
      throw new Error(
        `the platform jobs built another release: ${differ.join('; ')} (check out the same commit in every job); nothing was tagged`
      )
    ctx.handedOn = records.flatMap(r => r.images)
  }
}

/**
 * The merge: each image's OCI index from exactly the tested platform digests and their
 * attestation manifests (its labels as index annotations), pushed by digest; then every version tag, each verified; floating tags
 * (`latest`) last, only when every version tag of every image is in, never backwards.
 */
export const mergeStage: Stage = {
  name: 'Merge',
  applies: pushes,
  async run(ctx) {
    const client = registryClients(ctx.inputs.registryTimeout * 1000)
    const indexes: ManifestBytes[] = []
    for (const image of ctx.plan.images) {
      const r = resultOf(ctx, image)
      const parts = image.platforms.map(
        p =>
          (ctx.handedOn ?? []).find(h => h.name === image.name && h.platform === p) as HandedOnImage
      )
      const descriptors = mergedEntries(parts)
      let index: ManifestBytes | undefined
      for (const target of image.publish) {
        const { registry, path } = parseImageName(target.name, 'image')
        index = await createIndex(client(registry), path, descriptors, image.labels)
        r.digest = index.digest
        for (const tag of target.versionTags) {
          await tagIndex(client(registry), path, index, tag)
          mark(r, `${target.name}:${tag}`, 'pushed')
          core.info(`${target.name}:${tag} -> ${index.digest}`)
        }
      }
      indexes.push(index as ManifestBytes)
    }
    for (const [i, image] of ctx.plan.images.entries()) {
      const r = resultOf(ctx, image)
      for (const target of image.publish) {
        const { registry, path } = parseImageName(target.name, 'image')
        for (const f of target.floating) {
          const out = await moveFloatingTag(
            client(registry),
            path,
            indexes[i],
            f,
            target.versionTags
          )
          mark(r, `${target.name}:${f.tag}`, out.moved ? 'pushed' : 'kept', out.note)
          if (out.note) {
            if (f.tag === 'latest') r.latestNote = out.note
            core.notice(`${target.name}: ${out.note}`)
          }
        }
      }
    }
    ctx.results.pushed = true
  }
}

/** The image's result, made from the platform jobs' digests and smoke results on first use. */
function resultOf(ctx: StageContext, image: PlannedImage): ImageResult {
  let r = ctx.results.images.find(x => x.name === image.name)
  if (!r) {
    r = {
      name: image.name,
      platforms: image.platforms.flatMap(p =>
        (ctx.handedOn ?? [])
          .filter(h => h.name === image.name && h.platform === p)
          .map(h => ({ platform: p, digest: h.digest, size: h.size, smoke: h.smoke }))
      ),
      pushedTags: [],
      tags: image.publish.flatMap(t =>
        [...t.versionTags, ...t.floating.map(f => f.tag)].map(tag => ({
          ref: `${t.name}:${tag}`,
          status: 'not pushed' as TagResult['status']
        }))
      )
    }
    ctx.results.images.push(r)
  }
  return r
}

function mark(r: ImageResult, ref: string, status: TagResult['status'], note?: string): void {
  const t = r.tags?.find(x => x.ref === ref)
  if (t) Object.assign(t, { status, note })
  if (status === 'pushed' && !r.pushedTags.includes(ref)) r.pushedTags.push(ref)
}
