import { afterEach, describe, expect, it } from '@jest/globals'
import { isFeatureAvailable } from '@actions/cache'
import {
  actionsCacheVersion,
  buildCacheUnavailableReason,
  buildxCacheVersion,
  goCacheUnavailableReason,
  type CacheEnv
} from '../src/cacheService.js'

/** An unsigned JWT with the claims a runner's token has (go-actions-cache reads, never verifies). */
function jwt(claims: object): string {
  const part = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url')
  return `${part({ alg: 'HS256', typ: 'JWT' })}.${part(claims)}.c2ln`
}
const TOKEN = jwt({ ac: '[{"Scope":"refs/heads/main","Permission":3}]', exp: 2e9, nbf: 1e9 })

/** What each runner sets (act 0.2.89: cmd/root.go, pkg/runner/run_context.go setActionRuntimeVars). */
const RUNNERS: Record<string, CacheEnv> = {
  'GitHub-hosted (v2)': {
    ACTIONS_RUNTIME_TOKEN: TOKEN,
    ACTIONS_RESULTS_URL: 'https://results-receiver.actions.githubusercontent.com/',
    ACTIONS_CACHE_URL: 'https://artifactcache.actions.githubusercontent.com/x/',
    ACTIONS_CACHE_SERVICE_V2: 'True'
  },
  'nektos/act, defaults (its cache server, no token)': {
    ACTIONS_CACHE_URL: 'http://127.0.0.1:41717/a1b2/'
  },
  'nektos/act --artifact-server-path (token; ACTIONS_RESULTS_URL is the artifact server)': {
    ACTIONS_CACHE_URL: 'http://127.0.0.1:41717/a1b2/',
    ACTIONS_RUNTIME_URL: 'http://127.0.0.1:34567/',
    ACTIONS_RESULTS_URL: 'http://127.0.0.1:34567/',
    ACTIONS_RUNTIME_TOKEN: TOKEN
  },
  'Gitea/Forgejo runner (v1 on its own server URL)': {
    GITHUB_SERVER_URL: 'https://gitea.example.com',
    ACTIONS_CACHE_URL: 'http://10.0.0.2:42000/',
    ACTIONS_RUNTIME_TOKEN: TOKEN,
    ACTIONS_CACHE_SERVICE_V2: 'true'
  },
  'no cache service': {}
}

describe('Go cache availability: the rule of @actions/cache', () => {
  it.each<[string, string | undefined]>([
    ['GitHub-hosted (v2)', undefined],
    ['nektos/act, defaults (its cache server, no token)', undefined],
    [
      'nektos/act --artifact-server-path (token; ACTIONS_RESULTS_URL is the artifact server)',
      undefined
    ],
    ['Gitea/Forgejo runner (v1 on its own server URL)', undefined],
    [
      'no cache service',
      'ACTIONS_CACHE_URL is not set (and no v2 service: ACTIONS_CACHE_SERVICE_V2 is not set)'
    ]
  ])('%s', (runner, why) => {
    expect(goCacheUnavailableReason(RUNNERS[runner])).toBe(why)
  })

  it.each<[CacheEnv, string | undefined]>([
    [
      { ACTIONS_CACHE_SERVICE_V2: 'True', ACTIONS_RUNTIME_TOKEN: TOKEN, ACTIONS_CACHE_URL: 'u' },
      'ACTIONS_CACHE_SERVICE_V2 is set but ACTIONS_RESULTS_URL is not'
    ],
    [
      { ACTIONS_CACHE_SERVICE_V2: 'True', ACTIONS_RESULTS_URL: 'u' },
      'ACTIONS_CACHE_SERVICE_V2 is set but ACTIONS_RUNTIME_TOKEN is not'
    ],
    [
      // v1 reads ACTIONS_CACHE_URL only; a results URL alone is not a v1 service
      { ACTIONS_RUNTIME_TOKEN: TOKEN, ACTIONS_RESULTS_URL: 'u' },
      'ACTIONS_CACHE_URL is not set (and no v2 service: ACTIONS_CACHE_SERVICE_V2 is not set)'
    ]
  ])('half-set env %j', (env, why) => {
    expect(goCacheUnavailableReason(env)).toBe(why)
  })

  it.each([
    [{}, 'v1'],
    [{ ACTIONS_CACHE_SERVICE_V2: 'True' }, 'v2'],
    [{ ACTIONS_CACHE_SERVICE_V2: 'anything' }, 'v2'],
    [{ ACTIONS_CACHE_SERVICE_V2: 'True', GITHUB_SERVER_URL: 'https://ghe.corp.example' }, 'v1'],
    [{ ACTIONS_CACHE_SERVICE_V2: 'True', GITHUB_SERVER_URL: 'https://acme.ghe.com' }, 'v2']
  ])('protocol for %j: %s', (env, version) => {
    expect(actionsCacheVersion(env)).toBe(version)
  })

  describe('agrees with @actions/cache itself', () => {
    const saved = { ...process.env }
    afterEach(() => {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k]
      Object.assign(process.env, saved)
    })
    it.each(Object.keys(RUNNERS))('%s', runner => {
      for (const k of Object.keys(process.env))
        if (/^(ACTIONS_|GITHUB_SERVER_URL$)/.test(k)) delete process.env[k]
      Object.assign(process.env, RUNNERS[runner])
      expect(goCacheUnavailableReason(process.env) === undefined).toBe(isFeatureAvailable())
    })
  })
})

