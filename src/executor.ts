import * as core from '@actions/core'
import { resolve } from 'node:path'
import type { GitHubContext } from './context.js'
import { buildImage, readLoaded, type BuiltImage } from './docker/build.js'
import { setupBuilder } from './docker/builder.js'
import { inspectEngine } from './docker/engine.js'
import { login, loginTargets } from './docker/login.js'
import { pushAll } from './docker/push.js'
import { setupQemu } from './docker/qemu.js'
import { createSmokeNetwork, removeSmokeNetwork, smokeTest } from './docker/smoke.js'
import {
  cacheUnavailableReason,
  goBuildConfig,
  markGoCacheForSave,
  restoreGoCache
} from './go/cache.js'
import { runnerBuild } from './go/build.js'
import { limit } from './limit.js'
import { goGate } from './go/gate.js'
import semver from 'semver'
import type { Inputs } from './inputs.js'
import type { Plan } from './plan/plan.js'
import type { ImageResult, Results, SmokeResult, StageTiming } from './results.js'

/** How many smoke tests of one image run at once. */
const SMOKE_PARALLEL = 4

/**
 * Runs one stage in a log group and records its time, also when it fails.
 */
export async function stage<T>(results: Results, name: string, fn: () => Promise<T>): Promise<T> {
  const started = Date.now()
  const timing: StageTiming = { stage: name, ms: 0, status: 'ok' }
  results.stages.push(timing)
  try {
    return await core.group(name, fn)
  } catch (e) {
    timing.status = 'failed'
    throw e
  } finally {
    timing.ms = Date.now() - started
  }
}

function skipped(results: Results, name: string, note: string): void {
  results.stages.push({ stage: name, ms: 0, status: 'skipped', note })
}

/**
 * Runs the plan: gate -> qemu/buildx -> login -> build -> smoke -> push. Any failure stops the run
 * before anything is pushed. `results` is filled as stages finish, so a failure still reports
 * what happened.
 */
