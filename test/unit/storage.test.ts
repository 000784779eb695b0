import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';

import {
  CorruptLogError,
  SnapshotStore,
  WriteAheadLog,
  segmentName,
  type LogEntry,
  type WalOptions,
} from '../../src/storage/index.js';

const roots: string[] = [];
after(() => {
  for (const r of roots) fs.rmSync(r, { recursive: true, force: true });
});

function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'synod-storage-'));
  roots.push(d);
  return d;
}

/** Fixed-size payloads (12 bytes) so record offsets are predictable: 16 + k * 36. */
function entry(index: number, term = 1, tag = 'e'): LogEntry {
  return { index, term, data: Buffer.from(`${tag}-${String(index).padStart(10, '0')}`.slice(-12)) };
}

function range(from: number, to: number, term = 1, tag = 'e'): LogEntry[] {
  const out: LogEntry[] = [];
  for (let i = from; i <= to; i++) out.push(entry(i, term, tag));
  return out;
}

const RECORD = 24 + 12;
const HEADER = 16;

async function readAll(wal: WriteAheadLog, from = wal.firstIndex): Promise<LogEntry[]> {
  const out: LogEntry[] = [];
  for await (const e of wal.readFrom(from)) out.push({ index: e.index, term: e.term, data: Buffer.from(e.data) });
  return out;
}

function assertEntries(actual: LogEntry[], expected: LogEntry[]): void {
  assert.equal(actual.length, expected.length, 'entry count');
  for (let k = 0; k < expected.length; k++) {
    assert.equal(actual[k]!.index, expected[k]!.index);
    assert.equal(actual[k]!.term, expected[k]!.term, `term at ${expected[k]!.index}`);
    assert.deepEqual(Buffer.from(actual[k]!.data), Buffer.from(expected[k]!.data), `data at ${expected[k]!.index}`);
  }
}

function segments(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((n) => n.startsWith('log.'))
    .sort();
}

async function expectCorrupt(dir: string, file: string, offset: number): Promise<void> {
  await assert.rejects(WriteAheadLog.open(dir, { forceSync: true, segmentBytes: 1024 }), (err: unknown) => {
    assert.ok(err instanceof CorruptLogError, `expected CorruptLogError, got ${String(err)}`);
    assert.equal(err.file, file);
    assert.equal(err.offset, offset);
    assert.match(err.message, new RegExp(`${path.basename(file).replace('.', '\\.')}.*offset ${offset}`));
    return true;
  });
}

