import { run } from '../exec.js'
import { DOCKER_CONTROL_TIMEOUT_S, DOCKER_SETUP_TIMEOUT_S, dockerBound } from './timeouts.js'

/** What the engine and buildx are. */
export interface EngineInfo {
  serverVersion: string
  /** The containerd image store (can load and push multi-platform images). */
  containerdStore: boolean
  buildxVersion: string
}

/** The builder buildx would use. */
export interface BuilderInfo {
  name: string
  driver: string
  platforms: string[]
  buildkitVersion: string
  /** This run created it (it starts empty, and the post step removes it). */
  created?: boolean
}

/** Asks the engine what it is; a clear error when none answers or buildx is missing. */
export async function inspectEngine(): Promise<EngineInfo> {
  // three questions at once (each a docker process); the version's answer is read first
  const [version, info, buildx] = await Promise.all([
    run('docker', ['version', '--format', '{{.Server.Version}}'], {
      silent: true,
      allowFailure: true
    }),
    run('docker', ['info', '--format', '{{json .DriverStatus}}'], {
      silent: true,
      allowFailure: true
    }),
    run('docker', ['buildx', 'version'], { silent: true, allowFailure: true })
  ])
  if (version.timedOut) {
    throw new Error(
      `no Docker engine answers: docker version got no answer from ${process.env['DOCKER_HOST'] || 'the default socket'} in ${dockerBound(DOCKER_CONTROL_TIMEOUT_S)} s and was stopped (the daemon stalls)`
    )
  }
  if (version.exitCode !== 0) {
    throw new Error(
      `no Docker engine answers: ${(version.stderr || version.stdout).trim().split('\n').pop()}`
    )
  }
  if (info.exitCode !== 0)
    throw new Error(
      `docker info failed${info.timedOut ? ' (stopped at its bound)' : ''}: ${(info.stderr || info.stdout).trim().split('\n').pop()}`
    )
  if (buildx.timedOut)
    throw new Error(
      `docker buildx version did not finish in ${dockerBound(DOCKER_CONTROL_TIMEOUT_S)} s and was stopped`
    )
  if (buildx.exitCode !== 0) {
    throw new Error('docker buildx is not installed: the action needs the buildx plugin')
  }
  return {
    serverVersion: version.stdout.trim(),
    containerdStore: info.stdout.includes('io.containerd.snapshotter'),
    buildxVersion: parseBuildxVersion(buildx.stdout)
  }
}

/** `github.com/docker/buildx 0.13.1 ...` or `... v0.21.0 ...` -> `0.13.1`. */
export function parseBuildxVersion(text: string): string {
  const m = /\bv?(\d+\.\d+\.\d+)/.exec(text)
  return m ? m[1] : '0.0.0'
}

/** Parses `docker buildx inspect` text output. */
export function parseBuilderInspect(text: string): BuilderInfo {
  const field = (name: string): string => {
    const m = new RegExp(`^${name}:\\s*(.*)$`, 'mi').exec(text)
    return m ? m[1].trim() : ''
  }
  return {
    name: field('Name'),
    driver: field('Driver'),
    platforms: field('Platforms')
      .split(',')
      .map(p => p.trim().replace(/\*$/, ''))
      .filter(Boolean),
    buildkitVersion: (field('BuildKit version') || field('BuildKit') || field('Buildkit')).replace(
      /^v/,
      ''
    )
  }
}

/** Inspects a builder (the current one when name is undefined). */
export async function inspectBuilder(name?: string): Promise<BuilderInfo> {
  const args = ['buildx', 'inspect', '--bootstrap']
  if (name) args.push(name)
  // --bootstrap may start the builder, pulling its image
  const res = await run('docker', args, {
    silent: true,
    timeoutSeconds: dockerBound(DOCKER_SETUP_TIMEOUT_S)
  })
  return parseBuilderInspect(res.stdout)
}
