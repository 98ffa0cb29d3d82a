/**
 * The Dockerfile images of a run build at once on the containerd store (src/stages/build.ts,
 * parallelBuilds), for real: the bundle against the bench's engine and BuildKit.
 *
 * Overlap is proved, not timed: each image's Dockerfile gets a step that marks a cache mount
 * shared by both builds (an id of this run's own) and then waits for the other build's mark, up
 * to RENDEZVOUS_S. Both steps end only if the two builds run at the same time; built one after the
 * other, the first build waits in vain and fails. A second run, whose first image fails at once,
 * shows that the stage still waits for the other build and fails naming the failed image.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { randomBytes } from 'node:crypto'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { release } from '../fixtures/events.js'
import { buildLog, runAction, type ActionRun } from '../harness/runner.js'
import {
  docker,
  exampleWorkspace,
  REGISTRY,
  removeImages,
  requireBench,
  tagsOf,
  uniqueRepo
} from './bench.js'

const MINUTES = 60_000
/** How long a build waits for the other's mark: far more than two builds' start can differ. */
const RENDEZVOUS_S = 180
const IMAGES = ['hello-cli', 'hello-web']

beforeAll(() => requireBench())

/** Inserts `step` into the build stage of examples/hello's Dockerfile of `program`. */
function addStep(workspace: string, program: string, step: string): void {
  const file = join(workspace, 'cmd', program, 'Dockerfile')
  const text = readFileSync(file, 'utf8')
  if (!/^COPY \. \.$/m.test(text)) throw new Error(`no "COPY . ." in ${file}`)
  writeFileSync(file, text.replace(/^COPY \. \.$/m, `${step}\nCOPY . .`))
}

/**
 * A step that marks the shared mount `id` as `self` and waits for the mark of `other`. The id is
 * in the command too: BuildKit's cache key of a step leaves out its cache mounts' ids, and the
 * step must run in every run of this file.
 */
function rendezvous(id: string, self: string, other: string): string {
  return [
    `RUN --mount=type=cache,id=${id},target=/rendezvous \\`,
    `    touch /rendezvous/${self}-${id}; n=0; \\`,
    `    until [ -e /rendezvous/${other}-${id} ]; do \\`,
    `      n=$((n+1)); if [ $n -gt ${RENDEZVOUS_S} ]; then echo "${self}: no ${other} build"; exit 1; fi; \\`,
    '      sleep 1; \\',
    '    done; \\',
    `    echo "${self} met ${other}"`
  ].join('\n')
}

function images(repo: string): string {
  return IMAGES.map(
    p => `- name: ${REGISTRY}/${repo}/${p}\n  dockerfile: cmd/${p}/Dockerfile`
  ).join('\n')
}

function release2(workspace: string, repo: string): Promise<ActionRun> {
  const fx = release(`v6.0.0-par.${randomBytes(3).toString('hex')}`)
  return runAction({
    ...fx,
    workspace,
    inputs: {
      images: images(repo),
      platforms: 'linux/amd64',
      'go-gate': 'false',
      cache: 'false',
      push: 'false'
    }
  })
}

function errors(r: ActionRun): string[] {
  return r.main.annotations.filter(a => a.command === 'error').map(a => a.message)
}

/** Prunes the builder's cache records of the mount `id`, and nothing else. */
function pruneMount(id: string): void {
  const ids: string[] = []
  let record = ''
  for (const line of docker(['buildx', 'du', '--verbose']).split('\n')) {
    const m = /^ID:\s+(\S+)/.exec(line)
    if (m) record = m[1]
    if (line.startsWith('Description:') && line.includes(`with id "${id}"`)) ids.push(record)
  }
  for (const x of ids) docker(['buildx', 'prune', '--force', '--filter', `id=${x}`])
}

describe('two Dockerfile images build at once', () => {
  const repo = uniqueRepo('parallel')
  const mount = `gia-e2e-rendezvous-${randomBytes(4).toString('hex')}`
  const workspaces: string[] = []
  let ok: ActionRun
  let failed: ActionRun

  beforeAll(async () => {
    const both = exampleWorkspace('hello')
    addStep(both, 'hello-cli', rendezvous(mount, 'cli', 'web'))
    addStep(both, 'hello-web', rendezvous(mount, 'web', 'cli'))
    // the first image fails at once; the second builds on
    const first = exampleWorkspace('hello')
    addStep(first, 'hello-cli', 'RUN echo "failing on purpose"; exit 3')
    workspaces.push(both, first)
    ok = await release2(both, repo)
    failed = await release2(first, repo)
  }, 15 * MINUTES)

  afterAll(() => {
    removeImages([...tagsOf(ok), ...tagsOf(failed)])
    pruneMount(mount)
    for (const w of workspaces) rmSync(w, { recursive: true, force: true })
  })

  it('builds both, each build waiting for a step of the other: they ran at the same time', () => {
    expect(errors(ok)).toEqual([])
    expect(ok.main.exitCode).toBe(0)
    expect(buildLog(ok, `${REGISTRY}/${repo}/hello-cli`)).toMatch(/^#\d+ [\d.]+ cli met web$/m)
    expect(buildLog(ok, `${REGISTRY}/${repo}/hello-web`)).toMatch(/^#\d+ [\d.]+ web met cli$/m)
  })

  it("prints each build's log whole, in plan order, and reports the images in plan order", () => {
    const cli = buildLog(ok, `${REGISTRY}/${repo}/hello-cli`)
    const web = buildLog(ok, `${REGISTRY}/${repo}/hello-web`)
    expect(ok.main.stdout.indexOf(cli)).toBeLessThan(ok.main.stdout.indexOf(web))
    for (const [log, own, others] of [
      [cli, 'cli', 'web'],
      [web, 'web', 'cli']
    ]) {
      expect(log).toMatch(new RegExp(`go build .*\\./cmd/hello-${own}$`, 'm'))
      expect(log).not.toContain(`./cmd/hello-${others}`)
      expect(log).not.toContain(`${others} met`)
      // the build ran to its end in this section
      expect(log).toMatch(/^#\d+ exporting to image$/m)
    }
    const names = (JSON.parse(ok.main.outputs.metadata).images as { name: string }[]).map(
      i => i.name
    )
    expect(names).toEqual(IMAGES.map(p => `${REGISTRY}/${repo}/${p}`))
  })

  it('fails naming the image whose build failed, once the other build has ended', () => {
    expect(failed.main.exitCode).not.toBe(0)
    const errs = errors(failed)
    expect(errs).toHaveLength(1)
    expect(errs[0]).toMatch(
      new RegExp(`^build of ${REGISTRY.replace(/[.]/g, '\\.')}/${repo}/hello-cli \\(.*\\) failed: `)
    )
    // no rejection left unhandled (Node would print it and its version, and exit)
    expect(failed.main.stderr).not.toMatch(/unhandled|^Node\.js v\d/im)
    // the other build went on to its end and its log is printed
    expect(buildLog(failed, `${REGISTRY}/${repo}/hello-web`)).toMatch(/^#\d+ exporting to image$/m)
    const stages = (
      JSON.parse(failed.main.outputs.metadata).stages as { stage: string; status: string }[]
    ).map(s => `${s.stage}:${s.status}`)
    expect(stages).toContain('Build:failed')
    expect(stages.some(s => s.startsWith('Smoke test:ok'))).toBe(false)
  })
})
