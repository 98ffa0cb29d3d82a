/**
 * The plan for real projects: tag templates and several names per image, smoke tests of servers,
 * several Go modules and the generated Dockerfile's keys; every bad value an error naming it.
 */
import { describe, expect, it, jest } from '@jest/globals'
import { buildPlan } from '../src/plan/plan.js'
import { renderPlanText } from '../src/plan/render.js'
import { runIt } from '../src/summary.js'
import { contextOf } from '../test/fixtures/context.js'
import { branchPush, release } from '../test/fixtures/events.js'
import { inputsFor } from '../test/fixtures/inputs.js'

jest.spyOn(process.stdout, 'write').mockImplementation(() => true)

const opts = { now: new Date('2026-11-24T10:11:12Z'), nodeArch: 'x64', dockerfiles: {} }
const RUNNER = '  main: .\n  binary: app\n'

function plan(images: string, withInputs: Record<string, string> = {}, fx = release('v2.3.0')) {
  return buildPlan(inputsFor({ images, ...withInputs }), contextOf(fx), opts)
}

describe('tags and names', () => {
  const twoNames = `- names: [ghcr.io/acme/app, docker.io/acme/app]\n${RUNNER}`
  const vScheme = '{{tag}}\nv{{major}}.{{minor}}\nv{{major}}'

  it('pushes one build to every name: version tags, then floating tags, latest last on each', () => {
    const p = plan(twoNames, { tags: vScheme })
    const img = p.images[0]
    expect(img.names).toEqual([
      {
        name: 'ghcr.io/acme/app',
        registry: 'ghcr.io',
        versionTags: ['ghcr.io/acme/app:v2.3.0'],
        floatingTags: ['ghcr.io/acme/app:v2.3', 'ghcr.io/acme/app:v2', 'ghcr.io/acme/app:latest']
      },
      {
        name: 'docker.io/acme/app',
        registry: 'docker.io',
        versionTags: ['docker.io/acme/app:v2.3.0'],
        floatingTags: [
          'docker.io/acme/app:v2.3',
          'docker.io/acme/app:v2',
          'docker.io/acme/app:latest'
        ]
      }
    ])
    expect(img.versionTag).toBe('ghcr.io/acme/app:v2.3.0')
    expect(img.tags.slice(0, 2)).toEqual(['ghcr.io/acme/app:v2.3.0', 'docker.io/acme/app:v2.3.0'])
    expect(p.registries).toEqual(['ghcr.io', 'docker.io'])
    // built once: one cache scope, the first name's
    expect(img.cacheScope).toBe('ghcr.io-acme-app')
  })

  it("an image's tags win over the input; skipped templates are notices", () => {
    const p = plan(
      `- name: ghcr.io/acme/a\n${RUNNER}- name: ghcr.io/acme/b\n${RUNNER}  tags: ['{{version}}', '{{major}}']\n`,
      { tags: '{{version}}\n{{major}}.{{minor}}' },
      release('v3.0.0-rc.1', 'prereleased')
    )
    expect(p.images.map(i => i.tags)).toEqual([
      ['ghcr.io/acme/a:3.0.0-rc.1'],
      ['ghcr.io/acme/b:3.0.0-rc.1']
    ])
    expect(p.notices).toEqual([
      "tags: '{{major}}.{{minor}}' skipped: a floating tag, only for a stable release (a prerelease)",
      "images[1].tags: '{{major}}' skipped: a floating tag, only for a stable release (a prerelease)"
    ])
  })

  it('keeps the sha tag on a branch build by default', () => {
    const p = plan(`- name: ghcr.io/acme/app\n${RUNNER}`, {}, branchPush('main'))
    expect(p.images[0].tags).toEqual(['ghcr.io/acme/app:main', 'ghcr.io/acme/app:sha-6113728'])
  })
})

describe('smoke tests of servers', () => {
  it('an HTTP probe: no arguments by default, any 2xx, the timeout', () => {
    const p = plan(`- name: ghcr.io/acme/app\n${RUNNER}  smoke-timeout: 30\n`, {
      'smoke-http': '8080/healthz'
    })
    expect(p.images[0].smoke).toMatchObject({
      args: [],
      expect: '',
      http: { port: 8080, path: '/healthz' },
      timeoutSeconds: 30
    })
    expect(renderPlanText(p)).toContain(
      '(no arguments) -> GET :8080/healthz answers 2xx on linux/amd64, linux/arm64, within 30 s'
    )
    expect(runIt(p.images[0], true)).toEqual([
      'docker run --rm -d -p 8080:8080 ghcr.io/acme/app:2.3.0',
      'curl http://localhost:8080/healthz'
    ])
  })

  it('text mode keeps --version and the version; an image may turn the probe off', () => {
    const p = plan(`- name: ghcr.io/acme/app\n${RUNNER}  smoke-http: false\n`, {
      'smoke-http': '8080'
    })
    expect(p.images[0].smoke).toMatchObject({
      args: ['--version'],
      expect: '2.3.0',
      http: undefined,
      timeoutSeconds: 60
    })
    expect(runIt(p.images[0], true)).toEqual(['docker run --rm ghcr.io/acme/app:2.3.0 --version'])
    // not smoke-tested: nothing claims --version works
    expect(runIt(p.images[0], false)).toEqual(['docker run --rm ghcr.io/acme/app:2.3.0'])
  })
})

