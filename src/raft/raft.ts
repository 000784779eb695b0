import { applyConfChange, checkConfChange, decodeConfChange, encodeConfChange } from './confchange.js';
import { RaftLog } from './log.js';
import { Progress } from './progress.js';
import { committedIndex, quorumSize, voteResult } from './quorum.js';
import { copyConf, type RaftStorage } from './storage.js';
import {
  sendsBeforePersist,
  type InterimReady,
  RaftInvariantError,
  invariant,
  type ConfChange,
  type ConfState,
  type Entry,
  type EntryType,
  type HardState,
  type Message,
  type MessageType,
  type ProgressStatus,
  type ProposeRejection,
  type ProposeResult,
  type RaftConfig,
  type ReadState,
  type Ready,
  type Role,
  type Snapshot,
  type SoftState,
  type Status,
} from './types.js';

const DEFAULT_MAX_INFLIGHT = 256;
const DEFAULT_MAX_SIZE_PER_MSG = 1024 * 1024;
const EMPTY = new Uint8Array(0);

type CampaignKind = 'pre' | 'election' | 'transfer';

/** A ReadIndex request waiting for its heartbeat round to reach a quorum. */
interface PendingRead {
  readonly seq: number;
  readonly index: number;
  readonly from: number;
  readonly context: Uint8Array;
}

/** A message as the node builds it: `from` is always this node, `term` defaults to the current term. */
type Outgoing = Omit<Message, 'from' | 'term'> & { readonly term?: number };

/**
 * One Raft peer as a pure state machine, shaped like etcd's raft/RawNode.
 * Time is `tick()`, input is `step()` and the local calls (`propose`,
 * `readIndex`, ...), output is `ready()`; the shell persists, sends and
 * applies what a Ready holds, then calls `advance()`.
 *
 * Not thread-safe, no I/O, no clock; every call runs to completion.
 */
export class RaftNode {
  readonly id: number;
  private readonly electionTick: number;
  private readonly heartbeatTick: number;
  private readonly preVote: boolean;
  private readonly checkQuorum: boolean;
  private readonly maxInflight: number;
  private readonly maxSizePerMsg: number;
  private readonly maxUncommittedSize: number;
  private readonly rng: () => number;

  private term: number;
  private vote: number;
  private lead = 0;
  private role: Role = 'follower';
  private readonly log: RaftLog;

  /**
   * The configuration after each confChange entry in the log, oldest first;
   * element 0 is the configuration at (or before) the log's start. The last
   * one is in force, committed or not (dissertation §4.1).
   */
  private confLog: { index: number; conf: ConfState }[];

  private trackers = new Map<number, Progress>();
  private votes = new Map<number, boolean>();
  private msgs: Message[] = [];
  private readStates: ReadState[] = [];

  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  private leadTransferee = 0;
  /** Index of the latest confChange the leader may not have committed yet. */
  private pendingConfIndex = 0;
  /** The leader's own proposals not yet committed, for maxUncommittedEntriesSize. */
  private uncommitted: { index: number; size: number }[] = [];
  private uncommittedSize = 0;

  private readSeq = 0;
  private pendingReads: PendingRead[] = [];
  /** ReadIndex requests that arrived before this leader committed an entry of its own term. */
  private readsAwaitingCommit: { from: number; context: Uint8Array }[] = [];

  private prevHardState: HardState;
  private prevSoftState: SoftState = { lead: 0, role: 'follower' };
  private outstanding: Ready | undefined;
  /**
   * Every follower is owed an append (new entries or a new commit index).
   * Sent when the shell next asks for work, so that a burst of proposals or
   * acknowledgements handled in one go leaves as one MsgApp per follower.
   */
  private appendsOwed = false;

  /**
   * A node over its persisted state. A fresh cluster member starts from a
   * storage bootstrapped with the initial configuration; a node being added
   * to a running cluster starts from an empty storage and learns everything
   * from the leader.
   */
  static create(config: RaftConfig, storage: RaftStorage): RaftNode {
    return new RaftNode(config, storage);
  }

