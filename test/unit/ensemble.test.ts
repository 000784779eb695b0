import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { JuteWriter } from '../../src/jute/buffer.js';
import { ConfigError, formatServerSpec, loadConfig, parseServerSpec } from '../../src/server/config.js';
import { memberChanges } from '../../src/server/reconfig.js';
import {
  applyMembership,
  configLines,
  configVersion,
  decodeChangeContext,
  encodeChangeContext,
} from '../../src/ensemble/membership.js';
import { PeerKind, decodePeerMessage, encodePeerMessage, type PeerMessage } from '../../src/ensemble/wire.js';

const utf8 = new TextEncoder();
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

const THREE = [
  'server.1=127.0.0.1:2888:3888:participant;127.0.0.1:2181',
  'server.2=127.0.0.1:2889:3889:participant;127.0.0.1:2182',
  'server.3=127.0.0.1:2890:3890:participant;127.0.0.1:2183',
].join('\n');

describe('ensemble configuration', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'synod-ens-config-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const cfg = (name: string, body: string): string => {
    const p = join(dir, name);
    writeFileSync(p, `dataDir=${dir}\n${body}\n`);
    return p;
  };

  it('needs a myid or --id, which must name a server line', () => {
    const path = cfg('a.cfg', THREE.replace(/^server/gm, 'server'));
    assert.throws(
      () => loadConfig({ configPath: path }),
      (e: unknown) => e instanceof ConfigError && /myid is missing/.test(e.message),
    );
    assert.throws(() => loadConfig({ configPath: path, id: 9 }), /id 9 has no server\.9 line/);
    writeFileSync(join(dir, 'myid'), '2\n');
    const { config } = loadConfig({ configPath: path });
    assert.equal(config.myId, 2);
    assert.equal(config.clientPort, 2182, "the client port comes from the server's own line");
    assert.equal(loadConfig({ configPath: path, id: 3 }).config.clientPort, 2183, '--id wins over myid');
    assert.equal(loadConfig({ configPath: path, id: 3, port: 5000 }).config.clientPort, 5000);
  });

  it('reads the Synod ensemble keys and refuses a heartbeat too close to the election timeout', () => {
    const path = cfg(
      'b.cfg',
      `${THREE}\nsynod.electionTimeoutMs=300\nsynod.heartbeatMs=50\nreconfigEnabled=true\nreadonlymode.enabled=true\nsynod.joinExisting=true\nsynod.dial.3=127.0.0.1:7000`,
    );
    const { config, warnings } = loadConfig({ configPath: path, id: 1 });
    assert.deepEqual(warnings, []);
    assert.equal(config.electionTimeoutMs, 300);
    assert.equal(config.heartbeatMs, 50);
    assert.equal(config.reconfigEnabled, true);
    assert.equal(config.readOnlyMode, true);
    assert.equal(config.joinExisting, true);
    assert.deepEqual(config.dial.get(3), { host: '127.0.0.1', port: 7000 });
    const bad = cfg('c.cfg', `${THREE}\nsynod.electionTimeoutMs=100\nsynod.heartbeatMs=60`);
    assert.throws(() => loadConfig({ configPath: bad, id: 1 }), /at most half/);
    const badDial = cfg('d.cfg', `${THREE}\nsynod.dial.2=nowhere`);
    assert.throws(() => loadConfig({ configPath: badDial, id: 1 }), /expected synod\.dial/);
  });

  it('reads synod.walInlineWriteMs: 1 by default, 0 for never, nothing negative', () => {
    assert.equal(loadConfig({ configPath: cfg('w0.cfg', THREE), id: 1 }).config.walInlineWriteMs, 1);
    const off = cfg('w1.cfg', `${THREE}\nsynod.walInlineWriteMs=0`);
    assert.equal(loadConfig({ configPath: off, id: 1 }).config.walInlineWriteMs, 0);
    const bad = cfg('w2.cfg', `${THREE}\nsynod.walInlineWriteMs=-1`);
    assert.throws(() => loadConfig({ configPath: bad, id: 1 }), /synod\.walInlineWriteMs/);
  });

  it('formats a server line the way it parses', () => {
    const line = 'server.4=10.0.0.4:2888:3888:observer;0.0.0.0:2181';
    const spec = parseServerSpec(4, line.slice('server.4='.length));
    assert.equal(formatServerSpec(spec), line);
  });
});

describe('membership in /zookeeper/config', () => {
  const ctx = (line: string) => encodeChangeContext({ origin: 2, incarnation: 77, seq: 5, last: true, line });

  it('change contexts round-trip', () => {
    const c = decodeChangeContext(ctx('server.4=h:1:2:participant'));
    assert.deepEqual(c, { origin: 2, incarnation: 77, seq: 5, last: true, line: 'server.4=h:1:2:participant' });
    assert.equal(decodeChangeContext(undefined), null);
  });

  it('adds, re-roles and removes lines and stamps the version', () => {
    let conf: Uint8Array = utf8.encode(`${THREE}\nversion=100000003`);
    conf = applyMembership(
      conf,
      { type: 'addLearner', nodeId: 4, context: ctx('server.4=h:1:2:observer;h:3') },
      0x200000009,
    );
    assert.equal(configLines(text(conf)).get(4), 'server.4=h:1:2:observer;h:3');
    assert.equal(configVersion(conf), 0x200000009);
    conf = applyMembership(conf, { type: 'addNode', nodeId: 4 }, 0x20000000a);
    assert.equal(configLines(text(conf)).get(4), 'server.4=h:1:2:participant;h:3', 'promotion keeps the addresses');
    conf = applyMembership(conf, { type: 'removeNode', nodeId: 1 }, 0x20000000b);
    assert.deepEqual([...configLines(text(conf)).keys()], [2, 3, 4]);
    assert.match(text(conf), /\nversion=20000000b$/);
  });
});

