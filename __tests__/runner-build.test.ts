import { describe, expect, it, jest } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { cpSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join, relative } from 'node:path'
import {
  binaryTime,
  checkBinaryPlatform,
  compiledPackages,
  goBuildGroups,
  goOutputName,
  parseGoVersionM,
  runnerBuilds,
  splitGoVersionM
} from '../src/go/build.js'
import type { PlannedImage } from '../src/plan/plan.js'
import { renderPlanText } from '../src/plan/render.js'
import { buildPlan, dockerfilePaths } from '../src/plan/plan.js'
import { generatedDockerfile, goEnvFor, renderLdflags } from '../src/plan/runnerBuild.js'
import { parseDockerfile } from '../src/plan/dockerfile.js'
import { contextOf } from '../test/fixtures/context.js'
import { release, SHA } from '../test/fixtures/events.js'
import { inputsFor } from '../test/fixtures/inputs.js'

jest.spyOn(process.stdout, 'write').mockImplementation(() => true)

const opts = (dockerfiles: Record<string, string> = {}) => ({
  now: new Date(0),
  nodeArch: 'x64',
  dockerfiles
})

describe('runner builds in the plan', () => {
  it('plans a cross-compile with a generated Dockerfile in a directory of its own under RUNNER_TEMP', () => {
    const plan = buildPlan(
      inputsFor({
        images:
          '- name: ghcr.io/acme/app\n  main: ./cmd/app\n  base-image: 127.0.0.1:5000/mirror/static:nonroot',
        platforms: 'linux/amd64,linux/arm64,linux/arm/v7'
      }),
      contextOf(release('v1.2.3')),
      opts()
    )
    const img = plan.images[0]
    // nothing in the checkout: the context and the Dockerfile are the action's own
    expect(plan.actionDir).toBe('/runner/_temp/go-image-action')
    expect(img.context).toBe('/runner/_temp/go-image-action/runner-build/ghcr.io-acme-app')
    expect(img.dockerfile).toBe(
      '/runner/_temp/go-image-action/runner-build/ghcr.io-acme-app/Dockerfile'
    )
    expect(img.runnerBuild).toMatchObject({
      outDir: '/runner/_temp/go-image-action/runner-build/ghcr.io-acme-app',
      copyInto: undefined,
      main: './cmd/app',
      binary: 'app',
      ldflags: `-s -w -buildid= -X main.version=1.2.3 -X main.commit=${SHA} -X main.date=2019-05-15T15:20:53Z`
    })
    const stages = parseDockerfile(img.runnerBuild?.generatedDockerfile ?? '')
    expect(stages.map(s => s.base)).toEqual(['127.0.0.1:5000/mirror/static:nonroot'])
    expect(img.runnerBuild?.generatedDockerfile).toContain('COPY $TARGETPLATFORM/app /app')
    expect(img.runnerBuild?.generatedDockerfile).toContain('ENTRYPOINT ["/app"]')
    expect(img.runnerBuild?.generatedDockerfile).toContain(
      'LABEL "org.opencontainers.image.version"="1.2.3"'
    )
    expect(plan.sourceDateEpoch).toBe(Date.parse('2019-05-15T15:20:53Z') / 1000)
    // nothing runs on the target platform: only the smoke tests need QEMU
    expect(img.targetRuns).toEqual([])
  })

  it('uses the image Dockerfile and ldflags template when given', () => {
    const plan = buildPlan(
      inputsFor({
        images: [
          '- name: app',
          '  main: ./cmd/app',
          '  binary: app-server',
          '  context: out',
          '  dockerfile: Dockerfile.runner',
          '  ldflags: -X example.com/app/internal/v.Version={{.Version}} -X example.com/app/internal/v.Sha={{ .ShortCommit }}'
        ].join('\n')
      }),
      contextOf(release('v2.0.0')),
      opts({
        'out/Dockerfile.runner':
          'FROM scratch\nARG TARGETPLATFORM\nCOPY $TARGETPLATFORM/app-server /\n'
      })
    )
    expect(plan.images[0]).toMatchObject({ context: 'out', dockerfile: 'out/Dockerfile.runner' })
    expect(plan.images[0].runnerBuild).toEqual({
      main: './cmd/app',
      binary: 'app-server',
      outDir: '/runner/_temp/go-image-action/runner-build/app',
      copyInto: 'out',
      ldflags: `-X example.com/app/internal/v.Version=2.0.0 -X example.com/app/internal/v.Sha=${SHA.slice(0, 7)}`,
      goDir: '.',
      generatedDockerfile: undefined,
      generated: undefined,
      writer: 'buildkit',
      writerNote: "BuildKit (the image's own Dockerfile)",
      files: [],
      filesDir: undefined
    })
  })

  it.each([
    [
      "a named context that holds a Dockerfile: the user's, used and never replaced",
      '- name: app\n  main: ./cmd/app\n  context: deploy',
      { 'deploy/Dockerfile': 'FROM scratch\n' },
      { context: 'deploy', dockerfile: 'deploy/Dockerfile', generated: false, copyInto: 'deploy' }
    ],
    [
      "a named context without a Dockerfile: one generated in the action's own directory",
      '- name: app\n  main: ./cmd/app\n  context: deploy',
      {},
      {
        context: 'deploy',
        dockerfile: '/runner/_temp/go-image-action/runner-build/app/Dockerfile',
        generated: true,
        copyInto: 'deploy'
      }
    ],
    [
      "no context and a Dockerfile of the user's: relative to the workspace",
      '- name: app\n  main: ./cmd/app\n  dockerfile: build/Dockerfile.runner',
      { 'build/Dockerfile.runner': 'FROM scratch\n' },
      {
        context: '/runner/_temp/go-image-action/runner-build/app',
        dockerfile: 'build/Dockerfile.runner',
        generated: false,
        copyInto: undefined
      }
    ]
  ])('runner build paths: %s', (_n, images, dockerfiles, want) => {
    const inputs = inputsFor({ images })
    const plan = buildPlan(inputs, contextOf(release()), opts(dockerfiles))
    const img = plan.images[0]
    expect({
      context: img.context,
      dockerfile: img.dockerfile,
      generated: img.runnerBuild?.generatedDockerfile !== undefined,
      copyInto: img.runnerBuild?.copyInto
    }).toEqual(want)
    // the caller reads the Dockerfile a named context may hold, and only the user's
    expect(dockerfilePaths(inputs)).toEqual([
      want.generated ? 'deploy/Dockerfile' : want.dockerfile
    ])
  })

  it.each([
    [
      'a flag as main',
      '- name: a\n  main: -toolexec=x',
      /^images\[0\]\.main: '-toolexec=x' is not a Go package path/
    ],
    [
      'a main without a name',
      '- name: a\n  main: .',
      /^images\[0\]\.binary: '\.' does not give a binary name/
    ],
    ['a bad binary', '- name: a\n  main: ./cmd/a\n  binary: ../x', /^images\[0\]\.binary:/],
    [
      'binary without main',
      '- name: a\n  binary: x',
      /^images\[0\]\.binary: only for runner builds/
    ],
    [
      'a bad base image',
      '- name: a\n  main: ./cmd/a\n  base-image: "x y"',
      /^images\[0\]\.base-image: 'x y'/
    ]
  ])('refuses %s', (_n, images, message) => {
    expect(() => inputsFor({ images })).toThrow(message)
  })

  it('refuses an unknown ldflags placeholder', () => {
    expect(() =>
      buildPlan(
        inputsFor({ images: '- name: a\n  main: ./cmd/a\n  ldflags: -X main.v={{.Tag}}' }),
        contextOf(release()),
        opts()
      )
    ).toThrow(/^images\[0\]\.ldflags: unknown placeholder \{\{\.Tag\}\}/)
  })
})

