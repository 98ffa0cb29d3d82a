import { createHash } from 'node:crypto'
import { posix as path } from 'node:path'
import type { BuildArg } from '../inputs.js'
import { cacheMounts, type ParsedDockerfile, type Stage } from './dockerfile.js'

/** Where Go keeps its caches in the official images (GOPATH=/go, HOME=/root). */
export const DEFAULT_GO_CACHE_TARGETS = ['/go/pkg/mod', '/root/.cache/go-build']

/** One Go cache mount of a Dockerfile build, as BuildKit identifies it. */
export interface GoCacheMount {
  /** BuildKit's identity within the build's BUILDKIT_CACHE_MOUNT_NS: id (the target when no id
   * is given), uid, gid, mode. */
  identity: string
  /** The subdirectory that carries it in the Actions cache entry (`m-<hash of identity>`): the
   * same Go cache in another namespace (another builder, say) is the same entry. */
  dir: string
  target: string
  /** The mount's options for a generated RUN: the user's, without `type`, `ro`/`rw`. */
  options: string
  /** Owner of the mount's files (`uid:gid`, 0:0 unless the mount sets them). */
  owner: string
  /** The base of the stage that mounts it, as written (`${GO_IMAGE}`). */
  base: string
  /** 1-based line of the first RUN that mounts it. */
  line: number
}

/** The Go cache mounts of one image's Dockerfile, and what is needed to reach them again. */
export interface GoCacheMountsPlan {
  mounts: GoCacheMount[]
  /** The Dockerfile's ARG instructions before its first FROM (a base may use them). */
  globalArgs: string[]
  /** BUILDKIT_CACHE_MOUNT_NS of the build args ('' when unset): part of every mount's id. */
  namespace: string
  /** Go cache mounts that cannot be carried, with why (`from=`, variables). */
  skipped: string[]
}

/**
 * The targets that are Go caches in this Dockerfile: GOMODCACHE and GOCACHE of the official
 * images, plus any GOCACHE, GOMODCACHE or GOPATH (its pkg/mod) that an ENV sets.
 */
export function goCacheTargets(stages: Stage[]): string[] {
  const targets = new Set(DEFAULT_GO_CACHE_TARGETS)
  for (const s of stages) {
    for (const k of ['GOCACHE', 'GOMODCACHE']) if (s.env[k]) targets.add(clean(s.env[k]))
    if (s.env['GOPATH']) targets.add(clean(path.join(s.env['GOPATH'], 'pkg', 'mod')))
  }
  return [...targets]
}

/**
 * The RUN cache mounts of a parsed Dockerfile whose target is a Go cache, one per BuildKit
 * identity (the same mount in `go mod download` and `go build` is one). Pure.
 */
export function goCacheMountsOf(
  parsed: ParsedDockerfile,
  buildArgs: BuildArg[]
): GoCacheMountsPlan {
  const namespace = buildArgs.find(a => a.key === 'BUILDKIT_CACHE_MOUNT_NS')?.value ?? ''
  const targets = goCacheTargets(parsed.stages)
  const mounts = new Map<string, GoCacheMount>()
  const skipped: string[] = []
  for (const stage of parsed.stages) {
    for (const run of stage.runs) {
      for (const m of cacheMounts(run.text)) {
        if (!targets.includes(clean(m.target))) continue
        if (m.from || m.source || m.text.includes('$')) {
          skipped.push(
            `line ${run.line}: ${m.target} (${m.from || m.source ? 'from= or source=' : 'a variable in its options'})`
          )
          continue
        }
        const owner = `${m.uid ?? '0'}:${m.gid ?? '0'}`
        const identity = [m.id ?? m.target, owner, m.mode ?? ''].join('|')
        if (mounts.has(identity)) continue
        mounts.set(identity, {
          identity,
          dir: `m-${createHash('sha256').update(identity).digest('hex').slice(0, 12)}`,
          target: m.target,
          options: m.text
            .split(',')
            .filter(f => !/^(ro|readonly|rw|readwrite)(=.*)?$/i.test(f))
            .join(','),
          owner,
          base: rootBase(parsed.stages, stage),
          line: run.line
        })
      }
    }
  }
  return { mounts: [...mounts.values()], globalArgs: parsed.globalArgs, namespace, skipped }
}

/** The image a stage starts from, following `FROM <earlier stage>` to its root. */
function rootBase(stages: Stage[], stage: Stage): string {
  let s: Stage | undefined = stage
  const seen = new Set<Stage>()
  while (s && !seen.has(s)) {
    seen.add(s)
    const parent: Stage | undefined = stages.find(x => x.name && x.name === s?.base.toLowerCase())
    if (!parent) return s.base
    s = parent
  }
  return stage.base
}

function clean(p: string): string {
  return path.normalize(p).replace(/(.)\/+$/, '$1')
}

/**
 * What the carried Go cache mounts depend on, as text for the cache key: each mount's identity
 * and base, and the platforms they were filled for. Pure.
 */
export function goCacheMountsConfig(
  images: { platforms: string[]; goCacheMounts?: GoCacheMountsPlan; buildArgs: BuildArg[] }[]
): string {
  const parts = new Set<string>()
  for (const img of images) {
    for (const m of img.goCacheMounts?.mounts ?? []) {
      parts.add(
        `${m.identity} ${resolveArgs(m.base, img.goCacheMounts?.globalArgs ?? [], img.buildArgs)}`
      )
    }
  }
  const platforms = [
    ...new Set(images.filter(i => i.goCacheMounts?.mounts.length).flatMap(i => i.platforms))
  ].sort()
  return `${[...parts].sort().join('; ')}; platforms: ${platforms.join(',')}`
}

