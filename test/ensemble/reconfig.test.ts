// Dynamic membership of a Synod ensemble with ZooKeeper's reconfig: a fourth
// server started with --join is added (it becomes a follower and gets the
// data), then a server is removed; /zookeeper/config changes the same way on
// every server and a getConfig watch fires for each change.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { EventType, type WatchedEvent, type ZooKeeper } from '../../src/client/index.js';
import { LOOPBACK, ManagedServer, freePorts, type Ensemble, type EnsembleMember } from '../../src/testing/servers.js';
import {
  Clients,
  assertConverged,
  connectStringOf,
  describeModes,
  hostOf,
  leaderAmong,
  mntr,
  srvr,
  startSynod3,
  superDigest,
  waitUntil,
} from './helpers.js';

const SUPER = { scheme: 'digest', auth: 'super:secret' };

/** /zookeeper/config as one server has it, after a sync. */
async function configOn(s: ManagedServer, clients: Clients): Promise<string> {
  const zk = await clients.connect(hostOf(s));
  try {
    await zk.sync('/zookeeper/config');
    return (await zk.getConfig()).config;
  } finally {
    await clients.close(zk);
  }
}

function memberIds(config: string): number[] {
  return [...config.matchAll(/^server\.(\d+)=/gm)].map((m) => Number(m[1])).sort((a, b) => a - b);
}

describe('reconfig', () => {
  let ens: Ensemble | undefined;
  let joiner: ManagedServer | undefined;
  const clients = new Clients();

  before(async () => {
    ens = await startSynod3({
      config: { reconfigEnabled: 'true', 'DigestAuthenticationProvider.superDigest': superDigest('super', 'secret') },
    });
  });

  after(async () => {
    await clients.closeAll();
    await joiner?.stop().catch(() => joiner?.killNow());
    await ens?.stop();
  });

  test('a server started with --join is added, follows and gets the data; a member is removed', async (t) => {
    const e = ens!;
    const admin: ZooKeeper = await clients.connect(e.connectString, { auth: [SUPER] });
    await admin.create('/rc', 'root');
    for (let i = 0; i < 200; i++) await admin.create(`/rc/n-${i}`, `${i}`);

    const events: WatchedEvent[] = [];
    const before = await admin.getConfig((ev) => events.push(ev));
    assert.deepEqual(memberIds(before.config), [1, 2, 3]);

    // An unauthenticated client may not change the membership.
    const anon = await clients.connect(e.connectString);
    await assert.rejects(anon.reconfig({ leaving: '1' }), { name: 'NoAuthError' });
    await clients.close(anon);

    const [clientPort, peerPort, electionPort] = (await freePorts(3)) as [number, number, number];
    const line = `${LOOPBACK}:${peerPort}:${electionPort}:participant;${LOOPBACK}:${clientPort}`;
    const dir = join(e.dir, 's4');
    joiner = new ManagedServer({
      kind: 'synod',
      id: 4,
      dir,
      clientPort,
      peerPort,
      electionPort,
      role: 'participant',
      cfg: { ...e.server(1).cfg, dataDir: join(dir, 'data'), clientPort, 'server.4': line },
      myid: 4,
      synodArgs: ['--join'],
      startTimeoutMs: 30_000,
    });
    joiner.spawn();
    const j = joiner;
    // Not yet a member: it answers srvr but serves nobody.
    await waitUntil(async () => (await srvr(j)).mode === 'looking', 'the joiner answering srvr', {
      describe: () => j.logTail(20),
    });

    t.diagnostic(`ensemble in ${e.dir}; adding server 4`);
    const added = await admin.reconfig({ joining: `server.4=${line}` });
    assert.deepEqual(memberIds(added.config), [1, 2, 3, 4]);
    await waitUntil(() => events.length > 0, 'the config watch firing for the addition', { timeoutMs: 10_000 });
    assert.equal(events[0]!.type, EventType.NodeDataChanged);
    assert.equal(events[0]!.path, '/zookeeper/config');

    await waitUntil(async () => (await srvr(j)).mode === 'follower', 'the joiner following', {
      timeoutMs: 20_000,
      describe: async () => `${await describeModes([...e.servers, j])}\n${j.logTail(20)}`,
    });
    const all = [...e.servers, j];
    const tree = await assertConverged(all, clients);
    assert.equal(tree.get('/rc/n-199'), '199');
    for (const s of all) assert.equal(await configOn(s, clients), added.config, `config on server ${s.id}`);
    const leader = await e.waitForLeader({ timeoutMs: 10_000 });
    const lm = await mntr(leader);
    assert.equal(lm.get('zk_quorum_size'), '3', 'four voters need three');
    assert.ok(lm.has('synod_follower_4_lag'), 'the leader tracks the new follower');

    // Remove a follower that is not the new server.
    const victim = e.servers.find((s) => s.id !== leader.id)! as EnsembleMember;
    const rest = all.filter((s) => s.id !== victim.id);
    // Not through the server being removed: Raft's leader stops replicating
    // to a removed member, so that server may never apply its own removal
    // and its client would see only a lost connection.
    const remover = await clients.connect(connectStringOf(rest), { auth: [SUPER] });
    events.length = 0;
    await remover.getConfig((ev) => events.push(ev));
    t.diagnostic(`removing follower ${victim.id}`);
    const removed = await remover.reconfig({ leaving: String(victim.id) });
    assert.deepEqual(
      memberIds(removed.config),
      rest.map((s) => s.id).sort((a, b) => a - b),
    );
    await waitUntil(() => events.length > 0, 'the config watch firing for the removal', { timeoutMs: 10_000 });
    for (const s of rest) assert.equal(await configOn(s, clients), removed.config, `config on server ${s.id}`);
    assert.match(removed.config, /^version=[0-9a-f]+$/m);
    t.diagnostic(`removed server ${victim.id}; config now:\n${removed.config}`);
    await victim.stop();

    // The three left are an ensemble on their own: writes commit, everyone converges.
    const zk = await clients.connect(connectStringOf(rest));
    await zk.create('/rc/after-removal', 'yes');
    const final = await assertConverged(rest, clients);
    assert.equal(final.get('/rc/after-removal'), 'yes');
    const lm2 = await mntr(await leaderAmong(rest));
    assert.equal(lm2.get('zk_quorum_size'), '2', 'three voters need two');

    // Remove the leader itself: it hands over to one of the two left.
    const oldLeader = await leaderAmong(rest);
    const two = rest.filter((s) => s.id !== oldLeader.id);
    const viaOther = await clients.connect(connectStringOf(two), { auth: [SUPER] });
    t.diagnostic(`removing the leader ${oldLeader.id}`);
    const third = await viaOther.reconfig({ leaving: String(oldLeader.id) });
    assert.deepEqual(
      memberIds(third.config),
      two.map((s) => s.id).sort((a, b) => a - b),
    );
    const newLeader = await leaderAmong(two);
    t.diagnostic(`removed the leader ${oldLeader.id}; ${newLeader.id} leads now`);
    await oldLeader.stop();
    await viaOther.create('/rc/after-leader-removal', 'yes');
    const last = await assertConverged(two, clients);
    assert.equal(last.get('/rc/after-leader-removal'), 'yes');
    for (const s of two) assert.equal(await configOn(s, clients), third.config, `config on server ${s.id}`);
  });
});
