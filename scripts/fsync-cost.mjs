// What one small WAL write costs on this machine's disk: write(2) and
// fdatasync both blocking on the event loop, both through libuv's thread pool
// (fs/promises), and the WAL's choice, a blocking write with the fdatasync in
// the pool. Wall time and CPU per write+fdatasync pair, and the slowest
// fdatasync seen (how long a blocking one could stall the event loop). Backs
// src/storage/wal.ts, WalOptions.inlineWriteBelowMs; docs/architecture.md.
//
//   node scripts/fsync-cost.mjs [--dir DIR] [--count N] [--bytes B]
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    dir: { type: 'string', default: os.tmpdir() },
    count: { type: 'string', default: '2000' },
    bytes: { type: 'string', default: '150' },
  },
});
const count = Number(values.count);
const bytes = Number(values.bytes);
if (!Number.isSafeInteger(count) || count < 1 || count > 1_000_000) throw new Error('--count must be 1..1000000');
if (!Number.isSafeInteger(bytes) || bytes < 1 || bytes > 16 * 1024 * 1024) throw new Error('--bytes must be 1..16 MiB');
const dir = fs.mkdtempSync(path.join(values.dir, 'synod-fsync-cost-'));
const buf = Buffer.alloc(bytes, 7);

let slowest = 0;
function noteSync(start) {
  slowest = Math.max(slowest, performance.now() - start);
}

function report(name, t0, c0) {
  const wallUs = Number(process.hrtime.bigint() - t0) / 1000 / count;
  const c = process.cpuUsage(c0);
  const cpuUs = (c.user + c.system) / count;
  console.log(
    `${name.padEnd(38)} ${wallUs.toFixed(1).padStart(7)} us wall ${cpuUs.toFixed(1).padStart(7)} us CPU per pair;` +
      ` slowest fdatasync ${slowest.toFixed(1)} ms`,
  );
  slowest = 0;
}

try {
  const fd = fs.openSync(path.join(dir, 'blocking'), 'w');
  let t0 = process.hrtime.bigint();
  let c0 = process.cpuUsage();
  for (let i = 0; i < count; i++) {
    fs.writeSync(fd, buf);
    const s = performance.now();
    fs.fdatasyncSync(fd);
    noteSync(s);
  }
  report('both blocking', t0, c0);
  fs.closeSync(fd);

  const fh = await fs.promises.open(path.join(dir, 'pool'), 'w');
  t0 = process.hrtime.bigint();
  c0 = process.cpuUsage();
  for (let i = 0; i < count; i++) {
    await fh.write(buf);
    const s = performance.now();
    await fh.datasync();
    noteSync(s);
  }
  report('both in the thread pool (fs/promises)', t0, c0);
  await fh.close();

  const mixed = await fs.promises.open(path.join(dir, 'mixed'), 'w');
  t0 = process.hrtime.bigint();
  c0 = process.cpuUsage();
  for (let i = 0; i < count; i++) {
    fs.writeSync(mixed.fd, buf);
    const s = performance.now();
    await mixed.datasync();
    noteSync(s);
  }
  report('blocking write, fdatasync in the pool', t0, c0);
  await mixed.close();
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
