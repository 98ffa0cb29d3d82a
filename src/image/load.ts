/**
 * Loads an image the action wrote (an OCI layout) into the engine, for the smoke tests: `docker
 * load` of the layout as a tar, which tags it with every name of its `index.json`. The engine's
 * image ID must then be the written root digest: what runs in the smoke test is what is pushed.
 */
import { createWriteStream } from 'node:fs'
import { readdir, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { pack } from 'tar-stream'
import { DOCKER_CONTROL_TIMEOUT_S, DOCKER_LOAD_TIMEOUT_S, dockerBound } from '../docker/timeouts.js'
import { run } from '../exec.js'

/** The image ID the engine gives a reference (`sha256:...`). */
export async function imageId(ref: string): Promise<string> {
  const res = await run('docker', ['image', 'inspect', '--format', '{{.Id}}', ref], {
    silent: true,
    timeoutSeconds: dockerBound(DOCKER_CONTROL_TIMEOUT_S)
  })
  return res.stdout.trim()
}

/** Every file of a directory tree, relative to it, in a stable order. */
async function filesOf(dir: string, under = ''): Promise<string[]> {
  const out: string[] = []
  for (const e of (await readdir(join(dir, under), { withFileTypes: true })).sort((a, b) =>
    a.name.localeCompare(b.name)
  )) {
    const rel = under ? `${under}/${e.name}` : e.name
    if (e.isDirectory()) out.push(...(await filesOf(dir, rel)))
    else out.push(rel)
  }
  return out
}

/** The layout as a tar archive at `archive` (written here: no `tar` process to start). */
async function writeArchive(layout: string, archive: string): Promise<void> {
  const tar = pack()
  const written = pipeline(tar as unknown as NodeJS.ReadableStream, createWriteStream(archive))
  for (const rel of await filesOf(layout)) {
    const bytes = await readFile(join(layout, rel))
    await new Promise<void>((resolve, reject) =>
      tar.entry({ name: rel, size: bytes.length, mode: 0o644 }, bytes, e =>
        e ? reject(e) : resolve()
      )
    )
  }
  tar.finalize()
  await written
}

/**
 * `docker load` of `layout` (tarred beside it), then checks that `ref` is the image `digest`
 * (on the containerd store the image ID is the root manifest's or index's digest).
 */
export async function loadLayout(layout: string, ref: string, digest: string): Promise<void> {
  const archive = `${layout}.tar`
  try {
    await writeArchive(layout, archive)
    await run('docker', ['load', '--quiet', '--input', archive], {
      silent: true,
      timeoutSeconds: dockerBound(DOCKER_LOAD_TIMEOUT_S)
    })
  } finally {
    await rm(archive, { force: true })
  }
  const id = await imageId(ref)
  if (id !== digest)
    throw new Error(`docker load of ${ref}: the engine holds ${id || 'nothing'}, not ${digest}`)
}
