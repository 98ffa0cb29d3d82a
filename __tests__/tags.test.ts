import { describe, expect, it } from '@jest/globals'
import { planTags, type TagValues } from '../src/plan/tags.js'

const STABLE: TagValues = { version: '2.3.0', tag: 'v2.3.0', shortSha: '6113728', stable: true }
const RC: TagValues = {
  version: '2.3.0-rc.1',
  tag: 'v2.3.0-rc.1',
  shortSha: '6113728',
  stable: false,
  notStableWhy: 'a prerelease'
}
const BRANCH: TagValues = {
  version: 'main',
  tag: 'main',
  shortSha: '6113728',
  stable: false,
  notStableWhy: 'not a release'
}
const CALVER: TagValues = {
  version: '2024.06.1',
  tag: '2024.06.1',
  shortSha: 'abcdef0',
  stable: true
}

describe('planTags', () => {
  it.each<[string, string[], TagValues, boolean, string[], string[]]>([
    ['default on a release', ['{{version}}'], STABLE, true, ['2.3.0'], ['latest']],
    [
      'v-prefixed with floating tags, in the given order, latest last',
      ['{{tag}}', 'v{{major}}.{{minor}}', 'v{{major}}'],
      STABLE,
      true,
      ['v2.3.0'],
      ['v2.3', 'v2', 'latest']
    ],
    [
      'major.minor.patch is exact on a release; a literal is floating',
      ['{{major}}.{{minor}}.{{patch}}', 'stable', '{{major}}'],
      STABLE,
      false,
      ['2.3.0'],
      ['stable', '2']
    ],
    [
      'duplicates once; latest given as a template still goes last',
      ['latest', '{{version}}', '{{major}}.{{minor}}.{{patch}}', '{{major}}'],
      STABLE,
      false,
      ['2.3.0'],
      ['2', 'latest']
    ],
    [
      'a prerelease gets no floating tag (major.minor.patch would name the release)',
      ['{{version}}', '{{major}}.{{minor}}.{{patch}}', '{{major}}'],
      RC,
      false,
      ['2.3.0-rc.1'],
      []
    ],
    [
      'a branch build: version and sha',
      ['{{version}}', 'sha-{{short_sha}}', '{{tag}}'],
      BRANCH,
      false,
      ['main', 'sha-6113728'],
      []
    ],
    [
      'CalVer is not semver: major is skipped, the version stays',
      ['{{version}}', '{{major}}'],
      CALVER,
      true,
      ['2024.06.1'],
      ['latest']
    ],
    [
      'spaces inside the braces',
      ['{{ tag }}-{{ short_sha }}'],
      STABLE,
      false,
      ['v2.3.0-6113728'],
      []
    ]
  ])('%s', (_, templates, values, latest, exact, floating) => {
    const got = planTags(templates, values, { latest, inputName: 'tags' })
    expect(got.exact).toEqual(exact)
    expect(got.floating).toEqual(floating)
  })

  it('says why a template was skipped, naming the input', () => {
    expect(
      planTags(['{{version}}', '{{major}}'], CALVER, { latest: false, inputName: 'images[1].tags' })
        .notices
    ).toEqual(["images[1].tags: '{{major}}' skipped: the version 2024.06.1 is not semver"])
    expect(
      planTags(['{{version}}', 'v{{major}}'], RC, { latest: false, inputName: 'tags' }).notices
    ).toEqual([
      "tags: 'v{{major}}' skipped: a floating tag, only for a stable release (a prerelease)"
    ])
  })

  it.each([
    [['{{Version}}'], /tags: unknown placeholder \{\{Version\}\} in '\{\{Version\}\}'/],
    [['{{version}'], /tags: '\{\{version\}' has a malformed placeholder/],
    [
      ['{{version}}+build'],
      /tags: '\{\{version\}\}\+build' gives '2\.3\.0\+build', which is not a valid Docker tag/
    ],
    [['-{{version}}'], /not a valid Docker tag/],
    [['{{major}}'], /tags: no template gives a tag of this very version/]
  ])('refuses %j', (templates, error) => {
    expect(() => planTags(templates, STABLE, { latest: false, inputName: 'tags' })).toThrow(error)
  })
})
