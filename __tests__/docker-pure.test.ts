import { describe, expect, it, jest } from '@jest/globals'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildCommand, smokeCommand } from '../src/docker/buildArgs.js'
import { parseBuilderInspect, parseBuildxVersion } from '../src/docker/engine.js'
import { lostOutput } from '../src/docker/smoke.js'
import { indexManifests, platformOf } from '../src/docker/image.js'
import { loginTargets } from '../src/docker/login.js'
import { transientRegistryError } from '../src/docker/retry.js'
import { binfmtHandles, qemuArch } from '../src/docker/qemu.js'
import { parseGoProblems } from '../src/go/gate.js'
import { buildPlan } from '../src/plan/plan.js'
import { contextOf } from '../test/fixtures/context.js'
import { release, SHA } from '../test/fixtures/events.js'
import { inputsFor } from '../test/fixtures/inputs.js'

jest.spyOn(process.stdout, 'write').mockImplementation(() => true)

const DOCKERFILE = 'FROM --platform=$BUILDPLATFORM golang AS b\nRUN go build\nFROM scratch\n'

describe('buildCommand', () => {
  const plan = buildPlan(
    inputsFor({
      images:
        '- name: ghcr.io/acme/app\n  dockerfile: cmd/app/Dockerfile\n  target: final\n  build-args: X=a b',
      platforms: 'linux/amd64,linux/arm64'
    }),
    contextOf(release('v1.2.3')),
    { now: new Date(0), nodeArch: 'x64', dockerfiles: { 'cmd/app/Dockerfile': DOCKERFILE } }
  )
  const image = plan.images[0]

  it('is an argument array with everything the plan decided', () => {
    const args = buildCommand(image, {
      builder: 'default',
      metadataFile: '/tmp/m.json',
      cache: { gha: true },
      output: { type: 'load' },
      sourceDateEpoch: 1557933653,
      attestations: plan.attestations
    })
    expect(args).toEqual([
      'buildx',
      'build',
      '--builder',
      'default',
      '--platform',
      'linux/amd64,linux/arm64',
      '--file',
      'cmd/app/Dockerfile',
      '--build-arg',
      'VERSION=1.2.3',
      '--build-arg',
      `COMMIT=${SHA}`,
      '--build-arg',
      'DATE=2019-05-15T15:20:53Z',
      '--build-arg',
      'X=a b',
      '--build-arg',
      'SOURCE_DATE_EPOCH=1557933653',
      '--label',
      'org.opencontainers.image.title=app',
      '--label',
      'org.opencontainers.image.version=1.2.3',
      '--label',
      `org.opencontainers.image.revision=${SHA}`,
      '--label',
      'org.opencontainers.image.created=2019-05-15T15:20:53Z',
      '--label',
      'org.opencontainers.image.source=https://github.com/Octo-Org/octo-repo',
      '--label',
      'org.opencontainers.image.url=https://github.com/Octo-Org/octo-repo',
      '--target',
      'final',
      '--tag',
      'ghcr.io/acme/app:1.2.3',
      '--tag',
      'ghcr.io/acme/app:latest',
      '--annotation',
      'index:org.opencontainers.image.source=https://github.com/Octo-Org/octo-repo',
      '--annotation',
      'index:org.opencontainers.image.version=1.2.3',
      '--annotation',
      `index:org.opencontainers.image.revision=${SHA}`,
      '--annotation',
      'index:org.opencontainers.image.created=2019-05-15T15:20:53Z',
      '--cache-from',
      'type=gha,scope=ghcr.io-acme-app',
      '--cache-to',
      'type=gha,scope=ghcr.io-acme-app,mode=max,ignore-error=true',
      '--metadata-file',
      '/tmp/m.json',
      '--provenance=mode=min',
      '--load',
      '.'
    ])
  })

  it('plans min provenance for a public repository, none for a private or unknown one', () => {
    expect(plan.attestations).toEqual({
      provenance: 'min',
      provenanceReason: 'provenance: auto (public repository)',
      sbomScanner: undefined
    })
    const fx = release('v1.2.3')
    fx.payload.repository.private = true
    const priv = buildPlan(inputsFor({ image: 'ghcr.io/acme/app' }), contextOf(fx), {
      now: new Date(0),
      nodeArch: 'x64',
      dockerfiles: { Dockerfile: DOCKERFILE }
    })
    expect(priv.attestations.provenance).toBe('false')
    expect(priv.attestations.provenanceReason).toBe('provenance: auto (private repository)')
    delete fx.payload.repository
    const unknown = buildPlan(
      inputsFor({ image: 'ghcr.io/acme/app', provenance: 'max', sbom: 'true' }),
      contextOf(fx),
      {
        now: new Date(0),
        nodeArch: 'x64',
        dockerfiles: { Dockerfile: DOCKERFILE }
      }
    )
    expect(unknown.attestations).toEqual({
      provenance: 'max',
      provenanceReason: 'provenance: max',
      sbomScanner: 'docker/buildkit-syft-scanner:stable-1'
    })
    expect(() => inputsFor({ image: 'a/b', provenance: 'true' })).toThrow(
      "provenance: 'true' is not one of auto, false, min, max"
    )
    expect(() => inputsFor({ image: 'a/b', 'buildkit-image': '--privileged' })).toThrow(
      "buildkit-image: '--privileged' is not an image reference"
    )
  })

  it('annotates the manifest, not an index, when one platform has no attestation', () => {
    const one = { ...image, platforms: ['linux/amd64'] }
    const args = buildCommand(one, {
      builder: 'b',
      metadataFile: 'm',
      cache: { gha: false },
      output: { type: 'load' },
      sourceDateEpoch: 0,
      attestations: { provenance: 'false', provenanceReason: '' }
    })
    expect(args).toContain('manifest:org.opencontainers.image.version=1.2.3')
    expect(args.join(' ')).not.toContain('index:')
    expect(args).toContain('--provenance=false')
  })

  it('loads one platform under its own tag for the classic store: no attestation, no annotation, no planned tag', () => {
    const args = buildCommand(image, {
      builder: 'b',
      metadataFile: 'm',
      cache: { gha: false },
      output: {
        type: 'load-platform',
        platform: 'linux/arm64',
        tag: 'ghcr.io/acme/app:1.2.3-linux-arm64'
      },
      sourceDateEpoch: 0,
      attestations: plan.attestations
    })
    expect(args.slice(4, 6)).toEqual(['--platform', 'linux/arm64'])
    expect(args.filter(a => a.startsWith('ghcr.io/'))).toEqual([
      'ghcr.io/acme/app:1.2.3-linux-arm64'
    ])
    expect(args.join(' ')).not.toContain('--annotation')
    expect(args).toContain('--provenance=false')
    expect(args).toContain('--load')
  })

  it('exports the build to push as an OCI layout: no tag, the attestations and index annotations', () => {
    const args = buildCommand(image, {
      builder: 'b',
      metadataFile: 'm',
      cache: { gha: false },
      output: { type: 'oci', dest: '/tmp/gia-oci-1' },
      sourceDateEpoch: 0,
      attestations: plan.attestations
    })
    expect(args.join(' ')).not.toMatch(/--tag|--load/)
    expect(args).toContain('--provenance=mode=min')
    expect(args).toContain('index:org.opencontainers.image.version=1.2.3')
    expect(args.slice(-3)).toEqual(['--output', 'type=oci,dest=/tmp/gia-oci-1,tar=false', '.'])
  })

  it('leaves the gha cache out when there is no cache service', () => {
    const args = buildCommand(image, {
      builder: 'b',
      metadataFile: 'm',
      cache: { gha: false },
      output: { type: 'oci', dest: 'd' },
      sourceDateEpoch: 0,
      attestations: plan.attestations
    })
    expect(args.join(' ')).not.toMatch(/cache-(from|to)|--load/)
  })

  it('runs the smoke test without a shell', () => {
    expect(smokeCommand(image, 'linux/arm64', 'gia-smoke-1')).toEqual([
      'run',
      '--rm',
      '--name',
      'gia-smoke-1',
      '--pull',
      'never',
      '--network',
      'none',
      '--log-driver',
      'none',
      '--platform',
      'linux/arm64',
      'ghcr.io/acme/app:1.2.3',
      '--version'
    ])
  })

  it('runs a text test once more only when it exited 0 with no output at all', () => {
    const silent = {
      ok: false,
      command: 'docker run ...',
      output: '(exited (code 0) without printing the expected text)',
      ms: 1
    }
    expect(lostOutput(image, silent)).toBe(true)
    // printed something else, failed otherwise, passed, or an HTTP test: its result stands
    expect(lostOutput(image, { ...silent, output: `usage: app\n${silent.output}` })).toBe(false)
    expect(lostOutput(image, { ...silent, output: '(exit code 2)' })).toBe(false)
    expect(lostOutput(image, { ...silent, ok: true, output: 'app 1.2.3' })).toBe(false)
    const http = { ...image, smoke: { ...image.smoke, http: { port: 8080, path: '/' } } }
    expect(lostOutput(http, silent)).toBe(false)
  })
})

