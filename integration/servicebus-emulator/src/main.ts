// Command line of the emulator (what the harness runs as a child process):
//   node --import tsx integration/servicebus-emulator/src/main.ts --config Config.json [--port 5672] [--host 127.0.0.1]
//     [--control-port <port>]   (fault levers over HTTP, see control.ts)
// Prints one "listening" line when it accepts connections; SIGTERM/SIGINT stop it.
import { loadConfig } from './config';
import { startControl } from './control';
import { startEmulator } from './server';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const configFile = arg('config');
  if (!configFile) throw new Error('usage: main.ts --config <Config.json> [--port <port>] [--host <host>]');
  const config = loadConfig(configFile, process.env);
  const emulator = await startEmulator(config, { host: arg('host') ?? '127.0.0.1', port: Number(arg('port') ?? 5672) });
  const controlPort = arg('control-port');
  if (controlPort) await startControl(emulator, Number(controlPort), arg('host') ?? '127.0.0.1');
  // performance.now() counts from process start: Node, the TypeScript loader and rhea included
  const ms = Math.round(performance.now());
  process.stdout.write(
    `brokertrace servicebus emulator listening on ${arg('host') ?? '127.0.0.1'}:${emulator.port} ` +
      `(${config.queues.length} queues, ${config.topics.length} topics) ${ms} ms after process start\n`,
  );
  const stop = (): void => process.exit(0);
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`brokertrace servicebus emulator: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