describe('reconfig requests', () => {
  const req = (r: { joining?: string; leaving?: string; members?: string }) => ({
    joiningServers: r.joining ?? null,
    leavingServers: r.leaving ?? null,
    newMembers: r.members ?? null,
    curConfigId: -1,
  });

  it('incremental: leaving first, then joining, roles from the line', () => {
    const changes = memberChanges(
      THREE,
      req({ joining: 'server.4=127.0.0.1:2891:3891:observer;2184, server.5=127.0.0.1:2892:3892;2185', leaving: '1' }),
    );
    assert.deepEqual(
      changes.map((c) => [c.type, c.nodeId]),
      [
        ['removeNode', 1],
        ['addLearner', 4],
        ['addNode', 5],
      ],
    );
    assert.equal(changes[1]!.line, 'server.4=127.0.0.1:2891:3891:observer;0.0.0.0:2184');
  });

  it('non-incremental: the difference from the current membership', () => {
    const changes = memberChanges(
      THREE,
      req({
        members:
          'server.1=127.0.0.1:2888:3888:participant;127.0.0.1:2181,server.2=127.0.0.1:2889:3889:observer;127.0.0.1:2182,server.6=127.0.0.1:2893:3893;2186',
      }),
    );
    assert.deepEqual(
      changes.map((c) => [c.type, c.nodeId]),
      [
        ['removeNode', 3],
        ['addLearner', 2],
        ['addNode', 6],
      ],
    );
  });

  it('refuses what it cannot do, with the reason', () => {
    assert.throws(() => memberChanges(THREE, req({ leaving: '9' })), /server 9 is not a member/);
    assert.throws(() => memberChanges(THREE, req({ leaving: 'x' })), /not a server id/);
    assert.throws(() => memberChanges(THREE, req({ joining: 'server.4=nonsense' })), /malformed/);
    assert.throws(
      () => memberChanges(THREE, req({ joining: 'server.2=127.0.0.1:9999:3889:participant;127.0.0.1:2182' })),
      /changing its addresses is not supported/,
    );
    assert.throws(() => memberChanges(THREE, req({ members: 'server.1=a:1:2', leaving: '2' })), /either newMembers/);
    assert.deepEqual(memberChanges(THREE, req({})), []);
  });
});

describe('peer wire', () => {
  const roundTrip = (m: PeerMessage): PeerMessage => {
    const w = new JuteWriter(256);
    encodePeerMessage(w, m);
    return decodePeerMessage(w.toBuffer());
  };

  it('raft messages keep every field they carry, and only those', () => {
    const msgs: PeerMessage[] = [
      {
        kind: PeerKind.raft,
        msg: {
          type: 'MsgApp',
          from: 1,
          to: 2,
          term: 7,
          logTerm: 6,
          index: 41,
          commit: 40,
          entries: [
            { index: 42, term: 7, type: 'normal', data: utf8.encode('a') },
            { index: 43, term: 7, type: 'confChange', data: utf8.encode('b') },
          ],
        },
      },
      {
        kind: PeerKind.raft,
        msg: { type: 'MsgAppResp', from: 2, to: 1, term: 7, index: 41, reject: true, rejectHint: 30, logTerm: 5 },
      },
      { kind: PeerKind.raft, msg: { type: 'MsgHeartbeat', from: 1, to: 3, term: 2 ** 40, commit: 9, readSeq: 3 } },
      { kind: PeerKind.raft, msg: { type: 'MsgVote', from: 3, to: 1, term: 8, index: 43, logTerm: 7, transfer: true } },
      { kind: PeerKind.raft, msg: { type: 'MsgReadIndex', from: 3, to: 1, term: 0, context: utf8.encode('ctx') } },
      {
        kind: PeerKind.raft,
        msg: {
          type: 'MsgSnap',
          from: 1,
          to: 2,
          term: 9,
          snapshot: { index: 100, term: 8, conf: { voters: [1, 2, 3], learners: [4] }, data: utf8.encode('state') },
        },
      },
      {
        kind: PeerKind.forward,
        write: { incarnation: 5, stream: 2, seq: 11, kind: 1, sessionId: -5n, cxid: 3, op: 5, body: utf8.encode('x') },
      },
      { kind: PeerKind.forwardRejected, incarnation: 5, seq: 11 },
      { kind: PeerKind.touch, sessions: [{ id: 0x0102030405060708n, timeout: 4000 }] },
      {
        kind: PeerKind.forwardConf,
        incarnation: 1,
        stream: 0,
        seq: 2,
        changes: [{ type: 'removeNode', nodeId: 3, line: '' }],
      },
      { kind: PeerKind.snapChunk, head: null, offset: 1024, total: 4096, data: utf8.encode('piece') },
    ];
    // Decoded payloads are Buffers; compare the bytes.
    const plain = (v: unknown): unknown =>
      v instanceof Uint8Array
        ? Array.from(v)
        : Array.isArray(v)
          ? v.map(plain)
          : v !== null && typeof v === 'object'
            ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]))
            : v;
    for (const m of msgs) assert.deepEqual(plain(roundTrip(m)), plain(m));
  });

  it('garbage is an error, not a crash', () => {
    assert.throws(() => decodePeerMessage(new Uint8Array([0, 0, 0, 99])), /unknown peer message kind/);
    assert.throws(() => decodePeerMessage(new Uint8Array([0, 0, 0, 1, 0, 0, 0, 77])), /unknown raft message type/);
    assert.throws(() => decodePeerMessage(new Uint8Array([0, 0, 0, 2, 0])));
  });
});