describe('WriteAheadLog', () => {
  test('round trip, including entries not yet synced', async () => {
    const dir = tempDir();
    const wal = await WriteAheadLog.open(dir, { forceSync: true });
    assert.equal(wal.firstIndex, 0);
    assert.equal(wal.lastIndex, 0);
    assert.equal(wal.lastTerm, 0);
    wal.append(range(1, 10, 2));
    await wal.sync();
    wal.append(range(11, 15, 3));
    assert.equal(wal.lastIndex, 15);
    assert.equal(wal.lastTerm, 3);
    assertEntries(await readAll(wal), [...range(1, 10, 2), ...range(11, 15, 3)]);
    assertEntries(await readAll(wal, 9), [...range(9, 10, 2), ...range(11, 15, 3)]);
    assert.equal(wal.termAt(10), 2);
    assert.equal(wal.termAt(11), 3);
    assert.equal(wal.termAt(16), undefined);
    await wal.close();

    const again = await WriteAheadLog.open(dir, { forceSync: true });
    assert.equal(again.firstIndex, 1);
    assert.equal(again.lastIndex, 15);
    assert.equal(again.lastTerm, 3);
    assertEntries(await readAll(again), [...range(1, 10, 2), ...range(11, 15, 3)]);
    await again.close();
  });

  test('append enforces contiguous indices and non-decreasing terms', async () => {
    const dir = tempDir();
    const wal = await WriteAheadLog.open(dir, { forceSync: false });
    wal.append(range(5, 6, 2));
    assert.throws(() => wal.append([entry(8, 2)]), RangeError);
    assert.throws(() => wal.append([entry(7, 1)]), RangeError);
    assert.throws(() => wal.append([entry(7, 2), entry(9, 2)]), RangeError);
    assert.equal(wal.lastIndex, 6, 'a rejected batch leaves the log untouched');
    await wal.close();
  });

  test('many batches survive reopen', async () => {
    const dir = tempDir();
    const wal = await WriteAheadLog.open(dir, { forceSync: false, segmentBytes: 64 * 1024 });
    const all: LogEntry[] = [];
    for (let b = 0; b < 200; b++) {
      const batch = range(b * 50 + 1, b * 50 + 50, 1 + Math.floor(b / 40));
      all.push(...batch);
      wal.append(batch);
      await wal.sync();
    }
    await wal.close();
    const again = await WriteAheadLog.open(dir, { forceSync: false, segmentBytes: 64 * 1024 });
    assert.equal(again.lastIndex, 10000);
    assert.equal(again.lastTerm, 5);
    assert.equal(again.termAt(2000), 1);
    assert.equal(again.termAt(2001), 2);
    assertEntries(await readAll(again), all);
    assertEntries(await readAll(again, 7777), all.slice(7776));
    assert.ok(segments(dir).length > 1);
    await again.close();
  });

  test('segments roll at segmentBytes and sort by first index', async () => {
    const dir = tempDir();
    const wal = await WriteAheadLog.open(dir, { forceSync: true, segmentBytes: 1024 });
    wal.append(range(1, 100));
    await wal.sync();
    // One entry bigger than a segment gets a segment of its own.
    const big: LogEntry = { index: 101, term: 1, data: Buffer.alloc(3000, 7) };
    wal.append([big]);
    wal.append(range(102, 110));
    await wal.sync();
    const names = segments(dir);
    const perSegment = Math.floor((1024 - HEADER) / RECORD); // 28
    assert.equal(names[0], segmentName(1));
    assert.equal(names[1], segmentName(1 + perSegment));
    assert.ok(names.includes(segmentName(101)));
    assert.ok(names.includes(segmentName(102)));
    for (const n of names) {
      const size = fs.statSync(path.join(dir, n)).size;
      if (n !== segmentName(101)) assert.ok(size <= 1024, `${n} is ${size} bytes`);
    }
    await wal.close();
    const again = await WriteAheadLog.open(dir, { forceSync: true, segmentBytes: 1024 });
    assertEntries(await readAll(again), [...range(1, 100), big, ...range(102, 110)]);
    assertEntries(await readAll(again, 50), [...range(50, 100), big, ...range(102, 110)]);
    await again.close();
  });

  test('torn tail: a file cut mid-record is trimmed and appends continue', async () => {
    const dir = tempDir();
    const wal = await WriteAheadLog.open(dir, { forceSync: true });
    wal.append(range(1, 20));
    await wal.sync();
    await wal.close();
    const file = path.join(dir, segmentName(1));
    const full = HEADER + 20 * RECORD;
    assert.equal(fs.statSync(file).size, full);

    fs.truncateSync(file, full - 5); // inside the payload of record 20
    let again = await WriteAheadLog.open(dir, { forceSync: true });
    assert.equal(again.lastIndex, 19);
    assert.equal(fs.statSync(file).size, full - RECORD);
    again.append(range(20, 25, 2, 'x'));
    await again.sync();
    await again.close();

    fs.truncateSync(file, full - RECORD + 10); // inside the header of record 20
    again = await WriteAheadLog.open(dir, { forceSync: true });
    assert.equal(again.lastIndex, 19);
    again.append(range(20, 22, 3, 'y'));
    await again.sync();
    await again.close();

    again = await WriteAheadLog.open(dir, { forceSync: true });
    assertEntries(await readAll(again), [...range(1, 19), ...range(20, 22, 3, 'y')]);
    await again.close();
  });

  test('torn tail: zeros or garbage after the last record are cut', async () => {
    const dir = tempDir();
    const wal = await WriteAheadLog.open(dir, { forceSync: true, segmentBytes: 1024 });
    wal.append(range(1, 40));
    await wal.sync();
    await wal.close();
    const last = path.join(dir, segments(dir).at(-1)!);
    const size = fs.statSync(last).size;

    fs.appendFileSync(last, Buffer.alloc(4096));
    let again = await WriteAheadLog.open(dir, { forceSync: true, segmentBytes: 1024 });
    assert.equal(again.lastIndex, 40);
    assert.equal(fs.statSync(last).size, size);
    await again.close();

    // Deterministic junk, including a length field that points past the end.
    const junk = Buffer.alloc(300);
    for (let k = 0; k < junk.length; k++) junk[k] = (k * 131 + 17) & 0xff;
    fs.appendFileSync(last, junk);
    again = await WriteAheadLog.open(dir, { forceSync: true, segmentBytes: 1024 });
    assert.equal(again.lastIndex, 40);
    assert.equal(fs.statSync(last).size, size);
    again.append(range(41, 45, 2));
    await again.sync();
    await again.close();

    again = await WriteAheadLog.open(dir, { forceSync: true, segmentBytes: 1024 });
    assertEntries(await readAll(again), [...range(1, 40), ...range(41, 45, 2)]);
    await again.close();
  });

  test('a segment holding only a torn header at the tail is dropped', async () => {
    const dir = tempDir();
    const wal = await WriteAheadLog.open(dir, { forceSync: true });
    wal.append(range(1, 5));
    await wal.sync();
    await wal.close();
    fs.writeFileSync(path.join(dir, segmentName(6)), Buffer.from([0x53, 0x57, 0x41]));
    let again = await WriteAheadLog.open(dir, { forceSync: true });
    assert.equal(again.lastIndex, 5);
    assert.deepEqual(segments(dir), [segmentName(1)]);
    again.append(range(6, 7));
    await again.sync();
    await again.close();

    // A complete header but no record: the roll happened, the first write did not.
    const header = fs.readFileSync(path.join(dir, segmentName(1))).subarray(0, HEADER);
    header.writeUInt32LE(8, 8);
    fs.writeFileSync(path.join(dir, segmentName(8)), header);
    again = await WriteAheadLog.open(dir, { forceSync: true });
    assert.equal(again.lastIndex, 7);
    assert.deepEqual(segments(dir), [segmentName(1)]);
    await again.close();
    assert.throws(() => again.append(range(8, 8)), /closed/);
    await assert.rejects(again.truncateAfter(3), /closed/);
  });

  test('a flipped byte in a non-last segment is corruption, naming file and offset', async () => {
    const dir = tempDir();
    const wal = await WriteAheadLog.open(dir, { forceSync: true, segmentBytes: 1024 });
    wal.append(range(1, 100));
    await wal.sync();
    await wal.close();
    const names = segments(dir);
    assert.ok(names.length >= 3);
    const file = path.join(dir, names[1]!);
    const recordOffset = HEADER + 5 * RECORD;
    const bytes = fs.readFileSync(file);
    bytes[recordOffset + 30] ^= 0x01; // inside the payload
    fs.writeFileSync(file, bytes);
    await expectCorrupt(dir, file, recordOffset);
  });

  test('a flipped byte mid last segment, followed by good records, is corruption', async () => {
    const dir = tempDir();
    const wal = await WriteAheadLog.open(dir, { forceSync: true, segmentBytes: 1024 });
    wal.append(range(1, 70));
    await wal.sync();
    await wal.close();
    const file = path.join(dir, segments(dir).at(-1)!);
    const recordOffset = HEADER + 3 * RECORD;
    const original = fs.readFileSync(file);
    assert.ok(original.length > recordOffset + 3 * RECORD, 'good records follow the damage');

    let bytes = Buffer.from(original);
    bytes[recordOffset + 28] ^= 0x80; // payload
    fs.writeFileSync(file, bytes);
    await expectCorrupt(dir, file, recordOffset);

    bytes = Buffer.from(original);
    bytes[recordOffset + 6] ^= 0x40; // length field: the record now claims to run past the end
    fs.writeFileSync(file, bytes);
    await expectCorrupt(dir, file, recordOffset);

    bytes = Buffer.from(original);
    bytes.fill(0, recordOffset, recordOffset + RECORD); // a zeroed record with good ones after it
    fs.writeFileSync(file, bytes);
    await expectCorrupt(dir, file, recordOffset);
  });

  test('a missing middle segment is a gap', async () => {
    const dir = tempDir();
    const wal = await WriteAheadLog.open(dir, { forceSync: true, segmentBytes: 1024 });
    wal.append(range(1, 100));
    await wal.sync();
    await wal.close();
    const names = segments(dir);
    fs.rmSync(path.join(dir, names[1]!));
    await expectCorrupt(dir, path.join(dir, names[2]!), 0);
  });

  test('truncateAfter drops the conflicting suffix durably', async () => {
    const dir = tempDir();
    const opts = { forceSync: true, segmentBytes: 1024 };
    const wal = await WriteAheadLog.open(dir, opts);
    wal.append(range(1, 60, 1));
    wal.append(range(61, 100, 2));
    await wal.sync();
    await wal.truncateAfter(40);
    assert.equal(wal.lastIndex, 40);
    assert.equal(wal.lastTerm, 1);
    assertEntries(await readAll(wal), range(1, 40));
    wal.append(range(41, 50, 3, 'n'));
    await wal.sync();

    // Truncating entries still buffered, and entries on disk, in one go.
    wal.append(range(51, 60, 3, 'n'));
    const t = wal.truncateAfter(45);
    wal.append(range(46, 48, 4, 'm'));
    assertEntries(await readAll(wal, 44), [...range(44, 45, 3, 'n'), ...range(46, 48, 4, 'm')]);
    await t;
    await wal.sync();
    await wal.close();

    const again = await WriteAheadLog.open(dir, opts);
    assert.equal(again.lastIndex, 48);
    assert.equal(again.lastTerm, 4);
    assertEntries(await readAll(again), [...range(1, 40), ...range(41, 45, 3, 'n'), ...range(46, 48, 4, 'm')]);

    // Below firstIndex: the log empties and may restart anywhere (after a snapshot).
    await again.truncateAfter(0);
    assert.equal(again.firstIndex, 0);
    assert.equal(again.lastIndex, 0);
    assert.deepEqual(segments(dir), []);
    again.append(range(1000, 1004, 7));
    await again.sync();
    await again.close();
    const third = await WriteAheadLog.open(dir, opts);
    assert.equal(third.firstIndex, 1000);
    assertEntries(await readAll(third), range(1000, 1004, 7));
    await third.close();
  });

  test('purgeBefore removes whole segments below the index, never the active one', async () => {
    const dir = tempDir();
    const opts = { forceSync: true, segmentBytes: 1024 };
    const wal = await WriteAheadLog.open(dir, opts);
    wal.append(range(1, 30, 1));
    wal.append(range(31, 200, 2));
    await wal.sync();
    const perSegment = Math.floor((1024 - HEADER) / RECORD);
    const before = segments(dir).length;
    const removed = await wal.purgeBefore(100);
    assert.equal(removed, Math.floor(99 / perSegment));
    assert.equal(segments(dir).length, before - removed);
    assert.equal(wal.firstIndex, removed * perSegment + 1);
    assert.ok(wal.firstIndex <= 100);
    assert.equal(wal.termAt(wal.firstIndex), 2);
    assert.equal(await wal.purgeBefore(100), 0);
    assertEntries(await readAll(wal), range(wal.firstIndex, 200, 2));

    const left = await wal.purgeBefore(10_000);
    assert.equal(segments(dir).length, 1, `removed ${left}, the active segment stays`);
    assert.equal(wal.lastIndex, 200);
    const first = wal.firstIndex;
    await wal.close();
    const again = await WriteAheadLog.open(dir, opts);
    assert.equal(again.firstIndex, first);
    assert.equal(again.lastIndex, 200);
    await again.close();
  });

  test('concurrent sync() callers coalesce and all resolve', async () => {
    const dir = tempDir();
    const wal = await WriteAheadLog.open(dir, { forceSync: true });
    const waits: Promise<void>[] = [];
    for (let w = 0; w < 50; w++) {
      wal.append(range(w * 10 + 1, w * 10 + 10));
      waits.push(wal.sync());
    }
    await Promise.all(waits);
    assert.ok(wal.stats.flushes <= 2, `50 callers took ${wal.stats.flushes} flushes`);

    // Callers arriving while a flush is in progress share the next one.
    const second: Promise<void>[] = [];
    for (let w = 50; w < 100; w++) {
      wal.append(range(w * 10 + 1, w * 10 + 10));
      second.push(wal.sync());
      if (w % 10 === 0) await Promise.resolve();
    }
    await Promise.all(second);
    await wal.close();
    const again = await WriteAheadLog.open(dir, { forceSync: true });
    assert.equal(again.lastIndex, 1000);
    assertEntries(await readAll(again), range(1, 1000));
    await again.close();
  });
});

