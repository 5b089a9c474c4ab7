// Which brokers this jest run needs: the brokers of the test files it selected, by folder
// (./test-folders.json). Jest does not hand the selected files to a global setup, so the same
// filters are applied again here; when in doubt a broker is started rather than missed.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BROKERS, type BrokerName } from './state';

const FOLDERS = JSON.parse(readFileSync(join(__dirname, 'test-folders.json'), 'utf8')) as Record<BrokerName, string[]>;

/** The brokers a test file needs (none for files outside the broker folders). */
export function brokersOf(testFile: string): BrokerName[] {
  const path = testFile.replace(/\\/g, '/');
  return BROKERS.filter((broker) => FOLDERS[broker].some((pattern) => new RegExp(pattern).test(path)));
}

/** BROKERTRACE_SKIP_BROKERS as a list; unknown names throw with the valid ones. */
export function skippedBrokers(env: NodeJS.ProcessEnv): BrokerName[] {
  const names = (env.BROKERTRACE_SKIP_BROKERS ?? '').split(',').map((n) => n.trim()).filter(Boolean);
  for (const name of names) {
    if (!(BROKERS as readonly string[]).includes(name)) {
      throw new Error(`BROKERTRACE_SKIP_BROKERS: unknown broker "${name}" (valid: ${BROKERS.join(', ')})`);
    }
  }
  return names as BrokerName[];
}

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) return [];
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return testFiles(path);
    return entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

/** The slice of jest's configs the selection reads. */
export interface SelectionConfig {
  rootDir: string;
  /** jest 30's TestPathPatterns (the CLI's path arguments). */
  testPathPatterns?: { isSet(): boolean; toExecutor(o: { rootDir: string }): { isMatch(path: string): boolean } };
  testPathIgnorePatterns: string[];
}

/** The brokers needed by the files under `projectRoot` that jest's path filters select. */
export function neededBrokers(projectRoot: string, config: SelectionConfig): BrokerName[] {
  const patterns = config.testPathPatterns;
  const selected = patterns?.isSet() ? patterns.toExecutor({ rootDir: config.rootDir }) : undefined;
  const ignored = config.testPathIgnorePatterns.map((p) => new RegExp(p));
  const needed = new Set<BrokerName>();
  for (const file of testFiles(projectRoot)) {
    if (ignored.some((re) => re.test(file))) continue;
    if (selected && !selected.isMatch(file)) continue;
    for (const broker of brokersOf(file)) needed.add(broker);
  }
  return BROKERS.filter((b) => needed.has(b));
}
