// One server of an ensemble, without its disk, network or clock: the Raft
// core, the state machine it drives, and ZooKeeper's needs on top (writes
// forwarded to the leader and answered where they came from, `sync` as a
// ReadIndex, session pings for the leader). The server shell and the
// deterministic simulator both run this same class; they differ only in the
// PeerIo they plug in and in who calls tick().
import { LatencyMetric } from '../base/metrics.js';
import { JuteReader, JuteWriter } from '../jute/buffer.js';
import { OpCode } from '../jute/constants.js';
import {
  RaftNode,
  decodeConfChange,
  type ConfChange,
  type ConfState,
  type Entry as RaftEntry,
  type MemoryStorage,
  sendsBeforePersist,
  type InterimReady,
  type Message,
  type Ready,
  type RaftConfig,
  type Role,
  type Snapshot,
} from '../raft/index.js';
import { EntryKind, encodeEntry, decodeEntry, type Entry } from '../txn/entry.js';
import { deserializeState } from '../txn/snapshot.js';
import { StateMachine, type ApplyResult, type StateOptions } from '../txn/state.js';
import { CONFIG_PATH } from '../tree/datatree.js';
import { applyMembership, decodeChangeContext, encodeChangeContext } from './membership.js';
import { ReplicationStages } from './stages.js';
import {
  PeerKind,
  decodePeerMessage,
  type ForwardedWrite,
  type MemberChange,
  type PeerMessage,
  type SessionTouch,
} from './wire.js';

/** A reconfig the leader carries out one single-server change at a time. */
interface ConfJob {
  readonly origin: number;
  readonly incarnation: number;
  readonly seq: number;
  readonly changes: readonly MemberChange[];
  next: number;
  /** Log index of the change in flight; the next waits until it is applied. */
  waiting: number;
  readonly since: number;
}

/** The peer's disk and network. Calls complete by calling back; the simulator delays them at will. */
export interface PeerIo {
  /**
   * Make the Ready's snapshot, entries and hard state durable, in that order
   * (fsync when rd.mustSync), then call done. Messages are sent only after.
   */
  persist(rd: Ready, done: () => void): void;
  /** Best effort; false when the message was dropped (no link to `to`). */
  send(to: number, msg: PeerMessage): boolean;
  /**
   * Write a snapshot of `sm` (which has applied through `index`) and call
   * done with what the Raft storage keeps as the snapshot's payload (the
   * bytes, or a token the transport resolves when it sends a MsgSnap), or
   * null when writing failed. The tree does not change until done is called.
   */
  snapshot(
    index: number,
    term: number,
    conf: ConfState,
    sm: StateMachine,
    done: (data: Uint8Array | null) => void,
  ): void;
  /** What the Raft storage keeps for a snapshot installed from the leader, once persisted. */
  keepSnapshot(s: Snapshot): Uint8Array;
}

export type WriteDone = (result: ApplyResult, entry: Entry) => void;
/** Why a write or sync gave up; its outcome is then unknown, as after a lost connection. */
export type FailReason = 'no-leader' | 'leader-changed' | 'rejected' | 'timeout' | 'unreachable' | 'stopped';

export interface QuorumPeerOptions {
  id: number;
  raft: Omit<RaftConfig, 'id' | 'applied'>;
  storage: MemoryStorage;
  state: StateOptions;
  /** The state machine as of the storage's snapshot (restored by the caller), or a fresh one. */
  sm: StateMachine;
  /** Distinguishes this run of the server from earlier ones, so a write forwarded before a restart is never answered after it. */
  incarnation: number;
  /** The leader's clock for znode times; read only when proposing. */
  now: () => number;
  /** Applied entries between snapshots. */
  snapCount: number;
  /** Entries kept in the log behind a snapshot, so a slightly slow follower catches up without one. */
  catchUpEntries?: number;
  /** Ticks a write or sync waits for its answer before it is given up. */
  requestTimeoutTicks: number;
  log?: (msg: string) => void;
}

