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
}

/**
 * Splits a Dockerfile into stages with their RUN steps. Enough of the grammar for what the plan
 * needs (which stages run on the target platform and what they run): line continuations,
 * comments, `FROM [--platform=X] base [AS name]`, `RUN`. Heredocs are kept as text.
 */
export function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = []
  const lines = text.split(/\r?\n/)
  let escape = '\\'
  for (let i = 0; i < lines.length; i++) {
    const start = i
    let line = lines[i]
    const directive = /^#\s*escape\s*=\s*(\S)/i.exec(line)
    if (directive && stages.length === 0) escape = directive[1]
    if (/^\s*(#|$)/.test(line)) continue
    while (line.trimEnd().endsWith(escape) && i + 1 < lines.length) {
      line = line.trimEnd().slice(0, -1) + ' '
      i++
      while (i < lines.length && /^\s*#/.test(lines[i])) i++
      line += lines[i] ?? ''
    }
    const m = /^\s*(\w+)\s+(.*)$/.exec(line)
    if (!m) continue
    const instruction = m[1].toUpperCase()
    const rest = m[2].trim()
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
        line: start + 1,
        base: words[0] ?? '',
        platform,
        name: asIndex >= 0 ? words[asIndex + 1]?.toLowerCase() : undefined,
        runs: []
      })
    } else if (instruction === 'RUN' && stages.length > 0) {
      stages[stages.length - 1].runs.push({ line: start + 1, text: rest })
    }
  }
  return stages
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
