// Snapshots of the state machine, one file each: `snapshot.<16 hex digits of lastIndex>`.
//
// Layout (little-endian):
//   header  (24 bytes): magic 'SSNP', version u32, lastIndex u64, lastTerm u64
//   body             : the caller's chunks, concatenated
//   trailer (12 bytes): body length u64, CRC32 of every preceding byte of the file
//
// A snapshot is written under a temporary name, fsynced, renamed into place and
// the directory fsynced, so a crash leaves either the whole snapshot or a stray
// temporary file (removed by the next list()/latest()).
import type { FileHandle } from 'node:fs/promises';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { crc32 } from 'node:zlib';

import { fsyncDir, getU64, hex16, putU64, writeFully } from './fsutil.js';

export interface SnapshotMeta {
  lastIndex: number;
  lastTerm: number;
}

export interface SnapshotFile {
  lastIndex: number;
  /** Path of the file (dir joined with its name). */
  file: string;
}

export interface SkippedSnapshot {
  file: string;
  reason: string;
}

export interface LoadedSnapshot extends SnapshotMeta {
  data: Buffer;
  file: string;
  /** Newer snapshots that failed verification and were passed over. */
  skipped: SkippedSnapshot[];
}

export interface SnapshotStoreOptions {
  /** Told about every snapshot that fails verification. */
  warn?: (message: string) => void;
}

/** ZooKeeper refuses to keep fewer than three snapshots (autopurge.snapRetainCount). */
export const MIN_SNAPSHOT_RETAIN = 3;
const MAGIC = 0x504e5353; // 'SSNP' read as little-endian u32
const VERSION = 1;
const HEADER_BYTES = 24;
const TRAILER_BYTES = 12;
/** Small chunks are copied into a buffer of this size so the disk sees few, large writes. */
const STAGING_BYTES = 1024 * 1024;
const NAME_RE = /^snapshot\.([0-9a-f]{16})$/;
const TEMP_RE = /^snapshot\.[0-9a-f]{16}\.tmp\b/;

export function snapshotName(lastIndex: number): string {
  return `snapshot.${hex16(lastIndex)}`;
}

function verify(buf: Buffer, expectedIndex: number): (SnapshotMeta & { data: Buffer }) | string {
  if (buf.length < HEADER_BYTES + TRAILER_BYTES) return `file too short (${buf.length} bytes)`;
  if (buf.readUInt32LE(0) !== MAGIC) return 'bad magic';
  const version = buf.readUInt32LE(4);
  if (version !== VERSION) return `unsupported version ${version}`;
  const bodyLen = getU64(buf, buf.length - TRAILER_BYTES);
  if (bodyLen !== buf.length - HEADER_BYTES - TRAILER_BYTES) {
    return `trailer says ${bodyLen} body bytes, file holds ${buf.length - HEADER_BYTES - TRAILER_BYTES}`;
  }
  const stored = buf.readUInt32LE(buf.length - 4);
  if (crc32(buf.subarray(0, buf.length - 4)) !== stored) return 'checksum mismatch';
  const lastIndex = getU64(buf, 8);
  const lastTerm = getU64(buf, 16);
  if (lastIndex !== expectedIndex) return `header says lastIndex ${lastIndex}, file name says ${expectedIndex}`;
  return { lastIndex, lastTerm, data: buf.subarray(HEADER_BYTES, HEADER_BYTES + bodyLen) };
}

export class SnapshotStore {
  private readonly dir: string;
  private readonly warn: ((message: string) => void) | undefined;
  /** Temporary files this process is writing right now: not crash leftovers. */
  private readonly writing = new Set<string>();
  private seq = 0;

  constructor(dir: string, opts: SnapshotStoreOptions = {}) {
    this.dir = dir;
    this.warn = opts.warn;
  }

