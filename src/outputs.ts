import * as core from '@actions/core'
import type { Plan } from './plan/plan.js'
import type { Results } from './results.js'

/** The action's outputs, by name, as strings. */
export function computeOutputs(plan: Plan, results: Results): Record<string, string> {
  const m = plan.metadata
  const labels: string[] = []
  for (const img of plan.images) {
    for (const [k, v] of Object.entries(img.labels)) {
      const line = `${k}=${v}`
      if (!labels.includes(line)) labels.push(line)
    }
  }
  const digests: Record<string, string> = {}
  for (const r of results.images) if (r.digest) digests[r.name] = r.digest
  const metadata = {
    version: m.version,
    commit: m.commit,
    date: m.date,
    event: m.event,
    kind: m.kind,
    push: plan.push,
    latest: plan.latest,
    dryRun: plan.dryRun,
    mode: plan.mode,
    runnerPlatform: plan.runnerPlatform,
    images: plan.images.map(img => {
      const r = results.images.find(x => x.name === img.name)
      return {
        name: img.name,
        dockerfile: img.dockerfile,
        context: img.context,
        platforms: img.platforms,
        tags: img.tags,
        labels: img.labels,
        buildArgs: Object.fromEntries(img.buildArgs.map(a => [a.key, a.value])),
        cacheScope: img.cacheScope,
        smoke: img.smoke,
        digest: r?.digest,
        pushedTags: r?.pushedTags ?? [],
        tagResults: r?.tags ?? [],
        latestNote: r?.latestNote,
        platformResults: r?.platforms ?? []
      }
    }),
    stages: results.stages
  }
  return {
    version: m.version,
    commit: m.commit,
    date: m.date,
    tags: plan.images.flatMap(i => i.tags).join('\n'),
    labels: labels.join('\n'),
    push: String(plan.dryRun ? plan.push : results.pushed),
    digests: JSON.stringify(digests),
    metadata: JSON.stringify(metadata),
    matrix: JSON.stringify(plan.distributed.matrix),
    'go-cache-hit': String(results.goCacheHit ?? false)
  }
}

/** Sets every output, in one place. */
export function setOutputs(plan: Plan, results: Results): void {
  for (const [name, value] of Object.entries(computeOutputs(plan, results))) {
    core.setOutput(name, value)
  }
}
