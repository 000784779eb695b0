import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { seededRandom } from '../../src/base/random.js';
import {
  HistoryRecorder,
  UNKNOWN,
  checkHistory,
  checkZnodeHistory,
  type Model,
  type Operation,
  type ZnodeInput,
  type ZnodeOperation,
  type ZnodeOutput,
  type ZnodeState,
} from '../../src/testing/linearizability.js';

const P = '/a';

function op(
  clientId: number,
  callTime: number,
  returnTime: number,
  input: ZnodeInput,
  output: ZnodeOutput | typeof UNKNOWN,
): ZnodeOperation {
  return { clientId, callTime, returnTime: output === UNKNOWN ? Infinity : returnTime, input, output };
}
const create = (data: string, path = P): ZnodeInput => ({ op: 'create', path, data });
const set = (data: string, version = -1, path = P): ZnodeInput => ({ op: 'setData', path, data, version });
const get = (path = P): ZnodeInput => ({ op: 'getData', path });
const del = (version = -1, path = P): ZnodeInput => ({ op: 'delete', path, version });
const ver = (version: number): ZnodeOutput => ({ ok: true, version });
const val = (data: string, version: number): ZnodeOutput => ({ data, version });

function assertOk(history: ZnodeOperation[]): void {
  const r = checkZnodeHistory(history);
  assert.equal(r.result, 'ok', r.text);
}
function assertIllegal(history: ZnodeOperation[]): string {
  const r = checkZnodeHistory(history);
  assert.equal(r.result, 'illegal', r.text);
  assert.ok(r.illegal);
  return r.illegal.text;
}

test('sequential history of every operation is linearizable', () => {
  assertOk([
    op(1, 0, 1, get(), 'NONODE'),
    op(1, 2, 3, create('x'), 'ok'),
    op(1, 4, 5, create('y'), 'NODEEXISTS'),
    op(1, 6, 7, set('y', 0), ver(1)),
    op(1, 8, 9, set('z', 0), 'BADVERSION'),
    op(1, 10, 11, get(), val('y', 1)),
    op(1, 12, 13, del(0), 'BADVERSION'),
    op(1, 14, 15, del(1), 'ok'),
    op(1, 16, 17, del(), 'NONODE'),
    op(1, 18, 19, set('q'), 'NONODE'),
    op(1, 20, 21, create('w'), 'ok'),
    // A re-created node starts again at version 0.
    op(1, 22, 23, get(), val('w', 0)),
  ]);
  assertOk([]);
});

test('stale read after a completed write is illegal', () => {
  const text = assertIllegal([
    op(1, 0, 1, create('x'), 'ok'),
    op(1, 2, 3, set('y'), ver(1)),
    op(2, 4, 5, get(), val('x', 0)),
  ]);
  assert.match(text, /\/a/);
  assert.match(text, /getData\(\) -> "x" version 0: expected "y" version 1/);
  assert.match(text, /longest linearizable prefix: 2 of 3 ops/);
});

test('the same read concurrent with the write is legal', () => {
  assertOk([op(1, 0, 1, create('x'), 'ok'), op(1, 2, 6, set('y'), ver(1)), op(2, 4, 5, get(), val('x', 0))]);
});

test('a lost acknowledged write is illegal', () => {
  // Client 1's write was acknowledged, yet client 2's later write produced
  // the version that client 1's write should already have taken.
  assertIllegal([op(1, 0, 1, create('x'), 'ok'), op(1, 2, 3, set('y'), ver(1)), op(2, 4, 5, set('z'), ver(1))]);
  // A later reader that does not see it at all.
  assertIllegal([op(1, 0, 1, create('x'), 'ok'), op(2, 2, 3, get(), 'NONODE')]);
});

test('two creates of one path cannot both succeed', () => {
  const text = assertIllegal([op(1, 0, 10, create('x'), 'ok'), op(2, 1, 9, create('y'), 'ok')]);
  assert.match(text, /expected NODEEXISTS/);
  assertOk([
    op(1, 0, 10, create('x'), 'ok'),
    op(2, 1, 9, create('y'), 'NODEEXISTS'),
    op(3, 11, 12, get(), val('x', 0)),
  ]);
  assertIllegal([
    op(1, 0, 10, create('x'), 'ok'),
    op(2, 1, 9, create('y'), 'NODEEXISTS'),
    op(3, 11, 12, get(), val('y', 0)),
  ]);
});

