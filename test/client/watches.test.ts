// Watches through synod/client against both servers: one-shot and persistent
// watches as callbacks and as async iterators, removal, and the guarantees
// ZooKeeper gives about them.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  AddWatchMode,
  CreateMode,
  EventType,
  NoWatcherError,
  WatcherType,
  ZooKeeper,
  type WatchedEvent,
} from '../../src/client/index.js';
import { startServer, type ServerHandle } from '../helpers/servers.js';
import { Clients, EventLog, FAST_TICKS, KINDS, kindSkip } from './harness.js';

const brief = (e: WatchedEvent): string => `${e.type} ${e.path}`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

for (const kind of KINDS) {
  describe(`client watches against ${kind}`, { skip: kindSkip(kind) }, () => {
    let server: ServerHandle;
    let zk: ZooKeeper;
    let other: ZooKeeper;
    const clients = new Clients();

    before(async () => {
      server = await startServer(kind, { config: FAST_TICKS });
      zk = await clients.connect(server.connectString);
      other = await clients.connect(server.connectString);
    });

    after(async () => {
      await clients.closeAll();
      await server?.destroy();
    });

    test('one-shot data, exists and child watches fire once with the right event', async () => {
      await zk.create('/w', 'v0');
      const data = new EventLog<WatchedEvent>();
      const created = new EventLog<WatchedEvent>();
      const child = new EventLog<WatchedEvent>();
      await zk.getData('/w', data.push);
      assert.equal(await zk.exists('/w/new', created.push), null);
      await zk.getChildren('/w', child.push);

      await other.setData('/w', 'v1');
      await other.create('/w/new', null);
      assert.deepEqual((await data.waitFor(1)).map(brief), [`${EventType.NodeDataChanged} /w`]);
      assert.deepEqual((await created.waitFor(1)).map(brief), [`${EventType.NodeCreated} /w/new`]);
      assert.deepEqual((await child.waitFor(1)).map(brief), [`${EventType.NodeChildrenChanged} /w`]);

      // One-shot: further changes do not fire them again.
      await other.setData('/w', 'v2');
      await other.delete('/w/new');
      await zk.sync('/w');
      await sleep(50);
      assert.equal(data.events.length, 1);
      assert.equal(created.events.length, 1);
      assert.equal(child.events.length, 1);
      assert.equal(data.events[0]!.state, 3);
    });

    test('deletion fires data, exists and child watches', async () => {
      await zk.create('/gone', null);
      const log = new EventLog<WatchedEvent>();
      const log2 = new EventLog<WatchedEvent>();
      await zk.getChildren('/gone', log.push);
      await zk.exists('/gone', log2.push);
      await other.delete('/gone');
      assert.deepEqual((await log.waitFor(1)).map(brief), [`${EventType.NodeDeleted} /gone`]);
      assert.deepEqual((await log2.waitFor(1)).map(brief), [`${EventType.NodeDeleted} /gone`]);
    });

    test('one watcher registered through several calls is called once per event', async () => {
      await zk.create('/once', null);
      let calls = 0;
      const w = (): void => {
        calls++;
      };
      const log = new EventLog<WatchedEvent>();
      await zk.getData('/once', w);
      await zk.exists('/once', w);
      await zk.getData('/once', w);
      await zk.getData('/once', log.push);
      await other.setData('/once', 'x');
      await log.waitFor(1);
      await zk.sync('/once');
      await sleep(20);
      assert.equal(calls, 1);
    });

    test('an event reaches the watcher before the reply that follows it', async () => {
      await zk.create('/order', null);
      const order: string[] = [];
      await zk.getData('/order', () => order.push('event'));
      // The server sends the event for this setData before the setData reply.
      await zk.setData('/order', 'x');
      order.push('setData reply');
      assert.deepEqual(order, ['event', 'setData reply']);
    });

    test('persistent watch: fires on every change, including child changes, until removed', async () => {
      await zk.create('/pw', null);
      const log = new EventLog<WatchedEvent>();
      await zk.addWatch('/pw', log.push, AddWatchMode.PERSISTENT);
      await other.setData('/pw', '1');
      await other.setData('/pw', '2');
      await other.create('/pw/kid', null);
      await other.create('/pw/kid/grandkid', null);
      await other.delete('/pw/kid/grandkid');
      await other.setData('/pw', '3');
      const events = (await log.waitFor(4)).map(brief);
      assert.deepEqual(events, [
        `${EventType.NodeDataChanged} /pw`,
        `${EventType.NodeDataChanged} /pw`,
        `${EventType.NodeChildrenChanged} /pw`,
        `${EventType.NodeDataChanged} /pw`,
      ]);
      await zk.removeWatches('/pw', log.push, WatcherType.Persistent);
      const removed = await log.waitFor(5);
      assert.equal(removed[4]!.type, EventType.PersistentWatchRemoved);
      await other.setData('/pw', '4');
      await zk.sync('/pw');
      await sleep(50);
      assert.equal(log.events.length, 5);
    });

    test('recursive watch: the whole subtree, no child-list events', async () => {
      await zk.create('/rw', null);
      const log = new EventLog<WatchedEvent>();
      await zk.addWatch('/rw', log.push);
      await other.create('/rw/a', null);
      await other.create('/rw/a/b', 'x');
      await other.setData('/rw/a/b', 'y');
      await other.delete('/rw/a/b');
      await other.setData('/rw', 'z');
      const events = (await log.waitFor(5)).map(brief);
      assert.deepEqual(events, [
        `${EventType.NodeCreated} /rw/a`,
        `${EventType.NodeCreated} /rw/a/b`,
        `${EventType.NodeDataChanged} /rw/a/b`,
        `${EventType.NodeDeleted} /rw/a/b`,
        `${EventType.NodeDataChanged} /rw`,
      ]);
      await zk.removeAllWatches('/rw', WatcherType.PersistentRecursive);
    });

    test('removeWatches: one watcher, all watchers, local removal, NoWatcher', async () => {
      await zk.create('/rm', null);
      const a = new EventLog<WatchedEvent>();
      const b = new EventLog<WatchedEvent>();
      await zk.getData('/rm', a.push);
      await zk.getData('/rm', b.push);
      // Removing one watcher keeps the server's watch for the other.
      await zk.removeWatches('/rm', a.push, WatcherType.Data);
      assert.deepEqual((await a.waitFor(1)).map(brief), [`${EventType.DataWatchRemoved} /rm`]);
      await other.setData('/rm', 'x');
      assert.deepEqual((await b.waitFor(1)).map(brief), [`${EventType.NodeDataChanged} /rm`]);
      assert.equal(a.events.length, 1);

      await assert.rejects(zk.removeWatches('/rm', a.push, WatcherType.Data), NoWatcherError);
      await assert.rejects(zk.removeAllWatches('/rm', WatcherType.Children), (e: unknown) => {
        assert.ok(e instanceof NoWatcherError);
        assert.equal(e.code, -121);
        assert.equal(e.path, '/rm');
        return true;
      });

      const c = new EventLog<WatchedEvent>();
      await zk.getChildren('/rm', c.push);
      await zk.exists('/rm', c.push);
      await zk.removeAllWatches('/rm', WatcherType.Any);
      const kinds = (await c.waitFor(2)).map((e) => e.type).sort();
      assert.deepEqual(kinds, [EventType.DataWatchRemoved, EventType.ChildWatchRemoved].sort());
      await other.create('/rm/kid', null);
      await other.setData('/rm', 'y');
      await zk.sync('/rm');
      await sleep(50);
      assert.equal(c.events.length, 2);

      const d = new EventLog<WatchedEvent>();
      await zk.getData('/rm', d.push);
      await zk.removeWatches('/rm', d.push, WatcherType.Data, { local: true });
      assert.equal((await d.waitFor(1))[0]!.type, EventType.DataWatchRemoved);
    });

    test('watchData iterator: snapshots through create, change and delete', async () => {
      const it = zk.watchData('/it-data');
      const first = await it.next();
      assert.equal(first.done, false);
      assert.equal(first.value!.data, null);
      assert.equal(first.value!.event, null);
      await other.create('/it-data', 'a');
      const second = (await it.next()).value!;
      assert.equal(second.event!.type, EventType.NodeCreated);
      assert.equal(second.data!.toString(), 'a');
      await other.setData('/it-data', 'b');
      const third = (await it.next()).value!;
      assert.equal(third.event!.type, EventType.NodeDataChanged);
      assert.equal(third.data!.toString(), 'b');
      assert.equal(third.stat!.version, 1);
      await other.delete('/it-data');
      const fourth = (await it.next()).value!;
      assert.equal(fourth.event!.type, EventType.NodeDeleted);
      assert.equal(fourth.stat, null);
      assert.deepEqual(await it.return(), { done: true, value: undefined });
      assert.equal((await it.next()).done, true);
    });

    test('for await over watchChildren', async () => {
      await zk.create('/it-kids', null);
      const seen: string[][] = [];
      let started: () => void = () => {};
      const firstRead = new Promise<void>((r) => (started = r));
      const loop = (async () => {
        for await (const snap of zk.watchChildren('/it-kids')) {
          seen.push((snap.children ?? []).slice().sort());
          started();
          if (snap.children?.length === 3) break;
        }
      })();
      await firstRead;
      for (const k of ['a', 'b', 'c']) {
        await other.create(`/it-kids/${k}`, null);
        await sleep(30);
      }
      await loop;
      assert.deepEqual(seen[0], []);
      assert.deepEqual(seen[seen.length - 1], ['a', 'b', 'c']);
      // The loop's watcher is gone after break.
      assert.equal(hasWatch(zk, '/it-kids'), false);
    });

    test('watchEvents: a recursive watch as an async iterator; break removes it', async () => {
      await zk.create('/it-ev', null);
      const got: string[] = [];
      const ac = new AbortController();
      const loop = (async () => {
        for await (const ev of zk.watchEvents('/it-ev', { signal: ac.signal })) {
          got.push(brief(ev));
          if (got.length === 3) break;
        }
      })();
      // Wait until the watch is in place.
      for (let i = 0; i < 500 && !hasWatch(zk, '/it-ev'); i++) await sleep(10);
      assert.deepEqual(zk.watchedPaths().persistentRecursive, ['/it-ev']);
      await other.create('/it-ev/x', null);
      await other.setData('/it-ev/x', '1');
      await other.delete('/it-ev/x');
      await loop;
      assert.deepEqual(got, [
        `${EventType.NodeCreated} /it-ev/x`,
        `${EventType.NodeDataChanged} /it-ev/x`,
        `${EventType.NodeDeleted} /it-ev/x`,
      ]);
      assert.equal(hasWatch(zk, '/it-ev'), false);
      ac.abort();
    });

    test('an aborted iterator rejects its pending next() with the abort reason', async () => {
      const ac = new AbortController();
      const it = zk.watchData('/it-abort', { signal: ac.signal });
      await it.next();
      const pending = it.next();
      ac.abort();
      await assert.rejects(pending, { name: 'AbortError' });
    });

    test('watchers see paths without the chroot', async () => {
      await zk.create('/cr', null);
      const c = await clients.connect(`${server.connectString}/cr`);
      const log = new EventLog<WatchedEvent>();
      await c.exists('/n', log.push);
      await c.addWatch('/', log.push, AddWatchMode.PERSISTENT_RECURSIVE);
      await other.create('/cr/n', null);
      const events = await log.waitFor(1);
      assert.deepEqual(events.map(brief), [`${EventType.NodeCreated} /n`]);
    });

    test('ephemeral deletion on another session’s close fires watches', async () => {
      const c = await ZooKeeper.connect(server.connectString, { sessionTimeout: 10_000 });
      await c.create('/eph-watch', null, { mode: CreateMode.EPHEMERAL });
      const log = new EventLog<WatchedEvent>();
      await zk.exists('/eph-watch', log.push);
      await c.close();
      assert.deepEqual((await log.waitFor(1)).map(brief), [`${EventType.NodeDeleted} /eph-watch`]);
    });
  });
}

function hasWatch(zk: ZooKeeper, path: string): boolean {
  return Object.values(zk.watchedPaths()).some((paths: string[]) => paths.includes(path));
}
