// A generator thread for `synod bench --workers N`: runs one Runner and reports
// to the coordinator in bench.ts by message.
import { parentPort, workerData } from 'node:worker_threads';
import { Runner, type WorkerPlan } from './runner.js';

const port = parentPort;
if (port === null) throw new Error('src/bench/worker.js runs as a worker thread of `synod bench`');
const plan = workerData as WorkerPlan;

const runner = new Runner(plan, {
  onPhase: (phase) => port.postMessage({ type: 'phase', phase }),
  onTick: (phase, ops, errors, h) => port.postMessage({ type: 'tick', phase, ops, errors, hist: h.serialize() }),
});

try {
  await runner.connect();
  port.postMessage({ type: 'ready' });
  await new Promise<void>((resolve) =>
    port.on('message', (m: { type: string }) => {
      if (m.type === 'go') resolve();
    }),
  );
  const outcome = await runner.run();
  port.postMessage({ type: 'result', outcome });
} catch (e) {
  port.postMessage({ type: 'error', message: (e as Error).message });
}
// The coordinator terminates this thread once it has the result.