interface PendingWrite {
  readonly done: WriteDone | null;
  readonly fail: (reason: FailReason) => void;
  readonly since: number;
}

interface PendingRead {
  readonly done: () => void;
  readonly fail: (reason: FailReason) => void;
  readonly since: number;
  index: number;
}

const HEADER_BYTES = 16; // origin int, incarnation int, seq long
/** Ticks the link to the leader stays down before a follower campaigns early. */
const LINK_DOWN_TICKS = 2;

export class QuorumPeer {
  readonly id: number;
  readonly node: RaftNode;
  readonly storage: MemoryStorage;
  sm: StateMachine;
  private readonly opts: QuorumPeerOptions;
  private io: PeerIo | null = null;
  appliedIndex: number;
  private ticks = 0;
  private persisting = false;
  private batchDepth = 0;
  private pumpOwed = false;
  /** First index of the entries the Ready being written holds (they replace storage's from there on), or Infinity. */
  private writingFrom = Infinity;
  private snapshotting = false;
  private stopped = false;
  private sinceSnapshot = 0;
  /** Committed entries waiting while a snapshot reads the tree. */
  private readonly toApply: RaftEntry[] = [];
  private seq = 0;
  private readonly writes = new Map<number, PendingWrite>();
  private readSeq = 0;
  private readonly reads = new Map<number, PendingRead>();
  /** On the leader: the last sequence number proposed for each follower incarnation, to keep forwards in order. */
  /** On the leader, per follower incarnation: its current stream and the last seq proposed from it (-1: refused). */
  private forwardSeq = new Map<string, { stream: number; last: number }>();
  private stream = 0;
  private confJobs: ConfJob[] = [];
  private readonly w = new JuteWriter(4096);
  private leaderLinkDownAt = -1;
  /** The leader whose link went down at leaderLinkDownAt. */
  private lostLeader = 0;
  /** Tick of the last append, heartbeat or snapshot from the leader. */
  private heardFromLeaderAt = 0;
  lead = 0;
  role: Role = 'follower';
  conf: ConfState;

  /** Every applied entry, on every server: watches, replies, the session table. */
  onApply: (result: ApplyResult, entry: Entry) => void = () => {};
  /** Leader or role changed. Writes and syncs in flight have been failed already. */
  onLeaderChange: (lead: number, role: Role, term: number) => void = () => {};
  /** On the leader: sessions a follower's clients were heard on. */
  onTouch: (from: number, sessions: readonly SessionTouch[]) => void = () => {};
  /** A membership change was applied. */
  onConfChange: (cc: ConfChange, conf: ConfState, index: number) => void = () => {};
  /** The state machine was replaced by a snapshot from the leader. */
  onRestore: (sm: StateMachine) => void = () => {};
  stats = { proposed: 0, forwarded: 0, applied: 0, snapshots: 0, installed: 0, failedWrites: 0 };
  /**
   * ZooKeeper's quorum_ack_latency (on the leader) and commit_propagation_latency
   * (elsewhere): from the leader's proposal to the write being applied here.
   * The start is the leader's clock in the entry, so a follower's figure also
   * holds the two clocks' skew, as ZooKeeper's does.
   */
  readonly quorumAckLatency = new LatencyMetric('quorum_ack_latency');
  readonly commitPropagationLatency = new LatencyMetric('commit_propagation_latency');
  /** The hops in between: proposal to a follower's receipt, to its ack, to the leader's receipt of each ack. */
  readonly stages = new ReplicationStages();

  constructor(opts: QuorumPeerOptions) {
    this.opts = opts;
    this.id = opts.id;
    this.storage = opts.storage;
    this.sm = opts.sm;
    const snap = opts.storage.snapshot();
    this.appliedIndex = snap.index;
    this.node = RaftNode.create({ ...opts.raft, id: opts.id, applied: snap.index }, opts.storage);
    this.conf = this.node.confState();
  }

  /** Plugs in disk and network; nothing happens before. */
  start(io: PeerIo): void {
    this.io = io;
    this.pump();
  }

  stop(): void {
    this.stopped = true;
    this.failAll('stopped');
  }