describe('engine and builder parsing', () => {
  it.each([
    ['github.com/docker/buildx 0.13.1+ds1 0.13.1+ds1-3', '0.13.1'],
    ['github.com/docker/buildx v0.21.0 abcdef', '0.21.0'],
    ['nothing', '0.0.0']
  ])('parseBuildxVersion(%s)', (text, want) => {
    expect(parseBuildxVersion(text)).toBe(want)
  })

  it('parses docker buildx inspect', () => {
    const text = [
      'Name:          default',
      'Driver:        docker',
      'Last Activity: 2026-11-24 04:00:00 +0000 UTC',
      '',
      'Nodes:',
      'Name:      default',
      'Endpoint:  default',
      'Status:    running',
      'BuildKit version: v0.13.2',
      'Platforms: linux/amd64, linux/amd64/v2, linux/arm64*, linux/riscv64'
    ].join('\n')
    expect(parseBuilderInspect(text)).toEqual({
      name: 'default',
      driver: 'docker',
      platforms: ['linux/amd64', 'linux/amd64/v2', 'linux/arm64', 'linux/riscv64'],
      buildkitVersion: '0.13.2'
    })
  })
})

describe('qemu', () => {
  it.each([
    ['linux/arm64', 'aarch64'],
    ['linux/arm/v7', 'arm'],
    ['linux/arm/v6', 'arm'],
    ['linux/ppc64le', 'ppc64le'],
    ['linux/riscv64', 'riscv64'],
    ['linux/s390x', 's390x']
  ])('qemuArch(%s) = %s', (p, arch) => {
    expect(qemuArch(p)).toBe(arch)
  })

  it('reads binfmt_misc entries', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'binfmt-'))
    writeFileSync(
      join(dir, 'qemu-aarch64'),
      'enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: POCF\n'
    )
    writeFileSync(join(dir, 'qemu-riscv64'), 'disabled\ninterpreter /usr/bin/qemu-riscv64-static\n')
    expect(await binfmtHandles('aarch64', dir)).toBe(true)
    expect(await binfmtHandles('riscv64', dir)).toBe(false)
    expect(await binfmtHandles('s390x', dir)).toBe(false)
  })
})

