// `--cpu-prof` for the measured window only: V8's sampling profiler through an in-process inspector session,
// started when the window opens and stopped when it closes, so start-up and warm-up stay out of the profile.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

export interface WindowProfiler {
  opened(): void;
  closed(): Promise<void>;
}

export function windowProfiler(file: string): WindowProfiler {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 100 }); // µs
  return {
    opened: () => session.post('Profiler.start'),
    closed: () =>
      new Promise((resolve, reject) => {
        session.post('Profiler.stop', (error, result) => {
          session.disconnect();
          if (error) return reject(error);
          writeFileSync(file, JSON.stringify(result.profile));
          resolve();
        });
      }),
  };
}
