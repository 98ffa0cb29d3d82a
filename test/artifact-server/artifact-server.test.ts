/**
 * The local artifact service against the real @actions/artifact client (the one the action
 * bundles): upload from two jobs of a run, list and download from a third, the stored blob a
 * real zip of the files; names unique in a run; another run sees nothing.
 */
import { afterAll, afterEach, beforeAll, beforeEach, expect, it, jest } from '@jest/globals'
import { DefaultArtifactClient } from '@actions/artifact'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startArtifactServer, type ArtifactServer } from './server.js'

let server: ArtifactServer
let savedEnv: NodeJS.ProcessEnv
const work = mkdtempSync(join(tmpdir(), 'gia-artifacts-'))

beforeAll(async () => {
  server = await startArtifactServer()
})
afterAll(async () => {
  await server.stop()
  rmSync(work, { recursive: true, force: true })
})
beforeEach(() => {
  savedEnv = { ...process.env }
  jest.spyOn(process.stdout, 'write').mockImplementation(() => true)
})
afterEach(() => {
  process.env = savedEnv
  jest.restoreAllMocks()
})

/** Acts as job `job` of run `run`: the runtime env the runner would give it. */
function asJob(run: string, job: string): DefaultArtifactClient {
  for (const k of Object.keys(process.env)) if (/^(ACTIONS_|GITHUB_)/.test(k)) delete process.env[k]
  Object.assign(process.env, server.env(run, job), { GITHUB_WORKSPACE: work })
  return new DefaultArtifactClient()
}

/** Names, sizes and CRCs of a zip's central directory. */
function zipEntries(zip: Buffer): { name: string; size: number; crc: number }[] {
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]))
  expect(end).toBeGreaterThan(0)
  const count = zip.readUInt16LE(end + 10)
  let at = zip.readUInt32LE(end + 16)
  const out = []
  for (let i = 0; i < count; i++) {
    expect(zip.readUInt32LE(at)).toBe(0x02014b50)
    const nameLength = zip.readUInt16LE(at + 28)
    const skip = nameLength + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32)
    out.push({
      name: zip.subarray(at + 46, at + 46 + nameLength).toString('utf8'),
      size: zip.readUInt32LE(at + 24),
      crc: zip.readUInt32LE(at + 16)
    })
    at += 46 + skip
  }
  return out
}

function files(dir: string, content: Record<string, string>): string[] {
  return Object.entries(content).map(([name, text]) => {
    mkdirSync(join(dir, name, '..'), { recursive: true })
    writeFileSync(join(dir, name), text)
    return join(dir, name)
  })
}

it('round-trips artifacts of two jobs to a third through the real client, as zips', async () => {
  const a = join(work, 'a')
  const amd = files(a, {
    'digests.json': '{"platform":"linux/amd64"}\n',
    'sub/note.txt': 'x'.repeat(5000)
  })
  const up = await asJob('run-1', 'job-amd64').uploadArtifact('digests-linux-amd64', amd, a)
  expect(up.id).toBeGreaterThan(0)
  const b = join(work, 'b')
  const arm = files(b, { 'digests.json': '{"platform":"linux/arm64"}\n' })
  await asJob('run-1', 'job-arm64').uploadArtifact('digests-linux-arm64', arm, b)

  const stored = server.artifacts().find(x => x.name === 'digests-linux-amd64')
  expect(stored?.contentType).toBe('application/zip')
  // @actions/artifact adds files to the zip concurrently: the order of entries is not fixed.
  const entries = zipEntries(stored?.data as Buffer).sort((x, y) => x.name.localeCompare(y.name))
  expect(entries.map(e => [e.name, e.size])).toEqual([
    ['digests.json', 27],
    ['sub/note.txt', 5000]
  ])

  const merge = asJob('run-1', 'job-merge')
  const { artifacts } = await merge.listArtifacts({ latest: true })
  expect(artifacts.map(x => x.name).sort()).toEqual(['digests-linux-amd64', 'digests-linux-arm64'])
  const listed = artifacts.find(x => x.name === 'digests-linux-amd64')
  expect(listed?.size).toBe(stored?.data?.length)
  expect(listed?.digest).toBe(`sha256:${up.digest}`)

  const into = join(work, 'down')
  const down = await merge.downloadArtifact(listed?.id as number, { path: into })
  expect(down.digestMismatch).toBe(false)
  expect(readFileSync(join(into, 'digests.json'), 'utf8')).toBe('{"platform":"linux/amd64"}\n')
  expect(readFileSync(join(into, 'sub', 'note.txt'), 'utf8')).toBe('x'.repeat(5000))
  // the by-name lookup the client offers (GetSignedArtifactURL path through ListArtifacts)
  const byName = await merge.getArtifact('digests-linux-arm64')
  expect(byName.artifact.name).toBe('digests-linux-arm64')
})

it('keeps names unique in a run and runs apart', async () => {
  const c = join(work, 'c')
  const one = files(c, { 'f.txt': 'one' })
  await asJob('run-2', 'job-1').uploadArtifact('same', one, c)
  await expect(asJob('run-2', 'job-2').uploadArtifact('same', one, c)).rejects.toThrow(
    /already exists/
  )
  const other = await asJob('run-3', 'job-1').listArtifacts()
  expect(other.artifacts).toEqual([])
})

it('refuses a token it did not sign', async () => {
  asJob('run-1', 'job-x')
  const [h, claims] = (process.env['ACTIONS_RUNTIME_TOKEN'] as string).split('.')
  process.env['ACTIONS_RUNTIME_TOKEN'] =
    `${h}.${claims}.${Buffer.from('forged').toString('base64url')}`
  await expect(new DefaultArtifactClient().listArtifacts()).rejects.toThrow(
    /401|unauthenticated|signature/i
  )
})
