// The records of zookeeper.jute used on the client port, each with an
// encoder and a decoder so both the server and our own test clients share them.
import { JuteReader, JuteWriter, DecodeError } from './buffer.js';
import { OpCode } from './constants.js';

export interface Id {
  scheme: string;
  id: string;
}
export interface ACL {
  perms: number;
  id: Id;
}
export interface Stat {
  czxid: number;
  mzxid: number;
  ctime: number;
  mtime: number;
  version: number;
  cversion: number;
  aversion: number;
  ephemeralOwner: bigint;
  dataLength: number;
  numChildren: number;
  pzxid: number;
}

export function writeStat(w: JuteWriter, s: Stat): void {
  w.long(s.czxid)
    .long(s.mzxid)
    .long(s.ctime)
    .long(s.mtime)
    .int(s.version)
    .int(s.cversion)
    .int(s.aversion)
    .bigLong(s.ephemeralOwner)
    .int(s.dataLength)
    .int(s.numChildren)
    .long(s.pzxid);
}
export function readStat(r: JuteReader): Stat {
  return {
    czxid: r.long(),
    mzxid: r.long(),
    ctime: r.long(),
    mtime: r.long(),
    version: r.int(),
    cversion: r.int(),
    aversion: r.int(),
    ephemeralOwner: r.bigLong(),
    dataLength: r.int(),
    numChildren: r.int(),
    pzxid: r.long(),
  };
}

export function writeAcls(w: JuteWriter, acls: readonly ACL[] | null): void {
  if (acls === null) {
    w.int(-1);
    return;
  }
  w.int(acls.length);
  for (const a of acls) w.int(a.perms).ustring(a.id.scheme).ustring(a.id.id);
}
export function readAcls(r: JuteReader): ACL[] {
  const n = r.vectorLength(12);
  const out: ACL[] = new Array<ACL>(n);
  for (let i = 0; i < n; i++) {
    const perms = r.int();
    const scheme = r.string();
    const id = r.string();
    out[i] = { perms, id: { scheme, id } };
  }
  return out;
}

// ---- connection handshake ----

export interface ConnectRequest {
  protocolVersion: number;
  lastZxidSeen: number;
  timeOut: number;
  sessionId: bigint;
  passwd: Uint8Array;
  readOnly: boolean;
}
export function readConnectRequest(r: JuteReader): ConnectRequest {
  const protocolVersion = r.int();
  const lastZxidSeen = r.long();
  const timeOut = r.int();
  const sessionId = r.bigLong();
  const passwd = r.buffer() ?? new Uint8Array(0);
  // Old clients omit the trailing readOnly byte.
  const readOnly = r.remaining > 0 ? r.bool() : false;
  return { protocolVersion, lastZxidSeen, timeOut, sessionId, passwd, readOnly };
}
export function writeConnectRequest(w: JuteWriter, c: ConnectRequest): void {
  w.int(c.protocolVersion).long(c.lastZxidSeen).int(c.timeOut).bigLong(c.sessionId).buffer(c.passwd).bool(c.readOnly);
}

export interface ConnectResponse {
  protocolVersion: number;
  timeOut: number;
  sessionId: bigint;
  passwd: Uint8Array;
  readOnly: boolean;
}
export function writeConnectResponse(w: JuteWriter, c: ConnectResponse): void {
  w.int(c.protocolVersion).int(c.timeOut).bigLong(c.sessionId).buffer(c.passwd).bool(c.readOnly);
}
export function readConnectResponse(r: JuteReader): ConnectResponse {
  const protocolVersion = r.int();
  const timeOut = r.int();
  const sessionId = r.bigLong();
  const passwd = r.buffer() ?? new Uint8Array(0);
  const readOnly = r.remaining > 0 ? r.bool() : false;
  return { protocolVersion, timeOut, sessionId, passwd, readOnly };
}

// ---- requests ----

