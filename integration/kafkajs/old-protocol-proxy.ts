// A TCP proxy in front of the real broker that makes it look like a Kafka without record headers (before 0.11, or a
// Kafka-compatible proxy that negotiates down): it rewrites the broker's ApiVersions answer so that the highest
// Produce version is 2. Everything else passes byte for byte. kafkajs then writes the old message format, which
// has no headers. Clients reach it through a socketFactory that sends every connection here.
import net from 'node:net';
import type { ISocketFactory } from 'kafkajs';

const API_VERSIONS = 18;
const PRODUCE = 0;

/** Splits a byte stream into Kafka frames (int32 size + payload) and hands each complete frame to `onFrame`. */
function framer(onFrame: (frame: Buffer) => Buffer): (chunk: Buffer) => Buffer[] {
  let pending = Buffer.alloc(0);
  return (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    const out: Buffer[] = [];
    while (pending.length >= 4) {
      const size = pending.readInt32BE(0);
      if (pending.length < 4 + size) break;
      out.push(onFrame(pending.subarray(0, 4 + size)));
      pending = pending.subarray(4 + size);
    }
    return out;
  };
}

export interface OldProtocolProxy {
  readonly socketFactory: ISocketFactory;
  /** Produce requests seen, by version. */
  readonly produceVersions: number[];
  close(): Promise<void>;
}

export async function oldProtocolProxy(broker: string, maxProduceVersion = 2): Promise<OldProtocolProxy> {
  const colon = broker.lastIndexOf(':');
  const target = { host: broker.slice(0, colon), port: Number(broker.slice(colon + 1)) };
  const produceVersions: number[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target);
    sockets.add(client).add(upstream);
    const apiVersionsRequests = new Set<number>();
    // Request header: size, api key (int16), api version (int16), correlation id (int32).
    const fromClient = framer((frame) => {
      const apiKey = frame.readInt16BE(4);
      if (apiKey === API_VERSIONS) apiVersionsRequests.add(frame.readInt32BE(8));
      if (apiKey === PRODUCE) produceVersions.push(frame.readInt16BE(6));
      return frame;
    });
    // ApiVersions v0-v2 response: size, correlation id, error code (int16), [api key, min, max] (int32 count), ...
    const fromBroker = framer((frame) => {
      const correlationId = frame.readInt32BE(4);
      if (!apiVersionsRequests.delete(correlationId)) return frame;
      const copy = Buffer.from(frame);
      const count = copy.readInt32BE(10);
      for (let i = 0, at = 14; i < count; i++, at += 6) {
        if (copy.readInt16BE(at) === PRODUCE && copy.readInt16BE(at + 4) > maxProduceVersion) copy.writeInt16BE(maxProduceVersion, at + 4);
      }
      return copy;
    });
    client.on('data', (chunk: Buffer) => fromClient(chunk).forEach((f) => upstream.write(f)));
    upstream.on('data', (chunk: Buffer) => fromBroker(chunk).forEach((f) => client.write(f)));
    const closeBoth = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', closeBoth).on('error', closeBoth);
    upstream.on('close', closeBoth).on('error', closeBoth);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    produceVersions,
    // Every broker the client is told about (the metadata names the real one) is reached through the proxy.
    socketFactory: ({ onConnect }) => {
      const socket = net.connect({ host: '127.0.0.1', port }, onConnect);
      socket.setKeepAlive(true, 60000);
      return socket;
    },
    close: () =>
      new Promise<void>((resolve) => {
        sockets.forEach((s) => s.destroy());
        server.close(() => resolve());
      }),
  };
}
