/**
 * The registry-fault invariants, checked against the real registry after a run (for the e2e
 * tests and `npm run soak`): every tag points at the run's tested index; floating tags only when
 * every version tag of every image is in; the outputs say exactly what is in the registry.
 */
import type { ActionRun } from '../harness/runner.js'

const ACCEPT =
  'application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json'

/** The registry the proxies forward to, read directly. */
export const UPSTREAM = '127.0.0.1:5000'

/** Every tag of a repository and the digest it resolves to, read straight from the registry. */
export async function registryState(
  repo: string,
  host = UPSTREAM
): Promise<Record<string, string>> {
  const res = await fetch(`http://${host}/v2/${repo}/tags/list`)
  if (res.status === 404) return {}
  const tags = ((await res.json()) as { tags?: string[] | null }).tags ?? []
  const out: Record<string, string> = {}
  for (const tag of tags) {
    const h = await fetch(`http://${host}/v2/${repo}/manifests/${tag}`, {
      method: 'HEAD',
      headers: { Accept: ACCEPT }
    })
    out[tag] = h.headers.get('docker-content-digest') ?? `HTTP ${h.status}`
  }
  return out
}

/** One image of a run's `metadata` output, as the checks read it. */
export interface ImageMeta {
  name: string
  digest?: string
  /** The planned tags (full references). */
  tags: string[]
  pushedTags: string[]
  tagResults: { ref: string; status: string; note?: string }[]
}

/** The images of a run's `metadata` output. */
export function imagesOf(r: ActionRun): ImageMeta[] {
  const images = (
    JSON.parse(r.main.outputs['metadata'] ?? '{"images":[]}') as { images: Partial<ImageMeta>[] }
  ).images
  // outputs without tagResults (before they existed) are read from pushedTags
  return images.map(i => ({
    ...(i as ImageMeta),
    pushedTags: i.pushedTags ?? [],
    tagResults:
      i.tagResults ??
      (i.tags ?? []).map(ref => ({
        ref,
        status: i.pushedTags?.includes(ref) ? 'pushed' : 'not pushed'
      }))
  }))
}

/** The repository path of an image name (`127.0.0.1:1234/a/b` -> `a/b`). */
export function repoOf(name: string): string {
  return name.slice(name.indexOf('/') + 1)
}

const FLOATING = /^(latest|v?\d+|v?\d+\.\d+)$/

/**
 * What is wrong after one run in fresh repositories (empty list: consistent): a tag on anything
 * but the tested index, a floating tag while a version tag is missing, an output that disagrees
 * with the registry.
 */
export async function inconsistencies(r: ActionRun): Promise<string[]> {
  const problems: string[] = []
  const images = imagesOf(r)
  const states = await Promise.all(images.map(i => registryState(repoOf(i.name))))
  const versionTagMissing = images.some((img, i) =>
    img.tagResults
      .map(t => t.ref.slice(img.name.length + 1))
      .some(tag => !FLOATING.test(tag) && !(tag in states[i]))
  )
  let allPushed = images.length > 0
  for (const [i, img] of images.entries()) {
    const state = states[i]
    for (const [tag, digest] of Object.entries(state)) {
      if (digest !== img.digest)
        problems.push(`${img.name}:${tag} points at ${digest}, not the tested index ${img.digest}`)
      if (FLOATING.test(tag) && versionTagMissing)
        problems.push(`${img.name}:${tag} was moved while a version tag is missing`)
    }
    for (const t of img.tagResults) {
      const tag = t.ref.slice(img.name.length + 1)
      const inRegistry = tag in state
      if (t.status !== 'pushed' && t.status !== 'kept') allPushed = false
      if (t.status === 'pushed' && !inRegistry)
        problems.push(`${t.ref} is reported pushed but the registry has no such tag`)
      if (t.status === 'not pushed' && inRegistry)
        problems.push(`${t.ref} is reported not pushed but the registry has it`)
      if ((t.status === 'pushed') !== img.pushedTags.includes(t.ref))
        problems.push(`${t.ref}: pushedTags and tagResults disagree`)
    }
    if (img.tagResults.length === 0 && Object.keys(state).length > 0)
      problems.push(`${img.name}: the registry has tags but the outputs report none`)
  }
  if ((r.main.outputs['push'] === 'true') !== (allPushed && r.main.exitCode === 0))
    problems.push(`the push output says ${r.main.outputs['push']}, exit code ${r.main.exitCode}`)
  return problems
}
