import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JuteWriter } from '../../src/jute/buffer.js';
import { OpCode, Perms } from '../../src/jute/constants.js';
import { writeRequest } from '../../src/jute/records.js';
import { Replica, type ReplicaOptions } from '../../src/server/replica.js';
import { EntryKind, encodeCreateSession } from '../../src/txn/entry.js';

function options(dir: string): ReplicaOptions {
  return {
    dataDir: join(dir, 'snap'),
    dataLogDir: join(dir, 'log'),
    forceSync: true,
    snapCount: 50,
    snapRetainCount: 3,
    state: { extendedTypes: false, maxDataBytes: 1 << 20 },
    now: () => 1_700_000_000_000,
    log: () => {},
    walSegmentBytes: 4096,
  };
}

function proposeCreate(r: Replica, path: string): Promise<number> {
  const w = new JuteWriter();
  writeRequest(w, {
    op: OpCode.create,
    req: {
      path,
      data: Buffer.from('v'),
      acl: [{ perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } }],
      flags: 0,
      ttl: -1,
    },
  });
  return new Promise((resolve) =>
    r.propose(EntryKind.request, 7n, 1, OpCode.create, w.toBuffer(), (res) => resolve(res.err)),
  );
}

test('snapshots every snapCount entries, recovery from snapshot plus log, autopurge keeps the newest three', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'synod-replica-'));
  try {
    const r = new Replica(options(dir));
    await r.open();
    const w = new JuteWriter();
    encodeCreateSession(w, 30000, new Uint8Array(16), '127.0.0.1');
    await new Promise((resolve) =>
      r.propose(EntryKind.createSession, 7n, 0, OpCode.createSession, w.toBuffer(), resolve),
    );
    for (let batch = 0; batch < 8; batch++) {
      const errs = await Promise.all(Array.from({ length: 40 }, (_, i) => proposeCreate(r, `/n${batch}-${i}`)));
      assert.deepEqual(new Set(errs), new Set([0]));
      await r.takeSnapshot();
    }
    const snapsBefore = readdirSync(join(dir, 'snap')).filter((f) => f.startsWith('snapshot.'));
    assert.ok(snapsBefore.length >= 5, `snapshots: ${snapsBefore.join(' ')}`);
    const logsBefore = readdirSync(join(dir, 'log')).filter((f) => f.startsWith('log.')).length;
    const purged = await r.purge();
    assert.equal(readdirSync(join(dir, 'snap')).filter((f) => f.startsWith('snapshot.')).length, 3);
    assert.equal(purged.snapshots.length, snapsBefore.length - 3);
    assert.ok(purged.logs > 0 && readdirSync(join(dir, 'log')).filter((f) => f.startsWith('log.')).length < logsBefore);
    const zxid = r.sm.lastZxid;
    const size = r.sm.tree.size;
    await r.close();

    const again = new Replica(options(dir));
    await again.open();
    assert.equal(again.sm.lastZxid, zxid);
    assert.equal(again.sm.tree.size, size);
    assert.ok(again.sm.sessions.has(7n));
    assert.equal(await proposeCreate(again, '/after-restart'), 0);
    await again.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
