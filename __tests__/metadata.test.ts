import { describe, expect, it } from '@jest/globals'
import {
  checkedVersion,
  deriveMetadata,
  isStableSemver,
  sanitizeBranch,
  toUtc
} from '../src/plan/metadata.js'
import {
  branchPush,
  dispatch,
  forkPullRequest,
  MERGE_SHA,
  pullRequest,
  release,
  schedule,
  SHA,
  tagDelete,
  tagPush,
  type EventFixture
} from '../test/fixtures/events.js'
import { contextOf } from '../test/fixtures/context.js'

const NOW = new Date('2026-11-24T10:11:12.345Z')

/** A fixture with its payload edited. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function withPayload(fx: EventFixture, edit: (p: Record<string, any>) => void): EventFixture {
  edit(fx.payload)
  return fx
}
const GIT_DATE = '2026-11-20T09:00:00+02:00'
const PR_HEAD = 'ec26c3e57ca3a959ca5aad62de7213c562f8c821'

type Row = [
  string,
  EventFixture,
  { versionInput?: string; commitDate?: string },
  {
    kind: string
    version: string
    commit: string
    date: string
    release: boolean
    latestAuto: boolean
    pushAuto: boolean
    fork?: boolean
  }
]

const rows: Row[] = [
  [
    'release published',
    release('0.0.1'),
    {},
    {
      kind: 'release',
      version: '0.0.1',
      commit: SHA,
      date: '2019-05-15T15:20:53Z',
      release: true,
      latestAuto: true,
      pushAuto: true
    }
  ],
  [
    'release v-semver loses the v',
    release('v1.2.3'),
    {},
    {
      kind: 'release',
      version: '1.2.3',
      commit: SHA,
      date: '2019-05-15T15:20:53Z',
      release: true,
      latestAuto: true,
      pushAuto: true
    }
  ],
  [
    'release CalVer still gets latest',
    release('2024.06.1', 'released'),
    {},
    {
      kind: 'release',
      version: '2024.06.1',
      commit: SHA,
      date: '2019-05-15T15:20:53Z',
      release: true,
      latestAuto: true,
      pushAuto: true
    }
  ],
  [
    'release prereleased: no latest',
    release('v2.0.0-rc.1', 'prereleased'),
    {},
    {
      kind: 'release',
      version: '2.0.0-rc.1',
      commit: SHA,
      date: '2019-05-15T15:20:53Z',
      release: true,
      latestAuto: false,
      pushAuto: true
    }
  ],
  [
    'release published but marked prerelease',
    release('v2.0.0', 'published', true),
    {},
    {
      kind: 'release',
      version: '2.0.0',
      commit: SHA,
      date: '2019-05-15T15:20:53Z',
      release: true,
      latestAuto: false,
      pushAuto: true
    }
  ],
  [
    'release created: does not push on auto',
    release('1.0.0', 'created'),
    {},
    {
      kind: 'release',
      version: '1.0.0',
      commit: SHA,
      date: '2019-05-15T15:20:53Z',
      release: true,
      latestAuto: true,
      pushAuto: false
    }
  ],
  [
    'v without semver keeps the v',
    release('v1.2'),
    {},
    {
      kind: 'release',
      version: 'v1.2',
      commit: SHA,
      date: '2019-05-15T15:20:53Z',
      release: true,
      latestAuto: true,
      pushAuto: true
    }
  ],
  [
    'tag push semver',
    tagPush('v3.4.5'),
    {},
    {
      kind: 'tag',
      version: '3.4.5',
      commit: SHA,
      date: '2019-05-15T15:20:41Z',
      release: true,
      latestAuto: true,
      pushAuto: true
    }
  ],
  [
    'tag push prerelease semver',
    tagPush('v3.4.5-beta.2'),
    {},
    {
      kind: 'tag',
      version: '3.4.5-beta.2',
      commit: SHA,
      date: '2019-05-15T15:20:41Z',
      release: true,
      latestAuto: false,
      pushAuto: true
    }
  ],
  [
    'tag push non-semver: no latest',
    tagPush('simple-tag'),
    {},
    {
      kind: 'tag',
      version: 'simple-tag',
      commit: SHA,
      date: '2019-05-15T15:20:41Z',
      release: true,
      latestAuto: false,
      pushAuto: true
    }
  ],
  [
    'branch push',
    branchPush('master'),
    {},
    {
      kind: 'branch',
      version: 'master',
      commit: SHA,
      date: '2019-05-15T15:19:25Z',
      release: false,
      latestAuto: false,
      pushAuto: false
    }
  ],
  [
    'branch push sanitised',
    branchPush('feature/Add_thing+x'),
    {},
    {
      kind: 'branch',
      version: 'feature-Add_thing-x',
      commit: SHA,
      date: '2019-05-15T15:19:25Z',
      release: false,
      latestAuto: false,
      pushAuto: false
    }
  ],
  [
    'pull request: head sha, git date',
    pullRequest(),
    { commitDate: GIT_DATE },
    {
      kind: 'pull_request',
      version: 'pr-2',
      commit: PR_HEAD,
      date: '2026-11-20T07:00:00Z',
      release: false,
      latestAuto: false,
      pushAuto: false,
      fork: false
    }
  ],
  [
    'pull request without git date: now',
    pullRequest(),
    {},
    {
      kind: 'pull_request',
      version: 'pr-2',
      commit: PR_HEAD,
      date: '2026-11-24T10:11:12Z',
      release: false,
      latestAuto: false,
      pushAuto: false,
      fork: false
    }
  ],
  [
    'pull_request_target',
    pullRequest('pull_request_target'),
    {},
    {
      kind: 'pull_request',
      version: 'pr-2',
      commit: PR_HEAD,
      date: '2026-11-24T10:11:12Z',
      release: false,
      latestAuto: false,
      pushAuto: false,
      fork: false
    }
  ],
  [
    'fork pull request',
    forkPullRequest(),
    {},
    {
      kind: 'pull_request',
      version: 'pr-2',
      commit: PR_HEAD,
      date: '2026-11-24T10:11:12Z',
      release: false,
      latestAuto: false,
      pushAuto: false,
      fork: true
    }
  ],
  [
    'dispatch with inputs.version',
    dispatch({ version: 'v1.4.0' }),
    { commitDate: GIT_DATE },
    {
      kind: 'dispatch',
      version: '1.4.0',
      commit: SHA,
      date: '2026-11-20T07:00:00Z',
      release: true,
      latestAuto: true,
      pushAuto: true
    }
  ],
  [
    'dispatch with a prerelease version',
    dispatch({ version: '1.4.0-rc.1' }),
    {},
    {
      kind: 'dispatch',
      version: '1.4.0-rc.1',
      commit: SHA,
      date: '2026-11-24T10:11:12Z',
      release: true,
      latestAuto: false,
      pushAuto: true
    }
  ],
  [
    'dispatch on a tag',
    dispatch({}, 'refs/tags/v0.9.0'),
    {},
    {
      kind: 'dispatch',
      version: '0.9.0',
      commit: SHA,
      date: '2026-11-24T10:11:12Z',
      release: true,
      latestAuto: true,
      pushAuto: true
    }
  ],
  [
    'dispatch on a branch, no version',
    dispatch({ name: 'Mona the Octocat' }),
    { commitDate: GIT_DATE },
    {
      kind: 'branch',
      version: 'master',
      commit: SHA,
      date: '2026-11-20T07:00:00Z',
      release: false,
      latestAuto: false,
      pushAuto: false
    }
  ],
  [
    'dispatch with the version input',
    dispatch({}),
    { versionInput: 'v5.0.0' },
    {
      kind: 'dispatch',
      version: '5.0.0',
      commit: SHA,
      date: '2026-11-24T10:11:12Z',
      release: true,
      latestAuto: true,
      pushAuto: true
    }
  ],
  [
    'schedule',
    schedule(),
    { commitDate: '2026-11-23T23:30:00-05:00' },
    {
      kind: 'schedule',
      version: 'nightly',
      commit: SHA,
      date: '2026-11-24T04:30:00Z',
      release: false,
      latestAuto: false,
      pushAuto: false
    }
  ],
  [
    'version input overrides a release',
    release('0.0.1'),
    { versionInput: 'v9.9.9' },
    {
      kind: 'release',
      version: '9.9.9',
      commit: SHA,
      date: '2019-05-15T15:20:53Z',
      release: true,
      latestAuto: true,
      pushAuto: true
    }
  ],
  [
    'version input on a branch push',
    branchPush('main'),
    { versionInput: 'edge' },
    {
      kind: 'branch',
      version: 'edge',
      commit: SHA,
      date: '2019-05-15T15:19:25Z',
      release: false,
      latestAuto: false,
      pushAuto: false
    }
  ]
]

describe('deriveMetadata', () => {
  it.each(rows)('%s', (_name, fx, opts, want) => {
    const m = deriveMetadata(contextOf(fx), {
      versionInput: opts.versionInput ?? '',
      commitDate: opts.commitDate,
      now: NOW
    })
    expect(m).toMatchObject({
      ...want,
      fork: want.fork ?? false,
      shortCommit: want.commit.slice(0, 7)
    })
  })

  it('never uses GITHUB_SHA (the merge commit) for a pull request', () => {
    const m = deriveMetadata(contextOf(pullRequest()), { versionInput: '', now: NOW })
    expect(m.commit).not.toBe(MERGE_SHA)
  })

  it('converts a +02:00 head_commit timestamp to UTC', () => {
    const fx = branchPush('main')
    fx.payload.head_commit.timestamp = '2024-06-01T12:30:45+02:00'
    expect(deriveMetadata(contextOf(fx), { versionInput: '', now: NOW }).date).toBe(
      '2024-06-01T10:30:45Z'
    )
  })

  it('counts a head repository that is gone as a fork', () => {
    const fx = pullRequest()
    fx.payload.pull_request.head.repo = null
    expect(deriveMetadata(contextOf(fx), { versionInput: '', now: NOW }).fork).toBe(true)
  })

  it.each([
    [
      'a release tag with a space',
      release('v1.0 beta'),
      '',
      /release\.tag_name: 'v1\.0 beta' is not a valid Docker tag/
    ],
    [
      'a release tag with a slash',
      release('release/1.0'),
      '',
      /release\.tag_name: 'release\/1\.0'/
    ],
    [
      'semver build metadata (+) is not rewritten',
      release('v1.2.3+build.5'),
      '',
      /'v1\.2\.3\+build\.5' is not a valid Docker tag/
    ],
    ['a tag push with a shell metacharacter', tagPush('v1;rm'), '', /the pushed tag: 'v1;rm'/],
    [
      'a dispatch version with $()',
      dispatch({ version: '$(id)' }),
      '',
      /inputs\.version: '\$\(id\)'/
    ],
    [
      'a bad version input',
      branchPush(),
      'bad tag!',
      /^version: 'bad tag!' is not a valid Docker tag/
    ],
    ['a leading dot', release('.hidden'), '', /release\.tag_name: '\.hidden'/],
    ['a 129-character tag', release('a'.repeat(129)), '', /not a valid Docker tag/],
    ['a tag deletion', tagDelete(), '', /push: refs\/tags\/simple-tag was deleted/],
    // Passed before (issue 10): the `date` output broke its format, the version was no tag.
    [
      'a release published beyond year 9999',
      withPayload(release('v1.0.0'), p => (p.release.published_at = '+010000-01-01T00:00:00Z')),
      '',
      /^release\.published_at: "\+010000-01-01T00:00:00Z" is not a date between 1970-01-01 and 9999-12-31$/
    ],
    [
      'a commit timestamp beyond year 9999',
      withPayload(branchPush(), p => (p.head_commit.timestamp = '+275760-09-13T00:00:00Z')),
      '',
      /^head_commit\.timestamp: .* is not a date between/
    ],
    [
      'a release date that is not a date',
      withPayload(release('v1.0.0'), p => (p.release.published_at = 'yesterday')),
      '',
      /^release\.published_at: "yesterday" is not a date/
    ],
    [
      'a release date of the wrong type',
      withPayload(release('v1.0.0'), p => (p.release.published_at = { at: 1 })),
      '',
      /^release\.published_at: \{"at":1\} is not a date/
    ],
    [
      'a pull request number that is a fraction',
      withPayload(pullRequest(), p => (p.number = 1.5)),
      '',
      /^number: 1\.5 is not a pull request number \(a positive integer\)$/
    ],
    [
      'a pull request number beyond 2^53',
      withPayload(pullRequest(), p => (p.number = 1e21)),
      '',
      /^number: 1e\+21 is not a pull request number/
    ],
    [
      'a negative pull request number',
      withPayload(pullRequest(), p => (p.number = -2)),
      '',
      /^number: -2 is not a pull request number/
    ],
    [
      'a pull request number as a string',
      withPayload(pullRequest(), p => (p.number = '12')),
      '',
      /^number: "12" is not a pull request number/
    ]
  ])('refuses %s', (_name, fx, versionInput, message) => {
    expect(() => deriveMetadata(contextOf(fx), { versionInput, now: NOW })).toThrow(message)
  })

  it('refuses a missing GITHUB_SHA', () => {
    expect(() =>
      deriveMetadata(contextOf(release(), { sha: '' }), { versionInput: '', now: NOW })
    ).toThrow('GITHUB_SHA is not set')
  })
})

describe('sanitizeBranch', () => {
  it.each([
    ['main', 'main'],
    ['feature/login', 'feature-login'],
    ['.hidden', 'hidden'],
    ['--x', 'x'],
    ['-.-x', 'x'],
    [
      'dependabot/go_modules/golang.org/x/net-0.23.0',
      'dependabot-go_modules-golang.org-x-net-0.23.0'
    ],
    ['ünïcode', 'n-code'],
    ['b'.repeat(200), 'b'.repeat(128)]
  ])('%s -> %s', (branch, tag) => {
    expect(sanitizeBranch(branch)).toBe(tag)
  })

  it('refuses a branch that leaves nothing', () => {
    expect(() => sanitizeBranch('---')).toThrow(/gives no usable Docker tag/)
  })
})

describe('version helpers', () => {
  it.each([
    ['v1.2.3', '1.2.3'],
    ['V1.2.3', '1.2.3'],
    ['1.2.3', '1.2.3'],
    ['v1.2', 'v1.2'],
    ['version-1', 'version-1'],
    ['v2.0.0-rc.1', '2.0.0-rc.1']
  ])('checkedVersion(%s) = %s', (raw, want) => {
    expect(checkedVersion(raw, 'x')).toBe(want)
  })

  it.each([
    ['1.2.3', true],
    ['1.2.3-rc.1', false],
    ['2024.06.1', false],
    ['v1.2', false],
    ['nightly', false]
  ])('isStableSemver(%s) = %s', (v, want) => {
    expect(isStableSemver(v)).toBe(want)
  })

  it.each([
    ['2019-05-15T15:20:53Z', '2019-05-15T15:20:53Z'],
    ['2024-06-01T12:30:45+02:00', '2024-06-01T10:30:45Z'],
    ['2024-06-01T12:30:45.999-01:00', '2024-06-01T13:30:45Z'],
    [1557933565, '2019-05-15T15:19:25Z'],
    ['not a date', undefined],
    [null, undefined]
  ])('toUtc(%s) = %s', (input, want) => {
    expect(toUtc(input)).toBe(want)
  })
})
