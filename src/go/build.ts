import * as core from '@actions/core'
import { createHash } from 'node:crypto'
import { constants } from 'node:fs'
import {
  chmod,
  copyFile,
  cp,
  lstat,
  mkdir,
  readdir,
  readFile,
  realpath,
  rm,
  rmdir,
  stat,
  utimes,
  writeFile
} from 'node:fs/promises'
import { availableParallelism } from 'node:os'
import { dirname, join, resolve, sep } from 'node:path'
import { limit } from '../limit.js'
import { run } from '../exec.js'
import type { PlannedImage } from '../plan/plan.js'
import { goEnvFor } from '../plan/runnerBuild.js'

/** State key: the action's own directory, which the post step removes. */
export const ACTION_DIR_STATE = 'action-dir'
/** State key: JSON list of what a runner build copied into a user's context, for the post step. */
export const WRITTEN_STATE = 'context-files'

/** One cross-compiled binary. */
export interface BuiltBinary {
  platform: string
  path: string
  ms: number
  /** Packages compiled for it (not found in the Go build cache), from `go build -v`. */
  compiled: string[]
}

/**
 * The modification time of a built binary, in Unix seconds: the release date plus a fraction of
 * a second (whole microseconds) taken from the binary's sha256. The same bytes always get the
 * same time, so the layer stays reproducible. Different bytes get a different time: BuildKit
 * sends a build context by comparing size and mtime, not content, so a new binary of the same
 * size with exactly the release date would be taken for the one a persistent builder already
 * holds from an earlier run, and the image would ship that stale binary.
 */
export function binaryTime(sourceDateEpoch: number, bytes: Buffer): number {
  const micros = createHash('sha256').update(bytes).digest().readUInt32BE(0) % 1_000_000
  return sourceDateEpoch + micros / 1_000_000
}

/** The package paths `go build -v` prints as it compiles them (its other lines start `go: `). */
export function compiledPackages(stderr: string): string[] {
  return stderr
    .split('\n')
    .map(l => l.trim())
    .filter(l => l !== '' && !l.startsWith('go: ') && !l.startsWith('#') && !/\s/.test(l))
}

/** What `go version -m` says a binary was built for. */
export function parseGoVersionM(text: string): {
  goos?: string
  goarch?: string
  goarm?: string
  goamd64?: string
} {
  const setting = (name: string): string | undefined =>
    new RegExp(`^\\s*build\\s+${name}=(\\S+)`, 'm').exec(text)?.[1]
  return {
    goos: setting('GOOS'),
    goarch: setting('GOARCH'),
    goarm: setting('GOARM'),
    goamd64: setting('GOAMD64')
  }
}

/**
 * Splits the output of `go version -m <file>...` into each file's section: a `<file>: <go
 * version>` line followed by its tab-indented build information. A file missing from the output
 * (not a Go binary) gets no section.
 */
export function splitGoVersionM(text: string, files: string[]): Map<string, string> {
  const sections = new Map<string, string[]>()
  let current: string[] | undefined
  for (const line of text.split('\n')) {
    if (line.startsWith('\t')) {
      current?.push(line)
      continue
    }
    const file = files.find(f => line.startsWith(`${f}: `))
    current = undefined
    if (file !== undefined) {
      current = []
      sections.set(file, current)
    }
  }
  return new Map([...sections].map(([file, lines]) => [file, lines.join('\n')]))
}

/**
 * What a binary's recorded GOOS/GOARCH(/GOARM/GOAMD64), from its `go version -m` section, says
 * against its platform: empty when it fits.
 */
export function goPlatformProblems(text: string, platform: string): string[] {
  const got = parseGoVersionM(text)
  const want = goEnvFor(platform)
  const problems: string[] = []
  if (got.goos !== want['GOOS']) problems.push(`GOOS=${got.goos}`)
  if (got.goarch !== want['GOARCH']) problems.push(`GOARCH=${got.goarch}`)
  if (want['GOARM'] && !(got.goarm ?? '').startsWith(want['GOARM']))
    problems.push(`GOARM=${got.goarm}`)
  if (want['GOAMD64'] && got.goamd64 !== want['GOAMD64']) problems.push(`GOAMD64=${got.goamd64}`)
  return problems
}

