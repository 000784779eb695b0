// An ensemble member's disk: Raft's log in the write-ahead log, its term and
// vote in a small hard-state file, and snapshots of the state machine with
// the membership they were taken under. The Raft core reads a MemoryStorage;
// this keeps the files in step with it.
import type { LatencyMetric } from '../base/metrics.js';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { crc32 } from 'node:zlib';
import { JuteReader, JuteWriter } from '../jute/buffer.js';
import { MemoryStorage, type ConfState, type Entry, type HardState, type Ready } from '../raft/index.js';
import { SnapshotStore, WriteAheadLog } from '../storage/index.js';
import { fsyncDir } from '../storage/fsutil.js';
import type { StateMachine } from '../txn/state.js';
import { serializeState } from '../txn/snapshot.js';
import { readConfState, writeConfState } from './wire.js';

const HARD_STATE_FILE = 'raft-state';
const HS_MAGIC = 0x48535445; // 'HSTE'
const SNAP_MAGIC = 0x52534e50; // 'RSNP'
const TYPE_NORMAL = 0;
const TYPE_CONF = 1;

export interface RaftDiskOptions {
  dataDir: string;
  dataLogDir: string;
  forceSync: boolean;
  walSegmentBytes?: number;
  walInlineWriteMs?: number;
  fsyncTime?: LatencyMetric;
  log: (msg: string) => void;
}

export interface LoadedRaftState {
  storage: MemoryStorage;
  /** The state machine's bytes at the snapshot (null: start empty). */
  snapshotState: Uint8Array | null;
  bootstrapped: boolean;
}

/** The payload a Raft storage keeps for a snapshot that lives in a file. */
export function snapshotToken(index: number): Uint8Array {
  const w = new JuteWriter(16);
  w.int(SNAP_MAGIC).long(index);
  return w.toBuffer();
}

export function tokenIndex(data: Uint8Array): number | null {
  if (data.length !== 12) return null;
  const r = new JuteReader(data);
  return r.int() === SNAP_MAGIC ? r.long() : null;
}

export class RaftDisk {
  private wal!: WriteAheadLog;
  readonly snaps: SnapshotStore;
  private written: HardState = { term: 0, vote: 0, commit: 0 };
  private readonly entryWriter = new JuteWriter(4096);

  constructor(readonly opts: RaftDiskOptions) {
    this.snaps = new SnapshotStore(opts.dataDir, { warn: opts.log });
  }

  /** Loads what is on disk, or writes a new member's first log (`initial`, bootstrap entries) when there is nothing. */
  async open(initial: readonly Entry[] | null): Promise<LoadedRaftState> {
    const snap = await this.snaps.latest();
    let snapIndex = 0;
    let snapshotState: Uint8Array | null = null;
    const storage = new MemoryStorage();
    if (snap) {
      const r = new JuteReader(snap.data);
      if (r.int() !== SNAP_MAGIC) throw new Error(`${snap.file}: not an ensemble snapshot`);
      const conf = readConfState(r);
      snapIndex = snap.lastIndex;
      snapshotState = snap.data.subarray(r.offset);
      storage.applySnapshot({ index: snap.lastIndex, term: snap.lastTerm, conf, data: snapshotToken(snap.lastIndex) });
      this.opts.log(`loaded snapshot ${snap.file} (index ${snap.lastIndex}, term ${snap.lastTerm})`);
    }
    this.wal = await WriteAheadLog.open(this.opts.dataLogDir, {
      forceSync: this.opts.forceSync,
      trustBefore: snapIndex + 1,
      ...(this.opts.walSegmentBytes ? { segmentBytes: this.opts.walSegmentBytes } : {}),
      ...(this.opts.walInlineWriteMs !== undefined ? { inlineWriteBelowMs: this.opts.walInlineWriteMs } : {}),
      ...(this.opts.fsyncTime ? { fsyncTime: this.opts.fsyncTime } : {}),
    });
    const hs = await this.readHardState();
    let bootstrapped = false;
    if (!snap && this.wal.lastIndex === 0 && hs === null) {
      if (initial === null) {
        this.opts.log('no log and no initial configuration: waiting to be added by the leader');
      } else {
        const entries = initial;
        this.appendToWal(entries);
        await this.wal.sync();
        await this.writeHardState({ term: 1, vote: 0, commit: entries.length });
        storage.append(entries);
        storage.setHardState({ term: 1, vote: 0, commit: entries.length });
        bootstrapped = true;
        return { storage, snapshotState: null, bootstrapped };
      }
    }
    const batch: Entry[] = [];
    for await (const le of this.wal.readFrom(snapIndex + 1)) {
      if (le.index <= snapIndex) continue;
      const type = le.data[0] === TYPE_CONF ? 'confChange' : 'normal';
      batch.push({ index: le.index, term: le.term, type, data: le.data.subarray(1) });
      if (batch.length >= 4096) storage.append(batch.splice(0));
    }
    storage.append(batch);
    if (hs) {
      this.written = hs;
      storage.setHardState({ ...hs, commit: Math.min(hs.commit, storage.lastIndex()) });
    }
    return { storage, snapshotState, bootstrapped };
  }