describe('build cache availability: the rule of buildx and BuildKit', () => {
  it.each<[string, string | undefined]>([
    ['GitHub-hosted (v2)', undefined],
    [
      'nektos/act, defaults (its cache server, no token)',
      'ACTIONS_RUNTIME_TOKEN is not set, and buildx drops a type=gha cache without one (nektos/act sets one with --artifact-server-path)'
    ],
    [
      'nektos/act --artifact-server-path (token; ACTIONS_RESULTS_URL is the artifact server)',
      undefined
    ],
    ['Gitea/Forgejo runner (v1 on its own server URL)', undefined],
    [
      'no cache service',
      'ACTIONS_RUNTIME_TOKEN is not set, and buildx drops a type=gha cache without one (nektos/act sets one with --artifact-server-path)'
    ]
  ])('%s', (runner, why) => {
    expect(buildCacheUnavailableReason(RUNNERS[runner])).toBe(why)
  })

  it.each<[CacheEnv, string | undefined]>([
    [
      { ACTIONS_RUNTIME_TOKEN: TOKEN, ACTIONS_RESULTS_URL: 'u' },
      'ACTIONS_CACHE_URL is not set (and ACTIONS_CACHE_SERVICE_V2 is not true)'
    ],
    [
      { ACTIONS_RUNTIME_TOKEN: TOKEN, ACTIONS_RESULTS_URL: 'u', ACTIONS_CACHE_SERVICE_V2: '1' },
      undefined
    ],
    [
      { ACTIONS_RUNTIME_TOKEN: TOKEN, ACTIONS_CACHE_SERVICE_V2: 'true' },
      'neither ACTIONS_CACHE_URL nor ACTIONS_RESULTS_URL is set'
    ],
    [
      { ACTIONS_RUNTIME_TOKEN: 'token', ACTIONS_CACHE_URL: 'u' },
      "ACTIONS_RUNTIME_TOKEN is not a JWT with an 'ac' claim, which BuildKit's gha cache client requires"
    ],
    [
      { ACTIONS_RUNTIME_TOKEN: jwt({ exp: 2e9 }), ACTIONS_CACHE_URL: 'u' },
      "ACTIONS_RUNTIME_TOKEN is not a JWT with an 'ac' claim, which BuildKit's gha cache client requires"
    ]
  ])('%j', (env, why) => {
    expect(buildCacheUnavailableReason(env)).toBe(why)
  })

  it.each([
    ['true', 2],
    ['True', 2],
    ['1', 2],
    ['t', 2],
    ['yes', 1],
    ['false', 1],
    ['', 1]
  ])('ACTIONS_CACHE_SERVICE_V2=%j asks for gha protocol %d (strconv.ParseBool)', (v, version) => {
    expect(buildxCacheVersion({ ACTIONS_CACHE_SERVICE_V2: v })).toBe(version)
  })
})