export interface CreateRequest {
  path: string;
  data: Uint8Array | null;
  acl: ACL[];
  flags: number;
  ttl: number; // only for createTTL; -1 otherwise
}
export type Request =
  | { op: 1 | 15 | 19 | 21; req: CreateRequest }
  | { op: 2 | 20; req: { path: string; version: number } }
  | { op: 3 | 4 | 8 | 12; req: { path: string; watch: boolean } }
  | { op: 5; req: { path: string; data: Uint8Array | null; version: number } }
  | { op: 6; req: { path: string } }
  | { op: 7; req: { path: string; acl: ACL[]; version: number } }
  | { op: 9; req: { path: string } }
  | { op: 11 | 107 | -11; req: null }
  | { op: 13; req: { path: string; version: number } }
  | { op: 14 | 22; req: MultiOp[] }
  | { op: 16; req: ReconfigRequest }
  | { op: 17 | 18; req: { path: string; type: number } }
  | { op: 100; req: { type: number; scheme: string; auth: Uint8Array } }
  | { op: 101 | 105; req: SetWatches }
  | { op: 103; req: { prefixPath: string } }
  | { op: 104; req: { path: string } }
  | { op: 106; req: { path: string; mode: number } };

export interface ReconfigRequest {
  joiningServers: string | null;
  leavingServers: string | null;
  newMembers: string | null;
  curConfigId: number;
}

export interface SetWatches {
  relativeZxid: number;
  dataWatches: string[];
  existWatches: string[];
  childWatches: string[];
  persistentWatches: string[];
  persistentRecursiveWatches: string[];
}

/** One op inside multi/multiRead; `op` is the MultiHeader type. */
export type MultiOp = Exclude<Request, { op: 14 | 22 | 11 | 107 | -11 | 100 | 101 | 105 | 16 }>;

export class UnknownOpcodeError extends DecodeError {
  constructor(readonly op: number) {
    super(`unknown opcode ${op}`);
  }
}

function readCreate(r: JuteReader, withTtl: boolean): CreateRequest {
  const path = r.string();
  const data = r.buffer();
  const acl = readAcls(r);
  const flags = r.int();
  const ttl = withTtl ? r.long() : -1;
  return { path, data, acl, flags, ttl };
}

/** Decodes the record that follows a RequestHeader of type `op`. */
export function readRequest(op: number, r: JuteReader): Request {
  switch (op) {
    case OpCode.create:
    case OpCode.create2:
    case OpCode.createContainer:
      return { op, req: readCreate(r, false) };
    case OpCode.createTTL:
      return { op, req: readCreate(r, true) };
    case OpCode.delete:
    case OpCode.deleteContainer:
    case OpCode.check:
      return { op, req: { path: r.string(), version: r.int() } };
    case OpCode.exists:
    case OpCode.getData:
    case OpCode.getChildren:
    case OpCode.getChildren2:
      return { op, req: { path: r.string(), watch: r.bool() } };
    case OpCode.setData:
      return { op, req: { path: r.string(), data: r.buffer(), version: r.int() } };
    case OpCode.getACL:
    case OpCode.sync:
      return { op, req: { path: r.string() } };
    case OpCode.setACL:
      return { op, req: { path: r.string(), acl: readAcls(r), version: r.int() } };
    case OpCode.ping:
    case OpCode.whoAmI:
    case OpCode.closeSession:
      return { op, req: null };
    case OpCode.multi:
    case OpCode.multiRead:
      return { op, req: readMultiOps(r, op === OpCode.multiRead) };
    case OpCode.reconfig:
      return {
        op,
        req: {
          joiningServers: r.ustring(),
          leavingServers: r.ustring(),
          newMembers: r.ustring(),
          curConfigId: r.long(),
        },
      };
    case OpCode.checkWatches:
    case OpCode.removeWatches:
      return { op, req: { path: r.string(), type: r.int() } };
    case OpCode.auth:
      return { op, req: { type: r.int(), scheme: r.string(), auth: r.buffer() ?? new Uint8Array(0) } };
    case OpCode.setWatches:
    case OpCode.setWatches2: {
      const relativeZxid = r.long();
      const dataWatches = r.stringVector();
      const existWatches = r.stringVector();
      const childWatches = r.stringVector();
      const v2 = op === OpCode.setWatches2;
      const persistentWatches = v2 ? r.stringVector() : [];
      const persistentRecursiveWatches = v2 ? r.stringVector() : [];
      return {
        op,
        req: { relativeZxid, dataWatches, existWatches, childWatches, persistentWatches, persistentRecursiveWatches },
      };
    }
    case OpCode.getEphemerals:
      return { op, req: { prefixPath: r.string() } };
    case OpCode.getAllChildrenNumber:
      return { op, req: { path: r.string() } };
    case OpCode.addWatch:
      return { op, req: { path: r.string(), mode: r.int() } };
    default:
      throw new UnknownOpcodeError(op);
  }
}

