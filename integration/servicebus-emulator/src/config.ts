// The emulator's entities, read from the same Config.json the official Service Bus emulator reads
// (UserConfig.Namespaces[0].Queues / Topics / Subscriptions), so one file serves both. Values are
// checked against the real service's documented ranges; anything we do not implement is refused here,
// naming the setting, rather than silently ignored.
import { readFileSync } from 'node:fs';

export interface EntitySettings {
  lockDurationMs: number;
  maxDeliveryCount: number;
  defaultTtlMs: number;
  deadLetteringOnMessageExpiration: boolean;
  requiresDuplicateDetection: boolean;
  duplicateDetectionWindowMs: number;
  forwardTo?: string;
  forwardDeadLetteredMessagesTo?: string;
  maxMessageSizeBytes: number;
  /** Minimal sessions: session-filtered receivers (acceptSession / acceptNextSession), see server.ts. */
  requiresSession?: boolean;
}

export interface QueueConfig {
  kind: 'queue';
  name: string;
  settings: EntitySettings;
}
export interface SubscriptionConfig {
  name: string;
  settings: EntitySettings;
}
export interface TopicConfig {
  kind: 'topic';
  name: string;
  settings: EntitySettings;
  subscriptions: SubscriptionConfig[];
}
export interface NamespaceConfig {
  name: string;
  queues: QueueConfig[];
  topics: TopicConfig[];
  /** SAS rule the tokens must be signed with (the official emulator's fixed pair by default). */
  keyName: string;
  key: string;
}

export const DEFAULT_KEY_NAME = 'RootManageSharedAccessKey';
export const DEFAULT_KEY = 'SAS_KEY_VALUE';

const DEFAULTS: EntitySettings = {
  lockDurationMs: 60_000,
  maxDeliveryCount: 10,
  // the service's default TTL is TimeSpan.MaxValue: effectively never
  defaultTtlMs: Number.MAX_SAFE_INTEGER,
  deadLetteringOnMessageExpiration: false,
  requiresDuplicateDetection: false,
  duplicateDetectionWindowMs: 10 * 60_000,
  maxMessageSizeBytes: 256 * 1024,
};

/** ISO 8601 durations as the service writes them: PT1M, PT5S, P1D, PT0.5S, P10675199DT2H48M5.4775807S. */
export function parseDuration(value: string, setting: string): number {
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(value);
  if (!m || value === 'P' || value.endsWith('T')) throw new Error(`${setting}: "${value}" is not an ISO 8601 duration such as PT1M`);
  const [, d = '0', h = '0', min = '0', s = '0'] = m;
  const ms = ((Number(d) * 24 + Number(h)) * 60 + Number(min)) * 60_000 + Number(s) * 1000;
  return Math.min(ms, Number.MAX_SAFE_INTEGER);
}

type Raw = Record<string, unknown>;

const SUPPORTED = new Set([
  'LockDuration',
  'MaxDeliveryCount',
  'DefaultMessageTimeToLive',
  'DeadLetteringOnMessageExpiration',
  'RequiresDuplicateDetection',
  'DuplicateDetectionHistoryTimeToLive',
  'ForwardTo',
  'ForwardDeadLetteredMessagesTo',
  'MaxMessageSizeInKilobytes',
  'RequiresSession',
]);

function settingsOf(raw: Raw | undefined, where: string): EntitySettings {
  const props = raw ?? {};
  for (const key of Object.keys(props)) {
    if (!SUPPORTED.has(key)) throw new Error(`${where}.Properties.${key}: not supported by this emulator`);
  }
  const s: EntitySettings = { ...DEFAULTS };
  const str = (key: string): string | undefined => {
    const v = props[key];
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v !== 'string') throw new Error(`${where}.Properties.${key}: expected a string`);
    return v;
  };
  const num = (key: string): number | undefined => {
    const v = props[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v)) throw new Error(`${where}.Properties.${key}: expected an integer`);
    return v;
  };
  const bool = (key: string): boolean | undefined => {
    const v = props[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'boolean') throw new Error(`${where}.Properties.${key}: expected true or false`);
    return v;
  };
  const lock = str('LockDuration');
  if (lock !== undefined) s.lockDurationMs = parseDuration(lock, `${where}.Properties.LockDuration`);
  // the service's range: 5 seconds to 5 minutes
  if (s.lockDurationMs < 5000 || s.lockDurationMs > 300_000) {
    throw new Error(`${where}.Properties.LockDuration: must be between PT5S and PT5M (the service's range)`);
  }
  s.maxDeliveryCount = num('MaxDeliveryCount') ?? s.maxDeliveryCount;
  if (s.maxDeliveryCount < 1) throw new Error(`${where}.Properties.MaxDeliveryCount: must be at least 1`);
  const ttl = str('DefaultMessageTimeToLive');
  if (ttl !== undefined) s.defaultTtlMs = parseDuration(ttl, `${where}.Properties.DefaultMessageTimeToLive`);
  s.deadLetteringOnMessageExpiration = bool('DeadLetteringOnMessageExpiration') ?? false;
  s.requiresDuplicateDetection = bool('RequiresDuplicateDetection') ?? false;
  const window = str('DuplicateDetectionHistoryTimeToLive');
  if (window !== undefined) {
    s.duplicateDetectionWindowMs = parseDuration(window, `${where}.Properties.DuplicateDetectionHistoryTimeToLive`);
    // the service's range: 20 seconds to 7 days
    if (s.duplicateDetectionWindowMs < 20_000 || s.duplicateDetectionWindowMs > 7 * 86_400_000) {
      throw new Error(`${where}.Properties.DuplicateDetectionHistoryTimeToLive: must be between PT20S and P7D`);
    }
  }
  s.forwardTo = str('ForwardTo');
  s.forwardDeadLetteredMessagesTo = str('ForwardDeadLetteredMessagesTo');
  const kb = num('MaxMessageSizeInKilobytes');
  if (kb !== undefined) {
    if (kb < 1 || kb > 102_400) throw new Error(`${where}.Properties.MaxMessageSizeInKilobytes: must be between 1 and 102400`);
    s.maxMessageSizeBytes = kb * 1024;
  }
  if (bool('RequiresSession')) s.requiresSession = true;
  return s;
}