describe('WriteAheadLog against a model', () => {
  const modes = [
    { name: 'forceSync=no', opts: { forceSync: false, segmentBytes: 512 }, inline: true },
    {
      name: 'writes on the event loop',
      opts: { forceSync: true, segmentBytes: 512, inlineWriteBelowMs: Infinity },
      inline: true,
    },
    {
      name: 'writes on the thread pool',
      opts: { forceSync: true, segmentBytes: 512, inlineWriteBelowMs: 0 },
      inline: false,
    },
  ];
  for (const mode of modes) {
    test(`random appends, syncs, truncations, purges and reopens agree with an array (${mode.name})`, async () => {
      await modelRun(mode.opts, mode.inline);
    });
  }

  async function modelRun(opts: WalOptions, inline: boolean): Promise<void> {
    const dir = tempDir();
    let inlineFlushes = 0;
    let seed = 12345;
    const rand = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    let model: LogEntry[] = [];
    let wal = await WriteAheadLog.open(dir, opts);
    let term = 1;
    let inFlight: Promise<unknown>[] = [];
    for (let step = 0; step < 400; step++) {
      const op = rand(100);
      if (op < 50) {
        const from = model.length ? model.at(-1)!.index + 1 : 1 + rand(5);
        if (rand(10) === 0) term++;
        const batch = range(from, from + rand(12), term, `s${step}`);
        wal.append(batch);
        model.push(...batch);
        if (rand(2) === 0) inFlight.push(wal.sync());
      } else if (op < 65 && model.length > 0) {
        const cut = model[0]!.index - 1 + rand(model.length + 1);
        inFlight.push(wal.truncateAfter(cut));
        model = model.filter((e) => e.index <= cut);
      } else if (op < 72 && model.length > 0) {
        const before = model[0]!.index + rand(model.length);
        await Promise.all(inFlight);
        inFlight = [];
        await wal.purgeBefore(before);
        model = model.filter((e) => e.index >= wal.firstIndex);
      } else if (op < 80) {
        await Promise.all(inFlight);
        inFlight = [];
        inlineFlushes += wal.stats.inlineFlushes;
        await wal.close();
        wal = await WriteAheadLog.open(dir, opts);
      } else if (op < 90) {
        assertEntries(await readAll(wal), model);
      } else {
        await Promise.all(inFlight);
        inFlight = [];
      }
      assert.equal(wal.lastIndex, model.length ? model.at(-1)!.index : 0, `step ${step}`);
      assert.equal(wal.firstIndex, model.length ? model[0]!.index : 0, `step ${step}`);
      assert.equal(wal.lastTerm, model.length ? model.at(-1)!.term : 0, `step ${step}`);
    }
    await Promise.all(inFlight);
    inlineFlushes += wal.stats.inlineFlushes;
    await wal.close();
    wal = await WriteAheadLog.open(dir, opts);
    assertEntries(await readAll(wal), model);
    for (const e of model) assert.equal(wal.termAt(e.index), e.term);
    inlineFlushes += wal.stats.inlineFlushes;
    await wal.close();
    if (inline) assert.ok(inlineFlushes > 0, 'no batch was written inline');
    else assert.equal(inlineFlushes, 0);
  }
});

