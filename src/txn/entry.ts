// What the log carries. Entries are commands, not pre-computed state changes:
// apply validates them against the tree it is applied to, which every replica
// holds identically at that index, so the result is the same everywhere (see
// docs/architecture.md for why we chose this over ZooKeeper's prep-time txns).
import { JuteReader, JuteWriter } from '../jute/buffer.js';

export const EntryKind = {
  /** A client request: the raw jute body as the client sent it. */
  request: 1,
  createSession: 2,
  closeSession: 3,
  /** An identity the server authenticated for a session (digest, super). */
  addAuth: 4,
  /** Leader-issued removal of an empty container or an expired TTL node. */
  expireNode: 5,
  /** A no-op a new leader commits to learn its commit index. */
  noop: 6,
  /** The ensemble's membership changed: the body is the new /zookeeper/config text. */
  config: 7,
} as const;

export interface EntryHeader {
  kind: number;
  zxid: number;
  /** Leader's wall clock when it proposed; the only time apply ever sees. */
  time: number;
  sessionId: bigint;
  cxid: number;
  op: number;
}

export interface Entry extends EntryHeader {
  body: Uint8Array;
}

export function encodeEntry(w: JuteWriter, e: Entry): void {
  w.int(e.kind).long(e.zxid).long(e.time).bigLong(e.sessionId).int(e.cxid).int(e.op).buffer(e.body);
}

export function decodeEntry(buf: Uint8Array): Entry {
  const r = new JuteReader(buf);
  const kind = r.int();
  const zxid = r.long();
  const time = r.long();
  const sessionId = r.bigLong();
  const cxid = r.int();
  const op = r.int();
  const body = r.buffer() ?? new Uint8Array(0);
  return { kind, zxid, time, sessionId, cxid, op, body };
}

// Bodies of the non-request kinds.

export function encodeCreateSession(w: JuteWriter, timeout: number, passwd: Uint8Array, clientIp: string): void {
  w.int(timeout).buffer(passwd).ustring(clientIp);
}
export function decodeCreateSession(body: Uint8Array): { timeout: number; passwd: Uint8Array; clientIp: string } {
  const r = new JuteReader(body);
  return { timeout: r.int(), passwd: r.buffer() ?? new Uint8Array(0), clientIp: r.string() };
}

export function encodeAuth(w: JuteWriter, scheme: string, id: string): void {
  w.ustring(scheme).ustring(id);
}
export function decodeAuth(body: Uint8Array): { scheme: string; id: string } {
  const r = new JuteReader(body);
  return { scheme: r.string(), id: r.string() };
}

export function encodePath(w: JuteWriter, path: string): void {
  w.ustring(path);
}
export function decodePath(body: Uint8Array): string {
  return new JuteReader(body).string();
}
