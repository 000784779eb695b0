// The longest event-loop turns in a V8 CPU profile, and what ran in them.
// A turn is a run of samples with no (idle) between them; the frames are the
// innermost three of each sample, with the time spent there. Also lists the
// largest gaps between samples (the process was not running: the CPU was
// busy elsewhere, or the host stole it).
//
//   node --cpu-prof --cpu-prof-dir=DIR bin/synod.js server --config zoo.cfg   (then load it, stop it with Ctrl-C)
//   node scripts/long-turns.mjs DIR/CPU.*.cpuprofile [--top 5] [--from S] [--to S]
// --from and --to keep only the samples between those seconds after the
// profile's start (to leave out a warm-up or a set-up burst).
import * as fs from 'node:fs';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    top: { type: 'string', default: '5' },
    from: { type: 'string', default: '0' },
    to: { type: 'string', default: 'Infinity' },
  },
});
if (positionals.length !== 1) {
  console.error('usage: node scripts/long-turns.mjs PROFILE.cpuprofile [--top N] [--from S] [--to S]');
  process.exit(2);
}
const top = Number(values.top);
const from = Number(values.from) * 1e6;
const to = Number(values.to) * 1e6;
if (!(top >= 0 && from >= 0 && to > from)) {
  console.error('--top must be a number, and --from and --to seconds with --from below --to');
  process.exit(2);
}
const prof = JSON.parse(fs.readFileSync(positionals[0], 'utf8'));
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const frame = (n) =>
  `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.split('/').slice(-2).join('/')}:${n.callFrame.lineNumber + 1}`;

let t = prof.startTime;
const turns = [];
const gaps = [];
let cur = null;
for (let i = 0; i < prof.samples.length; i++) {
  const dt = prof.timeDeltas[i] ?? 0;
  t += dt;
  if (t - prof.startTime < from || t - prof.startTime > to) {
    if (cur) turns.push(cur);
    cur = null;
    continue;
  }
  if (dt > 4000) gaps.push({ at: t, ms: dt / 1000 });
  const node = byId.get(prof.samples[i]);
  if (node.callFrame.functionName === '(idle)') {
    if (cur) turns.push(cur);
    cur = null;
    continue;
  }
  cur ??= { start: t, end: t, frames: new Map() };
  cur.end = t;
  const stack = [];
  for (let id = node.id; id !== undefined && stack.length < 3; id = parent.get(id)) stack.push(frame(byId.get(id)));
  const key = stack.join(' < ');
  cur.frames.set(key, (cur.frames.get(key) ?? 0) + dt);
}
if (cur) turns.push(cur);
const ms = (turn) => (turn.end - turn.start) / 1000;
turns.sort((a, b) => ms(b) - ms(a));
const at = (us) => `+${((us - prof.startTime) / 1e6).toFixed(2)} s`;
const window = Number.isFinite(to) || from > 0 ? ` (window +${from / 1e6} s to +${to / 1e6} s)` : '';
console.log(`profile of ${((prof.endTime - prof.startTime) / 1e6).toFixed(1)} s${window}: ${turns.length} turns`);
console.log(
  `turns of at least ${[1, 5, 10, 20, 50].map((m) => `${m} ms: ${turns.filter((x) => ms(x) >= m).length}`).join(', ')}`,
);
for (const turn of turns.slice(0, top)) {
  console.log(`\nturn of ${ms(turn).toFixed(1)} ms at ${at(turn.start)}`);
  for (const [k, v] of [...turn.frames].sort((a, b) => b[1] - a[1]).slice(0, 6)) {
    console.log(`  ${(v / 1000).toFixed(1).padStart(7)} ms  ${k}`);
  }
}
gaps.sort((a, b) => b.ms - a.ms);
console.log(
  `\n${gaps.length} gaps over 4 ms between samples; largest: ${
    gaps
      .slice(0, 8)
      .map((g) => `${g.ms.toFixed(1)} ms at ${at(g.at)}`)
      .join(', ') || 'none'
  }`,
);
