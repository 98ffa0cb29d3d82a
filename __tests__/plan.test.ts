import { describe, expect, it, jest } from '@jest/globals'
import { buildPlan, cacheScope } from '../src/plan/plan.js'
import { renderPlanMarkdown, renderPlanText } from '../src/plan/render.js'
import { computeOutputs } from '../src/outputs.js'
import { emptyResults } from '../src/results.js'
import { contextOf } from '../test/fixtures/context.js'
import { loginTargets } from '../src/docker/login.js'
import {
  branchPush,
  dependabotPullRequest,
  dispatch,
  forkPullRequest,
  pullRequest,
  release,
  schedule,
  SHA,
  tagPush
} from '../test/fixtures/events.js'
import { inputsFor } from '../test/fixtures/inputs.js'

jest.spyOn(process.stdout, 'write').mockImplementation(() => true)

const NOW = new Date('2026-11-24T10:11:12Z')
/** A cross-compiling Dockerfile: nothing runs on the target platform. */
const CROSS = [
  'ARG GO_IMAGE=golang:1.26',
  'FROM --platform=$BUILDPLATFORM ${GO_IMAGE} AS build',
  'ARG TARGETOS TARGETARCH',
  'RUN GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /app .',
  'FROM scratch',
  'COPY --from=build /app /app',
  'ENTRYPOINT ["/app"]'
].join('\n')
/** A Dockerfile whose final stage runs a command on the target platform. */
const TARGET_RUN = 'FROM alpine\nRUN apk add --no-cache ca-certificates\nCOPY app /app\n'

function withDockerfiles(files: Record<string, string>): Record<string, string> {
  return new Proxy(files, { get: (t, k: string) => (k in t ? t[k] : CROSS) })
}
const opts = { now: NOW, nodeArch: 'x64', dockerfiles: withDockerfiles({}) }