  private constructor(config: RaftConfig, storage: RaftStorage) {
    const positive = (n: number): boolean => Number.isSafeInteger(n) && n > 0;
    if (!positive(config.id)) throw new RangeError(`raft id ${config.id} must be a positive integer`);
    if (!positive(config.heartbeatTick)) throw new RangeError('heartbeatTick must be a positive integer');
    if (!positive(config.electionTick) || config.electionTick <= config.heartbeatTick) {
      throw new RangeError('electionTick must be an integer greater than heartbeatTick');
    }
    this.id = config.id;
    this.electionTick = config.electionTick;
    this.heartbeatTick = config.heartbeatTick;
    this.preVote = config.preVote;
    this.checkQuorum = config.checkQuorum;
    this.maxInflight = config.maxInflightMsgs ?? DEFAULT_MAX_INFLIGHT;
    this.maxSizePerMsg = config.maxSizePerMsg ?? DEFAULT_MAX_SIZE_PER_MSG;
    this.maxUncommittedSize = config.maxUncommittedEntriesSize ?? Infinity;
    this.rng = config.rng;
    if (!positive(this.maxInflight)) throw new RangeError('maxInflightMsgs must be a positive integer');

    const { hardState, confState } = storage.initialState();
    // The snapshot may be newer than the log's start: a shell keeps some
    // entries before it for slow followers (etcd's catch-up entries).
    const snapshotIndex = storage.snapshot().index;
    invariant(
      snapshotIndex >= storage.firstIndex() - 1 && snapshotIndex <= storage.lastIndex(),
      () => `snapshot at ${snapshotIndex} outside the log [${storage.firstIndex()}, ${storage.lastIndex()}]`,
    );
    // A snapshot is committed by definition, even if the hard state written
    // after it was lost in a crash.
    const committed = Math.max(hardState.commit, snapshotIndex);
    const applied = config.applied ?? snapshotIndex;
    if (applied < snapshotIndex) {
      throw new RangeError(`applied ${applied} is behind the snapshot at ${snapshotIndex}; restore from it`);
    }
    this.log = new RaftLog(storage, committed, applied);
    this.term = hardState.term;
    this.vote = hardState.vote;
    this.prevHardState = hardState;

    this.confLog = [{ index: snapshotIndex, conf: copyConf(confState) }];
    const last = storage.lastIndex();
    for (let lo = snapshotIndex + 1; lo <= last;) {
      const page = storage.entries(lo, last + 1, this.maxSizePerMsg);
      for (const e of page) {
        if (e.type === 'confChange')
          this.confLog.push({ index: e.index, conf: applyConfChange(this.conf(), decodeConfChange(e.data)) });
      }
      lo += page.length;
    }
    this.becomeFollower(this.term, 0);
  }

  // ---------------------------------------------------------------- inputs

  /** One unit of logical time. */
  tick(): void {
    if (this.role === 'leader') this.tickHeartbeat();
    else this.tickElection();
  }

  /** A message from a peer. */
  step(m: Message): void {
    invariant(m.to === this.id, () => `${this.id} stepped a message addressed to ${m.to}`);
    if (m.term === 0) {
      if (m.type !== 'MsgReadIndex' && m.type !== 'MsgTransferLeader') return;
    } else if (m.term > this.term) {
      if (m.type === 'MsgVote' || m.type === 'MsgPreVote') {
        // The lease (CheckQuorum): while we hear from a leader, a vote
        // request is a disruption, not an election; ignore it entirely.
        const inLease = this.checkQuorum && this.lead !== 0 && this.electionElapsed < this.electionTick;
        if (inLease && !m.transfer) return;
      }
      if (m.type === 'MsgPreVote') {
        // A pre-vote never changes our term.
      } else if (m.type === 'MsgPreVoteResp' && !m.reject) {
        // Granted for the term we would campaign in; counted below.
      } else {
        const fromLeader = m.type === 'MsgApp' || m.type === 'MsgHeartbeat' || m.type === 'MsgSnap';
        this.becomeFollower(m.term, fromLeader ? m.from : 0);
      }
    } else if (m.term < this.term) {
      if ((this.checkQuorum || this.preVote) && (m.type === 'MsgHeartbeat' || m.type === 'MsgApp')) {
        // A stale leader: tell it our term so it steps down. Without this, a
        // node whose term ran ahead in a partition, ignored by the lease and
        // by pre-vote, could never rejoin.
        this.send({ type: 'MsgAppResp', to: m.from });
      } else if (m.type === 'MsgPreVote') {
        this.send({ type: 'MsgPreVoteResp', to: m.from, reject: true });
      }
      return;
    }

    if (m.type === 'MsgVote' || m.type === 'MsgPreVote') {
      this.handleVoteRequest(m);
      return;
    }
    switch (this.role) {
      case 'leader':
        this.stepLeader(m);
        return;
      case 'candidate':
      case 'precandidate':
        this.stepCandidate(m);
        return;
      case 'follower':
        this.stepFollower(m);
        return;
      default: {
        const unknown: never = this.role;
        throw new RaftInvariantError(`unknown role ${String(unknown)}`);
      }
    }
  }

  /** Start an election now (with a pre-vote first when configured). */
  campaign(): void {
    this.hup(this.preVote ? 'pre' : 'election');
  }

  /**
   * Forget this term's leader (etcd's ForgetLeader), when the shell knows it
   * is gone: its process closed every connection. Until the CheckQuorum lease
   * runs out, a follower ignores pre-votes and votes; one that has forgotten
   * its leader grants them at once, so the first follower to campaign can
   * win. A leader that was alive after all is re-learned from its next
   * message. No effect on a candidate, a leader, or with no leader known.
   */
  forgetLeader(): void {
    if (this.role === 'follower') this.lead = 0;
  }

  /** Append data to the log. Only the leader accepts; the shell forwards elsewhere. */
  propose(data: Uint8Array): ProposeResult {
    return this.proposeEntry('normal', data);
  }

  /**
   * Propose a single-node membership change. Refused until this leader has
   * committed an entry of its own term and while an earlier change is not yet
   * committed (Ongaro's 2015 fix for single-server changes).
   */
  proposeConfChange(cc: ConfChange): ProposeResult {
    if (this.role !== 'leader') return this.rejectProposal('not-leader');
    if (this.log.term(this.log.committed) !== this.term) {
      return this.rejectProposal('conf-change-pending', 'no entry of this term is committed yet');
    }
    if (this.pendingConfIndex > this.log.committed) {
      return this.rejectProposal('conf-change-pending', `change at ${this.pendingConfIndex} is not committed`);
    }
    const problem = checkConfChange(this.conf(), cc);
    if (problem !== undefined) return this.rejectProposal('invalid-conf-change', problem);
    return this.proposeEntry('confChange', encodeConfChange(cc));
  }

