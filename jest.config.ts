import type { Config } from 'jest';

const config: Config = {
  testEnvironment: 'node',
  roots: ['<rootDir>/__tests__'],
  testMatch: ['**/*.test.ts'],
  // Tests are transpiled file by file (isolatedModules): type-checking every
  // file's import graph again in each worker cost most of the suite's time.
  // The types are still checked, once for everything, by `npm test`'s
  // pretest (tsc -p tsconfig.jest.json), so a type error still fails.
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.jest.json' }],
  },
  // Integration tests start real servers and move real bytes; give them room
  // on a busy 2-core machine without letting a hang run forever.
  testTimeout: 30_000,
  maxWorkers: 2,
};

export default config;