/** `GOOS=linux GOARCH=arm GOARM=7`: a Go binary's target, from its `go version -m` section. */
export function goTarget(text: string): string {
  const got = parseGoVersionM(text)
  return [
    `GOOS=${got.goos}`,
    `GOARCH=${got.goarch}`,
    ...(got.goarm ? [`GOARM=${got.goarm}`] : []),
    ...(got.goamd64 ? [`GOAMD64=${got.goamd64}`] : [])
  ].join(' ')
}

/** Checks a binary's recorded GOOS/GOARCH(/GOARM/GOAMD64) against its platform. */
export function checkBinaryPlatform(text: string, platform: string, path: string): void {
  const problems = goPlatformProblems(text, platform)
  if (problems.length > 0)
    throw new Error(`${path} is not a ${platform} binary: ${problems.join(', ')}`)
}

/**
 * Cross-compiles a runner build's package for every planned platform (several at once, sharing
 * the Go build cache), into the action's own `<outDir>/<os>/<arch>[/<variant>]/<binary>`,
 * verifies each binary's platform with `go version -m`, stamps it with the release date, and
 * writes the generated Dockerfile there when the image has none. When the user named a context,
 * the binaries are then copied into it (see copyIntoContext): `written` lists what was created
 * there, for removal once the image is built.
 */
export async function runnerBuild(
  image: PlannedImage,
  goDir: string,
  workspace: string,
  sourceDateEpoch: number
): Promise<{ binaries: BuiltBinary[]; written: string[] }> {
  const rb = image.runnerBuild
  if (!rb) return { binaries: [], written: [] }
  // the action's own directory: whatever an earlier step of this job left there goes
  await rm(rb.outDir, { recursive: true, force: true })
  const binaries = await limit(image.platforms, availableParallelism(), async platform => {
    const out = join(rb.outDir, platform, rb.binary)
    await mkdir(join(rb.outDir, platform), { recursive: true })
    const started = Date.now()
    let compiled: string[]
    try {
      const res = await run(
        'go',
        ['build', '-v', '-trimpath', `-ldflags=${rb.ldflags}`, '-o', out, rb.main],
        { cwd: goDir, env: goEnvFor(platform), silent: true }
      )
      compiled = compiledPackages(res.stderr)
    } catch (e) {
      throw new Error(
        `go build of ${rb.main} for ${platform} (${image.name}) failed: ${(e as Error).message}`
      )
    }
    const ms = Date.now() - started
    // Same commit, same bytes, same timestamp: the layer is reproducible.
    const stamp = binaryTime(sourceDateEpoch, await readFile(out))
    await utimes(out, stamp, stamp)
    const n = compiled.length
    core.info(
      `${platform}: ${rb.main} -> ${out} (${(ms / 1000).toFixed(1)} s, ${n} package${n === 1 ? '' : 's'} compiled)`
    )
    return { platform, path: out, ms, compiled }
  })
  // one `go version -m` for all binaries: a go process per binary costs more than reading them
  const info = await run('go', ['version', '-m', ...binaries.map(b => b.path)], {
    cwd: goDir,
    silent: true
  })
  const sections = splitGoVersionM(
    info.stdout,
    binaries.map(b => b.path)
  )
  for (const b of binaries) checkBinaryPlatform(sections.get(b.path) ?? '', b.platform, b.path)
  if (rb.filesDir) await stageFiles(rb.files, goDir, rb.filesDir, sourceDateEpoch, image.origin)
  if (rb.generatedDockerfile) {
    await writeFile(resolve(workspace, image.dockerfile), rb.generatedDockerfile)
  }
  const written: string[] = []
  if (rb.copyInto !== undefined) {
    const context = resolve(workspace, rb.copyInto)
    try {
      for (const b of binaries)
        await copyIntoContext(b.path, context, join(b.platform, rb.binary), written)
    } catch (e) {
      await removeWritten(written)
      throw new Error(`runner build of ${image.name} (${image.origin}): ${(e as Error).message}`)
    }
  }
  return { binaries, written }
}

