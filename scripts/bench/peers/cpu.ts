/**
 * CPU seconds of one measured job, from counters read before and after it:
 *   tree        this process's reaped children (/proc/self/stat cutime + cstime): the steps' node,
 *               go, docker CLI, ko and goreleaser processes;
 *   dockerd     the bench's private dockerd (utime + stime + cutime + cstime): its BuildKit (the
 *               `docker` driver builds in-process), pushes, loads;
 *   containers  the cgroup the private dockerd puts its containers in (cpuacct, v1): smoke tests,
 *               RUN steps, QEMU inside them, and the BuildKit of the Docker pipeline's
 *               docker-container builder (setup-buildx is given that cgroup as its parent);
 *   containerd  the private dockerd's own containerd (content, unpacking, snapshots, garbage
 *               collection), which no other engine on the machine uses.
 */
import { existsSync, readFileSync } from 'node:fs'

const TICK = 100 // USER_HZ on Linux

/** utime, stime, cutime, cstime of a process, in seconds. */
function procTimes(pid: number | 'self'): [number, number, number, number] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // fields after the command name (which may hold spaces) start at state (field 3)
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const f = (n: number): number => Number(rest[n - 3]) / TICK
  return [f(14), f(15), f(16), f(17)]
}

function cgroupSeconds(cgroup: string): number {
  const file = `/sys/fs/cgroup/cpuacct/${cgroup}/cpuacct.usage`
  return existsSync(file) ? Number(readFileSync(file, 'utf8')) / 1e9 : 0
}

/** What the counters read at one moment. */
export interface CpuSample {
  tree: number
  dockerd: number
  containers: number
  containerd: number
}

/** The CPU seconds of a job, by where they were spent, and their total. */
export interface CpuSeconds extends CpuSample {
  total: number
}

/** The processes and the cgroup whose CPU time a job is charged. */
export interface CpuSources {
  dockerdPid: number
  containerdPid?: number
  /** Relative to the cpuacct hierarchy, e.g. `gia-peers-1a2b3c`. */
  cgroup: string
}

/** Reads the counters. */
export function cpuSample(src: CpuSources): CpuSample {
  const [, , cu, cs] = procTimes('self')
  const sum = (pid: number | undefined): number => {
    if (!pid) return 0
    try {
      return procTimes(pid).reduce((a, b) => a + b, 0)
    } catch {
      return 0
    }
  }
  return {
    tree: cu + cs,
    dockerd: sum(src.dockerdPid),
    containers: cgroupSeconds(src.cgroup),
    containerd: sum(src.containerdPid)
  }
}

/** Seconds spent between two samples, rounded to 0.1. */
export function cpuSpent(before: CpuSample, after: CpuSample): CpuSeconds {
  const d = (k: keyof CpuSample): number => Math.round((after[k] - before[k]) * 10) / 10
  const out = {
    tree: d('tree'),
    dockerd: d('dockerd'),
    containers: d('containers'),
    containerd: d('containerd')
  }
  return {
    ...out,
    total: Math.round((out.tree + out.dockerd + out.containers + out.containerd) * 10) / 10
  }
}
