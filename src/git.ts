import { run } from './exec.js'

/**
 * The committer date of a commit from the checkout (`git log -1 --format=%cI`), or undefined
 * when git or the commit is not there (a shallow or missing checkout).
 */
export async function gitCommitDate(sha: string, cwd: string): Promise<string | undefined> {
  try {
    const res = await run('git', ['log', '-1', '--format=%cI', sha, '--'], {
      cwd,
      silent: true,
      allowFailure: true
    })
    const date = res.stdout.trim()
    return res.exitCode === 0 && date ? date : undefined
  } catch {
    return undefined
  }
}