describe('buildPlan: tags, latest and push', () => {
  it.each([
    [
      'stable release',
      release('v1.2.3'),
      {},
      ['ghcr.io/acme/app:1.2.3', 'ghcr.io/acme/app:latest'],
      true
    ],
    [
      'CalVer release',
      release('2024.06.1'),
      {},
      ['ghcr.io/acme/app:2024.06.1', 'ghcr.io/acme/app:latest'],
      true
    ],
    [
      'prerelease',
      release('v2.0.0-rc.1', 'prereleased'),
      {},
      ['ghcr.io/acme/app:2.0.0-rc.1'],
      true
    ],
    [
      'prerelease with latest: true',
      release('v2.0.0-rc.1', 'prereleased'),
      { latest: 'true' },
      ['ghcr.io/acme/app:2.0.0-rc.1', 'ghcr.io/acme/app:latest'],
      true
    ],
    [
      'stable release with latest: false',
      release('v1.2.3'),
      { latest: 'false' },
      ['ghcr.io/acme/app:1.2.3'],
      true
    ],
    [
      'semver tag push',
      tagPush('v1.0.0'),
      {},
      ['ghcr.io/acme/app:1.0.0', 'ghcr.io/acme/app:latest'],
      true
    ],
    ['CalVer tag push', tagPush('2024.06.1'), {}, ['ghcr.io/acme/app:2024.06.1'], true],
    [
      'dispatch with version',
      dispatch({ version: '3.1.4' }),
      {},
      ['ghcr.io/acme/app:3.1.4', 'ghcr.io/acme/app:latest'],
      true
    ],
    [
      'branch push',
      branchPush('main'),
      {},
      ['ghcr.io/acme/app:main', `ghcr.io/acme/app:sha-${SHA.slice(0, 7)}`],
      false
    ],
    [
      'branch push with push: true',
      branchPush('main'),
      { push: 'true' },
      ['ghcr.io/acme/app:main', `ghcr.io/acme/app:sha-${SHA.slice(0, 7)}`],
      true
    ],
    [
      'release with push: false',
      release('v1.2.3'),
      { push: 'false' },
      ['ghcr.io/acme/app:1.2.3', 'ghcr.io/acme/app:latest'],
      false
    ],
    [
      'pull request',
      pullRequest(),
      {},
      ['ghcr.io/acme/app:pr-2', 'ghcr.io/acme/app:sha-ec26c3e'],
      false
    ],
    [
      'schedule',
      schedule(),
      {},
      ['ghcr.io/acme/app:nightly', `ghcr.io/acme/app:sha-${SHA.slice(0, 7)}`],
      false
    ]
  ])('%s', (_name, fx, withInputs, tags, push) => {
    const plan = buildPlan(
      inputsFor({ image: 'ghcr.io/Acme/App', ...withInputs }),
      contextOf(fx),
      opts
    )
    expect(plan.images[0].tags).toEqual(tags)
    expect(plan.push).toBe(push)
    expect(plan.warnings).toEqual([])
  })

  it('refuses push: true on a fork pull request with a warning', () => {
    const plan = buildPlan(
      inputsFor({ image: 'ghcr.io/acme/app', push: 'true' }),
      contextOf(forkPullRequest()),
      opts
    )
    expect(plan.push).toBe(false)
    expect(plan.warnings).toEqual([
      'push: true is refused on a pull request from a fork; nothing is pushed'
    ])
  })

  describe('pull requests that get no secrets: build and smoke-test, never push, never log in', () => {
    // Dependabot's pull requests run as a fork's do: read-only token, no secrets. A workflow that
    // passes registry-username (e.g. github.actor) and a secret password gets an empty password.
    const creds = { username: 'ci-bot', password: '', actor: 'x', githubToken: 'ghs_readonly' }

    it.each([
      ['fork', forkPullRequest(), 'pull request from a fork', []],
      [
        'Dependabot',
        dependabotPullRequest(),
        'pull request by Dependabot',
        [expect.stringMatching(/^Dependabot pull request: GitHub gives it no secrets/)]
      ],
      [
        'Dependabot, pull_request_target',
        dependabotPullRequest('pull_request_target'),
        'pull request by Dependabot',
        [expect.stringMatching(/^Dependabot pull request/)]
      ]
    ])('%s', (_name, fx, why, notices) => {
      for (const push of ['auto', 'true']) {
        const plan = buildPlan(
          inputsFor({ image: 'ghcr.io/acme/app', push, 'registry-username': 'ci-bot' }),
          contextOf(fx),
          opts
        )
        expect(plan.secretsWithheld).toBe(why)
        expect(plan.push).toBe(false)
        expect(plan.pushReason).toBe(`${why}: nothing is pushed`)
        expect(plan.notices).toEqual(notices)
        expect(plan.warnings).toEqual(
          push === 'true' ? [`push: true is refused on a ${why}; nothing is pushed`] : []
        )
        expect(plan.images[0].smoke.enabled).toBe(true)
        expect(loginTargets(plan.registries, creds, plan.push, plan.secretsWithheld)).toEqual([])
      }
    })

    it.each([
      ['registry-username', 'registry-password'],
      ['registry-password', 'registry-username']
    ])('%s without %s is refused when the run gets secrets', (given, missing) => {
      for (const fx of [release(), pullRequest()]) {
        expect(() =>
          buildPlan(inputsFor({ image: 'a', [given]: 'x' }), contextOf(fx), opts)
        ).toThrow(`${given}: set without ${missing}; give both or neither`)
      }
    })

    it('a pull request a person opens in the repository keeps its secrets', () => {
      const plan = buildPlan(
        inputsFor({ image: 'ghcr.io/acme/app', push: 'true' }),
        contextOf(pullRequest()),
        opts
      )
      expect(plan.secretsWithheld).toBeUndefined()
      expect(plan.notices).toEqual([])
      expect(plan.push).toBe(true)
    })

    it('the plan names Dependabot', () => {
      const plan = buildPlan(
        inputsFor({ image: 'ghcr.io/acme/app' }),
        contextOf(dependabotPullRequest()),
        opts
      )
      expect(renderPlanText(plan)).toMatch(/^event +pull_request \(pull_request, Dependabot\)$/m)
      expect(renderPlanMarkdown(plan)).toContain(
        '| **event** | pull_request (pull_request, Dependabot) |'
      )
    })
  })

  it('never tags latest twice when the version is latest', () => {
    const plan = buildPlan(
      inputsFor({ image: 'a', version: 'latest', latest: 'true' }),
      contextOf(release()),
      opts
    )
    expect(plan.images[0].tags).toEqual(['a:latest'])
  })

  it('requires an image', () => {
    expect(() => buildPlan(inputsFor({}), contextOf(release()), opts)).toThrow(
      /^image: no image given/
    )
  })
})

