/**
 * The five ways `npm run bench:peers` releases examples/hello's two programs (hello-cli and
 * hello-web), each as one job of a fresh runner. The job is all that is timed.
 *
 *   ours-runner      this action, runner builds (`main:`), on the static base image
 *   ours-dockerfile  this action, the examples' cross-compiling Dockerfiles
 *   docker           setup-go (cache on), gofmt -l / go vet / go test, setup-buildx,
 *                    metadata + build-push (`type=gha,mode=max`) per image, then
 *                    `docker run <image> --version` per image and platform
 *   goreleaser       setup-go (cache on), `goreleaser release` with `dockers_v2` (buildx, a
 *                    Dockerfile that copies the binary GoReleaser built onto the static base)
 *   ko               setup-go (cache on), `ko build` of both programs onto the static base
 * ko and GoReleaser run no gate and no smoke test, as their users' workflows usually do not.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type * as Harness from '../../../test/harness/runner.js'
import type * as JobModule from '../../../test/harness/job.js'

const load = async <T>(path: string): Promise<T> =>
  (await import(new URL(path, import.meta.url).href)) as T
const { runAction, stagesAndSmoke } = await load<typeof Harness>('../../../test/harness/runner.ts')
const { Job, StepFailed } = await load<typeof JobModule>('../../../test/harness/job.ts')

export const CONTENDERS = {
  'ours-runner': 'this action, runner builds (`main:`)',
  'ours-dockerfile': "this action, the examples' cross-compiling Dockerfiles",
  docker: 'Docker pipeline, same Dockerfiles',
  goreleaser: 'GoReleaser v2 (`dockers_v2`)',
  ko: 'ko'
} as const
export type Contender = keyof typeof CONTENDERS

export const PROGRAMS = ['hello-cli', 'hello-web'] as const

/** Everything one run of one contender needs. */
export interface RunContext {
  platforms: string[]
  version: string
  /** A fresh git checkout of examples/hello, tagged v<version>. */
  workspace: string
  /** Where the images go: `<repo>/hello-cli`, `<repo>/hello-web`. */
  repo: string
  baseImage: string
  buildkitImage: string
  /** The private engine's containers' cgroup: a docker-container builder goes there too. */
  cgroupParent: string
  /** The event (a release of v<version>) and its GITHUB_* env. */
  eventName: string
  payload: Record<string, unknown>
  /** GITHUB_REF, GITHUB_SHA, GOPATH/GOMODCACHE/GOCACHE, DOCKER_HOST, DOCKER_CONFIG, ACTIONS_*. */
  env: Record<string, string>
  /** The GitHub API stub (metadata-action reads the repository and the commit). */
  apiUrl: string
  actions: Record<'setupBuildx' | 'metadata' | 'buildPush' | 'setupGo', string>
  toolCache: string
  tools: { ko: string; goreleaser: string }
  /** A scratch directory of the run's (configs the peers read). */
  scratch: string
  timeoutMs: number
  onOutput: (chunk: string) => void
}

/** How one job went. */
export interface JobOutcome {
  ok: boolean
  error?: string
  /** This action's stage times, seconds. */
  stages?: Record<string, number>
}

export async function runContender(c: Contender, ctx: RunContext): Promise<JobOutcome> {
  switch (c) {
    case 'ours-runner':
    case 'ours-dockerfile':
      return ours(c, ctx)
    case 'docker':
      return inJob(ctx, job => dockerPipeline(job, ctx))
    case 'goreleaser':
      return inJob(ctx, job => goreleaser(job, ctx))
    case 'ko':
      return inJob(ctx, job => ko(job, ctx))
  }
}

// --- this action ----------------------------------------------------------------------------------
function oursImages(c: 'ours-runner' | 'ours-dockerfile', ctx: RunContext): string {
  return PROGRAMS.flatMap(p =>
    c === 'ours-runner'
      ? [`- name: ${ctx.repo}/${p}`, `  main: ./cmd/${p}`, `  base-image: ${ctx.baseImage}`]
      : [`- name: ${ctx.repo}/${p}`, `  dockerfile: cmd/${p}/Dockerfile`]
  ).join('\n')
}

