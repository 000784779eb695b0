import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makePlans } from '../../src/bench/bench.js';
import { parseCompareArgs } from '../../src/bench/compare.js';
import { Histogram, MAX_TRACKABLE_US, formatUs, slotHigh, slotLow, slotOf } from '../../src/base/histogram.js';
import { BenchUsageError, parseBenchArgs } from '../../src/bench/options.js';

/** Within a relative tolerance: the histogram promises better than 1/128. */
function near(actual: number, expected: number, rel = 1 / 128): void {
  assert.ok(Math.abs(actual - expected) <= expected * rel, `${actual} is not within ${rel} of ${expected}`);
}

describe('histogram buckets', () => {
  it('every value falls inside its slot, and slots are narrower than 1/128 of their values', () => {
    const probes: number[] = [];
    let prev = -1;
    for (let v = 0; v < 5000; v++) {
      probes.push(v);
      assert.ok(slotOf(v) >= prev, 'slots rise with values');
      prev = slotOf(v);
    }
    for (let e = 12; e <= 40; e++) for (const d of [-1, 0, 1, 3]) probes.push(2 ** e + d);
    probes.push(MAX_TRACKABLE_US);
    for (const v of probes.filter((x) => x >= 0 && x <= MAX_TRACKABLE_US)) {
      const i = slotOf(v);
      assert.ok(slotLow(i) <= v && v <= slotHigh(i), `v=${v} slot ${i} [${slotLow(i)}, ${slotHigh(i)}]`);
      if (v >= 256) assert.ok(slotHigh(i) - slotLow(i) + 1 <= v / 128, `slot of ${v} too wide`);
    }
  });

  it('slots tile the number line with no gaps', () => {
    for (let i = 1; i < 4000; i++) assert.equal(slotLow(i), slotHigh(i - 1) + 1, `slot ${i}`);
  });
});

describe('histogram percentiles', () => {
  it('an empty histogram reports zeros', () => {
    const h = new Histogram();
    assert.deepEqual(h.summary(), { count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 });
  });

  it('small values are exact', () => {
    const h = new Histogram();
    for (let v = 1; v <= 100; v++) h.record(v);
    assert.equal(h.percentile(50), 50);
    assert.equal(h.percentile(90), 90);
    assert.equal(h.percentile(99), 99);
    assert.equal(h.percentile(100), 100);
    assert.equal(h.percentile(0), 1);
    assert.equal(h.min, 1);
    assert.equal(h.max, 100);
    assert.equal(h.mean, 50.5);
  });

  it('a uniform distribution gives its quantiles within the precision', () => {
    const h = new Histogram();
    for (let v = 1; v <= 100_000; v++) h.record(v);
    const s = h.summary();
    near(s.p50, 50_000);
    near(s.p90, 90_000);
    near(s.p99, 99_000);
    near(s.p999, 99_900);
    assert.equal(s.max, 100_000);
    assert.equal(s.count, 100_000);
  });

  it('a constant is reported as itself at every percentile', () => {
    const h = new Histogram();
    for (let k = 0; k < 1000; k++) h.record(123_457);
    for (const p of [0, 50, 99, 99.9, 100]) assert.equal(h.percentile(p), 123_457);
  });

  it('a rare slow tail shows at p99.9 and not at p99', () => {
    const h = new Histogram();
    for (let k = 0; k < 9_990; k++) h.record(100);
    for (let k = 0; k < 10; k++) h.record(50_000);
    assert.equal(h.percentile(99), 100);
    assert.equal(h.percentile(99.9), 100);
    near(h.percentile(99.91), 50_000);
    assert.equal(h.max, 50_000);
  });

  it('an exponential distribution matches its analytic quantiles', () => {
    // Deterministic inverse-CDF samples of Exp(mean 1000 us).
    const h = new Histogram();
    const n = 200_000;
    for (let k = 0; k < n; k++) h.record(-1000 * Math.log(1 - (k + 0.5) / n));
    near(h.percentile(50), 1000 * Math.LN2, 0.01);
    near(h.percentile(99), 1000 * Math.log(100), 0.01);
    near(h.percentile(99.9), 1000 * Math.log(1000), 0.01);
  });

  it('rounds fractions, floors negatives and NaN at 0, clamps huge values', () => {
    const h = new Histogram();
    h.record(1.4);
    h.record(1.6);
    h.record(-5);
    h.record(Number.NaN);
    h.record(1e20);
    assert.equal(h.count, 5);
    assert.equal(h.min, 0);
    assert.equal(h.max, MAX_TRACKABLE_US);
    assert.equal(h.percentile(40), 0);
    assert.equal(h.percentile(60), 1);
    assert.equal(h.percentile(80), 2);
  });

  it('rejects percentiles outside 0..100', () => {
    const h = new Histogram();
    assert.throws(() => h.percentile(101), RangeError);
    assert.throws(() => h.percentile(-1), RangeError);
  });

  it('merging halves equals recording the whole, also through serialization', () => {
    const whole = new Histogram();
    const a = new Histogram();
    const b = new Histogram();
    for (let v = 0; v < 50_000; v++) {
      const x = (v * 7919) % 1_000_003;
      whole.record(x);
      (v % 2 ? a : b).record(x);
    }
    const merged = Histogram.deserialize(a.serialize());
    merged.add(Histogram.deserialize(JSON.parse(JSON.stringify(b.serialize()))));
    assert.deepEqual(merged.summary(), whole.summary());
    assert.equal(merged.sum, whole.sum);
    const empty = new Histogram();
    empty.add(new Histogram());
    assert.equal(empty.summary().min, 0);
  });

  it('formats microseconds for people', () => {
    assert.equal(formatUs(850), '850us');
    assert.equal(formatUs(1234), '1.23ms');
    assert.equal(formatUs(12_345), '12.3ms');
    assert.equal(formatUs(4_200_000), '4.20s');
  });
});