export async function execute(
  plan: Plan,
  inputs: Inputs,
  ctx: GitHubContext,
  results: Results
): Promise<Results> {
  const workspace = ctx.workspace

  const goDirs = plan.goModules.map(d => resolve(workspace, d))
  let goCacheHit = false
  const usesGo = plan.goGate.enabled || plan.images.some(i => i.runnerBuild)
  if (usesGo && plan.cache) {
    await stage(results, 'Go cache', async () => {
      goCacheHit = (await restoreGoCache(goDirs, goBuildConfig(plan))).hit
      results.goCacheHit = goCacheHit
    })
  } else
    skipped(
      results,
      'Go cache',
      plan.cache ? 'no Go step (go-gate: false, no runner build)' : 'cache: false'
    )

  if (plan.goGate.enabled) {
    await stage(results, 'Go gate', async () => {
      for (const dir of plan.goGate.workingDirectories)
        await goGate(resolve(workspace, dir), workspace, plan.goGate)
    })
  } else skipped(results, 'Go gate', 'go-gate: false')

  const runnerImages = plan.images.filter(i => i.runnerBuild)
  if (runnerImages.length > 0) {
    await stage(results, 'Go build', async () => {
      for (const image of runnerImages) {
        const goDir = resolve(workspace, image.runnerBuild?.goDir ?? '.')
        await runnerBuild(image, goDir, workspace, plan.sourceDateEpoch)
      }
    })
  } else skipped(results, 'Go build', 'no runner build (no image sets main)')

  const engine = await stage(results, 'Engine', async () => {
    const info = await inspectEngine()
    core.info(
      `Docker ${info.serverVersion}, buildx ${info.buildxVersion}, ${info.containerdStore ? 'containerd' : 'classic'} image store`
    )
    if (!info.containerdStore) {
      throw new Error(
        'the engine uses the classic image store, which cannot hold a multi-platform image to test before pushing; ' +
          'enable the containerd image store ("features": {"containerd-snapshotter": true} in daemon.json, e.g. with docker/setup-docker-action\'s daemon-config; the default from Docker 29)'
      )
    }
    return info
  })

  if (plan.qemu.platforms.length > 0) {
    await stage(results, 'QEMU', async () => {
      await setupQemu(plan.qemu.platforms)
    })
  } else skipped(results, 'QEMU', plan.qemu.reason)

  const builder = await stage(results, 'Builder', async () => {
    const b = await setupBuilder(engine, ctx.runId)
    const unsupported = plan.images
      .flatMap(i => i.platforms)
      .filter(p => b.platforms.length > 0 && !b.platforms.includes(p))
    if (unsupported.length > 0) {
      core.info(
        `builder ${b.name} lists no ${[...new Set(unsupported)].join(', ')}: only stages on $BUILDPLATFORM can build them`
      )
    }
    return b
  })

  const targets = loginTargets(
    plan.registries,
    {
      username: inputs.registryUsername,
      password: inputs.registryPassword,
      actor: ctx.actor,
      githubToken: inputs.githubToken
    },
    plan.push
  )
  if (targets.length > 0) {
    await stage(results, 'Login', () => login(targets))
  } else skipped(results, 'Login', 'no credentials needed')

  const cache = {
    gha: plan.cache && buildCacheUsable(builder.buildkitVersion, engine.buildxVersion)
  }
  // Reading a loaded image back (docker save: its index and per-platform digests) runs alongside
  // its smoke tests: both only read the engine's store, and the read is a per-platform cost.
  const smoking = plan.images.some(i => i.smoke.enabled)
  const reads: Promise<BuiltImage>[] = []
  const built: BuiltImage[] = []
  const addBuilt = (b: BuiltImage[]): void => {
    built.push(...b)
    results.images.push(...b.map(imageResult))
  }
  await stage(results, 'Build', async () => {
    for (const image of plan.images) {
      const loaded = await buildImage(image, {
        builder: builder.name,
        cache,
        workspace,
        sourceDateEpoch: plan.sourceDateEpoch
      })
      const read = readLoaded(loaded)
      // awaited below; a later build's failure must not leave it an unhandled rejection
      read.catch(() => undefined)
      reads.push(read)
    }
    if (!smoking) addBuilt(await Promise.all(reads))
  })

  if (smoking) {
    await stage(results, 'Smoke test', async () => {
      const network = plan.images.some(i => i.smoke.enabled && i.smoke.http)
        ? await createSmokeNetwork(ctx.runId)
        : undefined
      const [readBack, outcomes] = await Promise.all([
        Promise.all(reads),
        // one image after another; several platforms at once: a smoke test mostly waits for a
        // container (and QEMU) to start
        (async () => {
          const all: SmokeResult[][] = []
          for (const image of plan.images)
            all.push(
              await limit(image.smoke.platforms, SMOKE_PARALLEL, p => smokeTest(image, p, network))
            )
          return all
        })()
      ]).finally(() => network && removeSmokeNetwork(network))
      addBuilt(readBack)
      const failures: string[] = []
      for (const [n, image] of plan.images.entries()) {
        const r = results.images.find(x => x.name === image.name) as ImageResult
        for (const [i, platform] of image.smoke.platforms.entries()) {
          const res = outcomes[n][i]
          const pr = r.platforms.find(p => p.platform === platform)
          if (pr) pr.smoke = res
          if (res.ok) {
            core.info(`ok   ${image.name} ${platform}: ${res.output.split('\n')[0]}`)
          } else {
            const wanted = image.smoke.http
              ? `GET :${image.smoke.http.port}${image.smoke.http.path} to answer 2xx${image.smoke.expect ? ` with "${image.smoke.expect}" in the body` : ''}`
              : `the output to contain "${image.smoke.expect}"`
            const msg = `smoke test of ${image.name} on ${platform} failed: \`${res.command}\` printed:\n${res.output}\nexpected ${wanted}`
            core.error(msg, { title: `smoke test ${platform}` })
            failures.push(`${image.name} on ${platform}`)
          }
        }
      }
      if (failures.length > 0)
        throw new Error(`smoke test failed for ${failures.join(', ')}; nothing was pushed`)
    })
  } else skipped(results, 'Smoke test', 'smoke-test: false or no platform to test')

  if (plan.push) {
    await stage(results, 'Push', async () => {
      const pushed = await pushAll(built, plan.metadata.version)
      for (const p of pushed) {
        const r = results.images.find(x => x.name === p.name) as ImageResult
        r.pushedTags = p.pushedTags
        r.latestNote = p.latestNote
      }
      results.pushed = true
    })
  } else skipped(results, 'Push', plan.pushReason)

  if (usesGo && plan.cache) markGoCacheForSave(goCacheHit)
  return results
}

/**
 * Whether the buildx `type=gha` cache can work, with a warning when it cannot: buildx drops a gha
 * entry silently when the runtime env is missing, and old buildx/BuildKit speak only the v1
 * protocol that GitHub no longer serves.
 */
export function buildCacheUsable(buildkitVersion: string, buildxVersion: string): boolean {
  const why = cacheUnavailableReason(process.env)
  if (why) {
    core.warning(`build cache: off, ${why} (the buildx type=gha cache would silently do nothing)`)
    return false
  }
  if ((process.env['ACTIONS_CACHE_SERVICE_V2'] ?? '').toLowerCase() === 'true') {
    const oldBuildx = semver.valid(buildxVersion) && semver.lt(buildxVersion, '0.21.0')
    const oldBuildkit =
      semver.valid(semver.coerce(buildkitVersion)) &&
      semver.lt(semver.coerce(buildkitVersion) as semver.SemVer, '0.20.0')
    if (oldBuildx || oldBuildkit) {
      core.warning(
        `build cache: the cache service is v2, but buildx ${buildxVersion} / BuildKit ${buildkitVersion || 'unknown'} speak only v1 ` +
          '(v2 needs buildx >= 0.21 and BuildKit >= 0.20); on GitHub-hosted runners this cache will not work'
      )
    }
  }
  return true
}

function imageResult(b: BuiltImage): ImageResult {
  return {
    name: b.image.name,
    digest: b.digest,
    platforms: b.manifests.map(m => ({ platform: m.platform, digest: m.digest, size: m.size })),
    pushedTags: []
  }
}
