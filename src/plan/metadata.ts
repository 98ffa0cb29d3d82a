import semver from 'semver'
import type { GitHubContext } from '../context.js'
import { isValidTag } from './reference.js'

/** What kind of build the event asks for. */
export type EventKind = 'release' | 'tag' | 'dispatch' | 'branch' | 'pull_request' | 'schedule'

/** Release metadata derived from the event. */
export interface Metadata {
  /** GITHUB_EVENT_NAME. */
  event: string
  kind: EventKind
  /** A valid Docker tag. */
  version: string
  /** The tag (release tag, pushed tag, given version) as written, before a leading `v` is
   * removed, e.g. `v2.3.0`; the version itself for a build that is no release. */
  tag: string
  /** Where the version came from, e.g. `release.tag_name`. */
  versionSource: string
  /** Full commit SHA. */
  commit: string
  /** The first 7 characters of the commit. */
  shortCommit: string
  /** UTC, `YYYY-MM-DDTHH:MM:SSZ`. */
  date: string
  /** Where the date came from. */
  dateSource: string
  /** A release build (release, tag push, dispatch with a version): version tags, no sha tag. */
  release: boolean
  /** Whether `latest: auto` adds `latest`. */
  latestAuto: boolean
  /** Whether `push: auto` pushes, and why. */
  pushAuto: boolean
  pushReason: string
  /** A pull request from a fork: never pushes. */
  fork: boolean
  /**
   * A pull request run triggered by Dependabot (github.actor `dependabot[bot]`): GitHub gives it
   * a read-only token and no secrets, as to a fork's pull request.
   */
  dependabot: boolean
}

/** The actor of runs Dependabot triggers. */
export const DEPENDABOT_ACTOR = 'dependabot[bot]'

/** Facts from outside the payload that metadata needs; passed in to keep derivation pure. */
export interface MetadataOptions {
  /** The `version` input ('' when unset). */
  versionInput: string
  /** The commit date known from git for the build's commit, if any (any ISO 8601 form). */
  commitDate?: string
  /** The clock, used only when no other date is known. */
  now: Date
}

const RELEASE_ACTIONS = ['published', 'released', 'prereleased']

/** The commit an event builds: the PR head for pull requests, else GITHUB_SHA. */
export function commitOf(ctx: GitHubContext): string {
  if (isPullRequest(ctx.eventName)) {
    const head = ctx.payload?.pull_request?.head?.sha
    if (typeof head !== 'string' || head === '') {
      throw new Error(`${ctx.eventName}: the payload has no pull_request.head.sha`)
    }
    return validSha(head, 'pull_request.head.sha')
  }
  if (!ctx.sha) throw new Error('GITHUB_SHA is not set: cannot tell which commit is built')
  return validSha(ctx.sha, 'GITHUB_SHA')
}

/**
 * Derives version, commit and date from the event, as the README's version rules say.
 * Pure: every outside fact comes in `ctx` and `opts`.
 */
