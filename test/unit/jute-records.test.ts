// Request records round-trip through writeRequest/readRequest, and a few
// encodings match bytes written out by hand from zookeeper.jute.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readReplyBody, readReplyHeader, readWatcherEvent } from '../../src/client/replies.js';
import { DecodeError, JuteReader, JuteWriter } from '../../src/jute/buffer.js';
import { Err, OpCode, Perms } from '../../src/jute/constants.js';
import {
  readConnectRequest,
  readConnectResponse,
  readRequest,
  writeConnectRequest,
  writeConnectResponse,
  writeRequest,
  type ACL,
  type MultiOp,
  type Request,
} from '../../src/jute/records.js';

const OPEN: ACL[] = [{ perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } }];
const MIXED: ACL[] = [
  { perms: Perms.READ | Perms.ADMIN, id: { scheme: 'digest', id: 'bob:Xx9kY0d8Ujw2IvVc6Wtu2qA6B8E=' } },
  { perms: Perms.ALL, id: { scheme: 'ip', id: '10.0.0.0/8' } },
];

/** Bytes from a hex string; spaces and newlines are for the reader. */
function hex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, '');
  assert.equal(clean.length % 2, 0, 'odd hex fixture');
  return new Uint8Array(Buffer.from(clean, 'hex'));
}

function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/** Encodes with writeRequest; a plain Uint8Array copy so decoded views compare as Uint8Array. */
function encode(req: Request): Uint8Array {
  const w = new JuteWriter(8);
  writeRequest(w, req);
  return new Uint8Array(w.toBuffer());
}

function decode(op: number, bytes: Uint8Array): Request {
  const r = new JuteReader(bytes);
  const out = readRequest(op, r);
  assert.equal(r.remaining, 0, `op ${op}: ${r.remaining} bytes left over`);
  return out;
}

const utf8 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf8'));

const multiOps: MultiOp[] = [
  { op: OpCode.create, req: { path: '/m/a', data: utf8('x'), acl: OPEN, flags: 0, ttl: -1 } },
  { op: OpCode.create2, req: { path: '/m/b', data: null, acl: MIXED, flags: 3, ttl: -1 } },
  { op: OpCode.createContainer, req: { path: '/m/c', data: new Uint8Array(0), acl: OPEN, flags: 4, ttl: -1 } },
  { op: OpCode.createTTL, req: { path: '/m/d', data: utf8('ttl'), acl: OPEN, flags: 5, ttl: 86_400_000 } },
  { op: OpCode.delete, req: { path: '/m/a', version: -1 } },
  { op: OpCode.setData, req: { path: '/m/b', data: utf8('new'), version: 7 } },
  { op: OpCode.check, req: { path: '/m', version: 2 } },
];