  get isLeader(): boolean {
    return this.role === 'leader';
  }

  get term(): number {
    return this.node.status().term;
  }

  tick(): void {
    if (this.stopped) return;
    this.ticks++;
    this.node.tick();
    if (this.leaderLinkDownAt >= 0 && this.ticks - this.leaderLinkDownAt >= LINK_DOWN_TICKS + this.campaignRank()) {
      // The leader's process is gone (its socket closed and cannot be
      // reopened): campaign now rather than wait out the election timeout,
      // as a ZooKeeper follower starts an election when its leader's socket
      // breaks. PreVote keeps this harmless if the leader is in fact alive.
      // The followers go one tick apart, by id: two that campaigned in the
      // same instant would each win the other's pre-vote and then split the
      // real vote, costing a whole election timeout (seen in the failover
      // bench as a second election). Having forgotten the leader (see
      // peerUnreachable), the later ones grant the first one's votes.
      this.leaderLinkDownAt = -1;
      if (this.role === 'follower' && this.conf.voters.includes(this.id)) this.node.campaign();
    }
    if (
      this.lead !== 0 &&
      this.role !== 'leader' &&
      !this.conf.voters.includes(this.id) &&
      this.ticks - this.heardFromLeaderAt > this.opts.raft.electionTick
    ) {
      // A learner (observer) never campaigns, so Raft never drops its
      // leader: it would go on serving a frozen tree and forwarding writes
      // into the void. Stop serving after the election timeout, as a voter
      // would by then; hearing from a leader again restores it.
      this.opts.log?.(`no word from leader ${this.lead} for ${this.ticks - this.heardFromLeaderAt} ticks`);
      this.changeLeader(0, this.role);
    }
    this.expireRequests();
    if (this.confJobs.length > 0) this.driveConf();
    this.pump();
  }

  /** A message from peer `from` (already decoded, or as bytes). */
  receive(from: number, raw: PeerMessage | Uint8Array): void {
    if (this.stopped) return;
    const m = raw instanceof Uint8Array ? decodePeerMessage(raw) : raw;
    switch (m.kind) {
      case PeerKind.raft: {
        const t = m.msg.type;
        if (t === 'MsgApp' && m.msg.entries && this.role !== 'leader') {
          this.stages.received(m.msg.entries, this.opts.now());
        } else if (t === 'MsgAppResp' && !m.msg.reject && this.role === 'leader' && this.conf.voters.includes(from)) {
          // Observers acknowledge appends too, but like ZooKeeper's they have no ack figure.
          this.stages.acked(from, m.msg.index ?? 0, this.opts.now());
        }
        this.node.step(m.msg);
        if (t === 'MsgApp' || t === 'MsgHeartbeat' || t === 'MsgSnap') {
          // Only messages from the node's leader count (status() once, off the other messages' path).
          const st = this.node.status();
          if (st.lead === m.msg.from && st.lead !== this.id) {
            this.heardFromLeaderAt = this.ticks;
            // A learner that gave up on this leader (see tick) hears from it again.
            if (this.lead === 0 && !this.conf.voters.includes(this.id)) this.changeLeader(st.lead, st.role);
          }
        }
        break;
      }
      case PeerKind.forward:
        this.onForward(from, m.write);
        break;
      case PeerKind.forwardRejected:
        if (m.incarnation === this.opts.incarnation && this.writes.has(m.seq)) this.failAll('rejected');
        break;
      case PeerKind.touch:
        if (this.role === 'leader') this.onTouch(from, m.sessions);
        break;
      case PeerKind.forwardConf:
        if (this.admitForward(from, m.incarnation, m.stream, m.seq)) {
          this.confJobs.push({
            origin: from,
            incarnation: m.incarnation,
            seq: m.seq,
            changes: m.changes,
            next: 0,
            waiting: 0,
            since: this.ticks,
          });
          this.driveConf();
        }
        break;
      case PeerKind.snapChunk:
        // The shell reassembles snapshots before they reach the peer.
        break;
    }
    this.pump();
  }

