import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JuteWriter } from '../../src/jute/buffer.js';
import { CreateMode, Err, EventType, OpCode, Perms } from '../../src/jute/constants.js';
import { writeRequest, type ACL, type Request } from '../../src/jute/records.js';
import { EntryKind, encodeAuth, encodeCreateSession, encodePath, type Entry } from '../../src/txn/entry.js';
import { StateMachine } from '../../src/txn/state.js';
import { deserializeState, serializeState } from '../../src/txn/snapshot.js';

const OPEN: ACL[] = [{ perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } }];

class Harness {
  sm = new StateMachine({ extendedTypes: true, maxDataBytes: 1 << 20 });
  zxid = 0x100000000;
  time = 1_000_000;

  entry(kind: number, sessionId: bigint, op: number, body: Uint8Array): Entry {
    return { kind, zxid: ++this.zxid, time: this.time, sessionId, cxid: 1, op, body };
  }
  session(id: bigint) {
    const w = new JuteWriter();
    encodeCreateSession(w, 30000, new Uint8Array(16), '127.0.0.1');
    return this.sm.apply(this.entry(EntryKind.createSession, id, OpCode.createSession, w.toBuffer()));
  }
  req(sessionId: bigint, r: Request) {
    const w = new JuteWriter();
    writeRequest(w, r);
    return this.sm.apply(this.entry(EntryKind.request, sessionId, r.op, w.toBuffer()));
  }
  create(sessionId: bigint, path: string, flags = 0, data = 'x', acl = OPEN, op: 1 | 15 | 19 | 21 = 15, ttl = -1) {
    return this.req(sessionId, { op, req: { path, data: Buffer.from(data), acl, flags, ttl } });
  }
}

test('sequential names count the parent cversion, which deletes do not move', () => {
  const h = new Harness();
  h.session(1n);
  assert.equal(h.create(1n, '/q').err, 0);
  const a = h.create(1n, '/q/n-', CreateMode.PERSISTENT_SEQUENTIAL);
  assert.deepEqual(a.reply && 'path' in a.reply ? a.reply.path : null, '/q/n-0000000000');
  h.req(1n, { op: 2, req: { path: '/q/n-0000000000', version: -1 } });
  const b = h.create(1n, '/q/n-', CreateMode.PERSISTENT_SEQUENTIAL);
  assert.equal(b.reply && 'path' in b.reply ? b.reply.path : null, '/q/n-0000000001');
  const q = h.sm.tree.get('/q')!;
  assert.equal(q.cversion, 2);
  assert.equal(q.pzxid, h.zxid);
});

test('errors: NONODE, NODEEXISTS, BADVERSION, NOTEMPTY, NOCHILDRENFOREPHEMERALS', () => {
  const h = new Harness();
  h.session(1n);
  assert.equal(h.create(1n, '/a/b').err, Err.NONODE);
  assert.equal(h.create(1n, '/a').err, 0);
  assert.equal(h.create(1n, '/a').err, Err.NODEEXISTS);
  assert.equal(h.req(1n, { op: 5, req: { path: '/a', data: null, version: 3 } }).err, Err.BADVERSION);
  assert.equal(h.create(1n, '/a/c').err, 0);
  assert.equal(h.req(1n, { op: 2, req: { path: '/a', version: -1 } }).err, Err.NOTEMPTY);
  assert.equal(h.create(1n, '/e', CreateMode.EPHEMERAL).err, 0);
  assert.equal(h.create(1n, '/e/x').err, Err.NOCHILDRENFOREPHEMERALS);
  assert.equal(h.create(1n, '/bad/').err, Err.NONODE);
  assert.equal(h.create(1n, '/a/', 0).err, Err.BADARGUMENTS);
  assert.equal(h.create(1n, '/f', 9).err, Err.BADARGUMENTS);
  assert.equal(h.req(1n, { op: 2, req: { path: '/zookeeper', version: -1 } }).err, Err.BADARGUMENTS);
  assert.equal(h.req(99n, { op: 2, req: { path: '/a/c', version: -1 } }).err, Err.SESSIONEXPIRED);
});

test('a failed multi changes nothing and reports OK, the error, then RUNTIMEINCONSISTENCY', () => {
  const h = new Harness();
  h.session(1n);
  h.create(1n, '/m');
  const before = h.sm.tree.get('/m')!.cversion;
  const r = h.req(1n, {
    op: 14,
    req: [
      { op: 1, req: { path: '/m/a', data: null, acl: OPEN, flags: 0, ttl: -1 } },
      { op: 5, req: { path: '/m', data: Buffer.from('y'), version: -1 } },
      { op: 13, req: { path: '/m', version: 7 } },
      { op: 2, req: { path: '/m/a', version: -1 } },
    ],
  });
  assert.equal(r.err, 0);
  assert.deepEqual(r.reply && r.reply.kind === 'multi' ? r.reply.results.map((x) => [x.type, x.err]) : null, [
    [-1, 0],
    [-1, 0],
    [-1, Err.BADVERSION],
    [-1, Err.RUNTIMEINCONSISTENCY],
  ]);
  assert.equal(h.sm.tree.get('/m/a'), undefined);
  assert.equal(h.sm.tree.get('/m')!.cversion, before);
  assert.equal(h.sm.tree.get('/m')!.version, 0);
  assert.equal(Buffer.from(h.sm.tree.get('/m')!.data).toString(), 'x');
  assert.equal(r.events.length, 0);
});