test('concurrent operations that are legal in only one order', () => {
  // The conditional set only succeeds after the create, although it was
  // called later and returned first.
  assertOk([op(1, 0, 10, create('x'), 'ok'), op(2, 1, 9, set('y', 0), ver(1)), op(3, 11, 12, get(), val('y', 1))]);
  // Or it ran first and found nothing.
  assertOk([op(1, 0, 10, create('x'), 'ok'), op(2, 1, 9, set('y', 0), 'NONODE'), op(3, 11, 12, get(), val('x', 0))]);
  // But not both ways at once.
  assertIllegal([op(1, 0, 10, create('x'), 'ok'), op(2, 1, 9, set('y', 0), ver(1)), op(3, 11, 12, get(), val('x', 0))]);
  // Two conditional sets chained by version: only a-then-b.
  const base = [op(1, 0, 1, create('x'), 'ok'), op(1, 2, 10, set('b', 1), ver(2)), op(2, 3, 9, set('a', 0), ver(1))];
  assertOk([...base, op(3, 11, 12, get(), val('b', 2))]);
  assertIllegal([...base, op(3, 11, 12, get(), val('a', 2))]);
  assertIllegal([...base, op(3, 11, 12, get(), val('a', 1))]);
});

test('calls and returns at the same instant count as concurrent', () => {
  assertOk([op(1, 0, 5, create('x'), 'ok'), op(2, 5, 6, get(), 'NONODE')]);
  assertIllegal([op(1, 0, 5, create('x'), 'ok'), op(2, 6, 7, get(), 'NONODE')]);
});

test('an unknown operation that must have happened explains a read', () => {
  assertOk([op(1, 0, 0, create('x'), UNKNOWN), op(2, 5, 6, get(), val('x', 0))]);
  assertOk([
    op(1, 0, 1, create('x'), 'ok'),
    op(2, 2, 0, set('y'), UNKNOWN),
    op(3, 3, 0, set('z'), UNKNOWN),
    op(1, 10, 11, get(), val('y', 2)),
    op(1, 12, 13, get(), val('y', 2)),
  ]);
  // It can take effect long after its call, between two later reads.
  assertOk([
    op(1, 0, 1, create('x'), 'ok'),
    op(2, 2, 0, set('y'), UNKNOWN),
    op(1, 10, 11, get(), val('x', 0)),
    op(1, 20, 21, get(), val('y', 1)),
  ]);
  // It may also never happen.
  assertOk([op(1, 0, 1, create('x'), 'ok'), op(2, 2, 0, set('y'), UNKNOWN), op(1, 10, 11, get(), val('x', 0))]);
});

test('an unknown operation cannot explain what it could not have done', () => {
  // Not before its call.
  assertIllegal([op(1, 0, 1, create('x'), 'ok'), op(1, 2, 3, get(), val('y', 1)), op(2, 5, 0, set('y'), UNKNOWN)]);
  // Not twice.
  assertIllegal([op(1, 0, 1, create('x'), 'ok'), op(2, 2, 0, set('y'), UNKNOWN), op(1, 10, 11, get(), val('y', 2))]);
  // Not undone once seen.
  assertIllegal([
    op(1, 0, 1, create('x'), 'ok'),
    op(2, 2, 0, set('y'), UNKNOWN),
    op(1, 10, 11, get(), val('y', 1)),
    op(1, 12, 13, get(), val('x', 0)),
  ]);
  // An unknown create that must not have happened: the node was created by
  // someone else, whose create succeeded.
  assertOk([op(1, 0, 0, create('u'), UNKNOWN), op(2, 1, 2, create('x'), 'ok'), op(3, 3, 4, get(), val('x', 0))]);
  assertIllegal([op(1, 0, 0, create('u'), UNKNOWN), op(2, 1, 2, create('x'), 'ok'), op(3, 3, 4, get(), val('u', 0))]);
  // Unknown reads are dropped: they constrain nothing.
  assertOk([op(1, 0, 1, create('x'), 'ok'), op(2, 2, 0, get(), UNKNOWN)]);
});

