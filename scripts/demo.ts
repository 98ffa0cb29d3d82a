/**
 * `npm run demo`: brings up the bench if needed and runs the action on examples/hello as a
 * `release` into the local registry, the way the runner runs it (Node 24, INPUT_*, GITHUB_*,
 * file commands, then the post step), with the local GitHub Actions cache service. Ends with the
 * job summary and the command to run the published image.
 *
 * Node 24 runs this file directly (type stripping); modules are loaded through computed
 * specifiers so tsc, which checks this file, needs no `.ts` import extensions.
 */
import { execFileSync } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type * as Harness from '../test/harness/runner.js'
import type * as Events from '../test/fixtures/events.js'
import type * as CacheServer from '../test/cache-server/server.js'

const root = new URL('..', import.meta.url).pathname
const load = async <T>(path: string): Promise<T> =>
  (await import(new URL(path, import.meta.url).href)) as T
const { runAction, ROOT } = await load<typeof Harness>('../test/harness/runner.ts')
const { release } = await load<typeof Events>('../test/fixtures/events.ts')
const { startCacheServer } = await load<typeof CacheServer>('../test/cache-server/server.ts')

const say = (line: string): void => void process.stdout.write(`\n== ${line}\n`)
const sh = (cmd: string, args: string[], cwd = root): string =>
  execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })

say('bench: Docker engine, buildx, QEMU, local registry (scripts/bench-up.sh)')
execFileSync('bash', [join(root, 'scripts/bench-up.sh')], { stdio: 'inherit' })

say('bundle: dist/main and dist/post')
execFileSync('npm', ['run', '--silent', 'bundle'], {
  cwd: root,
  stdio: ['ignore', 'ignore', 'inherit']
})

// A checkout of the example as a repository of its own, so the commit is a real one.
const workspace = mkdtempSync(join(tmpdir(), 'gia-demo-'))
cpSync(join(ROOT, 'examples', 'hello'), workspace, { recursive: true })
const git = (...args: string[]): string =>
  sh('git', ['-c', 'user.name=demo', '-c', 'user.email=demo@example.com', ...args], workspace)
git('init', '-q')
git('add', '.')
git('commit', '-q', '-m', 'demo release')
const sha = git('rev-parse', 'HEAD').trim()

const version = process.env['DEMO_VERSION'] ?? 'v1.0.0'
const fx = release(version)
fx.env['GITHUB_SHA'] = sha
fx.payload.release.published_at = new Date().toISOString()

const cacheDir = join(root, '.bench', 'demo-cache')
mkdirSync(cacheDir, { recursive: true })
const cache = await startCacheServer({ dir: cacheDir })

say(`run: release ${version} of examples/hello (commit ${sha.slice(0, 7)}) -> 127.0.0.1:5000/demo`)
const started = Date.now()
const run = await runAction({
  ...fx,
  workspace,
  env: { ...fx.env, ...cache.env() },
  inputs: {
    images: [
      '- name: 127.0.0.1:5000/demo/hello-cli',
      '  dockerfile: cmd/hello-cli/Dockerfile',
      '- name: 127.0.0.1:5000/demo/hello-web',
      '  dockerfile: cmd/hello-web/Dockerfile'
    ].join('\n'),
    platforms: 'linux/amd64,linux/arm64,linux/arm/v7'
  },
  onOutput: chunk => void process.stdout.write(chunk)
})
await cache.stop()

say(`job summary (${((Date.now() - started) / 1000).toFixed(1)} s)`)
process.stdout.write(run.main.summary + '\n')
if (run.failed) {
  process.stdout.write('\nthe release failed; see the errors above\n')
  process.exit(1)
}
say('run the published image')
process.stdout.write(
  `docker run --rm --platform linux/arm64 127.0.0.1:5000/demo/hello-cli:${run.main.outputs['version']} --version\n`
)
