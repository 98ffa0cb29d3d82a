import * as core from '@actions/core'
import { parse as parseYaml } from 'yaml'
import { normalizePlatforms } from './plan/platforms.js'
import { parseImageName, type ImageName } from './plan/reference.js'
import { splitArgs, splitList } from './util/lists.js'
import {
  parseExpose,
  parseFiles,
  parseGoGate,
  parseSmokeHttp,
  parseSmokeTimeout,
  parseTagTemplates,
  parseUser,
  parseWorkspaceDir,
  type FileCopy,
  type GoGateStep,
  type SmokeHttp
} from './inputValues.js'

/** `auto`, `true` or `false`. */
export type Tristate = 'auto' | 'true' | 'false'

/** One `KEY=VALUE` build argument. */
export interface BuildArg {
  key: string
  value: string
}

/** One image as the user asked for it; unset fields fall back to the action-level inputs. */
export interface ImageInput {
  /** The validated, lowercased name and its registry (the first of `names`). */
  ref: ImageName
  /** Every name the image is pushed to (`names`, or just `name`). */
  refs: ImageName[]
  /** Where it was given, for errors: `image` or `images[N]`. */
  origin: string
  context?: string
  dockerfile?: string
  platforms?: string[]
  buildArgs: BuildArg[]
  target?: string
  smokeArgs?: string[]
  smokeExpect?: string
  /** Go package to cross-compile on the runner (`./cmd/app`): a runner build. */
  main?: string
  /** Name of the binary (default: the last element of `main`). */
  binary?: string
  /** `-ldflags` template with {{.Version}}, {{.Commit}}, {{.Date}}. */
  ldflags?: string
  /** Base of the generated Dockerfile. */
  baseImage?: string
  /** Tag templates of this image. */
  tags?: string[]
  smokeTimeout?: number
  /** The HTTP probe; false: none, even when the input sets one. */
  smokeHttp?: SmokeHttp | false
  /** The image's Go module directory, relative to the workspace. */
  goWorkingDirectory?: string
  /** Generated Dockerfile: EXPOSE ports, USER, CMD, and files copied from the module. */
  expose?: string[]
  user?: string
  cmd?: string[]
  files?: FileCopy[]
}

/** Every input of action.yml, read once and validated. */
export interface Inputs {
  images: ImageInput[]
  context: string
  dockerfile: string
  platforms: string[]
  buildArgs: BuildArg[]
  push: Tristate
  latest: Tristate
  version: string
  dryRun: boolean
  /** The steps of the Go gate ([] when off). */
  goGate: GoGateStep[]
  goTestArgs: string[]
  goWorkingDirectory: string
  cache: boolean
  smokeTest: boolean
  smokeArgs: string[]
  smokeExpect: string
  /** Tag templates; undefined: the default ({{version}}, plus sha-{{short_sha}} off releases). */
  tags?: string[]
  smokeTimeout: number
  smokeHttp?: SmokeHttp
  smokePlatforms: 'all' | 'native'
  qemu: Tristate
  registryUsername: string
  registryPassword: string
  githubToken: string
}

/** Build arguments the action sets itself; users may not redefine them. */
export const RESERVED_BUILD_ARGS = ['VERSION', 'COMMIT', 'DATE']

const IMAGE_KEYS = [
  'name',
  'context',
  'dockerfile',
  'platforms',
  'build-args',
  'target',
  'smoke-args',
  'smoke-expect',
  'main',
  'binary',
  'ldflags',
  'base-image',
  'names',
  'tags',
  'smoke-timeout',
  'smoke-http',
  'go-working-directory',
  'expose',
  'user',
  'cmd',
  'files'
]

/** Keys only a generated Dockerfile (a runner build without `dockerfile`) takes. */
const GENERATED_DOCKERFILE_KEYS = ['expose', 'user', 'cmd', 'files']

/**
 * Reads and validates every input. Errors name the input. Secrets are masked before anything
 * else is logged.
 */
