// Docker's reference grammar (distribution/reference), for repository names without tag or digest.
const DOMAIN_COMPONENT = '(?:[a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])'
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[0-9a-f:]+\\])(?::[0-9]+)?`
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*'
const NAME_RE = new RegExp(`^(?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`)
const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/

/** A repository name split into the registry it lives on and its path. */
export interface ImageName {
  /** The full, lowercased name, e.g. `ghcr.io/acme/app`. */
  name: string
  /** The registry host (`docker.io` when the name has none). */
  registry: string
  /** The path inside the registry, e.g. `acme/app`. */
  path: string
}

/**
 * Lowercases and validates an image name against Docker's reference grammar. Tags and digests
 * are refused: the action makes the tags.
 * @param raw the name as the user wrote it
 * @param inputName the input named in an error
 */
export function parseImageName(raw: string, inputName: string): ImageName {
  const name = raw.trim().toLowerCase()
  if (name === '') throw new Error(`${inputName}: the image name is empty`)
  if (name.includes('@')) {
    throw new Error(`${inputName}: '${raw}' carries a digest; give the repository name only`)
  }
  const lastSlash = name.lastIndexOf('/')
  if (name.slice(lastSlash + 1).includes(':')) {
    throw new Error(
      `${inputName}: '${raw}' carries a tag; give the repository name only (tags come from the version)`
    )
  }
  if (name.length > 255 || !NAME_RE.test(name)) {
    throw new Error(`${inputName}: '${raw}' is not a valid image name (Docker reference grammar)`)
  }
  const first = name.split('/')[0]
  const hasDomain =
    name.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost')
  return hasDomain
    ? { name, registry: first, path: name.slice(first.length + 1) }
    : { name, registry: 'docker.io', path: name.includes('/') ? name : `library/${name}` }
}

/** Whether a string is a valid Docker tag. */
export function isValidTag(tag: string): boolean {
  return TAG_RE.test(tag)
}
