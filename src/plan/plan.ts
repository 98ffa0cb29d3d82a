import { posix as path } from 'node:path'
import type { GitHubContext } from '../context.js'
import type { BuildArg, Inputs, Mode, Tristate } from '../inputs.js'
import type { FileCopy, GoGateStep, SmokeHttp } from '../inputValues.js'
import { DEFAULT_TAGS, DEFAULT_TAGS_NOT_RELEASE, planTags } from './tags.js'
import { labelText } from '../util/text.js'
import { artifactPrefix, jobPlatform, platformMatrix, type DistributedPlan } from './distributed.js'
import { deriveMetadata, type Metadata } from './metadata.js'
import { parseDockerfileFull, targetArgDefaults, targetPlatformRuns } from './dockerfile.js'
import { goCacheMountsOf, type GoCacheMountsPlan } from './goCacheMounts.js'
import { isNativePlatform, runnerPlatform } from './platforms.js'
import { floatingRange, type PublishTarget } from './publish.js'
import {
  DEFAULT_BASE_IMAGE,
  DEFAULT_LDFLAGS,
  DEFAULT_USER,
  generatedDockerfile,
  imageWriter,
  renderLdflags,
  type GeneratedDockerfileOptions,
  type ImageWriter
} from './runnerBuild.js'

/**
 * `go build` / `go install` in a RUN step: shell form (`RUN go build ...`) or exec form
 * (`RUN ["go", "build", ...]`, `RUN ["/usr/local/go/bin/go", "install", ...]`), the form a Go
 * image without a shell needs.
 */
/** action.yml's default smoke-args, which an HTTP smoke test does not pass to a server. */
const DEFAULT_SMOKE_ARGS = '--version'

