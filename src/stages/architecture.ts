import * as core from '@actions/core'
import type { BuiltImage } from '../docker/build.js'
import { describeArchitecture } from '../docker/verify.js'
import { oneLine } from '../util/text.js'
import type { Stage } from './stage.js'

/**
 * Every platform of every image runs an executable of that platform: the checks made when each
 * loaded image was read back (src/docker/verify.ts) are logged, and a mismatch fails the run
 * before any push.
 */
export const architectureStage: Stage = {
  name: 'Architecture',
  applies: () => true,
  async run(ctx) {
    verifiedArchitecture(ctx.built)
  }
}

/** Logs each platform's check; throws, naming every mismatch, when there is one. */
export function verifiedArchitecture(built: BuiltImage[]): void {
  const mismatches: string[] = []
  for (const b of built) {
    for (const [platform, r] of b.architecture) {
      // the file's path comes from the image: data, kept on one line in the log
      const line = oneLine(describeArchitecture(b.image.name, platform, r))
      if (r.status === 'mismatch') {
        core.error(line, { title: `wrong architecture ${platform}` })
        mismatches.push(line)
      } else core.info(`${r.status === 'verified' ? 'ok ' : '-- '} ${line}`)
    }
  }
  if (mismatches.length > 0)
    throw new Error(`architecture check failed, nothing was pushed:\n${mismatches.join('\n')}`)
}
