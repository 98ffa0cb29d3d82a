const shared = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.test.json' }]
  },
  testPathIgnorePatterns: ['/node_modules/', '/dist/']
}

/** @type {import('jest').Config} */
export default {
  projects: [
    { ...shared, displayName: 'unit', testMatch: ['<rootDir>/__tests__/**/*.test.ts'] },
    {
      ...shared,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      // brings the bench up (or says why it cannot) and installs nektos/act; Jest runs it only
      // when a test of this project runs, so `jest __tests__` never touches the bench
      globalSetup: '<rootDir>/test/setup/bench.ts'
    }
  ],
  verbose: false,
  // The end-to-end tests share one Docker engine and prune its build cache: one file at a time.
  maxWorkers: 1
}
