// server.address / server.port (and network.peer.*) of the connection a channel belongs to, read from its socket
// once per connection. Only the socket is read: the connect URL, and so its password, is never seen.
import type { Attributes } from '@opentelemetry/api';
import { ATTR_NETWORK_PEER_ADDRESS, ATTR_NETWORK_PEER_PORT, ATTR_SERVER_ADDRESS, ATTR_SERVER_PORT } from '@brokertrace/core';
import { shared } from './shared.js';

export interface ConnectionInfo {
  /** On every span: server.address, server.port, network.peer.address, network.peer.port. */
  readonly spanAttributes: Attributes;
  /** Low-cardinality, also on metrics: server.address, server.port. The same object every time. */
  readonly metricAttributes: Attributes;
}

const NONE: ConnectionInfo = Object.freeze({ spanAttributes: Object.freeze({}), metricAttributes: Object.freeze({}) });

interface SocketLike {
  _host?: unknown;
  remoteAddress?: unknown;
  remotePort?: unknown;
}

function read(connection: object): ConnectionInfo | undefined {
  const stream = (connection as { stream?: unknown }).stream;
  if (typeof stream !== 'object' || stream === null) return undefined;
  const socket = stream as SocketLike;
  const peerAddress = typeof socket.remoteAddress === 'string' && socket.remoteAddress !== '' ? socket.remoteAddress : undefined;
  const peerPort = typeof socket.remotePort === 'number' ? socket.remotePort : undefined;
  if (peerAddress === undefined) return undefined; // not connected (yet, or any more): ask again next time
  // The host name the application connected to (net.Socket keeps it), else the peer's IP.
  const host = typeof socket._host === 'string' && socket._host !== '' ? socket._host : peerAddress;
  const metricAttributes: Attributes = { [ATTR_SERVER_ADDRESS]: host };
  if (peerPort !== undefined) metricAttributes[ATTR_SERVER_PORT] = peerPort;
  const spanAttributes: Attributes = { ...metricAttributes, [ATTR_NETWORK_PEER_ADDRESS]: peerAddress };
  if (peerPort !== undefined) spanAttributes[ATTR_NETWORK_PEER_PORT] = peerPort;
  return { spanAttributes: Object.freeze(spanAttributes), metricAttributes: Object.freeze(metricAttributes) };
}

/** The connection attributes of a channel (`channel.connection`), or none when amqplib does not expose them. */
export function connectionInfo(channel: unknown): ConnectionInfo {
  const connection = (channel as { connection?: unknown } | null | undefined)?.connection;
  if (typeof connection !== 'object' || connection === null) return NONE;
  const cache = shared().connections;
  let info = cache.get(connection);
  if (info === undefined) {
    info = read(connection);
    if (info === undefined) return NONE;
    cache.set(connection, info);
  }
  return info;
}