const writeOps = new Set<number>([
  OpCode.create,
  OpCode.create2,
  OpCode.createContainer,
  OpCode.createTTL,
  OpCode.delete,
  OpCode.setData,
  OpCode.check,
]);
const readOps = new Set<number>([OpCode.getChildren, OpCode.getData]);

function readMultiOps(r: JuteReader, readOnly: boolean): MultiOp[] {
  const ops: MultiOp[] = [];
  for (;;) {
    const type = r.int();
    const done = r.bool();
    r.int(); // err, unused in requests
    if (done) break;
    const allowed = readOnly ? readOps : writeOps;
    if (!allowed.has(type)) throw new DecodeError(`opcode ${type} not allowed in ${readOnly ? 'multiRead' : 'multi'}`);
    // getData/getChildren inside multiRead carry a watch flag like their plain forms.
    ops.push(readRequest(type, r) as MultiOp);
    if (ops.length > 1_000_000) throw new DecodeError('too many ops in multi');
  }
  return ops;
}

/** Encodes a request record (without header); used by our clients and tests. */
export function writeRequest(w: JuteWriter, req: Request): void {
  switch (req.op) {
    case 1:
    case 15:
    case 19:
    case 21: {
      const c = req.req;
      w.ustring(c.path).buffer(c.data);
      writeAcls(w, c.acl);
      w.int(c.flags);
      if (req.op === 21) w.long(c.ttl);
      return;
    }
    case 2:
    case 20:
    case 13:
      w.ustring(req.req.path).int(req.req.version);
      return;
    case 3:
    case 4:
    case 8:
    case 12:
      w.ustring(req.req.path).bool(req.req.watch);
      return;
    case 5:
      w.ustring(req.req.path).buffer(req.req.data).int(req.req.version);
      return;
    case 6:
    case 9:
      w.ustring(req.req.path);
      return;
    case 7:
      w.ustring(req.req.path);
      writeAcls(w, req.req.acl);
      w.int(req.req.version);
      return;
    case 11:
    case 107:
    case -11:
      return;
    case 14:
    case 22:
      for (const op of req.req) {
        w.int(op.op).bool(false).int(-1);
        writeRequest(w, op);
      }
      w.int(-1).bool(true).int(-1);
      return;
    case 16:
      w.ustring(req.req.joiningServers)
        .ustring(req.req.leavingServers)
        .ustring(req.req.newMembers)
        .long(req.req.curConfigId);
      return;
    case 17:
    case 18:
      w.ustring(req.req.path).int(req.req.type);
      return;
    case 100:
      w.int(req.req.type).ustring(req.req.scheme).buffer(req.req.auth);
      return;
    case 101:
    case 105:
      w.long(req.req.relativeZxid)
        .stringVector(req.req.dataWatches)
        .stringVector(req.req.existWatches)
        .stringVector(req.req.childWatches);
      if (req.op === 105) w.stringVector(req.req.persistentWatches).stringVector(req.req.persistentRecursiveWatches);
      return;
    case 103:
      w.ustring(req.req.prefixPath);
      return;
    case 104:
      w.ustring(req.req.path);
      return;
    case 106:
      w.ustring(req.req.path).int(req.req.mode);
      return;
  }
}
