import type { ProgressState, ProgressStatus } from './types.js';

/**
 * The last indexes of MsgApps sent to one follower and not yet acknowledged,
 * oldest first; the window that bounds pipelining.
 */
export class Inflights {
  private readonly capacity: number;
  private buffer: number[] = [];
  private start = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  count(): number {
    return this.buffer.length - this.start;
  }

  full(): boolean {
    return this.count() >= this.capacity;
  }

  add(lastIndex: number): void {
    this.buffer.push(lastIndex);
  }

  /** Frees every message whose last index is <= to: the follower has them all. */
  freeLE(to: number): void {
    while (this.start < this.buffer.length && this.buffer[this.start]! <= to) this.start++;
    if (this.start > 64 && this.start * 2 > this.buffer.length) {
      this.buffer = this.buffer.slice(this.start);
      this.start = 0;
    }
  }

  reset(): void {
    this.buffer = [];
    this.start = 0;
  }
}

/**
 * The leader's view of one follower (etcd's tracker.Progress).
 *
 * - probe: one MsgApp at a time until the follower's log position is found.
 * - replicate: pipelined MsgApps, optimistic `next`, bounded by inflights.
 * - snapshot: a snapshot is on its way; nothing else is sent.
 *
 * Invariant: match < next.
 */
export class Progress {
  match = 0;
  next: number;
  state: ProgressState = 'probe';
  pendingSnapshot = 0;
  /** Heard from since the last CheckQuorum round. */
  recentActive = false;
  /** Sending paused until an ack, a heartbeat response or a snapshot report. */
  msgAppFlowPaused = false;
  readonly inflights: Inflights;
  isLearner: boolean;
  /** Highest ReadIndex heartbeat round this follower has answered in this term. */
  readAck = 0;
  /** The highest commit index sent to this follower (it may not know a later one). */
  sentCommit = 0;

  constructor(next: number, maxInflight: number, isLearner: boolean) {
    this.next = next;
    this.inflights = new Inflights(maxInflight);
    this.isLearner = isLearner;
  }

  private resetState(state: ProgressState): void {
    this.msgAppFlowPaused = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  becomeProbe(): void {
    if (this.state === 'snapshot') {
      const pending = this.pendingSnapshot;
      this.resetState('probe');
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.resetState('probe');
      this.next = this.match + 1;
    }
    this.sentCommit = Math.min(this.sentCommit, this.next - 1);
  }

  becomeReplicate(): void {
    this.resetState('replicate');
    this.next = this.match + 1;
  }

  becomeSnapshot(index: number): void {
    this.resetState('snapshot');
    this.pendingSnapshot = index;
    this.next = index + 1;
    this.sentCommit = index;
  }

  /** Whether a MsgApp would tell this follower a commit index it does not know, for entries it has been sent. */
  canBumpCommit(commit: number): boolean {
    return commit > this.sentCommit && this.sentCommit < this.next - 1;
  }

  sentEntries(count: number, lastIndex: number): void {
    if (this.state === 'replicate') {
      if (count > 0) {
        this.next = lastIndex + 1;
        this.inflights.add(lastIndex);
      }
      this.msgAppFlowPaused = this.inflights.full();
    } else if (count > 0) {
      this.msgAppFlowPaused = true;
    }
  }

  /** An ack for n: true when it raised match. */
  maybeUpdate(n: number): boolean {
    if (n <= this.match) return false;
    this.match = n;
    this.next = Math.max(this.next, n + 1);
    this.msgAppFlowPaused = false;
    return true;
  }

  /**
   * A rejection of the MsgApp at `rejected`, with the follower's hint of where
   * the logs may match. False when the rejection is stale. Moves to probe.
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      this.becomeProbe();
      this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
      this.sentCommit = Math.min(this.sentCommit, this.next - 1);
      return true;
    }
    if (this.state === 'snapshot' || this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.sentCommit = Math.min(this.sentCommit, this.next - 1);
    this.msgAppFlowPaused = false;
    return true;
  }

  isPaused(): boolean {
    return this.state === 'snapshot' ? true : this.msgAppFlowPaused;
  }

  status(): ProgressStatus {
    return {
      match: this.match,
      next: this.next,
      state: this.state,
      isLearner: this.isLearner,
      recentActive: this.recentActive,
      pendingSnapshot: this.pendingSnapshot,
      inflight: this.inflights.count(),
    };
  }
}