describe('buildPlan: the image matrix', () => {
  const images = [
    '- name: ghcr.io/Octo-Org/cli',
    '  dockerfile: cmd/cli/Dockerfile',
    '  build-args: EXTRA=image',
    '  smoke-expect: cli',
    '- name: ghcr.io/octo-org/web',
    '  context: ./web/',
    '  platforms: linux/amd64,linux/arm/v7,linux/riscv64',
    '  smoke-args: serve --version'
  ].join('\n')

  it('resolves contexts, Dockerfiles, platforms, build args and smoke tests per image', () => {
    const plan = buildPlan(
      inputsFor({
        images,
        'build-args': 'EXTRA=action\nSHARED=1',
        platforms: 'linux/amd64,linux/arm64'
      }),
      contextOf(release('v1.2.3')),
      opts
    )
    const [cli, web] = plan.images
    expect(cli).toMatchObject({
      name: 'ghcr.io/octo-org/cli',
      registry: 'ghcr.io',
      context: '.',
      dockerfile: 'cmd/cli/Dockerfile',
      platforms: ['linux/amd64', 'linux/arm64'],
      versionTag: 'ghcr.io/octo-org/cli:1.2.3',
      cacheScope: 'ghcr.io-octo-org-cli',
      smoke: {
        enabled: true,
        platforms: ['linux/amd64', 'linux/arm64'],
        args: ['--version'],
        expect: 'cli'
      }
    })
    expect(cli.buildArgs).toEqual([
      { key: 'VERSION', value: '1.2.3' },
      { key: 'COMMIT', value: SHA },
      { key: 'DATE', value: '2019-05-15T15:20:53Z' },
      { key: 'SHARED', value: '1' },
      { key: 'EXTRA', value: 'image' }
    ])
    expect(web).toMatchObject({
      context: 'web',
      dockerfile: 'web/Dockerfile',
      platforms: ['linux/amd64', 'linux/arm/v7', 'linux/riscv64'],
      smoke: { args: ['serve', '--version'], expect: '1.2.3' }
    })
    expect(plan.registries).toEqual(['ghcr.io'])
    expect(plan.qemu.platforms).toEqual(['linux/arm64', 'linux/arm/v7', 'linux/riscv64'])
  })

  it('limits smoke tests to native platforms on request', () => {
    const plan = buildPlan(
      inputsFor({
        images,
        'smoke-platforms': 'native',
        platforms: 'linux/amd64,linux/386,linux/arm64'
      }),
      contextOf(release()),
      opts
    )
    expect(plan.images[0].smoke.platforms).toEqual(['linux/amd64', 'linux/386'])
    expect(plan.images[0].smoke.note).toMatch(/not run: linux\/arm64/)
  })

  it('warns when no platform of an image can be smoke-tested natively', () => {
    const plan = buildPlan(
      inputsFor({ image: 'a', 'smoke-platforms': 'native', platforms: 'linux/arm64' }),
      contextOf(release()),
      opts
    )
    expect(plan.images[0].smoke.enabled).toBe(false)
    expect(plan.warnings[0]).toMatch(/no platform of a is native to the runner \(linux\/amd64\)/)
  })

  it('takes the runner platform from RUNNER_ARCH', () => {
    const plan = buildPlan(
      inputsFor({ image: 'a' }),
      contextOf(release(), { runnerArch: 'ARM64' }),
      opts
    )
    expect(plan.runnerPlatform).toBe('linux/arm64')
    expect(plan.qemu.platforms).toEqual(['linux/amd64'])
  })

  it.each([
    ['smoke tests on foreign platforms', {}, CROSS, ['linux/arm64']],
    ['no smoke test and a cross-compiling Dockerfile', { 'smoke-test': 'false' }, CROSS, []],
    ['native smoke tests only', { 'smoke-platforms': 'native' }, CROSS, []],
    [
      'no smoke test but a target-platform RUN step',
      { 'smoke-test': 'false' },
      TARGET_RUN,
      ['linux/arm64']
    ],
    ['qemu: true', { 'smoke-test': 'false', qemu: 'true' }, CROSS, ['linux/arm64']]
  ])('qemu: auto emulates what must run: %s', (_name, withInputs, dockerfile, platforms) => {
    const plan = buildPlan(inputsFor({ image: 'a', ...withInputs }), contextOf(release()), {
      ...opts,
      dockerfiles: { Dockerfile: dockerfile }
    })
    expect(plan.qemu.platforms).toEqual(platforms)
  })

  it('needs no emulation when every platform is native, and none with qemu: false', () => {
    expect(
      buildPlan(inputsFor({ image: 'a', platforms: 'linux/amd64' }), contextOf(release()), opts)
        .qemu.platforms
    ).toEqual([])
    expect(
      buildPlan(inputsFor({ image: 'a', qemu: 'false' }), contextOf(release()), opts).qemu.platforms
    ).toEqual([])
  })
})

