// Three levels, each runnable alone (`npm run test:unit`, `test:db`, `test:e2e`; `npm test` runs all):
// - unit: *.spec.ts beside the code; no database, no build;
// - db: *.db-spec.ts beside the code, on a real ClickHouse (and Redis where a spec needs one), no build;
// - e2e: test/*.e2e-spec.ts, the built app on a real ClickHouse.
const shared = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }] },
  setupFiles: ['reflect-metadata'],
};

export default {
  projects: [
    { ...shared, displayName: 'unit', testMatch: ['<rootDir>/src/**/*.spec.ts'] },
    {
      ...shared,
      displayName: 'db',
      testMatch: ['<rootDir>/src/**/*.db-spec.ts'],
      globalSetup: '<rootDir>/test/clickhouse-setup.mjs',
      globalTeardown: '<rootDir>/test/global-teardown.mjs',
    },
    {
      ...shared,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      globalSetup: '<rootDir>/test/global-setup.mjs',
      globalTeardown: '<rootDir>/test/global-teardown.mjs',
    },
  ],
  maxWorkers: 2,
  testTimeout: 60_000,
};
