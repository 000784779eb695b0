// What it costs to hand work between two threads of one process, for the
// design of a server split over threads (docs/benchmarks.md, "What bounds the
// ensemble numbers"). The main thread sends ITEMS items of BYTES bytes to a
// worker in batches of BATCH; the worker answers each batch with one small
// acknowledgement. Three ways:
//   objects   postMessage of an array of { id, bytes } objects (structured clone)
//   packed    postMessage of one ArrayBuffer holding the batch, transferred
//   shared    a SharedArrayBuffer ring written in place; a one-number
//             postMessage rings the doorbell (the worker could as well spin or
//             Atomics.wait, but an event loop must not block)
// Reported: items per second, and the CPU both threads used per item.
//
//   node scripts/handoff-cost.mjs [--items 200000] [--bytes 100] [--batch 1,10,100]
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { parseArgs } from 'node:util';

const RING_BYTES = 1 << 22;

if (!isMainThread) {
  const { mode, sab } = workerData;
  const ring = sab ? new Uint8Array(sab, 8) : null;
  const head = sab ? new Int32Array(sab, 0, 2) : null; // [write offset, read offset]
  let checksum = 0;
  parentPort.on('message', (m) => {
    let n = 0;
    if (mode === 'objects') {
      for (const it of m) {
        checksum = (checksum + it.bytes[0] + it.id) | 0;
        n++;
      }
    } else if (mode === 'packed') {
      const v = new DataView(m);
      for (let off = 0; off < m.byteLength;) {
        const len = v.getInt32(off);
        checksum = (checksum + v.getUint8(off + 4)) | 0;
        off += 4 + len;
        n++;
      }
    } else {
      let r = Atomics.load(head, 1);
      const w = Atomics.load(head, 0);
      while (r !== w) {
        const len = (ring[r] << 24) | (ring[r + 1] << 16) | (ring[r + 2] << 8) | ring[r + 3];
        checksum = (checksum + ring[(r + 4) % RING_BYTES]) | 0;
        r = (r + 4 + len) % RING_BYTES;
        n++;
      }
      Atomics.store(head, 1, r);
    }
    parentPort.postMessage(n);
  });
} else {
  const { values } = parseArgs({
    options: {
      items: { type: 'string', default: '200000' },
      bytes: { type: 'string', default: '100' },
      batch: { type: 'string', default: '1,10,100' },
    },
  });
  const items = Number(values.items);
  const bytes = Number(values.bytes);
  const batches = values.batch.split(',').map(Number);
  if (!(items > 0 && bytes > 0 && bytes < 65536 && batches.every((b) => b > 0 && b * (bytes + 4) < RING_BYTES / 2))) {
    console.error('usage: node scripts/handoff-cost.mjs [--items N] [--bytes 1..65535] [--batch B,B,...]');
    process.exit(2);
  }
  const payload = new Uint8Array(bytes).fill(7);

  async function run(mode, batch) {
    const sab = mode === 'shared' ? new SharedArrayBuffer(8 + RING_BYTES) : null;
    const ring = sab ? new Uint8Array(sab, 8) : null;
    const head = sab ? new Int32Array(sab, 0, 2) : null;
    const worker = new Worker(new URL(import.meta.url), { workerData: { mode, sab } });
    await new Promise((r) => worker.once('online', r));
    let sent = 0;
    let acked = 0;
    const cpu0 = process.cpuUsage();
    const wcpu0 = worker.performance.eventLoopUtilization();
    const t0 = performance.now();
    await new Promise((done) => {
      const sendBatch = () => {
        const n = Math.min(batch, items - sent);
        if (mode === 'objects') {
          const arr = [];
          for (let i = 0; i < n; i++) arr.push({ id: sent + i, bytes: payload.slice() });
          worker.postMessage(arr);
        } else if (mode === 'packed') {
          const buf = new ArrayBuffer(n * (4 + bytes));
          const v = new DataView(buf);
          const u = new Uint8Array(buf);
          for (let i = 0, off = 0; i < n; i++, off += 4 + bytes) {
            v.setInt32(off, bytes);
            u.set(payload, off + 4);
          }
          worker.postMessage(buf, [buf]);
        } else {
          let w = Atomics.load(head, 0);
          for (let i = 0; i < n; i++) {
            ring[w] = bytes >>> 24;
            ring[(w + 1) % RING_BYTES] = (bytes >>> 16) & 255;
            ring[(w + 2) % RING_BYTES] = (bytes >>> 8) & 255;
            ring[(w + 3) % RING_BYTES] = bytes & 255;
            const at = (w + 4) % RING_BYTES;
            if (at + bytes <= RING_BYTES) ring.set(payload, at);
            else for (let k = 0; k < bytes; k++) ring[(at + k) % RING_BYTES] = payload[k];
            w = (w + 4 + bytes) % RING_BYTES;
          }
          Atomics.store(head, 0, w);
          worker.postMessage(0);
        }
        sent += n;
      };
      // Keep two batches in flight, as a server's turns would overlap.
      worker.on('message', (n) => {
        acked += n;
        if (acked >= items) done();
        else if (sent < items) sendBatch();
      });
      sendBatch();
      if (sent < items) sendBatch();
    });
    const s = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const elu = worker.performance.eventLoopUtilization(wcpu0);
    await worker.terminate();
    const mainUs = ((cpu.user + cpu.system) / items).toFixed(2);
    console.log(
      `${mode.padEnd(7)} batch ${String(batch).padStart(4)}: ${Math.round(items / s).toLocaleString('en')} items/s; ` +
        `process CPU ${mainUs} us per item (both threads); worker busy ${(elu.utilization * 100).toFixed(0)}%`,
    );
  }

  console.log(`${items} items of ${bytes} bytes, main thread -> worker`);
  for (const batch of batches) for (const mode of ['objects', 'packed', 'shared']) await run(mode, batch);
}