describe('the QEMU trap', () => {
  const emulated =
    'FROM golang:1.26 AS build\nWORKDIR /src\nCOPY . .\nRUN go build -o /app ./cmd/app\nFROM scratch\nCOPY --from=build /app /app\n'
  const cross =
    'FROM --platform=$BUILDPLATFORM golang:1.26 AS build\nARG TARGETOS TARGETARCH\nRUN GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /app .\nFROM scratch\n'

  it('warns on the line of a go build that would run under emulation, with the fix', () => {
    const plan = buildPlan(
      inputsFor({ image: 'a' }),
      contextOf(release()),
      opts({ Dockerfile: emulated })
    )
    expect(plan.fileWarnings).toEqual([
      {
        file: 'Dockerfile',
        line: 4,
        title: 'Go build under emulation',
        message: expect.stringMatching(
          /^this go build runs on the target platform, so under QEMU for linux\/arm64 .*FROM --platform=\$BUILDPLATFORM golang:1\.26 AS build/
        )
      }
    ])
  })

  it('also catches an exec-form go build', () => {
    const exec = 'FROM golang:1.26\nRUN ["go", "build", "-o", "/app", "."]\n'
    const plan = buildPlan(
      inputsFor({ image: 'a' }),
      contextOf(release()),
      opts({ Dockerfile: exec })
    )
    expect(plan.fileWarnings.map(w => [w.file, w.line])).toEqual([['Dockerfile', 2]])
  })

  it.each([
    ['a cross-compiling Dockerfile', { image: 'a' }, cross],
    ['a single native platform', { image: 'a', platforms: 'linux/amd64' }, emulated]
  ])('stays quiet for %s', (_n, inputs, dockerfile) => {
    expect(
      buildPlan(inputsFor(inputs), contextOf(release()), opts({ Dockerfile: dockerfile }))
        .fileWarnings
    ).toEqual([])
  })
})