/**
 * Copies a file into the user's context at `relative`, never overwriting: each directory it
 * creates and the file itself (opened with exclusive create, timestamps kept) are appended to
 * `written`. An existing file is an error that names it.
 */
export async function copyIntoContext(
  src: string,
  context: string,
  relative: string,
  written: string[]
): Promise<void> {
  const dest = join(context, relative)
  // each missing directory on the way, outermost first: removed again afterwards (innermost first)
  const parts = relative.split('/').slice(0, -1)
  for (let i = 1; i <= parts.length; i++) {
    const dir = join(context, ...parts.slice(0, i))
    try {
      await mkdir(dir)
      written.push(dir)
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
    }
  }
  try {
    await copyFile(src, dest, constants.COPYFILE_EXCL)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST')
      throw new Error(
        `${dest} already exists in the build context; the action never overwrites a file of yours (move it, or leave out context: to build in a directory of the action's own)`
      )
    throw e
  }
  written.push(dest)
  // the stamp of runnerBuild, to the sub-millisecond fraction (a Date would round it)
  const { mtimeMs } = await stat(src)
  await utimes(dest, mtimeMs / 1000, mtimeMs / 1000)
}

/** Removes what copyIntoContext created, files then directories, innermost first. */
export async function removeWritten(written: string[]): Promise<void> {
  for (const p of [...written].reverse()) {
    // a directory is removed only when empty: anything else in it is not ours
    await rm(p, { force: true }).catch(() => rmdir(p).catch(() => undefined))
  }
}

/**
 * Copies an image's `files` from its module into `dir` at their destinations (`dir/srv/static`
 * for `/srv/static`), the tree the generated Dockerfile copies into `/`. A source must resolve
 * (symlinks too) inside the module. Every file gets binaryTime's stamp and every directory the
 * release date, mode 755: the layer is the same for the same commit, whenever and wherever the
 * repository was checked out.
 */
export async function stageFiles(
  files: { src: string; dest: string }[],
  goDir: string,
  dir: string,
  sourceDateEpoch: number,
  origin: string
): Promise<void> {
  await rm(dir, { recursive: true, force: true })
  await mkdir(dir, { recursive: true })
  const module = await realpath(goDir)
  for (const [i, f] of files.entries()) {
    const name = `${origin}.files[${i}]`
    const src = await realpath(resolve(goDir, f.src)).catch(() => {
      throw new Error(`${name}: ${f.src} does not exist in the module ${goDir}`)
    })
    if (src !== module && !src.startsWith(module + sep))
      throw new Error(`${name}: ${f.src} resolves to ${src}, outside the module ${module}`)
    const dest = join(dir, f.dest)
    await mkdir(dirname(dest), { recursive: true })
    await cp(src, dest, {
      recursive: true,
      verbatimSymlinks: true,
      errorOnExist: true,
      force: false
    })
  }
  await stampTree(dir, sourceDateEpoch)
  core.info(
    `${origin}: files staged for the image: ${files.map(f => `${f.src} -> ${f.dest}`).join(', ')}`
  )
}

/** Stamps a tree, deepest first (writing into a directory would change its time again). */
async function stampTree(path: string, sourceDateEpoch: number): Promise<void> {
  const st = await lstat(path)
  if (st.isSymbolicLink()) return
  if (st.isDirectory()) {
    for (const entry of (await readdir(path)).sort())
      await stampTree(join(path, entry), sourceDateEpoch)
    await chmod(path, 0o755)
    await utimes(path, sourceDateEpoch, sourceDateEpoch)
    return
  }
  const stamp = binaryTime(sourceDateEpoch, await readFile(path))
  await chmod(path, st.mode & 0o111 ? 0o755 : 0o644)
  await utimes(path, stamp, stamp)
}
