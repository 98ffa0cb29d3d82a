/**
 * A repository as it is, for real: examples/two-modules (a `web/` module with static assets and
 * templates, a `ws-server/` module that is not gofmt-clean), runner builds without a Dockerfile
 * (expose, user, cmd, files), a v-prefixed tag scheme with floating tags, and the web image pushed
 * to two registries (the plain one and the htpasswd one). One release run, many assertions.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runAction, type ActionRun } from '../harness/runner.js'
import { release } from '../fixtures/events.js'
import {
  authRegistry,
  docker,
  exampleWorkspace,
  registryTags,
  remoteIndex,
  REGISTRY,
  removeImages,
  requireBench,
  tagsOf,
  uniqueRepo
} from './bench.js'

const MINUTES = 60_000
/** The release date of the release fixture: every file of the image carries it. */
const RELEASE_DATE = '2019-05-15T15:20:53Z'

beforeAll(() => requireBench())

describe('a two-module repository, v-prefixed floating tags, two registries', () => {
  const repo = uniqueRepo('projects')
  const auth = authRegistry()
  const web = [`${REGISTRY}/${repo}/web`, `${auth.host}/${repo}/web`]
  const ws = `${REGISTRY}/${repo}/ws-server`
  /** The web image as both releases give it: its names, module, binary, assets and probe. */
  const webItem = [
    `- names: [${web.join(', ')}]`,
    '  go-working-directory: web',
    '  main: .',
    '  binary: web',
    `  base-image: ${REGISTRY}/mirror/static:nonroot`,
    '  files: ["static:/srv/static", "templates:/srv/templates"]',
    '  smoke-http: 8080/healthz'
  ]
  const TAGS = '{{tag}}\nv{{major}}.{{minor}}\nv{{major}}'
  let r: ActionRun

  beforeAll(async () => {
    r = await runAction({
      ...release('v2.3.0'),
      workspace: exampleWorkspace('two-modules'),
      inputs: {
        images: [
          ...webItem,
          '  expose: 8080',
          // rendered from the template the image got with files:
          '  smoke-expect: web 2.3.0 is healthy',
          `- name: ${ws}`,
          '  go-working-directory: ws-server',
          '  main: .',
          '  binary: ws-server',
          `  base-image: ${REGISTRY}/mirror/static:nonroot`,
          '  expose: [9100, 51820/udp]',
          '  user: "65532:65532"',
          '  cmd: -metrics :9100 -udp :51820',
          // no arguments: the image's CMD runs, and its banner passes the smoke test
          '  smoke-args: []',
          '  smoke-expect: ws-server 2.3.0 listening on :9100'
        ].join('\n'),
        tags: TAGS,
        platforms: 'linux/amd64,linux/arm64',
        // ws-server is not gofmt-clean: vet and test only
        'go-gate': 'vet,test',
        'registry-username': auth.user,
        'registry-password': auth.password,
        cache: 'false'
      }
    })
  }, 15 * MINUTES)

  afterAll(() => removeImages(tagsOf(r)))

  it('succeeds, gating vet and test in both modules (not gofmt)', () => {
    expect(r.main.annotations.filter(a => a.command === 'error')).toEqual([])
    expect(r.main.exitCode).toBe(0)
    expect(r.main.stdout).toMatch(/go gate +go vet, go test -vet=off \.\/\.\.\. in web, ws-server/)
    expect(r.main.stdout).toMatch(/^ok\s+example\.com\/two-modules\/web\s/m)
    expect(r.main.stdout).toMatch(/^ok\s+example\.com\/two-modules\/ws-server\s/m)
    expect(r.main.stdout).toContain('gofmt: not run (go-gate)')
  })

  it('compiles each image in its own module', () => {
    for (const p of ['linux/amd64', 'linux/arm64']) {
      expect(r.main.stdout).toMatch(new RegExp(`^${p}: \\. -> \\S+/web \\(`, 'm'))
      expect(r.main.stdout).toMatch(new RegExp(`^${p}: \\. -> \\S+/ws-server \\(`, 'm'))
    }
  })

  it('pushes the v-prefixed version and floating tags to both registries, one digest', async () => {
    const expected = ['latest', 'v2', 'v2.3', 'v2.3.0']
    expect(await registryTags(REGISTRY, `${repo}/web`)).toEqual(expected)
    expect(await registryTags(auth.host, `${repo}/web`, auth)).toEqual(expected)
    expect(await registryTags(REGISTRY, `${repo}/ws-server`)).toEqual(expected)
    const digest = remoteIndex(`${web[0]}:v2.3.0`).digest
    expect(JSON.parse(r.main.outputs.digests)[web[0]]).toBe(digest)
    for (const tag of expected) expect(remoteIndex(`${web[0]}:${tag}`).digest).toBe(digest)
    // the auth registry: imagetools reads it with the run's login gone, so ask its API
    const res = await fetch(`http://${auth.host}/v2/${repo}/web/manifests/v2`, {
      method: 'HEAD',
      headers: {
        Authorization: `Basic ${Buffer.from(`${auth.user}:${auth.password}`).toString('base64')}`,
        Accept: [
          'application/vnd.oci.image.index.v1+json',
          'application/vnd.docker.distribution.manifest.list.v2+json'
        ].join(', ')
      }
    })
    expect(res.headers.get('docker-content-digest')).toBe(digest)
  })

  it('pushes every version tag before any floating tag, on each name', () => {
    const meta = JSON.parse(r.main.outputs.metadata)
    const pushed: string[] = meta.images[0].pushedTags
    for (const name of web) {
      const mine = pushed.filter(t => t.startsWith(`${name}:`)).map(t => t.slice(name.length + 1))
      expect(mine).toEqual(['v2.3.0', 'v2.3', 'v2', 'latest'])
    }
  })

  it("writes the generated Dockerfile's ports, user and cmd", () => {
    const config = (ref: string): Record<string, unknown> =>
      JSON.parse(docker(['buildx', 'imagetools', 'inspect', ref, '--format', '{{json .Image}}']))[
        'linux/arm64'
      ].config
    expect(config(`${ws}:v2.3.0`)).toMatchObject({
      ExposedPorts: { '9100/tcp': {}, '51820/udp': {} },
      User: '65532:65532',
      Entrypoint: ['/ws-server'],
      Cmd: ['-metrics', ':9100', '-udp', ':51820']
    })
    expect(config(`${web[0]}:v2.3.0`)).toMatchObject({
      ExposedPorts: { '8080/tcp': {} },
      User: '65532:65532'
    })
  })

  it('copies the files into the image, every file and directory with the release date', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gia-e2e-files-'))
    const id = docker(['create', '--platform', 'linux/arm64', `${web[0]}:v2.3.0`]).trim()
    try {
      const tar = join(dir, 'srv.tar')
      writeFileSync(tar, execFileSync('docker', ['cp', `${id}:/srv`, '-'], { maxBuffer: 1 << 26 }))
      expect(execFileSync('tar', ['-xOf', tar, 'srv/static/hello.txt'], { encoding: 'utf8' })).toBe(
        'hello from a static asset\n'
      )
      const listing = execFileSync('tar', ['--full-time', '--utc', '-tvf', tar], {
        encoding: 'utf8'
      })
        .trim()
        .split('\n')
      const date = RELEASE_DATE.replace('T', ' ').replace('Z', '')
      expect(listing.map(l => l.split(/\s+/).slice(3, 6).join(' ')).sort()).toEqual([
        `${date} srv/`,
        `${date} srv/static/`,
        `${date} srv/static/hello.txt`,
        `${date} srv/templates/`,
        `${date} srv/templates/health.html`
      ])
    } finally {
      docker(['rm', id])
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it(
    'never moves a floating tag backwards: an older release v2.2.9 gets v2.2, v2 and latest stay on 2.3.0',
    async () => {
      const older = await runAction({
        ...release('v2.2.9'),
        workspace: exampleWorkspace('two-modules'),
        inputs: {
          images: webItem.join('\n'),
          tags: TAGS,
          platforms: 'linux/amd64',
          'go-gate': 'false',
          'registry-username': auth.user,
          'registry-password': auth.password,
          cache: 'false'
        }
      })
      try {
        // the errors first: they say why, where an exit code only says that it failed
        expect(older.main.annotations.filter(a => a.command === 'error')).toEqual([])
        expect(older.main.exitCode).toBe(0)
        expect(await registryTags(REGISTRY, `${repo}/web`)).toEqual([
          'latest',
          'v2',
          'v2.2',
          'v2.2.9',
          'v2.3',
          'v2.3.0'
        ])
        const digest = (tag: string): string => remoteIndex(`${web[0]}:${tag}`).digest
        expect(digest('v2')).toBe(digest('v2.3.0'))
        expect(digest('latest')).toBe(digest('v2.3.0'))
        expect(digest('v2.2')).toBe(digest('v2.2.9'))
        expect(digest('v2.2')).not.toBe(digest('v2.3.0'))
      } finally {
        removeImages(tagsOf(older))
      }
    },
    10 * MINUTES
  )

  it('shows the command that worked in the summary: the server and its probe', () => {
    expect(r.main.summary).toContain(
      `docker run --rm -d -p 8080:8080 ${web[0]}:v2.3.0\ncurl http://localhost:8080/healthz`
    )
    expect(r.main.summary).not.toContain('--version')
  })
})
