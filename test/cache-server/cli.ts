/**
 * Standalone entry point for the local GitHub Actions cache service.
 *
 *   node_modules/.bin/node test/cache-server/cli.ts --dir /tmp/cache [--port 0] [--host 127.0.0.1]
 *       [--advertise-host H] [--scope refs/heads/main[:3]]... [--token-ttl SECONDS]
 *       [--accept-foreign-tokens] [--verbose]
 *
 * Prints exactly one JSON line on stdout once listening:
 *   {"url":"http://127.0.0.1:PORT/","port":PORT,"pid":N,"dir":"...","env":{"ACTIONS_RUNTIME_TOKEN":...}}
 * Statistics: GET <url>_stats; a fresh env (new token): GET <url>_env.
 * Stops on SIGTERM/SIGINT. With --verbose, one line per request goes to stderr.
 *
 * Node 24 runs this file directly (type stripping). The server module is loaded
 * through a computed specifier so tsc (which does not allow `.ts` import
 * extensions without allowImportingTsExtensions) still type-checks this file.
 */
import type * as ServerModule from './server.js'
import type { TokenScope } from './server.js'

function usage(msg: string): never {
  process.stderr.write(
    `${msg}\nusage: cli.ts --dir DIR [--port N] [--host H] [--advertise-host H] [--scope REF[:PERM]]... [--token-ttl S] [--accept-foreign-tokens] [--verbose]\n`
  )
  process.exit(2)
}

const args = process.argv.slice(2)
let dir = ''
let port = 0
let host = '127.0.0.1'
let advertiseHost: string | undefined
let tokenTtl: number | undefined
let verbose = false
let acceptForeignTokens = false
const scopes: TokenScope[] = []
for (let i = 0; i < args.length; i++) {
  const a = args[i]
  const [flag, inline] = a.includes('=')
    ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]
    : [a, undefined]
  const value = (): string => {
    const v = inline ?? args[++i]
    if (v === undefined) usage(`missing value for ${flag}`)
    return v
  }
  switch (flag) {
    case '--dir':
      dir = value()
      break
    case '--port':
      port = Number(value())
      if (!Number.isInteger(port) || port < 0 || port > 65535) usage('invalid --port')
      break
    case '--host':
      host = value()
      break
    case '--advertise-host':
      advertiseHost = value()
      break
    case '--token-ttl':
      tokenTtl = Number(value())
      break
    case '--scope': {
      const v = value()
      const m = /^(.*?)(?::(\d))?$/.exec(v)
      scopes.push({ Scope: m?.[1] ?? v, Permission: m?.[2] ? Number(m[2]) : 3 })
      break
    }
    case '--accept-foreign-tokens':
      acceptForeignTokens = true
      break
    case '--verbose':
      verbose = true
      break
    case '--help':
    case '-h':
      usage('local GitHub Actions cache service (v1 + v2)')
      break
    default:
      usage(`unknown argument ${a}`)
  }
}
if (!dir) usage('--dir is required')

const mod = (await import(new URL('./server.ts', import.meta.url).href)) as typeof ServerModule
const server = await mod.startCacheServer({
  dir,
  port,
  host,
  advertiseHost,
  tokenTtlSeconds: tokenTtl,
  scopes: scopes.length ? scopes : undefined,
  acceptForeignTokens,
  log: verbose ? line => process.stderr.write(`[cache-server] ${line}\n`) : undefined
})

process.stdout.write(
  JSON.stringify({
    url: server.url,
    port: server.port,
    pid: process.pid,
    dir: server.dir,
    env: server.env()
  }) + '\n'
)

let stopping = false
const shutdown = (): void => {
  if (stopping) return
  stopping = true
  server.stop().then(
    () => process.exit(0),
    () => process.exit(1)
  )
}
process.on('SIGTERM', shutdown)
process.on('SIGINT', shutdown)