function nameOf(raw: Raw, where: string): string {
  const name = raw.Name;
  if (typeof name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,259}$/.test(name)) {
    throw new Error(`${where}.Name: expected an entity name of letters, digits, '.', '-', '_' (at most 260)`);
  }
  return name;
}

function list(raw: unknown, where: string): Raw[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw new Error(`${where}: expected an array`);
  return raw as Raw[];
}

/** Parses a Config.json (the official emulator's format); throws naming the first bad setting. */
export function parseConfig(json: unknown, env: NodeJS.ProcessEnv = {}): NamespaceConfig {
  const root = (json as { UserConfig?: { Namespaces?: unknown } }).UserConfig;
  const namespaces = list(root?.Namespaces, 'UserConfig.Namespaces');
  if (namespaces.length !== 1) throw new Error('UserConfig.Namespaces: exactly one namespace is supported (as in the official emulator)');
  const ns = namespaces[0] as Raw;
  const queues: QueueConfig[] = list(ns.Queues, 'Queues').map((q, i) => {
    const where = `Queues[${i}]`;
    return { kind: 'queue', name: nameOf(q, where), settings: settingsOf(q.Properties as Raw | undefined, where) };
  });
  const topics: TopicConfig[] = list(ns.Topics, 'Topics').map((t, i) => {
    const where = `Topics[${i}]`;
    const topicProps = (t.Properties ?? {}) as Raw;
    for (const key of Object.keys(topicProps)) {
      if (!['DefaultMessageTimeToLive', 'RequiresDuplicateDetection', 'DuplicateDetectionHistoryTimeToLive', 'MaxMessageSizeInKilobytes'].includes(key)) {
        throw new Error(`${where}.Properties.${key}: not supported on a topic by this emulator`);
      }
    }
    const subscriptions = list(t.Subscriptions, `${where}.Subscriptions`).map((s, j) => {
      const subWhere = `${where}.Subscriptions[${j}]`;
      const rules = list(s.Rules, `${subWhere}.Rules`);
      if (rules.length > 0) {
        throw new Error(`${subWhere}.Rules: subscription rules (filters) are not implemented by this emulator; every subscription gets every message`);
      }
      return { name: nameOf(s, subWhere), settings: settingsOf(s.Properties as Raw | undefined, subWhere) };
    });
    return { kind: 'topic', name: nameOf(t, where), settings: settingsOf(topicProps, where), subscriptions };
  });
  const all = [...queues.map((q) => q.name), ...topics.map((t) => t.name)].map((n) => n.toLowerCase());
  const dup = all.find((n, i) => all.indexOf(n) !== i);
  if (dup) throw new Error(`entity "${dup}" is declared twice (names are case-insensitive)`);
  return {
    name: typeof ns.Name === 'string' ? ns.Name : 'sbemulatorns',
    queues,
    topics,
    keyName: env.SERVICEBUS_EMULATOR_KEY_NAME ?? DEFAULT_KEY_NAME,
    key: env.SERVICEBUS_EMULATOR_KEY ?? DEFAULT_KEY,
  };
}

export function loadConfig(file: string, env: NodeJS.ProcessEnv = {}): NamespaceConfig {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`${file}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  try {
    return parseConfig(json, env);
  } catch (error) {
    throw new Error(`${file}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}
