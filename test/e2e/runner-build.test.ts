/**
 * Runner builds for real: the Go package cross-compiled on the runner for every platform, the
 * binaries in the TARGETPLATFORM layout, a generated Dockerfile, and reproducible digests.
 */
import { beforeAll, expect, it } from '@jest/globals'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runAction, type ActionRun } from '../harness/runner.js'
import { release, SHA } from '../fixtures/events.js'
import {
  docker,
  exampleWorkspace,
  remoteIndex,
  REGISTRY,
  removeImages,
  requireBench,
  runPublished,
  tagsOf,
  compiledPackageCounts,
  uniqueRepo
} from './bench.js'

const MINUTES = 60_000
const PLATFORMS = ['linux/amd64', 'linux/arm64', 'linux/arm/v7', 'linux/riscv64']

function runnerBuild(repo: string, extra: Record<string, string> = {}): Promise<ActionRun> {
  return runAction({
    ...release('v4.5.6'),
    workspace: exampleWorkspace('hello'),
    inputs: {
      images: [
        `- name: ${REGISTRY}/${repo}/hello-cli`,
        '  main: ./cmd/hello-cli',
        `  base-image: ${REGISTRY}/mirror/static:nonroot`
      ].join('\n'),
      platforms: PLATFORMS.join(','),
      'go-gate': 'false',
      cache: 'false',
      ...extra
    }
  })
}

function stages(r: ActionRun): string[] {
  return JSON.parse(r.main.outputs.metadata).stages.map(
    (s: { stage: string; status: string }) => `${s.stage}:${s.status}`
  )
}

function platformDigests(r: ActionRun): Record<string, string> {
  const img = JSON.parse(r.main.outputs.metadata).images[0]
  return Object.fromEntries(
    img.platformResults.map((p: { platform: string; digest: string }) => [p.platform, p.digest])
  )
}

beforeAll(() => requireBench())

it(
  'cross-compiles on the runner, packages with a generated Dockerfile and publishes every platform',
  async () => {
    const repo = uniqueRepo('runner')
    const r = await runnerBuild(repo)
    expect(r.main.annotations.filter(a => a.command === 'error')).toEqual([])
    expect(r.main.exitCode).toBe(0)
    expect(stages(r)).toEqual(
      expect.arrayContaining(['Go build:ok', 'Build:ok', 'Smoke test:ok', 'Push:ok'])
    )
    // the binaries were built by the Go on the runner, one per platform, verified by go version -m
    for (const p of PLATFORMS) expect(r.main.stdout).toContain(`${p}: ./cmd/hello-cli -> `)
    const ref = `${REGISTRY}/${repo}/hello-cli:4.5.6`
    expect(remoteIndex(ref).platforms.sort()).toEqual([...PLATFORMS].sort())
    const out = runPublished(ref, 'linux/arm/v7', ['--version'])
    expect(out).toContain('4.5.6')
    expect(out).toContain(SHA)
    // written by the action, with its minimal provenance (a public repository) on every platform
    expect(r.main.stdout).toMatch(/image +written by the action: .*a minimal provenance/)
    const results = JSON.parse(r.main.outputs.metadata).images[0].platformResults as {
      attestations?: string[]
    }[]
    for (const p of results) expect(p.attestations).toEqual(['https://slsa.dev/provenance/v0.2'])
    // the generated Dockerfile's non-root user
    expect(docker(['image', 'inspect', ref, '--format', '{{.Config.User}}']).trim()).toBe(
      '65532:65532'
    )
  },
  20 * MINUTES
)

it(
  'builds the same commit twice into the same digests, with no build cache in between',
  async () => {
    // a provenance attestation records its build's start time: the index is reproducible without
    const first = await runnerBuild(uniqueRepo('repro-a'), { provenance: 'false' })
    expect(first.main.exitCode).toBe(0)
    docker(['buildx', 'prune', '--all', '--force'])
    const second = await runnerBuild(uniqueRepo('repro-b'), { provenance: 'false' })
    expect(second.main.exitCode).toBe(0)
    expect(platformDigests(second)).toEqual(platformDigests(first))
    expect(Object.keys(platformDigests(first)).sort()).toEqual([...PLATFORMS].sort())
    const digest = (r: ActionRun): string =>
      Object.values(JSON.parse(r.main.outputs.digests) as Record<string, string>)[0]
    expect(digest(second)).toBe(digest(first))
  },
  20 * MINUTES
)

/**
 * hello-cli as a runner build on scratch for linux/amd64 and linux/arm64, with the gate, nothing
 * cached in the Actions cache, nothing pushed.
 */
