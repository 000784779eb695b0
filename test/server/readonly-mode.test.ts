// Read-only mode on an ensemble member cut off from its majority: clients that
// allow it are served reads, writes get NOTREADONLY, `isro` says ro, and once a
// leader is back the read-only connections close so clients return read-write.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ZooKeeper } from '../../src/client/index.js';
import { fourLetterWord, startSynodEnsemble, type Ensemble } from '../../src/testing/servers.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 1000 && Date.now() < deadline; i++) {
    if (await check()) return;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('read-only mode', () => {
  let ens: Ensemble;
  before(async () => {
    ens = await startSynodEnsemble({
      size: 3,
      tickTime: 500,
      config: { 'readonlymode.enabled': 'true', 'synod.electionTimeoutMs': 400, 'synod.heartbeatMs': 50 },
    });
  });
  after(async () => {
    await ens?.stop();
  });

  it('serves reads without a quorum and goes back to read-write when one returns', async () => {
    const writer = await ZooKeeper.connect(ens.connectString, { sessionTimeout: 10_000 });
    await writer.create('/ro', 'before');
    await writer.sync('/ro');
    await writer.close();

    const [a, b, c] = ens.servers;
    // Keep server c; take away the other two so c has no majority.
    await a!.kill9();
    await b!.kill9();
    await until('c to lose its leader', async () => (await fourLetterWord(c!.clientPort, 'isro')) === 'ro');

    const plain = new ZooKeeper(c!.connectString, { sessionTimeout: 10_000 });
    await assert.rejects(
      plain.waitForConnected({ timeout: 1500 }),
      'a client that did not ask for read-only is refused',
    );
    await plain.close();

    const ro = await ZooKeeper.connect(c!.connectString, { sessionTimeout: 10_000, canBeReadOnly: true });
    assert.equal(ro.state, 'readOnly');
    assert.equal((await ro.getData('/ro')).data?.toString(), 'before');
    await assert.rejects(
      ro.setData('/ro', 'during'),
      (e: Error & { codeName?: string }) => e.codeName === 'NOTREADONLY',
    );

    let sawReadWrite = false;
    ro.on('connected', () => {
      sawReadWrite = true;
    });
    await a!.start();
    await b!.start();
    await ens.waitForQuorum({ all: true, timeoutMs: 30_000 });
    await until('the client to come back read-write', () => sawReadWrite || ro.state === 'connected');
    assert.equal(await fourLetterWord(c!.clientPort, 'isro'), 'rw');
    await until('a write to go through', async () => {
      try {
        await ro.setData('/ro', 'after');
        return true;
      } catch {
        return false;
      }
    });
    assert.equal((await ro.getData('/ro')).data?.toString(), 'after');
    await ro.close();
  });
});
