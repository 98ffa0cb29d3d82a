/**
 * The one schema of the action's inputs and of an item of the `images` YAML list (zod).
 *
 * Structure, for adding a key:
 * - INPUT_SHAPE lists every input of action.yml by its name there (`go-test-args`). Each field
 *   takes the string the runner hands over (`core.getInput`, trimmed) and checks and transforms
 *   it with one of the field builders below (`text`, `choice`, `bool`, `list`, `args`, ...).
 *   The typed `Inputs` is inferred from it, with keys camel-cased (`goTestArgs`): add the input to
 *   action.yml and a field here, and it is read, validated and typed.
 * - imageItemShape(origin) lists every key of an `images` item by its YAML name (`smoke-args`).
 *   Item values are YAML values (string, number, list, mapping, null), checked with the `item*`
 *   builders; `ImageInput` is inferred the same way. Unknown keys are refused.
 * - Cross-field rules (image vs images, credentials given together, runner-build keys) are in
 *   the `superRefine`/`transform` steps below the shapes.
 * Errors name the input and, inside images, the item and key: `images[1].smoke-args: expected a
 * string or a list of strings, got a mapping`. Values that end up in argv, the log or a label are
 * single-line and free of control characters; a value that would be read as a flag is refused.
 */
import { parse as parseYaml } from 'yaml'
import { z } from 'zod'
import { normalizePlatforms } from './plan/platforms.js'
import { parseImageName, type ImageName } from './plan/reference.js'
import {
  parseExpose,
  parseFiles,
  parseGoGate,
  parseSmokeHttp,
  parseSmokeTimeout,
  parseTagTemplates,
  parseUser,
  parseWorkspaceDir
} from './inputValues.js'
import { DEFAULT_BUILD_TIMEOUT_S } from './docker/timeouts.js'
import { DEFAULT_REGISTRY_TIMEOUT_S } from './registry/client.js'
import { splitArgs, splitList } from './util/lists.js'

/** `auto`, `true` or `false`. */
export type Tristate = 'auto' | 'true' | 'false'

/** One `KEY=VALUE` build argument. */
export interface BuildArg {
  key: string
  value: string
}

/** What the action does in this job: one job (`all`) or a part of the distributed flow. */
export const MODES = ['all', 'plan', 'platform', 'merge'] as const
export type Mode = (typeof MODES)[number]

/** One `runners` line: a platform (or a prefix ending in `*`) and the runner label for it. */
export interface RunnerRule {
  platform: string
  runner: string
}

/** Parses the `runners` input: `PLATFORM=RUNNER-LABEL` lines (commas too). */
export function parseRunners(value: string): RunnerRule[] {
  return splitList(value).map(line => {
    const eq = line.indexOf('=')
    const platform = line.slice(0, Math.max(eq, 0)).trim().toLowerCase()
    const runner = line.slice(eq + 1).trim()
    if (eq < 0 || !/^[a-z0-9_./-]+\*?$|^\*$/.test(platform) || runner === '') {
      throw new Error(
        `runners: '${line}' is not a PLATFORM=RUNNER-LABEL line (e.g. linux/arm64=ubuntu-24.04-arm)`
      )
    }
    if (!/^[A-Za-z0-9_.-]+$/.test(runner))
      throw new Error(`runners: '${runner}' is not a runner label`)
    return { platform, runner }
  })
}

/** Build arguments the action sets itself; users may not redefine them. */
export const RESERVED_BUILD_ARGS = ['VERSION', 'COMMIT', 'DATE']

/** A control character other than tab: never part of a single-line value. */
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029]/

/** Why a value is refused, or undefined: control characters (any `name` says where). */
export function controlCharProblem(value: string): string | undefined {
  const m = CONTROL.exec(value)
  if (!m) return undefined
  const code = m[0].codePointAt(0) as number
  return `contains the control character U+${code.toString(16).toUpperCase().padStart(4, '0')} (a value here must be one line of text)`
}

/** The kind of a YAML value, for errors. */
export function kindOf(v: unknown): string {
  if (v === null || v === undefined) return 'nothing'
  if (Array.isArray(v)) return 'a list'
  if (typeof v === 'object') return 'a mapping'
  if (typeof v === 'boolean') return `the boolean ${v}`
  if (typeof v === 'number') return `the number ${v}`
  return `a ${typeof v}`
}

