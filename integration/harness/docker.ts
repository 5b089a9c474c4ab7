// Is there a Docker engine? Answered in well under two seconds: no socket means no, and a socket
// must answer GET /_ping. (testcontainers' own discovery would wait much longer on machines without one.)
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { homedir } from 'node:os';
import { join } from 'node:path';

type Target = { socketPath: string } | { host: string; port: number };

function candidates(): Target[] {
  const dockerHost = process.env.DOCKER_HOST;
  if (dockerHost?.startsWith('unix://')) return [{ socketPath: dockerHost.slice('unix://'.length) }];
  if (dockerHost?.startsWith('tcp://')) {
    const url = new URL(dockerHost.replace(/^tcp:/, 'http:'));
    return [{ host: url.hostname, port: Number(url.port || 2375) }];
  }
  const sockets = ['/var/run/docker.sock', join(homedir(), '.docker', 'run', 'docker.sock')];
  if (process.env.XDG_RUNTIME_DIR) sockets.push(join(process.env.XDG_RUNTIME_DIR, 'docker.sock'));
  return sockets.filter((path) => existsSync(path)).map((socketPath) => ({ socketPath }));
}

function ping(target: Target, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ ...target, path: '/_ping', method: 'GET', timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(false));
    req.end();
  });
}

/** True when a Docker engine answers and BROKERTRACE_NO_DOCKER is not set. */
export async function dockerEngineAnswers(timeoutMs = 1500): Promise<boolean> {
  if (process.env.BROKERTRACE_NO_DOCKER) return false;
  for (const target of candidates()) {
    if (await ping(target, timeoutMs)) return true;
  }
  return false;
}