test('a multi that succeeds applies every op with one zxid', () => {
  const h = new Harness();
  h.session(1n);
  const r = h.req(1n, {
    op: 14,
    req: [
      { op: 1, req: { path: '/s', data: null, acl: OPEN, flags: 0, ttl: -1 } },
      { op: 15, req: { path: '/s/p-', data: null, acl: OPEN, flags: CreateMode.PERSISTENT_SEQUENTIAL, ttl: -1 } },
      { op: 15, req: { path: '/s/p-', data: null, acl: OPEN, flags: CreateMode.PERSISTENT_SEQUENTIAL, ttl: -1 } },
    ],
  });
  assert.ok(r.reply && r.reply.kind === 'multi');
  assert.deepEqual(
    r.reply.results.map((x) => x.path),
    ['/s', '/s/p-0000000000', '/s/p-0000000001'],
  );
  assert.equal(h.sm.tree.get('/s/p-0000000001')!.czxid, h.sm.tree.get('/s')!.czxid);
});

test('closing a session removes its ephemerals and reports their watches', () => {
  const h = new Harness();
  h.session(1n);
  h.session(2n);
  h.create(1n, '/p');
  h.create(1n, '/p/e1', CreateMode.EPHEMERAL);
  h.create(2n, '/p/e2', CreateMode.EPHEMERAL);
  const r = h.sm.apply(h.entry(EntryKind.closeSession, 1n, OpCode.closeSession, new Uint8Array(0)));
  assert.equal(r.closedSession, 1n);
  assert.deepEqual(r.events, [
    { type: EventType.NodeDeleted, path: '/p/e1' },
    { type: EventType.NodeChildrenChanged, path: '/p' },
  ]);
  assert.equal(h.sm.tree.get('/p/e1'), undefined);
  assert.ok(h.sm.tree.get('/p/e2'));
  assert.equal(h.sm.tree.ephemerals.get(1n), undefined);
});

test('containers go only once used and empty; TTL nodes only after their TTL', () => {
  const h = new Harness();
  h.session(1n);
  h.create(1n, '/c', CreateMode.CONTAINER, 'x', OPEN, 19);
  const expire = (path: string) => {
    const w = new JuteWriter();
    encodePath(w, path);
    return h.sm.apply(h.entry(EntryKind.expireNode, 0n, OpCode.deleteContainer, w.toBuffer()));
  };
  assert.notEqual(expire('/c').err, 0, 'never-used container stays');
  h.create(1n, '/c/x');
  assert.equal(expire('/c').err, Err.NOTEMPTY);
  h.req(1n, { op: 2, req: { path: '/c/x', version: -1 } });
  assert.equal(expire('/c').err, 0);
  assert.equal(h.sm.tree.get('/c'), undefined);

  assert.equal(h.create(1n, '/t', CreateMode.PERSISTENT_WITH_TTL, 'x', OPEN, 21, 5000).err, 0);
  assert.equal(h.create(1n, '/t2', CreateMode.PERSISTENT_WITH_TTL, 'x', OPEN, 21, -1).err, Err.BADARGUMENTS);
  assert.equal(h.create(1n, '/t3', CreateMode.PERSISTENT_WITH_TTL, 'x', OPEN, 15).err, Err.BADARGUMENTS);
  assert.notEqual(expire('/t').err, 0);
  h.time += 5001;
  assert.equal(expire('/t').err, 0);
});

test('digest ACLs: NOAUTH without the identity, allowed with it; auth expands to the caller', () => {
  const h = new Harness();
  h.session(1n);
  h.session(2n);
  const w = new JuteWriter();
  encodeAuth(w, 'digest', 'alice:hash');
  h.sm.apply(h.entry(EntryKind.addAuth, 1n, OpCode.auth, w.toBuffer()));
  const creatorAll: ACL[] = [{ perms: Perms.ALL, id: { scheme: 'auth', id: '' } }];
  assert.equal(h.create(2n, '/x', 0, 'd', creatorAll).err, Err.INVALIDACL);
  assert.equal(h.create(1n, '/x', 0, 'd', creatorAll).err, 0);
  assert.deepEqual(h.sm.tree.aclOf(h.sm.tree.get('/x')!), [
    { perms: Perms.ALL, id: { scheme: 'digest', id: 'alice:hash' } },
  ]);
  assert.equal(h.req(2n, { op: 5, req: { path: '/x', data: null, version: -1 } }).err, Err.NOAUTH);
  assert.equal(h.req(1n, { op: 5, req: { path: '/x', data: null, version: -1 } }).err, 0);
  assert.equal(h.create(1n, '/y', 0, 'd', [{ perms: Perms.ALL, id: { scheme: 'nope', id: 'z' } }]).err, Err.INVALIDACL);
  assert.equal(h.create(1n, '/y', 0, 'd', []).err, Err.INVALIDACL);
});

