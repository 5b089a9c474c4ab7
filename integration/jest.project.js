// The `integration` jest project: real brokers, started once per run by the harness (integration/harness,
// see integration/README.md). The global setup starts only the brokers the selected test files need.
const BROKER_FOLDERS = require('./harness/test-folders.json');

// BROKERTRACE_SKIP_BROKERS=kafka,pubsub leaves those brokers and their tests out of the run (announced
// by the global setup). Unknown names fail here, before anything starts.
function skippedTestPatterns() {
  const names = (process.env.BROKERTRACE_SKIP_BROKERS ?? '').split(',').map((n) => n.trim()).filter(Boolean);
  const brokers = Object.keys(BROKER_FOLDERS).filter((k) => !k.startsWith('$'));
  return names.flatMap((name) => {
    if (!brokers.includes(name)) {
      throw new Error(`BROKERTRACE_SKIP_BROKERS: unknown broker "${name}" (valid: ${brokers.join(', ')})`);
    }
    return BROKER_FOLDERS[name];
  });
}

module.exports = (shared) => ({
  ...shared,
  displayName: 'integration',
  rootDir: __dirname,
  moduleNameMapper: Object.fromEntries(
    Object.entries(shared.moduleNameMapper).map(([k, v]) => [k, v.replace('<rootDir>', `${__dirname}/..`)]),
  ),
  testMatch: ['<rootDir>/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', ...skippedTestPatterns()],
  globalSetup: '<rootDir>/harness/global-setup.ts',
  globalTeardown: '<rootDir>/harness/global-teardown.ts',
  setupFilesAfterEnv: ['<rootDir>/harness/setup-after-env.ts'],
});
