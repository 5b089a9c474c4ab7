// Where a PubSub client sends its RPCs, as `server.address` / `server.port`: the endpoint the generated client
// computes from the PubSub options. `servicePath` (set by the PubSub constructor from `apiEndpoint` or
// PUBSUB_EMULATOR_HOST) or `apiEndpoint`, else `pubsub.{universe domain}`; the port given, else 443.
import { ATTR_SERVER_ADDRESS, ATTR_SERVER_PORT } from '@brokertrace/core';
import type { Attributes } from '@opentelemetry/api';

interface ClientOptions {
  servicePath?: unknown;
  apiEndpoint?: unknown;
  port?: unknown;
  universeDomain?: unknown;
  universe_domain?: unknown;
}

const DEFAULT_PORT = 443;
const NONE: Readonly<Attributes> = Object.freeze({});
/** One frozen set per client: core caches what it derives from metric attributes by their identity. */
const byClient = new WeakMap<object, Readonly<Attributes>>();

function nonEmpty(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function read(options: ClientOptions): Readonly<Attributes> {
  const universe = nonEmpty(options.universeDomain) ?? nonEmpty(options.universe_domain) ?? nonEmpty(process.env.GOOGLE_CLOUD_UNIVERSE_DOMAIN) ?? 'googleapis.com';
  const address = nonEmpty(options.servicePath) ?? nonEmpty(options.apiEndpoint) ?? `pubsub.${universe}`;
  // A port given as a string ('8085') is one the generated client uses too.
  const given = typeof options.port === 'string' && /^\d+$/.test(options.port) ? Number(options.port) : options.port;
  const port = typeof given === 'number' && Number.isInteger(given) && given > 0 ? given : DEFAULT_PORT;
  return Object.freeze({ [ATTR_SERVER_ADDRESS]: address, [ATTR_SERVER_PORT]: port });
}

/** `server.address` and `server.port` of the PubSub client a topic or subscription belongs to; none if unknown. */
export function endpointAttributes(client: unknown): Readonly<Attributes> {
  if (client === null || typeof client !== 'object') return NONE;
  let known = byClient.get(client);
  if (known === undefined) {
    try {
      const options = (client as { options?: unknown }).options;
      known = options !== null && typeof options === 'object' ? read(options) : NONE;
    } catch {
      // A getter that throws (a hand-made or proxied client): no endpoint rather than no span.
      known = NONE;
    }
    byClient.set(client, known);
  }
  return known;
}
