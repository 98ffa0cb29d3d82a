/**
 * What to publish where, decided in the plan: for each repository name of an image, the version
 * tags (pushed first, each on its own) and the floating tags (`latest`, and any that follow a
 * version line such as `1` or `1.2`), in order, each with the version it is for and the versions
 * it follows. Pure.
 */
import semver from 'semver'

/** A tag that follows the highest stable release of a version line and never moves back. */
export interface FloatingTag {
  /** The tag, e.g. `latest`, `1`, `1.2`. */
  tag: string
  /** The version this run would point it at (the plan's version). */
  version: string
  /**
   * The semver range of the versions it follows (`*` for `latest`, `1.x` for `1`, `1.2.x` for
   * `1.2`); prereleases never count.
   */
  range: string
}

/** One repository name of an image and its tags (tag names only, no repository). */
export interface PublishTarget {
  /** The repository, e.g. `ghcr.io/acme/app`. */
  name: string
  /** Tags pushed first, each pointed at the tested index and verified. */
  versionTags: string[]
  /** Moved last, in order, only when every version tag of every image is in. */
  floating: FloatingTag[]
}

/** The range a floating tag follows: `latest` every version, `1` the 1.x line, `1.2` 1.2.x. */
export function floatingRange(tag: string): string {
  const m = /^v?(\d+)(?:\.(\d+))?$/.exec(tag)
  if (!m) return '*'
  return m[2] === undefined ? `${m[1]}.x` : `${m[1]}.${m[2]}.x`
}

/**
 * The publish targets of an image whose full tag references are given (`<name>:<tag>`): `latest`
 * is floating, every other tag a version tag.
 */
export function publishTargets(name: string, refs: string[], version: string): PublishTarget[] {
  const tags = refs.map(r => r.slice(name.length + 1))
  return [
    {
      name,
      versionTags: tags.filter(t => t !== 'latest'),
      floating: tags
        .filter(t => t === 'latest')
        .map(tag => ({ tag, version, range: floatingRange(tag) }))
    }
  ]
}

/**
 * The release versions a repository's tags name, read with the shapes of this run's own version
 * tags (`1.2.3`, `v1.2.3`, `1.2.3-alpine`: the text around the version): stable semver only.
 */
export function taggedVersions(
  tags: string[],
  versionTags: string[],
  version: string
): { version: string; tag: string }[] {
  const shapes = versionTags
    .filter(t => t.includes(version))
    .map(t => ({
      prefix: t.slice(0, t.indexOf(version)),
      suffix: t.slice(t.indexOf(version) + version.length)
    }))
  if (shapes.length === 0) shapes.push({ prefix: '', suffix: '' })
  const out = new Map<string, string>()
  for (const t of tags) {
    for (const { prefix, suffix } of shapes) {
      if (!t.startsWith(prefix) || !t.endsWith(suffix) || t.length <= prefix.length + suffix.length)
        continue
      const v = semver.valid(t.slice(prefix.length, t.length - suffix.length))
      if (v && semver.prerelease(v) === null && !out.has(v)) out.set(v, t)
    }
  }
  return [...out].map(([v, tag]) => ({ version: v, tag }))
}
