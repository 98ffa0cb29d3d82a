/**
 * Whether the GitHub Actions cache service can be used, decided the way its two clients decide:
 * @actions/cache for the Go caches, buildx for the `type=gha` build cache. Runners differ:
 * GitHub's sets ACTIONS_RUNTIME_TOKEN, ACTIONS_RESULTS_URL and ACTIONS_CACHE_SERVICE_V2 (the v2
 * service); nektos/act, and the Gitea and Forgejo runners built on it, set ACTIONS_CACHE_URL (v1)
 * and a token only with act's artifact server (`--artifact-server-path`). Pure.
 */

/** The cache service environment, as the runner sets it. */
export type CacheEnv = Record<string, string | undefined>

/**
 * The protocol @actions/cache speaks (its getCacheServiceVersion): v1 on GitHub Enterprise Server
 * (a GITHUB_SERVER_URL other than github.com, *.ghe.com or *.localhost) whatever the flag says,
 * otherwise v2 when ACTIONS_CACHE_SERVICE_V2 is set to anything.
 */
export function actionsCacheVersion(env: CacheEnv): 'v1' | 'v2' {
  if (isGhes(env['GITHUB_SERVER_URL'])) return 'v1'
  return env['ACTIONS_CACHE_SERVICE_V2'] ? 'v2' : 'v1'
}

/**
 * Why @actions/cache cannot save or restore the Go caches here, or undefined when it can. Its
 * isFeatureAvailable: v1 needs ACTIONS_CACHE_URL (the token may be empty: act's cache server
 * asks for none), v2 needs ACTIONS_RESULTS_URL; and its v2 client throws without a token.
 */
export function goCacheUnavailableReason(env: CacheEnv): string | undefined {
  if (actionsCacheVersion(env) === 'v2') {
    if (!env['ACTIONS_RESULTS_URL'])
      return 'ACTIONS_CACHE_SERVICE_V2 is set but ACTIONS_RESULTS_URL is not'
    if (!env['ACTIONS_RUNTIME_TOKEN'])
      return 'ACTIONS_CACHE_SERVICE_V2 is set but ACTIONS_RUNTIME_TOKEN is not'
    return undefined
  }
  if (!env['ACTIONS_CACHE_URL'])
    return 'ACTIONS_CACHE_URL is not set (and no v2 service: ACTIONS_CACHE_SERVICE_V2 is not set)'
  return undefined
}

/**
 * The gha cache protocol buildx asks BuildKit for: 2 when ACTIONS_CACHE_SERVICE_V2 parses as a Go
 * boolean true (strconv.ParseBool), else 1.
 */
export function buildxCacheVersion(env: CacheEnv): 1 | 2 {
  return ['1', 't', 'T', 'true', 'TRUE', 'True'].includes(env['ACTIONS_CACHE_SERVICE_V2'] ?? '')
    ? 2
    : 1
}

/**
 * Why the buildx `type=gha` cache cannot work here, or undefined when it can. buildx drops a gha
 * entry without a word unless it has a token (ACTIONS_RUNTIME_TOKEN) and a URL (ACTIONS_CACHE_URL,
 * or ACTIONS_RESULTS_URL for v2); BuildKit's client (go-actions-cache) then reads the cache scopes
 * from the token, a JWT with an `ac` claim, and fails the build when it is not one.
 */
export function buildCacheUnavailableReason(env: CacheEnv): string | undefined {
  const token = env['ACTIONS_RUNTIME_TOKEN'] ?? ''
  if (!token)
    return 'ACTIONS_RUNTIME_TOKEN is not set, and buildx drops a type=gha cache without one (nektos/act sets one with --artifact-server-path)'
  const v2Url = buildxCacheVersion(env) === 2 ? env['ACTIONS_RESULTS_URL'] : undefined
  if (!env['ACTIONS_CACHE_URL'] && !v2Url)
    return buildxCacheVersion(env) === 2
      ? 'neither ACTIONS_CACHE_URL nor ACTIONS_RESULTS_URL is set'
      : 'ACTIONS_CACHE_URL is not set (and ACTIONS_CACHE_SERVICE_V2 is not true)'
  if (!hasCacheScopes(token))
    return "ACTIONS_RUNTIME_TOKEN is not a JWT with an 'ac' claim, which BuildKit's gha cache client requires"
  return undefined
}

/** A JWT whose payload has the `ac` (cache scopes) claim, read without verifying it. */
function hasCacheScopes(token: string): boolean {
  const parts = token.split('.')
  if (parts.length !== 3) return false
  try {
    const claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as unknown
    return typeof claims === 'object' && claims !== null && 'ac' in claims
  } catch {
    return false
  }
}

function isGhes(serverUrl: string | undefined): boolean {
  let host: string
  try {
    host = new URL(serverUrl || 'https://github.com').hostname.toUpperCase()
  } catch {
    return false
  }
  return host !== 'GITHUB.COM' && !host.endsWith('.GHE.COM') && !host.endsWith('.LOCALHOST')
}
