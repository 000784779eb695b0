// Memory and apply rate of the tree alone: N creates of 100-byte znodes applied
// straight to the state machine, no network or disk. Run after `npm run build`:
//   node --expose-gc scripts/tree-memory.mjs 1000000
import { JuteWriter } from '../dist/src/jute/buffer.js';
import { writeRequest } from '../dist/src/jute/records.js';
import { StateMachine } from '../dist/src/txn/state.js';
import { EntryKind, encodeCreateSession } from '../dist/src/txn/entry.js';
const N = Number(process.argv[2] ?? 1000000);
const sm = new StateMachine({ extendedTypes: false, maxDataBytes: 1 << 20 });
let z = 0x100000000;
const w = new JuteWriter();
encodeCreateSession(w, 30000, new Uint8Array(16), '127.0.0.1');
sm.apply({ kind: EntryKind.createSession, zxid: ++z, time: 1, sessionId: 1n, cxid: 0, op: -10, body: w.toBuffer() });
const OPEN = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];
const data = Buffer.alloc(100, 120);
const mk = (path) => { w.reset(); writeRequest(w, { op: 1, req: { path, data, acl: OPEN, flags: 0, ttl: -1 } }); return sm.apply({ kind: 1, zxid: ++z, time: Date.now(), sessionId: 1n, cxid: 1, op: 1, body: w.toBuffer() }); };
const base = process.memoryUsage().rss;
for (let i = 0; i < 1000; i++) mk(`/d${i}`);
const t0 = Date.now();
for (let i = 0; i < N; i++) mk(`/d${i % 1000}/n${i}`);
const t1 = Date.now();
global.gc?.();
const m = process.memoryUsage();
console.log(`N=${N} create ${(N / ((t1 - t0) / 1000)).toFixed(0)}/s rss=${(m.rss / 1048576).toFixed(0)}MB heapUsed=${(m.heapUsed / 1048576).toFixed(0)}MB external=${(m.external/1048576).toFixed(0)}MB arrayBuffers=${(m.arrayBuffers/1048576).toFixed(0)}MB perNode=${((m.rss - base) / N).toFixed(0)}B`);
