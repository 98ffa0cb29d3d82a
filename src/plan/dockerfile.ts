/** One RUN instruction of a Dockerfile stage. */
export interface RunStep {
  /** 1-based line of the instruction. */
  line: number
  text: string
}

/** One stage (`FROM ...`) of a Dockerfile. */
export interface Stage {
  line: number
  /** The base image as written (`${GO_IMAGE}`, `golang:1.26`, `scratch`). */
  base: string
  /** The `--platform=` value of FROM, if any. */
  platform?: string
  name?: string
  runs: RunStep[]
  /** Variables the stage's ENV instructions set (literal values; later ones win). */
  env: Record<string, string>
}

/** A parsed Dockerfile: its stages and the ARG instructions before the first FROM. */
export interface ParsedDockerfile {
  stages: Stage[]
  /** The global ARG instructions as written (`ARG GO_IMAGE=golang:1.26`), in order. */
  globalArgs: string[]
}

/** One instruction of a Dockerfile, continuation lines joined. */
export interface Instruction {
  /** 1-based line where it starts. */
  line: number
  /** Upper-cased (`FROM`, `RUN`, `ARG`, ...). */
  instruction: string
  rest: string
}

/**
 * Splits a Dockerfile into instructions: line continuations (with the `# escape=` directive),
 * comments and blank lines. Heredocs are kept as text.
 */