test('paths are checked independently and the failing path is named', () => {
  const r = checkZnodeHistory([
    op(1, 0, 1, create('x', '/ok'), 'ok'),
    op(1, 0, 1, create('x', '/bad'), 'ok'),
    op(2, 2, 3, get('/ok'), val('x', 0)),
    op(2, 4, 5, get('/bad'), 'NONODE'),
    op(3, 0, 1, create('z', '/zz'), 'ok'),
  ]);
  assert.equal(r.result, 'illegal');
  assert.equal(r.illegal!.key, '/bad');
  assert.deepEqual(r.illegal!.prefix, [1]);
  assert.equal(r.illegal!.blocking, 3);
  assert.deepEqual(r.illegal!.unplaced, [3]);
  assert.match(r.illegal!.text, /not linearizable: \/bad/);
});

test('a linearizable history reports a linearization per path', () => {
  const h = [op(1, 0, 10, create('x'), 'ok'), op(2, 1, 9, set('y', 0), ver(1)), op(3, 0, 0, set('q'), UNKNOWN)];
  const r = checkZnodeHistory(h);
  assert.equal(r.result, 'ok');
  assert.deepEqual(r.partitions[0]!.linearization!.slice(0, 2), [0, 1]);
});

test('a malformed history is rejected', () => {
  assert.throws(() => checkZnodeHistory([op(1, 5, 4, get(), 'NONODE')]), /before callTime/);
  assert.throws(
    () => checkZnodeHistory([{ clientId: 1, callTime: 0, returnTime: 3, input: get(), output: UNKNOWN }]),
    /Infinity/,
  );
  assert.throws(() => checkZnodeHistory([op(1, 0, Infinity, get(), 'NONODE')]), /finite returnTime/);
});

test('the recorder turns pending operations into unknown outcomes', () => {
  const rec = new HistoryRecorder<ZnodeInput, ZnodeOutput>();
  const a = rec.invoke(1, 0, create('x'));
  const b = rec.invoke(2, 1, set('y'));
  rec.ok(a, 2, 'ok');
  const c = rec.invoke(1, 3, get());
  rec.ok(c, 4, val('y', 1));
  const h = rec.history();
  assert.equal(h[b]!.output, UNKNOWN);
  assert.equal(h[b]!.returnTime, Infinity);
  assert.equal(checkZnodeHistory(h).result, 'ok');
  assert.throws(() => rec.ok(a, 5, 'ok'), /already completed/);
});

// A second model through the same interface: an unpartitioned counter.
type CounterIn = { add: number } | { read: true };
const counter: Model<number, CounterIn, number | 'ok'> = {
  init: () => 0,
  step: (s, i, o) =>
    'add' in i ? { ok: o === 'ok' || o === UNKNOWN, next: s + i.add } : { ok: o === UNKNOWN || o === s, next: s },
  equal: (a, b) => a === b,
  hash: (s) => s | 0,
};

test('the checker takes other models', () => {
  const h: Operation<CounterIn, number | 'ok'>[] = [
    { clientId: 1, callTime: 0, returnTime: 10, input: { add: 1 }, output: 'ok' },
    { clientId: 2, callTime: 1, returnTime: 9, input: { add: 2 }, output: 'ok' },
    { clientId: 3, callTime: 2, returnTime: 3, input: { read: true }, output: 2 },
    { clientId: 3, callTime: 11, returnTime: 12, input: { read: true }, output: 3 },
  ];
  assert.equal(checkHistory(counter, h).result, 'ok');
  h[3]!.output = 4;
  const r = checkHistory(counter, h);
  assert.equal(r.result, 'illegal');
  assert.match(r.text, /not linearizable: the history/);
});

test('interchangeable unknown writes are tried in one order only', () => {
  // Thirty lost writes, any number of which may have happened: without
  // treating them as interchangeable this is 2^30 subsets to rule out.
  const h: ZnodeOperation[] = [op(1, 0, 1, create('x'), 'ok')];
  for (let k = 0; k < 30; k++) h.push(op(2 + k, 2 + k, 0, set(`lost${k}`), UNKNOWN));
  h.push(op(1, 40, 41, get(), val('x', 0)));
  h.push(op(1, 42, 43, set('y'), ver(16)));
  assert.equal(checkZnodeHistory(h, { maxSteps: 10_000 }).result, 'ok');
  h.push(op(1, 44, 45, get(), val('y', 17)));
  const r = checkZnodeHistory(h, { maxSteps: 10_000 });
  assert.equal(r.result, 'illegal', r.text);
  assert.match(r.text, /getData\(\) -> "y" version 17: expected "y" version 16/);
});

