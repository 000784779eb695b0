// The pure parts of synod/client: connection strings, host order, path rules,
// error classes, watch bookkeeping and setWatches batching. No server needed.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { Err } from '../../src/jute/constants.js';
import {
  AuthFailedError,
  BadArgumentsError,
  ClientClosedError,
  ConnectionLossError,
  EventType,
  NoNodeError,
  QueueFullError,
  SessionExpiredError,
  SessionMovedError,
  ThrottledOpError,
  WatcherType,
  ZooKeeper,
  ZooKeeperError,
  createError,
  digestAcl,
  digestId,
  isRetryable,
  parseConnectString,
} from '../../src/client/index.js';
import { HostProvider, prependChroot, stripChroot, validatePath } from '../../src/client/hosts.js';
import { SET_WATCHES_MAX_LENGTH, WatchKind, WatchManager } from '../../src/client/watches.js';

describe('connection strings', () => {
  test('hosts, default port, chroot, IPv6', () => {
    assert.deepEqual(parseConnectString('h1:2181,h2:2182/app'), {
      hosts: [
        { host: 'h1', port: 2181 },
        { host: 'h2', port: 2182 },
      ],
      chroot: '/app',
    });
    assert.deepEqual(parseConnectString(' zk ').hosts, [{ host: 'zk', port: 2181 }]);
    assert.equal(parseConnectString('zk:1/').chroot, null);
    assert.equal(parseConnectString('zk:1/a/b').chroot, '/a/b');
    assert.deepEqual(parseConnectString('[::1]:2281,[fe80::1]').hosts, [
      { host: '::1', port: 2281 },
      { host: 'fe80::1', port: 2181 },
    ]);
    assert.deepEqual(parseConnectString('a:1, ,b:2').hosts.length, 2);
  });

  test('bad strings are BadArgumentsError', () => {
    for (const bad of ['', '/app', 'h:0', 'h:65536', 'h:x', 'h:1/a/', 'h:1/a//b', '[::1']) {
      assert.throws(() => parseConnectString(bad), BadArgumentsError, bad);
    }
    assert.throws(() => new ZooKeeper(''), BadArgumentsError);
  });
});

describe('host order', () => {
  const hosts = [1, 2, 3, 4].map((port) => ({ host: 'h', port }));

  test('shuffled by the injected random source, then round robin', () => {
    const keep = new HostProvider(hosts, () => 0.999);
    assert.deepEqual(
      keep.hosts.map((h) => h.port),
      [1, 2, 3, 4],
    );
    const rev = new HostProvider(hosts, () => 0);
    assert.deepEqual(
      rev.hosts.map((h) => h.port),
      [2, 3, 4, 1],
    );
    const seq = [0.5, 0.1, 0.9];
    const a = new HostProvider(hosts, () => seq.shift() ?? 0);
    const seq2 = [0.5, 0.1, 0.9];
    const b = new HostProvider(hosts, () => seq2.shift() ?? 0);
    assert.deepEqual(a.hosts, b.hosts, 'same random sequence, same order');
  });

  test('a full round without success asks for a back-off; a success resets the round', () => {
    const p = new HostProvider(hosts, () => 0.999);
    const rounds = Array.from({ length: 9 }, () => p.next()).map((n) => `${n.host.port}${n.roundDone ? '!' : ''}`);
    assert.deepEqual(rounds, ['1', '2', '3', '4', '1!', '2', '3', '4', '1!']);
    p.onConnected();
    assert.equal(p.next().roundDone, false);
    p.preferNext(hosts[3]!);
    assert.equal(p.next().host.port, 4);
  });
});

describe('paths', () => {
  test('validatePath follows ZooKeeper PathUtils', () => {
    for (const ok of ['/', '/a', '/a/b', '/a.b', '/..a', '/a b', '/zookeeper/config', '/ü']) validatePath(ok);
    for (const bad of [
      '',
      'a',
      '/a/',
      '//',
      '/a//b',
      '/.',
      '/a/./b',
      '/a/..',
      '/a\u0000',
      '/a\u0007',
      '/\ud83d\ude00',
    ]) {
      assert.throws(() => validatePath(bad), BadArgumentsError, JSON.stringify(bad));
    }
    validatePath('/a/', true);
    validatePath('/a/b-', true);
  });

  test('chroot in and out', () => {
    assert.equal(prependChroot('/app', '/'), '/app');
    assert.equal(prependChroot('/app', '/x'), '/app/x');
    assert.equal(prependChroot(null, '/x'), '/x');
    assert.equal(stripChroot('/app', '/app'), '/');
    assert.equal(stripChroot('/app', '/app/x/y'), '/x/y');
    assert.equal(stripChroot('/app', '/apple'), '/apple');
    assert.equal(stripChroot('/app', '/zookeeper/config'), '/zookeeper/config');
  });
});

