// Protocol-level behaviour of a real `synod server` process, driven with the
// raw client so every byte and error code is what the server sent.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { appendFileSync, readdirSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RawClient } from '../../src/client/raw.js';
import { AddWatchMode, CreateMode, Err, EventType, OpCode, Perms } from '../../src/jute/constants.js';
import { readConnectResponse, writeConnectRequest, writeRequest, type ACL } from '../../src/jute/records.js';
import { JuteReader, JuteWriter } from '../../src/jute/buffer.js';
import type { WatcherEvent } from '../../src/client/replies.js';
import { startSynod, type ServerHandle } from '../helpers/servers.js';
import { fourLetterWord } from '../helpers/fourletter.js';
import { parseMntr } from '../../src/testing/servers.js';

const OPEN: ACL[] = [{ perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } }];
let server: ServerHandle;

before(async () => {
  server = await startSynod({
    config: { maxClientCnxns: 40, tickTime: 500, minSessionTimeout: 1000, maxSessionTimeout: 10000 },
  });
});
after(async () => {
  await server?.destroy();
});

function client(extra: Partial<Parameters<typeof RawClient.connect>[0]> = {}): Promise<RawClient> {
  return RawClient.connect({ host: server.host, port: server.port, timeoutMs: 4000, ...extra });
}

function create(c: RawClient, path: string, flags = 0, data = '') {
  return c.send({ op: OpCode.create, req: { path, data: Buffer.from(data), acl: OPEN, flags, ttl: -1 } });
}

async function waitFor<T>(what: string, fn: () => T | undefined, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (let i = 0; Date.now() < deadline && i < 10_000; i++) {
    const v = fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function rawSocket(): Promise<import('node:net').Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(server.port, server.host, () => resolve(s));
    s.on('error', reject);
  });
}