/**
 * A transform that runs a checker throwing an Error already naming the input (the plan's
 * parsers: image names, platforms, build args) and turns the throw into an issue.
 */
function via<I, O>(fn: (value: I) => O): (value: I, ctx: z.RefinementCtx) => O {
  return (value, ctx) => {
    try {
      return fn(value)
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message, params: { named: true } })
      return z.NEVER
    }
  }
}

/** An issue whose message already names the input. */
function named(ctx: z.RefinementCtx, message: string): typeof z.NEVER {
  ctx.addIssue({ code: 'custom', message, params: { named: true } })
  return z.NEVER
}

// ---- field builders for action inputs (strings) ----

interface TextOptions {
  /** Refused when it starts with `-` (it lands in argv where it could be read as a flag). */
  notFlag?: boolean
  /** The value used when the input is empty. */
  fallback?: string
  /** A secret: errors never repeat it. */
  secret?: boolean
}

/** One line of text. */
function text(name: string, opts: TextOptions = {}): z.ZodType<string, string> {
  return z.string().transform((raw, ctx) => {
    const value = raw === '' && opts.fallback !== undefined ? opts.fallback : raw
    const problem = controlCharProblem(value)
    if (problem)
      return named(ctx, `${name}: ${opts.secret ? 'the value' : JSON.stringify(value)} ${problem}`)
    if (opts.notFlag && value.startsWith('-'))
      return named(ctx, `${name}: '${value}' starts with '-' and would be read as an option`)
    return value
  })
}

/** One of a fixed set of words (case-insensitive). */
function choice<T extends string>(name: string, choices: readonly T[]): z.ZodType<T, string> {
  return z.string().transform((raw, ctx) => {
    const value = raw.toLowerCase()
    if ((choices as readonly string[]).includes(value)) return value as T
    return named(ctx, `${name}: '${raw}' is not one of ${choices.join(', ')}`)
  })
}

/** `auto`, `true` or `false`. */
function tristate(name: string): z.ZodType<Tristate, string> {
  return choice(name, ['auto', 'true', 'false'] as const)
}

/** A boolean, in the YAML 1.2 core schema spellings `core.getBooleanInput` accepts. */
function bool(name: string): z.ZodType<boolean, string> {
  return z.string().transform((raw, ctx) => {
    if (['true', 'True', 'TRUE'].includes(raw)) return true
    if (['false', 'False', 'FALSE'].includes(raw)) return false
    return named(ctx, `${name}: '${raw}' is not a boolean (true or false)`)
  })
}

/** A whole number of seconds in [min, max]; `fallback` when the input is empty. */
function seconds(
  name: string,
  min: number,
  max: number,
  fallback: number
): z.ZodType<number, string> {
  return z.string().transform((raw, ctx) => {
    if (raw === '') return fallback
    const n = Number(raw)
    if (/^\d+$/.test(raw) && n >= min && n <= max) return n
    return named(ctx, `${name}: '${raw}' is not a whole number of seconds from ${min} to ${max}`)
  })
}

/** An image reference (`moby/buildkit:v0.34.2`): never empty, never read as a flag or options. */
function imageRef(name: string): z.ZodType<string, string> {
  return z.string().transform((raw, ctx) => {
    if (/^[A-Za-z0-9][A-Za-z0-9._:/@-]*$/.test(raw)) return raw
    return named(ctx, `${name}: '${raw}' is not an image reference`)
  })
}

/** Items of a list input (newlines and commas), each one line of text. */
function checkedItems(name: string, items: string[]): string[] {
  items.forEach((item, i) => {
    const problem = controlCharProblem(item)
    if (problem) throw new Error(`${name}: item ${i + 1} ${JSON.stringify(item)} ${problem}`)
  })
  return items
}

/** Platforms, canonicalised. */
function platformList(name: string): z.ZodType<string[], string> {
  return z
    .string()
    .transform(via(raw => normalizePlatforms(checkedItems(name, splitList(raw)), name)))
}

/** `KEY=VALUE` lines. */
function buildArgList(name: string): z.ZodType<BuildArg[], string> {
  return z.string().transform(via(raw => parseBuildArgs(raw, name)))
}

/** Command-line words with shell quoting, never run by a shell. */
function args(name: string): z.ZodType<string[], string> {
  return z.string().transform(via(raw => checkedItems(name, splitArgs(raw, name))))
}

/**
 * Every input of action.yml, by its name there. Secrets (`registry-password`, `github-token`)
 * are masked by getInputs() before this runs.
 */