async function ours(c: 'ours-runner' | 'ours-dockerfile', ctx: RunContext): Promise<JobOutcome> {
  const r = await runAction({
    eventName: ctx.eventName,
    payload: ctx.payload,
    workspace: ctx.workspace,
    timeoutMs: ctx.timeoutMs,
    env: ctx.env,
    inputs: { images: oursImages(c, ctx), platforms: ctx.platforms.join(',') },
    onOutput: ctx.onOutput
  })
  const { stages, smokeOk } = stagesAndSmoke(r)
  const want = ctx.platforms.length * PROGRAMS.length
  const ok = !r.failed && r.post?.exitCode === 0 && smokeOk === want
  const error = r.main.annotations.find(a => a.command === 'error')?.message
  return {
    ok,
    error: ok
      ? undefined
      : (error?.slice(0, 500) ?? `exit code ${r.main.exitCode}, ${smokeOk}/${want} smoke tests ok`),
    stages
  }
}

// --- jobs of the peers ----------------------------------------------------------------------------
type JobT = InstanceType<typeof Job>

async function inJob(ctx: RunContext, steps: (job: JobT) => Promise<void>): Promise<JobOutcome> {
  const job = new Job(
    {
      eventName: ctx.eventName,
      payload: ctx.payload,
      workspace: ctx.workspace,
      env: { ...ctx.env, GITHUB_API_URL: ctx.apiUrl },
      timeoutMs: ctx.timeoutMs,
      onOutput: ctx.onOutput
    },
    ctx.toolCache
  )
  let error: string | undefined
  try {
    await steps(job)
  } catch (e) {
    if (!(e instanceof StepFailed)) throw e
    error = e.message.slice(0, 500)
  }
  const posts = await job.finish()
  const postError = posts.find(p => p.exitCode !== 0)
  if (!error && postError)
    error = `a post step failed: ${postError.annotations.find(a => a.command === 'error')?.message ?? postError.exitCode}`
  return { ok: !error, error }
}

/** actions/setup-go as a workflow writes it: the Go version, its cache on (the default). */
async function setupGo(job: JobT, ctx: RunContext): Promise<void> {
  await job.uses('actions/setup-go', ctx.actions.setupGo, { 'go-version': '1.26' })
}

async function dockerPipeline(job: JobT, ctx: RunContext): Promise<void> {
  await setupGo(job, ctx)
  const fmt = await job.run('gofmt', 'gofmt', ['-l', '.'])
  if (fmt.stdout.trim()) throw new StepFailed(`gofmt: unformatted files: ${fmt.stdout.trim()}`)
  await job.run('go vet', 'go', ['vet', './...'])
  await job.run('go test', 'go', ['test', './...'])
  await job.uses('docker/setup-buildx-action', ctx.actions.setupBuildx, {
    // the cgroup parent only so that its BuildKit's CPU is counted (buildx puts it in the shared
    // /docker/buildx otherwise)
    'driver-opts': [
      `image=${ctx.buildkitImage}`,
      'network=host',
      `cgroup-parent=${ctx.cgroupParent}/buildx`
    ].join('\n')
  })
  const pushed: string[] = []
  for (const p of PROGRAMS) {
    const meta = await job.uses('docker/metadata-action', ctx.actions.metadata, {
      images: `${ctx.repo}/${p}`,
      tags: 'type=semver,pattern={{version}}'
    })
    const created = /org\.opencontainers\.image\.created=(\S+)/.exec(meta.outputs['labels'] ?? '')
    await job.uses('docker/build-push-action', ctx.actions.buildPush, {
      context: '.',
      file: `cmd/${p}/Dockerfile`,
      platforms: ctx.platforms.join(','),
      push: 'true',
      tags: meta.outputs['tags'] ?? '',
      labels: meta.outputs['labels'] ?? '',
      annotations: meta.outputs['annotations'] ?? '',
      'build-args': [
        `VERSION=${meta.outputs['version']}`,
        `COMMIT=${ctx.env['GITHUB_SHA']}`,
        `DATE=${created?.[1] ?? ''}`
      ].join('\n'),
      'cache-from': `type=gha,scope=${p}`,
      'cache-to': `type=gha,scope=${p},mode=max`
    })
    pushed.push(`${ctx.repo}/${p}:${meta.outputs['version']}`)
  }
  for (const image of pushed) {
    for (const platform of ctx.platforms) {
      const r = await job.run(`smoke ${image} ${platform}`, 'docker', [
        ...['run', '--rm', '--platform', platform, image, '--version']
      ])
      if (!r.stdout.includes(ctx.version))
        throw new StepFailed(`smoke ${image} ${platform}: no ${ctx.version} in ${r.stdout}`)
    }
  }
}

