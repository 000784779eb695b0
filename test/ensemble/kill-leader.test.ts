// kill -9 of the leader of a 3-server Synod ensemble while several clients
// write through the connect string: nothing acknowledged is lost, writes
// resume under a new leader, and the killed server comes back and catches up.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Ensemble } from '../../src/testing/servers.js';
import {
  Clients,
  WriteLoad,
  assertConverged,
  assertHasAll,
  fifoViolations,
  missingOn,
  srvr,
  startSynod3,
} from './helpers.js';

describe('kill -9 of the leader under a write load', () => {
  let ens: Ensemble | undefined;
  const clients = new Clients();
  let load: WriteLoad | undefined;

  before(async () => {
    ens = await startSynod3();
  });

  after(async () => {
    await load?.stop().catch(() => undefined);
    await clients.closeAll();
    await ens?.stop();
  });

  test('every acknowledged write survives, and the old leader catches up', async (t) => {
    const e = ens!;
    load = new WriteLoad(e.connectString, clients, { clients: 4, prefix: '/load', depth: 4, maxOps: 40_000 });
    await load.start();
    await load.progress(300, 'before the kill');

    const old = await e.waitForLeader({ timeoutMs: 10_000 });
    await old.kill9();
    const beforeKill = load.count;
    const fresh = await e.waitForLeader({ not: old.id, timeoutMs: 20_000 });
    assert.notEqual(fresh.id, old.id);

    // Writes go on under the new leader.
    await load.progress(300, `under the new leader ${fresh.id}`);
    assert.ok(load.count > beforeKill);

    await old.start({ timeoutMs: 30_000 });
    await load.progress(200, 'after the restart');
    await load.stop();

    assert.ok(load.count >= 800, `acknowledged ${load.count}; failures: ${load.failures.slice(0, 5).join('; ')}`);
    // Only connection losses while the leader changed; nothing refused outright.
    const hard = load.failures.filter((f) => !/ConnectionLoss|RequestTimeout/.test(f));
    assert.deepEqual(hard, [], 'writes failed with something other than a connection loss');

    t.diagnostic(
      `leader ${old.id} killed, ${fresh.id} elected; acknowledged ${load.count}, unknown ${load.unknown.size}, failures ${load.failures.length}`,
    );
    const tree = await assertConverged(e.servers, clients);
    assertHasAll(tree, load.acked, 'the converged tree');
    assert.deepEqual(fifoViolations(load, tree), [], 'a write applied after an earlier one of its connection was lost');
    for (const s of e.servers) {
      assert.deepEqual(
        (await missingOn(s, clients, load.acked)).slice(0, 20),
        [],
        `server ${s.id} lacks acknowledged writes`,
      );
    }
    // Writes with no answer may or may not have happened, but the tree holds nothing else.
    const extra = [...tree.keys()].filter(
      (p) => p.startsWith('/load/') && !load!.acked.has(p) && !load!.unknown.has(p),
    );
    assert.deepEqual(extra, [], 'znodes nobody wrote');
    // The restarted server is part of the converged ensemble above: it caught up.
    assert.equal((await srvr(old)).mode, 'follower');
  });
});