function closedWithin(s: import('node:net').Socket, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    s.once('close', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

test('an oversized or negative frame length closes only that connection', async () => {
  const bystander = await client();
  for (const len of [0x7fffffff, -5, 50 * 1024 * 1024]) {
    const s = await rawSocket();
    const b = Buffer.alloc(4);
    b.writeInt32BE(len);
    s.write(b);
    assert.ok(await closedWithin(s, 5000), `length ${len} should close the connection`);
  }
  assert.equal((await bystander.send({ op: OpCode.exists, req: { path: '/', watch: false } })).err, Err.OK);
  await bystander.close();
});

test('garbage instead of a handshake closes the connection; the server goes on', async () => {
  const s = await rawSocket();
  const frame = Buffer.from([0, 0, 0, 3, 1, 2, 3]);
  s.write(frame);
  assert.ok(await closedWithin(s, 5000));
  const c = await client();
  assert.equal((await c.send({ op: OpCode.exists, req: { path: '/', watch: false } })).err, Err.OK);
  await c.close();
});

test('a truncated record gets MARSHALLINGERROR, an unknown opcode UNIMPLEMENTED, and the session goes on', async () => {
  const c = await client();
  assert.equal((await c.sendRaw(OpCode.getData, Buffer.from([0, 0]))).err, Err.MARSHALLINGERROR);
  assert.equal((await c.sendRaw(999, Buffer.alloc(0))).err, Err.UNIMPLEMENTED);
  assert.equal((await c.sendRaw(OpCode.create, Buffer.from([0, 0, 0, 2, 47]))).err, Err.MARSHALLINGERROR);
  assert.equal((await create(c, '/after-garbage')).err, Err.OK);
  await c.close();
});

test('session expiry deletes ephemerals and fires their watches', async () => {
  const owner = await client({ timeoutMs: 1000 });
  assert.equal(owner.timeoutMs, 1000);
  await create(owner, '/exp');
  await create(owner, '/exp/e', CreateMode.EPHEMERAL);
  const events: WatcherEvent[] = [];
  const watcher = await client({ onEvent: (e) => events.push(e) });
  assert.equal((await watcher.send({ op: OpCode.exists, req: { path: '/exp/e', watch: true } })).err, Err.OK);
  owner.destroy(); // no closeSession: only the timeout can end it
  const ev = await waitFor('NodeDeleted', () => events.find((e) => e.path === '/exp/e'));
  assert.equal(ev.type, EventType.NodeDeleted);
  assert.equal((await watcher.send({ op: OpCode.exists, req: { path: '/exp/e', watch: false } })).err, Err.NONODE);
  await assert.rejects(
    client({ sessionId: owner.sessionId, passwd: owner.passwd }),
    (e: Error & { code?: number }) => e.code === Err.SESSIONEXPIRED,
  );
  await watcher.close();
});

test('re-attach within the timeout keeps the session; a wrong password does not; the old connection is dropped', async () => {
  const first = await client({ timeoutMs: 4000 });
  await create(first, '/keep', CreateMode.EPHEMERAL);
  const wrong = new Uint8Array(first.passwd);
  wrong[0] = (wrong[0]! + 1) & 0xff;
  await assert.rejects(client({ sessionId: first.sessionId, passwd: wrong }));
  const second = await client({ sessionId: first.sessionId, passwd: first.passwd, lastZxidSeen: first.lastZxid });
  assert.equal(second.sessionId, first.sessionId);
  await first.closed; // the server closes the connection the session moved away from
  assert.equal((await second.send({ op: OpCode.exists, req: { path: '/keep', watch: false } })).err, Err.OK);
  await second.close();
  const check = await client();
  assert.equal((await check.send({ op: OpCode.exists, req: { path: '/keep', watch: false } })).err, Err.NONODE);
  await check.close();
});

test('a client that has seen a newer zxid than the server is refused', async () => {
  await assert.rejects(client({ lastZxidSeen: 0x7fff00000000 }));
});

test('setWatches fires what a reconnecting client missed and re-arms the rest', async () => {
  const c = await client();
  await create(c, '/sw');
  await create(c, '/sw/same');
  const since = (await c.send({ op: OpCode.exists, req: { path: '/sw', watch: false } })).zxid;
  await c.send({ op: OpCode.setData, req: { path: '/sw', data: Buffer.from('new'), version: -1 } });
  await create(c, '/sw/born');
  const events: WatcherEvent[] = [];
  const r = await client({ onEvent: (e) => events.push(e) });
  const reply = await r.send({
    op: OpCode.setWatches,
    req: {
      relativeZxid: since,
      dataWatches: ['/sw', '/sw/gone', '/sw/same'],
      existWatches: ['/sw/born', '/sw/unborn'],
      childWatches: ['/sw'],
      persistentWatches: [],
      persistentRecursiveWatches: [],
    },
  });
  assert.equal(reply.err, Err.OK);
  const got = events.map((e) => `${e.type} ${e.path}`).sort();
  assert.deepEqual(
    got,
    [
      `${EventType.NodeCreated} /sw/born`,
      `${EventType.NodeDataChanged} /sw`,
      `${EventType.NodeChildrenChanged} /sw`,
      `${EventType.NodeDeleted} /sw/gone`,
    ].sort(),
  );
  events.length = 0;
  await create(c, '/sw/unborn');
  await c.send({ op: OpCode.setData, req: { path: '/sw/same', data: null, version: -1 } });
  await waitFor('re-armed watches', () => (events.length >= 2 ? true : undefined));
  assert.deepEqual(
    events.map((e) => `${e.type} ${e.path}`).sort(),
    [`${EventType.NodeCreated} /sw/unborn`, `${EventType.NodeDataChanged} /sw/same`].sort(),
  );
  await r.close();
  await c.close();
});

test('persistent recursive watches see the subtree and stay; removeWatches ends them', async () => {
  const events: WatcherEvent[] = [];
  const w = await client({ onEvent: (e) => events.push(e) });
  const c = await client();
  await create(c, '/rw');
  assert.equal(
    (await w.send({ op: OpCode.addWatch, req: { path: '/rw', mode: AddWatchMode.PERSISTENT_RECURSIVE } })).err,
    Err.OK,
  );
  await create(c, '/rw/a');
  await create(c, '/rw/a/b');
  await c.send({ op: OpCode.setData, req: { path: '/rw/a/b', data: Buffer.from('x'), version: -1 } });
  await c.send({ op: OpCode.delete, req: { path: '/rw/a/b', version: -1 } });
  await waitFor('4 events', () => (events.length >= 4 ? true : undefined));
  assert.deepEqual(
    events.map((e) => `${e.type} ${e.path}`),
    [
      `${EventType.NodeCreated} /rw/a`,
      `${EventType.NodeCreated} /rw/a/b`,
      `${EventType.NodeDataChanged} /rw/a/b`,
      `${EventType.NodeDeleted} /rw/a/b`,
    ],
  );
  assert.equal((await w.send({ op: OpCode.checkWatches, req: { path: '/rw', type: 5 } })).err, Err.OK);
  assert.equal((await w.send({ op: OpCode.removeWatches, req: { path: '/rw', type: 5 } })).err, Err.OK);
  assert.equal((await w.send({ op: OpCode.removeWatches, req: { path: '/rw', type: 5 } })).err, Err.NOWATCHER);
  await create(c, '/rw/later');
  await c.send({ op: OpCode.sync, req: { path: '/rw' } });
  assert.equal(events.length, 4);
  await w.close();
  await c.close();
});

test('many requests in flight on one session are answered in order, reads after their writes', async () => {
  const c = await client();
  await create(c, '/fifo', 0, '0');
  const replies = [];
  for (let i = 1; i <= 200; i++) {
    replies.push(c.send({ op: OpCode.setData, req: { path: '/fifo', data: Buffer.from(String(i)), version: -1 } }));
    replies.push(c.send({ op: OpCode.getData, req: { path: '/fifo', watch: false } }));
  }
  const out = await Promise.all(replies);
  for (let i = 0; i < out.length; i += 2) {
    const read = out[i + 1]!.body as { data: Uint8Array };
    assert.equal(Buffer.from(read.data).toString(), String(i / 2 + 1), "a read sees its session's earlier write");
    assert.ok(out[i + 1]!.xid > out[i]!.xid);
  }
  await c.close();
});

test('multiRead, getAllChildrenNumber, getEphemerals, whoAmI', async () => {
  const c = await client();
  await create(c, '/mr', 0, 'top');
  await create(c, '/mr/a', CreateMode.EPHEMERAL);
  await create(c, '/mr/b');
  await create(c, '/mr/b/c');
  const mr = await c.send({
    op: OpCode.multiRead,
    req: [
      { op: OpCode.getData, req: { path: '/mr', watch: false } },
      { op: OpCode.getChildren, req: { path: '/mr', watch: false } },
      { op: OpCode.getData, req: { path: '/mr/none', watch: false } },
    ],
  });
  const results = mr.body as Array<{ type: number; err?: number; children?: string[] }>;
  assert.equal(results.length, 3);
  assert.equal(results[0]!.type, OpCode.getData);
  assert.deepEqual([...results[1]!.children!].sort(), ['a', 'b']);
  assert.deepEqual([results[2]!.type, results[2]!.err], [-1, Err.NONODE]);
  const n = await c.send({ op: OpCode.getAllChildrenNumber, req: { path: '/mr' } });
  assert.equal((n.body as { totalNumber: number }).totalNumber, 3);
  const e = await c.send({ op: OpCode.getEphemerals, req: { prefixPath: '/mr' } });
  assert.deepEqual((e.body as { ephemerals: string[] }).ephemerals, ['/mr/a']);
  const who = await c.send({ op: OpCode.whoAmI, req: null });
  assert.deepEqual((who.body as { clientInfo: Array<{ authScheme: string; user: string }> }).clientInfo, [
    { authScheme: 'ip', user: '127.0.0.1' },
  ]);
  await c.close();
});

test('maxClientCnxns refuses connections past the limit from one address', async () => {
  const held: RawClient[] = [];
  try {
    for (let i = 0; i < 40; i++) held.push(await client());
    await assert.rejects(client({ connectTimeoutMs: 3000 }));
  } finally {
    for (const c of held) c.destroy();
  }
  await new Promise((r) => setTimeout(r, 200));
  const c = await client();
  await c.close();
});

test('sessions and ephemerals survive a restart shorter than their timeout', async () => {
  const c = await client({ timeoutMs: 10_000 });
  await create(c, '/restart', CreateMode.EPHEMERAL, 'still here');
  c.destroy();
  await server.kill9();
  await server.start();
  const back = await client({ sessionId: c.sessionId, passwd: c.passwd, timeoutMs: 10_000 });
  const r = await back.send({ op: OpCode.getData, req: { path: '/restart', watch: false } });
  assert.equal(Buffer.from((r.body as { data: Uint8Array }).data).toString(), 'still here');
  await back.close();
});

test('a torn log tail is cut off at start; corruption before the tail stops the server naming file and offset', async () => {
  const c = await client();
  for (let i = 0; i < 50; i++) await create(c, `/torn-${i}`, 0, 'x'.repeat(100));
  await c.close();
  await server.stop();
  const logs = readdirSync(server.dataDir)
    .filter((f) => f.startsWith('log.'))
    .sort();
  assert.ok(logs.length > 0, `log segments in ${server.dataDir}: ${readdirSync(server.dataDir).join(' ')}`);
  const last = join(server.dataDir, logs[logs.length - 1]!);
  appendFileSync(last, Buffer.from([0, 0, 1, 0, 9, 9, 9])); // a record header promising bytes that never came
  await server.start();
  const d = await client();
  assert.equal((await d.send({ op: OpCode.exists, req: { path: '/torn-49', watch: false } })).err, Err.OK);
  assert.equal((await create(d, '/after-torn')).err, Err.OK);
  await d.close();
  await server.stop();
  const size = statSync(last).size;
  const bytes = readFileSync(last);
  const at = Math.floor(size / 2);
  bytes[at] = bytes[at]! ^ 0xff;
  writeFileSync(last, bytes);
  // Corruption followed by intact records is not a torn tail: refuse to start.
  await assert.rejects(server.start(), /refusing to start|corrupt|offset/i);
  bytes[at] = bytes[at]! ^ 0xff;
  writeFileSync(last, bytes);
  await server.start();
});

test("a request sent in the same write as a new session's ConnectRequest is answered after the ConnectResponse", async () => {
  const s = await rawSocket();
  const w = new JuteWriter();
  let at = w.reserveLength();
  writeConnectRequest(w, {
    protocolVersion: 0,
    lastZxidSeen: 0,
    timeOut: 4000,
    sessionId: 0n,
    passwd: new Uint8Array(16),
    readOnly: false,
  });
  w.patchLength(at);
  at = w.reserveLength();
  w.int(1).int(OpCode.exists);
  writeRequest(w, { op: OpCode.exists, req: { path: '/', watch: false } });
  w.patchLength(at);
  const frames: Buffer[] = [];
  let inbox = Buffer.alloc(0);
  const done = new Promise<void>((resolve) => {
    s.on('data', (d: Buffer) => {
      inbox = Buffer.concat([inbox, d]);
      while (inbox.length >= 4 && inbox.length >= 4 + inbox.readInt32BE(0)) {
        frames.push(inbox.subarray(4, 4 + inbox.readInt32BE(0)));
        inbox = inbox.subarray(4 + inbox.readInt32BE(0));
      }
      if (frames.length >= 2) resolve();
    });
  });
  s.write(w.toBuffer());
  await waitFor('two frames', () => (frames.length >= 2 ? true : undefined), 5000);
  await done;
  const hs = readConnectResponse(new JuteReader(frames[0]!));
  assert.ok(hs.timeOut > 0 && hs.sessionId !== 0n, 'first frame is the ConnectResponse');
  const reply = new JuteReader(frames[1]!);
  assert.equal(reply.int(), 1, 'then the reply to xid 1');
  reply.long();
  assert.equal(reply.int(), Err.OK);
  s.destroy();
});

test('requests owed to a client that vanished are not counted as outstanding afterwards', async () => {
  const c = await client();
  await create(c, '/gone');
  for (let i = 0; i < 300; i++)
    void c
      .send({ op: OpCode.setData, req: { path: '/gone', data: Buffer.from(String(i)), version: -1 } })
      .catch(() => undefined);
  c.destroy();
  const outstanding = async (): Promise<number> => {
    const mntr = await fourLetterWord(server.port, 'mntr');
    return Number(/zk_outstanding_requests\t(-?\d+)/.exec(mntr)![1]);
  };
  await waitFor('outstanding to settle', () => undefined, 300).catch(() => undefined);
  let n = await outstanding();
  for (let i = 0; i < 50 && n !== 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
    n = await outstanding();
  }
  assert.equal(n, 0);
});

test('mntr reports how late the event loop ran, and srst resets it', async () => {
  const field = (text: string, key: string): number => {
    const m = new RegExp(`^${key}\\t(\\S+)$`, 'm').exec(text);
    assert.ok(m, `${key} missing from mntr`);
    return Number(m[1]);
  };
  // A stopped process runs no timers: to its event loop, the pause is one
  // long turn.
  server.sigstop();
  await new Promise((r) => setTimeout(r, 150));
  server.sigcont();
  await new Promise((r) => setTimeout(r, 50));
  const before = await fourLetterWord(server.port, 'mntr');
  const max = field(before, 'synod_event_loop_delay_max_ms');
  assert.ok(max >= 100, `max delay ${max} ms after a 150 ms pause`);
  assert.ok(field(before, 'synod_event_loop_delay_p50_ms') <= max);
  assert.ok(field(before, 'synod_event_loop_delay_p99_ms') <= max);
  await fourLetterWord(server.port, 'srst');
  const after = await fourLetterWord(server.port, 'mntr');
  assert.ok(field(after, 'synod_event_loop_delay_max_ms') < max, 'srst starts the histogram over');
});

test("mntr reports ZooKeeper's latency summaries (updatelatency, readlatency, fsynctime), and srst clears them", async () => {
  const rows = async (): Promise<Map<string, number>> => {
    const text = await fourLetterWord(server.port, 'mntr');
    return new Map([...parseMntr(text)].map(([k, v]) => [k, Number(v)] as const));
  };
  await fourLetterWord(server.port, 'srst');
  const c = await client();
  await create(c, '/lat');
  for (let i = 0; i < 20; i++) {
    await c.send({ op: OpCode.setData, req: { path: '/lat', data: Buffer.from(String(i)), version: -1 } });
    await c.send({ op: OpCode.getData, req: { path: '/lat', watch: false } });
  }
  const m = await rows();
  // One create and 20 setData; the reads and the session's pings are reads.
  assert.equal(m.get('zk_cnt_updatelatency'), 21);
  assert.ok(m.get('zk_cnt_readlatency')! >= 20, `readlatency count ${m.get('zk_cnt_readlatency')}`);
  assert.ok(m.get('zk_cnt_fsynctime')! >= 1, 'every write was fsynced');
  for (const name of ['updatelatency', 'readlatency', 'fsynctime']) {
    const [min, p50, p99, max] = ['min', 'p50', 'p99', 'max'].map((k) => m.get(`zk_${k}_${name}`)!);
    assert.ok(
      min >= 0 && min <= p50! && p50! <= p99! && p99! <= max!,
      `${name}: min ${min} p50 ${p50} p99 ${p99} max ${max}`,
    );
    const avg = m.get(`zk_avg_${name}`)!;
    assert.ok(
      Math.abs(avg * m.get(`zk_cnt_${name}`)! - m.get(`zk_sum_${name}`)!) < 0.01 * m.get(`zk_sum_${name}`)! + 0.01,
    );
  }
  assert.equal(m.has('zk_cnt_quorum_ack_latency'), false, 'a standalone server has no quorum');
  c.destroy();
  await fourLetterWord(server.port, 'srst');
  const after = await rows();
  for (const name of ['updatelatency', 'readlatency', 'fsynctime']) assert.equal(after.get(`zk_cnt_${name}`), 0, name);
});
