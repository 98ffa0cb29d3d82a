/** Platforms the action can build, smoke-test and push (os/arch[/variant]). */
export const KNOWN_PLATFORMS: readonly string[] = [
  'linux/amd64',
  'linux/amd64/v2',
  'linux/amd64/v3',
  'linux/amd64/v4',
  'linux/arm64',
  'linux/arm/v5',
  'linux/arm/v6',
  'linux/arm/v7',
  'linux/386',
  'linux/ppc64le',
  'linux/s390x',
  'linux/riscv64',
  'linux/mips64le',
  'linux/mips64',
  'linux/loong64'
]

/** Spellings that name the same platform as a canonical entry of KNOWN_PLATFORMS. */
const ALIASES: Record<string, string> = {
  'linux/arm64/v8': 'linux/arm64',
  'linux/aarch64': 'linux/arm64',
  'linux/x86_64': 'linux/amd64',
  'linux/amd64/v1': 'linux/amd64',
  'linux/arm': 'linux/arm/v7',
  'linux/armhf': 'linux/arm/v7',
  'linux/armel': 'linux/arm/v6',
  'linux/i386': 'linux/386'
}

/**
 * Validates and canonicalises a list of platforms, removing duplicates.
 * @param platforms the platforms as the user wrote them
 * @param inputName the input named in an error (`platforms`, `images[1].platforms`)
 */
export function normalizePlatforms(platforms: string[], inputName: string): string[] {
  if (platforms.length === 0) throw new Error(`${inputName}: no platform given`)
  const out: string[] = []
  for (const raw of platforms) {
    const lower = raw.trim().toLowerCase()
    const canonical = ALIASES[lower] ?? lower
    if (!KNOWN_PLATFORMS.includes(canonical)) {
      throw new Error(
        `${inputName}: unknown platform '${raw}'; expected one of ${KNOWN_PLATFORMS.join(', ')}`
      )
    }
    if (!out.includes(canonical)) out.push(canonical)
  }
  return out
}

/**
 * The runner's own platform from RUNNER_ARCH (X64, ARM64, ARM, X86), or from Node's process.arch
 * when the runner did not say.
 */
export function runnerPlatform(runnerArch: string | undefined, nodeArch: string): string {
  const byRunner: Record<string, string> = {
    X64: 'linux/amd64',
    ARM64: 'linux/arm64',
    ARM: 'linux/arm/v7',
    X86: 'linux/386'
  }
  const byNode: Record<string, string> = {
    x64: 'linux/amd64',
    arm64: 'linux/arm64',
    arm: 'linux/arm/v7',
    ia32: 'linux/386',
    ppc64: 'linux/ppc64le',
    s390x: 'linux/s390x',
    riscv64: 'linux/riscv64'
  }
  return (runnerArch && byRunner[runnerArch.toUpperCase()]) || byNode[nodeArch] || 'linux/amd64'
}

/**
 * Whether a platform runs natively on the runner (no emulation): the same os/arch; an amd64
 * runner also runs 386, an arm64 runner also runs arm/v7 and arm/v6 on most hosts but that is
 * not guaranteed, so only amd64 -> 386 is counted.
 */
export function isNativePlatform(platform: string, runner: string): boolean {
  const arch = (p: string): string => p.split('/').slice(0, 2).join('/')
  if (arch(platform) === arch(runner)) return true
  return arch(runner) === 'linux/amd64' && arch(platform) === 'linux/386'
}
