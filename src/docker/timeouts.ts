/**
 * The bounds of docker calls, in one place (issue 10): a daemon or builder that stops answering
 * ends the run with an error naming the call, never hangs it. Builds are bounded by the
 * `build-timeout` input (the plan's buildTimeoutSeconds), smoke containers by `smoke-timeout`,
 * registry requests of the push by `registry-timeout`; everything else by these.
 */

/** The default of the `build-timeout` input: one hour for one `docker buildx build`. */
export const DEFAULT_BUILD_TIMEOUT_S = 3600

/** A short control call: version, info, inspect, image/network rm, logout, buildx rm, ... */
export const DOCKER_CONTROL_TIMEOUT_S = 120
/**
 * A call that may pull an image first: `buildx create --bootstrap`, `buildx inspect --bootstrap`,
 * the binfmt `docker run` of the QEMU stage.
 */
export const DOCKER_SETUP_TIMEOUT_S = 600
/** `docker save` of one image (every platform's layers). */
export const DOCKER_SAVE_TIMEOUT_S = 900
/** `docker load` of an image the action wrote (every platform's layers). */
export const DOCKER_LOAD_TIMEOUT_S = 900

/**
 * The least bound of a throwaway build of the Go cache mounts (filling them, reading their key,
 * copying them out): see goMountsBound.
 */
export const GO_MOUNTS_TIMEOUT_S = 300

/**
 * The bound of one throwaway build of the Go cache mounts: a twelfth of build-timeout (300 s by
 * default), at least GO_MOUNTS_TIMEOUT_S, never more than build-timeout itself; capped by the test
 * hook like a fixed bound. They only carry a cache, and stopping one is a warning: a builder that
 * stops exporting (BuildKit 0.13 once hung 5 minutes "exporting to client directory") must not
 * hold the release for build-timeout's hour. A larger build-timeout gives a large cache on a slow
 * runner longer.
 */
export function goMountsBound(buildTimeoutS: number, env: NodeJS.ProcessEnv = process.env): number {
  const bound = Math.min(
    buildTimeoutS,
    Math.max(GO_MOUNTS_TIMEOUT_S, Math.round(buildTimeoutS / 12))
  )
  return dockerBound(bound, env)
}

/**
 * A fixed bound, capped by GIA_DOCKER_TIMEOUT_S when set: a test hook (the e2e daemon-stall test
 * runs with a few seconds), never needed in a workflow.
 */
export function dockerBound(seconds: number, env: NodeJS.ProcessEnv = process.env): number {
  const cap = Number(env['GIA_DOCKER_TIMEOUT_S'])
  return Number.isInteger(cap) && cap > 0 ? Math.min(cap, seconds) : seconds
}