  /**
   * A write: proposed here when leading, otherwise forwarded to the leader.
   * `done` runs when this server applies it; `fail` when its fate can no
   * longer be learned here (the caller then drops the client's connection,
   * as ZooKeeper does, so the client treats it as a lost connection).
   */
  propose(
    kind: number,
    sessionId: bigint,
    cxid: number,
    op: number,
    body: Uint8Array,
    done: WriteDone | null,
    fail: (reason: FailReason) => void = () => {},
  ): void {
    if (this.stopped) {
      fail('stopped');
      return;
    }
    const seq = ++this.seq;
    const write: ForwardedWrite = {
      incarnation: this.opts.incarnation,
      stream: this.stream,
      seq,
      kind,
      sessionId,
      cxid,
      op,
      body,
    };
    if (this.role === 'leader') {
      const time = this.opts.now();
      const r = this.node.propose(this.payload(this.id, write, time));
      if (!r.ok) {
        fail(r.reason === 'not-leader' ? 'no-leader' : 'rejected');
        return;
      }
      this.stages.proposed(r.index, time);
      this.stats.proposed++;
      this.writes.set(seq, { done, fail, since: this.ticks });
      this.pump();
      return;
    }
    if (this.lead === 0) {
      fail('no-leader');
      return;
    }
    if (!this.io!.send(this.lead, { kind: PeerKind.forward, write })) {
      // A dropped forward could let a later write of the same client overtake it.
      fail('unreachable');
      this.failAll('unreachable');
      return;
    }
    this.stats.forwarded++;
    this.writes.set(seq, { done, fail, since: this.ticks });
  }

  /**
   * ZooKeeper's reconfig: the leader makes the changes one at a time (Raft's
   * single-server changes), each once the one before is applied. `done` runs
   * here when the last is applied, with /zookeeper/config's new text.
   */
  reconfigure(changes: readonly MemberChange[], done: WriteDone, fail: (reason: FailReason) => void): void {
    if (this.stopped) {
      fail('stopped');
      return;
    }
    if (changes.length === 0) {
      fail('rejected');
      return;
    }
    const seq = ++this.seq;
    const inc = this.opts.incarnation;
    if (this.role === 'leader') {
      this.writes.set(seq, { done, fail, since: this.ticks });
      this.confJobs.push({ origin: this.id, incarnation: inc, seq, changes, next: 0, waiting: 0, since: this.ticks });
      this.driveConf();
      this.pump();
      return;
    }
    const msg: PeerMessage = { kind: PeerKind.forwardConf, incarnation: inc, stream: this.stream, seq, changes };
    if (this.lead === 0 || !this.io!.send(this.lead, msg)) {
      fail(this.lead === 0 ? 'no-leader' : 'unreachable');
      return;
    }
    this.writes.set(seq, { done, fail, since: this.ticks });
  }

  private driveConf(): void {
    for (let guard = 0; guard < 1000 && this.role === 'leader'; guard++) {
      const job = this.confJobs[0];
      if (!job) return;
      if (job.waiting > 0 && this.appliedIndex < job.waiting) return;
      if (job.next >= job.changes.length) {
        this.confJobs.shift();
        continue;
      }
      const c = job.changes[job.next]!;
      const context = encodeChangeContext({
        origin: job.origin,
        incarnation: job.incarnation,
        seq: job.seq,
        last: job.next === job.changes.length - 1,
        line: c.line,
      });
      const r = this.node.proposeConfChange({ type: c.type, nodeId: c.nodeId, context });
      if (r.ok) {
        job.waiting = r.index;
        job.next++;
        return;
      }
      if (r.reason === 'conf-change-pending' && this.ticks - job.since < this.opts.requestTimeoutTicks) return;
      this.opts.log?.(`reconfig change ${job.next + 1}/${job.changes.length} refused: ${r.reason} ${r.detail ?? ''}`);
      this.confJobs.shift();
      this.rejectWrite(job.origin, job.incarnation, job.seq);
    }
  }

