// kill -9 the server in the middle of a write load, restart it on the same
// data dir, and check that every write it acknowledged is there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RawClient } from '../../src/client/raw.js';
import { seededRandom as rng } from '../../src/base/random.js';
import { Err, OpCode, Perms } from '../../src/jute/constants.js';
import type { ACL } from '../../src/jute/records.js';
import { startSynod } from '../helpers/servers.js';

const ROUNDS = Number(process.env.CRASH_ROUNDS ?? 20);
const CLIENTS = 4;
const IN_FLIGHT = 16;
const OPEN: ACL[] = [{ perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } }];

interface Acked {
  created: Map<string, string>;
  /** Highest counter value acknowledged per client. */
  counters: Map<string, number>;
}

async function writer(client: RawClient, round: number, id: number, acked: Acked, stop: () => boolean): Promise<void> {
  const counter = `/crash/counter-${id}`;
  let n = 0;
  const one = async (): Promise<void> => {
    while (!stop()) {
      const k = n++;
      if (k % 4 === 3) {
        const value = round * 1_000_000 + k;
        const r = await client.send({
          op: OpCode.setData,
          req: { path: counter, data: Buffer.from(String(value)), version: -1 },
        });
        if (r.err === Err.OK) acked.counters.set(counter, Math.max(acked.counters.get(counter) ?? -1, value));
        else throw new Error(`setData ${counter}: ${r.err}`);
      } else {
        const path = `/crash/r${round}-c${id}-${k}`;
        const data = `${round}:${id}:${k}`;
        const r = await client.send({
          op: OpCode.create,
          req: { path, data: Buffer.from(data), acl: OPEN, flags: 0, ttl: -1 },
        });
        if (r.err === Err.OK) acked.created.set(path, data);
        else throw new Error(`create ${path}: ${r.err}`);
      }
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, one)).catch(() => undefined);
}

test(
  `crash: kill -9 under write load, ${ROUNDS} rounds, no acknowledged write lost`,
  { timeout: 600_000 },
  async () => {
    // A small snapCount makes snapshots and log roll-over happen during the rounds too.
    const server = await startSynod({ config: { snapCount: 2000 } });
    const acked: Acked = { created: new Map(), counters: new Map() };
    const random = rng(20261122);
    try {
      {
        const c = await RawClient.connect({ host: server.host, port: server.port, timeoutMs: 10_000 });
        await c.send({ op: OpCode.create, req: { path: '/crash', data: null, acl: OPEN, flags: 0, ttl: -1 } });
        for (let i = 0; i < CLIENTS; i++) {
          await c.send({
            op: OpCode.create,
            req: { path: `/crash/counter-${i}`, data: Buffer.from('-1'), acl: OPEN, flags: 0, ttl: -1 },
          });
        }
        await c.close();
      }
      for (let round = 0; round < ROUNDS; round++) {
        const clients = await Promise.all(
          Array.from({ length: CLIENTS }, () =>
            RawClient.connect({ host: server.host, port: server.port, timeoutMs: 10_000 }),
          ),
        );
        let stopped = false;
        const load = clients.map((c, i) => writer(c, round, i, acked, () => stopped));
        await new Promise((r) => setTimeout(r, 100 + Math.floor(random() * 300)));
        await server.kill9();
        stopped = true;
        await Promise.all(load);
        for (const c of clients) c.destroy();
        await server.start();

        const check = await RawClient.connect({ host: server.host, port: server.port, timeoutMs: 10_000 });
        const reads = [...acked.created].map(async ([path, data]) => {
          const r = await check.send({ op: OpCode.getData, req: { path, watch: false } });
          assert.equal(r.err, Err.OK, `round ${round}: acknowledged ${path} is missing (err ${r.err})`);
          const body = r.body as { data: Uint8Array | null };
          assert.equal(Buffer.from(body.data ?? []).toString(), data, `round ${round}: ${path} has wrong data`);
        });
        await Promise.all(reads);
        for (const [path, value] of acked.counters) {
          const r = await check.send({ op: OpCode.getData, req: { path, watch: false } });
          const body = r.body as { data: Uint8Array | null };
          const got = Number(Buffer.from(body.data ?? []).toString());
          assert.ok(got >= value, `round ${round}: ${path} is ${got}, but ${value} was acknowledged`);
        }
        await check.close();
      }
      assert.ok(acked.created.size > ROUNDS * 10, `load too small to mean anything: ${acked.created.size} writes`);
    } finally {
      await server.destroy();
    }
  },
);
