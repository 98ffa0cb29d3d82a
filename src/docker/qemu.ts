import * as core from '@actions/core'
import { readFile } from 'node:fs/promises'
import { run } from '../exec.js'
import { DOCKER_SETUP_TIMEOUT_S, dockerBound } from './timeouts.js'

/** The binfmt image docker/setup-qemu-action's users pin (docker/github-builder pins this tag). */
export const BINFMT_IMAGE = 'tonistiigi/binfmt:qemu-v10.2.3-68'

const QEMU_ARCH: Record<string, string> = {
  'linux/arm64': 'aarch64',
  'linux/arm/v5': 'arm',
  'linux/arm/v6': 'arm',
  'linux/arm/v7': 'arm',
  'linux/ppc64le': 'ppc64le',
  'linux/s390x': 's390x',
  'linux/riscv64': 'riscv64',
  'linux/mips64le': 'mips64el',
  'linux/mips64': 'mips64',
  'linux/loong64': 'loongarch64',
  'linux/amd64': 'x86_64',
  'linux/386': 'i386'
}

/** The QEMU name of a platform's architecture (`linux/arm64` -> `aarch64`). */
export function qemuArch(platform: string): string | undefined {
  return (
    QEMU_ARCH[platform.split('/').slice(0, 3).join('/')] ??
    QEMU_ARCH[platform.split('/').slice(0, 2).join('/')]
  )
}

/** Whether the kernel's binfmt_misc has an enabled entry for this QEMU architecture. */
export async function binfmtHandles(
  arch: string,
  dir = '/proc/sys/fs/binfmt_misc'
): Promise<boolean> {
  for (const name of [`qemu-${arch}`, `qemu-${arch}-static`]) {
    const text = await readFile(`${dir}/${name}`, 'utf8').catch(() => '')
    if (/^enabled$/m.test(text)) return true
  }
  return false
}

/**
 * Makes the planned foreign platforms runnable: uses binfmt entries that are already there, and
 * registers the missing ones with the pinned binfmt image, as docker/setup-qemu-action does.
 * Returns the platforms that run emulated.
 */
export async function setupQemu(
  platforms: string[],
  log: (line: string) => void = core.info
): Promise<{ emulated: string[]; registered: string[] }> {
  const missing: string[] = []
  for (const p of platforms) {
    const arch = qemuArch(p)
    if (!arch) throw new Error(`qemu: no emulator is known for ${p}`)
    if (!(await binfmtHandles(arch))) missing.push(arch)
  }
  const registered = [...new Set(missing)]
  if (registered.length > 0) {
    log(`registering QEMU emulators for ${registered.join(', ')} with ${BINFMT_IMAGE}`)
    // its output goes through `log`: the stage runs beside others
    const res = await run(
      'docker',
      ['run', '--rm', '--privileged', BINFMT_IMAGE, '--install', registered.join(',')],
      { silent: true, timeoutSeconds: dockerBound(DOCKER_SETUP_TIMEOUT_S) }
    )
    const said = `${res.stdout}${res.stderr}`.trim()
    if (said) log(said)
    for (const arch of registered) {
      if (!(await binfmtHandles(arch)))
        throw new Error(`qemu: the emulator for ${arch} is still not registered`)
    }
  }
  log(
    `emulated: ${platforms.join(', ') || 'nothing'}${registered.length ? ` (registered now: ${registered.join(', ')})` : ' (binfmt already had them)'}`
  )
  return { emulated: platforms, registered }
}
