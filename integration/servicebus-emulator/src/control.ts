// Fault levers for the reliability tests, on a loopback HTTP port of their own (the harness's native
// emulator only; a real namespace has no such thing):
//   POST /connections/drop[?entity=<path>]   client connections dropped at the socket (those with a link to the entity, or all)
//   POST /locks/expire?entity=<path>   every lock of that queue/subscription ends now
// Each answers 200 with a JSON count, 404 for an unknown path or entity.
import { createServer, type Server } from 'node:http';
import type { Emulator } from './server';

export function startControl(emulator: Emulator, port: number, host = '127.0.0.1'): Promise<Server> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://control');
    const answer = (status: number, body: object): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (req.method !== 'POST') return answer(405, { error: 'POST only' });
    if (url.pathname === '/connections/drop') {
      return answer(200, { dropped: emulator.dropConnections(url.searchParams.get('entity') ?? undefined) });
    }
    if (url.pathname === '/locks/expire') {
      const entity = emulator.namespace.entity(url.searchParams.get('entity') ?? '');
      if (!entity) return answer(404, { error: `no queue or subscription '${url.searchParams.get('entity')}'` });
      return answer(200, { expired: entity.expireLocks() });
    }
    return answer(404, { error: `unknown lever ${url.pathname}` });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
