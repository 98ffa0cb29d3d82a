/**
 * What the peers need on the machine, under the git-ignored `.peers/`:
 *   - docker's and setup-go's released action bundles, checked out at pinned tags (and checked
 *     against the pinned commits) from a local mirror or from https://github.com;
 *   - a runner tool cache holding the machine's Go for actions/setup-go, which cannot download Go
 *     here (RUNNER_TOOL_CACHE/go/<version>/x64 -> GOROOT, plus the x64.complete marker);
 *   - ko and GoReleaser, built from the Go module proxy at pinned versions (scripts/tools.sh).
 * Nothing of theirs is committed.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/** A released action, pinned by tag and by the commit the tag must point at. */
export interface PinnedAction {
  repo: string
  tag: string
  commit: string
}

export const ACTIONS = {
  setupBuildx: {
    repo: 'docker/setup-buildx-action',
    tag: 'v4.3.0',
    commit: '37fe631027851001ddb9b187196cc803df7f5f0e'
  },
  metadata: {
    repo: 'docker/metadata-action',
    tag: 'v6.2.0',
    commit: 'dc802804100637a589fabce1cb79ff13a1411302'
  },
  buildPush: {
    repo: 'docker/build-push-action',
    tag: 'v7.3.0',
    commit: '53b7df96c91f9c12dcc8a07bcb9ccacbed38856a'
  },
  setupGo: {
    repo: 'actions/setup-go',
    tag: 'v6.5.0',
    commit: '924ae3a1cded613372ab5595356fb5720e22ba16'
  }
} as const satisfies Record<string, PinnedAction>

export type ActionName = keyof typeof ACTIONS

const git = (args: string[], cwd?: string): string =>
  execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim()

/**
 * A bare mirror of `repo` under `mirrors`: `<owner>+<name>/repo` (the layout of this machine's
 * /work/.mirror), `<owner>+<name>`, `<owner>/<name>.git` or `<owner>/<name>`.
 */
function mirrorOf(mirrors: string, repo: string): string | undefined {
  const [owner, name] = repo.split('/')
  return [
    join(mirrors, `${owner}+${name}`, 'repo'),
    join(mirrors, `${owner}+${name}`),
    join(mirrors, owner, `${name}.git`),
    join(mirrors, owner, name)
  ].find(d => {
    try {
      return git(['--git-dir', d, 'rev-parse', '--git-dir']) !== ''
    } catch {
      return false
    }
  })
}

/**
 * Files of the commit whose content a partial mirror lacks (it may leave out its largest files).
 * Only source maps may be missing: the bundles run without them.
 */
function absentFiles(mirror: string, commit: string): string[] {
  const entries = git(['--git-dir', mirror, 'ls-tree', '-r', commit])
    .split('\n')
    .map(l => /^\d+ blob ([0-9a-f]+)\t(.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
  const check = execFileSync('git', ['--git-dir', mirror, 'cat-file', '--batch-check'], {
    input: entries.map(m => m[1]).join('\n') + '\n',
    encoding: 'utf8'
  }).split('\n')
  const absent = entries.filter((_, i) => check[i]?.endsWith(' missing')).map(m => m[2])
  const needed = absent.filter(f => !f.endsWith('.map'))
  if (needed.length > 0)
    throw new Error(`the mirror ${mirror} lacks ${needed.join(', ')} of ${commit}`)
  return absent
}

/**
 * Checks the action out into `<dir>/<owner>+<name>@<tag>` (once) and returns that directory:
 * `git archive` of the tag from the mirror when `mirrors` has one, else a shallow clone of the
 * tag from https://github.com. Fails when the tag is not the pinned commit.
 */
export function checkoutAction(a: PinnedAction, dir: string, mirrors?: string): string {
  const target = join(dir, `${a.repo.replace('/', '+')}@${a.tag}`)
  const marker = join(target, '.gia-peers-commit')
  if (existsSync(marker)) return target
  rmSync(target, { recursive: true, force: true })
  mkdirSync(target, { recursive: true })
  const mirror = mirrors ? mirrorOf(mirrors, a.repo) : undefined
  let commit: string
  if (mirror) {
    commit = git(['--git-dir', mirror, 'rev-parse', `${a.tag}^{commit}`])
    const absent = absentFiles(mirror, commit)
    const tar = execFileSync(
      'git',
      [
        ...['--git-dir', mirror, 'archive', '--format=tar', commit, '--', '.'],
        ...absent.map(f => `:(exclude)${f}`)
      ],
      { maxBuffer: 1 << 30 }
    )
    execFileSync('tar', ['-x', '-C', target], { input: tar })
  } else {
    git([
      ...['clone', '--quiet', '--depth', '1', '--branch', a.tag],
      ...[`https://github.com/${a.repo}.git`, target]
    ])
    commit = git(['rev-parse', 'HEAD'], target)
    rmSync(join(target, '.git'), { recursive: true, force: true })
  }
  if (commit !== a.commit) {
    rmSync(target, { recursive: true, force: true })
    throw new Error(`${a.repo}@${a.tag} is ${commit}, not the pinned ${a.commit}`)
  }
  writeFileSync(marker, `${commit}\n`)
  return target
}

/** Every pinned action checked out; their directories by name. */
export function checkoutActions(dir: string, mirrors?: string): Record<ActionName, string> {
  const out = {} as Record<ActionName, string>
  for (const [name, a] of Object.entries(ACTIONS) as [ActionName, PinnedAction][])
    out[name] = checkoutAction(a, dir, mirrors)
  return out
}

/** A runner tool cache with the machine's Go in it, as setup-go finds a preinstalled version. */
export function seedToolCache(dir: string): { toolCache: string; goVersion: string } {
  const goroot = execFileSync('go', ['env', 'GOROOT'], { encoding: 'utf8' }).trim()
  const goVersion = execFileSync('go', ['env', 'GOVERSION'], { encoding: 'utf8' })
    .trim()
    .replace(/^go/, '')
  const arch = process.arch === 'arm64' ? 'arm64' : 'x64'
  const versionDir = join(dir, 'go', goVersion)
  mkdirSync(versionDir, { recursive: true })
  if (!existsSync(join(versionDir, arch))) symlinkSync(goroot, join(versionDir, arch))
  writeFileSync(join(versionDir, `${arch}.complete`), '')
  return { toolCache: dir, goVersion }
}

/** ko and goreleaser at their pinned versions (scripts/tools.sh builds them once). */
export function installTools(root: string): { ko: string; goreleaser: string } {
  const out = execFileSync('bash', [join(root, 'scripts', 'tools.sh'), 'ko', 'goreleaser'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit']
  })
  const path = (tool: string): string => {
    const line = out.split('\n').find(l => l.startsWith(`${tool} `))
    if (!line) throw new Error(`scripts/tools.sh did not install ${tool}`)
    return line.slice(tool.length + 1)
  }
  return { ko: path('ko'), goreleaser: path('goreleaser') }
}
