// Deterministic simulation of the Raft core under faults (see
// raft-simulator.ts). Scale with the environment:
//
//   RAFT_SIM_SEEDS=5000 node --test dist/test/sim/raft-sim.test.js
//   RAFT_SIM_SEEDS=200 RAFT_SIM_STEPS=10000 RAFT_SIM_FIRST_SEED=1000 node --test dist/test/sim/raft-sim.test.js
//   RAFT_SIM_SEED=1234 node --test dist/test/sim/raft-sim.test.js   (replay one seed, with a trace on failure)

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { SimFailure, Simulator, drawParams, type Canary, type SimStats } from './raft-simulator.js';

const env = (name: string, fallback: number): number => {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${name}=${v} is not a non-negative integer`);
  return n;
};

const ONLY = process.env.RAFT_SIM_SEED;
const STEPS = env('RAFT_SIM_STEPS', 2000);
const FIRST = ONLY !== undefined ? env('RAFT_SIM_SEED', 1) : env('RAFT_SIM_FIRST_SEED', 1);
const SEEDS = ONLY !== undefined ? 1 : env('RAFT_SIM_SEEDS', 50);
const MAX_FAILURES = 5;

function replayHint(seed: number): string {
  return `replay: RAFT_SIM_SEED=${seed} RAFT_SIM_STEPS=${STEPS} node --test dist/test/sim/raft-sim.test.js`;
}

/** Runs one seed; on failure, runs it again with tracing to show what led there. */
function runSeed(seed: number, canary?: Canary): SimStats {
  const params = drawParams(seed, STEPS, canary !== undefined ? { canary } : {});
  try {
    return new Simulator(params).run();
  } catch (err) {
    if (!(err instanceof SimFailure)) throw err;
    const traced = new Simulator(params, { trace: true });
    try {
      traced.run();
    } catch (again) {
      if (again instanceof SimFailure && again.message === err.message) {
        err.message += `\n--- last events of the replay ---\n${traced.traceTail(ONLY !== undefined ? 400 : 60)}`;
      } else {
        err.message += '\n(the traced replay did not fail the same way: nondeterminism in the simulator!)';
      }
    }
    throw err;
  }
}

test(`raft simulation: ${SEEDS} seeds x ${STEPS} steps from seed ${FIRST}`, (t) => {
  const failures: string[] = [];
  const total: SimStats = {
    committed: 0,
    elections: 0,
    crashes: 0,
    snapshotsSent: 0,
    readsServed: 0,
    confChanges: 0,
    livenessSteps: 0,
  };
  let maxLiveness = 0;
  for (let seed = FIRST; seed < FIRST + SEEDS && failures.length < MAX_FAILURES; seed++) {
    try {
      const s = runSeed(seed);
      for (const k of Object.keys(total) as (keyof SimStats)[]) total[k] += s[k];
      maxLiveness = Math.max(maxLiveness, s.livenessSteps);
    } catch (err) {
      if (!(err instanceof SimFailure)) throw err;
      failures.push(`${err.message}\n${replayHint(seed)}`);
    }
  }
  t.diagnostic(
    `committed ${total.committed}, elections ${total.elections}, crashes ${total.crashes}, ` +
      `snapshots sent ${total.snapshotsSent}, reads ${total.readsServed}, conf changes ${total.confChanges}, ` +
      `slowest recovery ${maxLiveness} ticks`,
  );
  assert.equal(failures.length, 0, failures.join('\n\n'));
  assert.ok(total.committed > 0);
});

test('a simulation replays identically from its seed', () => {
  const a = new Simulator(drawParams(77, 500)).run();
  const b = new Simulator(drawParams(77, 500)).run();
  assert.deepEqual(a, b);
});

// Canaries (TigerBeetle's term): plant a safety bug in the shell and require
// the checkers to notice within a few seeds, so a silent checker cannot pass.
for (const canary of ['ack-before-persist', 'forget-vote'] as const) {
  test(`canary: the simulator catches ${canary}`, () => {
    const caught: string[] = [];
    for (let seed = 1; seed <= 200 && caught.length === 0; seed++) {
      const params = drawParams(seed, 1500, {
        canary,
        crashRate: 0.01,
        restartRate: 0.2,
        unsyncedRate: 0.5,
        syncRate: 0.3,
        voters: 3,
        preVote: false,
        checkQuorum: false,
      });
      try {
        new Simulator(params).run();
      } catch (err) {
        if (!(err instanceof SimFailure)) throw err;
        caught.push(err.message);
      }
    }
    assert.equal(caught.length, 1, `${canary} went unnoticed for 200 seeds`);
  });
}
