import { describe, expect, it, jest } from '@jest/globals'
import { inputsFor } from '../test/fixtures/inputs.js'

// getInputs() registers secrets with ::add-mask::; keep the test output quiet.
jest.spyOn(process.stdout, 'write').mockImplementation(() => true)

describe('getInputs', () => {
  it('reads the defaults of action.yml', () => {
    const i = inputsFor({ image: 'ghcr.io/Octo-Org/App' })
    expect(i).toMatchObject({
      context: '.',
      dockerfile: 'Dockerfile',
      platforms: ['linux/amd64', 'linux/arm64'],
      buildArgs: [],
      push: 'auto',
      latest: 'auto',
      version: '',
      dryRun: false,
      goGate: ['fmt', 'vet', 'test'],
      goTestArgs: ['./...'],
      goWorkingDirectory: '.',
      cache: true,
      smokeTest: true,
      smokeArgs: ['--version'],
      smokeExpect: '',
      smokeTimeout: 60,
      smokeHttp: undefined,
      tags: undefined,
      smokePlatforms: 'all',
      qemu: 'auto',
      githubToken: 'ghs_test_token'
    })
    expect(i.images).toEqual([
      {
        ref: { name: 'ghcr.io/octo-org/app', registry: 'ghcr.io', path: 'octo-org/app' },
        refs: [{ name: 'ghcr.io/octo-org/app', registry: 'ghcr.io', path: 'octo-org/app' }],
        origin: 'image',
        buildArgs: []
      }
    ])
  })

  it('parses an images list with per-image settings', () => {
    const i = inputsFor({
      images: [
        '- name: ghcr.io/acme/cli',
        '  dockerfile: cmd/cli/Dockerfile',
        '  platforms: [linux/amd64, linux/arm/v7, linux/arm64/v8]',
        '  build-args: |',
        '    FOO=a,b',
        '    BAR=',
        '  smoke-args: version --short',
        '  smoke-expect: cli',
        '- name: localhost:5000/acme/web',
        '  context: web',
        '  target: final',
        '  smoke-args: ["--version", "two words"]',
        '- docker.io/Acme/Plain'
      ].join('\n')
    })
    expect(i.images.map(x => x.ref.name)).toEqual([
      'ghcr.io/acme/cli',
      'localhost:5000/acme/web',
      'docker.io/acme/plain'
    ])
    expect(i.images[0]).toMatchObject({
      origin: 'images[0]',
      dockerfile: 'cmd/cli/Dockerfile',
      platforms: ['linux/amd64', 'linux/arm/v7', 'linux/arm64'],
      buildArgs: [
        { key: 'FOO', value: 'a,b' },
        { key: 'BAR', value: '' }
      ],
      smokeArgs: ['version', '--short'],
      smokeExpect: 'cli'
    })
    expect(i.images[1]).toMatchObject({
      context: 'web',
      target: 'final',
      smokeArgs: ['--version', 'two words']
    })
    expect(i.images[1].ref.registry).toBe('localhost:5000')
    expect(i.images[2].ref).toEqual({
      name: 'docker.io/acme/plain',
      registry: 'docker.io',
      path: 'acme/plain'
    })
  })

  it('splits platforms and build-args the documented way', () => {
    const i = inputsFor({
      image: 'app',
      platforms: 'linux/amd64, linux/386\n# a comment\nlinux/amd64\n\nlinux/s390x',
      'build-args': 'A=1,2\nB=x=y',
      'go-test-args': '-race -run "Test A" ./...'
    })
    expect(i.platforms).toEqual(['linux/amd64', 'linux/386', 'linux/s390x'])
    expect(i.buildArgs).toEqual([
      { key: 'A', value: '1,2' },
      { key: 'B', value: 'x=y' }
    ])
    expect(i.goTestArgs).toEqual(['-race', '-run', 'Test A', './...'])
    expect(i.images[0].ref).toEqual({ name: 'app', registry: 'docker.io', path: 'library/app' })
  })

  it.each([
    [
      'image and images together',
      { image: 'a', images: '- b' },
      /Both 'image' and 'images' are set/
    ],
    [
      'an unknown platform',
      { image: 'a', platforms: 'linux/amd64,linux/sparc' },
      /^platforms: unknown platform 'linux\/sparc'/
    ],
    [
      'a windows platform',
      { image: 'a', platforms: 'windows/amd64' },
      /^platforms: unknown platform/
    ],
    [
      'an image platform',
      { images: '- name: a\n  platforms: linux/m68k' },
      /^images\[0\]\.platforms: unknown platform 'linux\/m68k'/
    ],
    [
      'an image name with a tag',
      { image: 'ghcr.io/acme/app:1.0' },
      /^image: 'ghcr.io\/acme\/app:1.0' carries a tag/
    ],
    ['an image name with a digest', { image: 'app@sha256:abc' }, /^image: .* carries a digest/],
    [
      'a bad image name',
      { image: 'ghcr.io/acme/-app' },
      /^image: 'ghcr.io\/acme\/-app' is not a valid image name/
    ],
    [
      'a bad name in images',
      { images: '- name: ok\n- name: "bad name"' },
      /^images\[1\]\.name: 'bad name' is not a valid image name/
    ],
    ['an image without a name', { images: '- context: x' }, /^images\[0\]\.name: required/],
    [
      'an unknown image key',
      { images: '- name: a\n  dockerFile: x' },
      /^images\[0\]: unknown key 'dockerFile'/
    ],
    [
      'an image listed twice',
      { images: '- Acme/App\n- acme/app' },
      /images\[1\]\.name: 'acme\/app' is listed twice/
    ],
    [
      'images that are not a list',
      { images: 'name: a' },
      /^images: expected a non-empty YAML list/
    ],
    ['images that are not YAML', { images: '- [unclosed' }, /^images: not valid YAML/],
    [
      'a bad push value',
      { image: 'a', push: 'yes' },
      /^push: 'yes' is not one of auto, true, false/
    ],
    ['a bad latest value', { image: 'a', latest: 'always' }, /^latest: 'always'/],
    ['a bad qemu value', { image: 'a', qemu: 'on' }, /^qemu: 'on'/],
    [
      'a bad smoke-platforms value',
      { image: 'a', 'smoke-platforms': 'some' },
      /^smoke-platforms: 'some' is not one of all, native/
    ],
    ['a bad boolean', { image: 'a', 'dry-run': 'yes' }, /dry-run/],
    [
      'a build arg without =',
      { image: 'a', 'build-args': 'JUSTKEY' },
      /^build-args: 'JUSTKEY' is not a KEY=VALUE line/
    ],
    [
      'a reserved build arg',
      { image: 'a', 'build-args': 'VERSION=1' },
      /^build-args: VERSION is set by the action/
    ],
    [
      'a reserved build arg in images',
      { images: '- name: a\n  build-args: COMMIT=x' },
      /^images\[0\]\.build-args: COMMIT is set by the action/
    ],
    [
      'a shell pipe in smoke-args',
      { image: 'a', 'smoke-args': '--version | grep 1' },
      /^smoke-args: .* contains the shell operator '\|'/
    ],
    [
      'a redirect in images smoke-args',
      { images: '- name: a\n  smoke-args: "--version > /x"' },
      /^images\[0\]\.smoke-args: .*'>'/
    ],
    [
      'a shell operator in go-test-args',
      { image: 'a', 'go-test-args': './... && rm -rf /' },
      /^go-test-args: .*'&&'/
    ],
    // Passed before the schema (issue 10): each is refused now, naming the input.
    [
      'a mapping as smoke-args',
      { images: '- name: a\n- name: b\n  smoke-args: {x: 1}' },
      /^images\[1\]\.smoke-args: expected a string or a list of strings, got a mapping$/
    ],
    [
      'a mapping in a list of smoke-args',
      { images: '- name: a\n  smoke-args: [--version, {x: 1}]' },
      /^images\[0\]\.smoke-args\[1\]: expected a string, got a mapping$/
    ],
    [
      'a list as context',
      { images: '- name: a\n  context: [a, b]' },
      /^images\[0\]\.context: expected a string, got a list$/
    ],
    [
      'a mapping as platforms',
      { images: '- name: a\n  platforms: {linux: amd64}' },
      /^images\[0\]\.platforms: expected a string or a list of strings, got a mapping$/
    ],
    [
      'a mapping as name',
      { images: '- name: {a: 1}' },
      /^images\[0\]\.name: required, the image name \(got a mapping\)$/
    ],
    [
      'a list as an item',
      { images: '- [a, b]' },
      /^images\[0\]: expected a name or a mapping with 'name', got a list$/
    ],
    [
      'a NUL byte in a smoke-args list item',
      { images: '- name: a\n  smoke-args: ["--version", "x\\0y"]' },
      /^images\[0\]\.smoke-args\[1\]: "x\\u0000y" contains the control character U\+0000/
    ],
    [
      'a NUL byte in a build-args list item',
      { images: '- name: a\n  build-args: ["A=1\\0"]' },
      /^images\[0\]\.build-args\[0\]: .* U\+0000/
    ],
    [
      'a newline in a build-args list value',
      { images: '- name: a\n  build-args: ["A=1\\nB=2"]' },
      /^images\[0\]\.build-args\[0\]: .* U\+000A/
    ],
    [
      'a NUL byte in go-test-args',
      { image: 'a', 'go-test-args': './...\0' },
      /^go-test-args: item 1 .* U\+0000/
    ],
    [
      'a NUL byte in platforms',
      { image: 'a', platforms: 'linux/amd64\0' },
      /^platforms: item 1 .* U\+0000/
    ],
    [
      'a carriage return in version',
      { image: 'a', version: '1.0\r::add-mask::x' },
      /^version: .* U\+000D/
    ],
    [
      'a newline in smoke-expect',
      { image: 'a', 'smoke-expect': 'a\nb' },
      /^smoke-expect: .* U\+000A/
    ],
    [
      'a context that looks like a flag',
      { image: 'a', context: '--output=type=local,dest=/tmp/x' },
      /^context: '--output=type=local,dest=\/tmp\/x' starts with '-'/
    ],
    [
      'an image context that looks like a flag',
      { images: '- name: a\n  context: -q' },
      /^images\[0\]\.context: '-q' starts with '-'/
    ],
    [
      'a dockerfile that looks like a flag',
      { image: 'a', dockerfile: '-' },
      /^dockerfile: '-' starts with '-'/
    ],
    [
      'an image target that looks like a flag',
      { images: '- name: a\n  target: --push' },
      /^images\[0\]\.target: '--push' starts with '-'/
    ],
    [
      'a control character in a password, without repeating it',
      { image: 'a', 'registry-username': 'u', 'registry-password': 'p\nw' },
      /^registry-password: the value contains the control character U\+000A/
    ]
  ])('refuses %s, naming the input', (_name, inputs, message) => {
    expect(() => inputsFor(inputs)).toThrow(message)
  })

  it('masks the registry password and the token', () => {
    const writes: string[] = []
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation(chunk => {
      writes.push(String(chunk))
      return true
    })
    inputsFor({ image: 'a', 'registry-username': 'u', 'registry-password': 's3cret-value' })
    spy.mockImplementation(() => true)
    expect(writes.join('')).toContain('::add-mask::s3cret-value')
    expect(writes.join('')).toContain('::add-mask::ghs_test_token')
  })
})
