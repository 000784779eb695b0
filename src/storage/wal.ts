// Write-ahead log of opaque Raft entries, kept in segment files.
//
// Segment file `log.<16 hex digits of its first index>`:
//   header  (16 bytes): magic 'SWAL', version u32, first index u64
//   records          : crc u32 | length u32 | index u64 | term u64 | payload
// All integers are little-endian; the CRC32 (zlib.crc32) covers every byte of the
// record after the crc field itself (length, index, term, payload), so the hot
// path needs one checksum call per record. Zero-filled space never verifies,
// because the CRC32 of zero bytes is not zero.
//
// Durability model: append() only buffers. sync() turns everything appended so
// far into one Buffer, writes it with one positional write per segment touched
// and fdatasyncs once. Every disk mutation (writes, truncation, purge, close)
// runs on one serial chain, so they never interleave.
//
// With forceSync=false the per-batch fdatasync and the fsyncs of a freshly
// rolled segment are skipped (ZooKeeper's forceSync=no). Truncation, purge and
// recovery repairs still fsync: they are rare, and skipping them could
// resurrect entries Raft has already overwritten.
import type { FileHandle } from 'node:fs/promises';
import * as fsp from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import * as path from 'node:path';
import { crc32 } from 'node:zlib';

import { LatencyMetric } from '../base/metrics.js';
import { fsyncDir, getU64, hex16, putU64, writeFully, writeFullySync } from './fsutil.js';

export interface LogEntry {
  index: number;
  term: number;
  data: Uint8Array;
}

export interface WalOptions {
  /** fdatasync every batch before sync() resolves (ZooKeeper's forceSync). */
  forceSync: boolean;
  /** Roll to a new segment once the current one would exceed this size. Default 64 MiB. */
  segmentBytes?: number;
  /**
   * Entries below this index are covered by a snapshot: whole segments that
   * end before it are not read (nor checksummed) at open, which is what keeps
   * a restart from scanning the log's whole history. Reading them is refused.
   */
  trustBefore?: number;
  /**
   * Write a batch with a blocking write(2) on the event loop, not through
   * the thread pool, while fdatasync has recently taken less than this many
   * ms (default 1; 0 never). The fdatasync itself always goes to the thread
   * pool. A write into the page cache takes microseconds, and a round trip
   * to a pool thread costs more than that (docs/architecture.md has the
   * figures); fdatasync can take tens of ms now and then even on a fast
   * disk, and blocking the event loop that long stalls every client and
   * peer. A disk whose fdatasync is slow on average is congested, and then
   * even writes may block, so the log goes back to the pool for both.
   */
  inlineWriteBelowMs?: number;
  /** Where to record each fdatasync's duration (mntr's fsynctime); the log keeps its own otherwise. */
  fsyncTime?: LatencyMetric;
}

/** The log cannot be trusted; the server must refuse to start. */
export class CorruptLogError extends Error {
  readonly file: string;
  readonly offset: number;
  readonly reason: string;

  constructor(file: string, offset: number, reason: string) {
    super(`corrupt write-ahead log: ${file} at byte offset ${offset}: ${reason}`);
    this.name = 'CorruptLogError';
    this.file = file;
    this.offset = offset;
    this.reason = reason;
  }
}

export const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;
const SEGMENT_MAGIC = 0x4c415753; // 'SWAL' read as little-endian u32
const SEGMENT_VERSION = 1;
const SEGMENT_HEADER_BYTES = 16;
const RECORD_HEADER_BYTES = 24;
/** Far above jute.maxbuffer; anything larger is a damaged length field. */
export const MAX_ENTRY_BYTES = 256 * 1024 * 1024;
/** Every MARK_EVERY-th record's offset is remembered so reads and truncation seek close. */
const MARK_EVERY = 64;
const READ_CHUNK = 1024 * 1024;
/** Entries read from disk per turn on the serial chain, so readers do not starve writers. */
const READ_BATCH = 4096;
const MAX_HI = 0x20_0000; // high word limit keeping u64 values safe integers
const SEGMENT_RE = /^log\.([0-9a-f]{16})$/;

interface Segment {
  file: string;
  firstIndex: number;
  /** firstIndex - 1 while the segment holds no record. */
  lastIndex: number;
  /** Bytes written so far, header included: where the next record goes. */
  size: number;
  markIndex: number[];
  markOffset: number[];
}

