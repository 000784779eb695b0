// Client behaviour against a scripted fake server: the parts of the protocol a
// real server will not produce on demand (read-only answers, silence, refused
// handshakes, exact frame interleavings).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, describe, test } from 'node:test';
import { Err, OpCode, Xid } from '../../src/jute/constants.js';
import { writeStat } from '../../src/jute/records.js';
import {
  AuthFailedError,
  ConnectionLossError,
  EventType,
  QueueFullError,
  RequestTimeoutError,
  SessionExpiredError,
  ZooKeeper,
  AddWatchMode,
  isRetryable,
  type SessionState,
} from '../../src/client/index.js';
import { SET_WATCHES_MAX_LENGTH } from '../../src/client/watches.js';
import { FakeServer, STAT, until } from './fake-server.js';

const servers: FakeServer[] = [];
const clients: ZooKeeper[] = [];

async function fake(opts: ConstructorParameters<typeof FakeServer>[0] = {}): Promise<FakeServer> {
  const s = await new FakeServer(opts).start();
  servers.push(s);
  return s;
}

function client(cs: string, opts: ConstructorParameters<typeof ZooKeeper>[1] = {}): ZooKeeper {
  const zk = new ZooKeeper(cs, { sessionTimeout: 4000, maxRetryDelay: 100, ...opts });
  clients.push(zk);
  return zk;
}

function states(zk: ZooKeeper): SessionState[] {
  const seen: SessionState[] = [];
  zk.on('state', (s) => seen.push(s));
  return seen;
}

after(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  for (const s of servers) await s.stop();
});

