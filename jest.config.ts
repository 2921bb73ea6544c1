import type { Config } from 'jest';

const config: Config = {
  testEnvironment: 'node',
  roots: ['<rootDir>/__tests__'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }],
  },
  // Integration tests start real servers and move real bytes; give them room
  // on a busy 2-core machine without letting a hang run forever.
  testTimeout: 30_000,
  maxWorkers: 2,
};

export default config;