const GO_BUILD_RUN = /\bgo\s+(build|install)\b|(?:^|[\s["/])go"\s*,\s*"(build|install)"/

/** The smoke test of one image. */
export interface SmokePlan {
  enabled: boolean
  /** Platforms to run it on. */
  platforms: string[]
  /** Arguments passed to the image (no shell). */
  args: string[]
  /** Text the output (with `http`, the response body) must contain; '' for anything. */
  expect: string
  /** Seconds before a smoke test that has not passed fails. */
  timeoutSeconds: number
  /** Probe this port and path over HTTP instead of reading the output. */
  http?: SmokeHttp
  /** Why some or all platforms are not tested. */
  note?: string
}

/** One name an image is pushed to, with its tags (full references). */
export interface PlannedName {
  /** Lowercased repository name. */
  name: string
  /** Its registry host. */
  registry: string
  /** Tags that name this build (the version, the tag as written, sha-...): pushed first. */
  versionTags: string[]
  /** Tags that move from release to release, in push order, `latest` last; pushed after every
   * version tag, and never backwards. */
  floatingTags: string[]
}

/** One image of the matrix, fully decided. */
export interface PlannedImage {
  /** Lowercased repository name, e.g. `ghcr.io/acme/app`: the first of `names`. */
  name: string
  /** Registry host of the name. */
  registry: string
  /** Every name it is pushed to, each with its tags (the first is `name`). */
  names: PlannedName[]
  /** Where the user gave it (`image`, `images[N]`). */
  origin: string
  /** Build context, relative to the workspace. */
  context: string
  /** Dockerfile path, relative to the workspace. */
  dockerfile: string
  platforms: string[]
  /** Every tag to push, full references: each name's version tags, then each name's floating
   * tags (`latest` last on each). */
  tags: string[]
  /** The version tag (`<name>:<version>`): built, loaded and smoke-tested under this name. */
  versionTag: string
  /** Per repository name: the version tags and the floating tags to publish, in order. */
  publish: PublishTarget[]
  labels: Record<string, string>
  /**
   * OCI annotations of the pushed image: on the index when the output is one (several platforms
   * or an attestation), else on the manifest; GHCR shows a multi-arch image's description from
   * the index.
   */
  annotations: Record<string, string>
  /** VERSION, COMMIT, DATE, then the action's and the image's build args. */
  buildArgs: BuildArg[]
  target?: string
  /** Scope of this image's entries in the build cache. */
  cacheScope: string
  smoke: SmokePlan
  /** Lines of RUN steps that execute on the target platform (emulated for a foreign one). */
  targetRuns: number[]
  /** A runner build: the Go package cross-compiled on the runner before the image build. */
  runnerBuild?: RunnerBuild
  /** The Go cache mounts of the Dockerfile, carried in the Actions cache (cache on, any found). */
  goCacheMounts?: GoCacheMountsPlan
}

/** How a runner build compiles its binary. */
export interface RunnerBuild {
  /** The Go package, relative to go-working-directory. */
  main: string
  binary: string
  /** The rendered `-ldflags`. */
  ldflags: string
  /** The Go module directory it compiles in, relative to the workspace. */
  goDir: string
  /**
   * Where the binaries are compiled, in the `<os>/<arch>[/<variant>]/<binary>` layout: a
   * directory of the action's own under RUNNER_TEMP, never the checkout. It is the build context
   * unless the user names one.
   */
  outDir: string
  /**
   * The user's own context (workspace-relative) when the image names one: the binaries are copied
   * into it, each with an exclusive create (an existing file is never overwritten), and removed
   * again once the image is built.
   */
  copyInto?: string
  /** The Dockerfile the action writes at `dockerfile` (inside outDir), when the image has none. */
  generatedDockerfile?: string
  /** What that Dockerfile holds (base, binary, labels, ports, user, command). */
  generated?: GeneratedDockerfileOptions
  /**
   * Who makes the image: `action`, the action writes it itself (base from the registry plus one
   * layer with the binary, src/image/); `buildkit`, `docker buildx build` of the Dockerfile.
   */
  writer: ImageWriter
  /** Why the writer is what it is, for the plan. */
  writerNote: string
  /** Files of the module copied into the image (generated Dockerfile only). */
  files: FileCopy[]
  /** Where they are staged (absolute), the build's named context `gia-files`. */
  filesDir?: string
}

/** A warning tied to a line of a file (an annotation). */
export interface FileWarning {
  file: string
  line: number
  /** The annotation's title. */
  title: string
  message: string
}

/** Everything the run will do, decided before any side effect. */
export interface Plan {
  /** What this job does: the stages it runs (src/stages/pipeline.ts). */
  mode: Mode
  /** The distributed flow: the platform matrix, this platform job's platform. */
  distributed: DistributedPlan
  metadata: Metadata
  images: PlannedImage[]
  push: boolean
  pushReason: string
  /**
   * Why this run gets no secrets (a pull request from a fork or by Dependabot), if it gets none:
   * then it never pushes and never logs in to a registry.
   */
  secretsWithheld?: string
  latest: boolean
  latestReason: string
  dryRun: boolean
  /** The runner's own platform. */
  runnerPlatform: string
  qemu: { mode: Tristate; platforms: string[]; reason: string }
  goGate: GoGatePlan
  cache: boolean
  /** Distinct registries of the images, for login. */
  registries: string[]
  /** Warnings to show (the plan itself never logs). */
  warnings: string[]
  /** Notices to show (Dependabot, tag templates skipped). */
  notices: string[]
  /** Warnings on Dockerfile lines. */
  fileWarnings: FileWarning[]
  /** Every Go module directory the run uses (gate and runner builds), workspace-relative. */
  goModules: string[]
  /**
   * The action's own directory under RUNNER_TEMP (runner-build binaries, generated Dockerfiles);
   * the post step removes it. Nothing the action writes goes into the checkout.
   */
  actionDir: string
  /** The date as Unix seconds, for SOURCE_DATE_EPOCH. */
  sourceDateEpoch: number
  /** Attestations in the pushed index. */
  attestations: AttestationPlan
  /** The BuildKit image of a docker-container builder the action creates. */
  buildkitImage: string
  /** Seconds one `docker buildx build` may take (`build-timeout`). */
  buildTimeoutSeconds: number
}

/** Supply-chain attestations (each adds an `unknown/unknown` entry per platform to the index). */
export interface AttestationPlan {
  provenance: 'false' | 'min' | 'max'
  /** Why provenance is what it is. */
  provenanceReason: string
  /** The SBOM scanner image, when an SBOM is wanted. */
  sbomScanner?: string
}

/** OCI annotation keys the pushed image carries, from its labels. */
export const ANNOTATION_KEYS = [
  'org.opencontainers.image.description',
  'org.opencontainers.image.source',
  'org.opencontainers.image.licenses',
  'org.opencontainers.image.version',
  'org.opencontainers.image.revision',
  'org.opencontainers.image.created'
]

/**
 * Provenance as docker/build-push-action decides it from the repository's visibility, but
 * `min` (no build arguments or environment in it) for a public repository, and none for a
 * private one or when the payload does not say.
 */
export function attestationPlan(inputs: Inputs, ctx: GitHubContext): AttestationPlan {
  // the same in every mode: a platform job pushes its platform's attestation manifest with the
  // image, and the merge puts both in the index, as one multi-platform build does
  const sbomScanner = inputs.sbom ? inputs.sbomScanner : undefined
  if (inputs.provenance !== 'auto')
    return {
      provenance: inputs.provenance,
      provenanceReason: `provenance: ${inputs.provenance}`,
      sbomScanner
    }
  const isPrivate = ctx.payload?.repository?.private
  if (isPrivate === false)
    return {
      provenance: 'min',
      provenanceReason: 'provenance: auto (public repository)',
      sbomScanner
    }
  return {
    provenance: 'false',
    provenanceReason: `provenance: auto (${isPrivate === true ? 'private repository' : 'repository visibility unknown'})`,
    sbomScanner
  }
}

/** The Go gate: where it runs and how it builds. */
export interface GoGatePlan {
  enabled: boolean
  /** The steps, in order (`fmt`, `vet`, `test`). */
  steps: GoGateStep[]
  /** Every distinct module directory it runs in, workspace-relative. */
  workingDirectories: string[]
  testArgs: string[]
  /** Build flags of `go vet` and `go test` (before the test args). */
  buildFlags: string[]
  /** Environment of `go vet` and `go test`, over the job's. */
  env: Record<string, string>
  /** Why buildFlags and env are what they are; empty when they are empty. */
  note: string
}

/** Facts from outside inputs and context. */
export interface PlanOptions {
  /** Commit date from git, if known. */
  commitDate?: string
  now: Date
  /** process.arch, for the runner platform when RUNNER_ARCH is unset. */
  nodeArch: string
  /** The text of each planned Dockerfile by its workspace-relative path (see dockerfilePaths). */
  dockerfiles: Record<string, string | undefined>
  /** CGO_ENABLED of the job's environment, when set. */
  cgoEnabled?: string
  /** Whether go-working-directory is a directory in the workspace (unknown when unset). */
  goWorkingDirectoryExists?: boolean
  /** Whether each image's own go-working-directory is a directory, by path (see imageGoDirs). */
  goDirectoriesExist?: Record<string, boolean>
  /** Whether each `files` source exists, by workspace-relative path (see filesPaths). */
  files?: Record<string, boolean>
}

/** The workspace-relative source of every `files` entry, for the caller to check it exists. */
export function filesPaths(inputs: Inputs): string[] {
  return inputs.images.flatMap(img =>
    (img.files ?? []).map(f => path.join(imageGoDir(inputs, img), f.src))
  )
}

/** The go-working-directory of every image that sets its own, for the caller to check. */
export function imageGoDirs(inputs: Inputs): string[] {
  return unique(inputs.images.flatMap(img => img.goWorkingDirectory ?? []))
}

/** The Go module directory of an image: its own, else the go-working-directory input. */
function imageGoDir(inputs: Inputs, img: Inputs['images'][number]): string {
  return img.goWorkingDirectory ?? inputs.goWorkingDirectory
}

/** The action's own directory under RUNNER_TEMP. */
export function actionDirOf(runnerTemp: string): string {
  return path.join(runnerTemp, 'go-image-action')
}

/**
 * The workspace-relative path of every Dockerfile the images may use, for the caller to read:
 * each image's own and, for a runner build in a context the user names, the Dockerfile that
 * context may hold (used when it exists, never replaced).
 */
export function dockerfilePaths(inputs: Inputs): string[] {
  return inputs.images.flatMap(img => {
    const d = resolvePaths(inputs, img, '').dockerfile
    return d ? [d] : []
  })
}

/** Where an image's context and Dockerfile are; `outDir` for a runner build. */
interface ImagePaths {
  context: string
  /** The user's Dockerfile; undefined when a runner build's Dockerfile is generated. */
  dockerfile?: string
  /** A runner build may use it when it exists and otherwise gets a generated one. */
  optional: boolean
  outDir?: string
}

function resolvePaths(
  inputs: Inputs,
  img: Inputs['images'][number],
  actionDir: string
): ImagePaths {
  const clean = (p: string): string => path.normalize(p).replace(/(.)\/+$/, '$1')
  const under = (dir: string, file: string): string =>
    path.isAbsolute(file) ? file : path.normalize(path.join(dir, file))
  if (img.main === undefined) {
    const context = clean(img.context ?? inputs.context)
    return {
      context,
      dockerfile: under(context, img.dockerfile ?? inputs.dockerfile),
      optional: false
    }
  }
  // A runner build compiles into a directory of the action's own, which is its context unless
  // the user names one.
  const outDir = path.join(actionDir, 'runner-build', cacheScope(img.ref.name))
  if (img.context === undefined) {
    // the user's Dockerfile lives in the checkout: relative to the workspace
    const dockerfile = img.dockerfile === undefined ? undefined : under('.', img.dockerfile)
    return { context: outDir, dockerfile, optional: false, outDir }
  }
  const context = clean(img.context)
  return {
    context,
    dockerfile: under(context, img.dockerfile ?? inputs.dockerfile),
    optional: img.dockerfile === undefined,
    outDir
  }
}

/**
 * Builds the Plan: a pure function of the inputs, the GitHub context and a few outside facts.
 * Throws an Error naming the input on anything invalid.
 */
export function buildPlan(inputs: Inputs, ctx: GitHubContext, opts: PlanOptions): Plan {
  if (inputs.images.length === 0) {
    throw new Error("image: no image given; set 'image' (one name) or 'images' (a YAML list)")
  }
  const metadata = deriveMetadata(ctx, {
    versionInput: inputs.version,
    commitDate: opts.commitDate,
    now: opts.now
  })
  const warnings: string[] = []
  const fileWarnings: FileWarning[] = []
  const actionDir = actionDirOf(ctx.runnerTemp)

  const notices: string[] = []
  const secretsWithheld = metadata.fork
    ? 'pull request from a fork'
    : metadata.dependabot
      ? 'pull request by Dependabot'
      : undefined
  if (metadata.dependabot && !metadata.fork) {
    notices.push(
      "Dependabot pull request: GitHub gives it no secrets and a read-only token, so it is built and smoke-tested like a fork's pull request; nothing is pushed and no registry is logged in to"
    )
  }
  if (!secretsWithheld) checkCredentialPair(inputs)
  let push: boolean
  let pushReason: string
  if (inputs.push === 'false') {
    push = false
    pushReason = 'push: false'
  } else if (secretsWithheld) {
    push = false
    pushReason = `${secretsWithheld}: nothing is pushed`
    if (inputs.push === 'true') {
      warnings.push(`push: true is refused on a ${secretsWithheld}; nothing is pushed`)
    }
  } else if (inputs.push === 'true') {
    push = true
    pushReason = 'push: true'
  } else {
    push = metadata.pushAuto
    pushReason = `push: auto (${metadata.pushReason})`
  }

  let latest: boolean
  let latestReason: string
  if (inputs.latest !== 'auto') {
    latest = inputs.latest === 'true'
    latestReason = `latest: ${inputs.latest}`
  } else {
    latest = metadata.release && metadata.latestAuto
    latestReason = latest
      ? 'latest: auto (stable release)'
      : `latest: auto (${metadata.release ? 'not a stable release' : 'not a release'})`
  }
  if (metadata.version === 'latest') latest = false

  const runner = runnerPlatform(ctx.runnerArch, opts.nodeArch)
  const commonArgs: BuildArg[] = [
    { key: 'VERSION', value: metadata.version },
    { key: 'COMMIT', value: metadata.commit },
    { key: 'DATE', value: metadata.date }
  ]
  const source = ctx.repository ? `${ctx.serverUrl}/${ctx.repository}` : ''
  const repo = ctx.payload?.repository ?? {}
  const allPlatforms = inputs.images.map(img => img.platforms ?? inputs.platforms)
  const onlyPlatform = jobPlatform(inputs.mode, inputs.platform, inputs.platforms)
  // A platform job builds only the images that have its platform, and only that platform.
  const jobImages = inputs.images.filter(
    (img, n) => !onlyPlatform || allPlatforms[n].includes(onlyPlatform)
  )
  if (onlyPlatform && jobImages.length === 0) {
    throw new Error(
      `platform: no image is planned for ${onlyPlatform} (the images' platforms: ${unique(allPlatforms.flat()).join(', ')})`
    )
  }

  const attestations = attestationPlan(inputs, ctx)
  const tagValues = {
    version: metadata.version,
    tag: metadata.tag,
    shortSha: metadata.shortCommit,
    stable: metadata.release && metadata.latestAuto,
    notStableWhy: metadata.release ? 'a prerelease' : `not a release: ${metadata.kind}`
  }
  const images: PlannedImage[] = jobImages.map(img => {
    const name = img.ref.name
    const paths = resolvePaths(inputs, img, actionDir)
    const userText = paths.dockerfile === undefined ? undefined : opts.dockerfiles[paths.dockerfile]
    // a runner build without a Dockerfile of the user's gets one, in its own directory
    const generated =
      img.main !== undefined &&
      userText === undefined &&
      (paths.dockerfile === undefined || paths.optional)
    const context = paths.context
    const dockerfile = generated
      ? path.join(paths.outDir as string, 'Dockerfile')
      : (paths.dockerfile as string)
    const platforms = onlyPlatform ? [onlyPlatform] : (img.platforms ?? inputs.platforms)
    const planned = planTags(
      img.tags ?? inputs.tags ?? (metadata.release ? DEFAULT_TAGS : DEFAULT_TAGS_NOT_RELEASE),
      tagValues,
      { latest, inputName: img.tags ? `${img.origin}.tags` : 'tags' }
    )
    for (const n of planned.notices) if (!notices.includes(n)) notices.push(n)
    const names: PlannedName[] = img.refs.map(ref => ({
      name: ref.name,
      registry: ref.registry,
      versionTags: planned.exact.map(t => `${ref.name}:${t}`),
      floatingTags: planned.floating.map(t => `${ref.name}:${t}`)
    }))
    const versionTag = names[0].versionTags[0]
    const tags = [...names.flatMap(n => n.versionTags), ...names.flatMap(n => n.floatingTags)]

    const labels: Record<string, string> = {
      'org.opencontainers.image.title': name.split('/').pop() as string,
      'org.opencontainers.image.version': metadata.version,
      'org.opencontainers.image.revision': metadata.commit,
      'org.opencontainers.image.created': metadata.date
    }
    if (source) {
      labels['org.opencontainers.image.source'] = source
      labels['org.opencontainers.image.url'] = source
    }
    // Labels are single-line: a description's newlines become spaces (a newline forged a second
    // `org.opencontainers.image.version=` line in the `labels` output); a licence that is not an
    // SPDX identifier is left out.
    const description = typeof repo.description === 'string' ? labelText(repo.description) : ''
    if (description !== '') labels['org.opencontainers.image.description'] = description
    const spdx = repo.license?.spdx_id
    if (
      typeof spdx === 'string' &&
      /^[A-Za-z0-9][A-Za-z0-9.+-]*$/.test(spdx) &&
      spdx !== 'NOASSERTION'
    ) {
      labels['org.opencontainers.image.licenses'] = spdx
    }

    let runnerBuild: RunnerBuild | undefined
    if (img.main !== undefined) {
      const goDir = imageGoDir(inputs, img)
      const files = img.files ?? []
      // the keys of a generated Dockerfile mean nothing to the Dockerfile found in the context
      const ignored = (['expose', 'user', 'cmd', 'files'] as const).find(k => img[k] !== undefined)
      if (!generated && ignored)
        throw new Error(
          `${img.origin}.${ignored}: only for a generated Dockerfile, but the image uses ${dockerfile}`
        )
      for (const [i, f] of files.entries()) {
        if (opts.files?.[path.join(goDir, f.src)] === false)
          throw new Error(
            `${img.origin}.files[${i}]: ${f.src} does not exist in the module ${goDir}`
          )
      }
      const generatedOptions: GeneratedDockerfileOptions | undefined = generated
        ? {
            baseImage: img.baseImage ?? DEFAULT_BASE_IMAGE,
            binary: img.binary as string,
            labels,
            expose: img.expose ?? [],
            user: img.user ?? DEFAULT_USER,
            cmd: img.cmd ?? [],
            files: files.length > 0
          }
        : undefined
      const writer = imageWriter({
        generated: generatedOptions,
        mode: inputs.mode,
        attestations
      })
      runnerBuild = {
        main: img.main,
        ...writer,
        generated: generatedOptions,
        binary: img.binary as string,
        goDir,
        ldflags: renderLdflags(img.ldflags ?? DEFAULT_LDFLAGS, metadata, `${img.origin}.ldflags`),
        outDir: paths.outDir as string,
        copyInto: img.context === undefined ? undefined : context,
        generatedDockerfile: generatedOptions && generatedDockerfile(generatedOptions),
        files,
        // the action's own directory, beside the binaries; the post step removes it
        filesDir: files.length > 0 ? path.join(actionDir, 'files', cacheScope(name)) : undefined
      }
    }
    const text = runnerBuild?.generatedDockerfile ?? userText
    if (text === undefined) {
      const which = img.dockerfile !== undefined ? `${img.origin}.dockerfile` : 'dockerfile'
      throw new Error(
        `${which}: ${dockerfile} does not exist in the workspace (context ${context})`
      )
    }
    const parsed = parseDockerfileFull(text)
    const stages = parsed.stages
    const buildArgs = mergeBuildArgs(commonArgs, inputs.buildArgs, img.buildArgs)
    const mounts = generated || !inputs.cache ? undefined : goCacheMountsOf(parsed, buildArgs)
    const foreignHere = platforms.filter(p => !isNativePlatform(p, runner))
    if (platforms.length > 1 && foreignHere.length > 0 && !generated) {
      for (const { stage, run } of targetPlatformRuns(stages)) {
        if (!GO_BUILD_RUN.test(run.text)) continue
        fileWarnings.push({
          file: dockerfile,
          line: run.line,
          title: 'Go build under emulation',
          message:
            `this go build runs on the target platform, so under QEMU for ${foreignHere.join(', ')} ` +
            '(5-20x slower, and Go can crash under emulation). Compile on the build platform instead: ' +
            `FROM --platform=$BUILDPLATFORM ${stage.base}${stage.name ? ` AS ${stage.name}` : ''}, then ` +
            'ARG TARGETOS TARGETARCH and GOOS=$TARGETOS GOARCH=$TARGETARCH go build ...'
        })
      }
    }

    for (const d of generated ? [] : targetArgDefaults(text)) {
      fileWarnings.push({
        file: dockerfile,
        line: d.line,
        title: `Default on ${d.arg}`,
        message:
          `ARG ${d.arg}=${d.value}: BuildKit uses this default instead of the platform being built, ` +
          `so the image of every platform (${platforms.join(', ')}) is built for ${d.arg}=${d.value}, ` +
          `e.g. ships a binary for the wrong architecture. Declare it without a value: ARG ${d.arg}`
      })
    }

    const smokePlatforms =
      inputs.smokePlatforms === 'native'
        ? platforms.filter(p => isNativePlatform(p, runner))
        : platforms
    let note: string | undefined
    if (!inputs.smokeTest) note = 'smoke-test: false'
    else if (smokePlatforms.length < platforms.length) {
      note = `smoke-platforms: native (${runner}); not run: ${platforms.filter(p => !smokePlatforms.includes(p)).join(', ')}`
      if (smokePlatforms.length === 0) {
        warnings.push(
          `${img.origin}: no platform of ${name} is native to the runner (${runner}); it is not smoke-tested`
        )
      }
    }

    const http = img.smokeHttp === false ? undefined : (img.smokeHttp ?? inputs.smokeHttp)
    // with an HTTP probe a server starts with no arguments, unless some are given for it
    const inputArgs =
      http && inputs.smokeArgs.join(' ') === DEFAULT_SMOKE_ARGS ? [] : inputs.smokeArgs
    return {
      name,
      registry: img.ref.registry,
      names,
      origin: img.origin,
      context,
      dockerfile,
      platforms,
      tags,
      versionTag,
      publish: names.map(n => ({
        name: n.name,
        versionTags: planned.exact,
        floating: planned.floating.map(tag => ({
          tag,
          version: metadata.version,
          range: floatingRange(tag)
        }))
      })),
      labels,
      annotations: Object.fromEntries(
        ANNOTATION_KEYS.filter(k => labels[k] !== undefined).map(k => [k, labels[k]])
      ),
      buildArgs,
      target: img.target,
      cacheScope: cacheScope(name),
      smoke: {
        enabled: inputs.smokeTest && smokePlatforms.length > 0,
        platforms: inputs.smokeTest ? smokePlatforms : [],
        args: img.smokeArgs ?? inputArgs,
        expect: img.smokeExpect || inputs.smokeExpect || (http ? '' : metadata.version),
        timeoutSeconds: img.smokeTimeout ?? inputs.smokeTimeout,
        http,
        note
      },
      targetRuns: targetPlatformRuns(stages).map(r => r.run.line),
      runnerBuild,
      goCacheMounts: mounts && (mounts.mounts.length || mounts.skipped.length) ? mounts : undefined
    }
  })

  const goGate = goGatePlan(inputs, images, opts.cgoEnabled)
  const goModules = unique([
    ...goGate.workingDirectories.filter(() => goGate.enabled),
    ...images.flatMap(i => (i.runnerBuild ? [i.runnerBuild.goDir] : []))
  ])
  if (goModules.includes(inputs.goWorkingDirectory) && opts.goWorkingDirectoryExists === false) {
    throw new Error(
      `go-working-directory: '${inputs.goWorkingDirectory}' is not a directory in the workspace`
    )
  }
  for (const img of inputs.images) {
    const dir = img.goWorkingDirectory
    if (dir !== undefined && opts.goDirectoriesExist?.[dir] === false)
      throw new Error(
        `${img.origin}.go-working-directory: '${dir}' is not a directory in the workspace`
      )
  }

  const foreign = unique(images.flatMap(i => i.platforms)).filter(p => !isNativePlatform(p, runner))
  // What must run on a foreign platform: smoke tests, and RUN steps of target-platform stages.
  const mustRun = unique(
    images.flatMap(i => [...i.smoke.platforms, ...(i.targetRuns.length > 0 ? i.platforms : [])])
  ).filter(p => foreign.includes(p))
  let qemu: Plan['qemu']
  if (inputs.qemu === 'false') {
    qemu = { mode: inputs.qemu, platforms: [], reason: 'qemu: false' }
    if (mustRun.length > 0) {
      warnings.push(
        `qemu: false, but ${mustRun.join(', ')} must run on this ${runner} runner (smoke tests or RUN steps); they need emulation the runner may not have`
      )
    }
  } else if (inputs.qemu === 'true') {
    qemu = { mode: inputs.qemu, platforms: foreign, reason: 'qemu: true (every foreign platform)' }
  } else {
    qemu = {
      mode: inputs.qemu,
      platforms: mustRun,
      reason:
        foreign.length === 0
          ? `every platform is native to the runner (${runner})`
          : mustRun.length === 0
            ? 'nothing runs on a foreign platform (no smoke test there, no target-platform RUN step)'
            : 'smoke tests or RUN steps on platforms foreign to the runner'
    }
  }

  // A plan or merge job builds nothing: no emulation, no warning about a build it does not run.
  if (inputs.mode === 'plan' || inputs.mode === 'merge') {
    qemu = { mode: inputs.qemu, platforms: [], reason: `mode: ${inputs.mode} (nothing is built)` }
    fileWarnings.length = 0
  }

  return {
    mode: inputs.mode,
    distributed: {
      matrix: platformMatrix(allPlatforms, inputs.runners),
      platform: onlyPlatform,
      artifactPrefix: artifactPrefix(inputs.images.map(i => i.ref.name))
    },
    metadata,
    images,
    push,
    pushReason,
    secretsWithheld,
    latest,
    latestReason,
    dryRun: inputs.dryRun,
    runnerPlatform: runner,
    qemu,
    goGate,
    cache: inputs.cache,
    registries: unique(images.flatMap(i => i.names.map(n => n.registry))),
    warnings,
    notices,
    fileWarnings,
    goModules,
    actionDir,
    sourceDateEpoch: Math.floor(Date.parse(metadata.date) / 1000),
    attestations,
    buildkitImage: inputs.buildkitImage,
    buildTimeoutSeconds: inputs.buildTimeout
  }
}

/**
 * The gate's `go test` arguments: `-vet=off` first when the gate runs `go vet` and the user's
 * arguments do not set `-vet`. go vet ran every analyzer on the same packages (with their test
 * files); go test's own vet, a curated subset, would compute its facts for every dependency
 * again (3 of the 4.8 s of a cold `go test` after `go vet` of examples/hello on 2 cores).
 */
function testArgsOf(inputs: Inputs): string[] {
  const ownVet = inputs.goTestArgs.some(a => /^--?vet(=|$)/.test(a))
  return inputs.goGate.includes('vet') && !ownVet
    ? ['-vet=off', ...inputs.goTestArgs]
    : inputs.goTestArgs
}

/**
 * The gate builds the way the runner builds do (`-trimpath`, and `CGO_ENABLED=0` unless the job
 * sets CGO_ENABLED or a test flag needs cgo), so its compiled packages are the very cache entries
 * the runner builds look up: the runner's own platform then only links. With other flags every
 * package would be compiled twice for that platform.
 */
export function goGatePlan(
  inputs: Inputs,
  images: PlannedImage[],
  cgoEnabled: string | undefined
): GoGatePlan {
  const gate = {
    enabled: inputs.goGate.length > 0,
    steps: inputs.goGate,
    workingDirectories: gateDirectories(inputs),
    testArgs: testArgsOf(inputs)
  }
  const runner = images.filter(i => i.runnerBuild)
  if (!gate.enabled || runner.length === 0) return { ...gate, buildFlags: [], env: {}, note: '' }
  const why = `as the runner builds of ${runner.map(i => i.name).join(', ')}, to share their build cache`
  const cgoFlag = inputs.goTestArgs.find(a => /^--?(race|msan|asan)(=true)?$/.test(a))
  const cgoKept =
    cgoEnabled !== undefined && cgoEnabled !== ''
      ? `CGO_ENABLED=${cgoEnabled} from the job's environment`
      : cgoFlag && `cgo left on for ${cgoFlag}`
  return {
    ...gate,
    buildFlags: ['-trimpath'],
    env: cgoKept ? {} : { CGO_ENABLED: '0' },
    note: cgoKept ? `-trimpath ${why}; ${cgoKept}` : `-trimpath, CGO_ENABLED=0 ${why}`
  }
}

/** The distinct Go module directories of the images: where the gate runs. */
function gateDirectories(inputs: Inputs): string[] {
  return unique(inputs.images.map(img => imageGoDir(inputs, img)))
}

/** The build-cache scope of an image: its name, made safe for a cache key. */
export function cacheScope(imageName: string): string {
  return imageName.replace(/[^a-z0-9_.-]+/g, '-')
}

function mergeBuildArgs(...groups: BuildArg[][]): BuildArg[] {
  const merged = new Map<string, string>()
  for (const arg of groups.flat()) {
    merged.delete(arg.key)
    merged.set(arg.key, arg.value)
  }
  return [...merged].map(([key, value]) => ({ key, value }))
}

function unique<T>(items: T[]): T[] {
  return [...new Set(items)]
}

/**
 * registry-username and registry-password go together. Checked only when the run gets secrets:
 * on a fork's or Dependabot's pull request a secret password is empty, and nothing logs in.
 */
function checkCredentialPair(inputs: Inputs): void {
  if (inputs.registryUsername && !inputs.registryPassword)
    throw new Error('registry-username: set without registry-password; give both or neither')
  if (inputs.registryPassword && !inputs.registryUsername)
    throw new Error('registry-password: set without registry-username; give both or neither')
}