describe('client against a fake server', () => {
  test('xids wrap from 2^31-1 to 1, never negative', async () => {
    const s = await fake();
    const zk = client(s.connectString, { initialXid: 0x7ffffffe });
    for (let i = 0; i < 4; i++) assert.ok(await zk.exists('/x'));
    const xids = s.requests.filter((r) => r.op === OpCode.exists).map((r) => r.xid);
    assert.deepEqual(xids, [0x7ffffffe, 0x7fffffff, 1, 2]);
  });

  test('many requests in flight are matched to replies in order', async () => {
    const s = await fake({
      onRequest: (r) => {
        if (r.op !== OpCode.getData) return;
        const path = (r.req!.req as { path: string }).path;
        r.conn.reply(r.xid, 0, (w) => {
          w.buffer(Buffer.from(path));
          writeStat(w, STAT);
        });
        return true;
      },
    });
    const zk = client(s.connectString);
    const got = await Promise.all(Array.from({ length: 2000 }, (_, i) => zk.getData(`/n${i}`)));
    got.forEach((g, i) => assert.equal(g.data!.toString(), `/n${i}`));
    // Requests issued in one turn of the event loop share writes.
    assert.ok(s.last!.requests.length >= 2000);
  });

  test('read-only server: state readOnly, then leaves it for a read-write server found with isro', async () => {
    const ro = await fake({ readOnly: true });
    const rw = await fake();
    // random() = 0.99 keeps the listed order: the read-only server is tried first.
    const zk = client(`${ro.connectString},${rw.connectString}`, { canBeReadOnly: true, random: () => 0.99 });
    const seen = states(zk);
    await until('read-only state', () => zk.state === 'readOnly');
    assert.equal(ro.handshakes[0]!.readOnly, true);
    assert.equal(ro.handshakes[0]!.sessionId, 0n);
    await until('moved to the read-write server', () => zk.state === 'connected');
    assert.equal(zk.connectedTo!.port, rw.port);
    // A session first made on a read-only server is not resumed elsewhere.
    assert.equal(rw.handshakes[0]!.sessionId, 0n);
    assert.deepEqual(seen.slice(0, 3), ['readOnly', 'disconnected', 'connected']);
  });

  test('without canBeReadOnly a read-only answer is not accepted', async () => {
    const ro = await fake({ readOnly: true });
    const rw = await fake();
    const zk = client(`${ro.connectString},${rw.connectString}`, { random: () => 0.99 });
    await zk.waitForConnected({ timeout: 10_000 });
    assert.equal(zk.connectedTo!.port, rw.port);
    assert.equal(ro.handshakes[0]!.readOnly, false);
  });

  test('pings keep an idle connection; a silent server is left after 2/3 of the timeout', async () => {
    const quiet = await fake({ timeout: 900, answerPings: false, onRequest: () => false });
    const good = await fake({ timeout: 900 });
    const zk = client(`${quiet.connectString},${good.connectString}`, { random: () => 0.99, sessionTimeout: 900 });
    await until('connected to the quiet server', () => zk.state === 'connected');
    const pending = zk.exists('/never-answered');
    await assert.rejects(pending, (e: unknown) => e instanceof ConnectionLossError && isRetryable(e));
    assert.ok(
      quiet.requests.some((r) => r.op === OpCode.ping),
      'a ping was sent while idle',
    );
    await until('connected to the good server', () => zk.connectedTo?.port === good.port);
    // The session was resumed with its id and password.
    assert.equal(good.handshakes[0]!.sessionId, quiet.connections[0]!.sessionId);
  });

  test('a server that refuses the handshake (behind lastZxidSeen) is skipped', async () => {
    const behind = await fake({ onConnect: () => 'close' });
    const ok = await fake();
    const zk = client(`${behind.connectString},${ok.connectString}`, { random: () => 0.99 });
    await zk.waitForConnected({ timeout: 10_000 });
    assert.equal(zk.connectedTo!.port, ok.port);
    assert.equal(behind.handshakes.length, 1);
  });

  test('a server that accepts the session but answers from behind lastZxidSeen is left', async () => {
    const ahead = await fake();
    ahead.zxid = 500;
    const behind = await fake();
    behind.zxid = 100;
    const zk = client(`${ahead.connectString},${behind.connectString}`, { random: () => 0.99 });
    await zk.exists('/x');
    assert.equal(zk.lastZxid, 500);
    const dropped = once(zk, 'disconnected');
    ahead.dropAll();
    await dropped;
    // Next in line is the server that is behind; its answer gives it away.
    assert.ok(await zk.exists('/y').catch(() => zk.exists('/y')));
    await until('back on the server that is ahead', () => zk.connectedTo?.port === ahead.port);
    assert.ok(behind.connections.length >= 1);
    assert.equal(behind.handshakes[0]!.lastZxidSeen, 500);
    assert.equal(zk.lastZxid, 500);
  });

  test('reconnect sends lastZxidSeen, the session, credentials and then setWatches in 128 KiB batches', async () => {
    const s = await fake({
      onRequest: (r) => {
        // exists on /e/* says NONODE: those become exist watches.
        if (r.op === OpCode.exists && (r.req!.req as { path: string }).path.startsWith('/e/')) {
          r.conn.reply(r.xid, Err.NONODE);
          return true;
        }
      },
    });
    s.zxid = 0x500000007;
    const zk = client(s.connectString);
    await zk.addAuth('digest', 'u:p');
    const long = 'x'.repeat(200);
    const watcher = (): void => {};
    const data: string[] = [];
    const exist: string[] = [];
    const child: string[] = [];
    const ps: Promise<unknown>[] = [];
    for (let i = 0; i < 700; i++) {
      data.push(`/d/${long}${i}`);
      exist.push(`/e/${long}${i}`);
      child.push(`/c/${long}${i}`);
      ps.push(zk.getData(data[i]!, watcher), zk.exists(exist[i]!, watcher), zk.getChildren(child[i]!, watcher));
    }
    await Promise.all(ps);
    assert.equal(zk.lastZxid, 0x500000007);
    const firstSession = s.connections[0]!.sessionId;
    const dropped = once(zk, 'disconnected');
    s.dropAll();
    await dropped;
    // Wait for the replay to finish (this request goes after it), then check it.
    await zk.exists('/e/after');

    const hs = s.handshakes[1]!;
    assert.equal(hs.lastZxidSeen, 0x500000007);
    assert.equal(hs.sessionId, firstSession);
    assert.deepEqual(Buffer.from(hs.passwd), Buffer.alloc(16, 7));

    const reqs = s.connections[1]!.requests;
    assert.equal(reqs[0]!.op, OpCode.auth, 'credentials first');
    const batches = reqs.filter((r) => r.op === OpCode.setWatches || r.op === OpCode.setWatches2);
    assert.ok(batches.length >= 3, `${batches.length} batches for about 440 KB of paths`);
    assert.ok(batches.every((b) => b.op === OpCode.setWatches && b.xid === Xid.SET_WATCHES));
    const got = { data: [] as string[], exist: [] as string[], child: [] as string[] };
    for (const b of batches) {
      const sw = b.req!.req as {
        dataWatches: string[];
        existWatches: string[];
        childWatches: string[];
        relativeZxid: number;
      };
      assert.equal(sw.relativeZxid, 0x500000007);
      const bytes = [...sw.dataWatches, ...sw.existWatches, ...sw.childWatches].reduce((n, p) => n + p.length, 0);
      assert.ok(bytes < SET_WATCHES_MAX_LENGTH + 300, `batch of ${bytes} bytes`);
      got.data.push(...sw.dataWatches);
      got.exist.push(...sw.existWatches);
      got.child.push(...sw.childWatches);
    }
    assert.deepEqual(got.data.sort(), data.sort());
    assert.deepEqual(got.exist.sort(), exist.sort());
    assert.deepEqual(got.child.sort(), child.sort());
    // All replay happens before anything the application sends.
    const firstApp = reqs.findIndex((r) => r.op === OpCode.exists);
    assert.ok(reqs.slice(0, firstApp).every((r) => r.op !== OpCode.exists));

    // With a persistent watch the replay switches to setWatches2.
    await zk.addWatch('/p', watcher, AddWatchMode.PERSISTENT_RECURSIVE);
    const dropped2 = once(zk, 'disconnected');
    s.dropAll();
    await dropped2;
    await zk.exists('/e/after2');
    const third = s.connections[2]!.requests.filter((r) => r.op === OpCode.setWatches || r.op === OpCode.setWatches2);
    const last = third[third.length - 1]!;
    assert.equal(last.op, OpCode.setWatches2);
    assert.deepEqual((last.req!.req as { persistentRecursiveWatches: string[] }).persistentRecursiveWatches, ['/p']);
  });

  test('requests in flight when the connection drops fail with CONNECTIONLOSS; queued ones wait', async () => {
    const s = await fake({ onRequest: (r) => (r.op === OpCode.getData ? false : undefined) });
    const zk = client(s.connectString);
    await zk.waitForConnected();
    const inflight = zk.getData('/a');
    await until('request reached the server', () => s.requests.some((r) => r.op === OpCode.getData));
    const dropped = once(zk, 'disconnected');
    s.dropAll();
    await assert.rejects(
      inflight,
      (e: unknown) => e instanceof ConnectionLossError && (e as ConnectionLossError).path === '/a',
    );
    await dropped;
    // Issued while disconnected: sent after the reconnect.
    const queued = zk.exists('/b');
    assert.ok(await queued);
  });

  test('per-request timeout and AbortSignal; an aborted queued request is never sent', async () => {
    // A slow server: every answer comes 150 ms late, in order.
    const s = await fake({
      onRequest: (r) => {
        if (r.op !== OpCode.getData && r.op !== OpCode.exists) return;
        setTimeout(() => r.conn.ok(r), 150);
        return true;
      },
    });
    const zk = client(s.connectString);
    await zk.waitForConnected();
    await assert.rejects(zk.getData('/slow', { timeout: 50 }), (e: unknown) => {
      assert.ok(e instanceof RequestTimeoutError);
      assert.equal((e as RequestTimeoutError).code, -122);
      return true;
    });
    const ac = new AbortController();
    const p = zk.getData('/aborted', { signal: ac.signal });
    ac.abort();
    await assert.rejects(p, { name: 'AbortError' });
    // The connection still works after both.
    assert.ok(await zk.exists('/ok'));

    // A request aborted while waiting for a connection never reaches a server.
    const dropped = once(zk, 'disconnected');
    s.dropAll();
    await dropped;
    const ac2 = new AbortController();
    const q = zk.exists('/never-sent', { signal: ac2.signal });
    ac2.abort();
    await assert.rejects(q, { name: 'AbortError' });
    await zk.exists('/after');
    assert.ok(!s.requests.some((r) => (r.req?.req as { path?: string } | null)?.path === '/never-sent'));
  });

  test('backpressure: a stalled server fills the socket, then the bounded queue fails fast', async () => {
    const s = await fake();
    const zk = client(s.connectString, { maxQueuedRequests: 20, sessionTimeout: 30_000 });
    await zk.waitForConnected();
    s.last!.socket.pause();
    const big = Buffer.alloc(256 * 1024, 1);
    const pending: Promise<unknown>[] = [];
    let full: unknown = null;
    for (let i = 0; i < 400 && full === null; i++) {
      const p = zk.setData('/big', big);
      pending.push(
        p.then(
          () => 'ok',
          (e: unknown) => e,
        ),
      );
      // Let the write loop run so the socket can report it is full.
      if (i % 10 === 9) await new Promise((r) => setImmediate(r));
      if (zk.queued >= 20) {
        try {
          await zk.setData('/big', big);
        } catch (e) {
          full = e;
        }
      }
    }
    assert.ok(full instanceof QueueFullError, `expected QueueFullError, got ${String(full)}`);
    assert.equal((full as QueueFullError).code, -127);
    assert.ok(isRetryable(full));
    s.last!.socket.resume();
    const results = await Promise.all(pending);
    assert.ok(results.every((r) => r === 'ok'));
  });

  test('an expired answer on reconnect ends the session: SESSIONEXPIRED for everything', async () => {
    let n = 0;
    const s = await fake({ onConnect: () => (n++ === 0 ? 'accept' : 'expire') });
    const zk = client(s.connectString);
    const seen = states(zk);
    await zk.waitForConnected();
    let queued: Promise<unknown> | null = null;
    // Issued while disconnected, before the expired answer arrives.
    zk.once('disconnected', () => {
      queued = zk.exists('/x').then(
        () => null,
        (e: unknown) => e,
      );
    });
    s.dropAll();
    await until('expired', () => zk.state === 'expired');
    assert.ok((await queued!) instanceof SessionExpiredError);
    assert.equal(zk.state, 'expired');
    await assert.rejects(
      zk.getData('/y'),
      (e: unknown) => e instanceof SessionExpiredError && (e as SessionExpiredError).code === -112,
    );
    assert.deepEqual(seen, ['connected', 'disconnected', 'expired']);
  });

  test('failed authentication is final: state authFailed, calls fail with AUTHFAILED', async () => {
    const s = await fake({ failAuth: ['digest'] });
    const zk = client(s.connectString);
    await zk.waitForConnected();
    await assert.rejects(zk.addAuth('digest', 'bad:creds'), AuthFailedError);
    assert.equal(zk.state, 'authFailed');
    await assert.rejects(zk.exists('/'), AuthFailedError);
  });

  test('a watch event is delivered before the reply to any later request, once per watcher', async () => {
    const s = await fake({
      onRequest: (r) => {
        if (r.op === OpCode.sync) {
          // Reply to sync, an event, then the exists that followed, in one write.
          const next = (): void => {
            const e = r.conn.requests.find((x) => x.op === OpCode.exists && x.xid > r.xid);
            if (!e) {
              setTimeout(next, 5);
              return;
            }
            r.conn.cork();
            r.conn.reply(r.xid, 0, (w) => w.ustring('/'));
            r.conn.event(EventType.NodeDataChanged, '/w', 77);
            r.conn.ok(e);
            r.conn.uncork();
          };
          next();
          return true;
        }
        if (r.op === OpCode.exists && r.xid > 2) return false;
      },
    });
    const zk = client(s.connectString);
    const order: string[] = [];
    let calls = 0;
    const watcher = (ev: { type: number; path: string; zxid: number }): void => {
      calls++;
      order.push(`event ${ev.path} ${ev.zxid}`);
    };
    // The same watcher through two calls on the same path.
    await zk.getData('/w', watcher);
    await zk.exists('/w', watcher);
    const a = zk.sync('/').then(() => order.push('sync reply'));
    const b = zk.exists('/later').then(() => order.push('exists reply'));
    await Promise.all([a, b]);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(order, ['sync reply', 'event /w 77', 'exists reply']);
    assert.equal(calls, 1);
  });
});
