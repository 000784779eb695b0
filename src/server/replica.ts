// An ensemble of one: proposals go to the write-ahead log, one fsync covers a
// whole batch (group commit), and only durable entries are applied. The Raft
// ensemble replaces the "durable locally" step with "durable on a quorum".
import type { LatencyMetric } from '../base/metrics.js';
import { JuteWriter } from '../jute/buffer.js';
import { SnapshotStore, WriteAheadLog } from '../storage/index.js';
import { decodeEntry, encodeEntry, type Entry } from '../txn/entry.js';
import { deserializeState, serializeState } from '../txn/snapshot.js';
import { StateMachine, type ApplyResult, type StateOptions } from '../txn/state.js';

export type Applied = (result: ApplyResult, entry: Entry) => void;

export interface ReplicaOptions {
  dataDir: string;
  dataLogDir: string;
  forceSync: boolean;
  snapCount: number;
  snapRetainCount: number;
  state: StateOptions;
  now: () => number;
  log: (msg: string) => void;
  /** WAL segment size; small values let tests see segments roll and purge. */
  walSegmentBytes?: number;
  /** WalOptions.inlineWriteBelowMs. */
  walInlineWriteMs?: number;
  /** WalOptions.fsyncTime. */
  fsyncTime?: LatencyMetric;
}

interface InFlight {
  entry: Entry;
  done: Applied | null;
}

/** Standalone servers run in epoch 1; the Raft ensemble will use its term. */
const STANDALONE_EPOCH = 1;

export class Replica {
  sm!: StateMachine;
  private wal!: WriteAheadLog;
  private snaps!: SnapshotStore;
  private nextIndex = 1;
  private lastLoggedZxid = 0;
  private readonly inFlight: InFlight[] = [];
  /** Synced to disk, waiting to be applied (only while a snapshot reads the tree). */
  private readonly durable: InFlight[] = [];
  private syncing = false;
  private sinceSnapshot = 0;
  private snapshotting: Promise<void> | null = null;
  private readonly writer = new JuteWriter(4096);
  private closed = false;
  /** Listener for every applied entry (watches, replies, session table). */
  onApply: Applied = () => {};
  /** Fatal storage errors: the server must stop rather than ack what is not durable. */
  onFatal: (err: Error) => void = () => {};
  stats = { fsyncs: 0, entries: 0, lastBatch: 0 };

  constructor(readonly opts: ReplicaOptions) {}

  async open(): Promise<{ snapshotIndex: number; replayed: number }> {
    this.snaps = new SnapshotStore(this.opts.dataDir);
    const snap = await this.snaps.latest();
    let snapshotIndex = 0;
    if (snap) {
      this.sm = deserializeState(snap.data, this.opts.state);
      snapshotIndex = snap.lastIndex;
      this.opts.log(`loaded snapshot ${snap.file} (index ${snap.lastIndex}, ${this.sm.tree.size} znodes)`);
    } else {
      this.sm = new StateMachine(this.opts.state);
    }
    this.wal = await WriteAheadLog.open(this.opts.dataLogDir, {
      forceSync: this.opts.forceSync,
      trustBefore: snapshotIndex + 1,
      ...(this.opts.walSegmentBytes ? { segmentBytes: this.opts.walSegmentBytes } : {}),
      ...(this.opts.walInlineWriteMs !== undefined ? { inlineWriteBelowMs: this.opts.walInlineWriteMs } : {}),
      ...(this.opts.fsyncTime ? { fsyncTime: this.opts.fsyncTime } : {}),
    });
    let replayed = 0;
    for await (const le of this.wal.readFrom(snapshotIndex + 1)) {
      const entry = decodeEntry(le.data);
      this.sm.apply(entry);
      replayed++;
    }
    this.nextIndex = Math.max(this.wal.lastIndex, snapshotIndex) + 1;
    this.lastLoggedZxid = this.sm.lastZxid;
    this.sinceSnapshot = replayed;
    if (this.wal.lastIndex < snapshotIndex) {
      throw new Error(
        `log ends at index ${this.wal.lastIndex} before the snapshot at ${snapshotIndex}: log files are missing`,
      );
    }
    return { snapshotIndex, replayed };
  }