export function getInputs(): Inputs {
  const registryPassword = core.getInput('registry-password')
  const githubToken = core.getInput('github-token')
  if (registryPassword) core.setSecret(registryPassword)
  if (githubToken) core.setSecret(githubToken)

  const image = core.getInput('image')
  const images = core.getInput('images')
  if (image && images) {
    throw new Error(
      "Both 'image' and 'images' are set: give one image with 'image' or a list with 'images', not both"
    )
  }

  return {
    images: image ? [parseSingleImage(image)] : images ? parseImagesYaml(images) : [],
    context: core.getInput('context') || '.',
    dockerfile: core.getInput('dockerfile') || 'Dockerfile',
    platforms: normalizePlatforms(splitList(core.getInput('platforms')), 'platforms'),
    buildArgs: parseBuildArgs(core.getInput('build-args'), 'build-args'),
    push: getTristate('push'),
    latest: getTristate('latest'),
    version: core.getInput('version'),
    dryRun: core.getBooleanInput('dry-run'),
    goGate: parseGoGate(core.getInput('go-gate'), 'go-gate'),
    goTestArgs: splitArgs(core.getInput('go-test-args'), 'go-test-args'),
    goWorkingDirectory: parseWorkspaceDir(
      core.getInput('go-working-directory'),
      'go-working-directory'
    ),
    cache: core.getBooleanInput('cache'),
    smokeTest: core.getBooleanInput('smoke-test'),
    smokeArgs: splitArgs(core.getInput('smoke-args'), 'smoke-args'),
    smokeExpect: core.getInput('smoke-expect'),
    tags: core.getInput('tags') ? parseTagTemplates(core.getInput('tags'), 'tags') : undefined,
    smokeTimeout: parseSmokeTimeout(core.getInput('smoke-timeout') || '60', 'smoke-timeout'),
    smokeHttp: parseSmokeHttp(core.getInput('smoke-http'), 'smoke-http'),
    smokePlatforms: getChoice('smoke-platforms', ['all', 'native'] as const),
    qemu: getTristate('qemu'),
    registryUsername: core.getInput('registry-username'),
    registryPassword,
    githubToken
  }
}

function getChoice<T extends string>(name: string, choices: readonly T[]): T {
  const value = core.getInput(name).toLowerCase()
  if ((choices as readonly string[]).includes(value)) return value as T
  throw new Error(`${name}: '${core.getInput(name)}' is not one of ${choices.join(', ')}`)
}

function getTristate(name: string): Tristate {
  return getChoice(name, ['auto', 'true', 'false'] as const)
}

/** Parses `KEY=VALUE` lines (newline separated: values may hold commas). */
export function parseBuildArgs(value: string | string[], inputName: string): BuildArg[] {
  const lines = Array.isArray(value) ? value : splitList(value, { commas: false })
  return lines.map(line => {
    const eq = line.indexOf('=')
    const key = eq < 0 ? line : line.slice(0, eq)
    if (eq < 0 || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      throw new Error(`${inputName}: '${line}' is not a KEY=VALUE line`)
    }
    if (RESERVED_BUILD_ARGS.includes(key)) {
      throw new Error(
        `${inputName}: ${key} is set by the action from the release metadata; use the 'version' input to change the version`
      )
    }
    return { key, value: line.slice(eq + 1) }
  })
}

function parseSingleImage(value: string): ImageInput {
  const ref = parseImageName(value, 'image')
  return { ref, refs: [ref], origin: 'image', buildArgs: [] }
}

/**
 * Parses the `images` YAML: a list whose items are a name or a mapping with `name` and the
 * per-image settings.
 */