  private rejectWrite(origin: number, incarnation: number, seq: number): void {
    if (origin === this.id) {
      const p = this.writes.get(seq);
      if (p && incarnation === this.opts.incarnation) {
        this.writes.delete(seq);
        p.fail('rejected');
      }
      return;
    }
    this.io!.send(origin, { kind: PeerKind.forwardRejected, incarnation, seq });
  }

  /** ZooKeeper's sync: done once this server has applied everything committed when it asked. */
  sync(done: () => void, fail: (reason: FailReason) => void): void {
    if (this.stopped) {
      fail('stopped');
      return;
    }
    const seq = ++this.readSeq;
    const ctx = new Uint8Array(12);
    const view = new DataView(ctx.buffer);
    view.setInt32(0, this.opts.incarnation);
    view.setFloat64(4, seq);
    if (!this.node.readIndex(ctx)) {
      fail('no-leader');
      return;
    }
    this.reads.set(seq, { done, fail, since: this.ticks, index: -1 });
    this.pump();
  }

  /** Session pings for the leader (sent as they are when this server leads). */
  touch(sessions: readonly SessionTouch[]): void {
    if (this.stopped || sessions.length === 0) return;
    if (this.role === 'leader') this.onTouch(this.id, sessions);
    else if (this.lead !== 0) this.io!.send(this.lead, { kind: PeerKind.touch, sessions });
  }

  /** This server's place among the voters other than the leader, by id. */
  private campaignRank(): number {
    let rank = 0;
    for (const v of this.conf.voters) if (v < this.opts.id && v !== this.lostLeader) rank++;
    return rank;
  }

  /** The transport lost its link to `id`. */
  peerUnreachable(id: number): void {
    if (this.stopped) return;
    this.node.reportUnreachable(id);
    if (id === this.lead && this.role !== 'leader') {
      // Forwards on a broken link may be lost while later ones get through a new one.
      this.failAll('unreachable');
      if (this.leaderLinkDownAt < 0) {
        this.leaderLinkDownAt = this.ticks;
        this.lostLeader = id;
      }
      // Grant the other followers' votes now: the first to campaign wins.
      if (this.conf.voters.includes(this.id)) this.node.forgetLeader();
    }
    this.pump();
  }

  /** The transport has a link to `id` again. */
  peerReachable(id: number): void {
    if (id === this.lead || id === this.lostLeader) this.leaderLinkDownAt = -1;
  }

  snapshotSent(to: number, ok: boolean): void {
    if (this.stopped) return;
    this.node.reportSnapshot(to, ok);
    this.pump();
  }

  transferLeadership(to: number): void {
    this.node.transferLeadership(to);
    this.pump();
  }

  /**
   * Runs `fn` with the Raft work it causes held back until it returns: the
   * messages of one socket read, or the requests of one client frame batch,
   * reach the disk and the followers as one Ready and one append each.
   */
  batch<T>(fn: () => T): T {
    this.hold();
    try {
      return fn();
    } finally {
      this.release();
    }
  }

  /** batch() in two halves, for a shell that holds the work until the end of its event-loop turn. */
  hold(): void {
    this.batchDepth++;
  }

  release(): void {
    if (this.batchDepth === 0) return;
    if (--this.batchDepth === 0 && this.pumpOwed) {
      this.pumpOwed = false;
      this.pump();
    }
  }