  get lastIndex(): number {
    return this.wal.lastIndex;
  }

  /** Ready step 2: snapshot, then hard state (only term and vote matter), then entries; synced when the Ready says so. */
  async persist(rd: Ready): Promise<void> {
    if (rd.snapshot) {
      const s = rd.snapshot;
      await this.writeSnapshotBytes(s.index, s.term, s.conf, [s.data]);
      await this.wal.truncateAfter(0);
    }
    if (rd.hardState && (rd.hardState.term !== this.written.term || rd.hardState.vote !== this.written.vote)) {
      // Commit is re-learned from the leader after a restart; recording a
      // low one costs nothing, a high one could point past the log.
      await this.writeHardState({ ...rd.hardState, commit: Math.min(rd.hardState.commit, this.wal.lastIndex) });
    }
    if (rd.entries.length > 0) {
      const first = rd.entries[0]!.index;
      if (first <= this.wal.lastIndex) await this.wal.truncateAfter(first - 1);
      this.appendToWal(rd.entries);
    }
    if (rd.mustSync || rd.entries.length > 0) await this.wal.sync();
  }

  private appendToWal(entries: readonly Entry[]): void {
    const out = entries.map((e) => {
      const data = new Uint8Array(e.data.length + 1);
      data[0] = e.type === 'confChange' ? TYPE_CONF : TYPE_NORMAL;
      data.set(e.data, 1);
      return { index: e.index, term: e.term, data };
    });
    this.wal.append(out);
  }

  /** Streams the state machine to a snapshot file; the tree must not change until it resolves. */
  async writeSnapshot(index: number, term: number, conf: ConfState, sm: StateMachine): Promise<string> {
    return this.writeSnapshotBytes(index, term, conf, serializeState(sm));
  }

  private async writeSnapshotBytes(
    index: number,
    term: number,
    conf: ConfState,
    body: Iterable<Uint8Array>,
  ): Promise<string> {
    const w = this.entryWriter;
    w.reset();
    w.int(SNAP_MAGIC);
    writeConfState(w, conf);
    const head = w.toBuffer();
    function* chunks(): Generator<Uint8Array> {
      yield head;
      yield* body;
    }
    return this.snaps.write({ lastIndex: index, lastTerm: term }, chunks());
  }

  /** The state machine bytes of the snapshot at `index`, for a follower; null if it is gone. */
  async snapshotState(index: number): Promise<Uint8Array | null> {
    const snap = await this.snaps.latest();
    if (!snap || snap.lastIndex !== index) return null;
    const r = new JuteReader(snap.data);
    if (r.int() !== SNAP_MAGIC) return null;
    readConfState(r);
    return snap.data.subarray(r.offset);
  }

  /** Keeps the newest `retain` snapshots and the log entries after the oldest of them. */
  async purge(retain: number): Promise<{ snapshots: string[]; logs: number }> {
    const snapshots = await this.snaps.purge(retain);
    const kept = await this.snaps.list();
    if (kept.length === 0) return { snapshots, logs: 0 };
    const oldest = Math.min(...kept.map((s) => s.lastIndex));
    const logs = await this.wal.purgeBefore(oldest + 1);
    return { snapshots, logs };
  }

  private async readHardState(): Promise<HardState | null> {
    let buf: Buffer;
    try {
      buf = await fsp.readFile(path.join(this.opts.dataDir, HARD_STATE_FILE));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
    if (buf.length !== 32 || crc32(buf.subarray(0, 28)) !== buf.readUInt32BE(28)) {
      throw new Error(`${path.join(this.opts.dataDir, HARD_STATE_FILE)}: corrupt hard state; refusing to start`);
    }
    const r = new JuteReader(buf);
    if (r.int() !== HS_MAGIC) throw new Error(`${HARD_STATE_FILE}: bad magic`);
    return { term: r.long(), vote: r.int(), commit: r.long() };
  }

  private async writeHardState(hs: HardState): Promise<void> {
    const w = new JuteWriter(32);
    w.int(HS_MAGIC).long(hs.term).int(hs.vote).long(hs.commit);
    const body = w.toBuffer();
    const buf = Buffer.alloc(32);
    body.copy(buf);
    buf.writeUInt32BE(crc32(buf.subarray(0, 28)), 28);
    await fsp.mkdir(this.opts.dataDir, { recursive: true });
    const file = path.join(this.opts.dataDir, HARD_STATE_FILE);
    const tmp = `${file}.tmp`;
    const fh = await fsp.open(tmp, 'w');
    try {
      await fh.writeFile(buf);
      if (this.opts.forceSync) await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, file);
    if (this.opts.forceSync) await fsyncDir(this.opts.dataDir);
    this.written = hs;
  }

  async close(): Promise<void> {
    await this.wal.close();
  }
}