/** One sample of every request record the client port carries. */
const samples: Request[] = [
  { op: OpCode.create, req: { path: '/a', data: utf8('hello'), acl: OPEN, flags: 0, ttl: -1 } },
  { op: OpCode.create, req: { path: '/a/é/日本', data: null, acl: MIXED, flags: 3, ttl: -1 } },
  { op: OpCode.create2, req: { path: '/b', data: new Uint8Array(0), acl: [], flags: 2, ttl: -1 } },
  { op: OpCode.createContainer, req: { path: '/c', data: utf8('c'), acl: OPEN, flags: 4, ttl: -1 } },
  { op: OpCode.createTTL, req: { path: '/t', data: utf8('t'), acl: OPEN, flags: 6, ttl: 0xffffffffff } },
  { op: OpCode.delete, req: { path: '/a', version: -1 } },
  { op: OpCode.deleteContainer, req: { path: '/c', version: 0 } },
  { op: OpCode.exists, req: { path: '/a', watch: true } },
  { op: OpCode.getData, req: { path: '/a', watch: false } },
  { op: OpCode.getChildren, req: { path: '/', watch: true } },
  { op: OpCode.getChildren2, req: { path: '/a', watch: false } },
  { op: OpCode.setData, req: { path: '/a', data: utf8('v2'), version: 0x7fffffff } },
  { op: OpCode.setData, req: { path: '/a', data: null, version: -1 } },
  { op: OpCode.getACL, req: { path: '/a' } },
  { op: OpCode.setACL, req: { path: '/a', acl: MIXED, version: 3 } },
  { op: OpCode.sync, req: { path: '/a' } },
  { op: OpCode.ping, req: null },
  { op: OpCode.whoAmI, req: null },
  { op: OpCode.closeSession, req: null },
  { op: OpCode.check, req: { path: '/a', version: 1 } },
  { op: OpCode.multi, req: multiOps },
  { op: OpCode.multi, req: [] },
  {
    op: OpCode.multiRead,
    req: [
      { op: OpCode.getData, req: { path: '/a', watch: false } },
      { op: OpCode.getChildren, req: { path: '/', watch: true } },
    ],
  },
  {
    op: OpCode.reconfig,
    req: {
      joiningServers: 'server.4=h:2888:3888;2181',
      leavingServers: null,
      newMembers: null,
      curConfigId: 0x100000003,
    },
  },
  { op: OpCode.reconfig, req: { joiningServers: null, leavingServers: '2,3', newMembers: '', curConfigId: -1 } },
  { op: OpCode.checkWatches, req: { path: '/a', type: 3 } },
  { op: OpCode.removeWatches, req: { path: '/a', type: 5 } },
  { op: OpCode.auth, req: { type: 0, scheme: 'digest', auth: utf8('bob:secret') } },
  {
    op: OpCode.setWatches,
    req: {
      relativeZxid: 0x500000012,
      dataWatches: ['/a', '/b'],
      existWatches: [],
      childWatches: ['/'],
      persistentWatches: [],
      persistentRecursiveWatches: [],
    },
  },
  {
    op: OpCode.setWatches2,
    req: {
      relativeZxid: 7,
      dataWatches: [],
      existWatches: ['/x'],
      childWatches: [],
      persistentWatches: ['/p'],
      persistentRecursiveWatches: ['/r', '/r2'],
    },
  },
  { op: OpCode.getEphemerals, req: { prefixPath: '/app' } },
  { op: OpCode.getEphemerals, req: { prefixPath: '' } },
  { op: OpCode.getAllChildrenNumber, req: { path: '/a' } },
  { op: OpCode.addWatch, req: { path: '/a', mode: 1 } },
];

describe('request records round-trip', () => {
  for (const [i, sample] of samples.entries()) {
    it(`#${i} op ${sample.op}`, () => {
      assert.deepEqual(decode(sample.op, encode(sample)), sample);
    });
  }

  it('every opcode a client may send has a sample', () => {
    const covered = new Set(samples.map((s) => s.op as number));
    const clientOps = Object.values(OpCode).filter(
      (op) => ![OpCode.notification, OpCode.sasl, OpCode.createSession, OpCode.error].includes(op as never),
    );
    for (const op of clientOps) assert.ok(covered.has(op), `no round-trip sample for op ${op}`);
  });

  it('an unknown opcode is a DecodeError with MARSHALLINGERROR', () => {
    assert.throws(
      () => readRequest(999, new JuteReader(new Uint8Array(8))),
      (e: unknown) => e instanceof DecodeError && e.code === Err.MARSHALLINGERROR,
    );
  });
});

