import { encodeConfChange } from './confchange.js';
import { invariant, type ConfState, type Entry, type HardState, type Snapshot } from './types.js';

/**
 * The core's read-only view of what the shell has persisted. The core never
 * writes through it: the shell applies each Ready to its storage (and to this
 * view) before calling `advance()`.
 *
 * The log held here is the entries (firstIndex..lastIndex) after the
 * snapshot, whose index is firstIndex - 1.
 */
export interface RaftStorage {
  /** The persisted hard state and the configuration of the persisted snapshot. */
  initialState(): { hardState: HardState; confState: ConfState };
  /**
   * Entries [lo, hi), firstIndex <= lo < hi <= lastIndex + 1. With maxSize,
   * stop once the payload bytes would pass it, but return at least one entry.
   */
  entries(lo: number, hi: number, maxSize?: number): Entry[];
  /** The term of entry i, firstIndex - 1 <= i <= lastIndex (firstIndex - 1 is the snapshot's). */
  term(i: number): number;
  firstIndex(): number;
  lastIndex(): number;
  /** The most recent snapshot; index 0 when there is none. */
  snapshot(): Snapshot;
}

export const EMPTY_CONF: ConfState = { voters: [], learners: [] };
const EMPTY_BYTES = new Uint8Array(0);

/**
 * Storage in memory. Tests use it as the node's disk; the server shell keeps
 * one as the core's view and mirrors every write to the WAL and snapshot
 * files.
 *
 * Invariant: entries[0] is a placeholder standing for the snapshot (its index
 * and term), and entries[k] has index entries[0].index + k.
 */
export class MemoryStorage implements RaftStorage {
  private hardState: HardState = { term: 0, vote: 0, commit: 0 };
  private snap: Snapshot;
  private ents: Entry[];

  /**
   * An empty storage. `conf` sets the configuration of the (empty) snapshot
   * at index 0; that is only right for crafted test logs, because a node
   * added later cannot learn it. A new cluster uses bootstrap().
   */
  constructor(conf: ConfState = EMPTY_CONF) {
    this.snap = { index: 0, term: 0, conf: copyConf(conf), data: EMPTY_BYTES };
    this.ents = [placeholder(0, 0)];
  }

  /**
   * A member of a new cluster: the first configuration as committed
   * confChange entries at term 1 (as etcd's Bootstrap writes them), so that
   * it replicates to nodes added later like any other entry. Every initial
   * member must bootstrap with the same configuration.
   */
  static bootstrap(conf: ConfState): MemoryStorage {
    const s = new MemoryStorage();
    const entries = bootstrapEntries(conf);
    s.append(entries);
    s.setHardState({ term: 1, vote: 0, commit: entries.length });
    return s;
  }

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: this.hardState, confState: this.snap.conf };
  }

  hardStateNow(): HardState {
    return this.hardState;
  }

  setHardState(hs: HardState): void {
    this.hardState = { term: hs.term, vote: hs.vote, commit: hs.commit };
  }

  firstIndex(): number {
    return this.ents[0]!.index + 1;
  }

  lastIndex(): number {
    return this.ents[0]!.index + this.ents.length - 1;
  }

  term(i: number): number {
    const offset = this.ents[0]!.index;
    if (i < offset || i > this.lastIndex()) {
      throw new RangeError(`term(${i}) outside [${offset}, ${this.lastIndex()}]`);
    }
    return this.ents[i - offset]!.term;
  }

  entries(lo: number, hi: number, maxSize = Infinity): Entry[] {
    const offset = this.ents[0]!.index;
    if (lo <= offset || hi > this.lastIndex() + 1 || lo > hi) {
      throw new RangeError(`entries(${lo}, ${hi}) outside [${offset + 1}, ${this.lastIndex() + 1})`);
    }
    return limitSize(this.ents.slice(lo - offset, hi - offset), maxSize);
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** Replaces everything with the snapshot (as a follower installing one must). */
  applySnapshot(s: Snapshot): void {
    if (s.index <= this.snap.index && this.snap.index > 0) {
      throw new RangeError(`applySnapshot(${s.index}) is not newer than ${this.snap.index}`);
    }
    this.snap = { index: s.index, term: s.term, conf: copyConf(s.conf), data: s.data };
    this.ents = [placeholder(s.index, s.term)];
  }

  /**
   * Records a snapshot of the shell's state machine at `index` (applied by
   * the shell; conf as of that index). Does not discard entries: see compact.
   */
  createSnapshot(index: number, conf: ConfState, data: Uint8Array): Snapshot {
    if (index <= this.snap.index) throw new RangeError(`createSnapshot(${index}) is not newer than ${this.snap.index}`);
    if (index > this.lastIndex()) throw new RangeError(`createSnapshot(${index}) past last index ${this.lastIndex()}`);
    this.snap = { index, term: this.term(index), conf: copyConf(conf), data };
    return this.snap;
  }

  /**
   * Discards entries up to and including `index`. It may not pass the
   * snapshot, or a follower behind `index` could only be caught up by a
   * snapshot that does not reach the log's new start.
   */
  compact(index: number): void {
    const offset = this.ents[0]!.index;
    if (index <= offset) return;
    if (index > this.snap.index) throw new RangeError(`compact(${index}) past the snapshot at ${this.snap.index}`);
    const keep = this.ents.slice(index - offset);
    keep[0] = placeholder(index, keep[0]!.term);
    this.ents = keep;
  }

  /**
   * Appends entries, replacing any suffix they conflict with. Entries before
   * the first index (already compacted) are skipped; a gap is an error.
   */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const last = entries[0]!.index + entries.length - 1;
    if (last < first) return;
    let from = entries;
    if (entries[0]!.index < first) from = entries.slice(first - entries[0]!.index);
    const start = from[0]!.index;
    invariant(start <= this.lastIndex() + 1, () => `append at ${start} leaves a gap after ${this.lastIndex()}`);
    const offset = this.ents[0]!.index;
    // In place: copying the whole log on every append made each Ready cost
    // time in proportion to the log's length.
    this.ents.length = start - offset;
    for (const e of from) this.ents.push(e);
  }
}

function placeholder(index: number, term: number): Entry {
  return { index, term, type: 'normal', data: EMPTY_BYTES };
}

export function copyConf(conf: ConfState): ConfState {
  return { voters: [...conf.voters], learners: [...conf.learners] };
}

/** The longest prefix whose payload fits in maxSize, and never less than one entry. */
export function limitSize<T extends { readonly data: Uint8Array }>(ents: T[], maxSize: number): T[] {
  if (ents.length === 0 || maxSize === Infinity) return ents;
  let size = ents[0]!.data.length;
  let n = 1;
  while (n < ents.length) {
    size += ents[n]!.data.length;
    if (size > maxSize) break;
    n++;
  }
  return n === ents.length ? ents : ents.slice(0, n);
}

/**
 * The log a new cluster starts from: one committed confChange entry per
 * initial member (voters first, then learners), term 1. A shell with its own
 * disk format writes these, with hard state {term: 1, vote: 0, commit: n}.
 */
export function bootstrapEntries(conf: ConfState): Entry[] {
  invariant(conf.voters.length > 0, () => 'a cluster needs at least one voter');
  const changes = [
    ...conf.voters.map((nodeId) => encodeConfChange({ type: 'addNode', nodeId })),
    ...conf.learners.map((nodeId) => encodeConfChange({ type: 'addLearner', nodeId })),
  ];
  return changes.map((data, k) => ({ index: k + 1, term: 1, type: 'confChange' as const, data }));
}