describe('SnapshotStore', () => {
  function* chunksOf(data: Buffer, size: number): Iterable<Uint8Array> {
    for (let off = 0; off < data.length; off += size) yield data.subarray(off, off + size);
  }

  function payload(n: number, seed: number): Buffer {
    const b = Buffer.alloc(n);
    for (let k = 0; k < n; k++) b[k] = (k * 31 + seed) & 0xff;
    return b;
  }

  test('write, list and latest', async () => {
    const dir = path.join(tempDir(), 'snap');
    const store = new SnapshotStore(dir);
    assert.equal(await store.latest(), null);
    const small = payload(10_000, 1);
    const big = payload(3 * 1024 * 1024 + 5, 2);
    const f1 = await store.write({ lastIndex: 100, lastTerm: 2 }, chunksOf(small, 7));
    const f2 = await store.write({ lastIndex: 250, lastTerm: 3 }, [big.subarray(0, 10), big.subarray(10)]);
    assert.equal(path.basename(f1), 'snapshot.0000000000000064');
    assert.deepEqual(await store.list(), [
      { lastIndex: 100, file: f1 },
      { lastIndex: 250, file: f2 },
    ]);
    const latest = await store.latest();
    assert.ok(latest);
    assert.equal(latest.lastIndex, 250);
    assert.equal(latest.lastTerm, 3);
    assert.equal(latest.file, f2);
    assert.deepEqual(latest.skipped, []);
    assert.ok(latest.data.equals(big));

    const empty = await store.write({ lastIndex: 300, lastTerm: 3 }, []);
    assert.equal((await store.latest())!.file, empty);
    assert.equal((await store.latest())!.data.length, 0);
  });

  test('a corrupt newest snapshot is reported and the previous one used', async () => {
    const dir = tempDir();
    const warnings: string[] = [];
    const store = new SnapshotStore(dir, { warn: (m) => warnings.push(m) });
    const older = payload(5000, 3);
    await store.write({ lastIndex: 10, lastTerm: 1 }, [older]);
    const newest = await store.write({ lastIndex: 20, lastTerm: 1 }, [payload(5000, 4)]);
    const truncated = await store.write({ lastIndex: 30, lastTerm: 2 }, [payload(5000, 5)]);
    const bytes = fs.readFileSync(newest);
    bytes[2500] ^= 0x10;
    fs.writeFileSync(newest, bytes);
    fs.truncateSync(truncated, 4000);

    const latest = await store.latest();
    assert.ok(latest);
    assert.equal(latest.lastIndex, 10);
    assert.ok(latest.data.equals(older));
    assert.deepEqual(
      latest.skipped.map((s) => s.file),
      [truncated, newest],
    );
    assert.match(latest.skipped[1]!.reason, /checksum/);
    assert.equal(warnings.length, 2);
    assert.ok(warnings[0]!.includes(truncated));
  });

  test('purge keeps at least three, newest first', async () => {
    const dir = tempDir();
    const store = new SnapshotStore(dir);
    const files: string[] = [];
    for (let k = 1; k <= 5; k++) files.push(await store.write({ lastIndex: k * 100, lastTerm: 1 }, [payload(100, k)]));
    assert.deepEqual(await store.purge(1), files.slice(0, 2));
    assert.deepEqual(
      (await store.list()).map((s) => s.file),
      files.slice(2),
    );
    assert.deepEqual(await store.purge(3), []);
    assert.deepEqual(await store.purge(2), []);
    assert.equal((await store.latest())!.lastIndex, 500);
  });

  test('temporary files left by a crash are removed', async () => {
    const dir = tempDir();
    const store = new SnapshotStore(dir);
    await store.write({ lastIndex: 5, lastTerm: 1 }, [payload(10, 1)]);
    const leftover = path.join(dir, 'snapshot.0000000000000009.tmp.12345.1');
    fs.writeFileSync(leftover, 'partial');
    const other = path.join(dir, 'unrelated.txt');
    fs.writeFileSync(other, 'keep me');
    assert.deepEqual(
      (await store.list()).map((s) => s.lastIndex),
      [5],
    );
    assert.equal(fs.existsSync(leftover), false);
    assert.equal(fs.existsSync(other), true);
  });
});

