/**
 * A fault-injecting proxy in front of the real registry (127.0.0.1:5000 by default), scriptable
 * per test: rules match requests by method and path (and, for manifest PUTs, by the release the
 * manifest is of) and answer with an HTTP error (with `Retry-After`), reset the connection after
 * part of the body, stall (never answer), or hold the request until the test releases it.
 * Everything else is forwarded untouched, Host header included, so the registry's upload
 * Locations point back at the proxy. Optionally it asks for a Bearer token (the distribution
 * token flow) before forwarding.
 */
import {
  createServer,
  request,
  type IncomingMessage,
  type Server,
  type ServerResponse
} from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

/** What a rule does to a request it matches. */
export type Fault =
  | { kind: 'status'; status: number; retryAfter?: number }
  | { kind: 'reset' }
  | { kind: 'stall' }
  | { kind: 'hold'; until: Promise<void> }

/** A scripted fault: which requests, how many times, what happens. */
export interface Rule {
  method?: string
  /** Matched against the path (with query). */
  path: RegExp
  /** Only manifest PUTs whose image carries this org.opencontainers.image.version label. */
  version?: string
  /** Only manifest PUTs of an index (true) or of a single-platform manifest (false). */
  index?: boolean
  /** Matches left (default: unlimited). */
  times?: number
  fault: Fault
}

/** A running proxy. */
export interface RegistryProxy {
  /** `127.0.0.1:<port>`: use it as the image's registry. */
  host: string
  rules: Rule[]
  /** Every request, as `METHOD path`. */
  requests: string[]
  /** The requests a rule answered, as `METHOD path -> fault`. */
  injected: string[]
  close(): Promise<void>
}

/** Options of startRegistryProxy. */
export interface ProxyOptions {
  upstream?: string
  /** Ask for a Bearer token from the proxy's own token service, issued for these credentials. */
  bearer?: { user: string; password: string }
}

const ERROR_BODY = (status: number): string =>
  JSON.stringify({
    errors: [{ code: 'UNAVAILABLE', message: `injected ${status}`, detail: 'fault proxy' }]
  })

const ACCEPT =
  'application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json'

async function upstreamJson(upstream: string, path: string): Promise<Record<string, unknown>> {
  const res = await fetch(`http://${upstream}${path}`, { headers: { Accept: ACCEPT } })
  if (!res.ok) throw new Error(`proxy: GET ${path}: ${res.status}`)
  return (await res.json()) as Record<string, unknown>
}

/** The version label of the image a manifest PUT body is of (through the upstream registry). */
async function versionOf(
  upstream: string,
  repo: string,
  body: Buffer
): Promise<string | undefined> {
  let m = JSON.parse(body.toString('utf8')) as Record<string, unknown>
  const children = m['manifests'] as { digest: string }[] | undefined
  if (children?.length)
    m = await upstreamJson(upstream, `/v2/${repo}/manifests/${children[0].digest}`)
  const config = m['config'] as { digest: string } | undefined
  if (!config) return undefined
  const c = await upstreamJson(upstream, `/v2/${repo}/blobs/${config.digest}`)
  return (c['config'] as { Labels?: Record<string, string> } | undefined)?.Labels?.[
    'org.opencontainers.image.version'
  ]
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

/** Starts a proxy on a free port of 127.0.0.1. */
export async function startRegistryProxy(opts: ProxyOptions = {}): Promise<RegistryProxy> {
  const upstream = opts.upstream ?? '127.0.0.1:5000'
  const rules: Rule[] = []
  const requests: string[] = []
  const injected: string[] = []
  const sockets = new Set<Socket>()
  const token = `tok-${Math.random().toString(36).slice(2)}`

  const forward = (req: IncomingMessage, res: ServerResponse, body?: Buffer): void => {
    const headers = { ...req.headers }
    delete headers['authorization']
    const up = request(
      {
        host: upstream.split(':')[0],
        port: Number(upstream.split(':')[1]),
        method: req.method,
        path: req.url,
        headers
      },
      r => {
        res.writeHead(r.statusCode ?? 502, r.headers)
        r.pipe(res)
      }
    )
    up.on('error', e => res.destroy(e))
    if (body) up.end(body)
    else req.pipe(up)
  }

  const apply = async (
    rule: Rule,
    req: IncomingMessage,
    res: ServerResponse,
    body?: Buffer
  ): Promise<void> => {
    const f = rule.fault
    injected.push(
      `${req.method} ${req.url} -> ${f.kind}${f.kind === 'status' ? ` ${f.status}` : ''}`
    )
    if (f.kind === 'status') {
      const headers: Record<string, string> = { 'Content-Type': 'application/json' }
      if (f.retryAfter !== undefined) headers['Retry-After'] = String(f.retryAfter)
      res.writeHead(f.status, headers)
      res.end(ERROR_BODY(f.status))
    } else if (f.kind === 'reset') {
      // a connection dropped mid-request: take the first chunk of the body (if any), then cut
      if (body || req.readableEnded) req.socket.destroy()
      else {
        req.once('data', () => req.socket.destroy())
        req.once('end', () => req.socket.destroy())
      }
    } else if (f.kind === 'stall') {
      req.resume() // read the body, never answer
    } else {
      await f.until
      forward(req, res, body)
    }
  }

  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = req.url ?? '/'
      requests.push(`${req.method} ${url}`)
      if (opts.bearer) {
        if (url.startsWith('/token')) {
          const want = `Basic ${Buffer.from(`${opts.bearer.user}:${opts.bearer.password}`).toString('base64')}`
          const ok = req.headers.authorization === want
          res.writeHead(ok ? 200 : 401, { 'Content-Type': 'application/json' })
          res.end(JSON.stringify(ok ? { token } : { errors: [{ code: 'UNAUTHORIZED' }] }))
          return
        }
        if (req.headers.authorization !== `Bearer ${token}`) {
          const repo = /^\/v2\/(.+?)\/(manifests|blobs|tags)\//.exec(url)?.[1]
          res.writeHead(401, {
            'Content-Type': 'application/json',
            'WWW-Authenticate': `Bearer realm="http://${req.headers.host}/token",service="fault-proxy"${repo ? `,scope="repository:${repo}:pull,push"` : ''}`
          })
          res.end(
            JSON.stringify({
              errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }]
            })
          )
          return
        }
      }
      const candidates = rules.filter(
        r =>
          (r.times === undefined || r.times > 0) &&
          (!r.method || r.method === req.method) &&
          r.path.test(url)
      )
      let body: Buffer | undefined
      const needsBody = candidates.some(r => r.version !== undefined || r.index !== undefined)
      if (needsBody && req.method === 'PUT' && url.includes('/manifests/'))
        body = await readBody(req)
      for (const rule of candidates) {
        if (rule.index !== undefined || rule.version !== undefined) {
          if (!body) continue
          const parsed = JSON.parse(body.toString('utf8')) as { manifests?: unknown[] }
          if (rule.index !== undefined && rule.index !== Array.isArray(parsed.manifests)) continue
          if (rule.version !== undefined) {
            const repo = /^\/v2\/(.+)\/manifests\//.exec(url)?.[1] ?? ''
            if ((await versionOf(upstream, repo, body)) !== rule.version) continue
          }
        }
        if (rule.times !== undefined) rule.times--
        await apply(rule, req, res, body)
        return
      }
      forward(req, res, body)
    })().catch(e => res.destroy(e as Error))
  })
  server.on('connection', s => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    host: `127.0.0.1:${port}`,
    rules,
    requests,
    injected,
    close: () =>
      new Promise<void>(resolve => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      })
  }
}
