// Hostile bytes at a live server: random and mutated frames on many
// connections, before and after the handshake. The server must stay up and
// keep serving a well-behaved client throughout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { RawClient } from '../../src/client/raw.js';
import { seededRandom as rng } from '../../src/base/random.js';
import { JuteWriter } from '../../src/jute/buffer.js';
import { Err, OpCode, Perms } from '../../src/jute/constants.js';
import { writeConnectRequest, writeRequest, type Request } from '../../src/jute/records.js';
import { startSynod } from '../helpers/servers.js';
import { fourLetterWord } from '../helpers/fourletter.js';

const CASES = Number(process.env.FUZZ_CASES ?? 600);

const OPEN = [{ perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } }];
const SAMPLES: Request[] = [
  { op: OpCode.create, req: { path: '/f/a', data: Buffer.from('x'), acl: OPEN, flags: 0, ttl: -1 } },
  { op: OpCode.createTTL, req: { path: '/f/t', data: null, acl: OPEN, flags: 5, ttl: 1000 } },
  { op: OpCode.setData, req: { path: '/f', data: Buffer.from('y'), version: -1 } },
  { op: OpCode.getChildren2, req: { path: '/f', watch: true } },
  {
    op: OpCode.multi,
    req: [
      { op: OpCode.check, req: { path: '/f', version: 0 } },
      { op: OpCode.delete, req: { path: '/f/a', version: -1 } },
    ],
  },
  { op: OpCode.multiRead, req: [{ op: OpCode.getData, req: { path: '/f', watch: false } }] },
  {
    op: OpCode.setWatches2,
    req: {
      relativeZxid: 0,
      dataWatches: ['/f'],
      existWatches: [],
      childWatches: ['/'],
      persistentWatches: ['/f'],
      persistentRecursiveWatches: [],
    },
  },
  { op: OpCode.setACL, req: { path: '/f', acl: OPEN, version: -1 } },
  { op: OpCode.addWatch, req: { path: '/f', mode: 1 } },
  { op: OpCode.auth, req: { type: 0, scheme: 'digest', auth: Buffer.from('u:p') } },
];

function frame(body: Uint8Array): Buffer {
  const b = Buffer.alloc(4 + body.length);
  b.writeInt32BE(body.length);
  b.set(body, 4);
  return b;
}

function handshake(): Buffer {
  const w = new JuteWriter();
  writeConnectRequest(w, {
    protocolVersion: 0,
    lastZxidSeen: 0,
    timeOut: 4000,
    sessionId: 0n,
    passwd: new Uint8Array(16),
    readOnly: false,
  });
  return frame(w.toBuffer());
}

function mutate(b: Buffer, random: () => number): Buffer {
  const out = Buffer.from(b);
  const kind = Math.floor(random() * 4);
  if (kind === 0 && out.length > 0) {
    for (let i = 0; i < 1 + Math.floor(random() * 4); i++)
      out[Math.floor(random() * out.length)] = Math.floor(random() * 256);
    return out;
  }
  if (kind === 1) return out.subarray(0, Math.floor(random() * out.length));
  if (kind === 2 && out.length >= 4) {
    // A length or count field somewhere gets a hostile value.
    const at = Math.floor(random() * (out.length - 3));
    out.writeInt32BE([0x7fffffff, -1, -2, 0x10000000][Math.floor(random() * 4)]!, at);
    return out;
  }
  return Buffer.concat([
    out,
    Buffer.from(Array.from({ length: Math.floor(random() * 16) }, () => Math.floor(random() * 256))),
  ]);
}

function send(port: number, chunks: Buffer[]): Promise<void> {
  return new Promise((resolve) => {
    const s: Socket = connect(port, '127.0.0.1', () => {
      for (const c of chunks) s.write(c);
      setTimeout(() => s.destroy(), 30);
    });
    s.on('data', () => {});
    s.on('error', () => {});
    s.on('close', () => resolve());
    setTimeout(() => {
      s.destroy();
      resolve();
    }, 3000).unref();
  });
}

test(`fuzz: ${CASES} hostile connections never take the server down`, { timeout: 300_000 }, async () => {
  const server = await startSynod({ config: { extendedTypesEnabled: 'true' } });
  const random = rng(4242);
  try {
    const good = await RawClient.connect({ host: server.host, port: server.port, timeoutMs: 10_000 });
    await good.send({ op: OpCode.create, req: { path: '/f', data: null, acl: OPEN, flags: 0, ttl: -1 } });
    for (let i = 0; i < CASES; i++) {
      const sample = SAMPLES[i % SAMPLES.length]!;
      const w = new JuteWriter();
      w.int(1).int(sample.op);
      writeRequest(w, sample);
      const request = frame(w.toBuffer());
      const pre = random() < 0.3;
      const chunks = pre ? [mutate(handshake(), random)] : [handshake(), mutate(request, random), request];
      await send(server.port, chunks);
      if (i % 100 === 99) {
        const r = await good.send({ op: OpCode.exists, req: { path: '/f', watch: false } });
        assert.equal(r.err, Err.OK, `after case ${i}`);
      }
    }
    assert.equal(await fourLetterWord(server.port, 'ruok'), 'imok');
    assert.ok(server.running(), server.logTail());
    await good.close();
  } finally {
    await server.destroy();
  }
});