export function deriveMetadata(ctx: GitHubContext, opts: MetadataOptions): Metadata {
  const commit = commitOf(ctx)
  const p = ctx.payload ?? {}
  const tag = ctx.ref.startsWith('refs/tags/') ? ctx.ref.slice('refs/tags/'.length) : undefined
  const branch = ctx.ref.startsWith('refs/heads/') ? ctx.ref.slice('refs/heads/'.length) : undefined
  const fromGit = (): [string | undefined, string] => [opts.commitDate, 'commit date (git)']

  let kind: EventKind
  let version: string
  let raw: string | undefined
  let versionSource: string
  let date: [string | undefined, string][]
  let pushAuto = false
  let pushReason: string
  let latestAuto = false
  let fork = false
  let dependabot = false

  switch (ctx.eventName) {
    case 'release': {
      const release = p.release ?? {}
      if (typeof release.tag_name !== 'string' || release.tag_name === '') {
        throw new Error('release: the payload has no release.tag_name')
      }
      kind = 'release'
      raw = release.tag_name
      version = checkedVersion(release.tag_name, 'release.tag_name')
      versionSource = 'release.tag_name'
      date = [
        [release.published_at, 'release.published_at'],
        [release.created_at, 'release.created_at'],
        fromGit()
      ]
      const action = String(p.action ?? '')
      pushAuto = RELEASE_ACTIONS.includes(action) && release.draft !== true
      pushReason = pushAuto
        ? `release ${action}`
        : `release ${JSON.stringify(action)} is not published, released or prereleased`
      latestAuto = release.prerelease !== true && release.draft !== true
      break
    }
    case 'push': {
      if (p.deleted === true) {
        throw new Error(`push: ${ctx.ref} was deleted; there is nothing to build`)
      }
      date = [[p.head_commit?.timestamp, 'head_commit.timestamp'], fromGit()]
      if (tag !== undefined) {
        kind = 'tag'
        raw = tag
        version = checkedVersion(tag, 'the pushed tag')
        versionSource = `tag ${tag}`
        pushAuto = true
        pushReason = 'tag push'
        latestAuto = isStableSemver(version)
      } else {
        kind = 'branch'
        version = sanitizeBranch(branch ?? ctx.ref)
        versionSource = `branch ${branch ?? ctx.ref}`
        pushReason = 'branch push (not a release)'
      }
      break
    }
    case 'workflow_dispatch': {
      const given = typeof p.inputs?.version === 'string' ? p.inputs.version.trim() : ''
      date = [fromGit()]
      if (opts.versionInput) {
        kind = 'dispatch'
        raw = opts.versionInput
        version = checkedVersion(opts.versionInput, 'version')
        versionSource = "the 'version' input"
      } else if (given) {
        kind = 'dispatch'
        raw = given
        version = checkedVersion(given, 'inputs.version')
        versionSource = 'inputs.version of the dispatch'
      } else if (tag !== undefined) {
        kind = 'dispatch'
        raw = tag
        version = checkedVersion(tag, 'the dispatched tag')
        versionSource = `tag ${tag}`
      } else {
        kind = 'branch'
        version = sanitizeBranch(branch ?? ctx.ref)
        versionSource = `branch ${branch ?? ctx.ref}`
      }
      pushAuto = kind === 'dispatch'
      pushReason = pushAuto ? 'dispatch with a version' : 'dispatch without a version or tag'
      latestAuto = kind === 'dispatch' && isStableSemver(version)
      break
    }
    case 'pull_request':
    case 'pull_request_target': {
      const number = p.number ?? p.pull_request?.number
      if (number === undefined || number === null)
        throw new Error(`${ctx.eventName}: the payload has no pull request number`)
      if (typeof number !== 'number' || !Number.isSafeInteger(number) || number < 1)
        throw new Error(
          `${p.number !== undefined ? 'number' : 'pull_request.number'}: ${JSON.stringify(number)} is not a pull request number (a positive integer)`
        )
      kind = 'pull_request'
      version = `pr-${number}`
      versionSource = `pull request #${number}`
      date = [fromGit()]
      fork = isFork(p)
      dependabot = ctx.actor === DEPENDABOT_ACTOR
      pushReason = fork ? 'pull request from a fork' : 'pull request'
      break
    }
    case 'schedule': {
      kind = 'schedule'
      version = 'nightly'
      versionSource = 'schedule'
      date = [fromGit()]
      pushReason = 'scheduled build'
      break
    }
    default: {
      if (tag !== undefined) {
        kind = 'tag'
        raw = tag
        version = checkedVersion(tag, 'the tag')
        versionSource = `tag ${tag}`
      } else {
        kind = 'branch'
        version = sanitizeBranch(branch ?? ctx.ref)
        versionSource = `ref ${ctx.ref}`
      }
      date = [fromGit()]
      pushReason = `event '${ctx.eventName || '(none)'}' does not publish unless push: true`
      latestAuto = kind === 'tag' && isStableSemver(version)
    }
  }

  if (opts.versionInput && versionSource !== "the 'version' input") {
    raw = opts.versionInput
    version = checkedVersion(opts.versionInput, 'version')
    versionSource = "the 'version' input"
  }

  const [resolvedDate, dateSource] = firstDate(date, opts.now)
  return {
    event: ctx.eventName,
    kind,
    version,
    tag: raw ?? version,
    versionSource,
    commit,
    shortCommit: commit.slice(0, 7),
    date: resolvedDate,
    dateSource,
    release: kind === 'release' || kind === 'tag' || kind === 'dispatch',
    latestAuto,
    pushAuto,
    pushReason,
    fork,
    dependabot
  }
}

