/**
 * Helpers for end-to-end tests against the real bench (scripts/bench-up.sh): the engine, the
 * local registries and the example Go programs.
 */
import { execFileSync } from 'node:child_process'
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  symlinkSync,
  writeFileSync
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { ROOT, type ActionRun } from '../harness/runner.js'

/** The registry without auth. */
export const REGISTRY = '127.0.0.1:5000'

/** The htpasswd registry and its test credentials, as bench-up.sh wrote them. */
export function authRegistry(): { host: string; user: string; password: string } {
  const text = readFileSync('/var/lib/gia-bench/registry-auth.env', 'utf8')
  const env = Object.fromEntries(
    text
      .split('\n')
      .filter(l => l.includes('='))
      .map(l => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)])
  )
  return {
    host: env['GIA_REGISTRY_AUTH_HOST'],
    user: env['GIA_REGISTRY_USER'],
    password: env['GIA_REGISTRY_PASSWORD']
  }
}

/**
 * Fails loudly when the bench is not up: these tests never skip silently. Selects the buildx
 * under test (GIA_BUILDX=current: today's, through a DOCKER_CONFIG of its own that the action's
 * runs inherit), and makes the bench's BuildKit image the `buildkit-image` default of every run
 * (GIA_BUILDKIT_IMAGE, read by the harness), as a runner with a registry mirror would have it.
 */
export function requireBench(): void {
  // the global setup (test/setup/bench.ts) could not bring it up, and says why
  const why = process.env['GIA_BENCH_UNAVAILABLE']
  if (why) throw new Error(why)
  try {
    execFileSync('docker', ['version', '--format', '{{.Server.Version}}'], { stdio: 'pipe' })
    execFileSync('docker', ['buildx', 'version'], { stdio: 'pipe' })
  } catch {
    throw new Error('no Docker engine with buildx: run `sudo scripts/bench-up.sh` first')
  }
  if (existsSync(CURRENT_ENV)) process.env['GIA_BUILDKIT_IMAGE'] = currentTools().buildkitImage
  if (buildxUnderTest() === 'current' && !process.env['GIA_BUILDX_CONFIG']) {
    process.env['GIA_BUILDX_CONFIG'] = currentBuildxConfig()
    process.env['DOCKER_CONFIG'] = process.env['GIA_BUILDX_CONFIG']
  }
  const version = docker(['buildx', 'version'])
  if (buildxUnderTest() === 'current' && !version.includes(currentTools().buildxVersion))
    throw new Error(`GIA_BUILDX=current, but docker buildx is ${version.trim()}`)
}

/** A fresh repository path for one test, so runs never see each other's tags. */
export function uniqueRepo(prefix: string): string {
  return `e2e-${prefix}-${randomBytes(4).toString('hex')}`
}

/** A copy of examples/<name> as a workspace. */
export function exampleWorkspace(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `gia-ws-${name}-`))
  cpSync(join(ROOT, 'examples', name), dir, { recursive: true })
  return dir
}

/** Runs docker with an argument array and returns stdout (throws with stderr on failure). */
export function docker(args: string[]): string {
  // jest's process.env is the test's own copy: a child gets it only when handed it
  return execFileSync('docker', args, {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: process.env
  })
}

/** Packages each runner-build platform compiled: the Go build stage's
 * `<platform>: <main> -> <path>[, <main> -> <path>...] (<s> s, <n> packages compiled)` lines (one
 * per go build, which may build several images' binaries). */
export function compiledPackageCounts(r: ActionRun): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const m of r.main.stdout.matchAll(
    /^(linux\/\S+): \S+ -> \S+(?:, \S+ -> \S+)* \([\d.]+ s, (\d+) packages? compiled\)$/gm
  ))
    counts[m[1]] = Number(m[2])
  return counts
}

/** The full references a run planned (its `tags` output; none when it did not get that far). */
export function tagsOf(r: ActionRun | undefined): string[] {
  return (r?.main.outputs['tags'] ?? '').split('\n').filter(Boolean)
}

/** Removes images from the engine's store; references it does not hold are ignored. */
export function removeImages(refs: string[]): void {
  if (refs.length > 0) docker(['image', 'rm', '--force', ...refs])
}

/** The tags of a repository in a registry ([] when it has none), over the registry's HTTP API. */
export async function registryTags(
  host: string,
  repo: string,
  auth?: { user: string; password: string }
): Promise<string[]> {
  const headers: Record<string, string> = {}
  if (auth)
    headers['Authorization'] =
      `Basic ${Buffer.from(`${auth.user}:${auth.password}`).toString('base64')}`
  const res = await fetch(`http://${host}/v2/${repo}/tags/list`, { headers })
  if (res.status === 404) return []
  if (!res.ok) throw new Error(`GET tags of ${repo}: ${res.status}`)
  const body = (await res.json()) as { tags?: string[] | null }
  return (body.tags ?? []).sort()
}