describe('image index', () => {
  it('lists platform manifests with sizes and leaves out attestations', async () => {
    const blobs: Record<string, string> = {
      'sha256:a': JSON.stringify({
        config: { digest: 'sha256:c1', size: 100 },
        layers: [{ digest: 'sha256:l1', size: 1000 }]
      }),
      'sha256:b': JSON.stringify({
        config: { digest: 'sha256:c2', size: 110 },
        layers: [
          { digest: 'sha256:l2', size: 2000 },
          { digest: 'sha256:l3', size: 5 }
        ]
      })
    }
    const index = JSON.stringify({
      manifests: [
        { digest: 'sha256:a', size: 10, platform: { os: 'linux', architecture: 'amd64' } },
        {
          digest: 'sha256:b',
          size: 20,
          platform: { os: 'linux', architecture: 'arm', variant: 'v7' }
        },
        {
          digest: 'sha256:att',
          size: 5,
          platform: { os: 'unknown', architecture: 'unknown' },
          annotations: { 'vnd.docker.reference.type': 'attestation-manifest' }
        }
      ]
    })
    expect(await indexManifests(index, async d => blobs[d])).toEqual([
      { platform: 'linux/amd64', digest: 'sha256:a', size: 1110 },
      { platform: 'linux/arm/v7', digest: 'sha256:b', size: 2135 }
    ])
    expect(platformOf({ digest: 'x', size: 1 })).toBe('unknown/unknown')
  })

  it("reads each attestation manifest's predicate types into the platform it attests", async () => {
    const statement = (type: string) => ({
      digest: `sha256:${type.length}`,
      size: 1,
      annotations: { 'in-toto.io/predicate-type': type }
    })
    const blobs: Record<string, string> = {
      'sha256:a': JSON.stringify({ config: { digest: 'sha256:c', size: 1 }, layers: [] }),
      'sha256:b': JSON.stringify({ config: { digest: 'sha256:c', size: 1 }, layers: [] }),
      'sha256:att-a': JSON.stringify({
        config: { digest: 'sha256:e', size: 1 },
        layers: [
          statement('https://spdx.dev/Document'),
          statement('https://slsa.dev/provenance/v0.2')
        ]
      })
    }
    const index = JSON.stringify({
      manifests: [
        { digest: 'sha256:a', size: 1, platform: { os: 'linux', architecture: 'amd64' } },
        { digest: 'sha256:b', size: 1, platform: { os: 'linux', architecture: 'arm64' } },
        {
          digest: 'sha256:att-a',
          size: 1,
          platform: { os: 'unknown', architecture: 'unknown' },
          annotations: {
            'vnd.docker.reference.type': 'attestation-manifest',
            'vnd.docker.reference.digest': 'sha256:a'
          }
        }
      ]
    })
    expect(await indexManifests(index, async d => blobs[d])).toEqual([
      {
        platform: 'linux/amd64',
        digest: 'sha256:a',
        size: 2,
        attestations: ['https://spdx.dev/Document', 'https://slsa.dev/provenance/v0.2']
      },
      { platform: 'linux/arm64', digest: 'sha256:b', size: 2 }
    ])
  })
})

