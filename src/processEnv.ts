/**
 * The environment of every child process, decided here and only here, by what the process is.
 * The action's own environment holds its inputs (INPUT_REGISTRY-PASSWORD, INPUT_GITHUB-TOKEN),
 * the runner's tokens (ACTIONS_RUNTIME_TOKEN, ACTIONS_ID_TOKEN_REQUEST_TOKEN) and the paths of the
 * file commands (GITHUB_OUTPUT, GITHUB_ENV, ...): none of that is handed to a process that does
 * not need it.
 *
 * - `repository`: go and gofmt. `go vet`, `go test` and `go build` build and run the repository's
 *   code (test binaries; a go.mod toolchain line picks the Go that runs), and on a pull request
 *   from a fork that code is anyone's. They get the job's environment (a workflow's `env:` is what
 *   its tests are configured with) less the action's inputs and state, every ACTIONS_* variable,
 *   the file-command paths, GITHUB_TOKEN, and every variable whose name says it holds a secret
 *   (TOKEN, PASSWORD, PASSWD, SECRET, CREDENTIAL, PRIVATE_KEY).
 * - `buildx`: `docker buildx build`. Only the basics, the Docker client's settings, and the four
 *   variables the `type=gha` cache reads (ACTIONS_CACHE_URL, ACTIONS_RESULTS_URL,
 *   ACTIONS_RUNTIME_TOKEN, ACTIONS_CACHE_SERVICE_V2). RUN steps run in BuildKit and see only build
 *   arguments, never this environment.
 * - `docker`: every other docker command (login, push, inspect, run, buildx create/rm): the
 *   basics and the Docker client's settings. A smoke-test container gets no environment from the
 *   client at all (`docker run` passes none without `--env`).
 * - `tool`: anything else (git, timeout's own process is the command it runs): the basics.
 */

/** What a child process is, for the environment it gets. */
export type ProcessKind = 'repository' | 'buildx' | 'docker' | 'tool'

/** What every process may see: where programs and home are, locale, temp, proxies, CA files. */
const BASICS = [
  /^(PATH|HOME|USER|LOGNAME|SHELL|LANG|LANGUAGE|TZ|TMPDIR|TEMP|TMP|TERM)$/,
  /^LC_[A-Z_]+$/,
  /^XDG_[A-Z_]+$/,
  /^(HTTP|HTTPS|NO|ALL|FTP)_PROXY$/i,
  /^SSL_CERT_(FILE|DIR)$/
]

/** The Docker client's and buildx's own settings (daemon socket, config dir, TLS, builder). */
const DOCKER = [/^DOCKER_[A-Z_]+$/, /^BUILDX_[A-Z_]+$/, /^BUILDKIT_[A-Z_]+$/]

/** What buildx's `type=gha` cache reads. */
const GHA_CACHE = [
  /^(ACTIONS_CACHE_URL|ACTIONS_RESULTS_URL|ACTIONS_RUNTIME_TOKEN|ACTIONS_CACHE_SERVICE_V2)$/
]

/** What a process that runs the repository's code never gets, whatever the job set. */
const WITHHELD_FROM_REPOSITORY = [
  /^INPUT_/,
  /^STATE_/,
  /^ACTIONS_/,
  /^GITHUB_(OUTPUT|ENV|PATH|STATE|STEP_SUMMARY|TOKEN)$/,
  /TOKEN|PASSWORD|PASSWD|SECRET|CREDENTIAL|PRIVATE_KEY/i
]

/** The kind of a command line (the one place that says which process is which). */
export function processKind(command: string, args: readonly string[]): ProcessKind {
  const name = command.split('/').pop() ?? command
  if (name === 'go' || name === 'gofmt') return 'repository'
  if (name === 'docker') return args[0] === 'buildx' && args[1] === 'build' ? 'buildx' : 'docker'
  return 'tool'
}

/**
 * Whether processes of this kind run or build the repository's code, whose output is then
 * fenced in the log (src/util/fence.ts): go and gofmt, and `docker buildx build` (RUN steps).
 */
export function runsRepositoryCode(kind: ProcessKind): boolean {
  return kind === 'repository' || kind === 'buildx'
}

/**
 * The environment of a process of this kind, from the action's own environment, with `extra`
 * (the plan's settings, e.g. GOOS/GOARCH/CGO_ENABLED) on top.
 */
export function processEnv(
  kind: ProcessKind,
  env: NodeJS.ProcessEnv,
  extra: Record<string, string> = {}
): Record<string, string> {
  const allowed: Record<ProcessKind, (name: string) => boolean> = {
    repository: name => !WITHHELD_FROM_REPOSITORY.some(re => re.test(name)),
    buildx: name => [...BASICS, ...DOCKER, ...GHA_CACHE].some(re => re.test(name)),
    docker: name => [...BASICS, ...DOCKER].some(re => re.test(name)),
    tool: name => BASICS.some(re => re.test(name))
  }
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && allowed[kind](name)) out[name] = value
  }
  return { ...out, ...extra }
}