/**
 * Removes a leading `v` when the rest is semver and checks the result is a valid Docker tag.
 * A bad version is an error naming where it came from; it is never rewritten.
 */
export function checkedVersion(raw: string, source: string): string {
  const version = /^v/i.test(raw) && semver.valid(raw.slice(1)) !== null ? raw.slice(1) : raw
  if (!isValidTag(version)) {
    throw new Error(
      `${source}: '${raw}' is not a valid Docker tag (letters, digits, '_', '.', '-', at most 128, not starting with '.' or '-')`
    )
  }
  return version
}

/** A branch name made into a Docker tag: other characters become `-`, no leading `.`/`-`, 128 max. */
export function sanitizeBranch(branch: string): string {
  const tag = branch
    .replace(/[^A-Za-z0-9_.-]/g, '-')
    .replace(/^[.-]+/, '')
    .slice(0, 128)
  if (tag === '')
    throw new Error(`the branch '${branch}' gives no usable Docker tag; set the 'version' input`)
  return tag
}

/** Semver without a prerelease part. */
export function isStableSemver(version: string): boolean {
  return semver.valid(version) !== null && semver.prerelease(version) === null
}

/** A date in UTC as `YYYY-MM-DDTHH:MM:SSZ`, or undefined when it is not a date. */
export function toUtc(value: unknown): string | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return undefined
  const d = typeof value === 'number' ? new Date(value * 1000) : new Date(value)
  if (Number.isNaN(d.getTime())) return undefined
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z')
}

/** The range of dates an image may carry: the `date` output's format has a 4-digit year. */
const FIRST_DATE = Date.UTC(1970, 0, 1)
const LAST_DATE = Date.UTC(9999, 11, 31, 23, 59, 59)

/**
 * The first date given among the candidates (an absent one, `undefined` or `null`, is skipped).
 * A date that is given but is not a date, or lies outside 1970..9999, is refused naming its field.
 */
function firstDate(candidates: [unknown, string][], now: Date): [string, string] {
  for (const [value, source] of candidates) {
    if (value === undefined || value === null) continue
    const utc = toUtc(value)
    const ms = utc === undefined ? NaN : Date.parse(utc)
    if (!(ms >= FIRST_DATE && ms <= LAST_DATE)) {
      throw new Error(
        `${source}: ${JSON.stringify(value)} is not a date between 1970-01-01 and 9999-12-31`
      )
    }
    return [utc as string, source]
  }
  return [toUtc(now.toISOString()) as string, 'clock (no commit date known)']
}

function isPullRequest(eventName: string): boolean {
  return eventName === 'pull_request' || eventName === 'pull_request_target'
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function isFork(p: Record<string, any>): boolean {
  const head = p.pull_request?.head?.repo
  const base = p.pull_request?.base?.repo ?? p.repository
  if (!head) return true // the fork was deleted
  if (head.fork === true) return true
  return !!base?.full_name && head.full_name !== base.full_name
}

function validSha(sha: string, source: string): string {
  if (!/^([0-9a-f]{40}|[0-9a-f]{64})$/.test(sha)) {
    throw new Error(`${source}: '${sha}' is not a full commit SHA`)
  }
  return sha
}
