// Sessions across failures, against both servers: connection loss through a
// cuttable proxy, kill -9 and restart, expiry, several hosts with a chroot,
// a server behind the client's lastZxidSeen, credentials after reconnect.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  ConnectionLossError,
  CreateMode,
  EventType,
  Perms,
  SessionExpiredError,
  ZooKeeper,
  digestAcl,
  isRetryable,
  type SessionState,
  type WatchedEvent,
} from '../../src/client/index.js';
import { startServer, type ServerHandle } from '../helpers/servers.js';
import { Clients, EventLog, FAST_TICKS, KINDS, Proxy, deadPort, kindSkip, until } from './harness.js';

const brief = (e: WatchedEvent): string => `${e.type} ${e.path}`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function recordStates(zk: ZooKeeper): SessionState[] {
  const seen: SessionState[] = [];
  zk.on('state', (s) => seen.push(s));
  return seen;
}

for (const kind of KINDS) {
  describe(`client sessions against ${kind}`, { skip: kindSkip(kind) }, () => {
    let server: ServerHandle;
    const extra: ServerHandle[] = [];
    const proxies: Proxy[] = [];
    const clients = new Clients();

    const proxy = async (): Promise<Proxy> => {
      const p = await new Proxy(server.port).start();
      proxies.push(p);
      return p;
    };

    before(async () => {
      server = await startServer(kind, { config: FAST_TICKS });
    });

    after(async () => {
      await clients.closeAll();
      for (const p of proxies) await p.stop();
      for (const s of extra) await s.destroy();
      await server?.destroy();
    });

    test('kill -9 and restart within the session timeout: session, ephemerals and watches survive', async () => {
      const zk = await clients.connect(server.connectString, { sessionTimeout: 20_000 });
      const other = await clients.connect(server.connectString, { sessionTimeout: 20_000 });
      await zk.create('/k9', 'v0');
      await zk.create('/k9/eph', null, { mode: CreateMode.EPHEMERAL });
      const data = new EventLog<WatchedEvent>();
      const kids = new EventLog<WatchedEvent>();
      await zk.getData('/k9', data.push);
      await zk.getChildren('/k9', kids.push);
      const sid = zk.sessionId;
      const states = recordStates(zk);

      await server.kill9();
      await until('disconnected', () => zk.state === 'disconnected');
      await assert.rejects(zk.exists('/k9', { timeout: 100 }), (e: unknown) => isRetryable(e));
      await server.start();
      await zk.waitForConnected({ timeout: 20_000 });
      await other.waitForConnected({ timeout: 20_000 });

      assert.equal(zk.sessionId, sid);
      assert.deepEqual(states, ['disconnected', 'connected']);
      assert.equal((await other.exists('/k9/eph'))!.ephemeralOwner, sid);
      await other.setData('/k9', 'v1');
      await other.create('/k9/new', null);
      assert.deepEqual((await data.waitFor(1)).map(brief), [`${EventType.NodeDataChanged} /k9`]);
      assert.deepEqual((await kids.waitFor(1)).map(brief), [`${EventType.NodeChildrenChanged} /k9`]);
    });

    test('watches that fire while disconnected are delivered after reconnect (setWatches)', async () => {
      const p = await proxy();
      const a = await clients.connect(p.connectString, { sessionTimeout: 20_000 });
      const b = await clients.connect(server.connectString, { sessionTimeout: 20_000 });
      await b.create('/sw', 'v0');
      await b.create('/sw/old', null);
      const data = new EventLog<WatchedEvent>();
      const created = new EventLog<WatchedEvent>();
      const kids = new EventLog<WatchedEvent>();
      const deleted = new EventLog<WatchedEvent>();
      const unchanged = new EventLog<WatchedEvent>();
      await b.create('/sw/same', null);
      await a.getData('/sw', data.push);
      assert.equal(await a.exists('/sw/new', created.push), null);
      await a.getChildren('/sw', kids.push);
      await a.exists('/sw/old', deleted.push);
      await a.getData('/sw/same', unchanged.push);

      p.cut();
      await until('a disconnected', () => a.state === 'disconnected');
      // The server itself goes down and comes back while the client is cut off.
      await server.kill9();
      await server.start();
      await b.waitForConnected({ timeout: 20_000 });
      await b.setData('/sw', 'v1');
      await b.create('/sw/new', null);
      await b.delete('/sw/old');
      assert.equal(data.events.length + created.events.length + kids.events.length + deleted.events.length, 0);
      p.heal();

      await a.waitForConnected({ timeout: 20_000 });
      assert.deepEqual((await data.waitFor(1)).map(brief), [`${EventType.NodeDataChanged} /sw`]);
      assert.deepEqual((await created.waitFor(1)).map(brief), [`${EventType.NodeCreated} /sw/new`]);
      assert.deepEqual((await kids.waitFor(1)).map(brief), [`${EventType.NodeChildrenChanged} /sw`]);
      assert.deepEqual((await deleted.waitFor(1)).map(brief), [`${EventType.NodeDeleted} /sw/old`]);
      // A watch whose node did not change is re-registered, not fired.
      assert.equal(unchanged.events.length, 0);
      assert.deepEqual(a.watchedPaths().data, ['/sw/same']);
      await b.setData('/sw/same', 'x');
      assert.deepEqual((await unchanged.waitFor(1)).map(brief), [`${EventType.NodeDataChanged} /sw/same`]);
    });

    test('persistent watches are re-registered after a reconnect', async () => {
      const p = await proxy();
      const a = await clients.connect(p.connectString, { sessionTimeout: 20_000 });
      const b = await clients.connect(server.connectString);
      await b.create('/pr', null);
      const log = new EventLog<WatchedEvent>();
      await a.addWatch('/pr', log.push);
      p.cut();
      await until('a disconnected', () => a.state === 'disconnected');
      p.heal();
      await a.waitForConnected({ timeout: 20_000 });
      await a.sync('/');
      await b.create('/pr/x', null);
      await b.setData('/pr/x', 'y');
      assert.deepEqual((await log.waitFor(2)).map(brief), [
        `${EventType.NodeCreated} /pr/x`,
        `${EventType.NodeDataChanged} /pr/x`,
      ]);
    });

    test('requests in flight when the connection drops fail with CONNECTIONLOSS; the session carries on', async () => {
      const p = await proxy();
      const a = await clients.connect(p.connectString, { sessionTimeout: 20_000 });
      await a.create('/fl', null);
      const ps: Promise<unknown>[] = [];
      for (let i = 0; i < 500; i++) {
        ps.push(
          a.create('/fl/n-', null, { mode: CreateMode.PERSISTENT_SEQUENTIAL }).then(
            () => 'ok',
            (e: unknown) => e,
          ),
        );
      }
      // Cut once the batch is on the wire, most of it still unanswered.
      await new Promise((r) => setImmediate(r));
      p.cut();
      const results = await Promise.all(ps);
      const lost = results.filter((r) => r instanceof ConnectionLossError);
      // Replies need another turn of the event loop, so most of them were still due.
      assert.ok(lost.length > 0, 'some requests were in flight at the cut');
      assert.ok(results.every((r) => r === 'ok' || (r instanceof ConnectionLossError && isRetryable(r))));
      p.heal();
      await a.waitForConnected({ timeout: 20_000 });
      // A lost create may or may not have been applied; the answered ones were.
      const n = await a.getAllChildrenNumber('/fl');
      assert.ok(n >= results.length - lost.length && n <= results.length, `${n} children`);
    });

    test('credentials are sent again after a reconnect', async () => {
      const p = await proxy();
      const a = await clients.connect(p.connectString, { sessionTimeout: 20_000 });
      await a.addAuth('digest', 'carol:pw');
      await a.create('/authz', 'secret', { acl: [digestAcl('carol', 'pw', Perms.ALL)] });
      p.cut();
      await until('a disconnected', () => a.state === 'disconnected');
      p.heal();
      await a.waitForConnected({ timeout: 20_000 });
      assert.equal((await a.getData('/authz')).data!.toString(), 'secret');
      assert.ok((await a.whoAmI()).some((c) => c.authScheme === 'digest' && c.user === 'carol'));
    });

    test('expiry: cut off longer than the session timeout → expired, SESSIONEXPIRED for everything', async () => {
      const p = await proxy();
      const a = await clients.connect(p.connectString, { sessionTimeout: 2000 });
      const b = await clients.connect(server.connectString);
      await a.create('/exp', null, { mode: CreateMode.EPHEMERAL });
      const states = recordStates(a);
      const it = a.watchData('/exp');
      await it.next();
      const pendingSnapshot = it.next().then(
        () => null,
        (e: unknown) => e,
      );
      p.cut();
      await until('a disconnected', () => a.state === 'disconnected');
      const queued = a.getData('/').then(
        () => null,
        (e: unknown) => e,
      );
      // The server expires the session: its ephemeral goes.
      await until('session expired on the server', async () => (await b.exists('/exp')) === null, 30_000);
      p.heal();
      await until('expired', () => a.state === 'expired', 20_000);
      assert.deepEqual(states, ['disconnected', 'expired']);
      assert.ok((await queued) instanceof SessionExpiredError);
      assert.ok((await pendingSnapshot) instanceof SessionExpiredError);
      await assert.rejects(a.create('/after', null), (e: unknown) => {
        assert.ok(e instanceof SessionExpiredError);
        assert.equal(e.code, -112);
        assert.equal(isRetryable(e), false);
        return true;
      });
      // A new client is the way on.
      const fresh = await clients.connect(p.connectString);
      assert.notEqual(fresh.sessionId, a.sessionId);
    });

    test('server down longer than the session timeout: the restarted server re-arms the session', async () => {
      // Both ZooKeeper and Synod restart session timers when they load their
      // state, so a client that comes back promptly keeps its session.
      const a = await clients.connect(server.connectString, { sessionTimeout: 2000 });
      await a.create('/down', null, { mode: CreateMode.EPHEMERAL });
      const sid = a.sessionId;
      await server.kill9();
      await sleep(3000);
      await server.start();
      await a.waitForConnected({ timeout: 20_000 });
      assert.equal(a.sessionId, sid);
      assert.equal((await a.exists('/down'))!.ephemeralOwner, sid);
    });

    test('several hosts and a chroot: a dead host is skipped, paths stay relative', async () => {
      const boot = await clients.connect(server.connectString);
      await boot.create('/ch', null);
      const dead = await deadPort();
      // random() = 0.99 keeps the listed order: the dead host comes first.
      const zk = await clients.connect(`127.0.0.1:${dead},${server.connectString}/ch`, { random: () => 0.99 });
      assert.equal(zk.hosts[0]!.port, dead);
      assert.equal(zk.connectedTo!.port, server.port);
      assert.equal((await zk.create('/x', 'y')).path, '/x');
      assert.equal((await boot.getData('/ch/x')).data!.toString(), 'y');
      // random() = 0 reverses two hosts.
      const z2 = await clients.connect(`127.0.0.1:${dead},${server.connectString}/ch`, { random: () => 0 });
      assert.equal(z2.hosts[0]!.port, server.port);
    });

    test('a server behind the zxid the client has seen is never used', async () => {
      const behind = await startServer(kind, { config: FAST_TICKS });
      extra.push(behind);
      const toBehind = await new Proxy(behind.port).start();
      proxies.push(toBehind);
      const a = await clients.connect(`${server.connectString},${toBehind.connectString}`, {
        sessionTimeout: 20_000,
        random: () => 0.99,
      });
      assert.equal(a.connectedTo!.port, server.port);
      await a.create('/ahead', null);
      for (let i = 0; i < 20; i++) await a.setData('/ahead', String(i));
      const sid = a.sessionId;
      const connectedTo: number[] = [];
      a.on('connected', () => connectedTo.push(a.connectedTo!.port));

      await server.kill9();
      // The client tries the fresh server, which refuses it for being behind.
      await until('tried the server that is behind', () => toBehind.accepted >= 3, 20_000);
      assert.equal(a.state, 'disconnected');
      await server.start();
      await a.waitForConnected({ timeout: 20_000 });
      assert.equal(a.sessionId, sid);
      assert.deepEqual(connectedTo, [server.port]);
      assert.equal((await a.getData('/ahead')).data!.toString(), '19');
    });
  });
}