test('a budget bounds the search', () => {
  const { history } = generate(7, { ops: 400, paths: 1, clients: 8, unknownRate: 0.05 });
  const r = checkZnodeHistory(history, { maxSteps: 20 });
  assert.equal(r.result, 'unknown-budget-exceeded');
  assert.ok(r.steps <= 20);
  assert.equal(checkZnodeHistory(history, { maxCacheEntries: 5 }).result, 'unknown-budget-exceeded');
});

// ---------------------------------------------------------------------------
// The search prunes (memoization, subsumption of unknown-op sets, read-only
// ops placed eagerly, interchangeable unknown ops, unread data merged); a
// plain enumeration of every order on small histories checks it prunes
// nothing it should not.

/** The sequential specification written out again, independently of the model under test. */
function reference(s: ZnodeState, input: ZnodeInput): { out: ZnodeOutput; next: ZnodeState } {
  switch (input.op) {
    case 'create':
      return s ? { out: 'NODEEXISTS', next: s } : { out: 'ok', next: { data: input.data, version: 0 } };
    case 'setData':
      if (!s) return { out: 'NONODE', next: s };
      if (input.version !== -1 && input.version !== s.version) return { out: 'BADVERSION', next: s };
      return { out: ver(s.version + 1), next: { data: input.data, version: s.version + 1 } };
    case 'getData':
      return { out: s ? val(s.data, s.version) : 'NONODE', next: s };
    case 'delete':
      if (!s) return { out: 'NONODE', next: s };
      if (input.version !== -1 && input.version !== s.version) return { out: 'BADVERSION', next: s };
      return { out: 'ok', next: null };
  }
}

function bruteForce(history: ZnodeOperation[]): boolean {
  const placed = new Array<boolean>(history.length).fill(false);
  const known = history.filter((h) => h.output !== UNKNOWN).length;
  const go = (state: ZnodeState, done: number): boolean => {
    if (done === known) return true;
    for (let x = 0; x < history.length; x++) {
      if (placed[x]) continue;
      const hx = history[x]!;
      // x may go next only if no op left unplaced had to precede it.
      if (history.some((hy, y) => !placed[y] && y !== x && hy.returnTime < hx.callTime)) continue;
      const r = reference(state, hx.input);
      if (hx.output !== UNKNOWN && !isDeepStrictEqual(r.out, hx.output)) continue;
      placed[x] = true;
      const found = go(r.next, done + (hx.output === UNKNOWN ? 0 : 1));
      placed[x] = false;
      if (found) return true;
    }
    return false;
  };
  return go(null, 0);
}

test('agrees with a brute-force search on small histories', () => {
  const rnd = seededRandom(99);
  const int = (n: number) => Math.floor(rnd() * n);
  const datas = ['a', 'b', 'c'];
  const randomOutput = (input: ZnodeInput): ZnodeOutput => {
    const errors: ZnodeOutput[] = ['NONODE', 'BADVERSION', 'NODEEXISTS'];
    switch (input.op) {
      case 'create':
        return rnd() < 0.6 ? 'ok' : 'NODEEXISTS';
      case 'setData':
        return rnd() < 0.6 ? ver(1 + int(3)) : errors[int(2)]!;
      case 'getData':
        return rnd() < 0.2 ? 'NONODE' : val(datas[int(3)]!, int(3));
      case 'delete':
        return rnd() < 0.6 ? 'ok' : errors[int(2)]!;
    }
  };
  let legal = 0;
  let illegal = 0;
  for (let round = 0; round < 3000; round++) {
    const n = 2 + int(6);
    const h: ZnodeOperation[] = [];
    for (let k = 0; k < n; k++) {
      const r = rnd();
      const data = datas[int(3)]!;
      const version = rnd() < 0.4 ? -1 : int(3);
      const input: ZnodeInput = r < 0.3 ? get() : r < 0.55 ? set(data, version) : r < 0.8 ? create(data) : del(version);
      const callTime = int(10);
      const output = rnd() < 0.2 ? UNKNOWN : randomOutput(input);
      h.push(op(k, callTime, callTime + int(6), input, output));
    }
    if (round % 2 === 0) {
      // Half the rounds take their outputs from running the ops at random
      // points inside their intervals (lost ops half the time not at all),
      // then perhaps garble one: mostly legal, sometimes barely not.
      const at = h.map((x, k) => ({
        k,
        t: x.callTime + rnd() * ((x.returnTime === Infinity ? 6 : x.returnTime) - x.callTime),
      }));
      at.sort((a, b) => a.t - b.t);
      let s: ZnodeState = null;
      for (const { k } of at) {
        const x = h[k]!;
        if (x.output === UNKNOWN && rnd() < 0.5) continue;
        const r = reference(s, x.input);
        s = r.next;
        if (x.output !== UNKNOWN) x.output = r.out;
      }
      if (rnd() < 0.3) {
        const x = h[int(h.length)]!;
        if (x.output !== UNKNOWN) x.output = randomOutput(x.input);
      }
    }
    const expected = bruteForce(h);
    const got = checkZnodeHistory(h);
    assert.equal(got.result, expected ? 'ok' : 'illegal', `round ${round}: ${JSON.stringify(h)}\n${got.text}`);
    if (expected) legal++;
    else illegal++;
  }
  // Both verdicts must be well represented for the comparison to mean much.
  assert.ok(legal > 300 && illegal > 300, `${legal} legal, ${illegal} illegal`);
});

