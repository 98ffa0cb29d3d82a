import { describe, expect, it } from '@jest/globals'
import { labelText, oneLine } from '../src/util/text.js'

describe('text from data on its way to a sink', () => {
  it.each([
    ['plain text', 'plain text'],
    ['a\nb', 'a\\nb'],
    ['a\r::add-mask::x', 'a\\r::add-mask::x'],
    ['tab\there', 'tab\\there'],
    ['nul\u0000 esc\u001b del\u007f nel\u0085', 'nul\\u0000 esc\\u001b del\\u007f nel\\u0085'],
    ['ls\u2028ps\u2029', 'ls\\u2028ps\\u2029'],
    ['%0A and :: stay as they are', '%0A and :: stay as they are'],
    ['ünïcödé ✓', 'ünïcödé ✓']
  ])('oneLine(%j) = %j', (input, want) => {
    expect(oneLine(input)).toBe(want)
  })

  it.each([
    ['A tool\r\n\nfor things', 'A tool for things'],
    ['  padded\t', 'padded'],
    ['bell\u0007 and nul\u0000', 'bell and nul'],
    ['line\u2028sep', 'line sep']
  ])('labelText(%j) = %j', (input, want) => {
    expect(labelText(input)).toBe(want)
  })
})
