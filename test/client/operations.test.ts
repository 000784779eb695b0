// Every operation of synod/client against both servers: results, Stats and
// typed errors must be what ZooKeeper's protocol defines, on Synod and on
// Apache ZooKeeper alike.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  BadArgumentsError,
  BadVersionError,
  ClientClosedError,
  CreateMode,
  Ids,
  InvalidACLError,
  NoAuthError,
  NoChildrenForEphemeralsError,
  NoNodeError,
  NodeExistsError,
  NotEmptyError,
  Perms,
  ReconfigDisabledError,
  RuntimeInconsistencyError,
  SessionExpiredError,
  UnimplementedError,
  ZooKeeper,
  ZooKeeperError,
  createError,
  digestAcl,
  isRetryable,
  type Stat,
} from '../../src/client/index.js';
import { startServer, type ServerHandle } from '../helpers/servers.js';
import { Clients, FAST_TICKS, KINDS, kindSkip } from './harness.js';

function code(e: unknown): number | undefined {
  return e instanceof ZooKeeperError ? e.code : undefined;
}

for (const kind of KINDS) {
  describe(`client operations against ${kind}`, { skip: kindSkip(kind) }, () => {
    let server: ServerHandle;
    let zk: ZooKeeper;
    const clients = new Clients();

    before(async () => {
      server = await startServer(kind, { config: FAST_TICKS });
      zk = await clients.connect(server.connectString);
    });

    after(async () => {
      await clients.closeAll();
      await server?.destroy();
    });

    test('create in every mode returns the path and the Stat', async () => {
      const p = await zk.create('/c', 'persistent');
      assert.equal(p.path, '/c');
      assert.equal(p.stat.version, 0);
      assert.equal(p.stat.dataLength, 10);
      assert.equal(p.stat.ephemeralOwner, 0n);
      assert.equal(p.stat.czxid, p.stat.mzxid);
      assert.ok(p.stat.czxid > 0);

      const e = await zk.create('/c/eph', Buffer.from([1, 2, 3]), { mode: CreateMode.EPHEMERAL });
      assert.equal(e.stat.ephemeralOwner, zk.sessionId);
      assert.equal(e.stat.dataLength, 3);

      const s1 = await zk.create('/c/seq-', null, { mode: CreateMode.PERSISTENT_SEQUENTIAL });
      const s2 = await zk.create('/c/eseq-', null, { mode: CreateMode.EPHEMERAL_SEQUENTIAL });
      assert.match(s1.path, /^\/c\/seq-\d{10}$/);
      assert.match(s2.path, /^\/c\/eseq-\d{10}$/);
      assert.equal(s2.stat.ephemeralOwner, zk.sessionId);

      const container = await zk.create('/c/container', null, { mode: CreateMode.CONTAINER });
      assert.equal(container.path, '/c/container');
      // Container and TTL markers live in ephemeralOwner on the server; clients see 0 (DataTree.getClientEphemeralOwner).
      assert.equal((await zk.exists('/c/container'))!.ephemeralOwner, 0n);

      const ttl = await zk.create('/c/ttl', 'x', { mode: CreateMode.PERSISTENT_WITH_TTL, ttl: 60_000 });
      assert.equal(ttl.path, '/c/ttl');
      assert.equal((await zk.exists('/c/ttl'))!.ephemeralOwner, 0n);
      const sttl = await zk.create('/c/sttl-', 'x', { mode: CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL, ttl: 60_000 });
      assert.match(sttl.path, /^\/c\/sttl-\d{10}$/);

      const parent = await zk.exists('/c');
      assert.equal(parent!.numChildren, 6);
    });

    test('create errors are typed: NodeExists, NoNode, NoChildrenForEphemerals, InvalidACL, bad arguments', async () => {
      await zk.create('/ce', null);
      await assert.rejects(zk.create('/ce', null), (e: unknown) => {
        assert.ok(e instanceof NodeExistsError);
        assert.ok(e instanceof ZooKeeperError);
        assert.equal(e.code, -110);
        assert.equal(e.codeName, 'NODEEXISTS');
        assert.equal(e.path, '/ce');
        assert.equal(e.name, 'NodeExistsError');
        assert.equal(isRetryable(e), false);
        return true;
      });
      await assert.rejects(zk.create('/missing/child', null), NoNodeError);
      await zk.create('/ce/e', null, { mode: CreateMode.EPHEMERAL });
      await assert.rejects(zk.create('/ce/e/x', null), NoChildrenForEphemeralsError);
      await assert.rejects(
        zk.create('/ce/a', null, { acl: [{ perms: Perms.ALL, id: { scheme: 'bogus', id: 'x' } }] }),
        InvalidACLError,
      );
      // "auth" means the caller's own identities; without any it is invalid.
      await assert.rejects(zk.create('/ce/b', null, { acl: Ids.CREATOR_ALL_ACL }), InvalidACLError);
      for (const bad of ['', 'x', '/a/', '/a//b', '/a/./b', '/a/../b', '/a\u0000b']) {
        await assert.rejects(zk.create(bad, null), BadArgumentsError, JSON.stringify(bad));
      }
      await assert.rejects(zk.create('/ce/t', null, { mode: CreateMode.PERSISTENT_WITH_TTL }), BadArgumentsError);
      await assert.rejects(zk.create('/ce/t', null, { ttl: 10 }), BadArgumentsError);
      // A sequential prefix may end with a slash.
      assert.match((await zk.create('/ce/', null, { mode: CreateMode.PERSISTENT_SEQUENTIAL })).path, /^\/ce\/\d{10}$/);
    });

    test('getData, setData and versions; null and empty data stay distinct', async () => {
      await zk.create('/d', 'one');
      const g = await zk.getData('/d');
      assert.equal(g.data!.toString(), 'one');
      assert.equal(g.stat.version, 0);
      const s = await zk.setData('/d', 'two', 0);
      assert.equal(s.version, 1);
      assert.ok(s.mzxid > g.stat.mzxid);
      await assert.rejects(zk.setData('/d', 'three', 0), BadVersionError);
      assert.equal((await zk.setData('/d', new Uint8Array([0, 255]))).version, 2);
      assert.deepEqual([...(await zk.getData('/d')).data!], [0, 255]);
      await assert.rejects(zk.getData('/nope'), NoNodeError);
      await assert.rejects(zk.setData('/nope', 'x'), NoNodeError);

      await zk.create('/d/null', null);
      await zk.create('/d/empty', '');
      assert.equal((await zk.getData('/d/null')).data, null);
      assert.equal((await zk.getData('/d/empty')).data!.length, 0);
    });

    test('large data crosses many socket reads intact', async () => {
      const big = Buffer.alloc(900 * 1024);
      for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
      await zk.create('/big', big);
      const [a, b] = await Promise.all([zk.getData('/big'), zk.getData('/big')]);
      assert.ok(a.data!.equals(big));
      assert.ok(b.data!.equals(big));
    });

    test('delete with versions; NotEmpty and NoNode', async () => {
      await zk.create('/del', null);
      await zk.create('/del/child', null);
      await assert.rejects(zk.delete('/del'), NotEmptyError);
      await assert.rejects(zk.delete('/del/child', 5), BadVersionError);
      await zk.delete('/del/child', 0);
      await zk.delete('/del');
      await assert.rejects(zk.delete('/del'), NoNodeError);
    });

    test('exists returns the Stat or null', async () => {
      assert.equal(await zk.exists('/exists-not'), null);
      await zk.create('/exists', 'abc');
      const st = (await zk.exists('/exists')) as Stat;
      assert.equal(st.dataLength, 3);
      assert.equal(st.numChildren, 0);
    });

    test('ACLs: getACL, setACL with aversion, digest auth, NoAuth', async () => {
      const acl = [digestAcl('alice', 'secret', Perms.ALL), { perms: Perms.READ, id: Ids.ANYONE_ID_UNSAFE }];
      await zk.create('/acl', 'x', { acl });
      const got = await zk.getACL('/acl');
      assert.equal(got.acl.length, 2);
      assert.equal(got.stat.aversion, 0);
      await assert.rejects(zk.setData('/acl', 'y'), NoAuthError);

      const alice = await clients.connect(server.connectString);
      await alice.addAuth('digest', 'alice:secret');
      assert.ok((await alice.whoAmI()).some((c) => c.authScheme === 'digest' && c.user === 'alice'));
      await alice.setData('/acl', 'y');
      await assert.rejects(alice.setACL('/acl', Ids.OPEN_ACL_UNSAFE, 7), BadVersionError);
      const st = await alice.setACL('/acl', [digestAcl('alice', 'secret', Perms.ALL)], 0);
      assert.equal(st.aversion, 1);
      await assert.rejects(zk.getData('/acl'), (e: unknown) => code(e) === -102 && (e as NoAuthError).path === '/acl');
      // Without READ: ZooKeeper 3.9 (and Synod) refuse exists too; 3.8.0 does not check it.
      if (kind === 'zookeeper') assert.ok(await zk.exists('/acl'));
      else await assert.rejects(zk.exists('/acl'), NoAuthError);
      // Nodes created with CREATOR_ALL_ACL belong to the creator's identities.
      await alice.create('/mine', null, { acl: Ids.CREATOR_ALL_ACL });
      assert.equal((await alice.getACL('/mine')).acl[0]!.id.scheme, 'digest');
      await assert.rejects(zk.getData('/mine'), NoAuthError);
    });

    test('getChildren, getChildrenWithStat and getAllChildrenNumber', async () => {
      await zk.create('/kids', null);
      for (const k of ['a', 'b', 'c']) await zk.create(`/kids/${k}`, null);
      await zk.create('/kids/a/deep', null);
      assert.deepEqual((await zk.getChildren('/kids')).sort(), ['a', 'b', 'c']);
      const w = await zk.getChildrenWithStat('/kids');
      assert.deepEqual(w.children.sort(), ['a', 'b', 'c']);
      assert.equal(w.stat.numChildren, 3);
      assert.equal(w.stat.cversion, 3);
      assert.equal(await zk.getAllChildrenNumber('/kids'), 4);
      await assert.rejects(zk.getChildren('/kids-not'), NoNodeError);
    });

    test('getEphemerals lists this session’s ephemerals under a prefix', async () => {
      const other = await clients.connect(server.connectString);
      await zk.create('/eph', null);
      await zk.create('/eph/mine-1', null, { mode: CreateMode.EPHEMERAL });
      await zk.create('/eph/mine-2', null, { mode: CreateMode.EPHEMERAL });
      await other.create('/eph/theirs', null, { mode: CreateMode.EPHEMERAL });
      const mine = await zk.getEphemerals('/eph');
      assert.deepEqual(mine.sort(), ['/eph/mine-1', '/eph/mine-2']);
      assert.deepEqual(await other.getEphemerals('/eph'), ['/eph/theirs']);
      assert.ok((await zk.getEphemerals()).includes('/eph/mine-1'));
    });

    test('sync', async () => {
      await zk.create('/synced', null);
      await zk.sync('/synced');
      await zk.sync();
    });

    test('multi and transaction: results per op; on failure a typed error and nothing applied', async () => {
      await zk.create('/tx', null);
      const results = await zk
        .transaction()
        .create('/tx/a', 'a')
        .create('/tx/c', null, { mode: CreateMode.CONTAINER })
        .create('/tx/t', null, { mode: CreateMode.PERSISTENT_WITH_TTL, ttl: 60_000 })
        .setData('/tx/a', 'b', 0)
        .check('/tx/a', 1)
        .create('/tx/s-', null, { mode: CreateMode.PERSISTENT_SEQUENTIAL })
        .delete('/tx/a', 1)
        .commit();
      assert.deepEqual(
        results.map((r) => r.type),
        ['create', 'create', 'create', 'setData', 'check', 'create', 'delete'],
      );
      const [a, c, t, set, , s] = results as Array<{ path?: string; stat?: Stat | null }>;
      assert.equal(a!.path, '/tx/a');
      assert.equal(a!.stat, null);
      assert.equal(c!.path, '/tx/c');
      assert.ok(c!.stat && c!.stat.czxid > 0);
      assert.ok(t!.stat && t!.stat.czxid > 0);
      assert.equal(set!.stat!.version, 1);
      assert.match(s!.path!, /^\/tx\/s-\d{10}$/);
      assert.equal(await zk.exists('/tx/a'), null);

      await assert.rejects(
        zk.multi([
          { type: 'create', path: '/tx/x', data: 'x' },
          { type: 'create', path: '/tx/c' },
          { type: 'setData', path: '/tx/c', data: 'never' },
        ]),
        (e: unknown) => {
          assert.ok(e instanceof NodeExistsError);
          assert.equal(e.path, '/tx/c');
          assert.equal(e.opIndex, 1);
          assert.deepEqual(e.results, [0, -110, -2]);
          return true;
        },
      );
      assert.equal(await zk.exists('/tx/x'), null);
      await assert.rejects(zk.transaction().check('/tx/c', 9).commit(), BadVersionError);
      assert.deepEqual(await zk.multi([]), []);
      assert.equal(createError(-2) instanceof RuntimeInconsistencyError, true);
    });

    test('multiRead: reads fail one by one', async () => {
      await zk.create('/mr', 'v');
      await zk.create('/mr/k', null);
      const res = await zk.multiRead([
        { type: 'getData', path: '/mr' },
        { type: 'getChildren', path: '/mr' },
        { type: 'getData', path: '/mr/none' },
      ]);
      assert.equal(res[0]!.type, 'getData');
      assert.equal((res[0] as { data: Buffer }).data.toString(), 'v');
      assert.deepEqual((res[1] as { children: string[] }).children, ['k']);
      const err = res[2] as { type: 'error'; error: ZooKeeperError };
      assert.equal(err.type, 'error');
      assert.ok(err.error instanceof NoNodeError);
      assert.equal(err.error.path, '/mr/none');
    });

    test('whoAmI, getConfig and reconfig', async () => {
      const who = await zk.whoAmI();
      assert.ok(who.some((c) => c.authScheme === 'ip'));
      const cfg = await zk.getConfig();
      assert.equal(typeof cfg.config, 'string');
      assert.ok(cfg.stat);
      // A standalone server has dynamic reconfiguration off.
      await assert.rejects(zk.reconfig({ joining: 'server.9=127.0.0.1:2888:3888;2181' }), (e: unknown) => {
        assert.ok(e instanceof ReconfigDisabledError || e instanceof UnimplementedError, String(e));
        return true;
      });
    });

    test('chroot: paths in and out are relative to it', async () => {
      await zk.create('/app', null);
      const c = await clients.connect(`${server.connectString}/app`);
      assert.equal(c.chroot, '/app');
      assert.equal((await c.create('/x', 'in chroot')).path, '/x');
      assert.equal((await zk.getData('/app/x')).data!.toString(), 'in chroot');
      const seq = await c.create('/x/s-', null, { mode: CreateMode.EPHEMERAL_SEQUENTIAL });
      assert.match(seq.path, /^\/x\/s-\d{10}$/);
      assert.deepEqual(await c.getChildren('/'), ['x']);
      assert.deepEqual(await c.getEphemerals('/'), [seq.path]);
      const [r] = await c.multi([{ type: 'create', path: '/y' }]);
      assert.equal((r as { path: string }).path, '/y');
      await assert.rejects(c.getData('/nope'), (e: unknown) => (e as NoNodeError).path === '/nope');
      // The configuration node is outside any chroot.
      assert.equal(typeof (await c.getConfig()).config, 'string');
    });

    test('thousands of requests in flight keep their order', async () => {
      await zk.create('/many', null);
      const ps: Promise<{ path: string }>[] = [];
      for (let i = 0; i < 5000; i++) ps.push(zk.create('/many/s-', null, { mode: CreateMode.PERSISTENT_SEQUENTIAL }));
      const paths = (await Promise.all(ps)).map((r) => r.path);
      paths.forEach((p, i) => assert.equal(p, `/many/s-${String(i).padStart(10, '0')}`));
      assert.equal(await zk.getAllChildrenNumber('/many'), 5000);
    });

    test('xids wrap past 2^31-1 without upsetting the server', async () => {
      const c = await clients.connect(server.connectString, { initialXid: 0x7ffffff0 });
      await c.create('/wrap', null);
      for (let i = 0; i < 40; i++) await c.setData('/wrap', String(i));
      assert.equal((await c.getData('/wrap')).data!.toString(), '39');
    });

    test('after close(): ClientClosedError (a SESSIONEXPIRED) and the ephemerals are gone', async () => {
      const c = await clients.connect(server.connectString);
      await c.create('/closing', null, { mode: CreateMode.EPHEMERAL });
      const states: string[] = [];
      c.on('state', (s) => states.push(s));
      await c.close();
      assert.equal(c.state, 'closed');
      assert.deepEqual(states, ['closed']);
      assert.equal(await zk.exists('/closing'), null);
      await assert.rejects(
        c.exists('/'),
        (e: unknown) => e instanceof ClientClosedError && e instanceof SessionExpiredError,
      );
      await c.close();
    });
  });
}
