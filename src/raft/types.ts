// The values that cross the boundary between the Raft core and its shell.
// Everything here is plain data: the shell may copy it, encode it for the wire
// or the disk, and hand it back later.

/** A voter set and a learner set. Sorted, disjoint, no duplicates. */
export interface ConfState {
  readonly voters: readonly number[];
  readonly learners: readonly number[];
}

/** What must be on disk before any message of the same Ready leaves. */
export interface HardState {
  readonly term: number;
  /** The candidate this node voted for in `term`, 0 for none. */
  readonly vote: number;
  readonly commit: number;
}

export type EntryType = 'normal' | 'confChange';

/** One log position. `data` is opaque to the core except for `confChange` entries. */
export interface Entry {
  readonly index: number;
  readonly term: number;
  readonly type: EntryType;
  readonly data: Uint8Array;
}

/**
 * The state machine as of `index` (whose entry had `term`), plus the
 * configuration in force at that index. `data` is opaque to the core.
 */
export interface Snapshot {
  readonly index: number;
  readonly term: number;
  readonly conf: ConfState;
  readonly data: Uint8Array;
}

export type MessageType =
  | 'MsgApp'
  | 'MsgAppResp'
  | 'MsgVote'
  | 'MsgVoteResp'
  | 'MsgPreVote'
  | 'MsgPreVoteResp'
  | 'MsgHeartbeat'
  | 'MsgHeartbeatResp'
  | 'MsgSnap'
  | 'MsgTimeoutNow'
  | 'MsgReadIndex'
  | 'MsgReadIndexResp'
  | 'MsgTransferLeader';

/**
 * A peer message. One flat shape for every type, as etcd's raftpb.Message, so
 * the transport encodes one record. Which optional fields a type carries:
 *
 * - MsgApp: index/logTerm (the entry before `entries`), entries, commit.
 * - MsgAppResp: index (highest index now known to match), or reject with
 *   index (the rejected MsgApp's index), rejectHint and logTerm (the
 *   follower's guess of where the logs may match, and its term there).
 * - MsgVote / MsgPreVote: index/logTerm of the candidate's last entry;
 *   `transfer` when a leadership transfer asked for the election, which lets
 *   it past the CheckQuorum lease.
 * - MsgVoteResp / MsgPreVoteResp: reject.
 * - MsgHeartbeat: commit, readSeq. MsgHeartbeatResp: readSeq echoed.
 * - MsgSnap: snapshot.
 * - MsgReadIndex (term 0, follower to leader): context.
 *   MsgReadIndexResp: index, context.
 * - MsgTransferLeader (term 0, follower to leader): `from` is the transferee,
 *   not the forwarding node, as in etcd.
 *
 * The core never mutates a message it receives or has handed out, so the
 * shell (or a simulator) may deliver one object twice.
 */
export interface Message {
  readonly type: MessageType;
  readonly from: number;
  readonly to: number;
  /** 0 only for MsgReadIndex and MsgTransferLeader, which are term-less forwards. */
  readonly term: number;
  readonly logTerm?: number;
  readonly index?: number;
  readonly entries?: readonly Entry[];
  readonly commit?: number;
  readonly reject?: boolean;
  readonly rejectHint?: number;
  readonly snapshot?: Snapshot;
  readonly context?: Uint8Array;
  readonly readSeq?: number;
  readonly transfer?: boolean;
}

export type Role = 'follower' | 'precandidate' | 'candidate' | 'leader';

/** Volatile state the shell may want to show or react to; never persisted. */
export interface SoftState {
  readonly lead: number;
  readonly role: Role;
}

/**
 * A linearizable read point: once the shell has applied through `index`, a
 * read for the request tagged `context` may be served from local state.
 */
export interface ReadState {
  readonly index: number;
  readonly context: Uint8Array;
}

/**
 * One batch of work for the shell. Handle it in this order, then call
 * `advance()`:
 *
 * 1. If `snapshot` is set, install it in storage (and restore the state
 *    machine from it).
 * 2. Append `entries` to storage (they may overwrite a conflicting suffix),
 *    then save `hardState` if set. If `mustSync`, fsync before step 3.
 *    Write them in this order (snapshot, entries, hard state) so that a torn
 *    tail on crash loses a suffix and never leaves a commit index past the
 *    persisted log.
 * 3. Send `messages` (only now: they may acknowledge what step 2 wrote).
 * 4. Apply `committedEntries` in order; serve `readStates` once applied
 *    through their index.
 * 5. `advance()`.
 */
