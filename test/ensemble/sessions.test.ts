// Sessions across the servers of a 3-server Synod ensemble:
// - a client whose server dies moves to another within its session timeout
//   and keeps its session, its ephemeral and its watch (which then fires for
//   a change made through a third server);
// - a session whose client vanishes expires on the leader and its ephemeral
//   disappears everywhere;
// - after a leader change every session gets a fresh timeout, so idle but
//   live clients are not expired by the new leader.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CreateMode, EventType, type WatchedEvent, type ZooKeeper } from '../../src/client/index.js';
import { RawClient } from '../../src/client/raw.js';
import { OpCode, Perms } from '../../src/jute/constants.js';
import type { Ensemble, EnsembleMember } from '../../src/testing/servers.js';
import {
  Clients,
  IN_ORDER,
  connectStringOf,
  describeModes,
  hostOf,
  startSynod3,
  waitUntil,
  within,
} from './helpers.js';

const OPEN_ACL = [{ perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } }];

/** Whether `path` exists on server s after a sync there. */
async function existsOn(s: EnsembleMember, clients: Clients, path: string): Promise<bigint | null> {
  const zk = await clients.connect(hostOf(s));
  try {
    await within(zk.sync(path), 10_000, `sync on ${s.describe()}`);
    const st = await zk.exists(path);
    return st === null ? null : st.ephemeralOwner;
  } finally {
    await clients.close(zk);
  }
}

describe('sessions across servers', () => {
  let ens: Ensemble | undefined;
  const clients = new Clients();
  const raws: RawClient[] = [];

  before(async () => {
    ens = await startSynod3({ tickTime: 200 });
    const zk = await clients.connect(ens.connectString);
    await zk.create('/s', '');
    await zk.create('/s/watched', 'v0');
    await clients.close(zk);
  });

  after(async () => {
    for (const r of raws) r.destroy();
    await clients.closeAll();
    await ens?.stop();
  });

  test('a client whose server dies keeps its session, ephemeral and watch on another', async () => {
    const e = ens!;
    const leader = await e.waitForLeader({ timeoutMs: 10_000 });
    const [a, b] = e.servers.filter((s) => s.id !== leader.id) as [EnsembleMember, EnsembleMember];
    const c = leader;
    const zk = await clients.connect(connectStringOf([a, b, c]), { sessionTimeout: 6_000, random: IN_ORDER });
    assert.equal(zk.connectedTo?.port, a.clientPort, 'the client starts on the first host');
    let expired = false;
    zk.on('expired', () => (expired = true));
    const events: WatchedEvent[] = [];
    const sid = zk.sessionId;
    await zk.create('/s/eph', 'mine', { mode: CreateMode.EPHEMERAL });
    await zk.getData('/s/watched', (ev) => events.push(ev));

    await a.kill9();
    await waitUntil(
      () => zk.state === 'connected' && zk.connectedTo?.port === b.clientPort,
      `the client on server ${b.id}`,
      { timeoutMs: 15_000, describe: () => `state ${zk.state}, on ${zk.connectedTo?.port}` },
    );
    assert.equal(zk.sessionId, sid, 'the same session');
    assert.equal(expired, false);
    assert.equal(await existsOn(c, clients, '/s/eph'), sid, `the ephemeral, owned by the session, on server ${c.id}`);
    assert.equal(await existsOn(b, clients, '/s/eph'), sid);

    const changer = await clients.connect(hostOf(c));
    await changer.setData('/s/watched', 'v1');
    await waitUntil(() => events.length > 0, 'the watch firing after the move', { timeoutMs: 10_000 });
    assert.equal(events[0]!.type, EventType.NodeDataChanged);
    assert.equal(events[0]!.path, '/s/watched');
    await clients.close(changer);

    // The session still works where it is now.
    assert.equal((await zk.getData('/s/eph')).data?.toString(), 'mine');
    await a.start({ timeoutMs: 30_000 });
    await e.waitForQuorum({ timeoutMs: 30_000, all: true });
    await clients.close(zk);
    assert.equal(await existsOn(c, clients, '/s/eph'), null, 'closing the session removed its ephemeral');
  });

  test('a session whose client is gone expires, and its ephemeral disappears on every server', async () => {
    const e = ens!;
    const leader = await e.waitForLeader({ timeoutMs: 10_000 });
    const follower = e.servers.find((s) => s.id !== leader.id)!;
    const raw = await RawClient.connect({ host: follower.host, port: follower.clientPort, timeoutMs: 1_500 });
    raws.push(raw);
    const r = await raw.request(OpCode.create, {
      path: '/s/ghost',
      data: Buffer.from('boo'),
      acl: OPEN_ACL,
      flags: 1, // ephemeral
      ttl: -1,
    });
    assert.equal(r.err, 0);
    for (const s of e.servers) assert.equal(await existsOn(s, clients, '/s/ghost'), raw.sessionId);
    // Gone without a closeSession: only the leader's expiry can remove it.
    raw.destroy();
    for (const s of e.servers) {
      await waitUntil(async () => (await existsOn(s, clients, '/s/ghost')) === null, `/s/ghost gone on ${s.id}`, {
        timeoutMs: 20_000,
        pollMs: 300,
      });
    }
  });

  test('after a leader change idle sessions get a fresh timeout instead of expiring', async (t) => {
    const e = ens!;
    const old = await e.waitForLeader({ timeoutMs: 10_000 });
    const followers = e.servers.filter((s) => s.id !== old.id);
    // One idle client on each follower: whichever follower leads next, the
    // other one's client was never heard from by the new leader directly.
    const idle: Array<{ zk: ZooKeeper; server: EnsembleMember; expired: boolean; path: string }> = [];
    for (const f of followers) {
      const zk = await clients.connect(hostOf(f), { sessionTimeout: 3_000 });
      const entry = { zk, server: f, expired: false, path: `/s/idle-${f.id}` };
      zk.on('expired', () => (entry.expired = true));
      await zk.create(entry.path, '', { mode: CreateMode.EPHEMERAL });
      idle.push(entry);
    }
    // Longer than the session timeout: any deadline the new leader kept from before is stale.
    await sleep(4_000);

    await old.kill9();
    const fresh = await e.waitForLeader({ not: old.id, timeoutMs: 20_000 });
    t.diagnostic(`leader ${old.id} killed, ${fresh.id} elected`);
    for (const c of idle) {
      await waitUntil(() => c.zk.state === 'connected' || c.expired, `the client of server ${c.server.id} back`, {
        timeoutMs: 15_000,
        describe: () => describeModes(e.servers),
      });
    }
    // Well past the session timeout under the new leader.
    await sleep(4_500);
    for (const c of idle) {
      assert.equal(c.expired, false, `the idle session on server ${c.server.id} expired`);
      assert.equal(c.zk.state, 'connected');
      assert.equal(await existsOn(fresh, clients, c.path), c.zk.sessionId, `${c.path} on the new leader`);
    }
    await old.start({ timeoutMs: 30_000 });
    await e.waitForQuorum({ timeoutMs: 30_000, all: true });
  });
});