  /**
   * Ask for a linearizable read point. The answer arrives as a ReadState with
   * the same context, on this node, once the leader has confirmed it still
   * leads. False when there is no known leader to ask (retry later); a
   * request can also be lost with a message or a leader change, so the shell
   * needs a timeout either way.
   */
  readIndex(context: Uint8Array): boolean {
    if (this.role === 'leader') {
      this.handleReadIndexRequest(this.id, context);
      return true;
    }
    if (this.lead === 0) return false;
    this.msgs.push({ type: 'MsgReadIndex', from: this.id, to: this.lead, term: 0, context });
    return true;
  }

  /** Hand leadership to `to` once its log is current (MsgTimeoutNow). Forwarded when called on a follower. */
  transferLeadership(to: number): void {
    if (this.role === 'leader') {
      this.handleTransferLeader(to);
    } else if (this.lead !== 0) {
      this.msgs.push({ type: 'MsgTransferLeader', from: to, to: this.lead, term: 0 });
    }
  }

  /** The transport could not reach `id`: stop pipelining to it and probe instead. */
  reportUnreachable(id: number): void {
    const pr = this.role === 'leader' ? this.trackers.get(id) : undefined;
    if (pr !== undefined && pr.state === 'replicate') pr.becomeProbe();
  }

  /** Outcome of sending a MsgSnap to `id`. Until reported (or acked), nothing else is sent to it. */
  reportSnapshot(id: number, ok: boolean): void {
    const pr = this.role === 'leader' ? this.trackers.get(id) : undefined;
    if (pr === undefined || pr.state !== 'snapshot') return;
    if (!ok) pr.pendingSnapshot = 0;
    pr.becomeProbe();
    // Wait for the follower's ack (or the next heartbeat) before probing.
    pr.msgAppFlowPaused = true;
  }

  // ---------------------------------------------------------------- output

  hasReady(): boolean {
    this.settleAppends();
    if (this.outstanding !== undefined) return false;
    if (this.msgs.length > 0 || this.readStates.length > 0) return true;
    if (this.log.unstable.entries.length > 0 || this.log.unstable.snapshot !== undefined) return true;
    if (this.log.hasNextCommittedEntries()) return true;
    return this.softStateChanged() || this.hardStateChanged();
  }

  /** The next batch of work. Call advance() before the next ready(). */
  ready(): Ready {
    invariant(this.outstanding === undefined, () => 'ready() called twice without advance()');
    this.settleAppends();
    const snapshot = this.log.unstable.snapshot;
    const entries = this.log.unstable.entries.slice();
    const hardState = this.hardStateChanged() ? this.hardState() : undefined;
    const softState = this.softStateChanged() ? { lead: this.lead, role: this.role } : undefined;
    const mustSync =
      entries.length > 0 ||
      snapshot !== undefined ||
      (hardState !== undefined &&
        (hardState.term !== this.prevHardState.term || hardState.vote !== this.prevHardState.vote));
    const committedEntries = snapshot === undefined ? this.takeCommitted() : [];
    const rd: Ready = {
      ...(softState !== undefined ? { softState } : {}),
      ...(hardState !== undefined ? { hardState } : {}),
      entries,
      ...(snapshot !== undefined ? { snapshot } : {}),
      // Entries after a snapshot wait until the shell has installed it.
      committedEntries,
      messages: this.msgs,
      readStates: this.readStates,
      mustSync,
    };
    this.msgs = [];
    this.readStates = [];
    if (hardState !== undefined) this.prevHardState = hardState;
    if (softState !== undefined) this.prevSoftState = softState;
    this.outstanding = rd;
    return rd;
  }

  /**
   * Work the shell may do while the outstanding Ready's storage write is in
   * flight (etcd's asynchronous storage writes, in a narrower form: one write
   * at a time, so entries still batch behind the fsync): committed entries,
   * read states, a role change, and the messages that claim nothing about
   * this node's disk. Acknowledgements and votes stay queued for the next
   * Ready, which writes everything they could refer to first.
   */
  hasInterimReady(): boolean {
    this.settleAppends();
    if (this.outstanding === undefined) return false;
    if (this.readStates.length > 0 || this.softStateChanged()) return true;
    if (this.log.unstable.snapshot === undefined && this.log.hasNextCommittedEntries()) return true;
    return this.msgs.some((m) => sendsBeforePersist(m.type));
  }

