/**
 * A process and everything it started, found the way the runner finds a step's processes when a
 * job is cancelled: by parent id, from /proc (Linux, where the action runs). Used to stop a
 * command at its timeout: `docker` runs its buildx plugin as a child, and both must go.
 */
import { readdirSync, readFileSync } from 'node:fs'

/** The parent id of every process, from /proc/<pid>/stat. */
function parents(): Map<number, number> {
  const out = new Map<number, number>()
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      // pid (comm) state ppid ...: comm may hold spaces and parentheses, so read after the last ')'
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      out.set(Number(name), ppid)
    } catch {
      // gone meanwhile
    }
  }
  return out
}

/** pid and all its descendants, parents first. */
export function processTree(pid: number): number[] {
  const byParent = new Map<number, number[]>()
  for (const [child, parent] of parents()) {
    const list = byParent.get(parent) ?? []
    list.push(child)
    byParent.set(parent, list)
  }
  const out: number[] = []
  const queue = [pid]
  while (queue.length > 0) {
    const p = queue.shift() as number
    out.push(p)
    queue.push(...(byParent.get(p) ?? []))
  }
  return out
}

/** Sends `signal` to pid and every descendant; a process already gone is skipped. */
export function signalTree(pid: number, signal: NodeJS.Signals): void {
  for (const p of processTree(pid)) {
    try {
      process.kill(p, signal)
    } catch {
      // gone meanwhile
    }
  }
}