// ---------------------------------------------------------------------------
// Random histories from a sequential reference execution: clients call,
// their operations take effect one at a time at some point while in
// flight, and return later, so the intervals overlap at random and the
// history is legal by construction.

interface GenOptions {
  ops: number;
  paths: number;
  clients: number;
  /** Chance that an op's outcome is lost (it may or may not take effect). */
  unknownRate: number;
  /** Divide times by this and round down: a coarse clock with ties. */
  coarse?: number;
}

function generate(seed: number, o: GenOptions): { history: ZnodeOperation[] } {
  const rnd = seededRandom(seed);
  const int = (n: number) => Math.floor(rnd() * n);
  const paths = Array.from({ length: o.paths }, (_, i) => `/p${i}`);
  const state = new Map<string, ZnodeState>();
  const history: ZnodeOperation[] = [];
  let written = 0;
  type Flight = { index: number; done: ZnodeOutput | null };
  const clients: (Flight | null)[] = Array.from({ length: o.clients }, () => null);
  // Ops whose client gave up on them; they may still take effect.
  const orphans: number[] = [];
  let issued = 0;
  let time = 0;
  const tick = () => (o.coarse ? Math.floor(++time / o.coarse) : ++time);

  const execute = (index: number): ZnodeOutput => {
    const input = history[index]!.input;
    const r = reference(state.get(input.path) ?? null, input);
    state.set(input.path, r.next);
    return r.out;
  };
  const randomInput = (): ZnodeInput => {
    const path = paths[int(paths.length)]!;
    const version = rnd() < 0.5 ? -1 : int(4);
    const r = rnd();
    if (r < 0.4) return { op: 'getData', path };
    if (r < 0.65) return { op: 'setData', path, data: `w${++written}`, version };
    if (r < 0.85) return { op: 'create', path, data: `w${++written}` };
    return { op: 'delete', path, version };
  };

  for (let guard = 0; guard < o.ops * 100; guard++) {
    if (issued >= o.ops && clients.every((c) => c === null)) break;
    if (orphans.length > 0 && rnd() < 0.05) {
      const k = int(orphans.length);
      const index = orphans.splice(k, 1)[0]!;
      // Half of the lost ops never take effect at all.
      if (rnd() < 0.5) execute(index);
      tick();
      continue;
    }
    const c = int(o.clients);
    const f = clients[c];
    if (!f) {
      if (issued >= o.ops) continue;
      history.push({ clientId: c, callTime: tick(), returnTime: Infinity, input: randomInput(), output: UNKNOWN });
      clients[c] = { index: history.length - 1, done: null };
      issued++;
    } else if (rnd() < o.unknownRate) {
      // The client loses its connection: outcome unknown, and it moves on.
      if (f.done === null) orphans.push(f.index);
      clients[c] = null;
      tick();
    } else if (f.done === null) {
      tick();
      f.done = execute(f.index);
      tick();
    } else {
      const h = history[f.index]!;
      h.returnTime = tick();
      h.output = f.done;
      clients[c] = null;
    }
  }
  return { history };
}

function corruptRead(history: ZnodeOperation[], pick: number): number {
  const reads = history.flatMap((h, i) => (h.input.op === 'getData' && h.output !== UNKNOWN ? [i] : []));
  const i = reads[pick % reads.length]!;
  // No write ever stored this value, so no order of the ops can explain it.
  history[i]!.output = { data: 'never-written', version: 0 };
  return i;
}