function gatedOnScratch(
  repo: string,
  tag: string,
  workspace: string,
  env: Record<string, string> = {}
): Promise<ActionRun> {
  const event = release(tag)
  return runAction({
    ...event,
    workspace,
    env: { ...event.env, ...env },
    inputs: {
      images: [
        `- name: ${REGISTRY}/${repo}/hello-cli`,
        '  main: ./cmd/hello-cli',
        '  base-image: scratch'
      ].join('\n'),
      platforms: 'linux/amd64,linux/arm64',
      'go-gate': 'true',
      cache: 'false',
      push: 'false'
    }
  })
}

/**
 * A test of the example's own that passes only once a container of `repo`'s image has run and
 * died on the engine while it waits (docker events since the test started): it sees the smoke test.
 */
const SMOKE_SEEN_TEST = (repo: string): string => `package greet

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestSmokeTestedBesideTheGate(t *testing.T) {
	since := time.Now().Add(-time.Minute).Unix()
	for deadline := time.Now().Add(3 * time.Minute); time.Now().Before(deadline); time.Sleep(300 * time.Millisecond) {
		out, err := exec.Command("docker", "events", "--since", fmt.Sprint(since), "--until", fmt.Sprint(time.Now().Unix()),
			"--filter", "type=container", "--filter", "event=die", "--format", "{{.Actor.Attributes.image}}").Output()
		if err != nil {
			t.Fatalf("docker events: %v", err)
		}
		if strings.Contains(string(out), "/${repo}/hello-cli:") {
			return
		}
	}
	t.Fatal("no container of the image ran while the gate did")
}
`

it(
  "builds, writes, loads and smoke-tests an image beside the Go gate's go test: a test of the gate sees its smoke container",
  async () => {
    const repo = uniqueRepo('beside')
    const ws = exampleWorkspace('hello')
    writeFileSync(join(ws, 'internal', 'greet', 'beside_test.go'), SMOKE_SEEN_TEST(repo))
    // the runner's own platform too: its binary waits for the gate's go vet, not its go test
    const r = await gatedOnScratch(repo, 'v4.6.1', ws)
    removeImages(tagsOf(r))
    expect(r.main.annotations.filter(a => a.command === 'error')).toEqual([])
    expect(r.main.exitCode).toBe(0)
    expect(stages(r)).toEqual(
      expect.arrayContaining(['Go gate:ok', 'Write images:ok', 'Smoke test:ok'])
    )
  },
  10 * MINUTES
)

it(
  "shares the gate's Go build cache: on the runner's own platform the runner build only links (on scratch)",
  async () => {
    // a Go build cache of this run's own, empty: what the gate compiles is all there is
    const gocache = mkdtempSync(join(tmpdir(), 'gia-e2e-gocache-'))
    let tags: string[] = []
    try {
      // on scratch, the other base the issue names: nothing but the binary
      const r = await gatedOnScratch(uniqueRepo('shared'), 'v4.6.0', exampleWorkspace('hello'), {
        GOCACHE: gocache
      })
      tags = tagsOf(r)
      expect(r.main.annotations.filter(a => a.command === 'error')).toEqual([])
      expect(r.main.exitCode).toBe(0)
      expect(stages(r)).toEqual(
        expect.arrayContaining(['Go gate:ok', 'Go build:ok', 'Build:ok', 'Smoke test:ok'])
      )
      // on scratch: one layer, the binary, run as the numeric non-root user (the engine
      // inspects its own platform's image; the smoke tests ran both)
      const format = '{{len .RootFS.Layers}} {{.Config.User}} {{json .Config.Entrypoint}}'
      expect(docker(['image', 'inspect', tags[0], '--format', format]).trim()).toBe(
        '1 65532:65532 ["/hello-cli"]'
      )
      const counts = compiledPackageCounts(r)
      expect(Object.keys(counts).sort()).toEqual(['linux/amd64', 'linux/arm64'])
      // arm64 compiles the standard library and golang.org/x/text; amd64 finds all of it in
      // the cache the gate filled (at most the main package, which no test imports, is left)
      expect(counts['linux/arm64']).toBeGreaterThan(20)
      expect(counts['linux/amd64']).toBeLessThanOrEqual(1)
      expect(r.main.stdout).toMatch(/go gate +.*\(-trimpath, CGO_ENABLED=0 as the runner builds/)
      expect(r.log).toMatch(/\[command\]\S*go vet -trimpath \.\/\.\.\./)
    } finally {
      removeImages(tags)
      rmSync(gocache, { recursive: true, force: true })
    }
  },
  20 * MINUTES
)
