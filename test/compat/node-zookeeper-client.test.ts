// node-zookeeper-client (the npm client) against a real server process.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { startTarget, suiteSkip, target, type ServerHandle } from '../helpers/servers.js';
import { ZkClient, expectCode, long, watchOnce, zookeeper } from '../helpers/zkclient.js';

const { CreateMode, Exception, Event, ACL, Id, Permission } = zookeeper;

describe(`node-zookeeper-client against ${target()}`, { skip: suiteSkip() }, () => {
  let server: ServerHandle;
  let zk: ZkClient;
  const others: ZkClient[] = [];

  const connect = async (): Promise<ZkClient> => {
    const c = await ZkClient.connect(server.connectString);
    others.push(c);
    return c;
  };

  before(async () => {
    server = await startTarget();
    zk = await ZkClient.connect(server.connectString);
  });

  after(async () => {
    for (const c of [zk, ...others]) await c?.close();
    await server?.destroy();
  });

  test('create persistent, ephemeral and sequential nodes', async () => {
    assert.equal(await zk.create('/p', 'persistent'), '/p');
    assert.equal(await zk.create('/p/eph', 'e', CreateMode.EPHEMERAL), '/p/eph');
    const s1 = await zk.create('/p/seq-', 's', CreateMode.PERSISTENT_SEQUENTIAL);
    const s2 = await zk.create('/p/seq-', 's', CreateMode.PERSISTENT_SEQUENTIAL);
    const s3 = await zk.create('/p/eseq-', null, CreateMode.EPHEMERAL_SEQUENTIAL);
    assert.match(s1, /^\/p\/seq-\d{10}$/);
    assert.match(s2, /^\/p\/seq-\d{10}$/);
    assert.match(s3, /^\/p\/eseq-\d{10}$/);
    // The counter is the parent's cversion, so it counts every child created under /p.
    assert.ok(Number(s2.slice(-10)) > Number(s1.slice(-10)), `${s2} should sort after ${s1}`);
    assert.ok(Number(s3.slice(-10)) > Number(s2.slice(-10)));

    const eph = await zk.exists('/p/eph');
    assert.ok(eph);
    assert.equal(long(eph.ephemeralOwner).toString(16).padStart(16, '0'), zk.sessionId);
    const pers = await zk.exists('/p');
    assert.ok(pers);
    assert.equal(long(pers.ephemeralOwner), 0n);
    assert.equal(pers.numChildren, 4);

    await expectCode(zk.create('/p', 'again'), Exception.NODE_EXISTS, 'create existing');
    await expectCode(zk.create('/missing/child'), Exception.NO_NODE, 'create under missing parent');
    await expectCode(zk.create('/p/eph/child'), Exception.NO_CHILDREN_FOR_EPHEMERALS, 'child of ephemeral');
  });

  test('getData and setData with versions', async () => {
    await zk.create('/v', 'one');
    const first = await zk.getData('/v');
    assert.equal(first.data?.toString(), 'one');
    assert.equal(first.stat.version, 0);
    assert.equal(first.stat.dataLength, 3);
    assert.deepEqual(first.stat.czxid, first.stat.mzxid);

    const st = await zk.setData('/v', 'two', 0);
    assert.equal(st.version, 1);
    assert.equal(st.dataLength, 3);
    assert.ok(long(st.mzxid) > long(st.czxid), 'mzxid moves on set');
    await expectCode(zk.setData('/v', 'stale', 0), Exception.BAD_VERSION, 'setData with stale version');
    assert.equal((await zk.setData('/v', 'three', -1)).version, 2);
    assert.equal((await zk.getData('/v')).data?.toString(), 'three');

    await zk.setData('/v', Buffer.alloc(0));
    const empty = await zk.getData('/v');
    assert.equal(empty.stat.dataLength, 0);
    assert.ok(!empty.data || empty.data.length === 0);

    await expectCode(zk.remove('/v', 0), Exception.BAD_VERSION, 'delete with stale version');
    await zk.remove('/v', 3);
    await expectCode(zk.getData('/v'), Exception.NO_NODE, 'getData after delete');
    await expectCode(zk.setData('/v', 'x'), Exception.NO_NODE, 'setData missing');
  });

  test('exists and getChildren', async () => {
    assert.equal(await zk.exists('/nope'), null);
    await zk.create('/kids');
    for (const k of ['a', 'b', 'c']) await zk.create(`/kids/${k}`, k);
    const { children, stat } = await zk.getChildren('/kids');
    assert.deepEqual([...children].sort(), ['a', 'b', 'c']);
    assert.equal(stat.numChildren, 3);
    assert.equal(stat.cversion, 3);
    const root = await zk.getChildren('/');
    assert.ok(root.children.includes('kids'));
    assert.ok(root.children.includes('zookeeper'), 'the /zookeeper system node is listed at the root');
  });

  test('watches: children, data, deleted, created', async () => {
    await zk.create('/w');
    await zk.create('/w/x', 'x');
    const other = await connect();

    const child = watchOnce();
    await zk.getChildren('/w', child.watcher);
    await other.create('/w/y');
    const ce = await child.event;
    assert.equal(ce.getType(), Event.NODE_CHILDREN_CHANGED);
    assert.equal(ce.getPath(), '/w');

    const data = watchOnce();
    await zk.getData('/w/x', data.watcher);
    await other.setData('/w/x', 'changed');
    const de = await data.event;
    assert.equal(de.getType(), Event.NODE_DATA_CHANGED);
    assert.equal(de.getPath(), '/w/x');

    const del = watchOnce();
    await zk.getData('/w/x', del.watcher);
    await other.remove('/w/x');
    const dd = await del.event;
    assert.equal(dd.getType(), Event.NODE_DELETED);
    assert.equal(dd.getPath(), '/w/x');

    const created = watchOnce();
    assert.equal(await zk.exists('/w/later', created.watcher), null);
    await other.create('/w/later', 'hi');
    const cr = await created.event;
    assert.equal(cr.getType(), Event.NODE_CREATED);
    assert.equal(cr.getPath(), '/w/later');

    // A watch on an existing node set by exists() fires on change, once.
    const ex = watchOnce();
    assert.ok(await zk.exists('/w/later', ex.watcher));
    await other.setData('/w/later', 'again');
    assert.equal((await ex.event).getType(), Event.NODE_DATA_CHANGED);
  });

  test('delete errors: NOTEMPTY and NONODE', async () => {
    await zk.create('/d');
    await zk.create('/d/child');
    await expectCode(zk.remove('/d'), Exception.NOT_EMPTY, 'delete non-empty');
    await expectCode(zk.remove('/d/none'), Exception.NO_NODE, 'delete missing');
    await zk.remove('/d/child');
    await zk.remove('/d');
    assert.equal(await zk.exists('/d'), null);
  });

  test('multi: all ops apply together', async () => {
    await zk.create('/t', 'base');
    const results = await zk.commit((t) =>
      t
        .create('/t/a', Buffer.from('a'))
        .create('/t/b', Buffer.from('b'), zookeeper.ACL.OPEN_ACL_UNSAFE, CreateMode.EPHEMERAL)
        .check('/t', 0)
        .setData('/t', Buffer.from('next'), 0)
        .remove('/t/a', -1),
    );
    assert.equal(results.length, 5);
    assert.equal(results[0]!.path, '/t/a');
    assert.equal(results[1]!.path, '/t/b');
    assert.equal(results[3]!.stat?.version, 1);
    assert.equal((await zk.getData('/t')).data?.toString(), 'next');
    assert.equal(await zk.exists('/t/a'), null);
    assert.ok(await zk.exists('/t/b'));
  });

  test('multi: one failing op rolls back the rest', async () => {
    await zk.create('/tf', 'base');
    let failure: unknown;
    try {
      await zk.commit((t) => t.create('/tf/new').setData('/tf', Buffer.from('x'), -1).check('/tf', 42));
    } catch (e) {
      failure = e;
    }
    assert.ok(failure, 'the multi should fail');
    assert.equal((failure as { getCode(): number }).getCode(), Exception.BAD_VERSION);
    const results = (failure as { results?: { err?: number }[] }).results ?? [];
    assert.equal(results.length, 3);
    // Ops before the failing one report OK, the failing one its own code.
    assert.deepEqual(
      results.map((r) => r.err),
      [Exception.OK, Exception.OK, Exception.BAD_VERSION],
    );
    assert.equal(await zk.exists('/tf/new'), null);
    const st = await zk.getData('/tf');
    assert.equal(st.data?.toString(), 'base');
    assert.equal(st.stat.version, 0);

    await expectCode(
      zk.commit((t) => t.create('/tf/ok').create('/tf/ok')),
      Exception.NODE_EXISTS,
      'multi creating the same node twice',
    );
    assert.equal(await zk.exists('/tf/ok'), null);
  });

  test('ACLs with digest auth', async () => {
    const owner = await connect();
    owner.addAuth('digest', 'alice:secret');
    await owner.create('/secure', 'hidden', CreateMode.PERSISTENT, zookeeper.ACL.CREATOR_ALL_ACL);

    const { acls } = await owner.getACL('/secure');
    const digest = createHash('sha1').update('alice:secret').digest('base64');
    assert.equal(acls.length, 1);
    assert.equal(acls[0]!.id.scheme, 'digest');
    assert.equal(acls[0]!.id.id, `alice:${digest}`);
    assert.equal(acls[0]!.permission, Permission.ALL);

    const stranger = await connect();
    await expectCode(stranger.getData('/secure'), Exception.NO_AUTH, 'read without auth');
    await expectCode(stranger.setData('/secure', 'x'), Exception.NO_AUTH, 'write without auth');
    // exists checks READ since ZooKeeper 3.9.2/3.8.4 (ZOOKEEPER-2590); Synod follows
    // 3.9, Debian's 3.8.0 predates the check.
    if (target() === 'synod') await expectCode(stranger.exists('/secure'), Exception.NO_AUTH, 'exists without auth');
    else assert.ok(await stranger.exists('/secure'));

    const friend = await connect();
    friend.addAuth('digest', 'alice:secret');
    assert.equal((await friend.getData('/secure')).data?.toString(), 'hidden');

    const wrong = await connect();
    wrong.addAuth('digest', 'alice:wrong');
    await expectCode(wrong.getData('/secure'), Exception.NO_AUTH, 'read with the wrong password');

    // Read-only for the world, everything for alice.
    const mixed = [
      new ACL(Permission.READ, Id.ANYONE_ID_UNSAFE),
      new ACL(Permission.ALL, new Id('digest', `alice:${digest}`)),
    ];
    await owner.create('/shared', 'open');
    const st = await owner.setACL('/shared', mixed, 0);
    assert.equal(st.aversion, 1);
    assert.equal((await stranger.getData('/shared')).data?.toString(), 'open');
    await expectCode(stranger.setData('/shared', 'nope'), Exception.NO_AUTH, 'write to read-only node');
    await expectCode(stranger.create('/shared/kid'), Exception.NO_AUTH, 'create under read-only node');
    await owner.setData('/shared', 'changed');
    await expectCode(owner.setACL('/shared', mixed, 0), Exception.BAD_VERSION, 'setACL with stale aversion');
  });

  test('closing a session removes its ephemerals', async () => {
    await zk.create('/sess');
    const temp = await ZkClient.connect(server.connectString);
    await temp.create('/sess/mine', 'e', CreateMode.EPHEMERAL);
    await temp.create('/sess/seq-', 'e', CreateMode.EPHEMERAL_SEQUENTIAL);
    const gone = watchOnce();
    assert.ok(await zk.exists('/sess/mine', gone.watcher));
    await temp.close();
    const ev = await gone.event;
    assert.equal(ev.getType(), Event.NODE_DELETED);
    assert.deepEqual((await zk.getChildren('/sess')).children, []);
  });

  test('session survives kill -9 and restart of the server', async () => {
    const c = await ZkClient.connect(server.connectString, { sessionTimeout: 30_000 });
    const before = c.sessionId;
    await c.create('/survivor', 'data', CreateMode.EPHEMERAL);
    await c.create('/durable', 'kept');

    const reconnected = c.waitConnected(60_000);
    await server.kill9();
    await server.start();
    await reconnected;

    assert.equal(c.sessionId, before, 'the client resumed its session rather than starting a new one');
    const st = await c.exists('/survivor');
    assert.ok(st, 'the ephemeral outlived the crash because its session did');
    assert.equal(long(st.ephemeralOwner).toString(16).padStart(16, '0'), before);
    assert.equal((await c.getData('/durable')).data?.toString(), 'kept');
    await c.setData('/durable', 'still writable');

    // The long-lived client from before() reconnects too.
    assert.equal((await zk.getData('/durable')).data?.toString(), 'still writable');
    await c.close();
    assert.equal(await zk.exists('/survivor'), null);
  });
});