/** Counters for metrics and for tests of group commit. */
export interface WalStats {
  /** Batches written (each ends with at most one fdatasync). */
  flushes: number;
  /** fdatasync/fsync calls on segment files. */
  fsyncs: number;
  bytesWritten: number;
  entriesWritten: number;
  /** Batches written on the event loop (see WalOptions.inlineWriteBelowMs). */
  inlineFlushes: number;
  /** Moving average of fdatasync's duration, in ms. */
  syncMs: number;
}

type PendingOp = { kind: 'append'; entries: LogEntry[] } | { kind: 'truncate'; index: number };

export function segmentName(firstIndex: number): string {
  return `log.${hex16(firstIndex)}`;
}

function segmentHeader(firstIndex: number): Buffer {
  const h = Buffer.alloc(SEGMENT_HEADER_BYTES);
  h.writeUInt32LE(SEGMENT_MAGIC, 0);
  h.writeUInt32LE(SEGMENT_VERSION, 4);
  putU64(h, firstIndex, 8);
  return h;
}

function headerProblem(buf: Buffer, firstIndex: number): string | null {
  if (buf.length < SEGMENT_HEADER_BYTES) return 'segment header is incomplete';
  if (buf.readUInt32LE(0) !== SEGMENT_MAGIC) return 'bad segment magic';
  const version = buf.readUInt32LE(4);
  if (version !== SEGMENT_VERSION) return `unsupported segment version ${version}`;
  const first = getU64(buf, 8);
  if (first !== firstIndex) return `segment header says first index ${first}, file name says ${firstIndex}`;
  return null;
}

/** Encodes a batch into one Buffer; ends[k] is the byte offset just past record k. */
function encodeRecords(entries: readonly LogEntry[]): { buf: Buffer; ends: number[] } {
  let total = 0;
  for (const e of entries) total += RECORD_HEADER_BYTES + e.data.length;
  const buf = Buffer.allocUnsafe(total);
  const ends = new Array<number>(entries.length);
  let off = 0;
  for (let k = 0; k < entries.length; k++) {
    const e = entries[k]!;
    const end = off + RECORD_HEADER_BYTES + e.data.length;
    buf.writeUInt32LE(e.data.length, off + 4);
    putU64(buf, e.index, off + 8);
    putU64(buf, e.term, off + 16);
    buf.set(e.data, off + RECORD_HEADER_BYTES);
    buf.writeUInt32LE(crc32(buf.subarray(off + 4, end)), off);
    ends[k] = end;
    off = end;
  }
  return { buf, ends };
}

type Parsed =
  | { ok: true; index: number; term: number; payload: number; next: number }
  | { ok: false; reason: string; incomplete: boolean };

/** Parses and verifies the record at off; `end` bounds the bytes available in buf. */
function parseRecord(buf: Buffer, off: number, end: number): Parsed {
  if (end - off < RECORD_HEADER_BYTES) return { ok: false, reason: 'incomplete record header', incomplete: true };
  const len = buf.readUInt32LE(off + 4);
  if (len > MAX_ENTRY_BYTES) return { ok: false, reason: `implausible record length ${len}`, incomplete: false };
  const next = off + RECORD_HEADER_BYTES + len;
  if (next > end) return { ok: false, reason: 'record runs past the end of the data', incomplete: true };
  if (crc32(buf.subarray(off + 4, next)) !== buf.readUInt32LE(off)) {
    return { ok: false, reason: 'checksum mismatch', incomplete: false };
  }
  if (buf.readUInt32LE(off + 12) >= MAX_HI || buf.readUInt32LE(off + 20) >= MAX_HI) {
    return { ok: false, reason: 'index or term out of range', incomplete: false };
  }
  return {
    ok: true,
    index: getU64(buf, off + 8),
    term: getU64(buf, off + 16),
    payload: off + RECORD_HEADER_BYTES,
    next,
  };
}

/**
 * Whether a verifying record with a plausible index exists at or after `from`.
 * This separates a torn tail (nothing good after the damage: the unacknowledged
 * end of the last batch) from damage to acknowledged data followed by more
 * records. Only runs when recovery meets a bad record, so the byte-by-byte
 * probe is acceptable; the index filter keeps CRC calls rare.
 */
