import { limitSize, type RaftStorage } from './storage.js';
import { invariant, type Entry, type Snapshot } from './types.js';

/**
 * Entries (and at most one snapshot) the core has accepted but the shell has
 * not yet reported persisted.
 *
 * Invariant: entries[k] has index offset + k. When snapshot is set, it ends
 * at offset - 1 and the whole log below offset is that snapshot.
 */
class UnstableLog {
  snapshot: Snapshot | undefined;
  entries: Entry[] = [];
  offset: number;

  constructor(offset: number) {
    this.offset = offset;
  }

  maybeFirstIndex(): number | undefined {
    return this.snapshot === undefined ? undefined : this.snapshot.index + 1;
  }

  maybeLastIndex(): number | undefined {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1;
    return this.snapshot?.index;
  }

  maybeTerm(i: number): number | undefined {
    if (i < this.offset) {
      return this.snapshot !== undefined && this.snapshot.index === i ? this.snapshot.term : undefined;
    }
    const e = this.entries[i - this.offset];
    return e?.term;
  }

  /** The shell persisted through (i, t); forget those entries unless a later append replaced them. */
  stableTo(i: number, t: number): void {
    if (i < this.offset || this.maybeTerm(i) !== t) return;
    this.entries = this.entries.slice(i + 1 - this.offset);
    this.offset = i + 1;
  }

  stableSnapTo(i: number): void {
    if (this.snapshot !== undefined && this.snapshot.index === i) this.snapshot = undefined;
  }

  restore(s: Snapshot): void {
    this.offset = s.index + 1;
    this.entries = [];
    this.snapshot = s;
  }

  truncateAndAppend(ents: readonly Entry[]): void {
    const after = ents[0]!.index;
    if (after === this.offset + this.entries.length) {
      this.entries = this.entries.concat(ents);
    } else if (after <= this.offset) {
      // Everything unstable is replaced, and the storage's entries from
      // `after` on are stale: the log is storage[..after-1] + ents.
      this.offset = after;
      this.entries = ents.slice();
    } else {
      this.entries = this.entries.slice(0, after - this.offset).concat(ents);
    }
  }
}

/**
 * The log as the core sees it: the storage's entries below the unstable
 * offset, then the unstable ones. Tracks commit and applied.
 */
export class RaftLog {
  readonly storage: RaftStorage;
  readonly unstable: UnstableLog;
  committed: number;
  applied: number;
  /** Highest index handed to the shell to apply; at least `applied`. */
  applying: number;

  constructor(storage: RaftStorage, committed: number, applied: number) {
    this.storage = storage;
    this.unstable = new UnstableLog(storage.lastIndex() + 1);
    this.committed = committed;
    this.applied = applied;
    this.applying = applied;
    invariant(committed <= this.lastIndex(), () => `commit ${committed} past last index ${this.lastIndex()}`);
    invariant(applied <= committed, () => `applied ${applied} past commit ${committed}`);
  }

  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  /** The last index known persisted and still part of this log. */
  persistedIndex(): number {
    if (this.unstable.snapshot !== undefined) return 0;
    return Math.min(this.unstable.offset - 1, this.storage.lastIndex());
  }

  /** The term at i, or undefined when i is compacted away or past the end. */
  term(i: number): number | undefined {
    if (i < this.firstIndex() - 1 || i > this.lastIndex()) return undefined;
    return this.unstable.maybeTerm(i) ?? this.storage.term(i);
  }

  lastTerm(): number {
    return this.term(this.lastIndex())!;
  }

  matchTerm(i: number, t: number): boolean {
    return this.term(i) === t;
  }

  /** Raft's "at least as up to date" (paper §5.4.1). */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const myTerm = this.lastTerm();
    return lastTerm > myTerm || (lastTerm === myTerm && lastIndex >= this.lastIndex());
  }

  /** Entries [lo, hi) with at most maxSize payload bytes (at least one). lo must be >= firstIndex. */
  entries(lo: number, hi: number, maxSize = Infinity): Entry[] {
    invariant(lo >= this.firstIndex() && hi <= this.lastIndex() + 1, () => `entries(${lo}, ${hi}) out of range`);
    if (lo >= hi) return [];
    const off = this.unstable.offset;
    let out: Entry[] = [];
    if (lo < off) {
      out = this.storage.entries(lo, Math.min(hi, off), maxSize);
      if (out.length < Math.min(hi, off) - lo) return out;
    }
    if (hi > off) {
      const from = Math.max(lo, off);
      const part = this.unstable.entries.slice(from - off, hi - off);
      out = out.length === 0 ? part : out.concat(part);
    }
    return limitSize(out, maxSize);
  }

  /** Index of the first entry that is not already in the log with the same term, or 0. */
  findConflict(ents: readonly Entry[]): number {
    for (const e of ents) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * The largest (index, term) with index <= `index` and term <= `term`: where
   * this log may still match a log whose entry at `index` has `term`. A
   * compacted position answers with term 0 ("unknown; try here").
   */
  findConflictByTerm(index: number, term: number): [number, number] {
    for (let i = index; i > 0; i--) {
      const t = this.term(i);
      if (t === undefined) return [i, 0];
      if (t <= term) return [i, t];
    }
    return [0, 0];
  }

  append(ents: readonly Entry[]): void {
    if (ents.length === 0) return;
    const after = ents[0]!.index - 1;
    invariant(after >= this.committed, () => `append after ${after} would overwrite committed ${this.committed}`);
    invariant(after <= this.lastIndex(), () => `append after ${after} leaves a gap after ${this.lastIndex()}`);
    this.unstable.truncateAndAppend(ents);
  }

  commitTo(c: number): boolean {
    if (c <= this.committed) return false;
    invariant(c <= this.lastIndex(), () => `commit ${c} past last index ${this.lastIndex()}`);
    this.committed = c;
    return true;
  }

  appliedTo(i: number): void {
    invariant(i <= this.committed, () => `applied ${i} past commit ${this.committed}`);
    invariant(i >= this.applied, () => `applied goes back from ${this.applied} to ${i}`);
    this.applied = i;
    if (i > this.applying) this.applying = i;
  }

  acceptApplying(i: number): void {
    invariant(i <= this.committed, () => `applying ${i} past commit ${this.committed}`);
    if (i > this.applying) this.applying = i;
  }

  restore(s: Snapshot): void {
    invariant(s.index > this.committed, () => `snapshot ${s.index} at or below commit ${this.committed}`);
    this.committed = s.index;
    this.unstable.restore(s);
  }

  /** Committed entries not yet handed to the shell to apply. */
  nextCommittedEntries(): Entry[] {
    const lo = Math.max(this.applying + 1, this.firstIndex());
    if (this.committed < lo) return [];
    return this.entries(lo, this.committed + 1);
  }

  hasNextCommittedEntries(): boolean {
    return this.committed > Math.max(this.applying, this.firstIndex() - 1);
  }
}