describe('labels and outputs', () => {
  it('sets the OCI labels from the release and the repository', () => {
    const fx = release('v1.2.3')
    fx.payload.repository.description = 'A test repo'
    fx.payload.repository.license = { spdx_id: 'Apache-2.0' }
    const plan = buildPlan(inputsFor({ image: 'ghcr.io/acme/my-app' }), contextOf(fx), opts)
    expect(plan.images[0].labels).toEqual({
      'org.opencontainers.image.title': 'my-app',
      'org.opencontainers.image.version': '1.2.3',
      'org.opencontainers.image.revision': SHA,
      'org.opencontainers.image.created': '2019-05-15T15:20:53Z',
      'org.opencontainers.image.source': 'https://github.com/Octo-Org/octo-repo',
      'org.opencontainers.image.url': 'https://github.com/Octo-Org/octo-repo',
      'org.opencontainers.image.description': 'A test repo',
      'org.opencontainers.image.licenses': 'Apache-2.0'
    })
  })

  it('leaves out a NOASSERTION license and an empty description', () => {
    const fx = release()
    fx.payload.repository.license = { spdx_id: 'NOASSERTION' }
    fx.payload.repository.description = ''
    const labels = buildPlan(inputsFor({ image: 'a' }), contextOf(fx), opts).images[0].labels
    expect(Object.keys(labels)).not.toContain('org.opencontainers.image.licenses')
    expect(Object.keys(labels)).not.toContain('org.opencontainers.image.description')
  })

  it('keeps labels on one line: a description with newlines, a licence that is no SPDX id', () => {
    const fx = release('v1.2.3')
    fx.payload.repository.description =
      'Tool\r\norg.opencontainers.image.version=9.9.9\n::warning::x\u2028y\u0000'
    fx.payload.repository.license = { spdx_id: 'MIT\n::error::x' }
    const plan = buildPlan(inputsFor({ image: 'a' }), contextOf(fx), opts)
    expect(plan.images[0].labels['org.opencontainers.image.description']).toBe(
      'Tool org.opencontainers.image.version=9.9.9 ::warning::x y'
    )
    expect(plan.images[0].labels['org.opencontainers.image.licenses']).toBeUndefined()
    const labels = computeOutputs(plan, emptyResults()).labels.split('\n')
    expect(labels.filter(l => l.startsWith('org.opencontainers.image.version='))).toEqual([
      'org.opencontainers.image.version=1.2.3'
    ])
    // the plan prints every value on its own row, escaped
    const text = renderPlanText(plan)
    expect(text.split(/\r\n|\r|\n/).filter(l => /^\s*(::|##\[)/.test(l))).toEqual([])
    expect(renderPlanMarkdown(plan)).not.toMatch(/[\r\u0000]/)
  })

  it('computes the outputs of a dry run', () => {
    const plan = buildPlan(
      inputsFor({ images: '- ghcr.io/acme/cli\n- ghcr.io/acme/web', 'dry-run': 'true' }),
      contextOf(release('v1.2.3')),
      opts
    )
    const out = computeOutputs(plan, emptyResults())
    expect(out.version).toBe('1.2.3')
    expect(out.commit).toBe(SHA)
    expect(out.date).toBe('2019-05-15T15:20:53Z')
    expect(out.push).toBe('true')
    expect(out.digests).toBe('{}')
    expect(out.tags.split('\n')).toEqual([
      'ghcr.io/acme/cli:1.2.3',
      'ghcr.io/acme/cli:latest',
      'ghcr.io/acme/web:1.2.3',
      'ghcr.io/acme/web:latest'
    ])
    expect(out.labels.split('\n')).toContain('org.opencontainers.image.title=cli')
    expect(out.labels.split('\n')).toContain('org.opencontainers.image.title=web')
    expect(
      out.labels.split('\n').filter(l => l.startsWith('org.opencontainers.image.version='))
    ).toEqual(['org.opencontainers.image.version=1.2.3'])
    const meta = JSON.parse(out.metadata)
    expect(meta.images.map((i: { name: string }) => i.name)).toEqual([
      'ghcr.io/acme/cli',
      'ghcr.io/acme/web'
    ])
    expect(meta.dryRun).toBe(true)
  })

  it('renders the plan for the log and the summary', () => {
    const plan = buildPlan(
      inputsFor({ image: 'ghcr.io/acme/app' }),
      contextOf(release('v1.2.3')),
      opts
    )
    const text = renderPlanText(plan)
    expect(text).toMatch(/^version +1\.2\.3 +<- release\.tag_name$/m)
    expect(text).toMatch(/^ +tags +ghcr\.io\/acme\/app:1\.2\.3$/m)
    expect(text).toMatch(/^ +ghcr\.io\/acme\/app:latest$/m)
    const md = renderPlanMarkdown(plan)
    expect(md).toContain('| **version** | `1.2.3` (release.tag_name) |')
    expect(md).toContain('`ghcr.io/acme/app:1.2.3`<br>`ghcr.io/acme/app:latest`')
  })

  it('refuses a Dockerfile that is not there, naming the input', () => {
    const missing = { ...opts, dockerfiles: {} }
    expect(() => buildPlan(inputsFor({ image: 'a' }), contextOf(release()), missing)).toThrow(
      /^dockerfile: Dockerfile does not exist in the workspace \(context \.\)$/
    )
    expect(() =>
      buildPlan(
        inputsFor({ images: '- name: a\n  dockerfile: cmd/a/Dockerfile' }),
        contextOf(release()),
        missing
      )
    ).toThrow(/^images\[0\]\.dockerfile: cmd\/a\/Dockerfile does not exist/)
  })

  it('refuses a go-working-directory that is not in the workspace, when Go runs', () => {
    const inputs = inputsFor({ image: 'a', 'go-working-directory': 'servcie' })
    expect(() =>
      buildPlan(inputs, contextOf(release()), { ...opts, goWorkingDirectoryExists: false })
    ).toThrow(/^go-working-directory: 'servcie' is not a directory in the workspace$/)
    // without the gate and runner builds, no Go runs there
    const noGo = inputsFor({ image: 'a', 'go-working-directory': 'servcie', 'go-gate': 'false' })
    expect(
      buildPlan(noGo, contextOf(release()), { ...opts, goWorkingDirectoryExists: false }).goGate
        .enabled
    ).toBe(false)
  })

  it('makes cache scopes safe', () => {
    expect(cacheScope('localhost:5000/a/b')).toBe('localhost-5000-a-b')
  })
})