  /**
   * Take that work. Unlike a Ready it needs no advance(): its committed
   * entries count as applied at once, so the shell must apply them, after
   * those of every earlier Ready, before taking anything else from the core.
   */
  interimReady(): InterimReady {
    invariant(this.outstanding !== undefined, () => 'interimReady() without an outstanding Ready');
    this.settleAppends();
    const softState = this.softStateChanged() ? { lead: this.lead, role: this.role } : undefined;
    if (softState !== undefined) this.prevSoftState = softState;
    const committedEntries = this.log.unstable.snapshot === undefined ? this.takeCommitted() : [];
    const last = committedEntries[committedEntries.length - 1];
    if (last !== undefined) this.log.appliedTo(last.index);
    const messages: Message[] = [];
    const keep: Message[] = [];
    for (const m of this.msgs) (sendsBeforePersist(m.type) ? messages : keep).push(m);
    this.msgs = keep;
    const readStates = this.readStates;
    this.readStates = [];
    return { ...(softState !== undefined ? { softState } : {}), committedEntries, messages, readStates };
  }

  private takeCommitted(): Entry[] {
    const ents = this.log.nextCommittedEntries();
    const last = ents[ents.length - 1];
    if (last !== undefined) this.log.acceptApplying(last.index);
    return ents;
  }

  /** The shell has done everything the last Ready asked. */
  advance(): void {
    const rd = this.outstanding;
    invariant(rd !== undefined, () => 'advance() without a ready()');
    this.outstanding = undefined;
    if (rd.snapshot !== undefined) {
      this.log.unstable.stableSnapTo(rd.snapshot.index);
      if (rd.snapshot.index > this.log.applied) this.log.appliedTo(rd.snapshot.index);
    }
    const lastEntry = rd.entries[rd.entries.length - 1];
    if (lastEntry !== undefined) this.log.unstable.stableTo(lastEntry.index, lastEntry.term);
    const lastApplied = rd.committedEntries[rd.committedEntries.length - 1];
    if (lastApplied !== undefined && lastApplied.index > this.log.applied) this.log.appliedTo(lastApplied.index);
    this.trimConfLog();
    // The leader's own log counts toward the commit quorum only once on disk.
    if (this.role === 'leader' && lastEntry !== undefined) this.ackOwnLog();
  }

  // ---------------------------------------------------------------- introspection

  /** A cheap snapshot of this node's state. */
  status(): Status {
    return {
      id: this.id,
      term: this.term,
      vote: this.vote,
      lead: this.lead,
      role: this.role,
      commit: this.log.committed,
      applied: this.log.applied,
      firstIndex: this.log.firstIndex(),
      lastIndex: this.log.lastIndex(),
      conf: this.conf(),
      leadTransferee: this.leadTransferee,
    };
  }

  /** The leader's view of every member's replication; undefined on other roles. */
  progress(): ReadonlyMap<number, ProgressStatus> | undefined {
    if (this.role !== 'leader') return undefined;
    const out = new Map<number, ProgressStatus>();
    for (const [id, pr] of this.trackers) out.set(id, pr.status());
    return out;
  }

  /** The term of entry i in this node's log, or undefined when compacted or absent. */
  logTerm(i: number): number | undefined {
    return this.log.term(i);
  }

  /** Entries [lo, hi) of this node's log; lo must not be compacted. */
  logEntries(lo: number, hi: number): Entry[] {
    return this.log.entries(lo, Math.min(hi, this.log.lastIndex() + 1));
  }

  /** The configuration in force: the latest in the log, committed or not. */
  confState(): ConfState {
    return copyConf(this.conf());
  }

  /**
   * The configuration as of `index`: what a snapshot taken at `index` must
   * record. Answers for any index from the stored snapshot on.
   */
  confStateAt(index: number): ConfState {
    invariant(index >= this.confLog[0]!.index, () => `confStateAt(${index}) before ${this.confLog[0]!.index}`);
    let found = this.confLog[0]!.conf;
    for (const c of this.confLog) {
      if (c.index > index) break;
      found = c.conf;
    }
    return copyConf(found);
  }

  // ---------------------------------------------------------------- roles

  private reset(term: number): void {
    if (term !== this.term) {
      invariant(term > this.term, () => `${this.id}: term goes back from ${this.term} to ${term}`);
      this.term = term;
      this.vote = 0;
    }
    this.lead = 0;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTimeout = this.electionTick + Math.floor(this.rng() * this.electionTick);
    this.leadTransferee = 0;
    this.votes.clear();
    this.trackers.clear();
    this.pendingConfIndex = 0;
    this.uncommitted = [];
    this.uncommittedSize = 0;
    this.pendingReads = [];
    this.readsAwaitingCommit = [];
  }

  private becomeFollower(term: number, lead: number): void {
    this.reset(term);
    this.role = 'follower';
    this.lead = lead;
  }

  private becomeCandidate(): void {
    invariant(this.role !== 'leader', () => 'a leader cannot become a candidate');
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = 'candidate';
  }

  private becomePreCandidate(): void {
    invariant(this.role !== 'leader', () => 'a leader cannot become a pre-candidate');
    // Neither term nor vote change: a pre-election is only a poll.
    this.votes.clear();
    this.lead = 0;
    this.role = 'precandidate';
  }

  private becomeLeader(): void {
    invariant(this.role === 'candidate', () => `${this.role} cannot become leader`);
    this.reset(this.term);
    this.role = 'leader';
    this.lead = this.id;
    this.syncProgress();
    // Entries from earlier terms in our log may hold a confChange that is
    // not committed; one will be once our first entry commits.
    this.pendingConfIndex = this.log.lastIndex();
    this.appendToLog([{ index: this.log.lastIndex() + 1, term: this.term, type: 'normal', data: EMPTY }]);
    this.bcastAppend();
  }

