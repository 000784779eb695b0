// A Synod ensemble of three participants and one observer: the observer
// serves reads, forwards writes, and does not vote, so with two of the three
// participants gone nothing anywhere takes writes and the observer cannot
// make itself (or the last participant) leader.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Ensemble } from '../../src/testing/servers.js';
import {
  Clients,
  ProxiedEnsemble,
  assertConverged,
  describeModes,
  hostOf,
  mntr,
  srvr,
  startSynod3,
  waitSameZxid,
  waitUntil,
  within,
} from './helpers.js';

describe('an ensemble with an observer', () => {
  let ens: Ensemble | undefined;
  const clients = new Clients();

  before(async () => {
    ens = await startSynod3({ observers: 1 });
  });

  after(async () => {
    await clients.closeAll();
    await ens?.stop();
  });

  test('the observer serves reads and forwards writes', async () => {
    const e = ens!;
    const observer = e.server(4);
    assert.equal(observer.role, 'observer');
    assert.equal((await srvr(observer)).mode, 'observer');
    const leader = await e.waitForLeader({ timeoutMs: 10_000 });
    const lm = await mntr(leader);
    assert.equal(lm.get('zk_quorum_size'), '2', 'three voters');
    assert.equal(lm.get('zk_synced_non_voting_followers'), '1');

    const viaLeader = await clients.connect(hostOf(leader));
    await viaLeader.create('/obs', 'from-leader');
    const viaObserver = await clients.connect(hostOf(observer));
    await viaObserver.sync('/obs');
    assert.equal((await viaObserver.getData('/obs')).data?.toString(), 'from-leader');

    await viaObserver.create('/obs/w', 'from-observer');
    await viaObserver.setData('/obs', 'changed-by-observer');
    // The observer answers after applying its own write.
    assert.equal((await viaObserver.getData('/obs')).data?.toString(), 'changed-by-observer');
    await viaLeader.sync('/obs');
    assert.equal((await viaLeader.getData('/obs/w')).data?.toString(), 'from-observer');
    await waitSameZxid(e.servers);
    await assertConverged(e.servers, clients);
    // ZooKeeper's latency summaries: the leader times proposals to their
    // commit, the others the leader's proposal to their own apply.
    const lm2 = await mntr(leader);
    const om = await mntr(observer);
    assert.ok(Number(lm2.get('zk_cnt_quorum_ack_latency')) >= 3, `leader: ${lm2.get('zk_cnt_quorum_ack_latency')}`);
    assert.ok(
      Number(om.get('zk_cnt_commit_propagation_latency')) >= 3,
      `observer: ${om.get('zk_cnt_commit_propagation_latency')}`,
    );
    assert.equal(om.has('zk_cnt_quorum_ack_latency'), true, 'every ensemble member has both summaries');
    assert.ok(Number(om.get('zk_cnt_updatelatency')) >= 2, 'the observer answered two writes');
    assert.ok(
      Number(om.get('zk_p99_commit_propagation_latency')) <= Number(om.get('zk_max_commit_propagation_latency')),
    );
    // The hops in between, under ZooKeeper's names: the leader has an ack
    // figure per voter (itself included) and none for the observer; a voting
    // follower times receipt and acknowledgement; the observer only receipt.
    for (const v of e.servers.filter((x) => x.role === 'participant')) {
      assert.ok(Number(lm2.get(`zk_cnt_${v.id}_ack_latency`)) >= 3, `leader's ack figure for ${v.id}`);
    }
    assert.equal(lm2.has(`zk_cnt_${observer.id}_ack_latency`), false, 'observers do not acknowledge');
    const follower = e.servers.find((x) => x.role === 'participant' && x.id !== leader.id)!;
    const fm = await mntr(follower);
    assert.ok(Number(fm.get('zk_cnt_proposal_latency')) >= 3, `follower: ${fm.get('zk_cnt_proposal_latency')}`);
    assert.ok(Number(fm.get('zk_cnt_proposal_ack_creation_latency')) >= 3);
    assert.ok(Number(om.get('zk_cnt_proposal_latency')) >= 3, `observer: ${om.get('zk_cnt_proposal_latency')}`);
    assert.equal(om.get('zk_cnt_proposal_ack_creation_latency'), '0');
    await clients.close(viaLeader);
    await clients.close(viaObserver);
  });

  test('with two participants down the observer cannot elect and nothing takes writes', async (t) => {
    const e = ens!;
    const observer = e.server(4);
    const leader = await e.waitForLeader({ timeoutMs: 10_000 });
    const survivor = e.servers.find((s) => s.role === 'participant' && s.id !== leader.id)!;
    const gone = e.servers.filter((s) => s.role === 'participant' && s.id !== survivor.id);
    const zk = await clients.connect(hostOf(observer), { sessionTimeout: 20_000 });
    await zk.create('/obs/before', '');

    for (const s of gone) await s.kill9();
    await waitUntil(
      async () => (await srvr(observer)).mode === 'looking' && (await srvr(survivor)).mode === 'looking',
      'the observer and the last participant looking',
      { timeoutMs: 15_000, describe: () => describeModes(e.servers) },
    );
    // Several election timeouts (500 ms each): nobody becomes leader.
    const seen = new Set<string>();
    for (let i = 0; i < 10; i++) {
      for (const s of [observer, survivor]) seen.add((await srvr(s)).mode);
      await sleep(300);
    }
    t.diagnostic(`modes seen without a quorum: ${[...seen].join(', ')}`);
    assert.ok(!seen.has('leader'), `a leader without a quorum: ${[...seen].join(', ')}`);
    assert.ok(!seen.has('follower') && !seen.has('observer'), `serving without a quorum: ${[...seen].join(', ')}`);

    // A write through the observer (or the participant) gets no success.
    const write = zk.create('/obs/without-quorum', '', { timeout: 3_000 }).then(
      () => 'ok',
      (err: Error) => err.name,
    );
    assert.notEqual(await within(write, 10_000, 'the write without a quorum'), 'ok');

    // Back to a quorum: the write never happened and the ensemble serves again.
    for (const s of gone) await s.start({ timeoutMs: 30_000 });
    await e.waitForQuorum({ timeoutMs: 30_000, all: true });
    await waitUntil(async () => (await srvr(observer)).mode === 'observer', 'the observer serving again');
    const tree = await assertConverged(e.servers, clients);
    assert.ok(tree.has('/obs/before'));
    assert.ok(!tree.has('/obs/without-quorum'), 'a write made without a quorum');
  });
});

