import * as core from '@actions/core'
import { createHash } from 'node:crypto'
import { constants } from 'node:fs'
import {
  chmod,
  copyFile,
  cp,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  realpath,
  rename,
  rm,
  rmdir,
  stat,
  utimes,
  writeFile
} from 'node:fs/promises'
import { availableParallelism } from 'node:os'
import { dirname, join, resolve, sep } from 'node:path'
import { slots } from '../limit.js'
import { Stopped } from '../util/stopped.js'
import { run } from '../exec.js'
import type { PlannedImage } from '../plan/plan.js'
import { goEnvFor } from '../plan/runnerBuild.js'
import { readGoBuildInfo } from './buildInfo.js'

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

/** One binary of a runner build: an image's package for one platform. */
interface BinaryJob {
  image: PlannedImage
  platform: string
  goDir: string
}

/**
 * The name `go build -o <dir>/` gives a main package named by a relative path (`./cmd/web` ->
 * `web`), or undefined when only its import path can say (`.`, a `/vN` major-version directory).
 */
export function goOutputName(main: string): string | undefined {
  const m = /^\.\/(?:[^\s]*\/)?([^/\s]+)\/?$/.exec(main)
  if (!m || m[1] === '.' || m[1] === '..' || /^v\d+$/.test(m[1])) return undefined
  return m[1]
}

/**
 * Groups the binaries that one `go build` can build together: the same platform, module
 * directory and -ldflags, each main package with a name of its own in the output directory
 * (goOutputName). One go process then loads and hashes the package graph they share once, and
 * links them all. Any other binary is a group of its own. In the jobs' order. Pure.
 */
export function goBuildGroups<
  J extends { platform: string; goDir: string; image: Pick<PlannedImage, 'runnerBuild'> }
>(jobs: J[]): J[][] {
  const groups: { key: string; names: Set<string>; jobs: J[] }[] = []
  for (const j of jobs) {
    const rb = j.image.runnerBuild as NonNullable<PlannedImage['runnerBuild']>
    const name = goOutputName(rb.main)
    const key = `${j.platform}\n${j.goDir}\n${rb.ldflags}`
    const g = name
      ? groups.find(x => x.key === key && x.names.size > 0 && !x.names.has(name))
      : undefined
    if (g && name) {
      g.names.add(name)
      g.jobs.push(j)
    } else groups.push({ key, names: new Set(name ? [name] : []), jobs: [j] })
  }
  return groups.map(g => g.jobs)
}

/** What runnerBuilds needs from the run. */
export interface RunnerBuildOptions {
  /** The directory of the image's module, for an image. */
  goDirOf: (image: PlannedImage) => string
  workspace: string
  sourceDateEpoch: number
  /** The runner's own platform: its binaries wait for `nativeAfter`. */
  runnerPlatform: string
  /**
   * Settles when the Go gate, which runs beside these builds and compiles for the runner's own
   * platform, has ended: the runner's own binaries are built then, from the packages it compiled
   * (not compiled twice at once); if it failed they are not built.
   */
  nativeAfter: Promise<void>
  /** Where each line for the log goes (the caller prints them). */
  log: (line: string) => void
  /**
   * Called with what an image copied into a user's context, as soon as it is there (for the post
   * step to remove should the main step be stopped before the images are built).
   */
  copied: (paths: string[]) => void
  /**
   * Hears of each image's binaries: `done` settles once they are all built, checked and staged
   * (rejected with the failure that stops them), so that work on the image can start at once.
   */
  ready?: (image: PlannedImage, done: Promise<void>) => void
  /**
   * Hears of each binary: `done` settles once it is built and stamped (its platform is checked
   * with the others of its image, before `ready`'s `done` settles).
   */
  built?: (image: PlannedImage, platform: string, done: Promise<void>) => void
}

