// What servers of an ensemble say to each other, as bytes. Raft's messages
// travel as they are; the rest is ZooKeeper's business that Raft does not
// carry: a follower's write forwarded to the leader, the leader's refusal of
// one, and the session pings a follower owes the leader (ZooKeeper's
// LearnerSessionTracker touches).
import { JuteReader, JuteWriter } from '../jute/buffer.js';
import type { ConfChange, ConfState, Entry, EntryType, Message, MessageType, Snapshot } from '../raft/index.js';

const MESSAGE_TYPES: readonly MessageType[] = [
  'MsgApp',
  'MsgAppResp',
  'MsgVote',
  'MsgVoteResp',
  'MsgPreVote',
  'MsgPreVoteResp',
  'MsgHeartbeat',
  'MsgHeartbeatResp',
  'MsgSnap',
  'MsgTimeoutNow',
  'MsgReadIndex',
  'MsgReadIndexResp',
  'MsgTransferLeader',
];
const CHANGE_TYPES: readonly ConfChange['type'][] = ['addNode', 'removeNode', 'addLearner'];
const TYPE_CODE = new Map<MessageType, number>(MESSAGE_TYPES.map((t, i) => [t, i]));

export const PeerKind = {
  raft: 1,
  /** A write from a follower's client, for the leader to propose. */
  forward: 2,
  /** The leader could not propose a forwarded write (not leader, out of order, too large). */
  forwardRejected: 3,
  /** Sessions a follower heard from, so the leader does not expire them. */
  touch: 4,
  /** One piece of a snapshot on its way to a follower (the shell chunks MsgSnap). */
  snapChunk: 5,
  /** A reconfig from a follower's client: membership changes for the leader to make one at a time. */
  forwardConf: 6,
} as const;

export interface MemberChange {
  readonly type: ConfChange['type'];
  readonly nodeId: number;
  /** The server's `server.N=` line for additions; '' for removals. */
  readonly line: string;
}

export interface ForwardedWrite {
  /** The follower's incarnation (changes on restart) and its per-incarnation sequence number. */
  readonly incarnation: number;
  /**
   * Bumped by the follower each time it gives up on its writes in flight: a
   * leader that refused one write of a stream refuses the rest of it, so a
   * later write never overtakes a lost one.
   */
  readonly stream: number;
  readonly seq: number;
  readonly kind: number;
  readonly sessionId: bigint;
  readonly cxid: number;
  readonly op: number;
  readonly body: Uint8Array;
}

export interface SessionTouch {
  readonly id: bigint;
  /** The timeout the session negotiated on the follower, or 0 to keep the leader's. */
  readonly timeout: number;
}

export type PeerMessage =
  | { readonly kind: typeof PeerKind.raft; readonly msg: Message }
  | { readonly kind: typeof PeerKind.forward; readonly write: ForwardedWrite }
  | { readonly kind: typeof PeerKind.forwardRejected; readonly incarnation: number; readonly seq: number }
  | { readonly kind: typeof PeerKind.touch; readonly sessions: readonly SessionTouch[] }
  | {
      readonly kind: typeof PeerKind.forwardConf;
      readonly incarnation: number;
      readonly stream: number;
      readonly seq: number;
      readonly changes: readonly MemberChange[];
    }
  | {
      readonly kind: typeof PeerKind.snapChunk;
      /** The MsgSnap with an empty snapshot payload; set on the first chunk only. */
      readonly head: Message | null;
      readonly offset: number;
      readonly total: number;
      readonly data: Uint8Array;
    };

const F_LOGTERM = 1;
const F_INDEX = 2;
const F_ENTRIES = 4;
const F_COMMIT = 8;
const F_REJECT = 16;
const F_HINT = 32;
const F_SNAPSHOT = 64;
const F_CONTEXT = 128;
const F_READSEQ = 256;
const F_TRANSFER = 512;

export function encodePeerMessage(w: JuteWriter, m: PeerMessage): void {
  w.int(m.kind);
  switch (m.kind) {
    case PeerKind.raft:
      writeMessage(w, m.msg);
      return;
    case PeerKind.forward: {
      const f = m.write;
      w.int(f.incarnation)
        .int(f.stream)
        .long(f.seq)
        .int(f.kind)
        .bigLong(f.sessionId)
        .int(f.cxid)
        .int(f.op)
        .buffer(f.body);
      return;
    }
    case PeerKind.forwardRejected:
      w.int(m.incarnation).long(m.seq);
      return;
    case PeerKind.touch:
      w.int(m.sessions.length);
      for (const s of m.sessions) w.bigLong(s.id).int(s.timeout);
      return;
    case PeerKind.forwardConf:
      w.int(m.incarnation).int(m.stream).long(m.seq).int(m.changes.length);
      for (const c of m.changes) w.int(CHANGE_TYPES.indexOf(c.type)).int(c.nodeId).ustring(c.line);
      return;
    case PeerKind.snapChunk:
      w.bool(m.head !== null);
      if (m.head) writeMessage(w, m.head);
      w.long(m.offset).long(m.total).buffer(m.data);
      return;
  }
}

