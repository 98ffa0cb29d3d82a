/**
 * The ELF header of an executable and what it says about the platform it runs on (pure): class,
 * byte order, machine and, for 32-bit ARM, the EABI version and float ABI of e_flags.
 */

/** What an ELF header says. */
export interface ElfHeader {
  /** 32 or 64 (EI_CLASS). */
  bits: 32 | 64
  /** Byte order (EI_DATA). */
  endian: 'LSB' | 'MSB'
  /** e_machine. */
  machine: number
  /** e_flags. */
  flags: number
}

/** e_machine values of the architectures Docker platforms name. */
const MACHINES: Record<number, { name: string; arch: string }> = {
  3: { name: 'EM_386', arch: 'i386' },
  8: { name: 'EM_MIPS', arch: 'mips' },
  20: { name: 'EM_PPC', arch: 'ppc' },
  21: { name: 'EM_PPC64', arch: 'ppc64' },
  22: { name: 'EM_S390', arch: 's390x' },
  40: { name: 'EM_ARM', arch: 'arm' },
  62: { name: 'EM_X86_64', arch: 'x86-64' },
  183: { name: 'EM_AARCH64', arch: 'aarch64' },
  243: { name: 'EM_RISCV', arch: 'riscv' },
  258: { name: 'EM_LOONGARCH', arch: 'loongarch' }
}

/** What an ELF executable must be for a platform (GOARCH spelling of the architecture). */
const EXPECTED: Record<string, { bits: 32 | 64; endian: 'LSB' | 'MSB'; machine: number }> = {
  amd64: { bits: 64, endian: 'LSB', machine: 62 },
  '386': { bits: 32, endian: 'LSB', machine: 3 },
  arm64: { bits: 64, endian: 'LSB', machine: 183 },
  arm: { bits: 32, endian: 'LSB', machine: 40 },
  ppc64le: { bits: 64, endian: 'LSB', machine: 21 },
  ppc64: { bits: 64, endian: 'MSB', machine: 21 },
  s390x: { bits: 64, endian: 'MSB', machine: 22 },
  riscv64: { bits: 64, endian: 'LSB', machine: 243 },
  mips64le: { bits: 64, endian: 'LSB', machine: 8 },
  mips64: { bits: 64, endian: 'MSB', machine: 8 },
  mipsle: { bits: 32, endian: 'LSB', machine: 8 },
  mips: { bits: 32, endian: 'MSB', machine: 8 },
  loong64: { bits: 64, endian: 'LSB', machine: 258 }
}

/** EF_ARM_ABI_FLOAT_SOFT and EF_ARM_ABI_FLOAT_HARD (EABI version 5). */
const EF_ARM_ABI_FLOAT_SOFT = 0x200
const EF_ARM_ABI_FLOAT_HARD = 0x400

/** Bytes needed to read a header (the 64-bit one is 64 bytes). */
export const ELF_HEADER_BYTES = 64

/** Parses an ELF header; undefined when the bytes are not one. */
export function parseElfHeader(bytes: Buffer): ElfHeader | undefined {
  if (bytes.length < 52 || bytes.readUInt32BE(0) !== 0x7f454c46) return undefined
  const bits = bytes[4] === 1 ? 32 : bytes[4] === 2 ? 64 : undefined
  const endian = bytes[5] === 1 ? 'LSB' : bytes[5] === 2 ? 'MSB' : undefined
  if (!bits || !endian || (bits === 64 && bytes.length < 64)) return undefined
  const u16 = (o: number): number =>
    endian === 'LSB' ? bytes.readUInt16LE(o) : bytes.readUInt16BE(o)
  const u32 = (o: number): number =>
    endian === 'LSB' ? bytes.readUInt32LE(o) : bytes.readUInt32BE(o)
  // e_flags follows e_entry, e_phoff and e_shoff: three words of the class's size after offset 24
  return { bits, endian, machine: u16(18), flags: u32(bits === 64 ? 48 : 36) }
}

/** The float ABI an ARM EABI5 header declares (Go's own linker declares none). */
export function armFloatAbi(h: ElfHeader): 'hard' | 'soft' | 'unspecified' {
  if (h.machine !== 40 || h.flags >>> 24 !== 5) return 'unspecified'
  if (h.flags & EF_ARM_ABI_FLOAT_HARD) return 'hard'
  if (h.flags & EF_ARM_ABI_FLOAT_SOFT) return 'soft'
  return 'unspecified'
}

/** e.g. `ELF 64-bit LSB, EM_X86_64 (x86-64)`, and for ARM the EABI version and float ABI. */
export function describeElf(h: ElfHeader): string {
  const m = MACHINES[h.machine]
  const machine = m ? `${m.name} (${m.arch})` : `e_machine ${h.machine}`
  let arm = ''
  if (h.machine === 40) {
    const eabi = h.flags >>> 24
    arm = eabi ? `, EABI${eabi}, float ABI ${armFloatAbi(h)}` : ', no EABI version'
  }
  return `ELF ${h.bits}-bit ${h.endian}, ${machine}${arm}`
}

/** `ELF 64-bit LSB, EM_AARCH64 (aarch64)`: what a platform's executables must be. */
export function describeExpected(platform: string): string | undefined {
  const want = EXPECTED[platform.split('/')[1] ?? '']
  if (!want) return undefined
  return describeElf({ ...want, flags: 0 }).replace(/, no EABI version$/, '')
}

/**
 * What in an ELF header contradicts a platform (`linux/arm64`, `linux/arm/v7`): class, byte
 * order, machine and, for 32-bit ARM, an EABI version other than 5 or a declared float ABI
 * other than the platform's (v5: soft float, armel; v6 and v7: hard float, armhf). Empty when it
 * fits, or when the platform's architecture is not one this knows.
 */
export function elfProblems(h: ElfHeader, platform: string): string[] {
  const [, arch, variant] = platform.split('/')
  const want = EXPECTED[arch ?? '']
  if (!want) return []
  const problems: string[] = []
  if (h.bits !== want.bits) problems.push(`ELF ${h.bits}-bit, not ${want.bits}-bit`)
  if (h.endian !== want.endian) problems.push(`${h.endian}, not ${want.endian}`)
  if (h.machine !== want.machine)
    problems.push(
      `${MACHINES[h.machine]?.name ?? `e_machine ${h.machine}`}, not ${MACHINES[want.machine].name}`
    )
  if (arch === 'arm' && h.machine === 40) {
    const eabi = h.flags >>> 24
    if (eabi !== 5) problems.push(`EABI version ${eabi}, not 5`)
    const float = armFloatAbi(h)
    const wantFloat = variant === 'v5' ? 'soft' : 'hard'
    if (float !== 'unspecified' && float !== wantFloat)
      problems.push(`${float}-float ABI, not ${wantFloat}-float for ${platform}`)
  }
  return problems
}
