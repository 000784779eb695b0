// Network partitions of a 3-server Synod ensemble, made by cutting the
// proxies that carry its server-to-server links (synod.dial.N).
//
// - The leader alone on one side: it acknowledges nothing there (its client
//   gets errors or a lost connection, never a success), the other two elect a
//   leader and take writes, and after the heal there is one history without
//   the old leader's unacknowledged writes.
// - A follower alone: it stops serving (Mode looking, its clients are closed)
//   and catches up after the heal.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { RawClient, type RawReply } from '../../src/client/raw.js';
import { Err, OpCode, Perms } from '../../src/jute/constants.js';
import {
  Clients,
  ProxiedEnsemble,
  assertConverged,
  connectStringOf,
  describeModes,
  hostOf,
  srvr,
  waitUntil,
  within,
} from './helpers.js';

const OPEN_ACL = [{ perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } }];

describe('partitions through cuttable proxies', () => {
  let pe: ProxiedEnsemble | undefined;
  const clients = new Clients();
  const raws: RawClient[] = [];

  before(async () => {
    pe = await ProxiedEnsemble.start(3);
    const admin = await clients.connect(pe.ensemble.connectString);
    await admin.create('/part', '');
    await clients.close(admin);
  });

  after(async () => {
    for (const r of raws) r.destroy();
    pe?.healAll();
    await clients.closeAll();
    await pe?.stop();
  });

  test('an isolated leader acknowledges nothing; the majority goes on; one history after the heal', async (t) => {
    const e = pe!.ensemble;
    const old = await e.waitForLeader({ timeoutMs: 10_000 });
    const others = e.servers.filter((s) => s.id !== old.id);
    // A session made before the cut: the old leader still takes its writes for a while.
    const raw = await RawClient.connect({ host: old.host, port: old.clientPort, timeoutMs: 20_000 });
    raws.push(raw);
    const pre = await raw.request(OpCode.create, {
      path: '/part/before-cut',
      data: Buffer.from('x'),
      acl: OPEN_ACL,
      flags: 0,
      ttl: -1,
    });
    assert.equal(pre.err, 0);

    pe!.isolate(old.id);
    // A sync (ReadIndex) needs the leader to hear from a majority: it must not succeed here.
    const syncAnswer = raw.request(OpCode.sync, { path: '/part' }).then(
      (r) => (r.err === Err.OK ? 'ok' : `err ${r.err}`),
      (err: Error) => err.name,
    );
    const minority: string[] = [];
    const answers: Promise<RawReply | Error>[] = [];
    for (let i = 0; i < 30; i++) {
      const path = `/part/minority-${i}`;
      minority.push(path);
      answers.push(
        raw.request(OpCode.create, { path, data: Buffer.from(path), acl: OPEN_ACL, flags: 0, ttl: -1 }).then(
          (r) => r as RawReply,
          (err: Error) => err,
        ),
      );
    }

    // The majority elects a leader of its own and takes writes.
    const fresh = await e.waitForLeader({ not: old.id, timeoutMs: 20_000 });
    assert.notEqual(fresh.id, old.id);
    const majority = await clients.connect(connectStringOf(others));
    const majorityPaths: string[] = [];
    for (let i = 0; i < 50; i++) {
      const path = `/part/majority-${i}`;
      await within(majority.create(path, path), 10_000, `create ${path} on the majority`);
      majorityPaths.push(path);
    }

    const settled = await within(Promise.all(answers), 30_000, 'answers from the isolated leader');
    const acked = settled.filter((r) => !(r instanceof Error) && r.err === Err.OK).length;
    const how = settled.map((r) => (r instanceof Error ? r.name : `err ${r.err}`));
    t.diagnostic(`the isolated leader ${old.id} answered: ${[...new Set(how)].join(', ')}`);
    assert.equal(acked, 0, `the isolated leader acknowledged ${acked} writes: ${how.join(', ')}`);
    assert.notEqual(await within(syncAnswer, 30_000, 'sync on the isolated leader'), 'ok', 'sync without a majority');

    await waitUntil(async () => (await srvr(old)).mode === 'looking', `isolated server ${old.id} looking`, {
      timeoutMs: 15_000,
      describe: () => describeModes(e.servers),
    });
    // A client that reaches only the isolated server gets no session there.
    const late = await RawClient.connect({ host: old.host, port: old.clientPort, timeoutMs: 5_000 }).then(
      (c) => c,
      (err: Error) => err,
    );
    if (!(late instanceof Error)) {
      raws.push(late);
      assert.fail(`a looking server accepted a new session 0x${late.sessionId.toString(16)}`);
    }

    pe!.healAll();
    await waitUntil(async () => (await srvr(old)).mode === 'follower', `server ${old.id} following after the heal`, {
      timeoutMs: 20_000,
      describe: () => describeModes(e.servers),
    });
    const tree = await assertConverged(e.servers, clients);
    for (const p of majorityPaths) assert.equal(tree.get(p), p, `majority write ${p}`);
    assert.equal(tree.get('/part/before-cut'), 'x');
    const survivors = minority.filter((p) => tree.has(p));
    assert.deepEqual(survivors, [], 'writes the isolated leader never acknowledged are in the history');
    await clients.close(majority);
  });

  test('an isolated follower stops serving and catches up after the heal', async () => {
    const e = pe!.ensemble;
    const leader = await e.waitForLeader({ timeoutMs: 10_000 });
    const follower = e.servers.find((s) => s.id !== leader.id)!;
    const others = e.servers.filter((s) => s.id !== follower.id);
    await waitUntil(async () => (await srvr(follower)).mode === 'follower', `server ${follower.id} following`);

    // A client that can reach only this follower; its session outlives the partition.
    const lonely = await clients.connect(hostOf(follower), { sessionTimeout: 20_000 });
    const drops: string[] = [];
    lonely.on('disconnected', (why) => drops.push(why));
    await lonely.create('/part/lonely', 'v0');

    pe!.isolate(follower.id);
    await waitUntil(async () => (await srvr(follower)).mode === 'looking', `isolated follower ${follower.id} looking`, {
      timeoutMs: 15_000,
      describe: () => describeModes(e.servers),
    });
    await waitUntil(() => drops.length > 0, 'the isolated follower closing its client', { timeoutMs: 10_000 });
    assert.notEqual(lonely.state, 'connected');

    const majority = await clients.connect(connectStringOf(others));
    for (let i = 0; i < 100; i++) await majority.create(`/part/while-cut-${i}`, `${i}`);
    await majority.setData('/part/lonely', 'v1');
    // Still looking: it cannot hear the leader.
    await sleep(500);
    assert.equal((await srvr(follower)).mode, 'looking');

    pe!.healAll();
    await waitUntil(async () => (await srvr(follower)).mode === 'follower', `server ${follower.id} following again`, {
      timeoutMs: 20_000,
      describe: () => describeModes(e.servers),
    });
    await waitUntil(() => lonely.state === 'connected', 'the lonely client back on its server', { timeoutMs: 20_000 });
    await lonely.sync('/part');
    assert.equal((await lonely.getData('/part/lonely')).data?.toString(), 'v1');
    assert.equal((await lonely.getChildren('/part')).filter((c) => c.startsWith('while-cut-')).length, 100);
    await assertConverged(e.servers, clients);
    await clients.close(majority);
    await clients.close(lonely);
  });
});
