/**
 * No docker call hangs the run (issue 10). (a) A build whose RUN step sleeps ten minutes, with a
 * small `build-timeout`: the run fails within bounds, with an error naming the image, its
 * platform and the input to raise; the build's whole process tree is gone (docker, its buildx
 * plugin, and the RUN step's process), nothing reached the registry, and the outputs and summary
 * were still written. (b) A daemon that stalls: DOCKER_HOST is a unix socket of the test's own
 * that accepts connections and never answers (the real docker CLI then waits forever); the
 * Engine stage fails in bounded time (GIA_DOCKER_TIMEOUT_S, the test hook that caps the fixed
 * bounds of control calls) with an error naming the call and the socket.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { release } from '../fixtures/events.js'
import { runAction, type ActionRun } from '../harness/runner.js'
import { REGISTRY, registryTags, requireBench, uniqueRepo } from './bench.js'

const MINUTES = 60_000

/** Command lines of the host's processes that contain `text`. */
function processesWith(text: string): string[] {
  return execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' })
    .split('\n')
    .filter(l => l.includes(text) && !l.includes('ps -eo'))
}

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (cond()) return true
    await new Promise(r => setTimeout(r, 500))
  }
  return cond()
}

function stagesOf(r: ActionRun): string[] {
  return (JSON.parse(r.main.outputs.metadata).stages as { stage: string; status: string }[]).map(
    s => `${s.stage}:${s.status}`
  )
}

describe('a build that outlives build-timeout', () => {
  const repo = uniqueRepo('build-timeout')
  const image = `${REGISTRY}/${repo}/slow`
  // a sleep of its own length, to find its process on the host
  const seconds = 600 + Math.floor(Math.random() * 300)
  // the build's clock starts with `docker buildx build`: its RUN step must have begun by then,
  // also on a loaded machine (it is checked), and the sleep must still be far from its end
  const timeoutS = 30
  let r: ActionRun
  let ms = 0

  beforeAll(async () => {
    requireBench()
    const ws = mkdtempSync(join(tmpdir(), 'gia-build-timeout-'))
    writeFileSync(
      join(ws, 'Dockerfile'),
      `FROM 127.0.0.1:5000/mirror/golang:1.26\nRUN echo gia-build-timeout && sleep ${seconds}\n`
    )
    const fx = release('v1.0.0')
    const started = Date.now()
    r = await runAction({
      ...fx,
      workspace: ws,
      inputs: {
        image,
        platforms: 'linux/amd64',
        'go-gate': 'false',
        cache: 'false',
        'smoke-test': 'false',
        'build-timeout': String(timeoutS)
      },
      timeoutMs: 8 * MINUTES
    })
    ms = Date.now() - started
  }, 10 * MINUTES)

  it('fails within bounds, naming the image, its platform and the input to raise', () => {
    expect(r.main.exitCode).not.toBe(0)
    // the RUN step ran, and the run ended long before it would have
    expect(r.main.stdout).toContain('gia-build-timeout')
    expect(ms).toBeLessThan(seconds * 1000 * 0.5)
    const errors = r.main.annotations.filter(a => a.command === 'error').map(a => a.message)
    expect(errors).toEqual([
      `build of ${image} for linux/amd64 (image) did not finish in ${timeoutS} s: docker buildx build was stopped, nothing is pushed; raise the build-timeout input if the build needs longer`
    ])
  })

  it('leaves no docker, buildx or RUN step process behind', async () => {
    expect(await until(() => processesWith(`sleep ${seconds}`).length === 0, 30_000)).toBe(true)
    expect(processesWith(repo)).toEqual([])
  }, 60_000)

  it('pushed nothing, and still wrote the outputs and the summary', async () => {
    expect(await registryTags(REGISTRY, `${repo}/slow`)).toEqual([])
    expect(stagesOf(r)).toEqual(expect.arrayContaining(['Build:failed']))
    expect(stagesOf(r).some(s => s.startsWith('Push:'))).toBe(false)
    expect(r.main.summary).toContain('go-image-action')
    expect(r.post?.exitCode).toBe(0)
  })
})

describe('a Docker daemon that accepts connections and never answers', () => {
  const socket = join(tmpdir(), `gia-stall-${randomBytes(4).toString('hex')}.sock`)
  const connections: Socket[] = []
  let server: Server
  let r: ActionRun
  let ms = 0

  beforeAll(async () => {
    server = createServer(c => {
      connections.push(c)
      c.on('data', () => undefined) // read the request, answer nothing
      c.on('error', () => undefined)
    })
    await new Promise<void>(res => server.listen(socket, res))
    const ws = mkdtempSync(join(tmpdir(), 'gia-stall-'))
    writeFileSync(join(ws, 'Dockerfile'), 'FROM 127.0.0.1:5000/mirror/static:nonroot\n')
    const fx = release('v1.0.0')
    const started = Date.now()
    r = await runAction({
      ...fx,
      workspace: ws,
      env: { ...fx.env, DOCKER_HOST: `unix://${socket}`, GIA_DOCKER_TIMEOUT_S: '3' },
      inputs: {
        image: `${REGISTRY}/${uniqueRepo('stall')}/app`,
        platforms: 'linux/amd64',
        'go-gate': 'false',
        cache: 'false'
      },
      timeoutMs: 3 * MINUTES
    })
    ms = Date.now() - started
  }, 5 * MINUTES)

  afterAll(async () => {
    for (const c of connections) c.destroy()
    await new Promise(res => server.close(res))
  })

  it('fails the Engine stage in bounded time with an error naming the call and the socket', () => {
    expect(r.main.exitCode).not.toBe(0)
    expect(connections.length).toBeGreaterThan(0)
    expect(ms).toBeLessThan(60_000)
    expect(stagesOf(r)).toEqual(expect.arrayContaining(['Engine:failed']))
    const errors = r.main.annotations.filter(a => a.command === 'error').map(a => a.message)
    expect(errors).toEqual([
      `no Docker engine answers: docker version got no answer from unix://${socket} in 3 s and was stopped (the daemon stalls)`
    ])
    expect(r.post?.exitCode).toBe(0)
  })

  it('left no docker client connected: every connection was closed by its killed client', async () => {
    expect(await until(() => connections.every(c => c.closed || c.readableEnded), 10_000)).toBe(
      true
    )
  }, 30_000)
})