describe('byte fixtures from zookeeper.jute', () => {
  // ConnectRequest {int protocolVersion; long lastZxidSeen; int timeOut; long sessionId; buffer passwd; boolean readOnly}
  const connectHex = `
    00000000
    0000000000000000
    00007530
    0000000000000000
    00000010 00000000000000000000000000000000
    00`;

  it('ConnectRequest of a new session (45 bytes)', () => {
    const w = new JuteWriter();
    writeConnectRequest(w, {
      protocolVersion: 0,
      lastZxidSeen: 0,
      timeOut: 30_000,
      sessionId: 0n,
      passwd: new Uint8Array(16),
      readOnly: false,
    });
    assert.equal(toHex(w.toBuffer()), toHex(hex(connectHex)));
    assert.equal(w.length, 45);
  });

  it('ConnectRequest without the readOnly byte (old clients, 44 bytes) still decodes', () => {
    const bytes = hex(connectHex).subarray(0, 44);
    const c = readConnectRequest(new JuteReader(bytes));
    assert.equal(c.readOnly, false);
    assert.equal(c.timeOut, 30_000);
    assert.equal(c.passwd.length, 16);
  });

  it('ConnectRequest resuming a session', () => {
    const bytes = hex(`
      00000000
      0000000100000005
      00002710
      0100001234abcdef
      00000004 deadbeef
      01`);
    const c = readConnectRequest(new JuteReader(bytes));
    assert.deepEqual(
      { ...c, passwd: toHex(c.passwd) },
      {
        protocolVersion: 0,
        lastZxidSeen: 0x100000005,
        timeOut: 10_000,
        sessionId: 0x0100001234abcdefn,
        passwd: 'deadbeef',
        readOnly: true,
      },
    );
  });

  it('ConnectResponse', () => {
    const w = new JuteWriter();
    writeConnectResponse(w, {
      protocolVersion: 0,
      timeOut: 4000,
      sessionId: -0x7f00000000000001n,
      passwd: hex('0102'),
      readOnly: false,
    });
    const expected = '00000000 00000fa0 80ffffffffffffff 00000002 0102 00'.replace(/ /g, '');
    assert.equal(toHex(w.toBuffer()), expected);
    const back = readConnectResponse(new JuteReader(hex(expected)));
    assert.equal(back.sessionId, -0x7f00000000000001n);
  });

  // CreateRequest {ustring path; buffer data; vector<ACL> acl; int flags}, ACL {int perms; Id {ustring scheme; ustring id}}
  const createHex = `
    00000002 2f61
    00000002 6869
    00000001
      0000001f 00000005 776f726c64 00000006 616e796f6e65
    00000001`;

  it('create /a "hi" world:anyone EPHEMERAL', () => {
    const req: Request = { op: OpCode.create, req: { path: '/a', data: utf8('hi'), acl: OPEN, flags: 1, ttl: -1 } };
    assert.equal(toHex(encode(req)), toHex(hex(createHex)));
    assert.deepEqual(decode(OpCode.create, hex(createHex)), req);
  });

  it('createTTL appends a long ttl', () => {
    const req: Request = {
      op: OpCode.createTTL,
      req: { path: '/a', data: utf8('hi'), acl: OPEN, flags: 5, ttl: 60_000 },
    };
    const expected = createHex.replace(/00000001\s*$/, '00000005') + '000000000000ea60';
    assert.equal(toHex(encode(req)), toHex(hex(expected)));
  });

  it('null data and a null string are length -1', () => {
    const req: Request = { op: OpCode.setData, req: { path: '/', data: null, version: -1 } };
    assert.equal(toHex(encode(req)), '000000012fffffffffffffffff');
    const rc: Request = {
      op: OpCode.reconfig,
      req: { joiningServers: null, leavingServers: null, newMembers: null, curConfigId: -1 },
    };
    assert.equal(toHex(encode(rc)), 'ffffffff'.repeat(3) + 'ffffffffffffffff');
  });

  it('multi: MultiHeader {type, done, err} per op, then (-1, true, -1)', () => {
    const req: Request = {
      op: OpCode.multi,
      req: [
        { op: OpCode.check, req: { path: '/a', version: 3 } },
        { op: OpCode.delete, req: { path: '/a/b', version: -1 } },
      ],
    };
    const expected = hex(`
      0000000d 00 ffffffff  00000002 2f61 00000003
      00000002 00 ffffffff  00000004 2f612f62 ffffffff
      ffffffff 01 ffffffff`);
    assert.equal(toHex(encode(req)), toHex(expected));
    assert.deepEqual(decode(OpCode.multi, expected), req);
  });

  it('multi refuses an op kind it cannot hold', () => {
    const bad = hex(`00000004 00 ffffffff 00000002 2f61 00  ffffffff 01 ffffffff`); // getData inside multi
    assert.throws(() => readRequest(OpCode.multi, new JuteReader(bad)), DecodeError);
    const bad2 = hex(`00000001 00 ffffffff`); // multiRead holding a create
    assert.throws(() => readRequest(OpCode.multiRead, new JuteReader(bad2)), DecodeError);
  });

  it('setWatches: relativeZxid and three string vectors; setWatches2 adds two', () => {
    const sw: Request = {
      op: OpCode.setWatches,
      req: {
        relativeZxid: 0x10,
        dataWatches: ['/a'],
        existWatches: [],
        childWatches: ['/'],
        persistentWatches: [],
        persistentRecursiveWatches: [],
      },
    };
    const expected = '0000000000000010 00000001 00000002 2f61 00000000 00000001 00000001 2f'.replace(/ /g, '');
    assert.equal(toHex(encode(sw)), expected);
    assert.equal(toHex(encode({ ...sw, op: OpCode.setWatches2 })), expected + '0000000000000000');
  });

  it('auth: AuthPacket {int type; ustring scheme; buffer auth}', () => {
    const req: Request = { op: OpCode.auth, req: { type: 0, scheme: 'digest', auth: utf8('u:p') } };
    assert.equal(toHex(encode(req)), '00000000' + '00000006' + toHex(utf8('digest')) + '00000003' + toHex(utf8('u:p')));
  });
});

