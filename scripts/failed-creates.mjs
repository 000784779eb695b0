// Server CPU per create that fails with NODEEXISTS, the everyday outcome of
// lock and "create if absent" recipes: N creates of one existing znode with
// some in flight, against a running server, and the server's CPU over them
// from /proc. Build first (npm run build).
//
//   node scripts/failed-creates.mjs HOST:PORT SERVER_PID [--count 40000] [--inflight 64]
import { parseArgs } from 'node:util';
import { processCpuSeconds } from '../dist/src/bench/procstat.js';
import { ZooKeeper } from '../dist/src/client/index.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { count: { type: 'string', default: '40000' }, inflight: { type: 'string', default: '64' } },
});
const count = Number(values.count);
const inflight = Number(values.inflight);
if (positionals.length !== 2 || !/^\d+$/.test(positionals[1]) || !(count > 0) || !(inflight > 0)) {
  console.error('usage: node scripts/failed-creates.mjs HOST:PORT SERVER_PID [--count N] [--inflight N]');
  process.exit(2);
}
const [target, pid] = positionals;
const cpuMs = () => {
  const s = processCpuSeconds(Number(pid));
  if (s === null) throw new Error(`no process ${pid}`);
  return s * 1000;
};

const zk = await ZooKeeper.connect(target);
try {
  await zk.create('/synod-failed-creates', 'x').catch(() => undefined);
  let next = 0;
  const cpu0 = cpuMs();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: inflight }, async () => {
      while (next++ < count) await zk.create('/synod-failed-creates', 'x').catch(() => undefined);
    }),
  );
  const s = (performance.now() - t0) / 1000;
  console.log(
    `${count} creates of an existing znode, ${inflight} in flight: ${s.toFixed(2)} s, ` +
      `server CPU ${(((cpuMs() - cpu0) * 1000) / count).toFixed(1)} us per create`,
  );
  await zk.delete('/synod-failed-creates').catch(() => undefined);
} finally {
  await zk.close();
}
