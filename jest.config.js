// One jest run for the whole suite: `unit` needs nothing but Node; `integration` starts real brokers
// through the harness in integration/ (see integration/README.md).
const shared = {
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' } }] },
  moduleNameMapper: {
    // Tests run against the sources; sources import siblings with a .js suffix for the ESM build.
    '^@brokertrace/([a-z-]+)$': '<rootDir>/packages/$1/src/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  testEnvironment: 'node',
};

module.exports = {
  reporters: ['default', '<rootDir>/scripts/jest-summary-reporter.js'],
  projects: [
    { ...shared, displayName: 'unit', rootDir: __dirname, testMatch: ['<rootDir>/packages/*/test/**/*.test.ts'] },
    // Needs the built packages: `scripts/pnpm test` builds first.
    { ...shared, displayName: 'packaging', rootDir: __dirname, testMatch: ['<rootDir>/test/**/*.test.ts'] },
    require('./integration/jest.project.js')(shared),
  ],
};