export function decodePeerMessage(buf: Uint8Array): PeerMessage {
  const r = new JuteReader(buf);
  const kind = r.int();
  switch (kind) {
    case PeerKind.raft:
      return { kind, msg: readMessage(r) };
    case PeerKind.forward: {
      const write: ForwardedWrite = {
        incarnation: r.int(),
        stream: r.int(),
        seq: r.long(),
        kind: r.int(),
        sessionId: r.bigLong(),
        cxid: r.int(),
        op: r.int(),
        body: r.buffer() ?? new Uint8Array(0),
      };
      return { kind, write };
    }
    case PeerKind.forwardRejected:
      return { kind, incarnation: r.int(), seq: r.long() };
    case PeerKind.touch: {
      const n = r.int();
      if (n < 0 || n > buf.length) throw new RangeError(`touch with ${n} sessions`);
      const sessions: SessionTouch[] = [];
      for (let i = 0; i < n; i++) sessions.push({ id: r.bigLong(), timeout: r.int() });
      return { kind, sessions };
    }
    case PeerKind.forwardConf: {
      const incarnation = r.int();
      const stream = r.int();
      const seq = r.long();
      const n = r.int();
      if (n < 0 || n > 1000) throw new RangeError(`reconfig with ${n} changes`);
      const changes: MemberChange[] = [];
      for (let i = 0; i < n; i++) {
        const type = CHANGE_TYPES[r.int()];
        if (type === undefined) throw new RangeError('unknown membership change');
        changes.push({ type, nodeId: r.int(), line: r.string() });
      }
      return { kind, incarnation, stream, seq, changes };
    }
    case PeerKind.snapChunk: {
      const head = r.bool() ? readMessage(r) : null;
      return { kind, head, offset: r.long(), total: r.long(), data: r.buffer() ?? new Uint8Array(0) };
    }
    default:
      throw new RangeError(`unknown peer message kind ${kind}`);
  }
}

function writeMessage(w: JuteWriter, m: Message): void {
  w.int(TYPE_CODE.get(m.type)!).int(m.from).int(m.to).long(m.term);
  let flags = 0;
  if (m.logTerm !== undefined) flags |= F_LOGTERM;
  if (m.index !== undefined) flags |= F_INDEX;
  if (m.entries !== undefined) flags |= F_ENTRIES;
  if (m.commit !== undefined) flags |= F_COMMIT;
  if (m.reject !== undefined) flags |= F_REJECT;
  if (m.rejectHint !== undefined) flags |= F_HINT;
  if (m.snapshot !== undefined) flags |= F_SNAPSHOT;
  if (m.context !== undefined) flags |= F_CONTEXT;
  if (m.readSeq !== undefined) flags |= F_READSEQ;
  if (m.transfer !== undefined) flags |= F_TRANSFER;
  w.int(flags);
  if (m.logTerm !== undefined) w.long(m.logTerm);
  if (m.index !== undefined) w.long(m.index);
  if (m.entries !== undefined) {
    w.int(m.entries.length);
    for (const e of m.entries) writeEntry(w, e);
  }
  if (m.commit !== undefined) w.long(m.commit);
  if (m.reject !== undefined) w.bool(m.reject);
  if (m.rejectHint !== undefined) w.long(m.rejectHint);
  if (m.snapshot !== undefined) writeSnapshot(w, m.snapshot);
  if (m.context !== undefined) w.buffer(m.context);
  if (m.readSeq !== undefined) w.long(m.readSeq);
  if (m.transfer !== undefined) w.bool(m.transfer);
}

function readMessage(r: JuteReader): Message {
  const code = r.int();
  const type = MESSAGE_TYPES[code];
  if (type === undefined) throw new RangeError(`unknown raft message type ${code}`);
  const from = r.int();
  const to = r.int();
  const term = r.long();
  const flags = r.int();
  const m: {
    -readonly [K in keyof Message]: Message[K];
  } = { type, from, to, term };
  if (flags & F_LOGTERM) m.logTerm = r.long();
  if (flags & F_INDEX) m.index = r.long();
  if (flags & F_ENTRIES) {
    const n = r.int();
    if (n < 0 || n > r.remaining) throw new RangeError(`message with ${n} entries`);
    const entries: Entry[] = [];
    for (let i = 0; i < n; i++) entries.push(readEntry(r));
    m.entries = entries;
  }
  if (flags & F_COMMIT) m.commit = r.long();
  if (flags & F_REJECT) m.reject = r.bool();
  if (flags & F_HINT) m.rejectHint = r.long();
  if (flags & F_SNAPSHOT) m.snapshot = readSnapshot(r);
  if (flags & F_CONTEXT) m.context = r.buffer() ?? new Uint8Array(0);
  if (flags & F_READSEQ) m.readSeq = r.long();
  if (flags & F_TRANSFER) m.transfer = r.bool();
  return m;
}

export function writeEntry(w: JuteWriter, e: Entry): void {
  w.long(e.index)
    .long(e.term)
    .bool(e.type === 'confChange')
    .buffer(e.data);
}

export function readEntry(r: JuteReader): Entry {
  const index = r.long();
  const term = r.long();
  const type: EntryType = r.bool() ? 'confChange' : 'normal';
  return { index, term, type, data: r.buffer() ?? new Uint8Array(0) };
}

export function writeConfState(w: JuteWriter, c: ConfState): void {
  w.int(c.voters.length);
  for (const v of c.voters) w.int(v);
  w.int(c.learners.length);
  for (const l of c.learners) w.int(l);
}

export function readConfState(r: JuteReader): ConfState {
  const ids = (): number[] => {
    const n = r.int();
    if (n < 0 || n > 1000) throw new RangeError(`configuration with ${n} members`);
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(r.int());
    return out;
  };
  const voters = ids();
  return { voters, learners: ids() };
}

function writeSnapshot(w: JuteWriter, s: Snapshot): void {
  w.long(s.index).long(s.term);
  writeConfState(w, s.conf);
  w.buffer(s.data);
}

function readSnapshot(r: JuteReader): Snapshot {
  const index = r.long();
  const term = r.long();
  const conf = readConfState(r);
  return { index, term, conf, data: r.buffer() ?? new Uint8Array(0) };
}
