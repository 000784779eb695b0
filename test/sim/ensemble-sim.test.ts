// Deterministic simulation of a whole ensemble under faults (see
// ensemble-sim.ts), with a linearizability check of the clients' history.
// Scale with the environment:
//
//   ENSEMBLE_SIM_SEEDS=300 node --test dist/test/sim/ensemble-sim.test.js
//   ENSEMBLE_SIM_SEEDS=50 ENSEMBLE_SIM_STEPS=20000 ENSEMBLE_SIM_FIRST_SEED=1000 node --test dist/test/sim/ensemble-sim.test.js
//   ENSEMBLE_SIM_SEED=1234 node --test dist/test/sim/ensemble-sim.test.js   (replay one seed, with a long trace)
//
// For thousands of seeds, scripts/ensemble-sim.mjs runs the same simulator from dist/.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  EnsembleSim,
  EnsembleSimFailure,
  drawEnsembleParams,
  runEnsembleSeed,
  type EnsembleCanary,
  type EnsembleSimStats,
} from './ensemble-sim.js';

const env = (name: string, fallback: number): number => {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${name}=${v} is not a non-negative integer`);
  return n;
};

const ONLY = process.env.ENSEMBLE_SIM_SEED;
const STEPS = env('ENSEMBLE_SIM_STEPS', 3000);
const FIRST = ONLY !== undefined ? env('ENSEMBLE_SIM_SEED', 1) : env('ENSEMBLE_SIM_FIRST_SEED', 1);
const SEEDS = ONLY !== undefined ? 1 : env('ENSEMBLE_SIM_SEEDS', 30);
const MAX_FAILURES = 3;

function replayHint(seed: number): string {
  return `replay: ENSEMBLE_SIM_SEED=${seed} ENSEMBLE_SIM_STEPS=${STEPS} node --test dist/test/sim/ensemble-sim.test.js`;
}

test(`ensemble simulation: ${SEEDS} seeds x ${STEPS} time units from seed ${FIRST}`, (t) => {
  const failures: string[] = [];
  const sum = {
    committed: 0,
    elections: 0,
    crashes: 0,
    majorityOutages: 0,
    partitions: 0,
    snapshotInstalls: 0,
    writesOk: 0,
    readsOk: 0,
    unknown: 0,
    historyOps: 0,
  };
  let budget = 0;
  let slowestRecovery = 0;
  for (let seed = FIRST; seed < FIRST + SEEDS && failures.length < MAX_FAILURES; seed++) {
    try {
      const s = runEnsembleSeed(drawEnsembleParams(seed, STEPS), ONLY !== undefined ? 400 : 60);
      for (const k of Object.keys(sum) as (keyof typeof sum)[]) sum[k] += s[k];
      if (s.linearizable !== 'ok') budget++;
      slowestRecovery = Math.max(slowestRecovery, s.recovery);
    } catch (err) {
      if (!(err instanceof EnsembleSimFailure)) throw err;
      failures.push(`${err.message}\n${replayHint(seed)}`);
    }
  }
  t.diagnostic(
    `committed ${sum.committed}, elections ${sum.elections}, crashes ${sum.crashes} ` +
      `(${sum.majorityOutages} majority outages), partitions ${sum.partitions}, ` +
      `snapshot installs ${sum.snapshotInstalls}, ops ${sum.historyOps} (${sum.writesOk} writes and ` +
      `${sum.readsOk} reads ok, ${sum.unknown} unknown), checker over budget on ${budget} seeds, ` +
      `slowest recovery ${slowestRecovery} time units`,
  );
  assert.equal(failures.length, 0, failures.join('\n\n'));
  assert.ok(sum.writesOk > 0 && sum.readsOk > 0);
});

test('an ensemble simulation replays identically from its seed', () => {
  const params = drawEnsembleParams(7, 1500);
  const a: EnsembleSimStats = new EnsembleSim(params).run();
  const b: EnsembleSimStats = new EnsembleSim(params).run();
  assert.deepEqual(a, b);
});

// Canaries: plant a bug in the simulated server and require the checkers to
// catch it within a few seeds, so a silent checker cannot pass.
const CANARIES: { canary: EnsembleCanary; what: string }[] = [
  { canary: 'local-read', what: 'reads served without a sync' },
  { canary: 'ack-before-persist', what: 'a disk that acknowledges before it is durable' },
];
for (const { canary, what } of CANARIES) {
  test(`canary: the ensemble simulator catches ${what}`, () => {
    const caught: string[] = [];
    for (let seed = 1; seed <= 40 && caught.length === 0; seed++) {
      const params = drawEnsembleParams(seed, 2000, {
        canary,
        crashRate: 0.003,
        majorityCrashRate: 0,
        netDelay: 12,
        opGap: 4,
      });
      try {
        new EnsembleSim(params).run();
      } catch (err) {
        if (!(err instanceof EnsembleSimFailure)) throw err;
        caught.push(err.message);
      }
    }
    assert.equal(caught.length, 1, `${canary} went unnoticed for 40 seeds`);
  });
}
