// Runs in every integration test file. Real brokers need more than jest's 5 s default per test
// (consumer group joins, broker restarts in fault tests); `testTimeout` is a global jest option,
// so the project sets its own here.
jest.setTimeout(60_000);