export function parseInstructions(text: string): Instruction[] {
  const out: Instruction[] = []
  const lines = text.split(/\r?\n/)
  let escape = '\\'
  for (let i = 0; i < lines.length; i++) {
    const start = i
    let line = lines[i]
    const directive = /^#\s*escape\s*=\s*(\S)/i.exec(line)
    if (directive && out.length === 0) escape = directive[1]
    if (/^\s*(#|$)/.test(line)) continue
    while (line.trimEnd().endsWith(escape) && i + 1 < lines.length) {
      line = line.trimEnd().slice(0, -1) + ' '
      i++
      while (i < lines.length && /^\s*#/.test(lines[i])) i++
      line += lines[i] ?? ''
    }
    const m = /^\s*(\w+)\s+(.*)$/.exec(line)
    if (m) out.push({ line: start + 1, instruction: m[1].toUpperCase(), rest: m[2].trim() })
  }
  return out
}

/**
 * Splits a Dockerfile into stages with their RUN steps. Enough of the grammar for what the plan
 * needs (which stages run on the target platform and what they run): `FROM [--platform=X] base
 * [AS name]`, `RUN`, `ENV`.
 */
export function parseDockerfile(text: string): Stage[] {
  return parseDockerfileFull(text).stages
}

/** Like parseDockerfile, with the global ARG instructions too. */
export function parseDockerfileFull(text: string): ParsedDockerfile {
  const stages: Stage[] = []
  const globalArgs: string[] = []
  for (const { line, instruction, rest } of parseInstructions(text)) {
    if (instruction === 'FROM') {
      const words = rest.split(/\s+/)
      let platform: string | undefined
      while (words[0]?.startsWith('--')) {
        const flag = words.shift() as string
        const pm = /^--platform=(.*)$/i.exec(flag)
        if (pm) platform = pm[1]
      }
      const asIndex = words.findIndex(w => w.toUpperCase() === 'AS')
      stages.push({
        line,
        base: words[0] ?? '',
        platform,
        name: asIndex >= 0 ? words[asIndex + 1]?.toLowerCase() : undefined,
        runs: [],
        env: {}
      })
    } else if (instruction === 'RUN' && stages.length > 0) {
      stages[stages.length - 1].runs.push({ line, text: rest })
    } else if (instruction === 'ENV' && stages.length > 0) {
      Object.assign(stages[stages.length - 1].env, parseEnv(rest))
    } else if (instruction === 'ARG' && stages.length === 0) {
      globalArgs.push(`ARG ${rest}`)
    }
  }
  return { stages, globalArgs }
}

/**
 * The variables of an ENV instruction: `K=V K2="v 2"` or the legacy `K V`. Quotes are removed;
 * values that use a variable (`$X`) are left out, since only literal paths are of use here.
 */
export function parseEnv(rest: string): Record<string, string> {
  const out: Record<string, string> = {}
  const legacy = /^([A-Za-z_][A-Za-z0-9_]*)\s+([^=\s].*)$/.exec(rest)
  if (legacy && !legacy[1].includes('=')) {
    if (!legacy[2].includes('$')) out[legacy[1]] = unquote(legacy[2].trim())
    return out
  }
  for (const m of rest.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|'[^']*'|\S*)/g)) {
    const raw = m[2]
    if (!raw.includes('$')) out[m[1]] = unquote(raw)
  }
  return out
}

function unquote(v: string): string {
  if (/^"(.*)"$/s.test(v)) return v.slice(1, -1).replace(/\\(.)/g, '$1')
  if (/^'(.*)'$/s.test(v)) return v.slice(1, -1)
  return v
}

/** A `RUN --mount=type=cache,...` mount, with the options that make its identity. */
export interface CacheMount {
  target: string
  /** `id=`, when given (BuildKit's default is the target). */
  id?: string
  sharing?: string
  uid?: string
  gid?: string
  mode?: string
  /** `from=` (a cache seeded from a stage or image), when given. */
  from?: string
  source?: string
  /** The option text as written, without `type=cache`. */
  text: string
}

/**
 * The cache mounts of a RUN instruction: its leading `--mount=type=cache,...` flags, parsed as
 * BuildKit's Dockerfile frontend does (comma-separated key=value, `dst`/`destination` for
 * `target`, `src` for `source`).
 */
export function cacheMounts(runText: string): CacheMount[] {
  const out: CacheMount[] = []
  for (const word of runText.split(/\s+/)) {
    if (!word.startsWith('--')) break
    const m = /^--mount=(.*)$/.exec(word)
    if (!m) continue
    const opts: Record<string, string> = {}
    for (const field of unquote(m[1]).split(',')) {
      const eq = field.indexOf('=')
      const key = (eq < 0 ? field : field.slice(0, eq)).toLowerCase()
      opts[key] = unquote(eq < 0 ? 'true' : field.slice(eq + 1))
    }
    if (opts['type'] !== 'cache') continue
    const target = opts['target'] ?? opts['dst'] ?? opts['destination']
    if (!target) continue
    out.push({
      target,
      id: opts['id'],
      sharing: opts['sharing'],
      uid: opts['uid'],
      gid: opts['gid'],
      mode: opts['mode'],
      from: opts['from'],
      source: opts['source'] ?? opts['src'],
      text: unquote(m[1])
        .split(',')
        .filter(f => f.toLowerCase() !== 'type=cache')
        .join(',')
    })
  }
  return out
}

/** The platform arguments BuildKit sets for each target platform. */
export const TARGET_ARGS = ['TARGETPLATFORM', 'TARGETOS', 'TARGETARCH', 'TARGETVARIANT']

/**
 * `ARG TARGETARCH=amd64` and the like: a default on a platform argument. BuildKit then uses the
 * default instead of the platform being built, so every platform gets, say, an amd64 binary.
 */
export function targetArgDefaults(text: string): { line: number; arg: string; value: string }[] {
  const out: { line: number; arg: string; value: string }[] = []
  for (const { line, instruction, rest } of parseInstructions(text)) {
    if (instruction !== 'ARG') continue
    for (const word of rest.split(/\s+/)) {
      const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(word)
      if (m && TARGET_ARGS.includes(m[1])) out.push({ line, arg: m[1], value: m[2] })
    }
  }
  return out
}

/** Whether a stage runs on the build platform (`--platform=$BUILDPLATFORM`) instead of the target's. */
export function runsOnBuildPlatform(stage: Stage): boolean {
  return !!stage.platform && /\$\{?BUILDPLATFORM\}?/.test(stage.platform)
}

/**
 * RUN steps that execute on the target platform, so under emulation for a foreign one: the RUN
 * steps of stages that do not pin `--platform=$BUILDPLATFORM` and whose base is not another
 * stage that does.
 */
export function targetPlatformRuns(stages: Stage[]): { stage: Stage; run: RunStep }[] {
  const onBuild = new Set<string>()
  const out: { stage: Stage; run: RunStep }[] = []
  for (const stage of stages) {
    const inherits = onBuild.has(stage.base.toLowerCase()) && !stage.platform
    const build = runsOnBuildPlatform(stage) || inherits
    if (build && stage.name) onBuild.add(stage.name)
    if (!build) for (const run of stage.runs) out.push({ stage, run })
  }
  return out
}
