import { describe, expect, it } from '@jest/globals'
import { parseDockerfile, targetPlatformRuns } from '../src/plan/dockerfile.js'

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
