// One measured run in a process of its own (instrumentations patch modules, so variants never share one):
// set up the SDK, install the variant, run the workload, hand the figures back over IPC.
import { Meter } from './meter.js';
import { windowProfiler } from './profiler.js';
import { setupSdk } from './sdk.js';
import { workloadOf } from './brokers.js';
import { instrumentationOf, withMetrics, type ChildTask, type Measurement } from './types.js';

async function main(): Promise<Measurement> {
  const task = JSON.parse(process.argv[2] ?? '') as ChildTask;
  // Before any instrumentation exists: the peers take their meter from the global provider when created.
  const sdk = setupSdk(task.sampled, withMetrics(task.variant));
  const workload = await workloadOf(task.broker);
  if (instrumentationOf(task.variant) === 'peer') workload.installPeer();
  const meter = new Meter(() => sdk.provider.forceFlush(), task.profileFile ? windowProfiler(task.profileFile) : {});
  await workload.run(task, meter);
  await sdk.provider.forceFlush();
  const figures = meter.result;
  const measurement: Measurement = {
    ...figures,
    spansExported: sdk.exporter.spans,
    linksExported: sdk.exporter.links,
    totalMessages: task.size.warmup + task.size.measured,
    metricPoints: await sdk.metricPoints(),
  };
  await sdk.shutdown();
  return measurement;
}

main().then(
  (measurement) => process.send?.({ ok: true, measurement }, () => process.exit(0)),
  (error: unknown) => {
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.send?.({ ok: false, error: message }, () => process.exit(1));
  },
);