function verifyingRecordAfter(buf: Buffer, from: number, minIndex: number): boolean {
  const maxIndex = minIndex + Math.ceil((buf.length - from) / RECORD_HEADER_BYTES) + 1;
  for (let p = Math.max(0, from); p + RECORD_HEADER_BYTES <= buf.length; p++) {
    const index = getU64(buf, p + 8);
    if (index < minIndex || index > maxIndex) continue;
    if (parseRecord(buf, p, buf.length).ok) return true;
  }
  return false;
}

async function readFully(fh: FileHandle, buf: Buffer, position: number, file: string): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesRead } = await fh.read(buf, done, buf.length - done, position + done);
    if (bytesRead <= 0) throw new CorruptLogError(file, position + done, 'segment is shorter than expected');
    done += bytesRead;
  }
}

interface ScannedRecord {
  index: number;
  term: number;
  data: Buffer;
  offset: number;
}

/** Reads and verifies records in [from, to) of a segment, in chunks. */
async function* scanSegment(file: string, from: number, to: number): AsyncGenerator<ScannedRecord> {
  const fh = await fsp.open(file, 'r');
  try {
    let buf = Buffer.alloc(0);
    let bufStart = from;
    let pos = from;
    const ensure = async (n: number): Promise<void> => {
      if (pos + n <= bufStart + buf.length) return;
      const size = Math.min(Math.max(READ_CHUNK, n), to - pos);
      if (size < n) throw new CorruptLogError(file, pos, 'record runs past the end of the segment');
      buf = Buffer.allocUnsafe(size);
      await readFully(fh, buf, pos, file);
      bufStart = pos;
    };
    while (pos < to) {
      await ensure(RECORD_HEADER_BYTES);
      const len = buf.readUInt32LE(pos - bufStart + 4);
      if (len > MAX_ENTRY_BYTES) throw new CorruptLogError(file, pos, `implausible record length ${len}`);
      await ensure(RECORD_HEADER_BYTES + len);
      const r = parseRecord(buf, pos - bufStart, buf.length);
      if (!r.ok) throw new CorruptLogError(file, pos, r.reason);
      yield { index: r.index, term: r.term, data: buf.subarray(r.payload, r.next), offset: pos };
      pos = bufStart + r.next;
    }
  } finally {
    await fh.close();
  }
}