  /**
   * Runs Readies until there is nothing to do. While a Ready's write is in
   * flight, only interim work runs (committed entries, reads, the leader's
   * appends and heartbeats), so a commit learned during a follower's fsync is
   * applied and answered at once, and new entries gather for the next write.
   */
  private pump(): void {
    if (this.batchDepth > 0) {
      this.pumpOwed = true;
      return;
    }
    while (!this.stopped && this.io) {
      if (this.persisting) {
        if (!this.node.hasInterimReady()) return;
        this.runInterim(this.node.interimReady());
        continue;
      }
      if (!this.node.hasReady()) return;
      const rd = this.node.ready();
      this.writingFrom = rd.entries.length > 0 ? rd.entries[0]!.index : Infinity;
      if (rd.softState) this.changeLeader(rd.softState.lead, rd.softState.role);
      if (rd.snapshot) this.installSnapshot(rd.snapshot);
      // The leader's own messages go out while it writes (Raft thesis
      // 10.2.1): it counts its own log toward a commit only once the write is
      // done, so nothing depends on its disk yet. Answers (acks, votes) wait.
      const late: Message[] = [];
      for (const m of rd.messages) {
        if (sendsBeforePersist(m.type)) this.io.send(m.to, { kind: PeerKind.raft, msg: m });
        else late.push(m);
      }
      // Committed entries are on a majority's disks already: applying (and
      // answering clients) need not wait for this server's write.
      for (const e of rd.committedEntries) this.toApply.push(e);
      for (const rs of rd.readStates) this.onReadState(rs.index, rs.context);
      this.applyCommitted();
      this.persisting = true;
      let sync = true;
      this.io.persist(rd, () => {
        if (this.stopped) return;
        this.storage.append(rd.entries);
        this.writingFrom = Infinity;
        if (rd.hardState) this.storage.setHardState(rd.hardState);
        if (rd.entries.length > 0) {
          const last = rd.entries[rd.entries.length - 1]!.index;
          if (this.role === 'leader') this.stages.acked(this.id, last, this.opts.now());
          else if (this.conf.voters.includes(this.id) && late.some((m) => m.type === 'MsgAppResp')) {
            this.stages.acknowledging(rd.entries, this.opts.now());
          }
        }
        for (const m of late) this.io!.send(m.to, { kind: PeerKind.raft, msg: m });
        this.node.advance();
        this.persisting = false;
        // A snapshot may have waited for its index to be on disk here.
        this.applyCommitted();
        if (!sync) this.pump();
      });
      sync = false;
      // A persist that completed inside the call lets the loop continue here.
    }
  }

  private runInterim(ir: InterimReady): void {
    if (ir.softState) this.changeLeader(ir.softState.lead, ir.softState.role);
    for (const m of ir.messages) this.io!.send(m.to, { kind: PeerKind.raft, msg: m });
    for (const e of ir.committedEntries) this.toApply.push(e);
    for (const rs of ir.readStates) this.onReadState(rs.index, rs.context);
    this.applyCommitted();
  }

  private installSnapshot(s: Snapshot): void {
    // Entries committed before the snapshot but not yet applied are inside it.
    this.toApply.length = 0;
    this.sm = deserializeState(s.data, this.opts.state);
    this.appliedIndex = s.index;
    this.sinceSnapshot = 0;
    this.storage.applySnapshot({ ...s, data: this.io!.keepSnapshot(s) });
    this.conf = s.conf;
    this.stats.installed++;
    this.opts.log?.(`installed snapshot at index ${s.index} (term ${s.term}), ${this.sm.tree.size} znodes`);
    this.onRestore(this.sm);
    this.serveReads();
  }

  private changeLeader(lead: number, role: Role): void {
    const changed = lead !== this.lead || role !== this.role;
    const wasLeader = this.role === 'leader';
    this.lead = lead;
    this.role = role;
    if (!changed) return;
    this.failAll('leader-changed');
    this.confJobs = [];
    // Forgetting the lost leader (lead 0) keeps the early campaign pending.
    if (lead !== 0) this.leaderLinkDownAt = -1;
    if (wasLeader || role === 'leader') this.forwardSeq = new Map();
    if (role === 'leader') this.stages.newTerm();
    this.onLeaderChange(lead, role, this.node.status().term);
  }

  private failAll(reason: FailReason): void {
    // Whatever of the old stream still reaches the leader is refused there.
    this.stream++;
    if (this.writes.size > 0) {
      const ws = [...this.writes.values()];
      this.writes.clear();
      this.stats.failedWrites += ws.length;
      for (const w of ws) w.fail(reason);
    }
    if (this.reads.size > 0) {
      const rs = [...this.reads.values()];
      this.reads.clear();
      for (const r of rs) r.fail(reason);
    }
  }