/** GOOS/GOARCH/GOARM lists for GoReleaser's build matrix of the platforms. */
function goreleaserTargets(platforms: string[]): string[] {
  return platforms.map(p => {
    const [os, arch, variant] = p.split('/')
    if (arch === 'arm') return `${os}_arm_${(variant ?? 'v7').replace('v', '')}`
    if (arch === 'amd64') return `${os}_amd64_v1`
    return `${os}_${arch}`
  })
}

function goreleaserConfig(ctx: RunContext): string {
  const dockerfile = (p: string): string => {
    const file = join(ctx.scratch, `Dockerfile.${p}`)
    writeFileSync(
      file,
      [
        `FROM ${ctx.baseImage}`,
        'ARG TARGETPLATFORM',
        `COPY $TARGETPLATFORM/${p} /usr/local/bin/${p}`,
        'USER 65532:65532',
        `ENTRYPOINT ["/usr/local/bin/${p}"]`,
        ''
      ].join('\n')
    )
    return file
  }
  const builds = PROGRAMS.map(p => ({
    id: p,
    main: `./cmd/${p}`,
    binary: p,
    env: ['CGO_ENABLED=0'],
    flags: ['-trimpath'],
    ldflags: [
      '-s -w -X main.version={{.Version}} -X main.commit={{.Commit}} -X main.date={{.Date}}'
    ],
    targets: goreleaserTargets(ctx.platforms)
  }))
  const dockers = PROGRAMS.map(p => ({
    id: p,
    ids: [p],
    dockerfile: dockerfile(p),
    images: [`${ctx.repo}/${p}`],
    tags: ['{{.Version}}', 'latest'],
    platforms: ctx.platforms,
    sbom: false
  }))
  const config = {
    version: 2,
    project_name: 'hello',
    builds,
    dockers_v2: dockers,
    archives: [{ formats: ['binary'] }],
    checksum: { disable: true },
    changelog: { disable: true },
    release: { disable: true }
  }
  const file = join(ctx.scratch, '.goreleaser.yaml')
  writeFileSync(file, JSON.stringify(config, null, 2)) // YAML is a superset of JSON
  return file
}

async function goreleaser(job: JobT, ctx: RunContext): Promise<void> {
  await setupGo(job, ctx)
  mkdirSync(ctx.scratch, { recursive: true })
  await job.run('goreleaser', ctx.tools.goreleaser, [
    ...['release', '--clean', '--config', goreleaserConfig(ctx)]
  ])
}

function koConfig(ctx: RunContext): string {
  const config = {
    defaultBaseImage: ctx.baseImage,
    builds: PROGRAMS.map(p => ({
      id: p,
      main: `./cmd/${p}`,
      flags: ['-trimpath'],
      ldflags: [
        '-s -w -X main.version={{.Env.VERSION}} -X main.commit={{.Env.COMMIT}} -X main.date={{.Env.DATE}}'
      ]
    }))
  }
  mkdirSync(ctx.scratch, { recursive: true })
  writeFileSync(join(ctx.scratch, '.ko.yaml'), JSON.stringify(config, null, 2))
  return ctx.scratch
}

async function ko(job: JobT, ctx: RunContext): Promise<void> {
  await setupGo(job, ctx)
  const date = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')
  await job.run(
    'ko build',
    ctx.tools.ko,
    [
      ...['build', '--base-import-paths', `--platform=${ctx.platforms.join(',')}`],
      ...[`--tags=${ctx.version},latest`],
      ...PROGRAMS.map(p => `./cmd/${p}`)
    ],
    {
      env: {
        KO_DOCKER_REPO: ctx.repo,
        KO_CONFIG_PATH: koConfig(ctx),
        VERSION: ctx.version,
        COMMIT: ctx.env['GITHUB_SHA'] ?? '',
        DATE: date
      }
    }
  )
}
