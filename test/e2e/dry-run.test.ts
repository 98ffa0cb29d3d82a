import { beforeAll, describe, expect, it } from '@jest/globals'
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ROOT, runAction, type ActionRun } from '../harness/runner.js'
import {
  branchPush,
  dispatch,
  forkPullRequest,
  pullRequest,
  release,
  schedule,
  SHA,
  tagDelete,
  tagPush,
  type EventFixture
} from '../fixtures/events.js'

const IMAGES =
  '- name: ghcr.io/Octo-Org/cli\n- name: ghcr.io/octo-org/web\n  platforms: linux/amd64,linux/arm64,linux/arm/v7'

let workspace = ''

/** A fixture with its payload edited. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function withPayload(fx: EventFixture, edit: (p: Record<string, any>) => void): EventFixture {
  edit(fx.payload)
  return fx
}

function dryRun(fx: EventFixture, inputs: Record<string, string> = {}): Promise<ActionRun> {
  return runAction({
    workspace,
    eventName: fx.eventName,
    payload: fx.payload,
    env: fx.env,
    inputs: { images: IMAGES, 'dry-run': 'true', ...inputs }
  })
}

beforeAll(() => {
  if (!existsSync(join(ROOT, 'dist', 'main', 'index.js')))
    throw new Error('run `npm run bundle` first')
  workspace = mkdtempSync(join(tmpdir(), 'gia-dry-'))
  writeFileSync(join(workspace, 'Dockerfile'), 'FROM scratch\nCOPY app /app\nENTRYPOINT ["/app"]\n')
})

describe('dry run of the bundle, as the runner runs it', () => {
  it.each([
    [
      'release',
      release('v1.2.3'),
      '1.2.3',
      'true',
      ['ghcr.io/octo-org/cli:1.2.3', 'ghcr.io/octo-org/cli:latest']
    ],
    [
      'prerelease',
      release('v1.3.0-rc.1', 'prereleased'),
      '1.3.0-rc.1',
      'true',
      ['ghcr.io/octo-org/cli:1.3.0-rc.1']
    ],
    [
      'tag push',
      tagPush('v2.0.0'),
      '2.0.0',
      'true',
      ['ghcr.io/octo-org/cli:2.0.0', 'ghcr.io/octo-org/cli:latest']
    ],
    [
      'branch push',
      branchPush('feature/x'),
      'feature-x',
      'false',
      ['ghcr.io/octo-org/cli:feature-x', `ghcr.io/octo-org/cli:sha-${SHA.slice(0, 7)}`]
    ],
    [
      'dispatch with version',
      dispatch({ version: 'v0.5.0' }),
      '0.5.0',
      'true',
      ['ghcr.io/octo-org/cli:0.5.0', 'ghcr.io/octo-org/cli:latest']
    ],
    [
      'dispatch without version',
      dispatch({}),
      'master',
      'false',
      ['ghcr.io/octo-org/cli:master', `ghcr.io/octo-org/cli:sha-${SHA.slice(0, 7)}`]
    ],
    [
      'pull request',
      pullRequest(),
      'pr-2',
      'false',
      ['ghcr.io/octo-org/cli:pr-2', 'ghcr.io/octo-org/cli:sha-ec26c3e']
    ],
    [
      'pull_request_target',
      pullRequest('pull_request_target'),
      'pr-2',
      'false',
      ['ghcr.io/octo-org/cli:pr-2', 'ghcr.io/octo-org/cli:sha-ec26c3e']
    ],
    [
      'schedule',
      schedule(),
      'nightly',
      'false',
      ['ghcr.io/octo-org/cli:nightly', `ghcr.io/octo-org/cli:sha-${SHA.slice(0, 7)}`]
    ]
  ])('%s', async (_name, fx, version, push, cliTags) => {
    const run = await dryRun(fx)
    expect(run.main.stderr).toBe('')
    expect(run.main.exitCode).toBe(0)
    expect(run.main.annotations).toEqual([])
    const out = run.main.outputs
    expect(out.version).toBe(version)
    expect(out.push).toBe(push)
    expect(out.digests).toBe('{}')
    expect(out.date).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
    expect(out.commit).toMatch(/^[0-9a-f]{40}$/)
    expect(out.tags.split('\n').filter(t => t.startsWith('ghcr.io/octo-org/cli:'))).toEqual(cliTags)
    expect(out.tags.split('\n').filter(t => t.startsWith('ghcr.io/octo-org/web:'))).toHaveLength(
      cliTags.length
    )
    expect(out.labels).toContain(`org.opencontainers.image.version=${version}`)
    const meta = JSON.parse(out.metadata)
    expect(meta.images[1].platforms).toEqual(['linux/amd64', 'linux/arm64', 'linux/arm/v7'])
    // the plan is in the log and in the job summary
    expect(run.main.stdout).toContain('::group::Plan')
    expect(run.main.stdout).toMatch(
      new RegExp(`^version +${version.replace(/\./g, '\\.')}( |$)`, 'm')
    )
    expect(run.main.summary).toContain(`| **version** | \`${version}\``)
    expect(run.post?.exitCode).toBe(0)
  })

  it('refuses push: true on a fork PR with a warning and reports push=false', async () => {
    const run = await dryRun(forkPullRequest(), { push: 'true' })
    expect(run.main.exitCode).toBe(0)
    expect(run.main.outputs.push).toBe('false')
    expect(run.main.annotations).toEqual([
      {
        command: 'warning',
        properties: {},
        message: 'push: true is refused on a pull request from a fork; nothing is pushed'
      }
    ])
  })

  it('masks the github token and the registry password', async () => {
    const run = await runAction({
      workspace,
      ...release(),
      inputs: {
        image: 'ghcr.io/a/b',
        'dry-run': 'true',
        'registry-username': 'u',
        'registry-password': 'p4ss-w0rd'
      },
      githubToken: 'ghs_secrettoken123'
    })
    expect(run.main.masks).toEqual(expect.arrayContaining(['p4ss-w0rd', 'ghs_secrettoken123']))
    expect(run.log.replace(/::add-mask::.*\n/g, '')).not.toMatch(/p4ss-w0rd|ghs_secrettoken123/)
  })
})

describe('bad inputs fail first, naming the input', () => {
  it.each([
    ['image and images', release(), { image: 'a' }, /^Both 'image' and 'images' are set/],
    [
      'an unknown platform',
      release(),
      { platforms: 'linux/amd64,linux/sparc64' },
      /^platforms: unknown platform 'linux\/sparc64'/
    ],
    [
      'a tagged image name',
      release(),
      { images: '- ghcr.io/a/b:v1' },
      /^images\[0\]\.name: 'ghcr.io\/a\/b:v1' carries a tag/
    ],
    [
      'a bad release tag',
      release('v1 2'),
      {},
      /^release\.tag_name: 'v1 2' is not a valid Docker tag/
    ],
    [
      'a tag with shell syntax',
      tagPush('$(reboot)'),
      {},
      /^the pushed tag: '\$\(reboot\)' is not a valid Docker tag/
    ],
    [
      'a bad version input',
      release(),
      { version: 'a/b' },
      /^version: 'a\/b' is not a valid Docker tag/
    ],
    ['a bad dispatch version', dispatch({ version: '1.0;id' }), {}, /^inputs\.version: '1\.0;id'/],
    [
      'a bad push value',
      release(),
      { push: 'maybe' },
      /^push: 'maybe' is not one of auto, true, false/
    ],
    ['a bad boolean', release(), { 'dry-run': 'nope' }, /dry-run/],
    [
      'a reserved build arg',
      release(),
      { 'build-args': 'DATE=now' },
      /^build-args: DATE is set by the action/
    ],
    [
      'a shell operator in smoke-args',
      release(),
      { 'smoke-args': '--version; id' },
      /^smoke-args: .*';'/
    ],
    ['a deleted tag', tagDelete(), {}, /^push: refs\/tags\/simple-tag was deleted/],
    [
      'a missing Dockerfile',
      release(),
      { images: '- name: a\n  dockerfile: nope/Dockerfile' },
      /^images\[0\]\.dockerfile: nope\/Dockerfile does not exist/
    ],
    // Passed the plan before issue 10.
    [
      'a username without a password',
      release(),
      { 'registry-username': 'octocat' },
      /^registry-username: set without registry-password/
    ],
    [
      'a go-working-directory that does not exist',
      release(),
      { 'go-working-directory': 'no/such/dir' },
      /^go-working-directory: 'no\/such\/dir' is not a directory in the workspace/
    ],
    [
      'a mapping where smoke-args are expected',
      release(),
      { images: '- name: a\n- name: b\n  smoke-args: {version: true}' },
      /^images\[1\]\.smoke-args: expected a string or a list of strings, got a mapping/
    ],
    [
      'a NUL byte in a list item',
      release(),
      { images: '- name: a\n  smoke-args: ["--version", "a\\0b"]' },
      /^images\[0\]\.smoke-args\[1\]: .* U\+0000/
    ],
    [
      'a context that looks like a flag',
      release(),
      { context: '--output=type=local,dest=/tmp' },
      /^context: .* starts with '-'/
    ],
    [
      'a release date beyond year 9999',
      withPayload(release('v1.0.0'), p => (p.release.published_at = '+010000-01-01T00:00:00Z')),
      {},
      /^release\.published_at: .* is not a date between 1970-01-01 and 9999-12-31/
    ],
    [
      'a pull request number that is not an integer',
      withPayload(pullRequest(), p => (p.number = 1.5)),
      {},
      /^number: 1\.5 is not a pull request number/
    ]
  ])('%s', async (_name, fx, inputs, message) => {
    const run = await dryRun(fx, inputs)
    expect(run.failed).toBe(true)
    expect(run.main.exitCode).toBe(1)
    const errors = run.main.annotations.filter(a => a.command === 'error')
    expect(errors).toHaveLength(1)
    expect(errors[0].message).toMatch(message)
    // nothing ran before the error: no plan, no outputs
    expect(run.main.stdout).not.toContain('::group::')
    expect(run.main.outputs).toEqual({})
  })
})