/** `${NAME}` / `$NAME` in text, from the build args, then the global ARG defaults. */
export function resolveArgs(text: string, globalArgs: string[], buildArgs: BuildArg[]): string {
  const values = new Map<string, string>()
  for (const a of globalArgs) {
    const m = /^ARG\s+([A-Za-z_][A-Za-z0-9_]*)(?:=(.*))?$/.exec(a.trim())
    if (m && m[2] !== undefined) values.set(m[1], m[2].replace(/^"(.*)"$/, '$1'))
  }
  for (const a of buildArgs) values.set(a.key, a.value)
  return text.replace(
    /\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (all, a?: string, b?: string) => values.get((a ?? b) as string) ?? all
  )
}

/** Mount options for a generated RUN: `type=cache` plus the user's identity options. */
function mountFlag(m: GoCacheMount): string {
  return `--mount=type=cache,${m.options}`
}

function header(plan: GoCacheMountsPlan, what: string): string[] {
  return [
    `# generated by go-image-action: ${what}`,
    ...plan.globalArgs,
    `FROM --platform=$BUILDPLATFORM ${plan.mounts[0].base} AS go-cache-mounts`
  ]
}

/**
 * A throwaway Dockerfile that copies `<context>/<dir>` of each mount into the builder's cache
 * mount of the same identity, then gives the files the mount's owner (when it is not root, whose
 * copies they are). Exec-form RUNs: no shell
 * reads any of it. Build it with the restored directory as context and `--output
 * type=cacheonly`.
 */
export function seedDockerfile(plan: GoCacheMountsPlan): string {
  const lines = header(plan, 'fills the Go cache mounts from the Actions cache')
  for (const m of plan.mounts) {
    const bind = `--mount=type=bind,source=${m.dir},target=/go-image-action-seed`
    lines.push(
      `RUN ${bind} ${mountFlag(m)} ${JSON.stringify(['cp', '-R', '/go-image-action-seed/.', `${m.target}/`])}`
    )
    // root's copies are root's already: a walk over every file only for another owner
    if (m.owner !== '0:0')
      lines.push(`RUN ${mountFlag(m)} ${JSON.stringify(['chown', '-R', m.owner, m.target])}`)
  }
  return `${lines.join('\n')}\n`
}

/**
 * The file in each carried mount that names the Actions cache key its files are (or include):
 * written when the mounts are copied out, so it travels in the entry and comes back with a
 * restore. A persistent builder whose mounts name the run's exact key needs no restore.
 */
export const MOUNT_KEY_NOTE = '.go-image-action-key'

/** The file of the extraction's context that holds the key to note in each mount. */
export const KEY_NOTE_SOURCE = 'go-image-action-key'

/**
 * A throwaway Dockerfile whose result is each mount's files under `<dir>/`, for `--output
 * type=local`. The RUNs declare GO_IMAGE_ACTION_RUN, which the caller sets to a new value each
 * time, so BuildKit runs them instead of reusing an earlier copy. Each mount first gets the key
 * note (MOUNT_KEY_NOTE) from the context's KEY_NOTE_SOURCE file.
 */
export function extractDockerfile(plan: GoCacheMountsPlan): string {
  const lines = [
    ...header(plan, 'copies the Go cache mounts out, for the Actions cache'),
    'ARG GO_IMAGE_ACTION_RUN',
    `RUN ${JSON.stringify(['mkdir', '-p', '/go-image-action-out'])}`
  ]
  const note = `--mount=type=bind,source=${KEY_NOTE_SOURCE},target=/go-image-action-key`
  for (const m of plan.mounts) {
    lines.push(
      `RUN ${note} ${mountFlag(m)} ${JSON.stringify(['cp', '/go-image-action-key', `${m.target}/${MOUNT_KEY_NOTE}`])}`,
      `RUN ${mountFlag(m)} ${JSON.stringify(['cp', '-R', m.target, `/go-image-action-out/${m.dir}`])}`
    )
  }
  lines.push(
    `RUN ${JSON.stringify(['chmod', '-R', 'u+w', '/go-image-action-out'])}`,
    'FROM scratch',
    'COPY --from=go-cache-mounts /go-image-action-out /'
  )
  return `${lines.join('\n')}\n`
}

/**
 * A throwaway Dockerfile whose result is each mount's key note as `<dir>`, for `--output
 * type=local`: which Actions cache entry the builder's mounts already hold. Run-unique like the
 * extraction; it fails when a mount has no note (an empty mount, or one filled otherwise).
 */
export function probeDockerfile(plan: GoCacheMountsPlan): string {
  const lines = [
    ...header(plan, 'reads which Actions cache entry the Go cache mounts hold'),
    'ARG GO_IMAGE_ACTION_RUN',
    `RUN ${JSON.stringify(['mkdir', '-p', '/go-image-action-out'])}`
  ]
  for (const m of plan.mounts) {
    lines.push(
      `RUN ${mountFlag(m)} ${JSON.stringify(['cp', `${m.target}/${MOUNT_KEY_NOTE}`, `/go-image-action-out/${m.dir}`])}`
    )
  }
  lines.push('FROM scratch', 'COPY --from=go-cache-mounts /go-image-action-out /')
  return `${lines.join('\n')}\n`
}
