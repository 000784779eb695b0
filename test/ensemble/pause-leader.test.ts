// SIGSTOP of the leader for longer than the election timeout (a long GC
// pause, a frozen VM), then SIGCONT: the others elect a leader meanwhile, the
// old one steps down when it runs again, nothing acknowledged is lost and all
// three end with one history.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Ensemble } from '../../src/testing/servers.js';
import {
  Clients,
  WriteLoad,
  assertConverged,
  assertHasAll,
  describeModes,
  fifoViolations,
  missingOn,
  srvr,
  startSynod3,
  waitUntil,
} from './helpers.js';

describe('SIGSTOP of the leader, then SIGCONT', () => {
  let ens: Ensemble | undefined;
  const clients = new Clients();
  let load: WriteLoad | undefined;

  before(async () => {
    ens = await startSynod3();
  });

  after(async () => {
    for (const s of ens?.servers ?? []) s.sigcont();
    await load?.stop().catch(() => undefined);
    await clients.closeAll();
    await ens?.stop();
  });

  test('a new leader is elected while it is stopped; it steps down when resumed', async (t) => {
    const e = ens!;
    load = new WriteLoad(e.connectString, clients, {
      clients: 3,
      prefix: '/paused',
      depth: 4,
      maxOps: 40_000,
      // Requests stuck on the frozen server are given up by the client's own timeout.
      sessionTimeout: 6_000,
    });
    await load.start();
    await load.progress(200, 'before the pause');

    const old = await e.waitForLeader({ timeoutMs: 10_000 });
    old.sigstop();
    const fresh = await e.waitForLeader({ not: old.id, timeoutMs: 20_000 });
    await load.progress(200, `under the new leader ${fresh.id} while ${old.id} is stopped`);
    // Stay stopped well past the election timeout (500 ms) so the old leader's lease is long gone.
    await sleep(1_500);
    await load.progress(50, 'still while stopped');

    old.sigcont();
    await waitUntil(async () => (await srvr(old)).mode === 'follower', `server ${old.id} a follower again`, {
      timeoutMs: 20_000,
      describe: () => describeModes(e.servers),
    });
    const leaders = [...(await e.modes()).values()].filter((m) => m === 'leader');
    assert.equal(leaders.length, 1, await describeModes(e.servers));

    await load.progress(100, 'after the resume');
    await load.stop();
    t.diagnostic(
      `leader ${old.id} paused, ${fresh.id} elected; acknowledged ${load.count}, unknown ${load.unknown.size}, failures ${load.failures.length}`,
    );
    const hard = load.failures.filter((f) => !/ConnectionLoss|RequestTimeout/.test(f));
    assert.deepEqual(hard, [], 'writes failed with something other than a connection loss or timeout');

    const tree = await assertConverged(e.servers, clients);
    assertHasAll(tree, load.acked, 'the converged tree');
    assert.deepEqual(fifoViolations(load, tree), [], 'a write applied after an earlier one of its connection was lost');
    assert.deepEqual((await missingOn(old, clients, load.acked)).slice(0, 20), [], `server ${old.id} lacks writes`);
    const extra = [...tree.keys()].filter(
      (p) => p.startsWith('/paused/') && !load!.acked.has(p) && !load!.unknown.has(p),
    );
    assert.deepEqual(extra, [], 'znodes nobody wrote');
  });
});
