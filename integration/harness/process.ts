// Child processes of the harness: native servers run detached (their own process group), so one
// signal to the group stops a server with every helper it forked, and a pid file lets any process
// (global teardown, a test worker restarting Kafka, the reaper) find and stop it.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { delimiter, join } from 'node:path';

/** How to (re)start one server process; plain data so it survives the trip through the state file. */
export interface ProcessSpec {
  name: string;
  command: string;
  args: string[];
  /** Added to the harness's own environment. */
  env: Record<string, string>;
  cwd: string;
  logFile: string;
  pidFile: string;
  /** A port the process must accept connections on before the next process starts. */
  readyPort?: number;
}

/** A free TCP port on loopback, chosen by the kernel. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not read the port of a probe socket'));
      });
    });
  });
}

/** Several distinct free ports (asked one after another while all are held, so they never repeat). */
export async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The absolute path of an executable on PATH, or undefined. */
export function which(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, command))) return join(dir, command);
  }
  return undefined;
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion; never rejects on a non-zero exit (the caller decides). */
export function run(
  command: string,
  args: string[],
  options: { env?: Record<string, string>; cwd?: string; timeoutMs: number },
): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      {
        env: { ...process.env, ...options.env },
        cwd: options.cwd,
        timeout: options.timeoutMs,
        killSignal: 'SIGKILL',
        maxBuffer: 16 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        const note = error?.killed ? `\n(killed after ${options.timeoutMs} ms)` : '';
        resolve({ code, stdout, stderr: stderr + note });
      },
    );
  });
}

/**
 * Starts a server detached in its own process group, output appended to its log file, and records
 * the group id in its pid file. The caller gets the child to notice an early exit.
 */
export function spawnServer(spec: ProcessSpec): ChildProcess {
  const log = openSync(spec.logFile, 'a');
  try {
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: { ...process.env, ...spec.env },
      detached: true,
      stdio: ['ignore', log, log],
    });
    if (child.pid === undefined) throw new Error(`could not start ${spec.name}: ${spec.command} did not spawn`);
    writeFileSync(spec.pidFile, String(child.pid));
    child.unref();
    return child;
  } finally {
    closeSync(log);
  }
}

/** The recorded process group of a server, if its pid file exists. */
export function readPid(pidFile: string): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number.parseInt(readFileSync(pidFile, 'utf8'), 10);
  return Number.isInteger(pid) && pid > 1 ? pid : undefined;
}

export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

/** SIGTERM to the server's group, SIGKILL after `graceMs`; resolves when the group is gone. */
export async function stopServer(spec: Pick<ProcessSpec, 'pidFile'>, graceMs: number): Promise<void> {
  const pgid = readPid(spec.pidFile);
  if (pgid === undefined) return;
  signalGroup(pgid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (groupAlive(pgid) && Date.now() < deadline) await sleep(100);
  if (groupAlive(pgid)) {
    signalGroup(pgid, 'SIGKILL');
    while (groupAlive(pgid)) await sleep(50);
  }
  rmSync(spec.pidFile, { force: true });
}

/** Last resort on exit or signal: synchronous SIGKILL of every recorded group. */
export function killServersNow(pidFiles: string[]): void {
  for (const pidFile of pidFiles) {
    const pgid = readPid(pidFile);
    if (pgid !== undefined) signalGroup(pgid, 'SIGKILL');
  }
}

function portOpen(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (open: boolean): void => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(port, host, () => done(true));
  });
}

/** The last lines of a log file, for error messages. */
export function tail(file: string, lines = 30): string {
  if (!existsSync(file)) return '(no log)';
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

/**
 * Polls until `probe` succeeds. Fails early, with the log's tail, when the server's process
 * exits, and after `timeoutMs` with the probe's last error.
 */
export async function waitUntilReady(
  spec: ProcessSpec,
  child: ChildProcess | undefined,
  timeoutMs: number,
  probe: () => Promise<void>,
): Promise<void> {
  let exit: string | undefined;
  child?.once('exit', (code, signal) => (exit = `exited with ${signal ?? `code ${code}`}`));
  const deadline = Date.now() + timeoutMs;
  let lastError: string;
  for (;;) {
    if (exit !== undefined) {
      throw new Error(`${spec.name} ${exit} before it was ready; log ${spec.logFile}:\n${tail(spec.logFile)}`);
    }
    try {
      await probe();
      return;
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${spec.name} not ready after ${timeoutMs} ms (last error: ${lastError}); log ${spec.logFile}:\n${tail(spec.logFile)}`,
      );
    }
    await sleep(200);
  }
}

/** A probe that succeeds once something accepts TCP connections on the port. */
export function tcpProbe(port: number, host = '127.0.0.1'): () => Promise<void> {
  return async () => {
    if (!(await portOpen(port, host))) throw new Error(`nothing listens on ${host}:${port} yet`);
  };
}