test('a snapshot restores the same tree and sessions', () => {
  const h = new Harness();
  h.session(1n);
  h.create(1n, '/a', 0, 'one');
  h.create(1n, '/a/b', CreateMode.EPHEMERAL, 'two');
  h.create(1n, '/a/s-', CreateMode.PERSISTENT_SEQUENTIAL);
  h.req(1n, { op: 5, req: { path: '/a', data: Buffer.from('uno'), version: 0 } });
  const bytes = Buffer.concat([...serializeState(h.sm)]);
  const back = deserializeState(bytes, h.sm.opts);
  assert.equal(back.lastZxid, h.sm.lastZxid);
  assert.equal(back.tree.size, h.sm.tree.size);
  for (const path of h.sm.tree.allPaths()) {
    const n = h.sm.tree.get(path)!;
    const m = back.tree.get(path);
    assert.ok(m, path);
    assert.deepEqual(
      { ...back.tree.record(m), data: Buffer.from(m.data) },
      { ...h.sm.tree.record(n), data: Buffer.from(n.data) },
      path,
    );
    assert.deepEqual(back.tree.childrenOf(m).sort(), h.sm.tree.childrenOf(n).sort());
  }
  assert.deepEqual([...back.tree.ephemerals.get(1n)!], ['/a/b']);
  assert.equal(back.sessions.get(1n)!.timeout, 30000);
});

test('quota stats follow creates, deletes, setData and multi rollback, and survive a snapshot', () => {
  const h = new Harness();
  h.session(1n);
  h.create(1n, '/q', 0, 'abc');
  h.create(1n, '/q/a', 0, 'hello');
  h.create(1n, '/zookeeper/quota/q');
  h.create(1n, '/zookeeper/quota/q/zookeeper_limits', 0, 'count=10,bytes=-1');
  h.create(1n, '/zookeeper/quota/q/zookeeper_stats', 0, 'count=0,bytes=0');
  const stats = () => Buffer.from(h.sm.tree.get('/zookeeper/quota/q/zookeeper_stats')!.data).toString();
  assert.equal(stats(), 'count=2,bytes=8');
  h.create(1n, '/q/b', 0, '12');
  h.req(1n, { op: 5, req: { path: '/q/a', data: Buffer.from('hi'), version: -1 } });
  assert.equal(stats(), 'count=3,bytes=7');
  h.req(1n, {
    op: 14,
    req: [
      { op: 2, req: { path: '/q/b', version: -1 } },
      { op: 5, req: { path: '/q/a', data: Buffer.from('a much longer value'), version: -1 } },
      { op: 13, req: { path: '/q', version: 99 } },
    ],
  });
  assert.equal(stats(), 'count=3,bytes=7', 'a failed multi leaves the usage as it was');
  h.req(1n, { op: 2, req: { path: '/q/b', version: -1 } });
  assert.equal(stats(), 'count=2,bytes=5');
  const back = deserializeState(Buffer.concat([...serializeState(h.sm)]), h.sm.opts);
  assert.deepEqual([...back.tree.quotaRoots], ['/q']);
  assert.equal(Buffer.from(back.tree.get('/zookeeper/quota/q/zookeeper_stats')!.data).toString(), 'count=2,bytes=5');
});

test('enforceQuota: hard count and byte limits refuse with QUOTAEXCEEDED, soft limits only count', () => {
  const h = new Harness();
  (h.sm.opts as { enforceQuota?: boolean }).enforceQuota = true;
  h.session(1n);
  h.create(1n, '/hq', 0, '');
  h.create(1n, '/zookeeper/quota/hq');
  h.create(1n, '/zookeeper/quota/hq/zookeeper_limits', 0, 'count=2,bytes=-1=;byteHardLimit=10;countHardLimit=3');
  h.create(1n, '/zookeeper/quota/hq/zookeeper_stats', 0, 'count=0,bytes=0');
  assert.equal(h.create(1n, '/hq/a', 0, '12345').err, 0);
  assert.equal(h.create(1n, '/hq/b', 0, '1234').err, 0, 'past the soft count of 2 is allowed');
  assert.equal(h.create(1n, '/hq/c', 0, '').err, Err.QUOTAEXCEEDED, 'a fourth node passes countHardLimit=3');
  assert.equal(
    h.req(1n, { op: 5, req: { path: '/hq/a', data: Buffer.from('12345678'), version: -1 } }).err,
    Err.QUOTAEXCEEDED,
  );
  assert.equal(
    h.req(1n, { op: 5, req: { path: '/hq/a', data: Buffer.from('12345678'), version: 9 } }).err,
    Err.QUOTAEXCEEDED,
    'quota is checked before the version',
  );
  assert.equal(h.req(1n, { op: 5, req: { path: '/hq/a', data: Buffer.from('1'), version: -1 } }).err, 0);
  assert.equal(h.create(1n, '/free', 0, 'anything').err, 0, 'paths without a quota are unaffected');
});