describe('an observer cut off from the leader', () => {
  let pe: ProxiedEnsemble | undefined;
  const clients = new Clients();

  before(async () => {
    pe = await ProxiedEnsemble.start(3, {}, 1);
  });

  after(async () => {
    pe?.healAll();
    await clients.closeAll();
    await pe?.stop();
  });

  test('stops serving, and serves again once it hears from the same leader', async () => {
    const e = pe!.ensemble;
    const observer = e.server(4);
    const leader = await e.waitForLeader({ timeoutMs: 10_000 });
    await waitUntil(async () => (await srvr(observer)).mode === 'observer', 'the observer serving');
    const zk = await clients.connect(hostOf(observer), { sessionTimeout: 20_000 });
    const drops: string[] = [];
    zk.on('disconnected', (why) => drops.push(why));
    await zk.create('/cut', 'v0');

    pe!.isolate(observer.id);
    await waitUntil(async () => (await srvr(observer)).mode === 'looking', 'the cut-off observer looking', {
      timeoutMs: 15_000,
      describe: () => describeModes(e.servers),
    });
    await waitUntil(() => drops.length > 0, 'the cut-off observer closing its client', { timeoutMs: 10_000 });
    const others = await clients.connect(hostOf(leader));
    await others.setData('/cut', 'v1');
    // The participants did not notice: the same leader leads.
    assert.equal((await srvr(leader)).mode, 'leader');

    pe!.healAll();
    await waitUntil(async () => (await srvr(observer)).mode === 'observer', 'the observer serving again', {
      timeoutMs: 15_000,
      describe: () => describeModes(e.servers),
    });
    assert.equal((await srvr(leader)).mode, 'leader', 'still the same leader');
    await waitUntil(() => zk.state === 'connected', 'the client back on the observer', { timeoutMs: 15_000 });
    await zk.sync('/cut');
    assert.equal((await zk.getData('/cut')).data?.toString(), 'v1');
    await assertConverged(e.servers, clients);
  });
});