export interface Ready {
  readonly softState?: SoftState;
  readonly hardState?: HardState;
  readonly entries: readonly Entry[];
  readonly snapshot?: Snapshot;
  readonly committedEntries: readonly Entry[];
  readonly messages: readonly Message[];
  readonly readStates: readonly ReadState[];
  /** True when term, vote or entries changed: step 2 needs an fsync. */
  readonly mustSync: boolean;
}

/** What a shell may take from the core while a Ready's storage write is in flight; see RaftNode.interimReady. */
export interface InterimReady {
  readonly softState?: SoftState;
  readonly committedEntries: readonly Entry[];
  readonly messages: readonly Message[];
  readonly readStates: readonly ReadState[];
}

const BEFORE_PERSIST: ReadonlySet<MessageType> = new Set<MessageType>([
  'MsgApp',
  'MsgHeartbeat',
  'MsgHeartbeatResp',
  'MsgSnap',
  'MsgTimeoutNow',
  'MsgReadIndex',
  'MsgReadIndexResp',
]);

/**
 * Messages that may leave before the write of the Ready carrying them is on
 * disk. A leader's appends may (Raft thesis 10.2.1: it counts its own log
 * toward a commit only once written), and so may heartbeats and read-index
 * traffic, which speak for the term and the commit index, both already
 * learned from a quorum. Append acknowledgements and votes may not: they
 * promise what the write makes durable.
 */
export function sendsBeforePersist(type: MessageType): boolean {
  return BEFORE_PERSIST.has(type);
}

export interface RaftConfig {
  /** This node's id; positive. */
  readonly id: number;
  /** Ticks without hearing from a leader before campaigning (randomized in [electionTick, 2*electionTick)). */
  readonly electionTick: number;
  /** Ticks between leader heartbeats; must be less than electionTick. */
  readonly heartbeatTick: number;
  /** Run a pre-election that does not bump terms, so a rejoining node cannot depose a healthy leader. */
  readonly preVote: boolean;
  /** Leader steps down after an election timeout without hearing from a quorum; followers honour a lease. */
  readonly checkQuorum: boolean;
  /** Pipelined MsgApps per follower. Default 256. */
  readonly maxInflightMsgs?: number;
  /** Entry payload bytes per MsgApp (at least one entry is always sent). Default 1 MiB. */
  readonly maxSizePerMsg?: number;
  /** Payload bytes a leader accepts before its uncommitted tail commits. Default unlimited. */
  readonly maxUncommittedEntriesSize?: number;
  /**
   * The index the shell's state machine has applied on restart. Defaults to
   * the storage's snapshot index, which is right when the shell restores its
   * state machine from that snapshot.
   */
  readonly applied?: number;
  /** Uniform in [0, 1); seeded by the caller. Used only for the election timeout jitter. */
  readonly rng: () => number;
}

export type ConfChangeType = 'addNode' | 'removeNode' | 'addLearner';

/**
 * A single-node membership change. `addNode` adds a voter or promotes a
 * learner; `addLearner` adds a learner or demotes a voter; `removeNode`
 * removes either. `context` rides along opaquely (ZooKeeper's reconfig puts
 * the server's addresses there).
 */
export interface ConfChange {
  readonly type: ConfChangeType;
  readonly nodeId: number;
  readonly context?: Uint8Array;
}

export type ProposeRejection =
  'not-leader' | 'transfer-in-progress' | 'removed' | 'too-large' | 'conf-change-pending' | 'invalid-conf-change';

/** A proposal's fate. When accepted, it will commit at (index, term) or not at all. */
export type ProposeResult =
  | { readonly ok: true; readonly index: number; readonly term: number }
  | { readonly ok: false; readonly reason: ProposeRejection; readonly lead: number; readonly detail?: string };

export type ProgressState = 'probe' | 'replicate' | 'snapshot';

export interface ProgressStatus {
  readonly match: number;
  readonly next: number;
  readonly state: ProgressState;
  readonly isLearner: boolean;
  readonly recentActive: boolean;
  readonly pendingSnapshot: number;
  readonly inflight: number;
}

export interface Status {
  readonly id: number;
  readonly term: number;
  readonly vote: number;
  readonly lead: number;
  readonly role: Role;
  readonly commit: number;
  readonly applied: number;
  readonly firstIndex: number;
  readonly lastIndex: number;
  readonly conf: ConfState;
  readonly leadTransferee: number;
}

/** A broken invariant: the node's state can no longer be trusted. Crash the process. */
export class RaftInvariantError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RaftInvariantError';
  }
}

export function invariant(condition: boolean, message: () => string): asserts condition {
  if (!condition) throw new RaftInvariantError(message());
}
