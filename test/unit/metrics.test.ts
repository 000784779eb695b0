import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LatencyMetric } from '../../src/base/metrics.js';

test("a latency summary prints ZooKeeper's mntr rows in ms with µs precision, and resets", () => {
  const m = new LatencyMetric('fsynctime');
  assert.deepEqual(
    m.rows().map(([k]) => k),
    ['avg', 'min', 'max', 'cnt', 'sum', 'p50', 'p95', 'p99', 'p999'].map((k) => `zk_${k}_fsynctime`),
  );
  assert.ok(
    m.rows().every(([, v]) => v === 0),
    'all zero before the first sample',
  );
  for (let i = 1; i <= 100; i++) m.recordUs(i * 10); // 0.01 .. 1 ms
  m.recordMs(250);
  const r = new Map(m.rows());
  assert.equal(r.get('zk_cnt_fsynctime'), 101);
  assert.equal(r.get('zk_min_fsynctime'), 0.01);
  assert.equal(r.get('zk_max_fsynctime'), 250);
  assert.equal(r.get('zk_sum_fsynctime'), 300.5);
  // Percentiles are the top of their histogram bucket: within 1% of the value.
  assert.ok(Math.abs(r.get('zk_p50_fsynctime')! - 0.51) <= 0.0051, `p50 ${r.get('zk_p50_fsynctime')}`);
  assert.ok(Math.abs(r.get('zk_p99_fsynctime')! - 1) <= 0.01, `p99 ${r.get('zk_p99_fsynctime')}`);
  assert.equal(r.get('zk_p999_fsynctime'), 250);
  assert.equal(m.percentileMs(99.9), 250);
  m.reset();
  assert.equal(m.count, 0);
  assert.equal(new Map(m.rows()).get('zk_max_fsynctime'), 0);
});