describe('runner build helpers', () => {
  it.each([
    ['linux/amd64', { CGO_ENABLED: '0', GOOS: 'linux', GOARCH: 'amd64' }],
    ['linux/amd64/v3', { CGO_ENABLED: '0', GOOS: 'linux', GOARCH: 'amd64', GOAMD64: 'v3' }],
    ['linux/arm/v6', { CGO_ENABLED: '0', GOOS: 'linux', GOARCH: 'arm', GOARM: '6' }],
    ['linux/arm/v7', { CGO_ENABLED: '0', GOOS: 'linux', GOARCH: 'arm', GOARM: '7' }],
    ['linux/riscv64', { CGO_ENABLED: '0', GOOS: 'linux', GOARCH: 'riscv64' }]
  ])('goEnvFor(%s)', (platform, env) => {
    expect(goEnvFor(platform)).toEqual(env)
  })

  it('renders ldflags placeholders', () => {
    expect(
      renderLdflags(
        '-X a={{.Version}} -X b={{.Commit}} -X c={{.Date}}',
        { version: 'v', commit: 'c'.repeat(40), date: 'd' },
        'x'
      )
    ).toBe(`-X a=v -X b=${'c'.repeat(40)} -X c=d`)
  })

  it('writes labels and an exec-form entrypoint into the generated Dockerfile', () => {
    const text = generatedDockerfile({
      baseImage: 'scratch',
      binary: 'app',
      labels: { 'a.b': 'x "y"' },
      expose: [],
      user: '65532:65532',
      cmd: [],
      files: false
    })
    expect(text).toContain('FROM scratch\n')
    expect(text).toContain('LABEL "a.b"="x \\"y\\""\n')
    expect(text).toContain('USER 65532:65532\n')
    expect(text).not.toMatch(/EXPOSE|CMD|--from/)
  })

  it('writes expose, user, cmd and the files tree into the generated Dockerfile', () => {
    const text = generatedDockerfile({
      baseImage: 'scratch',
      binary: 'agent',
      labels: {},
      expose: ['9100', '51820/udp'],
      user: '1000:1000',
      cmd: ['--listen', ':9100', 'a "b"'],
      files: true
    })
    expect(text.split('\n').slice(3)).toEqual([
      'COPY $TARGETPLATFORM/agent /agent',
      'COPY --from=gia-files / /',
      'EXPOSE 9100 51820/udp',
      'USER 1000:1000',
      'ENTRYPOINT ["/agent"]',
      'CMD ["--listen", ":9100", "a \\"b\\""]',
      ''
    ])
  })

  const goVersionM = (goarch: string, extra = ''): string =>
    `/out/app: go1.26.8\n\tpath\texample.com/app\n\tbuild\t-trimpath=true\n\tbuild\tCGO_ENABLED=0\n\tbuild\tGOARCH=${goarch}\n\tbuild\tGOOS=linux\n${extra}`

  it('reads go version -m and checks the platform', () => {
    expect(parseGoVersionM(goVersionM('arm', '\tbuild\tGOARM=7\n'))).toEqual({
      goos: 'linux',
      goarch: 'arm',
      goarm: '7',
      goamd64: undefined
    })
    expect(() => checkBinaryPlatform(goVersionM('arm64'), 'linux/arm64', 'x')).not.toThrow()
    expect(() => checkBinaryPlatform(goVersionM('amd64'), 'linux/arm64', '/out/app')).toThrow(
      '/out/app is not a linux/arm64 binary: GOARCH=amd64'
    )
    expect(() =>
      checkBinaryPlatform(goVersionM('arm', '\tbuild\tGOARM=6\n'), 'linux/arm/v7', 'x')
    ).toThrow('GOARM=6')
  })

  it('splits one go version -m over several binaries into their sections', () => {
    const text = [
      '/ctx/linux/arm/v7/app: go1.26.8',
      '\tpath\texample.com/app',
      '\tbuild\tGOARCH=arm',
      '\tbuild\tGOARM=7',
      '/ctx/linux/amd64/app: go1.26.8',
      '\tpath\texample.com/app',
      '\tbuild\tGOARCH=amd64',
      ''
    ].join('\n')
    const files = ['/ctx/linux/amd64/app', '/ctx/linux/arm/v7/app', '/ctx/linux/386/app']
    const sections = splitGoVersionM(text, files)
    expect(parseGoVersionM(sections.get(files[0]) ?? '')).toMatchObject({ goarch: 'amd64' })
    expect(parseGoVersionM(sections.get(files[1]) ?? '')).toMatchObject({
      goarch: 'arm',
      goarm: '7'
    })
    // not in the output: no section, so the platform check fails for it
    expect(sections.has(files[2])).toBe(false)
    expect(() => checkBinaryPlatform(sections.get(files[2]) ?? '', 'linux/386', files[2])).toThrow(
      'is not a linux/386 binary'
    )
  })
})

