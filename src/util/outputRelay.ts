import { EOL } from 'node:os'
import { openFence, writeFenced } from './fence.js'

/**
 * The output of commands that run at once, printed as if they had run one after another, in
 * their order: the first streams as it comes; each other is held until every one before it has
 * ended, then printed and streamed from there on. No two commands' lines mix (a build log's steps
 * are numbered per build). The output is repository code's, so it is printed fenced
 * (src/util/fence.ts): one fence from the first text printed to the last command's end.
 */
export class OutputRelay {
  private readonly held: string[]
  private readonly ended: boolean[]
  /** The command whose output streams. */
  private head = 0
  private lineOpen = false
  private closeFence?: () => void

  constructor(count: number) {
    this.held = Array.from({ length: count }, () => '')
    this.ended = this.held.map(() => false)
  }

  /** Output of command `i`. */
  write(i: number, chunk: string): void {
    if (i === this.head) this.print(chunk)
    else this.held[i] += chunk
  }

  /** Command `i` has ended (call it exactly once per command, failed or not). */
  end(i: number): void {
    this.ended[i] = true
    while (this.head < this.ended.length && this.ended[this.head]) {
      if (this.lineOpen) this.print(EOL)
      this.head++
      if (this.head < this.held.length) {
        this.print(this.held[this.head])
        this.held[this.head] = ''
      }
    }
    if (this.head === this.ended.length) {
      this.closeFence?.()
      this.closeFence = undefined
    }
  }

  private print(text: string): void {
    if (text === '') return
    this.closeFence ??= openFence()
    writeFenced(text)
    this.lineOpen = !/[\r\n]$/.test(text)
  }
}
