// A rolling restart of a 3-server Synod ensemble (each server stopped and
// started in turn, the next only once it has rejoined) while clients write
// through the connect string and retry on connection loss as Curator's
// RetryNTimes does: no operation fails beyond its retries, and every
// acknowledged write is on every server at the end.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Ensemble } from '../../src/testing/servers.js';
import {
  Clients,
  WriteLoad,
  assertConverged,
  assertHasAll,
  describeModes,
  missingOn,
  startSynod3,
  waitSameZxid,
  waitUntil,
} from './helpers.js';

describe('rolling restart under load', () => {
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

  test('no client operation fails beyond its retries; nothing acknowledged is lost', async (t) => {
    const e = ens!;
    load = new WriteLoad(e.connectString, clients, {
      clients: 3,
      prefix: '/rolling',
      depth: 3,
      maxOps: 60_000,
      retries: 10,
      retrySleepMs: 200,
    });
    await load.start();
    await load.progress(200, 'before the first restart');

    // Followers first and the leader last, as an operator would.
    const leader = await e.waitForLeader({ timeoutMs: 10_000 });
    const order = [...e.servers.filter((s) => s.id !== leader.id), leader];
    for (const s of order) {
      await s.stop();
      await load.progress(100, `while server ${s.id} is down`);
      await s.start({ timeoutMs: 30_000 });
      await e.waitForQuorum({ timeoutMs: 30_000, all: true });
      // Rejoined: it has the others' history before the next one goes down.
      await waitUntil(
        async () => {
          const st = await describeModes(e.servers);
          return !st.includes('looking') && !st.includes('down');
        },
        `server ${s.id} rejoined`,
        { describe: () => describeModes(e.servers) },
      );
      await load.progress(100, `after server ${s.id} restarted`);
    }
    await load.stop();
    t.diagnostic(
      `restarted ${order.map((s) => s.id).join(', ')}; acknowledged ${load.count}, retries ${load.retried}, failures ${load.failures.length}`,
    );
    assert.deepEqual(load.failures.slice(0, 20), [], `${load.failures.length} operations failed beyond their retries`);

    await waitSameZxid(e.servers);
    const tree = await assertConverged(e.servers, clients);
    assertHasAll(tree, load.acked, 'the converged tree');
    for (const s of e.servers) {
      assert.deepEqual((await missingOn(s, clients, load.acked)).slice(0, 20), [], `server ${s.id} lacks writes`);
    }
  });
});