  private expireRequests(): void {
    const limit = this.ticks - this.opts.requestTimeoutTicks;
    const oldestWrite = this.writes.values().next();
    if (!oldestWrite.done && oldestWrite.value.since < limit) {
      this.failAll('timeout');
      return;
    }
    for (const [seq, r] of this.reads) {
      if (r.since < limit) {
        this.reads.delete(seq);
        r.fail('timeout');
      }
    }
  }

  /**
   * Whether a follower's write may be proposed now: in order within its
   * stream, and not after one of the stream was refused (a later write must
   * never be applied when an earlier one of the same client was not).
   */
  private admitForward(from: number, incarnation: number, stream: number, seq: number): boolean {
    const reject = (): false => {
      this.io!.send(from, { kind: PeerKind.forwardRejected, incarnation, seq });
      return false;
    };
    if (this.role !== 'leader') return reject();
    const key = `${from}:${incarnation}`;
    let st = this.forwardSeq.get(key);
    if (st === undefined || stream > st.stream) {
      st = { stream, last: seq - 1 };
      this.forwardSeq.set(key, st);
    }
    if (stream < st.stream) return false; // the follower gave these up already
    if (st.last < 0) return reject();
    if (seq <= st.last) return false; // a duplicate
    if (seq !== st.last + 1) {
      st.last = -1;
      return reject();
    }
    st.last = seq;
    return true;
  }

  private onForward(from: number, write: ForwardedWrite): void {
    if (!this.admitForward(from, write.incarnation, write.stream, write.seq)) return;
    const time = this.opts.now();
    const r = this.node.propose(this.payload(from, write, time));
    if (!r.ok) {
      this.forwardSeq.get(`${from}:${write.incarnation}`)!.last = -1;
      this.io!.send(from, { kind: PeerKind.forwardRejected, incarnation: write.incarnation, seq: write.seq });
      return;
    }
    this.stages.proposed(r.index, time);
    this.stats.proposed++;
  }

  /** A Raft entry's payload: who is waiting for it, then the command with the leader's time. */
  private payload(origin: number, f: ForwardedWrite, time: number): Uint8Array {
    const w = this.w;
    w.reset();
    w.int(origin).int(f.incarnation).long(f.seq);
    encodeEntry(w, {
      kind: f.kind,
      zxid: 0,
      time,
      sessionId: f.sessionId,
      cxid: f.cxid,
      op: f.op,
      body: f.body,
    });
    return w.toBuffer();
  }

  private applyCommitted(): void {
    let done = 0;
    while (done < this.toApply.length && !this.snapshotting && !this.stopped) {
      const e = this.toApply[done++]!;
      if (e.index <= this.appliedIndex) continue;
      this.applyOne(e);
      this.appliedIndex = e.index;
      this.stats.applied++;
      ++this.sinceSnapshot;
    }
    if (done > 0) this.toApply.splice(0, done);
    // The Raft storage can only record a snapshot of entries it holds on disk:
    // not past its log, not where the Ready being written or a later one
    // replaces a stale tail (applying runs ahead of the writes, and
    // createSnapshot would take the stale entry's term), and not under a
    // snapshot from the leader that the core has accepted but not yet handed
    // over (the core has forgotten the configurations before it).
    if (
      this.sinceSnapshot >= this.opts.snapCount &&
      !this.snapshotting &&
      this.appliedIndex <= this.storage.lastIndex() &&
      this.appliedIndex < this.writingFrom &&
      this.node.logTerm(this.appliedIndex) === this.storage.term(this.appliedIndex)
    ) {
      this.takeSnapshot();
    }
    this.serveReads();
  }

