/**
 * The image config of a runner build, as the generated Dockerfile gives it (FROM base; COPY the
 * binary to /; LABEL; EXPOSE; USER; ENTRYPOINT; CMD): the base's config with the binary's layer,
 * the labels, ports, user, entrypoint and command, dated with the release date. Pure.
 */

/** What a runner build sets over its base config. */
export interface ConfigOptions {
  platform: string
  binary: string
  labels: Record<string, string>
  expose: string[]
  user: string
  cmd: string[]
  /** The layer's diff ID. */
  diffId: string
  /** The release date, RFC 3339 (config and history `created`). */
  created: string
}

/** `os`, `architecture` and `variant` of `os/arch[/variant]`. */
export function platformFields(platform: string): {
  os: string
  architecture: string
  variant?: string
} {
  const [os, architecture, variant] = platform.split('/')
  return { os, architecture, ...(variant ? { variant } : {}) }
}

/** `9100` -> `9100/tcp`, as EXPOSE records a port. */
function exposedPort(port: string): string {
  return port.includes('/') ? port.toLowerCase() : `${port}/tcp`
}

/**
 * The new config. Like a Dockerfile's ENTRYPOINT, the entrypoint drops the base's CMD unless a
 * `cmd` is given; the base's env, working directory and labels stay (ours win).
 */
export function runnerConfig(
  base: Record<string, unknown>,
  o: ConfigOptions
): Record<string, unknown> {
  const old = (base['config'] ?? {}) as Record<string, unknown>
  const rootfs = (base['rootfs'] ?? {}) as { diff_ids?: string[] }
  const ports = Object.fromEntries(o.expose.map(p => [exposedPort(p), {}]))
  const config: Record<string, unknown> = { ...old, User: o.user, Entrypoint: [`/${o.binary}`] }
  if (o.cmd.length > 0) config['Cmd'] = o.cmd
  else delete config['Cmd']
  if (o.expose.length > 0)
    config['ExposedPorts'] = {
      ...((old['ExposedPorts'] as Record<string, unknown>) ?? {}),
      ...ports
    }
  config['Labels'] = { ...((old['Labels'] as Record<string, string>) ?? {}), ...o.labels }
  const history = [
    ...((base['history'] as unknown[]) ?? []),
    {
      created: o.created,
      created_by: `COPY ${o.binary} /${o.binary} # go-image-action`,
      comment: 'go-image-action runner build'
    }
  ]
  return {
    ...platformFields(o.platform),
    config,
    created: o.created,
    history,
    rootfs: { type: 'layers', diff_ids: [...(rootfs.diff_ids ?? []), o.diffId] }
  }
}
