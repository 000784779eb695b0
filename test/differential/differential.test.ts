// Differential test: seeded random operation sequences run in lock step against
// Apache ZooKeeper (Debian's 3.8) and Synod; every reply must match once session
// ids, absolute zxids and times are normalised away.
//
//   DIFF_SEEDS=20 DIFF_OPS=300   how many seeds (1..N) and steps per seed
//   DIFF_SEED=7[,9]              just these seeds (what a failure message prints)
//   DIFF_TARGET=zookeeper        compare ZooKeeper against itself, to prove the harness
//   DIFF_SKIP=watches,acl        leave op families out (create, delete, setData, reads,
//                                multi, watches, acl, sessions, exotic)
//   DIFF_IGNORE=cversion,owner   look past a known difference (cversion, nulldata, owner)
//   DIFF_HISTORY=40              steps a failure message lists before the mismatch
//   DIFF_KEEP_DIRS=1             keep server temp dirs and logs
import { after, before, describe, it } from 'node:test';
import { existsSync } from 'node:fs';
import {
  DiffServer,
  IGNORABLE,
  SYNOD_BIN,
  World,
  runSeed,
  type Family,
  type Ignorable,
  type ServerKind,
} from '../helpers/differential.js';
import { peerSkip } from '../helpers/peers.js';

const FAMILIES: Family[] = ['create', 'delete', 'setData', 'reads', 'multi', 'watches', 'acl', 'sessions', 'exotic'];

function intEnv(name: string, dflt: number): number {
  const v = process.env[name];
  if (v === undefined || v.trim() === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0)
    throw new Error(`${name} must be a non-negative integer, not ${JSON.stringify(v)}`);
  return n;
}

function seeds(): number[] {
  const one = process.env.DIFF_SEED;
  if (one !== undefined && one.trim() !== '') {
    return one.split(',').map((s) => {
      const n = Number(s.trim());
      if (!Number.isInteger(n) || n < 0) throw new Error(`DIFF_SEED: bad seed ${JSON.stringify(s)}`);
      return n;
    });
  }
  const count = intEnv('DIFF_SEEDS', 20);
  return Array.from({ length: count }, (_, i) => i + 1);
}

function target(): ServerKind {
  const v = (process.env.DIFF_TARGET ?? '').trim().toLowerCase();
  if (v === 'zookeeper' || v === 'zk') return 'zookeeper';
  if (v === 'synod') return 'synod';
  if (v !== '') throw new Error(`DIFF_TARGET must be "synod" or "zookeeper", not ${JSON.stringify(v)}`);
  return 'synod';
}

function skipped(): Set<Family> {
  const out = new Set<Family>();
  for (const raw of (process.env.DIFF_SKIP ?? '').split(',')) {
    const f = raw.trim();
    if (f === '') continue;
    if (!FAMILIES.includes(f as Family))
      throw new Error(`DIFF_SKIP: unknown family ${JSON.stringify(f)}; known: ${FAMILIES.join(', ')}`);
    out.add(f as Family);
  }
  return out;
}

function ignored(): Set<Ignorable> {
  const out = new Set<Ignorable>();
  for (const raw of (process.env.DIFF_IGNORE ?? '').split(',')) {
    const f = raw.trim();
    if (f === '') continue;
    if (!IGNORABLE.includes(f as Ignorable))
      throw new Error(`DIFF_IGNORE: unknown ${JSON.stringify(f)}; known: ${IGNORABLE.join(', ')}`);
    out.add(f as Ignorable);
  }
  return out;
}

const kind = target();
const ignore = ignored();
const ops = intEnv('DIFF_OPS', 300);
const skip = skipped();
const skipReason =
  peerSkip('zookeeper') || (kind === 'synod' && !existsSync(SYNOD_BIN) ? `${SYNOD_BIN} is missing` : false);

describe(`differential: zookeeper vs ${kind}`, { skip: skipReason }, () => {
  let reference: DiffServer | undefined;
  let candidate: DiffServer | undefined;

  before(async () => {
    [reference, candidate] = await Promise.all([DiffServer.start('zookeeper'), DiffServer.start(kind)]);
  });

  after(async () => {
    await Promise.all([reference?.destroy(), candidate?.destroy()]);
  });

  for (const seed of seeds()) {
    it(`seed ${seed}: ${ops} steps`, async (t) => {
      const a = new World('zookeeper', reference!, ignore);
      const b = new World(kind === 'zookeeper' ? 'zookeeper2' : kind, candidate!, ignore);
      const env = [`DIFF_SEED=${seed}`, `DIFF_OPS=${ops}`];
      if (kind === 'zookeeper') env.push('DIFF_TARGET=zookeeper');
      if (skip.size > 0) env.push(`DIFF_SKIP=${[...skip].join(',')}`);
      if (ignore.size > 0) env.push(`DIFF_IGNORE=${[...ignore].join(',')}`);
      try {
        const { tally } = await runSeed(a, b, {
          seed,
          ops,
          skip,
          history: intEnv('DIFF_HISTORY', 12),
          reproduce: `${env.join(' ')} node --test dist/test/differential/differential.test.js`,
        });
        for (const [k, n] of [...tally].sort()) t.diagnostic(`${k}: ${n}`);
      } finally {
        await Promise.all([a.closeAll(), b.closeAll()]);
      }
    });
  }
});