describe('login targets', () => {
  const creds = { username: '', password: '', actor: 'octocat', githubToken: 'ghs_x' }
  it('logs in to every distinct registry with the given credentials', () => {
    expect(
      loginTargets(['ghcr.io', 'docker.io'], { ...creds, username: 'u', password: 'p' }, false)
    ).toEqual([
      { registry: 'ghcr.io', username: 'u', password: 'p' },
      { registry: 'docker.io', username: 'u', password: 'p' }
    ])
  })
  it('uses the actor and the token for ghcr.io when pushing without credentials', () => {
    expect(loginTargets(['ghcr.io', 'quay.io'], creds, true)).toEqual([
      { registry: 'ghcr.io', username: 'octocat', password: 'ghs_x' }
    ])
    expect(loginTargets(['ghcr.io'], creds, false)).toEqual([])
  })
  it('refuses half the credentials', () => {
    expect(() => loginTargets(['r'], { ...creds, username: 'u' }, true)).toThrow(
      /registry-username and registry-password go together/
    )
  })
})

describe('Go problems', () => {
  it('finds files and lines in vet and compiler output', () => {
    const out = [
      '# example.com/hello/greet',
      'vet: greet/greet.go:12:2: fmt.Sprintf format %d has arg s of wrong type string',
      './main.go:7:9: undefined: foo',
      'ok   example.com/hello 0.01s'
    ].join('\n')
    expect(parseGoProblems(out, '/ws/go', '/ws')).toEqual([
      {
        file: 'go/greet/greet.go',
        line: 12,
        col: 2,
        message: 'fmt.Sprintf format %d has arg s of wrong type string'
      },
      { file: 'go/main.go', line: 7, col: 9, message: 'undefined: foo' }
    ])
  })

  it('finds the package directory of a bare test file name', () => {
    const ws = mkdtempSync(join(tmpdir(), 'gows-'))
    const pkg = join(ws, 'pkg', 'greet')
    mkdirSync(pkg, { recursive: true })
    writeFileSync(join(pkg, 'greet_test.go'), 'package greet\n')
    const out = '--- FAIL: TestHello (0.00s)\n    greet_test.go:9: got "hi", want "hello"\nFAIL'
    expect(parseGoProblems(out, ws, ws, [join(ws, 'pkg'), pkg])).toEqual([
      {
        file: 'pkg/greet/greet_test.go',
        line: 9,
        col: undefined,
        message: 'got "hi", want "hello"'
      }
    ])
  })
})

describe('which push failures are retried', () => {
  it.each([
    // Docker 26 (containerd store) against a filesystem-driver registry racing its own PUTs
    'docker push failed with exit code 1:\nunexpected status from HEAD request to http://127.0.0.1:5000/v2/a/b/manifests/latest: 500 Internal Server Error',
    'docker push failed with exit code 1:\nreceived unexpected HTTP status: 503 Service Unavailable',
    'docker push failed with exit code 1:\nfailed to do request: Put "https://ghcr.io/v2/": read tcp 10.0.0.1:1->1.2.3.4:443: read: connection reset by peer',
    'docker push failed with exit code 1:\nunexpected EOF',
    // the same dropped connection, as Go words it elsewhere, and a rate limit
    'failed to copy: write tcp 127.0.0.1:1->127.0.0.1:5000: use of closed network connection',
    'failed to do request: Put "http://127.0.0.1:5000/v2/a/b/blobs/uploads/x": write: broken pipe',
    'unexpected status from PUT request to https://ghcr.io/v2/a/b/manifests/1.0.0: 429 Too Many Requests',
    'toomanyrequests: You have reached your pull rate limit'
  ])('retries %s', message => {
    expect(transientRegistryError(message)).toBe(true)
  })

  it.each([
    'docker push failed with exit code 1:\nunexpected status from HEAD request to https://ghcr.io/v2/a/b/manifests/1.0.0: 401 Unauthorized',
    'docker push failed with exit code 1:\ndenied: requested access to the resource is denied',
    'docker push failed with exit code 1:\nunexpected status from PUT request to http://127.0.0.1:5000/v2/a/b/manifests/1.0.0: 400 Bad Request',
    // digits of a digest or a size are not a status
    'docker push failed with exit code 1:\nsha256:5000500 tag invalid: 502 layers'
  ])('does not retry %s', message => {
    expect(transientRegistryError(message)).toBe(false)
  })
})