export const INPUT_SHAPE = {
  /** One image name (shorthand for a one-item `images`). */
  image: z.string().transform(via(raw => (raw === '' ? undefined : imageFromName(raw)))),
  /** The YAML list of images. */
  images: z.string().transform(via(raw => (raw === '' ? undefined : parseImagesYaml(raw)))),
  context: text('context', { notFlag: true, fallback: '.' }),
  dockerfile: text('dockerfile', { notFlag: true, fallback: 'Dockerfile' }),
  platforms: platformList('platforms'),
  'build-args': buildArgList('build-args'),
  push: tristate('push'),
  latest: tristate('latest'),
  /** Checked as a Docker tag by the plan's metadata (a leading `v` of semver is dropped). */
  version: text('version'),
  'dry-run': bool('dry-run'),
  /** `true`, `false` or a list of the steps: fmt, vet, test. */
  'go-gate': z.string().transform(via(raw => parseGoGate(raw, 'go-gate'))),
  'go-test-args': args('go-test-args'),
  /** Must exist in the workspace when Go runs: checked by the plan (buildPlan). */
  'go-working-directory': text('go-working-directory', { fallback: '.' }).transform(
    via(raw => parseWorkspaceDir(raw, 'go-working-directory'))
  ),
  cache: bool('cache'),
  'smoke-test': bool('smoke-test'),
  'smoke-args': args('smoke-args'),
  'smoke-expect': text('smoke-expect'),
  'smoke-timeout': z
    .string()
    .transform(via(raw => parseSmokeTimeout(raw || '60', 'smoke-timeout'))),
  'smoke-http': z.string().transform(via(raw => parseSmokeHttp(raw, 'smoke-http'))),
  /** Tag templates; undefined: the default. */
  tags: z
    .string()
    .transform(
      via(raw =>
        raw.trim() === ''
          ? undefined
          : parseTagTemplates(checkedItems('tags', splitList(raw)), 'tags')
      )
    ),
  'smoke-platforms': choice('smoke-platforms', ['all', 'native'] as const),
  qemu: tristate('qemu'),
  /** Seconds a registry request of the push may go without progress (then retried). */
  'registry-timeout': seconds('registry-timeout', 1, 3600, DEFAULT_REGISTRY_TIMEOUT_S),
  /** Seconds one `docker buildx build` may take before it is stopped (up to a job's 6 hours). */
  'build-timeout': seconds('build-timeout', 1, 21600, DEFAULT_BUILD_TIMEOUT_S),
  'registry-username': text('registry-username'),
  'registry-password': text('registry-password', { secret: true }),
  'github-token': text('github-token', { secret: true }),
  /** The BuildKit image of a docker-container builder the action creates. */
  'buildkit-image': imageRef('buildkit-image'),
  /** Provenance attestation: `auto` (min for a public repository, false otherwise) or a mode. */
  provenance: choice('provenance', ['auto', 'false', 'min', 'max'] as const),
  /** An SBOM attestation (needs the scanner image, which the builder pulls). */
  sbom: bool('sbom'),
  'sbom-scanner': imageRef('sbom-scanner'),
  mode: choice('mode', MODES),
  /** Mode `platform`: the job's one platform, canonical; undefined when empty. */
  platform: z
    .string()
    .transform(via(raw => (raw === '' ? undefined : normalizePlatforms([raw], 'platform')[0]))),
  runners: z.string().transform(via(parseRunners))
}

/** The names of every input, as action.yml spells them. */
export const INPUT_NAMES = Object.keys(INPUT_SHAPE) as (keyof typeof INPUT_SHAPE)[]

// ---- camel-casing of keys (the schema speaks action.yml's names, the code camelCase) ----

type Camel<S extends string> = S extends `${infer H}-${infer T}` ? `${H}${Capitalize<Camel<T>>}` : S
type CamelKeys<T> = { [K in keyof T as K extends string ? Camel<K> : K]: T[K] }

function camel(key: string): string {
  return key.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())
}

function camelKeys<T extends object>(o: T): CamelKeys<T> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [camel(k), v])) as CamelKeys<T>
}

// ---- image items (YAML values) ----

