// Decoders for what a ZooKeeper server sends back on the client port: the
// ReplyHeader, WatcherEvent notifications and each opcode's response record
// (zookeeper.jute; which record an opcode gets is FinalRequestProcessor's choice).
import { DecodeError, JuteReader } from '../jute/buffer.js';
import { OpCode } from '../jute/constants.js';
import { readAcls, readStat, type ACL, type Stat } from '../jute/records.js';

export interface ReplyHeader {
  xid: number;
  zxid: number;
  err: number;
}

export interface WatcherEvent {
  type: number;
  state: number;
  path: string;
}

export interface ClientInfo {
  authScheme: string;
  user: string;
}

export interface PathResponse {
  path: string;
}
export interface StatResponse {
  stat: Stat;
}
export interface Create2Response {
  path: string;
  stat: Stat;
}
export interface GetDataResponse {
  data: Uint8Array | null;
  stat: Stat;
}
export interface GetACLResponse {
  acl: ACL[];
  stat: Stat;
}
export interface GetChildrenResponse {
  children: string[];
}
export interface GetChildren2Response {
  children: string[];
  stat: Stat;
}
export interface GetEphemeralsResponse {
  ephemerals: string[];
}
export interface GetAllChildrenNumberResponse {
  totalNumber: number;
}
export interface ErrorResponse {
  err: number;
}
export interface WhoAmIResponse {
  clientInfo: ClientInfo[];
}
export interface SetSASLResponse {
  token: Uint8Array | null;
}

/**
 * One result inside a MultiResponse; `type` is the MultiHeader type. A create
 * inside multi answers as type create (path only) unless its flags made it a
 * container or TTL create, which answer as create2 (path and stat).
 */
export type OpResult =
  | { type: 1; path: string }
  | { type: 15; path: string; stat: Stat }
  | { type: 2 }
  | { type: 13 }
  | { type: 5; stat: Stat }
  | { type: 8; children: string[] }
  | { type: 4; data: Uint8Array | null; stat: Stat }
  | { type: -1; err: number };

/** The body a successful reply carries, by request opcode. */
export interface ReplyBodyMap {
  1: PathResponse;
  2: null;
  3: StatResponse;
  4: GetDataResponse;
  5: StatResponse;
  6: GetACLResponse;
  7: StatResponse;
  8: GetChildrenResponse;
  9: PathResponse;
  11: null;
  12: GetChildren2Response;
  13: StatResponse;
  14: OpResult[];
  15: Create2Response;
  16: GetDataResponse;
  17: null;
  18: null;
  19: Create2Response;
  20: null;
  21: Create2Response;
  22: OpResult[];
  100: null;
  101: null;
  102: SetSASLResponse;
  103: GetEphemeralsResponse;
  104: GetAllChildrenNumberResponse;
  105: null;
  106: ErrorResponse;
  107: WhoAmIResponse;
}
export type ReplyBody = ReplyBodyMap[keyof ReplyBodyMap];
/** closeSession (-11) answers with a header only; a negative key cannot sit in the map above. */
export type ReplyBodyFor<O extends number> = O extends keyof ReplyBodyMap
  ? ReplyBodyMap[O]
  : O extends -11
    ? null
    : ReplyBody;

export function readReplyHeader(r: JuteReader): ReplyHeader {
  const xid = r.int();
  const zxid = r.long();
  const err = r.int();
  return { xid, zxid, err };
}

export function readWatcherEvent(r: JuteReader): WatcherEvent {
  const type = r.int();
  const state = r.int();
  const path = r.string();
  return { type, state, path };
}

function readClientInfos(r: JuteReader): ClientInfo[] {
  const n = r.vectorLength(8);
  const out = new Array<ClientInfo>(n);
  for (let i = 0; i < n; i++) {
    const authScheme = r.string();
    const user = r.string();
    out[i] = { authScheme, user };
  }
  return out;
}

function readMultiResults(r: JuteReader, readOnly: boolean): OpResult[] {
  const out: OpResult[] = [];
  // Every header consumes 9 bytes, so the frame bounds this loop.
  for (;;) {
    const type = r.int();
    const done = r.bool();
    const err = r.int();
    if (done) return out;
    switch (type) {
      case OpCode.create:
        if (readOnly) break;
        out.push({ type, path: r.string() });
        continue;
      case OpCode.create2:
        if (readOnly) break;
        out.push({ type, path: r.string(), stat: readStat(r) });
        continue;
      case OpCode.delete:
      case OpCode.check:
        if (readOnly) break;
        out.push({ type });
        continue;
      case OpCode.setData:
        if (readOnly) break;
        out.push({ type, stat: readStat(r) });
        continue;
      case OpCode.getChildren:
        if (!readOnly) break;
        out.push({ type, children: r.stringVector() });
        continue;
      case OpCode.getData:
        if (!readOnly) break;
        out.push({ type, data: r.buffer(), stat: readStat(r) });
        continue;
      case OpCode.error: {
        const bodyErr = r.int();
        if (bodyErr !== err) throw new DecodeError(`multi error result: header err ${err} but body err ${bodyErr}`);
        out.push({ type, err: bodyErr });
        continue;
      }
    }
    throw new DecodeError(`result type ${type} not allowed in ${readOnly ? 'multiRead' : 'multi'} response`);
  }
}

/**
 * Decodes the body of a successful (err 0) reply to a request of opcode `op`.
 * Servers send no body with a non-zero err; callers must not call this then.
 */
export function readReplyBody(op: number, r: JuteReader): ReplyBody {
  switch (op) {
    case OpCode.create:
    case OpCode.sync:
      return { path: r.string() };
    case OpCode.create2:
    case OpCode.createContainer:
    case OpCode.createTTL:
      return { path: r.string(), stat: readStat(r) };
    case OpCode.exists:
    case OpCode.setData:
    case OpCode.setACL:
    case OpCode.check:
      return { stat: readStat(r) };
    case OpCode.getData:
    case OpCode.reconfig:
      return { data: r.buffer(), stat: readStat(r) };
    case OpCode.getACL:
      return { acl: readAcls(r), stat: readStat(r) };
    case OpCode.getChildren:
      return { children: r.stringVector() };
    case OpCode.getChildren2:
      return { children: r.stringVector(), stat: readStat(r) };
    case OpCode.multi:
      return readMultiResults(r, false);
    case OpCode.multiRead:
      return readMultiResults(r, true);
    case OpCode.getEphemerals:
      return { ephemerals: r.stringVector() };
    case OpCode.getAllChildrenNumber:
      return { totalNumber: r.int() };
    case OpCode.addWatch:
      return { err: r.int() };
    case OpCode.whoAmI:
      return { clientInfo: readClientInfos(r) };
    case OpCode.sasl:
      return { token: r.buffer() };
    case OpCode.delete:
    case OpCode.deleteContainer:
    case OpCode.ping:
    case OpCode.checkWatches:
    case OpCode.removeWatches:
    case OpCode.auth:
    case OpCode.setWatches:
    case OpCode.setWatches2:
    case OpCode.closeSession:
      return null;
    default:
      throw new DecodeError(`no reply record known for opcode ${op}`);
  }
}
