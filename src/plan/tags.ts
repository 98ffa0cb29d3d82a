import semver from 'semver'
import { isValidTag } from './reference.js'

/** The placeholders a tag template may use. */
export const TAG_PLACEHOLDERS = ['version', 'tag', 'major', 'minor', 'patch', 'short_sha'] as const
type Placeholder = (typeof TAG_PLACEHOLDERS)[number]

/** The templates of a release build when `tags` is not set: today's version tag. */
export const DEFAULT_TAGS = ['{{version}}']
/** The templates of any other build when `tags` is not set: the version and the commit. */
export const DEFAULT_TAGS_NOT_RELEASE = ['{{version}}', 'sha-{{short_sha}}']

/** What the placeholders stand for in one run. */
export interface TagValues {
  /** The version (a `v` before semver removed), e.g. `2.3.0`. */
  version: string
  /** The git or release tag as written, e.g. `v2.3.0`; the version on a build that is no release. */
  tag: string
  /** The first 7 hex digits of the commit. */
  shortSha: string
  /** A stable release: floating tags (and `latest`) are only for those. */
  stable: boolean
  /** Why it is not a stable release, for the notice of a skipped floating tag. */
  notStableWhy?: string
}

/** The tags of one image, decided from its templates. Tag names only, no repository. */
export interface PlannedTags {
  /** Tags that name this very build (`{{version}}`, `{{tag}}`, `sha-{{short_sha}}`): pushed first. */
  exact: string[]
  /** Tags that move from release to release (`{{major}}`, `stable`, `latest`), in push order,
   * `latest` last. */
  floating: string[]
  /** One line per template that was skipped, and why. */
  notices: string[]
}

/**
 * Renders tag templates. A template is exact when it names one build: it holds `{{version}}`,
 * `{{tag}}`, `{{short_sha}}`, or all of `{{major}}`, `{{minor}}` and `{{patch}}`; any other
 * (`{{major}}`, `{{major}}.{{minor}}`, a literal such as `stable`) is floating, and follows the
 * `latest` rule: only for a stable release. A template that needs semver on a version that is not
 * semver, or a floating one on a build that is not a stable release, is skipped with a notice.
 * Pure; throws an Error naming the input for an unknown placeholder or a result that is not a
 * Docker tag.
 * @param templates the templates, e.g. `['{{tag}}', 'v{{major}}']`
 * @param values what the placeholders stand for
 * @param opts latest: add `latest` (last); inputName: the input named in errors and notices
 */
export function planTags(
  templates: string[],
  values: TagValues,
  opts: { latest: boolean; inputName: string }
): PlannedTags {
  const { inputName } = opts
  const parsed = semver.valid(values.version) ? semver.parse(values.version) : null
  const exact: string[] = []
  const floating: string[] = []
  const notices: string[] = []
  for (const template of templates) {
    const used = placeholdersOf(template, inputName)
    // major.minor.patch names a release, but not a prerelease (2.3.0 is not 2.3.0-rc.1)
    const isExact =
      used.has('version') ||
      used.has('tag') ||
      used.has('short_sha') ||
      (used.has('major') &&
        used.has('minor') &&
        used.has('patch') &&
        parsed?.prerelease.length === 0)
    const needsSemver = used.has('major') || used.has('minor') || used.has('patch')
    if (needsSemver && !parsed) {
      notices.push(
        `${inputName}: '${template}' skipped: the version ${values.version} is not semver`
      )
      continue
    }
    if (!isExact && !values.stable) {
      notices.push(
        `${inputName}: '${template}' skipped: a floating tag, only for a stable release (${values.notStableWhy ?? 'not one'})`
      )
      continue
    }
    const tag = render(template, values, parsed)
    if (!isValidTag(tag)) {
      throw new Error(
        `${inputName}: '${template}' gives '${tag}', which is not a valid Docker tag (letters, digits, '_', '.', '-', at most 128, not starting with '.' or '-')`
      )
    }
    const list = isExact ? exact : floating
    if (!exact.includes(tag) && !floating.includes(tag)) list.push(tag)
  }
  if (exact.length === 0) {
    throw new Error(
      `${inputName}: no template gives a tag of this very version (${templates.join(', ') || 'none'}); add one with {{version}} or {{tag}}`
    )
  }
  const ordered = floating.filter(t => t !== 'latest')
  if (opts.latest || floating.includes('latest')) ordered.push('latest')
  return { exact, floating: ordered, notices }
}

function placeholdersOf(template: string, inputName: string): Set<Placeholder> {
  const used = new Set<Placeholder>()
  for (const m of template.matchAll(/\{\{\s*([^{}]*?)\s*\}\}/g)) {
    if (!(TAG_PLACEHOLDERS as readonly string[]).includes(m[1])) {
      throw new Error(
        `${inputName}: unknown placeholder ${m[0]} in '${template}'; use ${TAG_PLACEHOLDERS.map(p => `{{${p}}}`).join(', ')}`
      )
    }
    used.add(m[1] as Placeholder)
  }
  if (/\{\{|\}\}/.test(template.replace(/\{\{\s*[^{}]*?\s*\}\}/g, ''))) {
    throw new Error(`${inputName}: '${template}' has a malformed placeholder`)
  }
  return used
}

function render(template: string, values: TagValues, parsed: semver.SemVer | null): string {
  return template.replace(/\{\{\s*([^{}]*?)\s*\}\}/g, (_, name: Placeholder) => {
    switch (name) {
      case 'version':
        return values.version
      case 'tag':
        return values.tag
      case 'short_sha':
        return values.shortSha
      case 'major':
        return String(parsed?.major)
      case 'minor':
        return String(parsed?.minor)
      case 'patch':
        return String(parsed?.patch)
    }
  })
}
