/**
 * What a failed registry operation was, by kind: an HTTP status the registry answered, a network
 * error code from Node (undici), our own timeout, or the way Go (docker, buildx) words a dropped
 * connection. Transient kinds are worth another attempt; anything else fails the same way again.
 */

/** An HTTP answer from a registry that was not the expected one. */
export class RegistryError extends Error {
  /** The HTTP status. */
  readonly status: number
  /** How long the registry asked to wait (`Retry-After`), in ms, when it said. */
  readonly retryAfterMs?: number

  constructor(message: string, status: number, retryAfterMs?: number) {
    super(message)
    this.name = 'RegistryError'
    this.status = status
    this.retryAfterMs = retryAfterMs
  }
}

/** A registry request that made no progress for the whole timeout. */
export class RegistryTimeoutError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'RegistryTimeoutError'
  }
}

/** HTTP statuses worth another attempt: rate limits, request timeouts and server errors. */
const TRANSIENT_STATUS = new Set([408, 425, 429, 500, 502, 503, 504])

/** Node / undici error codes of a connection that dropped, was refused or timed out. */
const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ENETDOWN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH'
])

/**
 * How Go programs (docker, buildx) word the same faults in their output: a dropped or refused
 * connection, a truncated answer, a timeout, or the HTTP status line of a transient answer.
 */
const TRANSIENT_TEXT: [RegExp, string][] = [
  [/connection reset by peer/i, 'connection reset'],
  [/broken pipe/i, 'broken pipe'],
  [/use of closed network connection/i, 'connection closed'],
  [/unexpected EOF/, 'unexpected EOF'],
  [/connection refused/i, 'connection refused'],
  [
    /i\/o timeout|TLS handshake timeout|Client\.Timeout exceeded|context deadline exceeded/i,
    'timeout'
  ],
  [/\b(429 Too Many Requests|toomanyrequests)\b/i, 'HTTP 429'],
  [
    /\b(500 Internal Server Error|502 Bad Gateway|503 Service Unavailable|504 Gateway Timeout)\b/,
    'HTTP 5xx'
  ],
  [/server closed idle connection|http2: server sent GOAWAY/i, 'connection closed']
]

/** The kind of a transient error in a program's output (see TRANSIENT_TEXT), if it is one. */
export function transientText(message: string): string | undefined {
  return TRANSIENT_TEXT.find(([re]) => re.test(message))?.[1]
}

/** The first error code along an error's `cause` chain (fetch wraps the socket's error). */
function errorCode(e: unknown): string | undefined {
  for (let c: unknown = e, depth = 0; c && depth < 5; depth++) {
    const code = (c as { code?: unknown }).code
    if (typeof code === 'string') return code
    c = (c as { cause?: unknown }).cause
  }
  return undefined
}

/**
 * The kind of a transient error (`HTTP 503`, `ECONNRESET`, `timeout`, `broken pipe`, ...), or
 * undefined when another attempt would fail the same way (4xx, a wrong digest, a bug).
 */
export function transientKind(e: unknown): string | undefined {
  if (e instanceof RegistryError)
    return TRANSIENT_STATUS.has(e.status) ? `HTTP ${e.status}` : undefined
  if (e instanceof RegistryTimeoutError) return 'timeout'
  const code = errorCode(e)
  if (code && TRANSIENT_CODES.has(code)) return code
  const name = (e as { name?: unknown })?.name
  if (name === 'TimeoutError') return 'timeout'
  const message =
    e instanceof Error ? `${e.message} ${String((e.cause as Error)?.message ?? '')}` : String(e)
  return transientText(message)
}

/**
 * `Retry-After` as milliseconds: delta-seconds or an HTTP date (RFC 9110 10.2.3); undefined when
 * absent or unreadable.
 */
export function parseRetryAfter(
  value: string | null | undefined,
  now = Date.now()
): number | undefined {
  if (!value) return undefined
  const v = value.trim()
  if (/^\d+$/.test(v)) return Number(v) * 1000
  const at = Date.parse(v)
  if (Number.isNaN(at)) return undefined
  return Math.max(0, at - now)
}
