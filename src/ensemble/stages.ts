// Where a write's time goes between the leader's proposal and its commit,
// under ZooKeeper's own mntr names, so the same dashboard (or `synod bench
// --server-stats`) can set one hop of a Synod ensemble beside the same hop
// of a ZooKeeper one:
//
// - proposal_latency (followers, observers): proposal on the leader to the
//   append reaching this server;
// - proposal_ack_creation_latency (voting followers): proposal to this
//   server's acknowledgement, i.e. after its log write and fdatasync;
// - N_ack_latency (leader, one per voter N, itself included): proposal to
//   the leader learning that N has the entry on disk.
//
// Each starts from the leader's clock in the entry (ZooKeeper's txn time, in
// whole ms), so a follower's figures include the clocks' skew, as ZooKeeper's
// do. Entries without a time (no-ops, membership changes) are not counted.

import { LatencyMetric } from '../base/metrics.js';
import type { Entry } from '../raft/index.js';

/** Where a request entry's time sits: after origin, incarnation, seq (16 bytes), kind (4) and zxid (8). */
const TIME_OFFSET = 28;
/** Proposals remembered by the leader for its ack figures; acks further behind are not counted. */
const RING = 8192;

/** The leader's time in a request entry, or -1 when it carries none. */
export function entryTime(e: Entry): number {
  if (e.type !== 'normal' || e.data.length < TIME_OFFSET + 8) return -1;
  const v = new DataView(e.data.buffer, e.data.byteOffset + TIME_OFFSET, 8);
  return v.getUint32(0) * 0x100000000 + v.getUint32(4);
}

export class ReplicationStages {
  readonly proposal = new LatencyMetric('proposal_latency');
  readonly ackCreation = new LatencyMetric('proposal_ack_creation_latency');
  private readonly acks = new Map<number, LatencyMetric>();
  private readonly ringIndex = new Float64Array(RING).fill(-1);
  private readonly ringTime = new Float64Array(RING);
  /** Per voter, the highest index whose ack was counted, so a repeated ack counts nothing twice. */
  private readonly ackedTo = new Map<number, number>();

  /** A follower received these entries from its leader. */
  received(entries: readonly Entry[], now: number): void {
    for (const e of entries) {
      const t = entryTime(e);
      if (t >= 0) this.proposal.recordMs(Math.max(0, now - t));
    }
  }

  /** A follower wrote these entries and is about to acknowledge them. */
  acknowledging(entries: readonly Entry[], now: number): void {
    for (const e of entries) {
      const t = entryTime(e);
      if (t >= 0) this.ackCreation.recordMs(Math.max(0, now - t));
    }
  }

  /** The leader proposed a request entry at `index` at time `time` (its clock, ms); acks for it are timed from then. */
  proposed(index: number, time: number): void {
    const slot = index % RING;
    this.ringIndex[slot] = index;
    this.ringTime[slot] = time;
  }

  /** On the leader: voter `from` (possibly the leader itself) has everything up to `index` on disk. */
  acked(from: number, index: number, now: number): void {
    const prev = this.ackedTo.get(from) ?? index;
    if (index <= prev) {
      if (!this.ackedTo.has(from)) this.ackedTo.set(from, index);
      return;
    }
    this.ackedTo.set(from, index);
    let m = this.acks.get(from);
    if (!m) {
      m = new LatencyMetric(`${from}_ack_latency`);
      this.acks.set(from, m);
    }
    for (let i = Math.max(prev + 1, index - RING + 1); i <= index; i++) {
      const slot = i % RING;
      if (this.ringIndex[slot] === i) m.recordMs(Math.max(0, now - this.ringTime[slot]!));
    }
  }

  /** Leadership changed: the next term's acks start afresh. */
  newTerm(): void {
    this.ackedTo.clear();
    this.ringIndex.fill(-1);
  }

  metrics(): LatencyMetric[] {
    return [
      this.proposal,
      this.ackCreation,
      ...[...this.acks.keys()].sort((a, b) => a - b).map((k) => this.acks.get(k)!),
    ];
  }

  reset(): void {
    for (const m of this.metrics()) m.reset();
  }
}
