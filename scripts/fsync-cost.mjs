// What one small WAL write costs on this machine's disk, made blocking on the
// event loop versus through libuv's thread pool (fs/promises): wall time and
// CPU per write+fdatasync pair. Backs the WAL's inline-sync decision
// (src/storage/wal.ts, WalOptions.inlineSyncBelowMs; docs/architecture.md).
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

function report(name, t0, c0) {
  const wallUs = Number(process.hrtime.bigint() - t0) / 1000 / count;
  const c = process.cpuUsage(c0);
  const cpuUs = (c.user + c.system) / count;
  console.log(
    `${name.padEnd(34)} ${wallUs.toFixed(1).padStart(8)} us wall  ${cpuUs.toFixed(1).padStart(8)} us CPU per write+fdatasync`,
  );
}

try {
  const fd = fs.openSync(path.join(dir, 'blocking'), 'w');
  let t0 = process.hrtime.bigint();
  let c0 = process.cpuUsage();
  for (let i = 0; i < count; i++) {
    fs.writeSync(fd, buf);
    fs.fdatasyncSync(fd);
  }
  report('blocking (writeSync+fdatasyncSync)', t0, c0);
  fs.closeSync(fd);

  const fh = await fs.promises.open(path.join(dir, 'pool'), 'w');
  t0 = process.hrtime.bigint();
  c0 = process.cpuUsage();
  for (let i = 0; i < count; i++) {
    await fh.write(buf);
    await fh.datasync();
  }
  report('thread pool (fs/promises)', t0, c0);
  await fh.close();
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