/**
 * Cross-compiles every runner-build image's package for each of its platforms, all images' binaries
 * from one pool (as many at once as the runner has cores, one platform's binaries one after
 * another, the runner's own platform once `nativeAfter` has settled; they share the Go build
 * cache), into the action's own `<outDir>/<os>/<arch>[/<variant>]/<binary>`;
 * then, per image, verifies each binary's platform with `go version -m`, stamps it with the release
 * date, and writes the generated Dockerfile there when the image has none. When the user named a
 * context, the binaries are then copied into it (see copyIntoContext): `written` lists what was
 * created there, for removal once the images are built (when a later image fails, what earlier ones
 * copied is removed at once).
 */
export async function runnerBuilds(
  images: PlannedImage[],
  o: RunnerBuildOptions
): Promise<{ binaries: BuiltBinary[]; written: string[] }> {
  const built = images.filter(i => i.runnerBuild)
  // the action's own directories: whatever an earlier step of this job left there goes
  for (const image of built)
    await rm(image.runnerBuild?.outDir as string, { recursive: true, force: true })
  const jobs: BinaryJob[] = built.flatMap(image =>
    image.platforms.map(platform => ({ image, platform, goDir: o.goDirOf(image) }))
  )
  const slot = slots(availableParallelism())
  // One go build per group of a platform's binaries (goBuildGroups); a platform's groups one after
  // another: the first compiles what they share, the others then only link (two builds of one
  // platform at once would both compile it).
  const builds = new Map<BinaryJob, Promise<BuiltBinary>>()
  for (const platform of new Set(jobs.map(j => j.platform))) {
    let before: Promise<unknown> =
      platform === o.runnerPlatform
        ? o.nativeAfter.catch((e: unknown) => {
            throw new Stopped(`no ${platform} binary built: ${(e as Error).message}`)
          })
        : Promise.resolve()
    for (const group of goBuildGroups(jobs.filter(x => x.platform === platform))) {
      const build = before.then(() => slot(() => buildBinaries(group, o)))
      for (const [i, j] of group.entries()) {
        const one = build.then(bins => bins[i])
        builds.set(j, one)
        o.built?.(
          j.image,
          j.platform,
          one.then(() => undefined)
        )
      }
      before = build
    }
  }
  // Each image is finished (checked, staged, copied) once its binaries are built, one image after
  // another in the plan's order; `ready` hears of each as soon as it is.
  const binaries: BuiltBinary[] = []
  const written: string[] = []
  let previous: Promise<unknown> = Promise.resolve()
  const finished = built.map(image => {
    const mine = jobs.filter(j => j.image === image).map(j => builds.get(j) as Promise<BuiltBinary>)
    const done = previous
      .then(() => Promise.all(mine))
      .then(async bins => {
        await finishImage(image, bins, o, written)
        binaries.push(...bins)
      })
    // never an unhandled rejection: every image's outcome is collected below
    done.catch(() => undefined)
    previous = done.catch(() => undefined)
    o.ready?.(image, done)
    return done
  })
  const settled = await Promise.allSettled(jobs.map(j => builds.get(j) as Promise<BuiltBinary>))
  const finishes = await Promise.allSettled(finished)
  // every build has ended: now the first failure, in the plan's order (a build's before a check's)
  const failed = [...settled, ...finishes].find(s => s.status === 'rejected')
  if (failed) {
    // what images copied into a context goes: nothing is built from it now
    await removeWritten(written)
    o.copied([])
    throw failed.reason
  }
  return { binaries, written }
}

/**
 * One `go build` of a group of binaries of one platform (goBuildGroups), each stamped with
 * binaryTime: straight to its path when alone, else into a directory beside the images' own and
 * then moved to each binary's path. One log line for the group.
 */
