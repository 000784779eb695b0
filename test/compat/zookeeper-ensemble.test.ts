// The ensemble launcher of src/testing/servers.ts, proved against Apache
// ZooKeeper: a 3-server quorum on loopback elects one leader, replicates a
// write from one server to another, and elects a new leader after kill -9.
// A lone Synod (a plain standalone zoo.cfg) goes through the same launcher.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { RawClient } from '../../src/client/raw.js';
import { OpCode, Perms } from '../../src/jute/constants.js';
import type { ACL } from '../../src/jute/records.js';
import {
  SERVING_MODES,
  startSynodEnsemble,
  startZooKeeperEnsemble,
  type Ensemble,
  type EnsembleMember,
} from '../../src/testing/servers.js';
import { peerSkip } from '../helpers/peers.js';

const OPEN_ACL: ACL[] = [{ perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } }];
const OP_TIMEOUT_MS = 15_000;

function within<T>(p: Promise<T>, what: string, ms = OP_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}

async function session<T>(server: EnsembleMember, fn: (c: RawClient) => Promise<T>): Promise<T> {
  const c = await RawClient.connect({ host: server.host, port: server.clientPort, timeoutMs: 10_000 });
  try {
    return await fn(c);
  } finally {
    await c.close().catch(() => c.destroy());
  }
}

async function write(server: EnsembleMember, path: string, data: string): Promise<void> {
  await session(server, async (c) => {
    const r = await within(
      c.request(OpCode.create, { path, data: Buffer.from(data), acl: OPEN_ACL, flags: 0, ttl: -1 }),
      `create ${path} on ${server.describe()}`,
    );
    assert.equal(r.err, 0, `create ${path} on ${server.describe()}: error ${r.err}`);
  });
}

/** getData after a sync, so a follower answers with everything the leader has committed. */
async function read(server: EnsembleMember, path: string): Promise<string> {
  return session(server, async (c) => {
    const s = await within(c.request(OpCode.sync, { path }), `sync ${path} on ${server.describe()}`);
    assert.equal(s.err, 0, `sync ${path} on ${server.describe()}: error ${s.err}`);
    const r = await within(c.request(OpCode.getData, { path, watch: false }), `getData ${path}`);
    assert.equal(r.err, 0, `getData ${path} on ${server.describe()}: error ${r.err}`);
    return Buffer.from(r.body!.data ?? new Uint8Array()).toString('utf8');
  });
}

describe('a 3-server Apache ZooKeeper ensemble', { skip: peerSkip('zookeeper') }, () => {
  let ens: Ensemble | undefined;

  before(async () => {
    ens = await startZooKeeperEnsemble({ size: 3 });
  });

  after(async () => {
    await ens?.stop();
  });

  test('srvr shows one leader and two followers', async () => {
    const modes = [...(await ens!.modes()).values()].sort();
    assert.deepEqual(modes, ['follower', 'follower', 'leader']);
    assert.equal(ens!.connectString.split(',').length, 3);
    for (const s of ens!.servers) {
      assert.ok(s.pid !== undefined && s.peerPort > 0 && s.electionPort > 0, s.describe());
    }
  });

  test('a write on one server is read on another', async () => {
    const [a, b] = ens!.servers;
    await write(a!, '/ensemble-a', 'from server 1');
    assert.equal(await read(b!, '/ensemble-a'), 'from server 1');
  });

  test('a paused follower reports paused and serves again after SIGCONT', async () => {
    const leader = await ens!.waitForLeader();
    const follower = ens!.servers.find((s) => s !== leader)!;
    follower.sigstop();
    try {
      assert.equal(await follower.mode(), 'paused');
    } finally {
      follower.sigcont();
    }
    await follower.waitReady({ timeoutMs: 60_000 });
    assert.ok(SERVING_MODES.has(await follower.mode()));
  });

  test('kill -9 of the leader: a new leader, the data survives, the old one rejoins', async () => {
    const old = await ens!.waitForLeader();
    await write(old, '/ensemble-b', 'before the crash');
    await old.kill9();
    assert.equal(await old.mode(), 'down');
    const next = await ens!.waitForLeader({ not: old.id, timeoutMs: 90_000 });
    assert.notEqual(next.id, old.id);
    assert.equal(await read(next, '/ensemble-b'), 'before the crash');
    await old.restart({ timeoutMs: 90_000 });
    assert.equal(await old.mode(), 'follower');
    assert.equal(await read(old, '/ensemble-b'), 'before the crash');
  });
});

describe('a Synod "ensemble" of one (a plain standalone zoo.cfg)', () => {
  let ens: Ensemble | undefined;

  before(async () => {
    ens = await startSynodEnsemble({ size: 1 });
  });

  after(async () => {
    await ens?.stop();
  });

  test('serves as standalone and is its own leader', async () => {
    assert.deepEqual([...(await ens!.modes()).values()], ['standalone']);
    const leader = await ens!.leader();
    assert.equal(leader?.id, 1);
    await write(leader!, '/alone', 'one');
    assert.equal(await read(leader!, '/alone'), 'one');
  });
});
