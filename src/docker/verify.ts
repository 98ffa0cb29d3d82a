/**
 * Verifies, before anything is pushed, that each platform of a built image runs an executable of
 * that platform: the file its ENTRYPOINT/CMD executes (PATH and symlinks resolved in the image's
 * own filesystem, read from the layers `docker save` wrote), its ELF header and, for a Go binary,
 * the GOOS/GOARCH/GOARM that `go version -m` reads from it.
 */
import { readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { run } from '../exec.js'
import { goPlatformProblems, goTarget, splitGoVersionM } from '../go/build.js'
import { readGoBuildInfo } from '../go/buildInfo.js'
import type { ArchitectureResult } from '../results.js'
import { tempDir } from '../tempDir.js'
import { describeElf, describeExpected, elfProblems, parseElfHeader } from './elf.js'
import { blobPath } from './image.js'
import { DEFAULT_PATH, ImageFs } from './imageFs.js'

/** The part of an image config the check reads. */
interface ContainerConfig {
  Entrypoint?: string[] | null
  Cmd?: string[] | null
  Env?: string[] | null
  WorkingDir?: string
}

/** An ELF executable found for one platform, before its Go build information is read. */
interface Found {
  result: ArchitectureResult
  bytes?: Buffer
}

/**
 * Finds and reads the executable one platform's manifest runs. A script (`#!`) is checked by its
 * interpreter when the image holds it; no ELF executable at all is `not-checked`, with the reason.
 */
export async function findEntrypoint(
  layout: string,
  manifestDigest: string,
  platform: string
): Promise<Found> {
  const expected = describeExpected(platform)
  const manifest = JSON.parse(await readFile(blobPath(layout, manifestDigest), 'utf8')) as {
    config: { digest: string }
    layers: { digest: string }[]
  }
  const config = (
    JSON.parse(await readFile(blobPath(layout, manifest.config.digest), 'utf8')) as {
      config?: ContainerConfig
    }
  ).config
  const argv = [...(config?.Entrypoint ?? []), ...(config?.Cmd ?? [])]
  const notChecked = (note: string, more: Partial<ArchitectureResult> = {}): Found => ({
    result: { status: 'not-checked', expected, note, ...more }
  })
  if (argv.length === 0) return notChecked('the image has no ENTRYPOINT or CMD')
  const fs = await ImageFs.read(manifest.layers.map(l => blobPath(layout, l.digest)))
  const pathVar =
    (config?.Env ?? []).find(e => e.startsWith('PATH='))?.slice('PATH='.length) ?? DEFAULT_PATH
  let file = fs.findExecutable(argv[0], pathVar, config?.WorkingDir || '/')
  if (!file) return notChecked(`${argv[0]}: no such file in the image`)
  let bytes = await fs.readFile(file.slice(1))
  let script: string | undefined
  if (!parseElfHeader(bytes) && bytes.subarray(0, 2).toString() === '#!') {
    const line = bytes.subarray(2, bytes.indexOf(10) < 0 ? 256 : bytes.indexOf(10)).toString()
    const interpreter = line.trim().split(/\s+/)[0] ?? ''
    script = file
    file = interpreter.startsWith('/') ? fs.findExecutable(interpreter, pathVar) : undefined
    if (!file)
      return notChecked(
        `${script} is a script (#!${interpreter}) and its interpreter is not in the image: not an ELF executable`,
        { file: script }
      )
    bytes = await fs.readFile(file.slice(1))
  }
  const header = parseElfHeader(bytes)
  if (!header) return notChecked(`${file} is not an ELF executable`, { file, script })
  const problems = elfProblems(header, platform)
  return {
    result: {
      status: problems.length > 0 ? 'mismatch' : 'verified',
      file,
      script,
      found: describeElf(header),
      expected,
      problems
    },
    bytes
  }
}

/**
 * Checks every platform of one saved image (`layout`: the extracted `docker save`), each
 * platform's executable against its platform, Go binaries with one `go version -m`.
 */
export async function verifyArchitecture(
  layout: string,
  manifests: { platform: string; digest: string }[]
): Promise<Map<string, ArchitectureResult>> {
  const found: Found[] = []
  for (const m of manifests) {
    try {
      found.push(await findEntrypoint(layout, m.digest, m.platform))
    } catch (e) {
      throw new Error(`architecture check of ${m.platform}: ${(e as Error).message}`)
    }
  }
  const results = new Map(manifests.map((m, i) => [m.platform, found[i].result]))
  const elves = manifests
    .map((m, i) => ({ platform: m.platform, found: found[i] }))
    .filter(e => e.found.bytes !== undefined)
  if (elves.length === 0) return results
  // read from the bytes; a binary of before Go 1.18 through `go version -m`, outside any module
  // (a go.mod's toolchain line must not make go fetch a toolchain)
  const infos = elves.map(e => readGoBuildInfo(e.found.bytes as Buffer))
  const sections = new Map<number, string>()
  for (const [i, info] of infos.entries())
    if (typeof info === 'object') sections.set(i, info.section)
  const old = elves.map((_, i) => i).filter(i => infos[i] === 'old')
  if (old.length > 0) {
    const dir = await tempDir('verify-')
    try {
      const files = old.map(i => join(dir, `exe-${i}`))
      for (const [k, i] of old.entries()) await writeFile(files[k], elves[i].found.bytes as Buffer)
      const res = await run('go', ['version', '-m', ...files], {
        cwd: dir,
        silent: true,
        allowFailure: true
      })
      const read = splitGoVersionM(res.stdout, files)
      for (const [k, i] of old.entries()) {
        const section = read.get(files[k])
        if (section !== undefined) sections.set(i, section)
      }
    } catch (e) {
      // no Go on the runner: the ELF check stands alone
      for (const i of old)
        elves[i].found.result.note =
          `Go build information not read (${(e as Error).message.split('\n')[0]})`
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }
  for (const [i, { platform, found: f }] of elves.entries()) {
    const section = sections.get(i)
    if (section === undefined) continue
    const problems = goPlatformProblems(section, platform)
    f.result.found = `${f.result.found}; Go binary for ${goTarget(section)}`
    if (problems.length > 0) {
      f.result.status = 'mismatch'
      f.result.problems = [...(f.result.problems ?? []), ...problems.map(p => `Go ${p}`)]
    }
  }
  return results
}

/** One line saying what a platform's check found, for the log and the error. */
export function describeArchitecture(
  image: string,
  platform: string,
  r: ArchitectureResult
): string {
  const what = r.script ? `${r.file} (interpreter of ${r.script})` : r.file
  switch (r.status) {
    case 'verified':
      return `${image} ${platform}: ${what} is ${r.found}`
    case 'mismatch':
      return `${image} ${platform}: ${what} is ${r.found}, not a ${platform} executable (${(r.problems ?? []).join(', ')}; ${platform} needs ${r.expected})`
    default:
      return `${image} ${platform}: not checked, ${r.note}`
  }
}
