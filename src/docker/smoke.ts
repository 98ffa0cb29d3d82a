import * as core from '@actions/core'
import { randomBytes } from 'node:crypto'
import { run, type ExecResult } from '../exec.js'
import type { PlannedImage } from '../plan/plan.js'
import type { SmokeResult } from '../results.js'
import { smokeCommand } from './buildArgs.js'
import { DOCKER_CONTROL_TIMEOUT_S, dockerBound } from './timeouts.js'

/**
 * Where the smoke tests print: `print` runs when its output may reach the log (a stage running
 * beside others keeps it for later, StageLog); by default at once.
 */
export type SmokeLog = (print: () => void) => void
const now: SmokeLog = print => print()

/** State key of the smoke tests' network, for the post step to remove if the main step could not. */
export const SMOKE_NETWORK_STATE = 'smokeNetwork'

/** How often an HTTP smoke test asks again, and how long one request may take. */
const PROBE_INTERVAL_MS = 250
const PROBE_TIMEOUT_MS = 2_000

/** How the smoke test of one platform ended, before it is made a SmokeResult. */
interface Outcome {
  ok: boolean
  why?: string
}

/**
 * Runs the image on one platform and decides as soon as it can: it passes the moment the
 * expected text is in the output (text mode) or the HTTP probe is answered 2xx with the expected
 * body (`smoke.http`), whether or not the process has exited, and the container is then removed
 * (`removed` settles when it is gone; a passed text test returns before that). It fails when the
 * process exits before that (with its exit code), or at the image's timeout. Never throws for a
 * failed check: the result says what happened.
 * @param network the run's smoke network (createSmokeNetwork), needed by an HTTP smoke test
 * @param ref where the engine holds that platform: the version tag, unless the classic store
 *   holds it under a tag of the run's own
 * @param log where its note of a second run goes
 */
export async function smokeTest(
  image: PlannedImage,
  platform: string,
  network?: string,
  ref = image.versionTag,
  log: SmokeLog = now
): Promise<{ result: SmokeResult; removed: Promise<void> }> {
  const first = await smokeOnce(image, platform, network, ref)
  if (!lostOutput(image, first.result)) return first
  // Docker and containerd give a container's output 2 s after it exits to be copied; on a loaded
  // runner it can be lost. A text test that got nothing at all, with exit code 0, runs once more.
  await first.removed
  log(() =>
    core.info(
      `smoke test of ${image.name} on ${platform}: exit code 0 and no output at all (the engine can lose a short-lived container's output under load); running it once more`
    )
  )
  return smokeOnce(image, platform, network, ref)
}

/** A text test whose container exited 0 having printed nothing at all. */
export function lostOutput(image: PlannedImage, result: SmokeResult): boolean {
  return (
    !image.smoke.http &&
    !result.ok &&
    result.output === `(${EXITED_SILENT})` &&
    image.smoke.expect !== ''
  )
}

/** The reason of a text test whose container exited 0 without the expected text. */
const EXITED_SILENT = 'exited (code 0) without printing the expected text'

/** How long a container whose text test passed has to end by itself before it is removed. */
export const EXIT_GRACE_MS = 3_000

/** Whether `p` settles within `ms`. */
async function endsWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<false>(resolve => (timer = setTimeout(() => resolve(false), ms)))
  try {
    return await Promise.race([p.then(() => true), late])
  } finally {
    clearTimeout(timer)
  }
}

