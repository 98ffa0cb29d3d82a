/**
 * Any image store, for real: a second dockerd with the classic image store (the default before
 * Docker 29, and what a runner's Docker may still use) on a socket of its own. The action builds
 * on a docker-container builder (the bench's local BuildKit image), loads and smoke-tests each
 * platform on its own, and pushes the same build, exported from the builder, once it has checked
 * that its content is the content tested.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { join } from 'node:path'
import { release } from '../fixtures/events.js'
import { runAction, type ActionRun } from '../harness/runner.js'
import {
  currentTools,
  docker,
  exampleWorkspace,
  REGISTRY,
  registryTags,
  remoteIndex,
  requireBench,
  runPublished,
  uniqueRepo
} from './bench.js'
import { startDockerd, type SecondDaemon } from './dockerd.js'

const MINUTES = 60_000
let daemon: SecondDaemon | undefined
let host = ''

beforeAll(async () => {
  requireBench()
  daemon = await startDockerd('classic', false)
  host = daemon.host
  const info = execFileSync('docker', [
    '--host',
    host,
    'info',
    '--format',
    '{{json .DriverStatus}}'
  ])
  expect(info.toString()).not.toContain('io.containerd.snapshotter')
}, 2 * MINUTES)

afterAll(async () => {
  await daemon?.stop()
}, 2 * MINUTES)

/** The smoke-tested platforms of a run, with the config digest each was loaded with. */
function loadedConfigs(r: ActionRun): Record<string, string> {
  const out: Record<string, string> = {}
  for (const m of r.main.stdout.matchAll(
    /^\S+ (linux\/\S+): loaded as \S+ \(config (sha256:[0-9a-f]{64})\)$/gm
  ))
    out[m[1]] = m[2]
  return out
}

describe('a release on the classic image store', () => {
  const repo = uniqueRepo('classic')
  const image = `${REGISTRY}/${repo}/hello-cli`
  let r: ActionRun

  beforeAll(async () => {
    const fx = release('v1.0.0')
    r = await runAction({
      ...fx,
      workspace: exampleWorkspace('hello'),
      env: { ...fx.env, DOCKER_HOST: host },
      inputs: {
        image,
        dockerfile: 'cmd/hello-cli/Dockerfile',
        platforms: 'linux/amd64,linux/arm64',
        'go-gate': 'false',
        cache: 'false',
        'buildkit-image': currentTools().buildkitImage
      }
    })
  }, 10 * MINUTES)

  it('builds on a docker-container builder from buildkit-image, loads and smoke-tests each platform, pushes', () => {
    expect(r.main.annotations.filter(a => a.command !== 'notice')).toEqual([])
    expect(r.main.exitCode).toBe(0)
    expect(r.main.stdout).toMatch(/^Docker 26\.\S+, buildx \S+, classic image store$/m)
    expect(r.main.stdout).toMatch(
      /will not do: the classic image store: .*; creating a docker-container builder go-image-action-\S+ from 127\.0\.0\.1:5000\/mirror\/buildkit:v\S+$/m
    )
    const stages = JSON.parse(r.main.outputs.metadata).stages as { stage: string; status: string }[]
    expect(stages.map(s => `${s.stage}:${s.status}`)).toEqual(
      expect.arrayContaining(['Engine:ok', 'Builder:ok', 'Build:ok', 'Smoke test:ok', 'Push:ok'])
    )
    // one single-platform load per platform, then the build to push, exported from the builder
    const builds = r.main.stdout
      .split('\n')
      .filter(l => /^\[command\]\S*docker buildx build /.test(l))
    expect(builds.map(b => /--platform (\S+)/.exec(b)?.[1])).toEqual([
      'linux/amd64',
      'linux/arm64',
      'linux/amd64,linux/arm64'
    ])
    expect(builds[2]).toMatch(/ --provenance=mode=min .*--output type=oci,dest=\S+,tar=false /)
    expect(r.main.stdout).toMatch(
      new RegExp(
        `^${image.replace(/[.]/g, '\\.')}: sha256:[0-9a-f]{64}; every platform has the config and layers of its loaded image$`,
        'm'
      )
    )
    // the post step removed the builder it created
    expect(r.post?.exitCode).toBe(0)
    expect(r.post?.stdout).toMatch(/docker buildx rm go-image-action-/)
  })

  it('publishes the index with both platforms and the provenance attestations, tagged', async () => {
    expect(await registryTags(REGISTRY, `${repo}/hello-cli`)).toEqual(['1.0.0', 'latest'])
    const index = JSON.parse(docker(['buildx', 'imagetools', 'inspect', '--raw', `${image}:1.0.0`]))
    const platforms = index.manifests.map(
      (m: { platform: { os: string; architecture: string } }) =>
        `${m.platform.os}/${m.platform.architecture}`
    )
    expect(platforms).toEqual(['linux/amd64', 'linux/arm64', 'unknown/unknown', 'unknown/unknown'])
    const digests = JSON.parse(r.main.outputs.digests)
    expect(digests[image]).toBe(remoteIndex(`${image}:latest`).digest)
    expect(remoteIndex(`${image}:1.0.0`).digest).toBe(digests[image])
  })

  it('pushed, per platform, the config (and so the layers) that was loaded and smoke-tested', () => {
    const loaded = loadedConfigs(r)
    expect(Object.keys(loaded).sort()).toEqual(['linux/amd64', 'linux/arm64'])
    const meta = JSON.parse(r.main.outputs.metadata).images[0]
    for (const p of meta.platformResults as {
      platform: string
      digest: string
      smoke: { ok: boolean }
    }[]) {
      expect(p.smoke.ok).toBe(true)
      const manifest = JSON.parse(
        docker(['buildx', 'imagetools', 'inspect', '--raw', `${image}@${p.digest}`])
      )
      expect(manifest.config.digest).toBe(loaded[p.platform])
    }
    expect(runPublished(`${image}:1.0.0`, 'linux/arm64', ['--version'])).toContain('1.0.0')
  })
})

