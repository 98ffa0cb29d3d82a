import { describe, expect, it } from '@jest/globals'
import { processEnv, processKind } from '../src/processEnv.js'

/** The environment of an action step on a runner, with every kind of secret a job can hold. */
const ACTION_ENV: NodeJS.ProcessEnv = {
  PATH: '/usr/bin',
  HOME: '/home/runner',
  LANG: 'C.UTF-8',
  HTTPS_PROXY: 'http://proxy:3128',
  DOCKER_CONFIG: '/home/runner/.docker',
  DOCKER_HOST: 'unix:///run/docker.sock',
  BUILDX_BUILDER: 'b',
  GOFLAGS: '-mod=mod',
  GOPROXY: 'https://proxy.golang.org',
  CGO_ENABLED: '1',
  CI: 'true',
  GITHUB_ACTIONS: 'true',
  GITHUB_SHA: 'abc',
  RUNNER_TEMP: '/tmp/r',
  DATABASE_URL: 'postgres://localhost/test',
  'INPUT_REGISTRY-PASSWORD': 'p',
  'INPUT_GITHUB-TOKEN': 't',
  INPUT_IMAGE: 'ghcr.io/a/b',
  STATE_logins: '[]',
  ACTIONS_RUNTIME_TOKEN: 'rt',
  ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'idt',
  ACTIONS_ID_TOKEN_REQUEST_URL: 'https://id',
  ACTIONS_CACHE_URL: 'https://cache/',
  ACTIONS_RESULTS_URL: 'https://results/',
  ACTIONS_CACHE_SERVICE_V2: 'true',
  GITHUB_TOKEN: 'ght',
  GITHUB_OUTPUT: '/f/out',
  GITHUB_ENV: '/f/env',
  GITHUB_PATH: '/f/path',
  GITHUB_STATE: '/f/state',
  GITHUB_STEP_SUMMARY: '/f/summary',
  NPM_TOKEN: 'n',
  DB_PASSWORD: 'd',
  aws_secret_access_key: 'a',
  SSH_PRIVATE_KEY: 'k',
  REGISTRY_CREDENTIALS: 'c'
}

const names = (env: Record<string, string>): string[] => Object.keys(env).sort()

describe('the environment of each kind of process', () => {
  it.each([
    ['go', ['test', './...'], 'repository'],
    ['/usr/local/go/bin/go', ['build'], 'repository'],
    ['gofmt', ['-l', '.'], 'repository'],
    ['docker', ['buildx', 'build', '.'], 'buildx'],
    ['docker', ['buildx', 'create'], 'docker'],
    ['docker', ['login', '--password-stdin'], 'docker'],
    ['docker', ['run', '--rm', 'img'], 'docker'],
    ['git', ['log'], 'tool'],
    ['timeout', ['10', 'docker', 'push'], 'tool']
  ])('%s %j is a %s process', (command, args, kind) => {
    expect(processKind(command, args)).toBe(kind)
  })

  it('repository code gets the job environment without inputs, state, tokens or file commands', () => {
    const env = processEnv('repository', ACTION_ENV, { GOOS: 'linux' })
    expect(names(env)).toEqual(
      [
        'PATH',
        'HOME',
        'LANG',
        'HTTPS_PROXY',
        'DOCKER_CONFIG',
        'DOCKER_HOST',
        'BUILDX_BUILDER',
        'GOFLAGS',
        'GOPROXY',
        'CGO_ENABLED',
        'CI',
        'GITHUB_ACTIONS',
        'GITHUB_SHA',
        'RUNNER_TEMP',
        'DATABASE_URL',
        'GOOS'
      ].sort()
    )
  })

  it('buildx gets the basics, the Docker settings and what the gha cache reads', () => {
    expect(names(processEnv('buildx', ACTION_ENV))).toEqual(
      [
        'PATH',
        'HOME',
        'LANG',
        'HTTPS_PROXY',
        'DOCKER_CONFIG',
        'DOCKER_HOST',
        'BUILDX_BUILDER',
        'ACTIONS_RUNTIME_TOKEN',
        'ACTIONS_CACHE_URL',
        'ACTIONS_RESULTS_URL',
        'ACTIONS_CACHE_SERVICE_V2'
      ].sort()
    )
  })

  it('other docker commands get the basics and the Docker settings; tools the basics', () => {
    expect(names(processEnv('docker', ACTION_ENV))).toEqual(
      [
        'PATH',
        'HOME',
        'LANG',
        'HTTPS_PROXY',
        'DOCKER_CONFIG',
        'DOCKER_HOST',
        'BUILDX_BUILDER'
      ].sort()
    )
    expect(names(processEnv('tool', ACTION_ENV))).toEqual(
      ['PATH', 'HOME', 'LANG', 'HTTPS_PROXY'].sort()
    )
  })
})