function usageError(args: string[], pattern: RegExp): void {
  assert.throws(
    () => parseBenchArgs(args),
    (e: unknown) => e instanceof BenchUsageError && pattern.test(e.message),
    `${args.join(' ')} should fail with ${pattern}`,
  );
}

describe('synod bench options', () => {
  it('has working defaults', () => {
    const o = parseBenchArgs([]);
    assert.deepEqual(o.connect, [{ host: '127.0.0.1', port: 2181 }]);
    assert.equal(o.mode, 'mix');
    assert.equal(o.durationS, 10);
    assert.equal(o.ops, null);
    assert.equal(o.rate, null);
    assert.equal(o.timeoutS, 2 + 10 + 120);
  });

  it('parses every flag, with = or a separate value', () => {
    const o = parseBenchArgs([
      '--connect=h1:2181,[::1]:2182',
      '--sessions',
      '20',
      '--inflight=4',
      '--ops',
      '1_000',
      '--read-ratio',
      '0.25',
      '--payload',
      '1024',
      '--znodes',
      '50',
      '--mode',
      'churn',
      '--warmup',
      '0',
      '--json',
      '--rate',
      '5000.5',
      '--workers',
      '2',
      '--root',
      '/a/b',
      '--server-pid',
      '12,34',
      '--quiet',
    ]);
    assert.deepEqual(o.connect, [
      { host: 'h1', port: 2181 },
      { host: '::1', port: 2182 },
    ]);
    assert.equal(o.sessions, 20);
    assert.equal(o.inflight, 4);
    assert.equal(o.ops, 1000);
    assert.equal(o.durationS, null);
    assert.equal(o.readRatio, 0.25);
    assert.equal(o.payload, 1024);
    assert.equal(o.mode, 'churn');
    assert.equal(o.json, true);
    assert.equal(o.rate, 5000.5);
    assert.equal(o.workers, 2);
    assert.equal(o.root, '/a/b');
    assert.deepEqual(o.serverPids, [12, 34]);
    assert.equal(o.progress, false);
    assert.equal(o.timeoutS, 900);
  });

  it('rejects bad values with a message naming the flag', () => {
    usageError(['--sessions', '0'], /--sessions 0 is out of range/);
    usageError(['--sessions', 'many'], /--sessions many is not an integer/);
    usageError(['--inflight', '1.5'], /--inflight 1.5 is not an integer/);
    usageError(['--read-ratio', '1.5'], /--read-ratio 1.5 is out of range \(0..1\)/);
    usageError(['--read-ratio', 'half'], /--read-ratio half is not a number/);
    usageError(['--duration', '0'], /--duration 0 is out of range/);
    usageError(['--rate', '-3'], /--rate -3 is out of range/);
    usageError(['--mode', 'bogus'], /--mode bogus is not one of mix, churn, ephemeral, watch/);
    usageError(['--connect', 'localhost'], /--connect localhost is not host:port/);
    usageError(['--connect', 'h:99999'], /port 99999 is not in 1..65535/);
    usageError(['--connect', 'a:1,,b:2'], /empty host:port/);
    usageError(['--payload', '2000000'], /--payload 2000000 is out of range/);
    usageError(['--root', 'bench'], /--root bench is not an absolute znode path/);
    usageError(['--root', '/'], /--root \/ is not an absolute znode path/);
    usageError(['--duration', '5', '--ops', '10'], /exclude each other/);
    usageError(['--workers', '4', '--sessions', '2'], /--workers 4 is more than --sessions 2/);
    usageError(['--mode', 'watch', '--sessions', '1'], /at least 2/);
    usageError(['--mode', 'churn', '--ops', '0'], /--ops 0/);
    usageError(['--sessions'], /--sessions needs a value/);
    usageError(['--sessions', '--json'], /--sessions needs a value/);
    usageError(['--json=yes'], /--json takes no value/);
    usageError(['--bogus'], /unknown option --bogus/);
    usageError(['--server-pid', '12,x'], /--server-pid x is not an integer/);
  });

  it('splits sessions, rate and op budget over workers', () => {
    const plans = makePlans(parseBenchArgs(['--sessions', '10', '--workers', '3', '--rate', '1000', '--ops', '1001']));
    assert.deepEqual(
      plans.map((p) => p.sessions),
      [4, 3, 3],
    );
    assert.deepEqual(
      plans.map((p) => p.firstSession),
      [0, 4, 7],
    );
    assert.deepEqual(
      plans.map((p) => p.ops),
      [334, 334, 333],
    );
    near(
      plans.reduce((a, p) => a + p.rate!, 0),
      1000,
      1e-9,
    );
    const watch = makePlans(parseBenchArgs(['--mode', 'watch', '--sessions', '6', '--workers', '2', '--rate', '50']));
    assert.deepEqual(
      watch.map((p) => [p.watchWriter, p.rate]),
      [
        [true, 50],
        [false, null],
      ],
    );
    assert.ok(watch[0]!.watchRing !== null && watch[0]!.watchRing === watch[1]!.watchRing);
  });
});

describe('synod bench compare options', () => {
  it('has defaults and rejects bad values', () => {
    const o = parseCompareArgs([]);
    assert.equal(o.reps, 2);
    assert.equal(o.memoryZnodes, 1_000_000);
    assert.deepEqual(o.workloads, ['read', 'write', 'mix', 'churn', 'p99']);
    assert.equal(parseCompareArgs(['--memory-znodes', '10_000']).memoryZnodes, 10_000);
    const bad = (args: string[], re: RegExp): void =>
      assert.throws(
        () => parseCompareArgs(args),
        (e: unknown) => e instanceof BenchUsageError && re.test(e.message),
      );
    bad(['--workloads', 'read,scan'], /scan is not one of/);
    bad(['--reps', '0'], /--reps 0 is not an integer in 1..100/);
    bad(['--zk-heap', 'lots'], /--zk-heap lots/);
    bad(['--nope'], /unknown option --nope/);
  });
});