describe('several Go modules and the generated Dockerfile', () => {
  const twoModules = [
    '- name: ghcr.io/acme/web',
    '  main: .',
    '  binary: web',
    '  go-working-directory: web/',
    '  files: ["static:/srv/static", "templates:/srv/templates"]',
    '  expose: 8080',
    '- name: ghcr.io/acme/ws',
    '  main: .',
    '  binary: ws-server',
    '  go-working-directory: ws-server',
    '  expose: [9100, 51820/udp]',
    '  user: "1000:1000"',
    '  cmd: -metrics :9100'
  ].join('\n')

  it('gates every module directory once and compiles each image in its own', () => {
    const p = plan(
      `${twoModules}\n- name: ghcr.io/acme/web2\n  main: .\n  binary: web\n  go-working-directory: web`,
      {
        'go-gate': 'vet, test'
      }
    )
    expect(p.goGate).toMatchObject({
      enabled: true,
      steps: ['vet', 'test'],
      workingDirectories: ['web', 'ws-server']
    })
    expect(p.goModules).toEqual(['web', 'ws-server'])
    expect(p.images.map(i => i.runnerBuild?.goDir)).toEqual(['web', 'ws-server', 'web'])
    expect(renderPlanText(p)).toMatch(
      /go gate +go vet, go test -vet=off \.\/\.\.\. in web, ws-server/
    )
  })

  it('writes expose, user, cmd and the files into the generated Dockerfile', () => {
    const p = plan(twoModules)
    const [web, ws] = p.images
    expect(web.runnerBuild?.files).toEqual([
      { src: 'static', dest: '/srv/static' },
      { src: 'templates', dest: '/srv/templates' }
    ])
    expect(web.runnerBuild?.generatedDockerfile).toContain('COPY --from=gia-files / /\n')
    expect(web.runnerBuild?.generatedDockerfile).toContain('EXPOSE 8080\nUSER 65532:65532\n')
    expect(ws.runnerBuild?.generatedDockerfile).toContain(
      'EXPOSE 9100 51820/udp\nUSER 1000:1000\nENTRYPOINT ["/ws-server"]\nCMD ["-metrics", ":9100"]\n'
    )
    expect(ws.runnerBuild?.filesDir).toBeUndefined()
  })

  it("refuses expose/user/cmd/files when the runner build uses the context's own Dockerfile", () => {
    expect(() =>
      buildPlan(
        inputsFor({ images: `- name: ghcr.io/acme/app\n${RUNNER}  context: out\n  expose: 80\n` }),
        contextOf(release('v1.0.0')),
        { ...opts, dockerfiles: { 'out/Dockerfile': 'FROM scratch\nCOPY app /app\n' } }
      )
    ).toThrow(
      'images[0].expose: only for a generated Dockerfile, but the image uses out/Dockerfile'
    )
  })

  it('refuses a files source that does not exist', () => {
    expect(() =>
      buildPlan(inputsFor({ images: twoModules }), contextOf(release('v1.0.0')), {
        ...opts,
        files: { 'web/static': true, 'web/templates': false }
      })
    ).toThrow('images[0].files[1]: templates does not exist in the module web')
  })

  it.each([
    [
      '  files: ../secrets:/s',
      /images\[0\]\.files: '\.\.\/secrets:\/s': the source must be a path inside the module/
    ],
    ['  files: /etc/passwd:/p', /the source must be a path inside the module/],
    [
      '  files: static:srv',
      /images\[0\]\.files: 'static:srv': the destination must be an absolute path/
    ],
    ['  files: static', /images\[0\]\.files: 'static' is not src:dest/],
    ['  expose: 70000', /images\[0\]\.expose: '70000' is not a port/],
    ['  expose: 53/icmp', /images\[0\]\.expose: '53\/icmp' is not a port/],
    ['  user: "root; rm"', /images\[0\]\.user: 'root; rm' is not a user/],
    ['  smoke-http: healthz', /images\[0\]\.smoke-http: 'healthz' is not <port>\[\/<path>\]/],
    ['  smoke-timeout: 0', /images\[0\]\.smoke-timeout: '0' is not a number of seconds/],
    [
      '  go-working-directory: ../other',
      /images\[0\]\.go-working-directory: '\.\.\/other' must be a directory inside the workspace/
    ],
    ['  tags: ["{{sha}}"]', /images\[0\]\.tags: unknown placeholder \{\{sha\}\}/],
    ['  names: []', /images\[0\]: give 'name' or 'names', not both/]
  ])('refuses %s', (line, error) => {
    expect(() => plan(`- name: ghcr.io/acme/app\n${RUNNER}${line}`)).toThrow(error)
  })

  it.each([
    ['- names: []\n', /images\[0\]\.names: expected a non-empty list of image names/],
    [
      '- names: [ghcr.io/a/b, ghcr.io/a/b]\n',
      /images\[0\]\.names\[1\]: 'ghcr.io\/a\/b' is listed twice/
    ],
    ['- names: [ghcr.io/a/b:1]\n', /images\[0\]\.names\[0\]: 'ghcr.io\/a\/b:1' carries a tag/],
    [
      '- name: ghcr.io/a/b\n  expose: 80\n',
      /images\[0\]\.expose: only for a runner build without a Dockerfile/
    ]
  ])('refuses %j', (images, error) => {
    expect(() => plan(images)).toThrow(error)
  })

  it.each([
    [{ 'go-gate': 'lint' }, /go-gate: 'lint' is not true, false or a list of fmt, vet, test/],
    [{ 'smoke-timeout': 'soon' }, /smoke-timeout: 'soon' is not a number of seconds/],
    [{ 'smoke-http': '8080 /x' }, /smoke-http: '8080 \/x' is not <port>/],
    [
      { tags: '{{version}}+x' },
      /tags: '\{\{version\}\}\+x' gives '2\.3\.0\+x', which is not a valid Docker tag/
    ]
  ])('refuses the input %j', (withInputs, error) => {
    expect(() => plan(`- name: ghcr.io/acme/app\n${RUNNER}`, withInputs)).toThrow(error)
  })
})
