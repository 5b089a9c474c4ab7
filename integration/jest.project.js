// The `integration` jest project: real brokers, started once per run by the harness.
module.exports = (shared) => ({
  ...shared,
  displayName: 'integration',
  rootDir: __dirname,
  moduleNameMapper: Object.fromEntries(
    Object.entries(shared.moduleNameMapper).map(([k, v]) => [k, v.replace('<rootDir>', `${__dirname}/..`)]),
  ),
  testMatch: ['<rootDir>/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/'],
});
