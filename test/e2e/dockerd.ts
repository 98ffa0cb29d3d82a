/**
 * A second Docker daemon for end-to-end tests: the bench's dockerd binary on a private socket,
 * with its own data root, a bridge of its own (`--bridge none` would make it delete the bench's
 * docker0) and a containerd of its own, started empty and removed with it. A runner of its own,
 * as far as images, containers and builds go.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { randomBytes, randomInt } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'

/** A running second daemon. */
export interface SecondDaemon {
  /** Its DOCKER_HOST, `unix://...`. */
  host: string
  /** Stops it and removes its bridge and files. */
  stop(): Promise<void>
  /** Its process id. */
  pid: number
  /** The process id of its containerd. */
  containerdPid: number
}

/** The bench's dockerd (scripts/bench-up.sh unpacks it under GIA_BENCH_PREFIX). */
function dockerdPath(): string {
  const env = readFileSync('/var/lib/gia-bench/bench.env', 'utf8')
  const prefix = /^GIA_BENCH_PREFIX=(.*)$/m.exec(env)?.[1] ?? '/opt/gia-bench'
  return join(prefix, 'usr', 'sbin', 'dockerd')
}

function answers(host: string): boolean {
  try {
    execFileSync('docker', ['--host', host, 'version'], { stdio: 'pipe', timeout: 5_000 })
    return true
  } catch {
    return false
  }
}

/** What a second daemon's containers may reach beyond the host. */
export interface DockerdOptions {
  /**
   * Masquerade its bridge's traffic to the outside (one rule for its subnet, and forwarding to
   * and from its bridge only, removed by `stop`): its builds' `RUN` steps reach the Go module
   * proxy like the bench's own. Off by default: the daemon touches no iptables rule.
   */
  nat?: boolean
  /** Its containers' cgroup parent (`--cgroup-parent`), to account their CPU apart. */
  cgroupParent?: string
}

/** The iptables rules that let a bridge's containers reach the outside, and no one else's. */
function natRules(bridge: string, subnet: string): string[][] {
  return [
    ['-t', 'nat', 'POSTROUTING', '-s', `${subnet}.0/24`, '!', '-o', bridge, '-j', 'MASQUERADE'],
    ['-t', 'filter', 'FORWARD', '-i', bridge, '-j', 'ACCEPT'],
    [
      ...['-t', 'filter', 'FORWARD', '-o', bridge],
      ...['-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED', '-j', 'ACCEPT']
    ]
  ]
}

function iptables(action: '-I' | '-D', rule: string[]): void {
  // rule = [-t, table, chain, ...match]
  execFileSync('iptables', [rule[0], rule[1], action, ...rule.slice(2)], { stdio: 'pipe' })
}

/**
 * Starts a daemon with the containerd image store or the classic one; resolves when it answers.
 * @param name a short word for its files, bridge and containerd namespaces
 */