describe('reply records (src/client/replies.ts)', () => {
  // Stat {long czxid; long mzxid; long ctime; long mtime; int version; int cversion; int aversion;
  //       long ephemeralOwner; int dataLength; int numChildren; long pzxid}
  const statHex = `
    0000000100000002 0000000100000003 0000018b00000000 0000018b00000001
    00000004 00000005 00000006
    0100000000000abc
    00000007 00000008
    0000000100000009`;
  const stat = {
    czxid: 0x100000002,
    mzxid: 0x100000003,
    ctime: 0x18b00000000,
    mtime: 0x18b00000001,
    version: 4,
    cversion: 5,
    aversion: 6,
    ephemeralOwner: 0x0100000000000abcn,
    dataLength: 7,
    numChildren: 8,
    pzxid: 0x100000009,
  };

  function body(op: number, s: string): unknown {
    const r = new JuteReader(hex(s));
    const out = readReplyBody(op, r);
    assert.equal(r.remaining, 0);
    return out;
  }

  it('ReplyHeader {int xid; long zxid; int err} and WatcherEvent {int type; int state; ustring path}', () => {
    assert.deepEqual(readReplyHeader(new JuteReader(hex('00000007 0000000200000001 ffffff9b'))), {
      xid: 7,
      zxid: 0x200000001,
      err: Err.NONODE,
    });
    assert.deepEqual(readWatcherEvent(new JuteReader(hex('00000004 00000003 00000002 2f61'))), {
      type: 4,
      state: 3,
      path: '/a',
    });
  });

  it('Create2Response, GetDataResponse, GetChildren2Response', () => {
    assert.deepEqual(body(OpCode.create2, `00000002 2f61 ${statHex}`), { path: '/a', stat });
    assert.deepEqual(body(OpCode.createTTL, `00000002 2f61 ${statHex}`), { path: '/a', stat });
    assert.deepEqual(body(OpCode.getData, `00000002 6869 ${statHex}`), { data: utf8('hi'), stat });
    assert.deepEqual(body(OpCode.getData, `ffffffff ${statHex}`), { data: null, stat });
    assert.deepEqual(body(OpCode.getChildren2, `00000002 00000001 61 00000001 62 ${statHex}`), {
      children: ['a', 'b'],
      stat,
    });
  });

  it('header-only replies, addWatch ErrorResponse, whoAmI, getAllChildrenNumber', () => {
    assert.equal(body(OpCode.delete, ''), null);
    assert.equal(body(OpCode.closeSession, ''), null);
    assert.deepEqual(body(OpCode.addWatch, '00000000'), { err: 0 });
    assert.deepEqual(body(OpCode.whoAmI, '00000001 00000002 6970 00000009 3132372e302e302e31'), {
      clientInfo: [{ authScheme: 'ip', user: '127.0.0.1' }],
    });
    assert.deepEqual(body(OpCode.getAllChildrenNumber, '0000002a'), { totalNumber: 42 });
  });

  it('MultiResponse: a failed multi is all ErrorResponses; a create answers by its flags', () => {
    const failed = `
      ffffffff 00 00000000 00000000
      ffffffff 00 ffffff99 ffffff99
      ffffffff 00 fffffffe fffffffe
      ffffffff 01 ffffffff`;
    assert.deepEqual(body(OpCode.multi, failed), [
      { type: -1, err: 0 },
      { type: -1, err: Err.BADVERSION },
      { type: -1, err: Err.RUNTIMEINCONSISTENCY },
    ]);
    const ok = `
      00000001 00 00000000 00000002 2f61
      0000000f 00 00000000 00000002 2f62 ${statHex}
      00000002 00 00000000
      0000000d 00 00000000
      00000005 00 00000000 ${statHex}
      ffffffff 01 ffffffff`;
    assert.deepEqual(body(OpCode.multi, ok), [
      { type: 1, path: '/a' },
      { type: 15, path: '/b', stat },
      { type: 2 },
      { type: 13 },
      { type: 5, stat },
    ]);
    // An error result whose header and body disagree is not a ZooKeeper reply.
    assert.throws(() => body(OpCode.multi, 'ffffffff 00 ffffff99 00000000 ffffffff 01 ffffffff'), DecodeError);
    // Read results cannot appear in a multi, nor write results in a multiRead.
    assert.throws(() => body(OpCode.multi, '00000008 00 00000000 00000000 ffffffff 01 ffffffff'), DecodeError);
    assert.throws(() => body(OpCode.multiRead, '00000002 00 00000000 ffffffff 01 ffffffff'), DecodeError);
  });
});
