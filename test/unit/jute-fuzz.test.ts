// Seeded fuzzing of the wire decoders: random and mutated frames (truncations,
// bit flips, hostile lengths and counts) for every opcode. A decoder must return
// or throw DecodeError (MARSHALLINGERROR) - nothing else - and what it returns
// must be no bigger than the frame, so a hostile length cannot make it allocate.
//
//   FUZZ_CASES=20000 FUZZ_SEED=1   scale up or pick another stream
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readReplyBody, readReplyHeader, readWatcherEvent } from '../../src/client/replies.js';
import { DecodeError, JuteReader, JuteWriter } from '../../src/jute/buffer.js';
import { Err, OpCode } from '../../src/jute/constants.js';
import {
  readConnectRequest,
  readConnectResponse,
  readRequest,
  writeConnectRequest,
  writeRequest,
  writeStat,
  type ACL,
  type MultiOp,
  type Request,
  type Stat,
} from '../../src/jute/records.js';

function intEnv(name: string, dflt: number): number {
  const n = Number(process.env[name] ?? dflt);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer`);
  return n;
}

/** mulberry32: enough randomness for fuzzing, identical on every machine. */
class Rng {
  constructor(private s: number) {}
  next(): number {
    this.s = (this.s + 0x6d2b79f5) | 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  int(n: number): number {
    return Math.floor((this.next() / 0x100000000) * n);
  }
  chance(p: number): boolean {
    return this.next() / 0x100000000 < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = this.next() & 0xff;
    return b;
  }
}

const REQUEST_OPS: readonly number[] = [
  ...new Set(Object.values(OpCode) as number[]),
  999,
  23,
  -5,
  0x7fffffff,
  -0x80000000,
];
const HOSTILE_INTS = [0x7fffffff, -0x80000000, -1, -2, 0x10000000, 0x00ffffff, 0x7ffffff0, 0x40000000];

function str(r: Rng): string {
  const alphabet = ['a', 'b', '/', 'é', '日', '\u0000', 'zz', ''];
  let s = '';
  for (let i = r.int(5); i > 0; i--) s += r.pick(alphabet);
  return s;
}

function acl(r: Rng): ACL[] {
  const out: ACL[] = [];
  for (let i = r.int(3); i > 0; i--) out.push({ perms: r.int(32), id: { scheme: str(r), id: str(r) } });
  return out;
}

function data(r: Rng): Uint8Array | null {
  return r.chance(0.2) ? null : r.bytes(r.int(12));
}

function strings(r: Rng): string[] {
  return Array.from({ length: r.int(4) }, () => str(r));
}

/** A well-formed request of opcode `op` (any record for an opcode outside the protocol). */
function randomRequest(r: Rng, op: number, depth = 0): Request {
  switch (op) {
    case OpCode.create:
    case OpCode.create2:
    case OpCode.createContainer:
    case OpCode.createTTL:
      return { op, req: { path: str(r), data: data(r), acl: acl(r), flags: r.int(8) - 1, ttl: r.int(1 << 30) } };
    case OpCode.delete:
    case OpCode.deleteContainer:
    case OpCode.check:
      return { op, req: { path: str(r), version: r.int(5) - 1 } };
    case OpCode.exists:
    case OpCode.getData:
    case OpCode.getChildren:
    case OpCode.getChildren2:
      return { op, req: { path: str(r), watch: r.chance(0.5) } };
    case OpCode.setData:
      return { op, req: { path: str(r), data: data(r), version: r.int(5) - 1 } };
    case OpCode.getACL:
    case OpCode.sync:
      return { op, req: { path: str(r) } };
    case OpCode.setACL:
      return { op, req: { path: str(r), acl: acl(r), version: r.int(5) - 1 } };
    case OpCode.multi:
    case OpCode.multiRead: {
      const kinds = op === OpCode.multi ? [1, 15, 19, 21, 2, 5, 13] : [4, 8];
      const ops: MultiOp[] = [];
      for (let i = depth > 0 ? 0 : r.int(4); i > 0; i--)
        ops.push(randomRequest(r, r.pick(kinds), depth + 1) as MultiOp);
      return { op, req: ops };
    }
    case OpCode.reconfig:
      return {
        op,
        req: {
          joiningServers: r.chance(0.5) ? null : str(r),
          leavingServers: r.chance(0.5) ? null : str(r),
          newMembers: r.chance(0.5) ? null : str(r),
          curConfigId: r.int(1 << 30),
        },
      };
    case OpCode.checkWatches:
    case OpCode.removeWatches:
      return { op, req: { path: str(r), type: r.int(6) } };
    case OpCode.auth:
      return { op, req: { type: 0, scheme: str(r), auth: r.bytes(r.int(8)) } };
    case OpCode.setWatches:
    case OpCode.setWatches2:
      return {
        op,
        req: {
          relativeZxid: r.int(1 << 30),
          dataWatches: strings(r),
          existWatches: strings(r),
          childWatches: strings(r),
          persistentWatches: strings(r),
          persistentRecursiveWatches: strings(r),
        },
      };
    case OpCode.getEphemerals:
      return { op, req: { prefixPath: str(r) } };
    case OpCode.getAllChildrenNumber:
      return { op, req: { path: str(r) } };
    case OpCode.addWatch:
      return { op, req: { path: str(r), mode: r.int(3) } };
    case OpCode.ping:
    case OpCode.whoAmI:
    case OpCode.closeSession:
      return { op, req: null };
    default:
      // Opcodes with no request record: any bytes will do as a starting point.
      return { op: OpCode.getACL, req: { path: str(r) } };
  }
}

function encodeRequest(req: Request): Uint8Array {
  const w = new JuteWriter(16);
  writeRequest(w, req);
  return new Uint8Array(w.toBuffer());
}

function randomStat(r: Rng): Stat {
  return {
    czxid: r.int(1 << 30),
    mzxid: r.int(1 << 30),
    ctime: r.int(1 << 30),
    mtime: r.int(1 << 30),
    version: r.int(9),
    cversion: r.int(9),
    aversion: r.int(9),
    ephemeralOwner: BigInt(r.int(1 << 30)),
    dataLength: r.int(99),
    numChildren: r.int(9),
    pzxid: r.int(1 << 30),
  };
}

/** A plausible reply body: well-formed for some opcodes, so mutations reach deep into the decoders. */
function randomReply(r: Rng): Uint8Array {
  const w = new JuteWriter(64);
  switch (r.int(5)) {
    case 0:
      w.ustring(str(r));
      writeStat(w, randomStat(r));
      break;
    case 1:
      w.buffer(data(r));
      writeStat(w, randomStat(r));
      break;
    case 2:
      w.stringVector(strings(r));
      writeStat(w, randomStat(r));
      break;
    case 3:
      for (let i = r.int(4); i > 0; i--) {
        const type = r.pick([1, 15, 2, 13, 5, 4, 8, -1]);
        const err = type === -1 ? r.pick([0, -101, -103, -2]) : 0;
        w.int(type).bool(false).int(err);
        if (type === 1) w.ustring(str(r));
        if (type === 15) w.ustring(str(r));
        if (type === 15 || type === 5) writeStat(w, randomStat(r));
        if (type === 4) w.buffer(data(r));
        if (type === 4) writeStat(w, randomStat(r));
        if (type === 8) w.stringVector(strings(r));
        if (type === -1) w.int(err);
      }
      w.int(-1).bool(true).int(-1);
      break;
    default:
      w.int(r.int(3)).int(3).ustring(str(r));
  }
  return new Uint8Array(w.toBuffer());
}

/** One way of damaging a frame. */
function mutate(r: Rng, frame: Uint8Array): Uint8Array {
  const len = frame.length;
  switch (r.int(7)) {
    case 0: // truncate
      return frame.slice(0, r.int(len + 1));
    case 1: {
      // flip a few bits
      const out = frame.slice();
      for (let i = 1 + r.int(3); i > 0 && len > 0; i--) out[r.int(len)]! ^= 1 << r.int(8);
      return out;
    }
    case 2: {
      // a hostile length or count where an int might be
      const out = frame.slice();
      if (len >= 4) {
        const at = r.int(len - 3);
        new DataView(out.buffer).setInt32(at, r.pick(HOSTILE_INTS));
      }
      return out;
    }
    case 3: {
      // insert junk
      const at = r.int(len + 1);
      const junk = r.bytes(1 + r.int(8));
      const out = new Uint8Array(len + junk.length);
      out.set(frame.subarray(0, at), 0);
      out.set(junk, at);
      out.set(frame.subarray(at), at + junk.length);
      return out;
    }
    case 4: // pure noise
      return r.bytes(r.int(48));
    case 5: {
      // endless multi headers with no terminator
      const w = new JuteWriter(64);
      w.raw(frame.subarray(0, r.int(len + 1)));
      for (let i = r.int(40); i > 0; i--)
        w.int(r.pick([13, 2, 4, 8, 1]))
          .bool(false)
          .int(-1)
          .ustring('/x')
          .int(0);
      return new Uint8Array(w.toBuffer());
    }
    default: {
      // a hostile int at the very start (record length fields live there)
      const out = frame.length >= 4 ? frame.slice() : new Uint8Array(4);
      new DataView(out.buffer).setInt32(0, r.pick(HOSTILE_INTS));
      return out;
    }
  }
}

/** Nothing in a decoded record may be bigger than the frame it came from. */
function assertBounded(v: unknown, frameLen: number, where: string, depth = 0): void {
  assert.ok(depth < 16, `${where}: decoded value nested too deep`);
  if (typeof v === 'string') {
    assert.ok(v.length <= frameLen, `${where}: string of ${v.length} from a ${frameLen}-byte frame`);
  } else if (v instanceof Uint8Array) {
    assert.ok(v.length <= frameLen, `${where}: buffer of ${v.length} from a ${frameLen}-byte frame`);
  } else if (Array.isArray(v)) {
    assert.ok(v.length <= frameLen, `${where}: array of ${v.length} from a ${frameLen}-byte frame`);
    for (const x of v) assertBounded(x, frameLen, where, depth + 1);
  } else if (v !== null && typeof v === 'object') {
    for (const x of Object.values(v)) assertBounded(x, frameLen, where, depth + 1);
  }
}

interface Tally {
  returned: number;
  refused: number;
}

function hexOf(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/** Runs one decoder on one input and enforces the contract. */
function probe(name: string, input: Uint8Array, decode: (r: JuteReader) => unknown, tally: Tally): void {
  let out: unknown;
  try {
    out = decode(new JuteReader(input));
  } catch (e) {
    if (e instanceof DecodeError && e.code === Err.MARSHALLINGERROR) {
      tally.refused++;
      return;
    }
    assert.fail(`${name} threw ${(e as Error)?.name}: ${(e as Error)?.message} on input ${hexOf(input)}`);
  }
  tally.returned++;
  assertBounded(out, input.length, `${name} on ${hexOf(input).slice(0, 200)}`);
}

const CASES = intEnv('FUZZ_CASES', 20_000);
const SEED = intEnv('FUZZ_SEED', 1);

describe('jute decoders under fuzzing', () => {
  it(`${CASES} seeded request frames for every opcode (seed ${SEED})`, { timeout: 120_000 }, () => {
    const r = new Rng(SEED);
    const tally: Tally = { returned: 0, refused: 0 };
    for (let i = 0; i < CASES; i++) {
      const op = r.pick(REQUEST_OPS);
      const valid = encodeRequest(randomRequest(r, op));
      const input = r.chance(0.1) ? valid : mutate(r, valid);
      // Decode as the opcode it was made for, and as some other one.
      probe(`readRequest(${op}) case ${i}`, input, (rd) => readRequest(op, rd), tally);
      const other = r.pick(REQUEST_OPS);
      probe(`readRequest(${other}) case ${i}`, input, (rd) => readRequest(other, rd), tally);
    }
    // Both outcomes must be common, or the fuzzer is not reaching the decoders.
    assert.ok(tally.returned > CASES / 20, `only ${tally.returned} inputs decoded`);
    assert.ok(tally.refused > CASES / 20, `only ${tally.refused} inputs refused`);
  });

  it(`${Math.ceil(CASES / 4)} seeded ConnectRequest/ConnectResponse frames`, { timeout: 60_000 }, () => {
    const r = new Rng(SEED + 1);
    const tally: Tally = { returned: 0, refused: 0 };
    for (let i = 0; i < CASES / 4; i++) {
      const w = new JuteWriter(64);
      writeConnectRequest(w, {
        protocolVersion: r.int(2),
        lastZxidSeen: r.int(1 << 30),
        timeOut: r.int(1 << 20),
        sessionId: BigInt(r.int(1 << 30)),
        passwd: r.bytes(r.pick([0, 16, 3])),
        readOnly: r.chance(0.5),
      });
      const valid = new Uint8Array(w.toBuffer());
      const input = r.chance(0.1) ? valid : mutate(r, valid);
      probe(`readConnectRequest case ${i}`, input, readConnectRequest, tally);
      probe(`readConnectResponse case ${i}`, input, readConnectResponse, tally);
    }
    assert.ok(tally.returned > 0 && tally.refused > 0);
  });

  it(`${Math.ceil(CASES / 2)} seeded reply frames through the client's decoders`, { timeout: 60_000 }, () => {
    const r = new Rng(SEED + 2);
    const tally: Tally = { returned: 0, refused: 0 };
    for (let i = 0; i < CASES / 2; i++) {
      const valid = randomReply(r);
      const input = r.chance(0.1) ? valid : mutate(r, valid);
      const op = r.pick(REQUEST_OPS);
      probe(`readReplyBody(${op}) case ${i}`, input, (rd) => readReplyBody(op, rd), tally);
      probe(`readReplyHeader case ${i}`, input, readReplyHeader, tally);
      probe(`readWatcherEvent case ${i}`, input, readWatcherEvent, tally);
    }
    assert.ok(tally.returned > 0 && tally.refused > 0);
  });

  it('hostile counts and lengths are refused before anything is allocated for them', () => {
    const refused = (op: number, hex: string): void => {
      const bytes = new Uint8Array(Buffer.from(hex.replace(/\s+/g, ''), 'hex'));
      assert.throws(
        () => readRequest(op, new JuteReader(bytes)),
        (e: unknown) => e instanceof DecodeError && e.code === Err.MARSHALLINGERROR,
        `op ${op} accepted ${hex}`,
      );
    };
    // create: path "/", data null, acl count 2^31-1 in a tiny frame
    refused(OpCode.create, '00000001 2f ffffffff 7fffffff 00000000');
    // acl count -2 (only -1 means null)
    refused(OpCode.create, '00000001 2f ffffffff fffffffe 00000000');
    // path length 2^31-1, buffer length 2^31-1, buffer length -2
    refused(OpCode.getData, '7fffffff 2f');
    refused(OpCode.setData, '00000001 2f 7fffffff 00');
    refused(OpCode.setData, '00000001 2f fffffffe 00000000');
    // setWatches with a string vector of 2^31-1 and of -5 entries
    refused(OpCode.setWatches, '0000000000000000 7fffffff');
    refused(OpCode.setWatches, '0000000000000000 fffffffb');
    // a ttl beyond 2^53 cannot be held exactly
    refused(OpCode.createTTL, '00000001 2f ffffffff 00000000 00000005 7fffffffffffffff');
    // a multi whose op list never ends
    refused(OpCode.multi, '0000000d 00 ffffffff 00000001 2f 00000000 '.repeat(1000));
    // an unknown opcode, and ops a multi cannot hold
    refused(123, '');
    refused(OpCode.multi, '0000000e 00 ffffffff ffffffff 01 ffffffff');
    refused(OpCode.multiRead, '00000005 00 ffffffff 00000001 2f ffffffff 00000000');
  });

  it('a frame of 100k multi ops decodes in one linear pass', () => {
    const w = new JuteWriter(1 << 20);
    const n = 100_000;
    for (let i = 0; i < n; i++) w.int(OpCode.check).bool(false).int(-1).ustring('/x').int(i);
    w.int(-1).bool(true).int(-1);
    const out = readRequest(OpCode.multi, new JuteReader(new Uint8Array(w.toBuffer())));
    assert.equal(out.op, OpCode.multi);
    assert.equal((out.req as MultiOp[]).length, n);
  });
});
