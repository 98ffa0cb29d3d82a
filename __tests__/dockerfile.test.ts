import { describe, expect, it } from '@jest/globals'
import { parseDockerfile, targetArgDefaults, targetPlatformRuns } from '../src/plan/dockerfile.js'
import { buildPlan } from '../src/plan/plan.js'
import { contextOf } from '../test/fixtures/context.js'
import { release } from '../test/fixtures/events.js'
import { inputsFor } from '../test/fixtures/inputs.js'

describe('parseDockerfile', () => {
  it('finds stages, platforms, names and RUN lines, across continuations and comments', () => {
    const stages = parseDockerfile(
      [
        '# syntax=docker/dockerfile:1',
        'ARG GO_IMAGE=golang:1.26',
        'FROM --platform=$BUILDPLATFORM ${GO_IMAGE} AS Build',
        'WORKDIR /src',
        'RUN --mount=type=cache,target=/root/.cache \\',
        '    # a comment inside',
        '    go build -o /out/app ./cmd/app',
        '',
        'FROM build AS test',
        'RUN go test ./...',
        'FROM debian:12',
        'run apt-get update',
        'COPY --from=build /out/app /app'
      ].join('\n')
    )
    expect(stages.map(s => [s.line, s.base, s.platform, s.name])).toEqual([
      [3, '${GO_IMAGE}', '$BUILDPLATFORM', 'build'],
      [9, 'build', undefined, 'test'],
      [11, 'debian:12', undefined, undefined]
    ])
    expect(stages[0].runs).toEqual([
      {
        line: 5,
        text: '--mount=type=cache,target=/root/.cache      go build -o /out/app ./cmd/app'
      }
    ])
    // the test stage inherits the build platform from its base stage; debian's RUN is on the target
    expect(targetPlatformRuns(stages).map(r => r.run.line)).toEqual([12])
  })

  it('counts a Go build without --platform as running on the target', () => {
    const stages = parseDockerfile(
      'FROM golang:1.26 AS build\nRUN go build -o /app .\nFROM scratch\nCOPY --from=build /app /\n'
    )
    expect(targetPlatformRuns(stages).map(r => [r.stage.name, r.run.line])).toEqual([['build', 2]])
  })

  it('accepts ${BUILDPLATFORM} and an escape directive', () => {
    const stages = parseDockerfile(
      '# escape=`\nFROM --platform=${BUILDPLATFORM} golang AS b\nRUN echo `\n  hi\n'
    )
    expect(stages[0].runs).toEqual([{ line: 3, text: 'echo    hi' }])
    expect(targetPlatformRuns(stages)).toEqual([])
  })
})

describe('a default on a TARGET* platform argument', () => {
  it.each([
    [
      'the real-world mistake',
      'FROM golang AS b\nARG TARGETARCH=amd64\n',
      [[2, 'TARGETARCH', 'amd64']]
    ],
    [
      'several on one line, in the global scope, quoted or empty',
      'ARG TARGETOS=linux TARGETARCH="arm64" GO=1\nFROM x\nARG TARGETVARIANT= TARGETPLATFORM=linux/amd64\n',
      [
        [1, 'TARGETOS', 'linux'],
        [1, 'TARGETARCH', '"arm64"'],
        [3, 'TARGETVARIANT', ''],
        [3, 'TARGETPLATFORM', 'linux/amd64']
      ]
    ],
    [
      'across a continuation line',
      'FROM x\nARG VERSION=dev \\\n    TARGETARCH=amd64\n',
      [[2, 'TARGETARCH', 'amd64']]
    ],
    ['declared without a value: right', 'FROM x\nARG TARGETOS TARGETARCH TARGETVARIANT\n', []],
    [
      'other args, a comment, BUILDARCH',
      'FROM x\n# ARG TARGETARCH=amd64\nARG BUILDARCH=amd64 targetarch=x\n',
      []
    ]
  ])('%s', (_name, text, want) => {
    expect(targetArgDefaults(text).map(d => [d.line, d.arg, d.value])).toEqual(want)
  })

  it('is a warning on the Dockerfile line, naming the platforms', () => {
    const plan = buildPlan(
      inputsFor({ image: 'app', platforms: 'linux/amd64,linux/arm64' }),
      contextOf(release()),
      {
        now: new Date(0),
        nodeArch: 'x64',
        dockerfiles: {
          Dockerfile:
            'FROM --platform=$BUILDPLATFORM golang AS build\nARG TARGETOS\nARG TARGETARCH=amd64\nRUN GOARCH=$TARGETARCH go build -o /app .\nFROM scratch\nCOPY --from=build /app /\n'
        }
      }
    )
    expect(plan.fileWarnings).toEqual([
      {
        file: 'Dockerfile',
        line: 3,
        title: 'Default on TARGETARCH',
        message: expect.stringMatching(
          /^ARG TARGETARCH=amd64: BuildKit uses this default instead of the platform being built, so the image of every platform \(linux\/amd64, linux\/arm64\) is built for TARGETARCH=amd64.*Declare it without a value: ARG TARGETARCH$/
        )
      }
    ])
  })

  it('is not looked for in a generated Dockerfile', () => {
    const plan = buildPlan(
      inputsFor({ images: '- name: app\n  main: ./cmd/app' }),
      contextOf(release()),
      { now: new Date(0), nodeArch: 'x64', dockerfiles: {} }
    )
    expect(plan.fileWarnings).toEqual([])
  })
})
