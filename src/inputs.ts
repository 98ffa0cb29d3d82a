import * as core from '@actions/core'
import { INPUT_NAMES, parseInputs, type Inputs } from './inputSchema.js'

export {
  parseBuildArgs,
  parseImagesYaml,
  RESERVED_BUILD_ARGS,
  type BuildArg,
  type ImageInput,
  type Inputs,
  type Mode,
  type RunnerRule,
  type Tristate
} from './inputSchema.js'

/**
 * Reads every input of action.yml once and validates it with the one schema (src/inputSchema.ts,
 * where inputs are added). Errors name the input. Secrets are masked before anything else is
 * logged.
 */
export function getInputs(): Inputs {
  for (const secret of ['registry-password', 'github-token']) {
    const value = core.getInput(secret)
    if (value) core.setSecret(value)
  }
  return parseInputs(Object.fromEntries(INPUT_NAMES.map(name => [name, core.getInput(name)])))
}
