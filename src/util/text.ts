/**
 * Text from data (event payload, inputs, process output) on its way to a sink that reads lines:
 * the log (the runner reads every line, after leading whitespace, as a possible `::command` or
 * `##[command]`; `\r` alone ends a line for it), the job summary, a label or an output.
 */

/** Control characters, the line and paragraph separators, and NEL: nothing a one-line value has. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g

/**
 * The text on one line: every control character JSON-escaped (`\n`, `\r`, `\t`, `\u001b`, ...).
 * Printable text is unchanged, so an ordinary value reads as it is.
 */
export function oneLine(text: string): string {
  return text.replace(
    CONTROL,
    c =>
      ({ '\n': '\\n', '\r': '\\r', '\t': '\\t' })[c] ??
      `\\u${(c.codePointAt(0) as number).toString(16).padStart(4, '0')}`
  )
}

/**
 * A label or annotation value: one line of text, every run of whitespace (newlines included) a
 * single space, other control characters dropped. For values such as a repository description
 * that are prose: escaping them would only make them unreadable.
 */
export function labelText(text: string): string {
  return text
    .replace(/[\s\u0085\u2028\u2029]+/g, ' ')
    .replace(CONTROL, '')
    .trim()
}
