/**
 * What repository code prints (go vet, go test, `docker buildx build` with its RUN steps, smoke
 * containers) reaches the log fenced: between `::stop-commands::<token>` and `::<token>::`, with
 * a fresh random token per fence, the runner takes no line for a workflow command, so an
 * `::error::`, `::add-mask::` or `::set-output` printed by that code is inert, and so is a
 * `::stop-commands::` of its own (only this token resumes). The action issues its own commands
 * (log groups, annotations) only outside a fence; a fence opened while one is open shares it, and
 * the last to close ends it.
 */
import { randomBytes } from 'node:crypto'
import { EOL } from 'node:os'

let open: { token: string; users: number } | undefined
/** The last text written through here did not end its line. */
let midLine = false

function write(text: string): void {
  if (text === '') return
  process.stdout.write(text)
  midLine = !/[\r\n]$/.test(text)
}

/** A token nobody can guess: 128 random bits. */
export function fenceToken(): string {
  return randomBytes(16).toString('hex')
}

/**
 * Opens a fence (or joins the open one) and returns its close; closing twice does nothing. The
 * resume line always starts a line of its own, whatever the fenced text ended with.
 */
export function openFence(): () => void {
  if (!open) {
    open = { token: fenceToken(), users: 0 }
    write(`${midLine ? EOL : ''}::stop-commands::${open.token}${EOL}`)
  }
  const fence = open
  fence.users++
  let closed = false
  return () => {
    if (closed) return
    closed = true
    fence.users--
    if (fence.users === 0 && open === fence) {
      write(`${midLine ? EOL : ''}::${fence.token}::${EOL}`)
      open = undefined
    }
  }
}

/** Writes output of repository code; call only between openFence() and its close. */
export function writeFenced(chunk: string): void {
  if (!open) throw new Error('internal: fenced output written with no fence open')
  write(chunk)
}

/** Prints text from repository code (e.g. a smoke container's output) in a fence of its own. */
export function printFenced(text: string): void {
  const close = openFence()
  try {
    writeFenced(text.endsWith('\n') ? text : `${text}${EOL}`)
  } finally {
    close()
  }
}

/**
 * Runs `print`, which issues the action's own workflow commands (a warning of a retry, say), where
 * the runner reads them, even while a fence is open for output that runs at the same time (a
 * build's log): the fence is ended for them and opened again under a new token, which the open
 * fence's users share from then on. Outside a fence it just runs `print`.
 */
export function outsideFence(print: () => void): void {
  const fence = open
  if (!fence) return print()
  write(`${midLine ? EOL : ''}::${fence.token}::${EOL}`)
  try {
    print()
  } finally {
    fence.token = fenceToken()
    write(`::stop-commands::${fence.token}${EOL}`)
  }
}
