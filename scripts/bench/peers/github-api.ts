/**
 * The two GitHub REST calls docker/metadata-action makes on a release (no route to
 * api.github.com here): `GET /repos/{owner}/{repo}` answers the event payload's repository (public),
 * `GET /repos/{owner}/{repo}/commits/{sha}` a commit dated `date`, for the repository `full`
 * (GITHUB_REPOSITORY). Anything else is a 404.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

/** A running stub; `url` goes into GITHUB_API_URL. */
export interface GitHubApiStub {
  url: string
  stop(): Promise<void>
}

export async function startGitHubApi(
  full: string,
  repository: Record<string, unknown>,
  date: () => string
): Promise<GitHubApiStub> {
  const [owner, name] = full.split('/')
  repository = {
    ...repository,
    name,
    full_name: full,
    owner: { ...(repository['owner'] as object), login: owner },
    private: false,
    visibility: 'public'
  }
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0]
    const reply = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' })
      res.end(JSON.stringify(body))
    }
    if (req.method === 'GET' && path === `/repos/${full}`) return reply(200, repository)
    const commit = new RegExp(`^/repos/${full}/commits/([0-9a-f]{40})$`).exec(path)
    if (req.method === 'GET' && commit) {
      const who = { name: 'octocat', email: 'octocat@github.com', date: date() }
      return reply(200, {
        sha: commit[1],
        commit: { author: who, committer: who, message: 'release' }
      })
    }
    reply(404, { message: 'Not Found' })
  })
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () => new Promise(r => server.close(() => r()))
  }
}