/** A scalar YAML value as text (a string, or a number or boolean as YAML wrote it). */
function itemScalar(name: string): z.ZodType<string | undefined, unknown> {
  return z
    .unknown()
    .optional()
    .transform((v, ctx) =>
      v === undefined || v === null
        ? undefined
        : typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'
          ? checkedScalar(name, String(v), ctx)
          : named(ctx, `${name}: expected a string, got ${kindOf(v)}`)
    )
}

function checkedScalar(name: string, value: string, ctx: z.RefinementCtx): string {
  const problem = controlCharProblem(value)
  return problem ? named(ctx, `${name}: ${JSON.stringify(value)} ${problem}`) : value
}

/** A string or a list of scalars, as a list of strings (the strings not split further). */
function itemList(name: string): z.ZodType<string | string[] | undefined, unknown> {
  return z
    .unknown()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === null) return undefined
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return String(v)
      if (!Array.isArray(v))
        return named(ctx, `${name}: expected a string or a list of strings, got ${kindOf(v)}`)
      return v.map((x: unknown, i) =>
        typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean'
          ? checkedScalar(`${name}[${i}]`, String(x), ctx)
          : named(ctx, `${name}[${i}]: expected a string, got ${kindOf(x)}`)
      )
    })
}

function notFlag(name: string, value: string | undefined, ctx: z.RefinementCtx): void {
  if (value?.startsWith('-'))
    named(ctx, `${name}: '${value}' starts with '-' and would be read as an option`)
}

/** Every key of an `images` item by its YAML name; `origin` is `images[N]`, for errors. */
export function imageItemShape(origin: string) {
  const k = (key: string): string => `${origin}.${key}`
  return {
    /** The image name; required unless `names` is given (checked in imageInput). */
    name: z.unknown().optional(),
    /** Several names: built once, pushed to each. */
    names: z.unknown().optional(),
    context: itemScalar(k('context')),
    dockerfile: itemScalar(k('dockerfile')),
    platforms: itemList(k('platforms')).transform(
      via(v =>
        v === undefined
          ? undefined
          : normalizePlatforms(
              (Array.isArray(v) ? v : [v]).flatMap(p => splitList(p)),
              k('platforms')
            )
      )
    ),
    'build-args': itemList(k('build-args')).transform(
      via(v => parseBuildArgs(v ?? '', k('build-args')))
    ),
    target: itemScalar(k('target')),
    'smoke-args': itemList(k('smoke-args')).transform(
      via(v =>
        typeof v === 'string' ? checkedItems(k('smoke-args'), splitArgs(v, k('smoke-args'))) : v
      )
    ),
    'smoke-expect': itemScalar(k('smoke-expect')),
    /** Go package to cross-compile on the runner (`./cmd/app`): a runner build. */
    main: itemScalar(k('main')),
    /** Name of the binary (default: the last element of `main`). */
    binary: itemScalar(k('binary')),
    /** `-ldflags` template with {{.Version}}, {{.Commit}}, {{.Date}}. */
    ldflags: itemScalar(k('ldflags')),
    /** Base of the generated Dockerfile. */
    'base-image': itemScalar(k('base-image')),
    /** Tag templates of this image. */
    tags: itemList(k('tags')).transform(
      via(v => (v === undefined ? undefined : parseTagTemplates(v, k('tags'))))
    ),
    'smoke-timeout': itemScalar(k('smoke-timeout')).transform(
      via(v => (v === undefined ? undefined : parseSmokeTimeout(v, k('smoke-timeout'))))
    ),
    /** The HTTP probe; false (`false`, `off`, '') turns the input's off for this image. */
    'smoke-http': itemScalar(k('smoke-http')).transform(
      via(v =>
        v === undefined
          ? undefined
          : /^(|false|off)$/i.test(v.trim())
            ? (false as const)
            : parseSmokeHttp(v, k('smoke-http'))
      )
    ),
    /** The image's Go module directory, relative to the workspace. */
    'go-working-directory': itemScalar(k('go-working-directory')).transform(
      via(v => (v === undefined ? undefined : parseWorkspaceDir(v, k('go-working-directory'))))
    ),
    /** Generated Dockerfile: EXPOSE. */
    expose: itemList(k('expose')).transform(
      via(v => (v === undefined ? undefined : parseExpose(v, k('expose'))))
    ),
    /** Generated Dockerfile: USER. */
    user: itemScalar(k('user')).transform(
      via(v => (v === undefined ? undefined : parseUser(v, k('user'))))
    ),
    /** Generated Dockerfile: CMD (default arguments), split like smoke-args. */
    cmd: itemList(k('cmd')).transform(
      via(v => (typeof v === 'string' ? checkedItems(k('cmd'), splitArgs(v, k('cmd'))) : v))
    ),
    /** Generated Dockerfile: `src:dest` copies from the module into the image. */
    files: itemList(k('files')).transform(
      via(v => (v === undefined ? undefined : parseFiles(v, k('files'))))
    )
  }
}

