// Bugs the ensemble simulator found, kept as tests once fixed: the seeds that
// found them (replayed with the simulator's full checks), and for the worst a
// directed scenario that does not depend on how the simulator draws.
//
// A seed reaches its bug only while the simulator draws the same way; after a
// change to the simulator's draws a seed still has to pass, but may no longer
// reach the bug. Re-find seeds by running the simulator against the code
// before the fix (in a scratch copy of the tree), as docs/testing.md says.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { QuorumPeer, type PeerIo } from '../../src/ensemble/peer.js';
import type { PeerMessage } from '../../src/ensemble/wire.js';
import { JuteWriter } from '../../src/jute/buffer.js';
import { OpCode } from '../../src/jute/constants.js';
import { MemoryStorage } from '../../src/raft/index.js';
import { EntryKind, encodeCreateSession } from '../../src/txn/entry.js';
import { serializeState } from '../../src/txn/snapshot.js';
import { StateMachine, type StateOptions } from '../../src/txn/state.js';
import { EnsembleSimFailure, drawEnsembleParams, runEnsembleSeed } from './ensemble-sim.js';

interface Regression {
  seed: number;
  steps: number;
  bug: string;
}

const STALE_TERM =
  'a follower replacing a stale uncommitted tail applied the new entries before writing them and ' +
  'snapshotted at an index where its Raft storage still held the stale entry: the snapshot took the stale term';
const PENDING_SNAPSHOT =
  'a write finishing after the core had accepted a snapshot from the leader triggered a local snapshot ' +
  'below it: confStateAt threw, which crashes the server';

const SEEDS: Regression[] = [
  { seed: 27, steps: 3000, bug: STALE_TERM },
  { seed: 517, steps: 3000, bug: STALE_TERM },
  { seed: 593, steps: 3000, bug: PENDING_SNAPSHOT },
];

for (const r of SEEDS) {
  test(`ensemble seed ${r.seed} x ${r.steps}: ${r.bug}`, () => {
    try {
      runEnsembleSeed(drawEnsembleParams(r.seed, r.steps), 60);
    } catch (err) {
      if (err instanceof EnsembleSimFailure) {
        err.message += `\nreplay: node scripts/ensemble-sim.mjs --start ${r.seed} --seeds 1 --steps ${r.steps} --trace`;
      }
      throw err;
    }
  });
}

// ---------------------------------------------------------------- directed

const STATE: StateOptions = { extendedTypes: false, maxDataBytes: 1 << 20 };

/** Three peers on a synchronous network: every disk write completes at once, messages go in order. */
class Trio {
  readonly peers = new Map<number, QuorumPeer>();
  private readonly queue: [number, number, PeerMessage][] = [];
  private readonly isolated = new Set<number>();
  private readonly w = new JuteWriter(64);
  private session = 0n;

  constructor(snapCount: number) {
    const conf = { voters: [1, 2, 3], learners: [] };
    for (const id of [1, 2, 3]) {
      // Server 1 times out first, so it leads the first term; distinct timeouts never split a vote.
      const jitter = (id - 1) * 0.4;
      const peer = new QuorumPeer({
        id,
        raft: { electionTick: 10, heartbeatTick: 1, preVote: true, checkQuorum: true, rng: () => jitter },
        storage: MemoryStorage.bootstrap(conf),
        state: STATE,
        sm: new StateMachine(STATE),
        incarnation: id,
        now: () => 0,
        snapCount,
        requestTimeoutTicks: 1000,
      });
      this.peers.set(id, peer);
    }
    for (const [id, peer] of this.peers) peer.start(this.io(id));
  }

  private io(id: number): PeerIo {
    return {
      persist: (_rd, done) => done(),
      send: (to, msg) => {
        if (this.isolated.has(id) || this.isolated.has(to)) return false;
        this.queue.push([id, to, msg]);
        return true;
      },
      snapshot: (_index, _term, _conf, sm, done) => {
        const parts = [...serializeState(sm)];
        done(Buffer.concat(parts));
      },
      keepSnapshot: (s) => s.data,
    };
  }

  isolate(id: number): void {
    this.isolated.add(id);
  }

  heal(): void {
    this.isolated.clear();
  }

  run(ticks: number): void {
    for (let t = 0; t < ticks; t++) {
      for (const p of this.peers.values()) p.tick();
      for (let n = 0; n < 100_000 && this.queue.length > 0; n++) {
        const [from, to, msg] = this.queue.shift()!;
        if (!this.isolated.has(from) && !this.isolated.has(to)) this.peers.get(to)!.receive(from, msg);
      }
    }
  }

  leader(): QuorumPeer {
    const leaders = [...this.peers.values()].filter((p) => p.isLeader);
    assert.equal(leaders.length, 1, 'one leader');
    return leaders[0]!;
  }

  /** Session creations: writes that always apply, whatever the tree holds. */
  write(on: QuorumPeer, n: number): void {
    for (let k = 0; k < n; k++) {
      this.w.reset();
      encodeCreateSession(this.w, 30000, new Uint8Array(16), '10.0.0.1');
      on.propose(EntryKind.createSession, ++this.session, 0, OpCode.createSession, this.w.toBuffer(), null);
    }
  }
}

test('a follower that replaces a stale tail never records a snapshot with the stale term', () => {
  // Applying runs ahead of the disk write: committed entries arriving in the
  // same Ready as the write that replaces the old leader's uncommitted tail
  // are applied first. A snapshot taken then, at an index where storage
  // still held the tail, took its term from the stale entry.
  const trio = new Trio(12);
  trio.run(30);
  const old = trio.leader();
  assert.equal(old.id, 1);
  trio.write(old, 3);
  trio.run(3);
  // Cut off, the old leader grows a long tail that never commits.
  trio.isolate(old.id);
  trio.write(old, 30);
  trio.run(40);
  const lead = [...trio.peers.values()].find((p) => p.id !== old.id && p.isLeader);
  assert.ok(lead, 'the majority elected a new leader');
  // The majority commits enough that the old leader, catching up in one
  // append, passes its snapshot threshold.
  trio.write(lead, 10);
  trio.run(3);
  trio.heal();
  trio.run(20);
  assert.ok(!old.isLeader);
  const snap = old.storage.snapshot();
  assert.ok(snap.index > 0, 'the old leader took a snapshot while catching up');
  assert.equal(snap.term, lead.node.logTerm(snap.index), `snapshot at ${snap.index} records the committed term`);
  assert.equal(old.appliedIndex, lead.appliedIndex);
});