/** The index a reference points at: digest and platforms, from `imagetools inspect`. */
export function remoteIndex(ref: string): { digest: string; platforms: string[] } {
  const m = JSON.parse(
    docker(['buildx', 'imagetools', 'inspect', ref, '--format', '{{json .Manifest}}'])
  ) as {
    digest: string
    manifests?: { platform?: { os: string; architecture: string; variant?: string } }[]
  }
  return {
    digest: m.digest,
    platforms: (m.manifests ?? [])
      .map(x => x.platform)
      .filter(
        (p): p is { os: string; architecture: string; variant?: string } =>
          !!p && p.os !== 'unknown'
      )
      .map(p => [p.os, p.architecture, p.variant].filter(Boolean).join('/'))
  }
}

/** The labels of one platform of a remote image. */
export function remoteLabels(ref: string, platform = 'linux/amd64'): Record<string, string> {
  const images = JSON.parse(
    docker(['buildx', 'imagetools', 'inspect', ref, '--format', '{{json .Image}}'])
  ) as Record<string, { config?: { Labels?: Record<string, string> } }>
  return images[platform]?.config?.Labels ?? {}
}

/**
 * Runs one platform of a published image straight from the registry: the local copies of the
 * repository's tags are removed first, so what runs is what was pushed.
 */
export function runPublished(ref: string, platform: string, args: string[]): string {
  const repo = ref.slice(0, ref.lastIndexOf(':'))
  docker(['image', 'rm', '--force', ref, `${repo}:latest`])
  return docker(['run', '--rm', '--pull', 'always', '--platform', platform, ref, ...args])
}

const CURRENT_ENV = '/var/lib/gia-bench/current.env'

/** Today's buildx and BuildKit on the bench (scripts/bench/current.sh, run by bench-up.sh). */
export interface CurrentTools {
  /** The buildx CLI plugin binary. */
  buildx: string
  buildxVersion: string
  /** The local BuildKit image, e.g. 127.0.0.1:5000/mirror/buildkit:v0.34.2. */
  buildkitImage: string
  buildkitVersion: string
}

/** The current buildx and BuildKit of the bench; fails loudly when current.sh has not run. */
export function currentTools(): CurrentTools {
  const file = CURRENT_ENV
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch {
    throw new Error(
      `no ${file}: run \`sudo scripts/bench-up.sh\` (it runs scripts/bench/current.sh)`
    )
  }
  const get = (k: string): string => {
    const v = new RegExp(`^${k}=(.*)$`, 'm').exec(text)?.[1]
    if (!v) throw new Error(`${file} has no ${k}`)
    return v
  }
  return {
    buildx: get('GIA_BUILDX_CURRENT'),
    buildxVersion: get('GIA_BUILDX_CURRENT_VERSION'),
    buildkitImage: get('GIA_BUILDKIT_IMAGE'),
    buildkitVersion: get('GIA_BUILDKIT_VERSION')
  }
}

/**
 * A DOCKER_CONFIG of its own whose cli-plugins/ holds the current buildx: the Docker CLI looks
 * there before its system directories (where bench-up.sh links Debian's 0.13). Builders created
 * under it are listed there too, apart from the bench's.
 */
export function currentBuildxConfig(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gia-docker-config-'))
  mkdirSync(join(dir, 'cli-plugins'))
  symlinkSync(currentTools().buildx, join(dir, 'cli-plugins', 'docker-buildx'))
  writeFileSync(join(dir, 'config.json'), '{}\n')
  return dir
}

/** Which buildx the e2e runs use: GIA_BUILDX=current selects today's, anything else Debian's. */
export function buildxUnderTest(): 'current' | 'debian' {
  return process.env['GIA_BUILDX'] === 'current' ? 'current' : 'debian'
}

const SBOM_SCANNER_ENV = '/var/lib/gia-bench/sbom-scanner.env'

/**
 * The bench's SBOM scanner image (scripts/bench/sbom-scanner.sh, run by bench-up.sh: syft built
 * from its Go module with our glue for BuildKit's SBOM generator protocol); fails loudly when the
 * script has not run.
 */
export function sbomScanner(): { image: string; syftVersion: string } {
  let text: string
  try {
    text = readFileSync(SBOM_SCANNER_ENV, 'utf8')
  } catch {
    throw new Error(
      `no ${SBOM_SCANNER_ENV}: run \`sudo scripts/bench-up.sh\` (it runs scripts/bench/sbom-scanner.sh)`
    )
  }
  const get = (k: string): string => {
    const v = new RegExp(`^${k}=(.*)$`, 'm').exec(text)?.[1]
    if (!v) throw new Error(`${SBOM_SCANNER_ENV} has no ${k}`)
    return v
  }
  return { image: get('GIA_SBOM_SCANNER_IMAGE'), syftVersion: get('GIA_SYFT_VERSION') }
}