/** Keys only a generated Dockerfile (a runner build without `dockerfile`) takes. */
const GENERATED_DOCKERFILE_KEYS = ['expose', 'user', 'cmd', 'files'] as const

/** The keys an `images` item may have. */
export const IMAGE_KEYS = Object.keys(imageItemShape('images[0]'))

/** The schema of one `images` item (a name, or a mapping of IMAGE_KEYS). */
export function imageItemSchema(origin: string) {
  return z
    .unknown()
    .transform((item, ctx) => {
      if (typeof item === 'string') return { name: item }
      if (typeof item !== 'object' || item === null || Array.isArray(item))
        return named(
          ctx,
          `${origin}: expected a name or a mapping with 'name', got ${kindOf(item)}`
        )
      for (const key of Object.keys(item)) {
        if (!IMAGE_KEYS.includes(key))
          return named(ctx, `${origin}: unknown key '${key}'; expected ${IMAGE_KEYS.join(', ')}`)
      }
      return item as Record<string, unknown>
    })
    .pipe(z.object(imageItemShape(origin)))
    .superRefine((item, ctx) => {
      notFlag(`${origin}.context`, item.context, ctx)
      notFlag(`${origin}.dockerfile`, item.dockerfile, ctx)
      notFlag(`${origin}.target`, item.target, ctx)
    })
    .transform(via(item => imageInput(origin, item)))
}

type ItemOutput = ReturnType<typeof imageInput>
/** One image as the user asked for it; unset fields fall back to the action-level inputs. */
export type ImageInput = Pick<ItemOutput, 'ref' | 'refs' | 'origin' | 'buildArgs'> &
  Partial<Omit<ItemOutput, 'ref' | 'refs' | 'origin' | 'buildArgs'>>

function imageInput(
  origin: string,
  item: z.output<z.ZodObject<ReturnType<typeof imageItemShape>>>
) {
  const { name, names, 'build-args': buildArgs, ...rest } = item
  const keys = camelKeys(rest)
  const refs = imageNames(origin, name, names)
  if (keys.main === undefined || keys.dockerfile !== undefined) {
    const extra = GENERATED_DOCKERFILE_KEYS.find(key => item[key] !== undefined)
    if (extra)
      throw new Error(
        `${origin}.${extra}: only for a runner build without a Dockerfile (set ${origin}.main, not ${origin}.dockerfile)`
      )
  }
  return {
    /** The validated, lowercased name and its registry (the first of `names`). */
    ref: refs[0],
    /** Every name the image is pushed to (`names`, or just `name`). */
    refs,
    /** Where it was given, for errors: `image` or `images[N]`. */
    origin,
    ...keys,
    buildArgs,
    smokeArgs: keys.smokeArgs as string[] | undefined,
    cmd: keys.cmd as string[] | undefined,
    ...runnerBuildKeys(origin, keys.main, keys.binary, keys.ldflags, keys.baseImage)
  }
}

/** `name` (one) or `names` (a non-empty list of distinct names), validated. */
function imageNames(origin: string, name: unknown, names: unknown): ImageName[] {
  if (name !== undefined && names !== undefined)
    throw new Error(`${origin}: give 'name' or 'names', not both`)
  if (names === undefined) {
    if (typeof name !== 'string' || name.trim() === '')
      throw new Error(
        name === undefined
          ? `${origin}.name: required, the image name (or 'names', a list of them)`
          : `${origin}.name: required, the image name (got ${kindOf(name)})`
      )
    return [checkedName(name, `${origin}.name`)]
  }
  if (!Array.isArray(names) || names.length === 0)
    throw new Error(
      `${origin}.names: expected a non-empty list of image names, got ${kindOf(names)}`
    )
  return names.map((n: unknown, j) => {
    if (typeof n !== 'string')
      throw new Error(`${origin}.names[${j}]: expected a string, got ${kindOf(n)}`)
    return checkedName(n, `${origin}.names[${j}]`)
  })
}