  private promotable(): boolean {
    return this.conf().voters.includes(this.id) && this.log.unstable.snapshot === undefined;
  }

  private hup(kind: CampaignKind): void {
    if (this.role === 'leader' || !this.promotable()) return;
    this.campaignAs(kind);
  }

  private campaignAs(kind: CampaignKind): void {
    let type: MessageType;
    let term: number;
    if (kind === 'pre') {
      this.becomePreCandidate();
      type = 'MsgPreVote';
      term = this.term + 1;
    } else {
      this.becomeCandidate();
      type = 'MsgVote';
      term = this.term;
    }
    const voters = this.conf().voters;
    this.votes.set(this.id, true);
    if (voteResult(voters, this.votes) === 'won') {
      if (kind === 'pre') this.campaignAs('election');
      else this.becomeLeader();
      return;
    }
    const index = this.log.lastIndex();
    const logTerm = this.log.lastTerm();
    for (const id of voters) {
      if (id === this.id) continue;
      this.send({ type, to: id, term, index, logTerm, ...(kind === 'transfer' ? { transfer: true } : {}) });
    }
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.hup(this.preVote ? 'pre' : 'election');
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTick) {
      this.electionElapsed = 0;
      if (this.checkQuorum) {
        if (!this.quorumActive()) {
          this.becomeFollower(this.term, 0);
          return;
        }
        for (const [id, pr] of this.trackers) if (id !== this.id) pr.recentActive = false;
      }
      // A transfer that has not finished within an election timeout failed.
      this.leadTransferee = 0;
    }
    if (this.heartbeatElapsed >= this.heartbeatTick) {
      this.heartbeatElapsed = 0;
      this.bcastHeartbeat();
    }
  }

  private quorumActive(): boolean {
    const voters = this.conf().voters;
    let active = 0;
    for (const id of voters) {
      if (id === this.id || this.trackers.get(id)?.recentActive === true) active++;
    }
    return active >= quorumSize(voters.length);
  }

  // ---------------------------------------------------------------- per-role steps

  private handleVoteRequest(m: Message): void {
    const respType: MessageType = m.type === 'MsgVote' ? 'MsgVoteResp' : 'MsgPreVoteResp';
    const canVote =
      this.vote === m.from || (this.vote === 0 && this.lead === 0) || (m.type === 'MsgPreVote' && m.term > this.term);
    if (canVote && this.log.isUpToDate(m.index ?? 0, m.logTerm ?? 0)) {
      // Answer in the request's term: a pre-vote is for a term we are not in.
      this.send({ type: respType, to: m.from, term: m.term });
      if (m.type === 'MsgVote') {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.send({ type: respType, to: m.from, reject: true });
    }
  }

  private stepLeader(m: Message): void {
    switch (m.type) {
      case 'MsgReadIndex':
        this.handleReadIndexRequest(m.from, m.context ?? EMPTY);
        return;
      case 'MsgTransferLeader':
        this.handleTransferLeader(m.from);
        return;
      case 'MsgApp':
      case 'MsgHeartbeat':
      case 'MsgSnap':
        throw new RaftInvariantError(`${this.id} leads term ${this.term} but ${m.from} sent ${m.type} in it`);
      case 'MsgAppResp': {
        const pr = this.trackers.get(m.from);
        if (pr !== undefined) this.handleAppendResponse(m, pr);
        return;
      }
      case 'MsgHeartbeatResp': {
        const pr = this.trackers.get(m.from);
        if (pr !== undefined) this.handleHeartbeatResponse(m, pr);
        return;
      }
      default:
        return;
    }
  }

  private stepCandidate(m: Message): void {
    const myResp: MessageType = this.role === 'precandidate' ? 'MsgPreVoteResp' : 'MsgVoteResp';
    switch (m.type) {
      case 'MsgApp':
        this.becomeFollower(m.term, m.from);
        this.handleAppendEntries(m);
        return;
      case 'MsgHeartbeat':
        this.becomeFollower(m.term, m.from);
        this.handleHeartbeat(m);
        return;
      case 'MsgSnap':
        this.becomeFollower(m.term, m.from);
        this.handleSnapshot(m);
        return;
      case 'MsgVoteResp':
      case 'MsgPreVoteResp': {
        if (m.type !== myResp) return;
        // A grant from an earlier pre-vote round is for a term we may no longer want.
        if (this.role === 'precandidate' && !m.reject && m.term !== this.term + 1) return;
        this.votes.set(m.from, m.reject !== true);
        const result = voteResult(this.conf().voters, this.votes);
        if (result === 'won') {
          if (this.role === 'precandidate') this.campaignAs('election');
          else this.becomeLeader();
        } else if (result === 'lost') {
          this.becomeFollower(this.term, 0);
        }
        return;
      }
      default:
        return;
    }
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case 'MsgApp':
      case 'MsgHeartbeat':
      case 'MsgSnap':
        invariant(
          this.lead === 0 || this.lead === m.from,
          () => `${this.id} sees two leaders in term ${this.term}: ${this.lead} and ${m.from}`,
        );
        this.electionElapsed = 0;
        this.lead = m.from;
        if (m.type === 'MsgApp') this.handleAppendEntries(m);
        else if (m.type === 'MsgHeartbeat') this.handleHeartbeat(m);
        else this.handleSnapshot(m);
        return;
      case 'MsgTimeoutNow':
        // A transfer skips the pre-vote: the leader asked for this election.
        this.hup('transfer');
        return;
      case 'MsgReadIndex':
      case 'MsgTransferLeader':
        if (this.lead !== 0) this.msgs.push({ ...m, to: this.lead });
        return;
      case 'MsgReadIndexResp':
        this.readStates.push({ index: m.index ?? 0, context: m.context ?? EMPTY });
        return;
      default:
        return;
    }
  }

  // ---------------------------------------------------------------- follower side of replication

  private handleAppendEntries(m: Message): void {
    const prevIndex = m.index ?? 0;
    const prevTerm = m.logTerm ?? 0;
    const ents = m.entries ?? [];
    if (prevIndex < this.log.committed) {
      this.send({ type: 'MsgAppResp', to: m.from, index: this.log.committed });
      return;
    }
    if (this.log.matchTerm(prevIndex, prevTerm)) {
      const lastNew = prevIndex + ents.length;
      const conflict = this.log.findConflict(ents);
      if (conflict !== 0) {
        invariant(conflict > this.log.committed, () => `entry ${conflict} conflicts with the committed log`);
        this.appendToLog(ents.slice(conflict - ents[0]!.index));
      }
      // Only what is known to match the leader may be marked committed.
      this.log.commitTo(Math.min(m.commit ?? 0, lastNew));
      this.send({ type: 'MsgAppResp', to: m.from, index: lastNew });
      return;
    }
    // Point the leader at the last entry that could still match: the largest
    // index whose term is <= the term the leader has at prevIndex, which
    // skips a divergent tail of higher terms in one round trip.
    const [hintIndex, hintTerm] = this.log.findConflictByTerm(Math.min(prevIndex, this.log.lastIndex()), prevTerm);
    this.send({
      type: 'MsgAppResp',
      to: m.from,
      index: prevIndex,
      reject: true,
      rejectHint: hintIndex,
      logTerm: hintTerm,
    });
  }

  private handleHeartbeat(m: Message): void {
    // The leader sends min(our match, its commit), so this never passes our matching prefix.
    this.log.commitTo(m.commit ?? 0);
    this.send({ type: 'MsgHeartbeatResp', to: m.from, ...(m.readSeq !== undefined ? { readSeq: m.readSeq } : {}) });
  }

  private handleSnapshot(m: Message): void {
    const s = m.snapshot;
    if (s === undefined) return;
    if (this.restore(s)) {
      this.send({ type: 'MsgAppResp', to: m.from, index: this.log.lastIndex() });
    } else {
      this.send({ type: 'MsgAppResp', to: m.from, index: this.log.committed });
    }
  }

  private restore(s: Snapshot): boolean {
    if (s.index <= this.log.committed) return false;
    invariant(this.role === 'follower', () => `${this.role} asked to restore a snapshot`);
    if (this.log.matchTerm(s.index, s.term)) {
      // Our log already holds the snapshot's last entry: just learn it is committed.
      this.log.commitTo(s.index);
      return false;
    }
    this.log.restore(s);
    this.confLog = [{ index: s.index, conf: copyConf(s.conf) }];
    return true;
  }

  // ---------------------------------------------------------------- leader side of replication

  private proposeEntry(type: EntryType, data: Uint8Array): ProposeResult {
    if (this.role !== 'leader') return this.rejectProposal('not-leader');
    if (this.leadTransferee !== 0) return this.rejectProposal('transfer-in-progress');
    if (!this.conf().voters.includes(this.id)) return this.rejectProposal('removed');
    const size = data.length;
    if (this.uncommittedSize > 0 && size > 0 && this.uncommittedSize + size > this.maxUncommittedSize) {
      return this.rejectProposal('too-large', `${this.uncommittedSize} bytes uncommitted`);
    }
    const entry: Entry = { index: this.log.lastIndex() + 1, term: this.term, type, data };
    this.appendToLog([entry]);
    if (type === 'confChange') this.pendingConfIndex = entry.index;
    if (size > 0) {
      this.uncommitted.push({ index: entry.index, size });
      this.uncommittedSize += size;
    }
    // A new configuration may already let more commit.
    if (type === 'confChange') this.maybeCommit();
    this.appendsOwed = true;
    return { ok: true, index: entry.index, term: entry.term };
  }

  private rejectProposal(reason: ProposeRejection, detail?: string): ProposeResult {
    return { ok: false, reason, lead: this.lead, ...(detail !== undefined ? { detail } : {}) };
  }

  /** Append to the log and keep the configuration list in step with it. */
  private appendToLog(ents: readonly Entry[]): void {
    if (ents.length === 0) return;
    this.log.append(ents);
    const first = ents[0]!.index;
    let changed = false;
    while (this.confLog.length > 1 && this.confLog[this.confLog.length - 1]!.index >= first) {
      this.confLog.pop();
      changed = true;
    }
    for (const e of ents) {
      if (e.type !== 'confChange') continue;
      this.confLog.push({ index: e.index, conf: applyConfChange(this.conf(), decodeConfChange(e.data)) });
      changed = true;
    }
    if (changed && this.role === 'leader') this.syncProgress();
  }

  private conf(): ConfState {
    return this.confLog[this.confLog.length - 1]!.conf;
  }

  /**
   * Forget configurations nothing can ask for again: a new snapshot is never
   * older than the stored one, and truncation never reaches committed entries.
   */
  private trimConfLog(): void {
    const keepFrom = Math.min(this.log.applied, this.log.storage.snapshot().index);
    let drop = 0;
    while (drop + 1 < this.confLog.length && this.confLog[drop + 1]!.index <= keepFrom) drop++;
    if (drop > 0) this.confLog = this.confLog.slice(drop);
  }

  /** Make the progress map match the configuration in force. */
  private syncProgress(): void {
    const conf = this.conf();
    const members = new Set([...conf.voters, ...conf.learners]);
    for (const id of [...this.trackers.keys()]) if (!members.has(id)) this.trackers.delete(id);
    for (const id of members) {
      const isLearner = conf.learners.includes(id);
      const existing = this.trackers.get(id);
      if (existing !== undefined) {
        existing.isLearner = isLearner;
        continue;
      }
      const pr = new Progress(this.log.lastIndex() + 1, this.maxInflight, isLearner);
      // New members count as active so CheckQuorum does not fire before they answer.
      pr.recentActive = true;
      if (id === this.id) {
        pr.match = this.log.persistedIndex();
        pr.becomeReplicate();
      }
      this.trackers.set(id, pr);
    }
    if (this.leadTransferee !== 0 && !conf.voters.includes(this.leadTransferee)) this.leadTransferee = 0;
  }

  private ackOwnLog(): void {
    const pr = this.trackers.get(this.id);
    if (pr === undefined) return;
    if (pr.maybeUpdate(this.log.persistedIndex()) && this.maybeCommit()) this.appendsOwed = true;
  }

  /**
   * Commit the quorum's acknowledged index if it is an entry of this term:
   * earlier terms' entries commit only underneath one (paper §5.4.2, the
   * figure-8 rule).
   */
  private maybeCommit(): boolean {
    const q = committedIndex(this.conf().voters, (id) => this.trackers.get(id)?.match ?? 0);
    if (q <= this.log.committed || this.log.term(q) !== this.term) return false;
    this.log.commitTo(q);
    while (this.uncommitted.length > 0 && this.uncommitted[0]!.index <= q) {
      this.uncommittedSize -= this.uncommitted.shift()!.size;
    }
    if (this.readsAwaitingCommit.length > 0) {
      const waiting = this.readsAwaitingCommit;
      this.readsAwaitingCommit = [];
      for (const r of waiting) this.handleReadIndexRequest(r.from, r.context);
    }
    const latestConf = this.confLog[this.confLog.length - 1]!;
    if (!latestConf.conf.voters.includes(this.id) && latestConf.index <= q) {
      // Our own removal is committed: tell the others, then stop leading
      // (dissertation §4.2.2).
      this.bcastAppend();
      this.becomeFollower(this.term, 0);
    }
    return true;
  }

  private settleAppends(): void {
    if (!this.appendsOwed) return;
    this.appendsOwed = false;
    if (this.role !== 'leader') return;
    for (const id of this.trackers.keys()) {
      if (id === this.id) continue;
      this.sendAppend(id);
      // What one message cannot carry (maxSizePerMsg) goes in more, up to
      // the follower's window, as the proposals one by one would have.
      for (let i = 0; i < this.maxInflight && this.sendAppend(id, false); i++) {
        // sendAppend does the work.
      }
    }
  }

  private bcastAppend(): void {
    for (const id of this.trackers.keys()) if (id !== this.id) this.sendAppend(id);
  }

  private bcastHeartbeat(): void {
    for (const [id, pr] of this.trackers) {
      if (id === this.id) continue;
      // Never tell a follower an index is committed before it is known to
      // hold our entry there.
      const commit = Math.min(pr.match, this.log.committed);
      this.send({ type: 'MsgHeartbeat', to: id, commit, readSeq: this.readSeq });
      pr.sentCommit = Math.max(pr.sentCommit, commit);
    }
  }

  /** Send `to` its next entries (or an empty MsgApp carrying the commit index, or a snapshot). */
  private sendAppend(to: number, sendIfEmpty = true): boolean {
    const pr = this.trackers.get(to)!;
    if (pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    if (prevTerm === undefined || pr.next < this.log.firstIndex()) return this.sendSnapshot(to, pr);
    let ents: Entry[] = [];
    // A throttled follower gets only empty MsgApps: if every in-flight
    // message was lost, its answer to one of these unblocks the window.
    if (pr.state !== 'replicate' || !pr.inflights.full()) {
      ents = this.log.entries(pr.next, this.log.lastIndex() + 1, this.maxSizePerMsg);
    }
    if (ents.length === 0 && !sendIfEmpty) return false;
    this.send({ type: 'MsgApp', to, index: prevIndex, logTerm: prevTerm, entries: ents, commit: this.log.committed });
    pr.sentEntries(ents.length, ents.length > 0 ? ents[ents.length - 1]!.index : 0);
    pr.sentCommit = Math.max(pr.sentCommit, this.log.committed);
    return true;
  }

  private sendSnapshot(to: number, pr: Progress): boolean {
    if (!pr.recentActive) return false;
    const snapshot = this.log.storage.snapshot();
    invariant(snapshot.index > 0, () => `${to} needs a snapshot but storage has none`);
    pr.becomeSnapshot(snapshot.index);
    this.send({ type: 'MsgSnap', to, snapshot });
    return true;
  }

  private handleAppendResponse(m: Message, pr: Progress): void {
    pr.recentActive = true;
    const index = m.index ?? 0;
    if (m.reject === true) {
      let probe = m.rejectHint ?? 0;
      // Skip every index where our term is above the follower's: none of
      // them can match (etcd raft.go, stepLeader, the long comment).
      if ((m.logTerm ?? 0) > 0) probe = this.log.findConflictByTerm(probe, m.logTerm!)[0];
      if (pr.maybeDecrTo(index, probe)) this.sendAppend(m.from);
      return;
    }
    invariant(index <= this.log.lastIndex(), () => `${m.from} acked ${index} past our last ${this.log.lastIndex()}`);
    if (!(pr.maybeUpdate(index) || (pr.match === index && pr.state === 'probe'))) return;
    if (pr.state === 'probe') {
      pr.becomeReplicate();
    } else if (pr.state === 'snapshot' && pr.match + 1 >= this.log.firstIndex()) {
      pr.becomeProbe();
      pr.becomeReplicate();
    } else if (pr.state === 'replicate') {
      pr.inflights.freeLE(index);
    }
    if (this.maybeCommit()) {
      if (this.role !== 'leader') return;
      this.appendsOwed = true;
    } else if (pr.canBumpCommit(this.log.committed)) {
      // The follower may not know the commit index yet; heartbeats would
      // tell it too, but later.
      this.sendAppend(m.from);
    }
    for (let i = 0; i <= this.maxInflight && this.sendAppend(m.from, false); i++) {
      // Fill the window: the ack may have freed room for several messages.
    }
    if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) {
      this.send({ type: 'MsgTimeoutNow', to: m.from });
    }
  }

  private handleHeartbeatResponse(m: Message, pr: Progress): void {
    pr.recentActive = true;
    pr.msgAppFlowPaused = false;
    if (pr.match < this.log.lastIndex() || pr.state === 'probe') this.sendAppend(m.from);
    if (m.readSeq !== undefined && m.readSeq > pr.readAck) {
      pr.readAck = m.readSeq;
      this.releaseReads();
    }
  }

  // ---------------------------------------------------------------- ReadIndex and transfer

  private handleReadIndexRequest(from: number, context: Uint8Array): void {
    // Until an entry of this term commits, our commit index may lag what an
    // earlier leader committed (dissertation §6.4).
    if (this.log.term(this.log.committed) !== this.term) {
      this.readsAwaitingCommit.push({ from, context });
      return;
    }
    this.readSeq++;
    this.pendingReads.push({ seq: this.readSeq, index: this.log.committed, from, context });
    this.releaseReads();
    if (this.pendingReads.length > 0) this.bcastHeartbeat();
  }

  /**
   * Answer every read whose heartbeat round a quorum has acknowledged. An ack
   * for round s also confirms every earlier round: it came from a heartbeat
   * sent after they were registered.
   */
  private releaseReads(): void {
    if (this.pendingReads.length === 0) return;
    const confirmed = committedIndex(this.conf().voters, (id) =>
      id === this.id ? this.readSeq : (this.trackers.get(id)?.readAck ?? 0),
    );
    let n = 0;
    while (n < this.pendingReads.length && this.pendingReads[n]!.seq <= confirmed) {
      const r = this.pendingReads[n]!;
      if (r.from === this.id) this.readStates.push({ index: r.index, context: r.context });
      else this.send({ type: 'MsgReadIndexResp', to: r.from, index: r.index, context: r.context });
      n++;
    }
    if (n > 0) this.pendingReads = this.pendingReads.slice(n);
  }

  private handleTransferLeader(transferee: number): void {
    const pr = this.trackers.get(transferee);
    if (pr === undefined || pr.isLearner) return;
    if (this.leadTransferee === transferee) return;
    this.leadTransferee = 0;
    if (transferee === this.id) return;
    // The transfer must finish within an election timeout; see tickHeartbeat.
    this.electionElapsed = 0;
    this.leadTransferee = transferee;
    if (pr.match === this.log.lastIndex()) this.send({ type: 'MsgTimeoutNow', to: transferee });
    else this.sendAppend(transferee);
  }

  // ---------------------------------------------------------------- plumbing

  private send(m: Outgoing): void {
    this.msgs.push({ ...m, from: this.id, term: m.term ?? this.term });
  }

  private hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  private hardStateChanged(): boolean {
    const p = this.prevHardState;
    return p.term !== this.term || p.vote !== this.vote || p.commit !== this.log.committed;
  }

  private softStateChanged(): boolean {
    return this.prevSoftState.lead !== this.lead || this.prevSoftState.role !== this.role;
  }
}