/**
 * Make a read return an overwritten value: the data of a write x that
 * returned before a successful write w was called, where w returned before
 * the read was called. Every write stores fresh data, so no order brings
 * x's value back after w: the read is stale in every linearization.
 */
function staleRead(history: ZnodeOperation[], pick: number): number | undefined {
  const writes = history.flatMap((h, i) => {
    const done = h.output === 'ok' || (typeof h.output === 'object' && 'ok' in h.output);
    return done && h.input.op !== 'getData' ? [i] : [];
  });
  const reads = history.flatMap((h, i) => (h.input.op === 'getData' && h.output !== UNKNOWN ? [i] : []));
  for (let k = 0; k < reads.length; k++) {
    const r = history[reads[(pick + k) % reads.length]!]!;
    const before = writes.filter((i) => history[i]!.input.path === r.input.path && history[i]!.returnTime < r.callTime);
    for (let a = before.length - 1; a >= 0; a--) {
      const w = history[before[a]!]!;
      const x = before
        .map((i) => history[i]!)
        .filter((h) => h.returnTime < w.callTime && (h.input.op === 'create' || h.input.op === 'setData'));
      const victim = x[pick % Math.max(1, x.length)];
      if (!victim || (victim.input.op !== 'create' && victim.input.op !== 'setData')) continue;
      const version = victim.input.op === 'create' ? 0 : (victim.output as { version: number }).version;
      r.output = { data: victim.input.data, version };
      return reads[(pick + k) % reads.length]!;
    }
  }
  return undefined;
}

test('random legal histories pass, and fail once a read is corrupted', () => {
  const shapes: GenOptions[] = [
    { ops: 60, paths: 1, clients: 3, unknownRate: 0 },
    { ops: 120, paths: 2, clients: 5, unknownRate: 0.05 },
    { ops: 200, paths: 3, clients: 8, unknownRate: 0.03, coarse: 3 },
    { ops: 150, paths: 1, clients: 8, unknownRate: 0.1 },
  ];
  for (let seed = 1; seed <= 40; seed++) {
    const shape = shapes[seed % shapes.length]!;
    const { history } = generate(seed, shape);
    const ok = checkZnodeHistory(history);
    assert.equal(ok.result, 'ok', `seed ${seed}: ${ok.text}`);

    const stale = structuredClone(history);
    const i = corruptRead(history, seed * 7919);
    const bad = checkZnodeHistory(history);
    assert.equal(bad.result, 'illegal', `seed ${seed}: corrupted #${i} but got ${bad.text}`);
    assert.equal(bad.illegal!.key, history[i]!.input.path, `seed ${seed}`);

    const j = staleRead(stale, seed * 7919);
    assert.ok(j !== undefined, `seed ${seed}: no read to make stale`);
    const old = checkZnodeHistory(stale);
    assert.equal(old.result, 'illegal', `seed ${seed}: made #${j} stale but got ${old.text}`);
    assert.equal(old.illegal!.key, stale[j]!.input.path, `seed ${seed}`);
  }
});

test('2000 ops over 10 paths with 8 clients and lost outcomes', (t) => {
  const { history } = generate(2024, { ops: 2000, paths: 10, clients: 8, unknownRate: 0.02 });
  const unknown = history.filter((h) => h.output === UNKNOWN).length;
  assert.ok(unknown > 0);
  const started = performance.now();
  const r = checkZnodeHistory(history, { maxSteps: 1_000_000 });
  const ms = performance.now() - started;
  t.diagnostic(`${history.length} ops, ${unknown} unknown, ${r.steps} steps, ${ms.toFixed(1)} ms`);
  assert.equal(r.result, 'ok', r.text);
  assert.equal(r.partitions.length, 10);

  const stale = structuredClone(history);
  corruptRead(history, 12345);
  const bad = checkZnodeHistory(history, { maxSteps: 1_000_000 });
  t.diagnostic(`corrupted: ${bad.steps} steps`);
  assert.equal(bad.result, 'illegal');

  staleRead(stale, 12345);
  const old = checkZnodeHistory(stale, { maxSteps: 1_000_000 });
  t.diagnostic(`stale: ${old.steps} steps`);
  assert.equal(old.result, 'illegal');
});
