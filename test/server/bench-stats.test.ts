// `synod bench --server-stats`: the servers' own latency summaries over the
// measured window, read from mntr after an srst at the window's start.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { runBench } from '../../src/bench/bench.js';
import { parseBenchArgs } from '../../src/bench/options.js';
import { formatServerStats, parseServerStats } from '../../src/bench/serverstats.js';
import { startSynod, type ServerHandle } from '../helpers/servers.js';

let server: ServerHandle;

before(async () => {
  server = await startSynod();
});

after(async () => {
  await server?.destroy();
});

test('the servers report only the measured window: the set-up writes are cleared first', async () => {
  const o = parseBenchArgs([
    '--connect',
    `127.0.0.1:${server.port}`,
    '--sessions',
    '2',
    '--inflight',
    '2',
    '--znodes',
    '50',
    '--read-ratio',
    '0',
    '--warmup',
    '0.5',
    '--duration',
    '1',
    '--server-stats',
    '--quiet',
  ]);
  const r = await runBench(o, () => undefined);
  assert.equal(r.errorCount, 0);
  assert.ok(r.ops > 20, `only ${r.ops} writes`);
  const [s] = r.serverStats!;
  assert.equal(s!.mode, 'standalone');
  assert.equal(s!.error, undefined);
  const update = s!.summaries.updatelatency!;
  // The 50 set-up creates and the warm-up's writes came before the srst. Writes
  // in flight at either edge of the window (at most sessions x inflight at
  // each) are counted by one side only.
  assert.ok(Math.abs(update.count - r.ops) <= 8, `server counted ${update.count} writes, the generator ${r.ops}`);
  assert.ok(update.p50Ms > 0 && update.p50Ms <= update.p99Ms && update.p99Ms <= update.maxMs);
  assert.ok(s!.summaries.fsynctime!.count > 0);
  assert.match(formatServerStats(r.serverStats!)[0]!, /\(standalone\), p50\/p99\/max ms: updatelatency /);
});

test("ZooKeeper's mntr, with fsynctime lacking percentiles, parses too", () => {
  const text = [
    'zk_server_state\tleader',
    'zk_cnt_fsynctime\t12',
    'zk_max_fsynctime\t3',
    'zk_cnt_updatelatency\t400',
    'zk_p50_updatelatency\t2',
    'zk_p99_updatelatency\t11',
    'zk_max_updatelatency\t19',
    'zk_cnt_readlatency\t0',
    'zk_cnt_2_ack_latency\t40',
    'zk_p50_2_ack_latency\t1',
    'zk_p99_2_ack_latency\t9',
    'zk_max_2_ack_latency\t12',
    'zk_cnt_3_ack_latency\t0',
    '',
  ].join('\n');
  const s = parseServerStats('h:1', text);
  assert.equal(s.mode, 'leader');
  assert.deepEqual(s.summaries.updatelatency, { count: 400, p50Ms: 2, p99Ms: 11, maxMs: 19 });
  assert.equal(s.summaries.fsynctime!.count, 12);
  assert.ok(Number.isNaN(s.summaries.fsynctime!.p99Ms));
  assert.equal(s.summaries.readlatency, undefined, 'a summary with no samples is left out');
  assert.match(formatServerStats([s])[0]!, /fsynctime n\/a\/n\/a\/3\.0/);
  assert.deepEqual(
    s.acks,
    { 2: { count: 40, p50Ms: 1, p99Ms: 9, maxMs: 12 } },
    'per-voter ack figures, empty ones left out',
  );
  assert.match(formatServerStats([s])[0]!, /2_ack_latency 1\.0\/9\.0\/12\.0/);
});
