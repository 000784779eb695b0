// A follower that was down while the leader compacted its log catches up by
// snapshot: with snapCount=200 every server snapshots often, and the leader
// keeps 5000 entries behind its snapshot for slow followers, so more writes
// than that while one follower is stopped leave it behind the leader's log.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { Ensemble } from '../../src/testing/servers.js';
import { Clients, assertConverged, connectStringOf, mntr, startSynod3, waitSameZxid, within } from './helpers.js';

/** More entries than the leader keeps behind a snapshot (QuorumPeer's catch-up window of 5000). */
const WRITES = 6_000;
const IN_FLIGHT = 200;

describe('catch-up by snapshot', () => {
  let ens: Ensemble | undefined;
  const clients = new Clients();

  before(async () => {
    ens = await startSynod3({ config: { snapCount: 200 } });
  });

  after(async () => {
    await clients.closeAll();
    await ens?.stop();
  });

  test('a follower stopped across a log compaction gets a snapshot and the same data', async (t) => {
    const e = ens!;
    const leader = await e.waitForLeader({ timeoutMs: 10_000 });
    const follower = e.servers.find((s) => s.id !== leader.id)!;
    const others = e.servers.filter((s) => s.id !== follower.id);
    const zk = await clients.connect(connectStringOf(others), { sessionTimeout: 20_000 });
    await zk.create('/snap', '');
    for (let i = 0; i < 50; i++) await zk.create(`/snap/early-${i}`, `${i}`);
    await waitSameZxid(e.servers);

    await follower.stop();
    const logBefore = readFileSync(follower.logPath, 'utf8').length;
    let next = 0;
    const lane = async (): Promise<void> => {
      for (let guard = 0; guard < WRITES && next < WRITES; guard++) {
        const i = next++;
        await zk.create(`/snap/n-${String(i).padStart(5, '0')}`, `data-${i}`);
      }
    };
    await within(Promise.all(Array.from({ length: IN_FLIGHT }, lane)), 120_000, `${WRITES} creates`);
    await zk.setData('/snap/early-0', 'changed');
    await zk.delete('/snap/early-1');

    const m = await mntr(leader);
    const lastIndex = Number(m.get('synod_raft_last_index'));
    t.diagnostic(`leader ${leader.id} at index ${lastIndex}; follower ${follower.id} stopped`);

    await follower.start({ timeoutMs: 30_000 });
    await waitSameZxid(e.servers, 60_000);
    const log = readFileSync(follower.logPath, 'utf8').slice(logBefore);
    const installed = /installed snapshot at index (\d+)/.exec(log);
    assert.ok(installed, `server ${follower.id} did not install a snapshot\n${follower.logTail(30)}`);
    t.diagnostic(`follower ${follower.id}: ${installed[0]}`);

    const tree = await assertConverged(e.servers, clients);
    assert.equal(tree.get('/snap/early-0'), 'changed');
    assert.equal(tree.has('/snap/early-1'), false);
    assert.equal(tree.get('/snap/n-05999'), 'data-5999');
    assert.equal([...tree.keys()].filter((p) => p.startsWith('/snap/n-')).length, WRITES);

    // It serves from the snapshot and follows the log from there on.
    await zk.create('/snap/after', 'a');
    const direct = await clients.connect(`${follower.host}:${follower.clientPort}`);
    await direct.sync('/snap');
    assert.equal((await direct.getData('/snap/after')).data?.toString(), 'a');
    assert.equal((await direct.getData('/snap/n-00000')).data?.toString(), 'data-0');
  });
});