  private applyOne(e: RaftEntry): void {
    // zxid: ZooKeeper's (epoch << 32 | counter), with Raft's term as the epoch
    // and its index as the counter; both only grow, so zxids do too.
    const zxid = e.term * 0x100000000 + e.index;
    if (e.type === 'confChange') {
      // Membership is part of the replicated state: /zookeeper/config
      // changes with it, at this zxid, on every server.
      const cc = decodeConfChange(e.data);
      const current = this.sm.tree.get(CONFIG_PATH)?.data ?? EMPTY;
      const body = applyMembership(current, cc, zxid);
      const entry: Entry = { kind: EntryKind.config, zxid, time: 0, sessionId: 0n, cxid: 0, op: OpCode.reconfig, body };
      const result = this.sm.apply(entry);
      this.conf = this.node.confStateAt(e.index);
      this.onConfChange(cc, this.conf, e.index);
      this.onApply(result, entry);
      const ctx = decodeChangeContext(cc.context);
      if (ctx && ctx.last && ctx.origin === this.id && ctx.incarnation === this.opts.incarnation) {
        const p = this.writes.get(ctx.seq);
        if (p) {
          this.writes.delete(ctx.seq);
          p.done?.(result, entry);
        }
      }
      if (this.role === 'leader') this.driveConf();
      return;
    }
    if (e.data.length === 0) {
      const entry: Entry = {
        kind: EntryKind.noop,
        zxid,
        time: 0,
        sessionId: 0n,
        cxid: 0,
        op: OpCode.notification,
        body: EMPTY,
      };
      this.onApply(this.sm.apply(entry), entry);
      return;
    }
    const r = new JuteReader(e.data);
    const origin = r.int();
    const incarnation = r.int();
    const seq = r.long();
    const entry = decodeEntry(e.data.subarray(HEADER_BYTES));
    entry.zxid = zxid;
    (this.role === 'leader' ? this.quorumAckLatency : this.commitPropagationLatency).recordMs(
      this.opts.now() - entry.time,
    );
    const result = this.sm.apply(entry);
    this.onApply(result, entry);
    if (origin === this.id && incarnation === this.opts.incarnation) {
      const p = this.writes.get(seq);
      if (p) {
        this.writes.delete(seq);
        // Anything older still waiting was lost: answering it later would break its client's order.
        for (const [s, older] of this.writes) {
          if (s >= seq) break;
          this.writes.delete(s);
          older.fail('rejected');
        }
        p.done?.(result, entry);
      }
    }
  }

  private takeSnapshot(): void {
    const index = this.appliedIndex;
    if (index <= this.storage.snapshot().index) return;
    this.sinceSnapshot = 0;
    this.snapshotting = true;
    const term = this.node.logTerm(index) ?? this.storage.term(index);
    const conf = this.node.confStateAt(index);
    this.io!.snapshot(index, term, conf, this.sm, (data) => {
      this.snapshotting = false;
      if (this.stopped) return;
      if (data !== null && index > this.storage.snapshot().index) {
        this.storage.createSnapshot(index, conf, data);
        const keep = this.opts.catchUpEntries ?? 5000;
        if (index - keep > this.storage.firstIndex()) this.storage.compact(index - keep);
        this.stats.snapshots++;
      }
      this.applyCommitted();
      this.pump();
    });
  }

  private onReadState(index: number, ctx: Uint8Array): void {
    if (ctx.length !== 12) return;
    const view = new DataView(ctx.buffer, ctx.byteOffset, ctx.byteLength);
    if (view.getInt32(0) !== this.opts.incarnation) return;
    const r = this.reads.get(view.getFloat64(4));
    if (r) r.index = index;
  }

  private serveReads(): void {
    for (const [seq, r] of this.reads) {
      if (r.index >= 0 && r.index <= this.appliedIndex) {
        this.reads.delete(seq);
        r.done();
      }
    }
  }

  /** What `mntr` and the four-letter words show. */
  describe(): {
    role: Role;
    lead: number;
    term: number;
    commit: number;
    applied: number;
    lastIndex: number;
    conf: ConfState;
    pendingWrites: number;
  } {
    const st = this.node.status();
    return {
      role: this.role,
      lead: this.lead,
      term: st.term,
      commit: st.commit,
      applied: this.appliedIndex,
      lastIndex: st.lastIndex,
      conf: this.conf,
      pendingWrites: this.writes.size,
    };
  }
}

const EMPTY = new Uint8Array(0);
