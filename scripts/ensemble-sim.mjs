// Runs the deterministic ensemble simulator (test/sim/ensemble-sim.ts) over
// many seeds, one after another, from the built dist/. Build first:
//
//   npx tsc -p .
//   node scripts/ensemble-sim.mjs --seeds 2000 --start 1 --steps 3000
//   node scripts/ensemble-sim.mjs --start 1234 --seeds 1 --trace     (replay one seed with its trace)
//
// Prints each failing seed with the first lines of its failure and a command
// that reproduces it, then a summary. Exits 1 if any seed failed.
import { drawEnsembleParams, EnsembleSim, EnsembleSimFailure, runEnsembleSeed } from '../dist/test/sim/ensemble-sim.js';

function parseArgs(argv) {
  const opts = { seeds: 1000, start: 1, steps: 3000, trace: false, maxFailures: 20, quiet: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const num = () => {
      const v = Number(argv[++i]);
      if (!Number.isSafeInteger(v) || v < 0) throw new Error(`${a} needs a non-negative integer`);
      return v;
    };
    if (a === '--seeds') opts.seeds = num();
    else if (a === '--start') opts.start = num();
    else if (a === '--steps') opts.steps = num();
    else if (a === '--max-failures') opts.maxFailures = num();
    else if (a === '--trace') opts.trace = true;
    else if (a === '--quiet') opts.quiet = true;
    else if (a === '--help' || a === '-h') {
      console.log(
        'usage: node scripts/ensemble-sim.mjs [--seeds N] [--start S] [--steps K] [--trace] [--max-failures F] [--quiet]',
      );
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  return opts;
}

const opts = parseArgs(process.argv.slice(2));
const repro = (seed) => `node scripts/ensemble-sim.mjs --start ${seed} --seeds 1 --steps ${opts.steps} --trace`;
const failures = [];
const totals = {
  writesOk: 0,
  readsOk: 0,
  unknown: 0,
  crashes: 0,
  partitions: 0,
  majorityOutages: 0,
  snapshotInstalls: 0,
};
let overBudget = 0;
const started = Date.now();
const end = opts.start + opts.seeds;
for (let seed = opts.start; seed < end && failures.length < opts.maxFailures; seed++) {
  const params = drawEnsembleParams(seed, opts.steps);
  try {
    let stats;
    if (opts.trace) {
      const sim = new EnsembleSim(params, { trace: true, traceLines: 2000 });
      try {
        stats = sim.run();
      } catch (err) {
        if (err instanceof EnsembleSimFailure) err.message += `\n--- last events ---\n${sim.traceTail(2000)}`;
        throw err;
      }
    } else {
      stats = runEnsembleSeed(params, 60);
    }
    for (const k of Object.keys(totals)) totals[k] += stats[k];
    if (stats.linearizable !== 'ok') {
      overBudget++;
      console.log(`seed ${seed}: linearizability checker over budget (not a failure)`);
    }
    if (opts.trace || opts.seeds === 1) console.log(`seed ${seed}: ok ${JSON.stringify(stats)}`);
  } catch (err) {
    if (!(err instanceof EnsembleSimFailure)) {
      // A crash of the simulator itself is a failure of this seed too.
      failures.push(seed);
      console.log(`\nFAIL seed ${seed}: simulator error ${err?.stack ?? err}\n  reproduce: ${repro(seed)}`);
      continue;
    }
    failures.push(seed);
    const text = opts.trace || opts.seeds === 1 ? err.message : err.message.split('\n').slice(0, 12).join('\n');
    console.log(`\nFAIL seed ${seed}: ${text}\n  reproduce: ${repro(seed)}`);
  }
  const done = seed - opts.start + 1;
  if (!opts.quiet && done % 100 === 0) {
    console.log(`... ${done} seeds, ${failures.length} failed, ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }
}
const ran = Math.min(opts.seeds, failures.length >= opts.maxFailures ? failures.at(-1) - opts.start + 1 : opts.seeds);
console.log(
  `\n${ran} seeds from ${opts.start} x ${opts.steps} time units in ${((Date.now() - started) / 1000).toFixed(0)} s: ` +
    `${failures.length} failed${failures.length > 0 ? ` (${failures.join(', ')})` : ''}; ` +
    `${totals.writesOk} writes and ${totals.readsOk} reads ok, ${totals.unknown} unknown, ${totals.crashes} crashes ` +
    `(${totals.majorityOutages} majority outages), ${totals.partitions} partitions, ` +
    `${totals.snapshotInstalls} snapshot installs; checker over budget on ${overBudget}`,
);
if (failures.length > 0) {
  console.log('reproduce each with:');
  for (const seed of failures) console.log(`  ${repro(seed)}`);
}
process.exit(failures.length > 0 ? 1 : 0);