export async function startDockerd(
  name: string,
  containerdStore: boolean,
  options: DockerdOptions = {}
): Promise<SecondDaemon> {
  const dir = mkdtempSync(join(tmpdir(), `gia-e2e-${name}-`))
  const host = `unix://${join(dir, 'docker.sock')}`
  const id = randomBytes(3).toString('hex')
  const bridge = `gia${name.slice(0, 4)}${id}`
  const namespace = `gia-e2e-${name}-${id}`
  writeFileSync(
    join(dir, 'daemon.json'),
    `${JSON.stringify({ features: { 'containerd-snapshotter': containerdStore } })}\n`
  )
  const bin = dockerdPath()
  if (!existsSync(bin)) throw new Error(`no dockerd at ${bin}: run scripts/bench-up.sh`)
  // a subnet of its own: other tests may run a second daemon at the same time
  const subnet = `172.31.${randomInt(1, 255)}`
  execFileSync('ip', ['link', 'add', bridge, 'type', 'bridge'])
  execFileSync('ip', ['addr', 'add', `${subnet}.1/24`, 'dev', bridge])
  execFileSync('ip', ['link', 'set', bridge, 'up'])
  const rules = options.nat ? natRules(bridge, subnet) : []
  for (const rule of rules) iptables('-I', rule)
  // A containerd of its own, as a fresh runner has, not namespaces in the bench's shared one:
  // containerd's garbage collection, run after each removal, walks the metadata of every
  // namespace, and the shared one keeps what every test and build left (namespaces that second
  // daemons left there piled up, test run after test run). There one `docker run --rm` cost it
  // 0.2-0.3 s of CPU, against 0.03 s on an empty one; this one goes with the daemon's directory.
  const containerd = await startContainerd(dir, bin)
  const dockerd: ChildProcess = spawn(
    bin,
    [
      ...['--config-file', join(dir, 'daemon.json'), '--host', host],
      ...['--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec')],
      ...['--pidfile', join(dir, 'docker.pid')],
      ...['--containerd', containerd.socket],
      ...['--containerd-namespace', namespace],
      ...['--containerd-plugins-namespace', `${namespace}-plugins`],
      // its own bridge and no iptables rules: the bench's network stays as it is
      ...['--bridge', bridge, '--iptables=false', '--ip6tables=false'],
      ...(options.cgroupParent ? ['--cgroup-parent', options.cgroupParent] : [])
    ],
    {
      stdio: ['ignore', 'ignore', 'ignore'],
      // dockerd, and docker-init next to it (a docker-container builder runs with --init)
      env: {
        ...process.env,
        PATH: `${dirname(bin)}:${join(dirname(dirname(bin)), 'bin')}:${process.env['PATH']}`
      }
    }
  )
  const stop = async (): Promise<void> => {
    await terminate(dockerd)
    await terminate(containerd.child)
    execFileSync('ip', ['link', 'del', bridge], { stdio: 'pipe' })
    for (const rule of rules) iptables('-D', rule)
    // what the daemon left mounted under its roots (its network namespace handle), innermost
    // first: with containers it had run, they outlive it and rmSync fails on them
    const mounts = readFileSync('/proc/self/mounts', 'utf8')
      .split('\n')
      .map(l => l.split(' ')[1])
      .filter(m => m?.startsWith(`${dir}/`))
      .reverse()
    for (const m of mounts) execFileSync('umount', ['-l', m], { stdio: 'pipe' })
    rmSync(dir, { recursive: true, force: true })
  }
  const deadline = Date.now() + 60_000
  while (!answers(host)) {
    if (Date.now() > deadline || dockerd.exitCode !== null) {
      await stop()
      throw new Error(`the ${name} dockerd did not answer on ${host}`)
    }
    await new Promise(r => setTimeout(r, 500))
  }
  return { host, stop, pid: dockerd.pid as number, containerdPid: containerd.child.pid as number }
}

/** A containerd of a daemon's own, in `dir`; resolves when its socket is there. */
async function startContainerd(
  dir: string,
  dockerd: string
): Promise<{ socket: string; child: ChildProcess }> {
  const bin = join(dirname(dirname(dockerd)), 'bin', 'containerd')
  if (!existsSync(bin)) throw new Error(`no containerd at ${bin}: run scripts/bench-up.sh`)
  const socket = join(dir, 'containerd.sock')
  // the Kubernetes plugin is not needed by dockerd
  writeFileSync(
    join(dir, 'containerd.toml'),
    [
      'version = 2',
      `root = ${JSON.stringify(join(dir, 'containerd-root'))}`,
      `state = ${JSON.stringify(join(dir, 'containerd-state'))}`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      '[grpc]',
      `  address = ${JSON.stringify(socket)}`,
      '[ttrpc]',
      `  address = ${JSON.stringify(`${socket}.ttrpc`)}`,
      ''
    ].join('\n')
  )
  const child = spawn(bin, ['--config', join(dir, 'containerd.toml')], {
    stdio: ['ignore', 'ignore', 'ignore'],
    // its runc shims next to it
    env: { ...process.env, PATH: `${dirname(bin)}:${process.env['PATH']}` }
  })
  const deadline = Date.now() + 30_000
  while (!existsSync(socket)) {
    if (Date.now() > deadline || child.exitCode !== null) {
      await terminate(child)
      throw new Error(`the containerd in ${dir} did not start`)
    }
    await new Promise(r => setTimeout(r, 100))
  }
  return { socket, child }
}

/** SIGTERM to a process this module started, unless it has exited; resolves once it has. */
async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return
  const exited = new Promise(r => child.once('exit', r))
  child.kill('SIGTERM')
  await exited
}
