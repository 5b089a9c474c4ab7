// The cluster object kafkajs builds for each client (it holds the cluster id and the broker's API versions once
// fetched), caught while `Kafka#producer()` / `Kafka#consumer()` build the client: used by the instrumentation and
// by `traceKafka`.
import type { ClusterLike } from './client-info.js';

/** Description of the private symbol under which a kafkajs `Kafka` instance keeps its cluster factory. */
const CREATE_CLUSTER = 'private:Kafka:createCluster';

/**
 * Runs a `Kafka#producer()`/`#consumer()` call and catches the cluster object it builds for the client (kafkajs
 * fetches the cluster id and the broker's API versions into it): the instance's cluster factory is wrapped for
 * the length of the call only. Any surprise (another kafkajs layout) leaves the call as it was, with no cluster.
 */
export function withClusterOf(kafka: unknown, call: () => unknown): { client: unknown; cluster: ClusterLike | undefined } {
  let key: symbol | undefined;
  let factory: unknown;
  try {
    if (kafka !== null && typeof kafka === 'object') {
      key = Object.getOwnPropertySymbols(kafka).find((s) => s.description === CREATE_CLUSTER);
      factory = key && (kafka as Record<symbol, unknown>)[key];
    }
  } catch {
    key = undefined;
  }
  if (key === undefined || typeof factory !== 'function' || !Object.prototype.hasOwnProperty.call(kafka, key)) {
    return { client: call(), cluster: undefined };
  }
  let cluster: ClusterLike | undefined;
  const target = kafka as Record<symbol, unknown>;
  const original = factory as (this: unknown, ...args: unknown[]) => unknown;
  try {
    target[key] = function createCluster(this: unknown, ...args: unknown[]): unknown {
      const built = original.apply(this, args);
      if (built !== null && typeof built === 'object') cluster = built;
      return built;
    };
  } catch {
    return { client: call(), cluster: undefined };
  }
  try {
    return { client: call(), cluster };
  } finally {
    target[key] = original;
  }
}