export function parseImagesYaml(text: string): ImageInput[] {
  let doc: unknown
  try {
    doc = parseYaml(text)
  } catch (e) {
    throw new Error(`images: not valid YAML: ${(e as Error).message.split('\n')[0]}`)
  }
  if (!Array.isArray(doc) || doc.length === 0) {
    throw new Error('images: expected a non-empty YAML list of images')
  }
  const seen = new Set<string>()
  return doc.map((item: unknown, i: number) => {
    const origin = `images[${i}]`
    const entry: Record<string, unknown> =
      typeof item === 'string' ? { name: item } : isRecord(item) ? item : {}
    if (typeof item !== 'string' && !isRecord(item)) {
      throw new Error(`${origin}: expected a name or a mapping with 'name'`)
    }
    for (const key of Object.keys(entry)) {
      if (!IMAGE_KEYS.includes(key)) {
        throw new Error(`${origin}: unknown key '${key}'; expected ${IMAGE_KEYS.join(', ')}`)
      }
    }
    const refs = imageNames(origin, entry['name'], entry['names'])
    for (const [j, r] of refs.entries()) {
      const key = entry['names'] === undefined ? `${origin}.name` : `${origin}.names[${j}]`
      if (seen.has(r.name)) throw new Error(`${key}: '${r.name}' is listed twice in images`)
      seen.add(r.name)
    }
    const ref = refs[0]
    const str = (key: string): string | undefined => {
      const v = entry[key]
      if (v === undefined || v === null) return undefined
      if (typeof v !== 'string' && typeof v !== 'number') {
        throw new Error(`${origin}.${key}: expected a string`)
      }
      return String(v)
    }
    const list = (key: string): string[] | undefined => {
      const v = entry[key]
      if (v === undefined || v === null) return undefined
      if (Array.isArray(v)) return v.map(x => String(x))
      return [String(v)]
    }
    const platforms = list('platforms')
    const smokeArgs = entry['smoke-args']
    const cmd = entry['cmd']
    const smokeHttp = entry['smoke-http'] === false ? 'false' : str('smoke-http')
    const main = str('main')
    if (main === undefined || entry['dockerfile'] !== undefined) {
      const extra = GENERATED_DOCKERFILE_KEYS.find(k => entry[k] !== undefined)
      if (extra)
        throw new Error(
          `${origin}.${extra}: only for a runner build without a Dockerfile (set ${origin}.main, not ${origin}.dockerfile)`
        )
    }
    return {
      ref,
      refs,
      origin,
      context: str('context'),
      dockerfile: str('dockerfile'),
      platforms: platforms
        ? normalizePlatforms(
            platforms.flatMap(p => splitList(p)),
            `${origin}.platforms`
          )
        : undefined,
      buildArgs: parseBuildArgs(
        Array.isArray(entry['build-args'])
          ? (entry['build-args'] as unknown[]).map(String)
          : (str('build-args') ?? ''),
        `${origin}.build-args`
      ),
      target: str('target'),
      smokeArgs: Array.isArray(smokeArgs)
        ? smokeArgs.map(String)
        : smokeArgs === undefined || smokeArgs === null
          ? undefined
          : splitArgs(String(smokeArgs), `${origin}.smoke-args`),
      smokeExpect: str('smoke-expect'),
      tags: list('tags') && parseTagTemplates(list('tags') as string[], `${origin}.tags`),
      smokeTimeout: str('smoke-timeout')
        ? parseSmokeTimeout(str('smoke-timeout') as string, `${origin}.smoke-timeout`)
        : undefined,
      smokeHttp:
        smokeHttp === undefined
          ? undefined
          : /^(|false|off)$/i.test(smokeHttp.trim())
            ? false
            : parseSmokeHttp(smokeHttp, `${origin}.smoke-http`),
      goWorkingDirectory:
        str('go-working-directory') === undefined
          ? undefined
          : parseWorkspaceDir(
              str('go-working-directory') as string,
              `${origin}.go-working-directory`
            ),
      expose: list('expose') && parseExpose(list('expose') as string[], `${origin}.expose`),
      user: str('user') && parseUser(str('user') as string, `${origin}.user`),
      cmd: Array.isArray(cmd)
        ? cmd.map(String)
        : cmd === undefined || cmd === null
          ? undefined
          : splitArgs(String(cmd), `${origin}.cmd`),
      files: list('files') && parseFiles(list('files') as string[], `${origin}.files`),
      ...runnerBuildKeys(origin, main, str('binary'), str('ldflags'), str('base-image'))
    }
  })
}

/** Validates the runner-build keys of an image: nothing here may be read as a flag. */
function runnerBuildKeys(
  origin: string,
  main?: string,
  binary?: string,
  ldflags?: string,
  baseImage?: string
): Pick<ImageInput, 'main' | 'binary' | 'ldflags' | 'baseImage'> {
  if (main === undefined) {
    for (const [key, v] of [
      ['binary', binary],
      ['ldflags', ldflags],
      ['base-image', baseImage]
    ]) {
      if (v !== undefined)
        throw new Error(`${origin}.${key}: only for runner builds; set ${origin}.main too`)
    }
    return {}
  }
  if (!/^[A-Za-z0-9_./@~+-]+$/.test(main) || main.startsWith('-')) {
    throw new Error(`${origin}.main: '${main}' is not a Go package path such as ./cmd/app`)
  }
  const name = binary ?? main.replace(/\/+$/, '').split('/').pop()
  if (!name || name === '.' || !/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(name)) {
    throw new Error(
      `${origin}.binary: '${binary ?? main}' does not give a binary name; set ${origin}.binary`
    )
  }
  if (baseImage !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._:/@-]*$/.test(baseImage)) {
    throw new Error(`${origin}.base-image: '${baseImage}' is not an image reference`)
  }
  return { main, binary: name, ldflags, baseImage }
}

/** `name` (one) or `names` (a non-empty list), validated. */
function imageNames(origin: string, name: unknown, names: unknown): ImageName[] {
  if (name !== undefined && names !== undefined)
    throw new Error(`${origin}: give 'name' or 'names', not both`)
  if (names !== undefined) {
    if (!Array.isArray(names) || names.length === 0 || names.some(n => typeof n !== 'string'))
      throw new Error(`${origin}.names: expected a non-empty list of image names`)
    return names.map((n: string, j) => parseImageName(n, `${origin}.names[${j}]`))
  }
  if (typeof name !== 'string' || name.trim() === '') {
    throw new Error(`${origin}.name: required, the image name (or 'names', a list)`)
  }
  return [parseImageName(name, `${origin}.name`)]
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}