  /** Next zxid: (epoch << 32) | counter, rising with the log. */
  private nextZxid(): number {
    const epoch = Math.floor(this.lastLoggedZxid / 0x100000000);
    if (epoch < STANDALONE_EPOCH) return STANDALONE_EPOCH * 0x100000000 + 1;
    return this.lastLoggedZxid + 1;
  }

  /** Proposes a command; `done` runs once it is durable and applied. */
  propose(
    kind: number,
    sessionId: bigint,
    cxid: number,
    op: number,
    body: Uint8Array,
    done: Applied | null,
    // A standalone server never loses a write it accepted short of a fatal storage error.
    _fail?: (reason: string) => void,
  ): void {
    if (this.closed) throw new Error('replica closed');
    const zxid = this.nextZxid();
    this.lastLoggedZxid = zxid;
    const entry: Entry = { kind, zxid, time: this.opts.now(), sessionId, cxid, op, body };
    this.writer.reset();
    encodeEntry(this.writer, entry);
    const index = this.nextIndex++;
    this.wal.append([{ index, term: Math.floor(zxid / 0x100000000), data: this.writer.toBuffer() }]);
    this.inFlight.push({ entry, done });
    if (!this.syncing) this.scheduleSync();
  }

  private scheduleSync(): void {
    this.syncing = true;
    // One turn of the event loop lets every request already read join this batch.
    setImmediate(() => void this.syncBatch());
  }

  private async syncBatch(): Promise<void> {
    const batch = this.inFlight.length;
    try {
      await this.wal.sync();
    } catch (err) {
      this.onFatal(err as Error);
      return;
    }
    this.stats.fsyncs++;
    this.stats.lastBatch = batch;
    this.durable.push(...this.inFlight.splice(0, batch));
    this.applyDurable();
    this.syncing = false;
    if (this.inFlight.length > 0 && !this.closed) this.scheduleSync();
  }

  /** Applies what is on disk, unless a snapshot is reading the tree right now. */
  private applyDurable(): void {
    if (this.snapshotting) return;
    const ready = this.durable.splice(0);
    for (const f of ready) {
      const result = this.sm.apply(f.entry);
      this.stats.entries++;
      this.onApply(result, f.entry);
      if (f.done) f.done(result, f.entry);
    }
    this.sinceSnapshot += ready.length;
    if (this.sinceSnapshot >= this.opts.snapCount) void this.takeSnapshot();
  }

  /**
   * Streams the tree to a snapshot file. The tree must not change while it is
   * read, so applying waits (writes stay durable in the log and are answered
   * once it ends) while reads go on being served from the unchanged tree; the
   * memory this takes is one chunk, not a copy of the tree.
   */
  takeSnapshot(): Promise<void> {
    if (this.snapshotting) return this.snapshotting;
    const lastIndex = this.nextIndex - 1 - this.inFlight.length - this.durable.length;
    const lastTerm = Math.floor(this.sm.lastZxid / 0x100000000);
    this.sinceSnapshot = 0;
    this.snapshotting = this.snaps
      .write({ lastIndex, lastTerm }, serializeState(this.sm))
      .then((file) => this.opts.log(`snapshot ${file} written at index ${lastIndex}`))
      .catch((err: Error) => this.opts.log(`snapshot failed: ${err.message}`))
      .finally(() => {
        this.snapshotting = null;
        if (!this.closed) this.applyDurable();
      });
    return this.snapshotting;
  }

  /** Keeps the newest snapRetainCount snapshots and the log they need. */
  async purge(): Promise<{ snapshots: string[]; logs: number }> {
    const snapshots = await this.snaps.purge(this.opts.snapRetainCount);
    const kept = await this.snaps.list();
    if (kept.length === 0) return { snapshots, logs: 0 };
    const oldest = Math.min(...kept.map((s) => s.lastIndex));
    const logs = await this.wal.purgeBefore(oldest + 1);
    return { snapshots, logs };
  }

  get pending(): number {
    return this.inFlight.length + this.durable.length;
  }

  async close(): Promise<void> {
    this.closed = true;
    // Let an in-progress batch finish so nothing acknowledged is half-written.
    for (let i = 0; i < 100 && this.syncing; i++) await new Promise((r) => setTimeout(r, 10));
    if (this.snapshotting) await this.snapshotting;
    await this.wal.close();
  }
}