async function buildBinaries(group: BinaryJob[], o: RunnerBuildOptions): Promise<BuiltBinary[]> {
  const { platform, goDir } = group[0]
  const rbs = group.map(j => j.image.runnerBuild as NonNullable<PlannedImage['runnerBuild']>)
  const outs = rbs.map(rb => join(rb.outDir, platform, rb.binary))
  for (const out of outs) await mkdir(dirname(out), { recursive: true })
  // beside the images' own directories (the action's, on one file system: a rename moves them)
  const together =
    group.length > 1 ? await mkdtemp(join(dirname(rbs[0].outDir), '.go-build-')) : undefined
  const mains = rbs.map(rb => rb.main)
  const started = Date.now()
  let compiled: string[]
  try {
    const res = await run(
      'go',
      [
        'build',
        '-v',
        '-trimpath',
        `-ldflags=${rbs[0].ldflags}`,
        '-o',
        together ? `${together}/` : outs[0],
        ...mains
      ],
      { cwd: goDir, env: goEnvFor(platform), silent: true }
    )
    compiled = compiledPackages(res.stderr)
    if (together)
      for (const [i, rb] of rbs.entries())
        await rename(join(together, goOutputName(rb.main) as string), outs[i])
  } catch (e) {
    throw new Error(
      `go build of ${mains.join(', ')} for ${platform} (${group.map(j => j.image.name).join(', ')}) failed: ${(e as Error).message}`
    )
  } finally {
    if (together) await rm(together, { recursive: true, force: true })
  }
  const ms = Date.now() - started
  for (const out of outs) {
    // Same commit, same bytes, same timestamp: the layer is reproducible.
    const stamp = binaryTime(o.sourceDateEpoch, await readFile(out))
    await utimes(out, stamp, stamp)
  }
  const n = compiled.length
  o.log(
    `${platform}: ${mains.map((m, i) => `${m} -> ${outs[i]}`).join(', ')} (${(ms / 1000).toFixed(1)} s, ${n} package${n === 1 ? '' : 's'} compiled)`
  )
  return outs.map(path => ({ platform, path, ms, compiled }))
}

/**
 * Each Go binary's build information as `go version -m` prints it under the file (none for a file
 * that is not one), read from the files themselves (readGoBuildInfo); one `go version -m`, in
 * `cwd`, for those of before Go 1.18.
 */
export async function goBuildSections(files: string[], cwd: string): Promise<Map<string, string>> {
  const sections = new Map<string, string>()
  const old: string[] = []
  for (const file of files) {
    const info = readGoBuildInfo(await readFile(file))
    if (info === 'old') old.push(file)
    else if (info) sections.set(file, info.section)
  }
  if (old.length > 0) {
    const res = await run('go', ['version', '-m', ...old], { cwd, silent: true })
    for (const [file, section] of splitGoVersionM(res.stdout, old)) sections.set(file, section)
  }
  return sections
}

/**
 * One image's binaries once built: their platforms checked, its files staged, its generated
 * Dockerfile written, and the binaries copied into a context the user named (appended to
 * `written`; on a clash what this image copied is removed again and the error names the image).
 */
async function finishImage(
  image: PlannedImage,
  binaries: BuiltBinary[],
  o: RunnerBuildOptions,
  written: string[]
): Promise<void> {
  const rb = image.runnerBuild as NonNullable<PlannedImage['runnerBuild']>
  const goDir = o.goDirOf(image)
  const sections = await goBuildSections(
    binaries.map(b => b.path),
    goDir
  )
  for (const b of binaries) checkBinaryPlatform(sections.get(b.path) ?? '', b.platform, b.path)
  if (rb.filesDir)
    await stageFiles(rb.files, goDir, rb.filesDir, o.sourceDateEpoch, image.origin, o.log)
  if (rb.generatedDockerfile) {
    await writeFile(resolve(o.workspace, image.dockerfile), rb.generatedDockerfile)
  }
  if (rb.copyInto !== undefined) {
    const context = resolve(o.workspace, rb.copyInto)
    const mine: string[] = []
    try {
      for (const b of binaries)
        await copyIntoContext(b.path, context, join(b.platform, rb.binary), mine)
    } catch (e) {
      await removeWritten(mine)
      throw new Error(`runner build of ${image.name} (${image.origin}): ${(e as Error).message}`)
    }
    written.push(...mine)
    o.copied(written)
  }
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
  origin: string,
  log: (line: string) => void = core.info
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
  log(
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