/** One run of the smoke test (smokeTest). */
async function smokeOnce(
  image: PlannedImage,
  platform: string,
  network: string | undefined,
  ref: string
): Promise<{ result: SmokeResult; removed: Promise<void> }> {
  const { smoke } = image
  const name = `gia-smoke-${randomBytes(4).toString('hex')}`
  const args = smokeCommand(image, platform, name, smoke.http ? network : undefined, ref)
  const command = `docker ${args.join(' ')}`
  const started = Date.now()
  const timeoutMs = smoke.timeoutSeconds * 1000
  let output = ''
  let decided: ((o: Outcome) => void) | undefined
  const decision = new Promise<Outcome>(resolve => (decided = resolve))
  const decide = (o: Outcome): void => decided?.(o)
  const textFound = (): boolean => !smoke.http && output.includes(smoke.expect)

  const timer = setTimeout(
    () => decide({ ok: false, why: `timed out after ${smoke.timeoutSeconds} s` }),
    timeoutMs
  )
  const container: Promise<ExecResult> = run('docker', args, {
    silent: true,
    allowFailure: true,
    // the test decides at its timeout and removes the container; this bounds a daemon that stalls
    timeoutSeconds: smoke.timeoutSeconds + dockerBound(DOCKER_CONTROL_TIMEOUT_S),
    onOutput: chunk => {
      output += chunk
      if (textFound()) decide({ ok: true })
    }
  })
  void container.then(res => {
    if (textFound()) decide({ ok: true })
    else if (res.exitCode !== 0) decide({ ok: false, why: `exit code ${res.exitCode}` })
    else
      decide({
        ok: false,
        why: smoke.http ? 'exited (code 0) before answering the probe' : EXITED_SILENT
      })
  })
  const probing = smoke.http
    ? probeHttp(name, network ?? '', smoke.http, smoke.expect, decision)
    : undefined
  void probing?.then(o => o && decide(o))

  const outcome = await decision
  clearTimeout(timer)
  // Passed, failed or timed out: the container goes (a server would run on), and the attached
  // `docker run` ends once the daemon has removed it. A text test that passed is given
  // EXIT_GRACE_MS to end on its own (`--rm`: the daemon removes it), which a `--version` does: no
  // `docker rm` then.
  const removed = (async (): Promise<void> => {
    if (outcome.ok && !smoke.http && (await endsWithin(container, EXIT_GRACE_MS))) return
    await run('docker', ['rm', '--force', name], { silent: true, allowFailure: true })
    await container
  })()
  const probeNote = (await probing)?.why
  const ms = Date.now() - started
  // A text test that passed does not wait for that (the daemon's teardown of a container takes
  // longer than a `--version`): the caller waits for `removed` before the run ends. A failed test
  // waits, for the whole output; so does an HTTP test, whose network goes after its containers.
  if (!(outcome.ok && !smoke.http)) await removed
  const text = output.trim()
  const result: SmokeResult = outcome.ok
    ? { ok: true, command, output: text, ms }
    : {
        ok: false,
        command,
        output: [text, `(${outcome.why}${probeNote ? `; ${probeNote}` : ''})`]
          .filter(Boolean)
          .join('\n'),
        ms
      }
  return { result, removed }
}

/**
 * Probes `http://<container IP>:<port><path>` from the runner until it answers 2xx with the
 * expected text in its body; returns that outcome, or, once `stop` settles, undefined (with the
 * last answer as `why` for the report).
 */
async function probeHttp(
  container: string,
  network: string,
  http: { port: number; path: string },
  expect: string,
  stop: Promise<Outcome>
): Promise<Outcome | undefined> {
  let stopped = false
  void stop.then(() => (stopped = true))
  let last = 'no answer to the probe'
  let ip = ''
  while (!stopped) {
    if (!ip) ip = await containerIp(container, network)
    if (ip) {
      const url = `http://${ip}:${http.port}${http.path}`
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) })
        const body = await res.text()
        if (res.ok && body.includes(expect)) {
          core.debug(`smoke: ${url} answered ${res.status}`)
          return { ok: true }
        }
        last = `GET ${http.port}${http.path} answered ${res.status}${res.ok ? ` without "${expect}" in the body: ${body.slice(0, 200)}` : ''}`
      } catch (e) {
        last = `GET ${http.port}${http.path}: ${(e as Error).message}`
      }
    }
    await new Promise(r => setTimeout(r, PROBE_INTERVAL_MS))
  }
  return { ok: false, why: `last probe: ${last}` }
}

/** The container's address on the network, or '' while it is not there yet. */
async function containerIp(container: string, network: string): Promise<string> {
  const res = await run(
    'docker',
    [
      'container',
      'inspect',
      '--format',
      `{{with index .NetworkSettings.Networks ${JSON.stringify(network)}}}{{.IPAddress}}{{end}}`,
      container
    ],
    { silent: true, allowFailure: true }
  )
  return res.exitCode === 0 ? res.stdout.trim() : ''
}

/**
 * Creates the run's network for HTTP smoke tests: a bridge of its own, `--internal` (no way out
 * of it, no port published); the runner reaches the containers on their bridge addresses.
 */
export async function createSmokeNetwork(runId: string, log: SmokeLog = now): Promise<string> {
  const name = `gia-smoke-${runId.replace(/[^A-Za-z0-9_.-]/g, '') || 'run'}-${randomBytes(3).toString('hex')}`
  await run('docker', ['network', 'create', '--internal', name], { silent: true })
  core.saveState(SMOKE_NETWORK_STATE, name)
  log(() => core.info(`smoke network: ${name} (internal, no published ports)`))
  return name
}

/**
 * Removes the smoke network, and first any container still on it (none after a finished stage;
 * a server left running when the main step was cancelled, for the post step). Never throws.
 */
export async function removeSmokeNetwork(name: string, log: SmokeLog = now): Promise<void> {
  const left = await run('docker', ['ps', '-aq', '--filter', `network=${name}`], {
    silent: true,
    allowFailure: true
  })
  const ids = left.stdout.split('\n').filter(Boolean)
  if (ids.length > 0)
    await run('docker', ['rm', '--force', ...ids], { silent: true, allowFailure: true })
  const res = await run('docker', ['network', 'rm', name], { silent: true, allowFailure: true })
  if (res.exitCode === 0) core.saveState(SMOKE_NETWORK_STATE, '')
  else if (!/not found/i.test(res.stderr))
    log(() => core.warning(`smoke network ${name}: could not remove it: ${res.stderr.trim()}`))
}