function checkedName(raw: string, name: string): ImageName {
  const problem = controlCharProblem(raw)
  if (problem) throw new Error(`${name}: ${JSON.stringify(raw)} ${problem}`)
  return parseImageName(raw, name)
}

function imageFromName(raw: string): ImageInput[] {
  const problem = controlCharProblem(raw)
  if (problem) throw new Error(`image: ${JSON.stringify(raw)} ${problem}`)
  const ref = parseImageName(raw, 'image')
  return [{ ref, refs: [ref], origin: 'image', buildArgs: [] }]
}

/**
 * Parses the `images` YAML: a non-empty list whose items are a name or a mapping with `name` and
 * the per-image settings; every item checked by imageItemSchema, names distinct.
 */
export function parseImagesYaml(text: string): ImageInput[] {
  let doc: unknown
  try {
    doc = parseYaml(text)
  } catch (e) {
    throw new Error(`images: not valid YAML: ${(e as Error).message.split('\n')[0]}`)
  }
  if (!Array.isArray(doc) || doc.length === 0) {
    throw new Error(`images: expected a non-empty YAML list of images, got ${kindOf(doc)}`)
  }
  const seen = new Set<string>()
  return doc.map((item: unknown, i: number) => {
    const origin = `images[${i}]`
    const image = parseOrThrow(imageItemSchema(origin), item, origin)
    for (const [j, ref] of image.refs.entries()) {
      const key = isNames(item) ? `${origin}.names[${j}]` : `${origin}.name`
      if (seen.has(ref.name)) throw new Error(`${key}: '${ref.name}' is listed twice in images`)
      seen.add(ref.name)
    }
    return image
  })
}

function isNames(item: unknown): boolean {
  return typeof item === 'object' && item !== null && 'names' in item
}

/** Parses `KEY=VALUE` lines (newline separated: values may hold commas). */
export function parseBuildArgs(value: string | string[], inputName: string): BuildArg[] {
  const lines = Array.isArray(value) ? value : splitList(value, { commas: false })
  return lines.map(line => {
    const problem = controlCharProblem(line)
    if (problem) throw new Error(`${inputName}: ${JSON.stringify(line)} ${problem}`)
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

/** Validates the runner-build keys of an image: nothing here may be read as a flag. */
function runnerBuildKeys(
  origin: string,
  main?: string,
  binary?: string,
  ldflags?: string,
  baseImage?: string
): { main?: string; binary?: string; ldflags?: string; baseImage?: string } {
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

/** The whole input schema: every input, then the rules between inputs. */
export const INPUTS_SCHEMA = z
  .object(INPUT_SHAPE)
  .superRefine((i, ctx) => {
    if (i.image && i.images)
      named(
        ctx,
        "Both 'image' and 'images' are set: give one image with 'image' or a list with 'images', not both"
      )
    // registry-username without registry-password (or the reverse) is refused in the plan, which
    // knows whether the run gets secrets: a fork's or Dependabot's pull request gets none, and a
    // workflow passing a secret password then passes an empty one (src/plan/plan.ts).
  })
  .transform(({ image, images, ...rest }) => ({
    images: image ?? images ?? [],
    ...camelKeys(rest)
  }))

/** Every input, read once and validated. */
export type Inputs = z.output<typeof INPUTS_SCHEMA>

/** An issue as one line naming where it is: `images[1].platforms: ...`. */
export function describeIssue(issue: z.core.$ZodIssue, prefix?: string): string {
  if (issue.code === 'custom' && (issue.params as { named?: boolean } | undefined)?.named)
    return issue.message
  const where = [
    prefix,
    ...issue.path.map(p => (typeof p === 'number' ? `[${p}]` : String(p)))
  ].filter(Boolean)
  return `${where.join('.').replace(/\.\[/g, '[') || 'input'}: ${issue.message}`
}

/** Parses with a schema, throwing an Error from its first issue. */
export function parseOrThrow<S extends z.ZodType>(
  schema: S,
  value: unknown,
  prefix?: string
): z.output<S> {
  const r = schema.safeParse(value)
  if (!r.success) throw new Error(describeIssue(r.error.issues[0], prefix))
  return r.data
}

/**
 * Parses the inputs as the runner hands them over (every declared input, trimmed, defaults
 * applied). Errors name the input.
 * @param raw the value of each input by its action.yml name
 */
export function parseInputs(raw: Record<string, string>): Inputs {
  return parseOrThrow(INPUTS_SCHEMA, raw)
}