  /**
   * Streams `chunks` into a new snapshot and returns its path once it is
   * durable. A snapshot with the same lastIndex is replaced atomically. Chunks
   * may be reused by the producer as soon as the iterator asks for the next one.
   */
  async write(meta: SnapshotMeta, chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<string> {
    if (
      !Number.isSafeInteger(meta.lastIndex) ||
      meta.lastIndex < 0 ||
      !Number.isSafeInteger(meta.lastTerm) ||
      meta.lastTerm < 0
    ) {
      throw new RangeError(
        `snapshot lastIndex/lastTerm must be non-negative integers: ${meta.lastIndex}/${meta.lastTerm}`,
      );
    }
    await fsp.mkdir(this.dir, { recursive: true });
    const final = path.join(this.dir, snapshotName(meta.lastIndex));
    const tmp = `${final}.tmp.${process.pid}.${++this.seq}`;
    this.writing.add(tmp);
    let fh: FileHandle | null = null;
    try {
      fh = await fsp.open(tmp, 'wx');
      const header = Buffer.alloc(HEADER_BYTES);
      header.writeUInt32LE(MAGIC, 0);
      header.writeUInt32LE(VERSION, 4);
      putU64(header, meta.lastIndex, 8);
      putU64(header, meta.lastTerm, 16);
      let crc = crc32(header);
      await writeFully(fh, header, 0);
      let pos = HEADER_BYTES;
      let bodyLen = 0;
      const staging = Buffer.allocUnsafe(STAGING_BYTES);
      let staged = 0;
      const handle = fh;
      const drain = async (): Promise<void> => {
        if (staged === 0) return;
        await writeFully(handle, staging.subarray(0, staged), pos);
        pos += staged;
        staged = 0;
      };
      for await (const chunk of chunks) {
        if (!(chunk instanceof Uint8Array)) throw new TypeError('snapshot chunks must be Uint8Arrays');
        crc = crc32(chunk, crc);
        bodyLen += chunk.length;
        if (staged + chunk.length > STAGING_BYTES) await drain();
        if (chunk.length >= STAGING_BYTES) {
          await writeFully(handle, chunk, pos);
          pos += chunk.length;
        } else {
          staging.set(chunk, staged);
          staged += chunk.length;
        }
      }
      await drain();
      const trailer = Buffer.alloc(TRAILER_BYTES);
      putU64(trailer, bodyLen, 0);
      crc = crc32(trailer.subarray(0, 8), crc);
      trailer.writeUInt32LE(crc, 8);
      await writeFully(fh, trailer, pos);
      await fh.sync();
      await fh.close();
      fh = null;
      await fsp.rename(tmp, final);
      await fsyncDir(this.dir);
      return final;
    } catch (e) {
      if (fh) await fh.close().catch(() => undefined);
      await fsp.rm(tmp, { force: true }).catch(() => undefined);
      throw e;
    } finally {
      this.writing.delete(tmp);
    }
  }

  /**
   * The newest snapshot that verifies, or null. Newer ones that fail are
   * listed in `skipped` and reported to the warn callback.
   */
  async latest(): Promise<LoadedSnapshot | null> {
    const all = await this.list();
    const skipped: SkippedSnapshot[] = [];
    for (let k = all.length - 1; k >= 0; k--) {
      const { file, lastIndex } = all[k]!;
      let result: ReturnType<typeof verify>;
      try {
        result = verify(await fsp.readFile(file), lastIndex);
      } catch (e) {
        // Vanished (purged concurrently) or unreadable: treat like a bad file.
        result = e instanceof Error ? e.message : String(e);
      }
      if (typeof result === 'string') {
        skipped.push({ file, reason: result });
        this.warn?.(`skipping invalid snapshot ${file}: ${result}`);
        continue;
      }
      return { ...result, file, skipped };
    }
    return null;
  }

  /** Snapshot files, oldest first, without verifying them. Removes crash leftovers. */
  async list(): Promise<SnapshotFile[]> {
    let names: string[];
    try {
      names = await fsp.readdir(this.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    const out: SnapshotFile[] = [];
    for (const name of names) {
      const file = path.join(this.dir, name);
      const m = NAME_RE.exec(name);
      if (m) {
        out.push({ lastIndex: parseInt(m[1]!, 16), file });
      } else if (TEMP_RE.test(name) && !this.writing.has(file)) {
        await fsp.rm(file, { force: true });
      }
    }
    return out.sort((a, b) => a.lastIndex - b.lastIndex);
  }

  /** Keeps the newest max(retainCount, 3) snapshots; returns the removed paths. */
  async purge(retainCount: number): Promise<string[]> {
    const keep = Math.max(MIN_SNAPSHOT_RETAIN, Math.floor(retainCount) || 0);
    const all = await this.list();
    const doomed = all.slice(0, Math.max(0, all.length - keep));
    for (const s of doomed) await fsp.rm(s.file, { force: true });
    if (doomed.length > 0) await fsyncDir(this.dir);
    return doomed.map((s) => s.file);
  }
}