describe('the gate builds like the runner builds', () => {
  const runnerImages = '- name: ghcr.io/acme/app\n  main: ./cmd/app\n- name: ghcr.io/acme/web'
  const web = opts({ Dockerfile: 'FROM scratch\n' })
  const gateOf = (inputs: Record<string, string>, cgoEnabled?: string) =>
    buildPlan(inputsFor(inputs), contextOf(release('v1.0.0')), { ...web, cgoEnabled }).goGate

  it('vets and tests with -trimpath and CGO_ENABLED=0 when an image is a runner build', () => {
    const gate = gateOf({ images: runnerImages, 'go-test-args': './... -count=1' })
    expect(gate).toMatchObject({
      enabled: true,
      testArgs: ['-vet=off', './...', '-count=1'],
      buildFlags: ['-trimpath'],
      env: { CGO_ENABLED: '0' }
    })
    expect(gate.note).toBe(
      '-trimpath, CGO_ENABLED=0 as the runner builds of ghcr.io/acme/app, to share their build cache'
    )
    const plan = buildPlan(inputsFor({ images: runnerImages }), contextOf(release()), web)
    expect(renderPlanText(plan)).toContain(`(${plan.goGate.note})`)
  })

  it('has go test vet nothing when go vet ran (every analyzer, the same packages), unless the test args set -vet', () => {
    // go test's own vet (a curated list of analyzers) would compute their facts for every
    // dependency again: 3 s of a cold 2-core gate of examples/hello, 0.2 s warm
    expect(gateOf({ images: runnerImages }).testArgs).toEqual(['-vet=off', './...'])
    expect(gateOf({ image: 'ghcr.io/acme/web' }).testArgs).toEqual(['-vet=off', './...'])
    expect(gateOf({ image: 'ghcr.io/acme/web', 'go-gate': 'fmt, test' }).testArgs).toEqual([
      './...'
    ])
    for (const own of ['-vet=printf', '--vet=off', '-vet', '-vet=all'])
      expect(gateOf({ image: 'a', 'go-test-args': `${own} ./...` }).testArgs).toEqual([
        own,
        './...'
      ])
    const plan = buildPlan(inputsFor({ image: 'a' }), contextOf(release()), web)
    expect(renderPlanText(plan)).toMatch(
      /go gate +gofmt, go vet, go test -vet=off \.\/\.\.\. in \./
    )
  })

  it("keeps the job's CGO_ENABLED, and cgo for -race, -msan and -asan", () => {
    expect(gateOf({ images: runnerImages }, '1')).toMatchObject({
      buildFlags: ['-trimpath'],
      env: {}
    })
    expect(gateOf({ images: runnerImages }, '1').note).toContain(
      "CGO_ENABLED=1 from the job's environment"
    )
    for (const flag of ['-race', '--race', '-msan', '-asan', '-race=true']) {
      const gate = gateOf({ images: runnerImages, 'go-test-args': `${flag} ./...` })
      expect(gate).toMatchObject({ buildFlags: ['-trimpath'], env: {} })
      expect(gate.note).toContain(`cgo left on for ${flag}`)
    }
    // -racex is no race flag
    expect(gateOf({ images: runnerImages, 'go-test-args': '-run=-racex' }).env).toEqual({
      CGO_ENABLED: '0'
    })
  })

  it('leaves the gate as it is without a runner build, or when it is off', () => {
    const cases: Record<string, string>[] = [
      { image: 'ghcr.io/acme/web' },
      { images: runnerImages, 'go-gate': 'false' }
    ]
    for (const inputs of cases) {
      expect(gateOf(inputs)).toMatchObject({ buildFlags: [], env: {}, note: '' })
    }
  })

  it('counts the packages `go build -v` compiled, not its download lines', () => {
    const stderr = [
      'go: downloading golang.org/x/text v0.35.0',
      'internal/goarch',
      'golang.org/x/text/internal/tag',
      'example.com/hello/cmd/hello-cli',
      ''
    ].join('\n')
    expect(compiledPackages(stderr)).toEqual([
      'internal/goarch',
      'golang.org/x/text/internal/tag',
      'example.com/hello/cmd/hello-cli'
    ])
    expect(compiledPackages('')).toEqual([])
  })
})