function lastMarkAtOrBefore(seg: Segment, index: number): { index: number; offset: number } {
  let lo = 0;
  let hi = seg.markIndex.length - 1;
  let best = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (seg.markIndex[mid]! <= index) {
      best = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  if (best < 0) return { index: seg.firstIndex, offset: SEGMENT_HEADER_BYTES };
  return { index: seg.markIndex[best]!, offset: seg.markOffset[best]! };
}

function addMark(seg: Segment, index: number, offset: number): void {
  if ((index - seg.firstIndex) % MARK_EVERY === 0) {
    seg.markIndex.push(index);
    seg.markOffset.push(offset);
  }
}

/**
 * A write-ahead log.
 *
 * Concurrency contract: append() is synchronous and immediately visible in
 * lastIndex/lastTerm/readFrom; sync() makes it durable. Entry data is kept by
 * reference until written, so callers must not mutate it before sync() resolves.
 * readFrom() is an async generator and may run alongside any other call.
 * One WriteAheadLog per directory: nothing locks the directory against a
 * second opener.
 */
export class WriteAheadLog {
  private readonly dir: string;
  private readonly forceSync: boolean;
  private readonly segmentBytes: number;
  private readonly trustBefore: number;
  private segments: Segment[] = [];
  /** Open handle on the last segment, where writes go. */
  private active: FileHandle | null = null;
  private activeDirty = false;
  private first = 0;
  private last = 0;
  private lastTermValue = 0;
  /** Run-length term map over [first, last]: termValue[k] applies from termStart[k]. */
  private termStart: number[] = [];
  private termValue: number[] = [];
  private pending: PendingOp[] = [];
  /** Ops taken by the flush now running; readable until written. */
  private inflight: PendingOp[] = [];
  private chain: Promise<void> = Promise.resolve();
  private queuedFlush: Promise<void> | null = null;
  private runningFlush: Promise<void> | null = null;
  private failure: Error | null = null;
  private closed = false;
  /** ZooKeeper's fsynctime: each fdatasync from the call to its completion reaching the event loop. */
  readonly fsyncTime: LatencyMetric;
  private readonly counters: WalStats = {
    flushes: 0,
    fsyncs: 0,
    bytesWritten: 0,
    entriesWritten: 0,
    inlineFlushes: 0,
    syncMs: 0,
  };
  private readonly inlineBelowMs: number;
  /** The batch being flushed is written with blocking calls. */
  private inline = false;

  private constructor(dir: string, opts: WalOptions) {
    this.dir = dir;
    this.forceSync = opts.forceSync;
    this.fsyncTime = opts.fsyncTime ?? new LatencyMetric('fsynctime');
    this.segmentBytes = opts.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    this.trustBefore = opts.trustBefore ?? 0;
    this.inlineBelowMs = opts.inlineWriteBelowMs ?? 1;
    if (!(this.segmentBytes >= SEGMENT_HEADER_BYTES + RECORD_HEADER_BYTES)) {
      throw new RangeError(`segmentBytes too small: ${this.segmentBytes}`);
    }
  }

  /**
   * Opens (creating if needed) the log in `dir` and recovers it: a torn or
   * zero-filled tail of the last segment is cut off; any other damage throws
   * CorruptLogError.
   */
  static async open(dir: string, opts: WalOptions): Promise<WriteAheadLog> {
    const created = await fsp.mkdir(dir, { recursive: true });
    if (created !== undefined) await fsyncDir(path.dirname(path.resolve(dir)));
    const wal = new WriteAheadLog(dir, opts);
    await wal.recover();
    return wal;
  }

  /** Index of the oldest entry held, 0 when empty. */
  get firstIndex(): number {
    return this.first;
  }

  /** Index of the newest entry appended (durable or not), 0 when empty. */
  get lastIndex(): number {
    return this.last;
  }

  /** Term of the newest entry appended, 0 when empty. */
  get lastTerm(): number {
    return this.lastTermValue;
  }

  get stats(): Readonly<WalStats> {
    return { ...this.counters };
  }

  /** Term of the entry at index, or undefined outside [firstIndex, lastIndex]. */
  termAt(index: number): number | undefined {
    if (this.last === 0 || index < this.first || index > this.last) return undefined;
    // Segments skipped at open (trustBefore) left no terms behind.
    if (this.termStart.length === 0 || index < this.termStart[0]!) return undefined;
    let lo = 0;
    let hi = this.termStart.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.termStart[mid]! <= index) lo = mid;
      else hi = mid - 1;
    }
    return this.termValue[lo];
  }

  /**
   * Buffers entries in memory. They must continue the log: the first index is
   * lastIndex + 1 (any index >= 1 when the log is empty), indices are
   * contiguous and terms never decrease.
   */
  append(entries: readonly LogEntry[]): void {
    this.checkUsable();
    if (entries.length === 0) return;
    let expect = this.last === 0 ? entries[0]!.index : this.last + 1;
    let term = this.lastTermValue;
    for (const e of entries) {
      if (!Number.isSafeInteger(e.index) || e.index < 1 || e.index !== expect) {
        throw new RangeError(`WAL append: expected index ${expect}, got ${e.index}`);
      }
      if (!Number.isSafeInteger(e.term) || e.term < term) {
        throw new RangeError(`WAL append: term ${e.term} at index ${e.index} is below the previous term ${term}`);
      }
      if (!(e.data instanceof Uint8Array) || e.data.length > MAX_ENTRY_BYTES) {
        throw new RangeError(
          `WAL append: entry ${e.index} data must be a Uint8Array of at most ${MAX_ENTRY_BYTES} bytes`,
        );
      }
      expect++;
      term = e.term;
    }
    if (this.last === 0) this.first = entries[0]!.index;
    for (const e of entries) {
      if (this.termValue.length === 0 || this.termValue[this.termValue.length - 1] !== e.term) {
        this.termStart.push(e.index);
        this.termValue.push(e.term);
      }
    }
    this.last = expect - 1;
    this.lastTermValue = term;
    const tail = this.pending[this.pending.length - 1];
    if (tail?.kind === 'append') {
      for (const e of entries) tail.entries.push(e);
    } else {
      this.pending.push({ kind: 'append', entries: entries.slice() });
    }
  }

  /**
   * Resolves once everything appended (and truncated) before the call is on
   * disk. Callers arriving while a write is in progress share the next one, so
   * N concurrent callers cost at most two fdatasyncs.
   */
  sync(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new Error('WAL is closed'));
    if (this.pending.length === 0) return this.runningFlush ?? Promise.resolve();
    if (this.queuedFlush === null) this.queuedFlush = this.enqueue(() => this.runFlush());
    return this.queuedFlush;
  }

  /**
   * Drops every entry after `index` (a Raft log conflict) and resolves once that
   * is durable. An index below firstIndex empties the log; the next append may
   * then start at any index (e.g. just after an installed snapshot).
   */
  truncateAfter(index: number): Promise<void> {
    try {
      this.checkUsable();
      if (!Number.isSafeInteger(index) || index < 0) throw new RangeError(`WAL truncateAfter: bad index ${index}`);
    } catch (e) {
      return Promise.reject(e);
    }
    if (this.last === 0 || index >= this.last) return this.sync();
    for (const op of this.pending) {
      if (op.kind === 'append') {
        let keep = op.entries.length;
        while (keep > 0 && op.entries[keep - 1]!.index > index) keep--;
        op.entries.length = keep;
      }
    }
    this.pending.push({ kind: 'truncate', index });
    if (index < this.first) {
      this.first = 0;
      this.last = 0;
      this.lastTermValue = 0;
      this.termStart = [];
      this.termValue = [];
    } else {
      while (this.termStart[this.termStart.length - 1]! > index) {
        this.termStart.pop();
        this.termValue.pop();
      }
      this.last = index;
      this.lastTermValue = this.termValue[this.termValue.length - 1]!;
    }
    return this.sync();
  }

  /**
   * Deletes whole segment files whose entries all lie below `index` (after a
   * snapshot covers them). The segment being written is never removed, so
   * firstIndex may stay below `index`. Returns the number of files removed.
   */
  async purgeBefore(index: number): Promise<number> {
    this.checkUsable();
    await this.sync();
    return this.enqueue(async () => {
      if (this.failure) throw this.failure;
      let removed = 0;
      while (this.segments.length > 1 && this.segments[0]!.lastIndex < index) {
        // Oldest first: a crash part-way leaves a contiguous log.
        await fsp.unlink(this.segments[0]!.file);
        this.segments.shift();
        removed++;
      }
      if (removed > 0) {
        await fsyncDir(this.dir);
        const newFirst = this.segments[0]!.firstIndex;
        if (this.first !== 0 && this.first < newFirst) {
          this.first = newFirst;
          while (this.termStart.length > 1 && this.termStart[1]! <= newFirst) {
            this.termStart.shift();
            this.termValue.shift();
          }
          this.termStart[0] = newFirst;
        }
      }
      return removed;
    });
  }

  /**
   * Yields entries from `index` (clamped to firstIndex) up to lastIndex,
   * including ones appended but not yet synced. Disk reads verify checksums and
   * run on the same serial chain as writes, a bounded batch at a time, so a
   * read interleaved with syncs, truncations or purges sees a consistent log;
   * it ends early if the log is truncated below the next entry, and throws if
   * that entry was purged.
   */
  async *readFrom(index: number): AsyncGenerator<LogEntry> {
    this.checkUsable();
    let next = Math.max(index, this.first);
    // Each pass yields at least one entry, except when the entry moved between
    // the buffers and the disk in between; that cannot repeat without end.
    let idle = 0;
    while (this.last !== 0 && next <= this.last) {
      const buffered = this.bufferedEntry(next);
      if (buffered) {
        yield buffered;
        next++;
        idle = 0;
        continue;
      }
      const from = next;
      const batch = await this.enqueue(() => this.readDiskBatch(from));
      if (batch.length === 0) {
        if (++idle > 1000) throw new Error(`WAL: entry ${next} keeps moving; giving up`);
        continue;
      }
      idle = 0;
      for (const e of batch) {
        yield e;
        next++;
      }
    }
  }

  /**
   * Entries from `next` held on disk and not shadowed by buffered ones, up to a
   * bounded count. Runs on the chain, so no write or truncation is in progress.
   */
  private async readDiskBatch(next: number): Promise<LogEntry[]> {
    if (this.failure) throw this.failure;
    if (this.last === 0 || next > this.last || next < this.first || this.bufferedEntry(next)) return [];
    const seg = this.segmentFor(next);
    if (!seg) throw new Error(`WAL: entry ${next} is no longer in the log (purged)`);
    const stop = Math.min(seg.lastIndex, this.last, this.bufferedStart() - 1, next + READ_BATCH - 1);
    if (stop < next) throw new Error(`WAL: entry ${next} is neither buffered nor on disk`);
    const out: LogEntry[] = [];
    const mark = lastMarkAtOrBefore(seg, next);
    for await (const r of scanSegment(seg.file, mark.offset, seg.size)) {
      if (r.index < next) continue;
      const want = next + out.length;
      if (r.index !== want) throw new CorruptLogError(seg.file, r.offset, `expected index ${want}, found ${r.index}`);
      out.push({ index: r.index, term: r.term, data: r.data });
      if (r.index >= stop) break;
    }
    if (out.length < stop - next + 1) {
      throw new CorruptLogError(seg.file, seg.size, `segment ends before index ${next + out.length}`);
    }
    return out;
  }

  /** Flushes what was appended, then releases the file handle. */
  async close(): Promise<void> {
    if (this.closed) return;
    let err: unknown = null;
    try {
      if (!this.failure) await this.sync();
    } catch (e) {
      err = e;
    }
    this.closed = true;
    await this.enqueue(async () => {
      if (this.active) {
        await this.active.close();
        this.active = null;
      }
    });
    if (err) throw err;
  }

  private checkUsable(): void {
    if (this.failure) throw this.failure;
    if (this.closed) throw new Error('WAL is closed');
  }

  private enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.chain.then(fn);
    this.chain = p.then(
      () => undefined,
      () => undefined,
    );
    return p;
  }

  private async runFlush(): Promise<void> {
    this.runningFlush = this.queuedFlush;
    this.queuedFlush = null;
    const ops = this.pending;
    this.pending = [];
    this.inflight = ops;
    // Only the common batch goes inline: appends that fit the active segment.
    this.inline =
      this.counters.syncMs < this.inlineBelowMs && ops.every((op) => op.kind === 'append') && this.fitsActive(ops);
    if (this.inline) this.counters.inlineFlushes++;
    try {
      if (this.failure) throw this.failure;
      for (const op of ops) {
        if (op.kind === 'append') {
          if (op.entries.length > 0) await this.writeEntries(op.entries);
        } else {
          await this.truncateOnDisk(op.index);
        }
      }
      if (this.activeDirty && this.forceSync) await this.datasync(this.active!);
      this.activeDirty = false;
      this.counters.flushes++;
    } catch (e) {
      // After a failed write or fsync the file state is unknown (and a retried
      // fsync can falsely succeed), so the log refuses all further work.
      if (!this.failure) {
        const msg = e instanceof Error ? e.message : String(e);
        this.failure = new Error(`WAL ${this.dir}: write failed, log unusable until restart: ${msg}`, { cause: e });
      }
      throw this.failure;
    } finally {
      this.inline = false;
      this.inflight = [];
      this.runningFlush = null;
    }
  }

  private fitsActive(ops: readonly PendingOp[]): boolean {
    const seg = this.segments[this.segments.length - 1];
    if (seg === undefined || this.active === null) return false;
    let bytes = 0;
    for (const op of ops) {
      if (op.kind !== 'append') return false;
      for (const e of op.entries) bytes += RECORD_HEADER_BYTES + e.data.length;
    }
    return seg.size + bytes <= this.segmentBytes;
  }

  private async writeEntries(entries: LogEntry[]): Promise<void> {
    const { buf, ends } = encodeRecords(entries);
    let i = 0;
    let start = 0;
    while (i < entries.length) {
      let seg = this.segments[this.segments.length - 1];
      const roll =
        seg !== undefined && seg.lastIndex >= seg.firstIndex && seg.size + (ends[i]! - start) > this.segmentBytes;
      if (seg === undefined || roll) seg = await this.startSegment(entries[i]!.index);
      // Always take one record, so an entry larger than a segment gets a segment of its own.
      let j = i + 1;
      while (j < entries.length && seg.size + (ends[j]! - start) <= this.segmentBytes) j++;
      const end = ends[j - 1]!;
      if (this.inline) writeFullySync(this.active!.fd, buf.subarray(start, end), seg.size);
      else await writeFully(this.active!, buf.subarray(start, end), seg.size);
      this.activeDirty = true;
      this.counters.bytesWritten += end - start;
      this.counters.entriesWritten += j - i;
      for (let k = i; k < j; k++) addMark(seg, entries[k]!.index, seg.size + (k === i ? 0 : ends[k - 1]! - start));
      seg.size += end - start;
      seg.lastIndex = entries[j - 1]!.index;
      start = end;
      i = j;
    }
  }

  private async datasync(fh: FileHandle): Promise<void> {
    const start = performance.now();
    await fh.datasync();
    const ms = performance.now() - start;
    this.fsyncTime.recordMs(ms);
    this.counters.syncMs = this.counters.fsyncs === 0 ? ms : 0.8 * this.counters.syncMs + 0.2 * ms;
    this.counters.fsyncs++;
  }

  private async startSegment(firstIndex: number): Promise<Segment> {
    if (this.active) {
      // The old segment's records must be durable before a newer segment can
      // exist, or recovery would see a torn tail in a non-last segment.
      if (this.activeDirty && this.forceSync) await this.datasync(this.active);
      await this.active.close();
      this.active = null;
      this.activeDirty = false;
    }
    const file = path.join(this.dir, segmentName(firstIndex));
    const fh = await fsp.open(file, 'wx');
    this.active = fh;
    await writeFully(fh, segmentHeader(firstIndex), 0);
    if (this.forceSync) {
      await fh.sync();
      this.counters.fsyncs++;
      await fsyncDir(this.dir);
    }
    const seg: Segment = {
      file,
      firstIndex,
      lastIndex: firstIndex - 1,
      size: SEGMENT_HEADER_BYTES,
      markIndex: [],
      markOffset: [],
    };
    this.segments.push(seg);
    return seg;
  }

  private async truncateOnDisk(index: number): Promise<void> {
    let removed = false;
    // Newest first: a crash part-way leaves a contiguous (if too long) log.
    while (this.segments.length > 0 && this.segments[this.segments.length - 1]!.firstIndex > index) {
      if (this.active) {
        await this.active.close();
        this.active = null;
        this.activeDirty = false;
      }
      await fsp.unlink(this.segments.pop()!.file);
      removed = true;
    }
    if (removed) await fsyncDir(this.dir);
    const seg = this.segments[this.segments.length - 1];
    if (!seg) return;
    if (!this.active) this.active = await fsp.open(seg.file, 'r+');
    if (seg.lastIndex <= index) return;
    const offset = await this.offsetOf(seg, index + 1);
    await this.active.truncate(offset);
    await this.active.sync();
    this.activeDirty = false;
    seg.size = offset;
    seg.lastIndex = index;
    while (seg.markIndex.length > 0 && seg.markIndex[seg.markIndex.length - 1]! > index) {
      seg.markIndex.pop();
      seg.markOffset.pop();
    }
  }

  private async offsetOf(seg: Segment, index: number): Promise<number> {
    const mark = lastMarkAtOrBefore(seg, index);
    if (mark.index === index) return mark.offset;
    for await (const r of scanSegment(seg.file, mark.offset, seg.size)) {
      if (r.index === index) return r.offset;
    }
    throw new CorruptLogError(seg.file, mark.offset, `index ${index} not found in segment`);
  }

  private segmentFor(index: number): Segment | undefined {
    let lo = 0;
    let hi = this.segments.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const s = this.segments[mid]!;
      if (index < s.firstIndex) hi = mid - 1;
      else if (index > s.lastIndex) lo = mid + 1;
      else return s;
    }
    return undefined;
  }

  /**
   * The newest not-yet-written copy of entry `index`. Buffered entries win over
   * disk because after a truncate they replace what the files still hold.
   */
  private bufferedEntry(index: number): LogEntry | undefined {
    for (const ops of [this.pending, this.inflight]) {
      for (let k = ops.length - 1; k >= 0; k--) {
        const op = ops[k]!;
        if (op.kind !== 'append' || op.entries.length === 0) continue;
        const off = index - op.entries[0]!.index;
        if (off >= 0 && off < op.entries.length) return op.entries[off];
      }
    }
    return undefined;
  }

  private bufferedStart(): number {
    let min = Infinity;
    for (const ops of [this.pending, this.inflight]) {
      for (const op of ops) {
        if (op.kind === 'append' && op.entries.length > 0) min = Math.min(min, op.entries[0]!.index);
      }
    }
    return min;
  }

  private async recover(): Promise<void> {
    const names = (await fsp.readdir(this.dir)).filter((n) => SEGMENT_RE.test(n)).sort();
    let prev: Segment | undefined;
    let prevTerm = 0;
    let dirChanged = false;
    for (let k = 0; k < names.length; k++) {
      const isLast = k === names.length - 1;
      const file = path.join(this.dir, names[k]!);
      const firstIndex = parseInt(SEGMENT_RE.exec(names[k]!)![1]!, 16);
      const nextFirst = isLast ? Infinity : parseInt(SEGMENT_RE.exec(names[k + 1]!)![1]!, 16);
      if (nextFirst <= this.trustBefore && nextFirst > firstIndex) {
        if (prev && firstIndex !== prev.lastIndex + 1) {
          throw new CorruptLogError(
            file,
            0,
            `segment starts at index ${firstIndex} but the previous one ends at ${prev.lastIndex}`,
          );
        }
        // Every entry here is inside the snapshot: take the extent from the names alone.
        const size = (await fsp.stat(file)).size;
        prev = { file, firstIndex, lastIndex: nextFirst - 1, size, markIndex: [], markOffset: [] };
        this.segments.push(prev);
        continue;
      }
      const buf = await fsp.readFile(file);
      const hp = headerProblem(buf, firstIndex);
      if (hp !== null) {
        // A roll interrupted before its header reached the disk.
        if (isLast && !verifyingRecordAfter(buf, 0, firstIndex)) {
          await fsp.unlink(file);
          dirChanged = true;
          continue;
        }
        throw new CorruptLogError(file, 0, hp);
      }
      if (prev && firstIndex !== prev.lastIndex + 1) {
        throw new CorruptLogError(
          file,
          0,
          `segment starts at index ${firstIndex} but the previous one ends at ${prev.lastIndex}`,
        );
      }
      const seg: Segment = {
        file,
        firstIndex,
        lastIndex: firstIndex - 1,
        size: SEGMENT_HEADER_BYTES,
        markIndex: [],
        markOffset: [],
      };
      let off = SEGMENT_HEADER_BYTES;
      while (off < buf.length) {
        const r = parseRecord(buf, off, buf.length);
        if (r.ok) {
          const expect = seg.lastIndex + 1;
          if (r.index !== expect) throw new CorruptLogError(file, off, `expected index ${expect}, found ${r.index}`);
          if (r.term < prevTerm) throw new CorruptLogError(file, off, `term ${r.term} below previous term ${prevTerm}`);
          addMark(seg, r.index, off);
          if (r.term !== prevTerm || this.termValue.length === 0) {
            this.termStart.push(r.index);
            this.termValue.push(r.term);
          }
          prevTerm = r.term;
          seg.lastIndex = r.index;
          off = r.next;
          continue;
        }
        if (!isLast || verifyingRecordAfter(buf, off + 1, seg.lastIndex + 1)) {
          throw new CorruptLogError(file, off, r.reason);
        }
        // Torn or zero-filled tail of the last segment: the unacknowledged end
        // of the batch being written when the process died.
        const fh = await fsp.open(file, 'r+');
        try {
          await fh.truncate(off);
          await fh.sync();
        } finally {
          await fh.close();
        }
        break;
      }
      seg.size = Math.min(off, buf.length);
      if (seg.lastIndex < seg.firstIndex) {
        if (!isLast) throw new CorruptLogError(file, SEGMENT_HEADER_BYTES, 'segment holds no records');
        await fsp.unlink(file);
        dirChanged = true;
        continue;
      }
      this.segments.push(seg);
      prev = seg;
    }
    if (dirChanged) await fsyncDir(this.dir);
    const tail = this.segments[this.segments.length - 1];
    if (tail) {
      this.first = this.segments[0]!.firstIndex;
      this.last = tail.lastIndex;
      this.lastTermValue = prevTerm;
      this.active = await fsp.open(tail.file, 'r+');
    }
  }
}