describe('errors', () => {
  test('one class per code, with code, codeName and path', () => {
    for (const [name, code] of Object.entries(Err)) {
      if (code === 0) continue;
      const e = createError(code, '/p');
      assert.ok(e instanceof ZooKeeperError);
      assert.ok(e instanceof Error);
      assert.equal(e.code, code);
      assert.equal(e.codeName, name);
      assert.equal(e.path, '/p');
      assert.match(e.message, /^KeeperErrorCode = .+ for \/p$/);
      assert.notEqual(e.constructor, ZooKeeperError, `${name} has its own class`);
    }
    const nonode = createError(-101, '/x');
    assert.ok(nonode instanceof NoNodeError);
    assert.equal(nonode.name, 'NoNodeError');
    assert.equal(new NoNodeError().code, -101);
    assert.equal(createError(-9999).constructor, ZooKeeperError);
    assert.ok(new ClientClosedError() instanceof SessionExpiredError);
    assert.ok(new QueueFullError() instanceof ThrottledOpError);
  });

  test('isRetryable', () => {
    assert.ok(isRetryable(new ConnectionLossError()));
    assert.ok(isRetryable(new SessionMovedError()));
    assert.ok(isRetryable(createError(Err.OPERATIONTIMEOUT)));
    assert.ok(isRetryable(createError(Err.REQUESTTIMEOUT)));
    assert.ok(isRetryable(new QueueFullError()));
    assert.ok(!isRetryable(new SessionExpiredError()));
    assert.ok(!isRetryable(new AuthFailedError()));
    assert.ok(!isRetryable(new NoNodeError()));
    assert.ok(!isRetryable(new Error('x')));
    assert.ok(!isRetryable(null));
  });
});

describe('digest credentials', () => {
  test('user:base64(sha1(user:password))', () => {
    const expected = createHash('sha1').update('bob:pw').digest('base64');
    assert.equal(digestId('bob', 'pw'), `bob:${expected}`);
    assert.deepEqual(digestAcl('bob', 'pw', 31), { perms: 31, id: { scheme: 'digest', id: `bob:${expected}` } });
  });
});

describe('watch bookkeeping', () => {
  const w1 = (): void => {};
  const w2 = (): void => {};

  test('which watchers an event triggers, and which it consumes', () => {
    const m = new WatchManager();
    m.add(WatchKind.data, '/a', w1);
    m.add(WatchKind.exist, '/a', w1);
    m.add(WatchKind.child, '/a', w2);
    m.add(WatchKind.persistent, '/a', w2);
    m.add(WatchKind.recursive, '/', w1);
    assert.deepEqual(m.materialize(EventType.NodeDataChanged, '/a'), new Set([w1, w2]));
    // The one-shot data watches are gone, the persistent and recursive ones stay.
    assert.deepEqual(m.materialize(EventType.NodeDataChanged, '/a'), new Set([w1, w2]));
    assert.equal(m.tables[WatchKind.data].size + m.tables[WatchKind.exist].size, 0);
    assert.deepEqual([...m.materialize(EventType.NodeChildrenChanged, '/a')], [w2]);
    // Recursive watches never see child-list changes.
    assert.deepEqual([...m.materialize(EventType.NodeChildrenChanged, '/b')], []);
    assert.deepEqual([...m.materialize(EventType.NodeCreated, '/b/c/d')], [w1]);
    m.add(WatchKind.child, '/x', w2);
    assert.deepEqual(m.materialize(EventType.NodeDeleted, '/x'), new Set([w1, w2]));
    assert.equal(m.tables[WatchKind.child].has('/x'), false);
  });

  test('removal by type, with the events the removed watchers get', () => {
    const m = new WatchManager();
    m.add(WatchKind.data, '/a', w1);
    m.add(WatchKind.exist, '/a', w2);
    m.add(WatchKind.child, '/a', w1);
    assert.ok(m.contains('/a', w2, WatcherType.Data));
    assert.ok(!m.contains('/a', w2, WatcherType.Children));
    assert.ok(m.othersRemain('/a', w1, WatcherType.Data));
    assert.ok(!m.othersRemain('/a', w1, WatcherType.Children));
    assert.deepEqual(m.remove('/a', w1, WatcherType.Any), [
      [EventType.ChildWatchRemoved, new Set([w1])],
      [EventType.DataWatchRemoved, new Set([w1])],
    ]);
    assert.deepEqual(m.remove('/a', null, WatcherType.Data), [[EventType.DataWatchRemoved, new Set([w2])]]);
    assert.equal(m.size, 0);
  });

  test('setWatches batches: about 128 KiB of paths each; setWatches2 only with persistent watches', () => {
    const m = new WatchManager();
    const long = 'p'.repeat(1000);
    for (let i = 0; i < 300; i++) {
      m.add(WatchKind.data, `/d${long}${i}`, w1);
      m.add(WatchKind.exist, `/e${long}${i}`, w1);
      m.add(WatchKind.child, `/c${long}${i}`, w1);
    }
    const batches = m.setWatchesBatches(42);
    assert.equal(batches.length, 7);
    let total = 0;
    for (const b of batches) {
      assert.equal(b.op, 101);
      assert.equal(b.req.relativeZxid, 42);
      const lens = [...b.req.dataWatches, ...b.req.existWatches, ...b.req.childWatches].map((p) => p.length);
      const bytes = lens.reduce((x, y) => x + y, 0);
      assert.ok(bytes - lens[lens.length - 1]! < SET_WATCHES_MAX_LENGTH, 'only the last path may pass the limit');
      total += lens.length;
    }
    assert.equal(total, 900);
    m.add(WatchKind.recursive, '/r', w2);
    const withPersistent = m.setWatchesBatches(42);
    assert.equal(withPersistent.length, 7);
    assert.deepEqual(
      withPersistent.map((b) => b.op),
      [101, 101, 101, 101, 101, 101, 105],
    );
    assert.deepEqual(withPersistent[6]!.req.persistentRecursiveWatches, ['/r']);
    assert.deepEqual(new WatchManager().setWatchesBatches(1), []);
  });
});