describe('the mtime of a built binary', () => {
  it('is the release date plus a fraction from its bytes: same bytes, same time', () => {
    const epoch = 1_795_513_928
    const a = binaryTime(epoch, Buffer.from('hello-cli 1.2.1'))
    expect(binaryTime(epoch, Buffer.from('hello-cli 1.2.1'))).toBe(a)
    expect(a).toBeGreaterThanOrEqual(epoch)
    expect(a).toBeLessThan(epoch + 1)
    // whole microseconds (as far as a double at this epoch holds them: about 0.24 us)
    expect(Math.round((a - epoch) * 1e6) / 1e6).toBeCloseTo(a - epoch, 6)
    // same size, other bytes: another time, so BuildKit sends the new file
    const others = ['hello-cli 1.2.2', 'hello-cli 1.2.3', 'hello-cli 9.9.9'].map(t =>
      binaryTime(epoch, Buffer.from(t))
    )
    for (const t of others) expect(t).not.toBe(a)
    expect(new Set(others).size).toBe(3)
  })
})

describe('one go build per platform for the binaries it can build together', () => {
  it('names a main package as go build -o dir/ does, when its path can say', () => {
    expect(goOutputName('./cmd/web')).toBe('web')
    expect(goOutputName('./web/')).toBe('web')
    expect(goOutputName('./cmd/api/v2')).toBeUndefined()
    expect(goOutputName('.')).toBeUndefined()
    expect(goOutputName('./')).toBeUndefined()
    expect(goOutputName('example.com/m/cmd/web')).toBeUndefined()
  })

  it('groups a platform’s binaries by module directory and -ldflags, never two of one name', () => {
    const job = (
      name: string,
      main: string,
      platform = 'linux/amd64',
      ldflags = '-s',
      goDir = '/m'
    ) => ({
      name,
      platform,
      goDir,
      image: { runnerBuild: { main, ldflags } as NonNullable<PlannedImage['runnerBuild']> }
    })
    const names = (groups: { name: string }[][]): string[][] => groups.map(g => g.map(j => j.name))
    expect(
      names(goBuildGroups([job('a', './cmd/a'), job('b', './cmd/b'), job('c', './c')]))
    ).toEqual([['a', 'b', 'c']])
    expect(
      names(
        goBuildGroups([
          job('a', './cmd/a'),
          job('b', './cmd/b', 'linux/arm64'),
          job('c', './cmd/c', 'linux/amd64', '-s -w'),
          job('d', './cmd/d', 'linux/amd64', '-s', '/other'),
          job('e', './x/a'),
          job('f', '.'),
          job('g', './cmd/g')
        ])
      )
    ).toEqual([['a', 'g'], ['b'], ['c'], ['d'], ['e'], ['f']])
  })

  it('builds two images’ binaries with one go build per platform, each binary at its own path', async () => {
    const ws = mkdtempSync(join(tmpdir(), 'gia-group-'))
    cpSync(join('examples', 'hello'), ws, { recursive: true })
    const plan = buildPlan(
      inputsFor({
        images: '- name: r/cli\n  main: ./cmd/hello-cli\n- name: r/web\n  main: ./cmd/hello-web',
        platforms: 'linux/amd64,linux/arm64'
      }),
      { ...contextOf(release('v1.2.3')), workspace: ws, runnerTemp: join(ws, 'temp') },
      opts()
    )
    const lines: string[] = []
    const { binaries } = await runnerBuilds(plan.images, {
      goDirOf: () => ws,
      workspace: ws,
      sourceDateEpoch: plan.sourceDateEpoch,
      runnerPlatform: 'linux/amd64',
      nativeAfter: Promise.resolve(),
      log: l => lines.push(l),
      copied: () => undefined
    })
    // one line, and so one go build, per platform, naming both binaries
    expect(lines).toHaveLength(2)
    for (const l of lines)
      expect(l).toMatch(
        /^linux\/(amd64|arm64): \.\/cmd\/hello-cli -> \S+\/hello-cli, \.\/cmd\/hello-web -> \S+\/hello-web \(/
      )
    expect(binaries.map(b => `${b.platform} ${relative(join(ws, 'temp'), b.path)}`).sort()).toEqual(
      [
        'linux/amd64 go-image-action/runner-build/r-cli/linux/amd64/hello-cli',
        'linux/amd64 go-image-action/runner-build/r-web/linux/amd64/hello-web',
        'linux/arm64 go-image-action/runner-build/r-cli/linux/arm64/hello-cli',
        'linux/arm64 go-image-action/runner-build/r-web/linux/arm64/hello-web'
      ]
    )
    // each is the program it is named for, built with the release's version
    for (const b of binaries.filter(x => x.platform === 'linux/amd64')) {
      const out = execFileSync(b.path, ['--version'], { encoding: 'utf8' })
      expect(out).toMatch(new RegExp(`^${basename(b.path)} 1\\.2\\.3 `))
    }
  }, 300_000)
})