it(
  'a build to push whose content differs from what was tested (an ADD of a URL that changes) pushes nothing and says why',
  async () => {
    let n = 0
    const server = createServer((_req, res) => {
      n++
      res.end(`build ${n}\n`)
    })
    await new Promise<void>(ok => server.listen(0, '127.0.0.1', ok))
    const port = (server.address() as { port: number }).port
    const ws = exampleWorkspace('hello')
    writeFileSync(
      join(ws, 'Dockerfile.changing'),
      readFileSync(join(ws, 'cmd', 'hello-cli', 'Dockerfile'), 'utf8') +
        `ADD http://127.0.0.1:${port}/stamp /stamp\n`
    )
    const repo = uniqueRepo('classic-differs')
    const image = `${REGISTRY}/${repo}/hello-cli`
    try {
      const fx = release('v1.0.0')
      const r = await runAction({
        ...fx,
        workspace: ws,
        env: { ...fx.env, DOCKER_HOST: host },
        inputs: {
          image,
          dockerfile: 'Dockerfile.changing',
          platforms: 'linux/amd64',
          'go-gate': 'false',
          cache: 'false'
        }
      })
      expect(r.main.exitCode).toBe(1)
      const errors = r.main.annotations.filter(a => a.command === 'error').map(a => a.message)
      expect(errors).toEqual([
        expect.stringMatching(
          new RegExp(
            `^${image.replace(/[.]/g, '\\.')}: the build to push is not what was loaded for the smoke test, so nothing is pushed: linux/amd64: config sha256:[0-9a-f]{64} to push, sha256:[0-9a-f]{64} tested; linux/amd64: layers \\S+ to push, \\S+ tested$`
          )
        )
      ])
      const stages = JSON.parse(r.main.outputs.metadata).stages as { stage: string }[]
      expect(stages.find(s => s.stage === 'Push')).toBeUndefined()
      expect(await registryTags(REGISTRY, `${repo}/hello-cli`)).toEqual([])
      // nothing at all reached the registry: the repository does not exist
      const manifests = await fetch(`http://${REGISTRY}/v2/${repo}/hello-cli/tags/list`)
      expect(manifests.status).toBe(404)
      expect(r.main.outputs.push).toBe('false')
    } finally {
      server.close()
    }
  },
  10 * MINUTES
)
