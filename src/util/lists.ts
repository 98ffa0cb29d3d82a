import { parse as parseShellWords } from 'shell-quote'

/**
 * Splits a list input on newlines and commas, trims every item and drops blanks and `#` comments.
 * The one list helper of the action (docker's `getInputList` behaves the same way).
 */
export function splitList(value: string, opts: { commas?: boolean } = {}): string[] {
  const separator = opts.commas === false ? /\r?\n/ : /\r?\n|,/
  return value
    .split(separator)
    .map(item => item.trim())
    .filter(item => item !== '' && !item.startsWith('#'))
}

/**
 * Splits a command-line string into arguments with shell quoting rules, without ever running a
 * shell: quotes group words, `$VAR` stays literal, and any shell operator (`|`, `>`, `;`, `&&`,
 * globs, comments) is refused, because there is no shell to give it a meaning.
 * @param value the string, e.g. `--version --short`
 * @param inputName the input named in the error
 */
export function splitArgs(value: string, inputName: string): string[] {
  const words = parseShellWords(value, key => `$${key}`)
  return words.map(word => {
    if (typeof word === 'string') return word
    const op = 'op' in word ? word.op : 'comment' in word ? `#${word.comment}` : String(word)
    throw new Error(
      `${inputName}: '${value}' contains the shell operator '${op}'; arguments are passed to the ` +
        'image directly, no shell runs them'
    )
  })
}
