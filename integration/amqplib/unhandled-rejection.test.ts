// B6: an async consume handler's rejection reaches the application exactly as it would without brokertrace (the
// same unhandledRejection, the same exit under Node's defaults), while the process span still records the error.
// Each case runs a real consumer in a Node process of its own against the real RabbitMQ.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Channel, ChannelModel } from 'amqplib';
import { rabbitmq, uniqueName } from '../harness/index';
import { openConnection } from './helpers';

interface Outcome {
  exitCode: number | null;
  stderr: string;
  /**
   * What Node printed from the error on: its message and stack. (The few lines before it, Node's code frame, show
   * where the rejection was last raised: the handler's `throw` without brokertrace, Node's promise internals with
   * it, since our observer re-raises it. README, known limits.)
   */
  errorLine: string | undefined;
  result: { code: number; reports: string[]; spans: Array<{ name: string; status: number; attributes: Record<string, unknown> }> } | undefined;
}

const ROOT = join(__dirname, '..', '..');
const FIXTURE = join(__dirname, 'fixtures', 'rejecting-consumer.ts');
let connection: ChannelModel;
let ch: Channel;

beforeAll(async () => {
  connection = await openConnection();
  ch = await connection.createChannel();
});
afterAll(async () => {
  await connection.close();
});

/** Starts the fixture, publishes one message once it consumes, and resolves when it exits (or after 20 s). */
async function runConsumer(env: { TRACED: boolean; NO_ACK: boolean; LISTEN?: boolean }): Promise<Outcome> {
  const { url } = await rabbitmq();
  const queue = uniqueName('rejects');
  await ch.assertQueue(queue, { durable: false, autoDelete: false });
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE], {
    cwd: ROOT,
    env: {
      ...process.env,
      NODE_OPTIONS: '',
      AMQP_URL: url,
      QUEUE: queue,
      TRACED: env.TRACED ? '1' : '0',
      NO_ACK: env.NO_ACK ? '1' : '0',
      LISTEN: env.LISTEN === true ? '1' : '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let sent = false;
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    if (stdout.includes('READY\n') && !sent) {
      sent = true;
      ch.sendToQueue(queue, Buffer.from('poison'));
    }
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const exitCode = await new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  clearTimeout(timer);
  await ch.deleteQueue(queue);
  const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (line === undefined) throw new Error(`no result (exit ${exitCode}):\n${stdout}\n${stderr}`);
  return {
    exitCode,
    stderr,
    errorLine: stderr.includes('Error: handler failed on') ? stderr.slice(stderr.indexOf('Error: handler failed on')) : undefined,
    result: line === undefined ? undefined : (JSON.parse(line.slice('RESULT '.length)) as Outcome['result']),
  };
}

describe.each([
  { path: 'ack', NO_ACK: false },
  { path: 'noAck', NO_ACK: true },
])('a rejecting async handler on the $path path', ({ NO_ACK }) => {
  it("exits the process as Node's default does without brokertrace, and records the error on the span", async () => {
    const [without, traced] = await Promise.all([runConsumer({ TRACED: false, NO_ACK }), runConsumer({ TRACED: true, NO_ACK })]);
    expect(without.exitCode).toBe(1);
    expect(without.errorLine).toContain('Error: handler failed on poison');
    expect(traced.exitCode).toBe(without.exitCode);
    expect(traced.errorLine).toBe(without.errorLine);
    const process = traced.result?.spans.find((s) => s.name.startsWith('process '));
    expect(process?.attributes['error.type']).toBe('Error');
    expect(process?.status).toBe(2); // SpanStatusCode.ERROR
  }, 60_000);

  it('reports exactly one unhandledRejection with the same reason', async () => {
    const [without, traced] = await Promise.all([
      runConsumer({ TRACED: false, NO_ACK, LISTEN: true }),
      runConsumer({ TRACED: true, NO_ACK, LISTEN: true }),
    ]);
    expect(without.result?.reports).toEqual(['handler failed on poison']);
    expect(traced.result?.reports).toEqual(without.result?.reports);
    expect(traced.exitCode).toBe(3);
  }, 60_000);
});