test('trustBefore: segments wholly inside the snapshot are not read at open', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'synod-wal-trust-'));
  try {
    const wal = await WriteAheadLog.open(dir, { forceSync: false, segmentBytes: 1024 });
    for (let i = 1; i <= 200; i++) wal.append([{ index: i, term: 1, data: Buffer.alloc(40, i) }]);
    await wal.sync();
    await wal.close();
    const segs = fs
      .readdirSync(dir)
      .filter((f) => f.startsWith('log.'))
      .sort();
    assert.ok(segs.length > 4);
    // Damage the first segment: a full read would refuse to open.
    const first = path.join(dir, segs[0]!);
    const bytes = fs.readFileSync(first);
    bytes[bytes.length - 10] = bytes[bytes.length - 10]! ^ 0xff;
    fs.writeFileSync(first, bytes);
    await assert.rejects(WriteAheadLog.open(dir, { forceSync: false, segmentBytes: 1024 }), CorruptLogError);
    const trusted = await WriteAheadLog.open(dir, { forceSync: false, segmentBytes: 1024, trustBefore: 150 });
    assert.equal(trusted.lastIndex, 200);
    const got: number[] = [];
    for await (const e of trusted.readFrom(150)) got.push(e.index);
    assert.deepEqual(
      got,
      Array.from({ length: 51 }, (_, i) => 150 + i),
    );
    await trusted.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
