/**
 * A minimal SLSA provenance (v0.2, as BuildKit's `mode=min`) for one platform of a runner build,
 * in the attestation manifest BuildKit uses: what was built (the platform manifest, under every
 * tag), from which commit, on which base. No time and no invocation ID: the attestation is the
 * same for the same inputs, and so is the index.
 */

/** What the provenance of one platform says. */
export interface ProvenanceOptions {
  platform: string
  /** Full references (`registry/repo:tag`) the image is published under. */
  tags: string[]
  /** The platform manifest's digest. */
  subject: string
  /** The repository URL (`https://github.com/o/r`), '' when unknown. */
  source: string
  commit: string
  /** The base image (`registry/repo`) and its platform manifest digest, when not scratch. */
  base?: { name: string; ref: string; digest: string }
  /** The Go package built on the runner. */
  main: string
}

/** `pkg:docker/<name>@<tag>?platform=<p>` of a full reference, as BuildKit names subjects. */
export function purl(reference: string, platform: string): string {
  const at = reference.includes('@') ? reference.indexOf('@') : reference.lastIndexOf(':')
  const tagged = at > reference.lastIndexOf('/')
  const name = tagged ? reference.slice(0, at) : reference
  const version = tagged ? reference.slice(at + 1) : 'latest'
  return `pkg:docker/${name.replace(':', '%3A')}@${version}?platform=${encodeURIComponent(platform)}`
}

/** The in-toto statement (JSON bytes) of one platform. */
export function provenanceStatement(o: ProvenanceOptions): Buffer {
  const hex = (d: string): { sha256: string } => ({ sha256: d.replace(/^sha256:/, '') })
  const statement = {
    _type: 'https://in-toto.io/Statement/v0.1',
    predicateType: 'https://slsa.dev/provenance/v0.2',
    subject: o.tags.map(t => ({ name: purl(t, o.platform), digest: hex(o.subject) })),
    predicate: {
      builder: { id: '' },
      buildType: 'https://github.com/go-image-action/runner-build@v1',
      materials: [
        ...(o.base
          ? [
              {
                uri: purl(
                  `${o.base.name}${o.base.ref.startsWith('sha256:') ? '@' : ':'}${o.base.ref}`,
                  o.platform
                ),
                digest: hex(o.base.digest)
              }
            ]
          : []),
        ...(o.source ? [{ uri: `git+${o.source}`, digest: { sha1: o.commit } }] : [])
      ],
      invocation: {
        configSource: o.source
          ? { uri: `git+${o.source}`, digest: { sha1: o.commit }, entryPoint: o.main }
          : { entryPoint: o.main },
        environment: { platform: o.platform }
      },
      metadata: {
        completeness: { parameters: false, environment: true, materials: false },
        reproducible: true
      }
    }
  }
  return Buffer.from(JSON.stringify(statement))
}

/** The config of an attestation manifest whose one layer is `statementDigest`. */
export function attestationConfig(statementDigest: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      architecture: 'unknown',
      os: 'unknown',
      config: {},
      rootfs: { type: 'layers', diff_ids: [statementDigest] }
    })
  )
}
