/**
 * What repository code prints never becomes a workflow command (issue 10). One run of a Go
 * repository whose test (go test -v), Dockerfile RUN step and smoke-tested binary each print
 * `::error::`, `::add-mask::`, `::set-output`, a `::stop-commands::` with a token of their own,
 * its resume line and a `::warning::` after it (the RUN step starts each with `\r`, which ends a
 * line for the runner: buildx prefixes RUN output with its step number). stdout is read as the
 * runner reads it (test/harness/runner.ts parseCommands: stop-commands honoured): none of those
 * commands takes effect, while the action's own log groups and annotations still do.
 */
import { beforeAll, describe, expect, it } from '@jest/globals'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { release } from '../fixtures/events.js'
import { parseCommands, runAction, type ActionRun } from '../harness/runner.js'
import { REGISTRY, requireBench, uniqueRepo } from './bench.js'

const MINUTES = 60_000

/** The lines every source prints, marked with the source's name. */
function forgery(source: string): string[] {
  return [
    `::error::forged-${source}`,
    `::add-mask::forged-mask-${source}`,
    `::set-output name=forged-${source}::b`,
    `::stop-commands::guess-${source}`,
    `::guess-${source}::`,
    `::warning::after-${source}`
  ]
}

const goString = (lines: string[]): string => JSON.stringify(lines.join('\n') + '\n')

const MAIN_GO = `package main

import "fmt"

func main() {
	fmt.Print(${goString(forgery('smoke'))})
	fmt.Println("forge-smoke-ok")
}
`

const TEST_GO = `package main

import (
	"fmt"
	"testing"
)

func TestForge(t *testing.T) {
	fmt.Print(${goString(forgery('gotest'))})
}
`

/** printf in the RUN step: each line starts with a carriage return. */
const runPrintf = forgery('run')
  .map(l => `\\r${l}\\n`)
  .join('')

const DOCKERFILE = `FROM --platform=$BUILDPLATFORM 127.0.0.1:5000/mirror/golang:1.26 AS build
WORKDIR /src
COPY . .
ARG TARGETOS TARGETARCH
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/forge .
RUN printf '${runPrintf}'
FROM 127.0.0.1:5000/mirror/static:nonroot
COPY --from=build /out/forge /forge
ENTRYPOINT ["/forge"]
`

describe('output of repository code is fenced', () => {
  let r: ActionRun

  beforeAll(async () => {
    requireBench()
    const ws = mkdtempSync(join(tmpdir(), 'gia-fence-'))
    writeFileSync(join(ws, 'go.mod'), 'module example.com/forge\n\ngo 1.26\n')
    writeFileSync(join(ws, 'main.go'), MAIN_GO)
    writeFileSync(join(ws, 'main_test.go'), TEST_GO)
    writeFileSync(join(ws, 'Dockerfile'), DOCKERFILE)
    const fx = release('v1.0.0')
    r = await runAction({
      ...fx,
      workspace: ws,
      inputs: {
        image: `${REGISTRY}/${uniqueRepo('fence')}/forge`,
        platforms: 'linux/amd64',
        'go-test-args': '-v -count=1 ./...',
        'smoke-expect': 'forge-smoke-ok',
        cache: 'false',
        push: 'false'
      }
    })
  }, 10 * MINUTES)

  it('ran the forging test, RUN step and binary', () => {
    expect(r.main.exitCode).toBe(0)
    for (const source of ['gotest', 'run', 'smoke'])
      expect([source, r.main.stdout.includes(`forged-${source}`)]).toEqual([source, true])
  })

  it('no command printed by repository code takes effect', () => {
    const effective = parseCommands(r.main.stdout).filter(c =>
      /forged|guess|after-/.test(`${c.command} ${JSON.stringify(c.properties)} ${c.message}`)
    )
    expect(effective).toEqual([])
    expect(r.main.masks.filter(m => m.includes('forged'))).toEqual([])
    expect(parseCommands(r.main.stdout).filter(c => c.command === 'set-output')).toEqual([])
  })

  it("the action's own commands still take effect around the fences", () => {
    const commands = parseCommands(r.main.stdout)
    const groups = commands.filter(c => c.command === 'group').map(c => c.message)
    expect(groups).toEqual(expect.arrayContaining(['Go gate', 'Build', 'Smoke test']))
    expect(commands.filter(c => c.command === 'endgroup')).toHaveLength(groups.length)
    // every fence is closed: after the last one, commands are read again
    expect(commands[commands.length - 1].command).toBe('endgroup')
  })
})
