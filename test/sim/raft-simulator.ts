// A deterministic simulator for the Raft core: a cluster of RaftNodes, each
// with a simulated shell and disk, over a simulated network, driven by one
// seeded PRNG. Simulated time advances in ticks; the network drops, delays,
// duplicates and reorders messages, partitions and heals; nodes crash (losing
// an unsynced tail of their last write, possibly torn) and restart from what
// their disk holds. Raft's safety properties are checked after every action,
// and a liveness phase at the end heals everything and requires progress.
//
// Everything derives from the seed, so a failing seed replays exactly.

import {
  MemoryStorage,
  RaftNode,
  bootstrapEntries,
  decodeConfChange,
  type ConfChange,
  type Entry,
  type HardState,
  type Message,
  type RaftConfig,
  type ReadState,
  type Ready,
  type Snapshot,
  type Status,
} from '../../src/raft/index.js';
import { mulberry32 } from './raft-cluster.js';
import { TimedHeap } from './timed-heap.js';

export class Prng {
  private readonly next: () => number;

  constructor(seed: number) {
    this.next = mulberry32(seed);
  }

  float(): number {
    return this.next();
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  chance(p: number): boolean {
    return p > 0 && this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  /** An independent stream, so one subsystem's draws do not shift another's. */
  fork(): Prng {
    return new Prng((this.int(2 ** 32) ^ 0x9e3779b9) >>> 0);
  }
}

/** Bugs planted on purpose to prove the checkers catch them. */
export type Canary = 'ack-before-persist' | 'forget-vote';

export interface SimParams {
  seed: number;
  steps: number;
  voters: number;
  /** Node ids 1..maxNodeId may exist; those beyond the initial voters join through conf changes. */
  maxNodeId: number;
  electionTick: number;
  heartbeatTick: number;
  preVote: boolean;
  checkQuorum: boolean;
  maxInflightMsgs: number;
  maxSizePerMsg: number;
  drop: number;
  duplicate: number;
  maxDelay: number;
  partitionRate: number;
  healRate: number;
  crashRate: number;
  restartRate: number;
  /** Chance that a Ready's writes stay unsynced for a while (and are torn if the node crashes meanwhile). */
  unsyncedRate: number;
  syncRate: number;
  proposeRate: number;
  readRate: number;
  confChangeRate: number;
  transferRate: number;
  compactRate: number;
  /** Per-node chance to miss a tick: clocks that run slow. */
  maxTickSkew: number;
  /** Steps after healing within which a fresh proposal must commit. */
  livenessSteps: number;
  /**
   * The shell applies committed entries as soon as a Ready hands them out
   * and, while a write is pending, takes the core's interim work (as
   * src/ensemble/peer.ts does); otherwise it applies after each write.
   */
  interim: boolean;
  canary?: Canary;
}

/** Swarm testing: every seed draws its own fault mix (TigerBeetle's VOPR does the same). */
export function drawParams(seed: number, steps: number, overrides: Partial<SimParams> = {}): SimParams {
  const r = new Prng(seed ^ 0x5eed);
  const voters = r.pick([1, 3, 3, 5, 5]);
  const electionTick = 10;
  return {
    seed,
    steps,
    voters,
    maxNodeId: voters + 2,
    electionTick,
    heartbeatTick: r.pick([1, 2, 3]),
    preVote: r.chance(0.6),
    checkQuorum: r.chance(0.6),
    maxInflightMsgs: r.pick([1, 4, 256]),
    maxSizePerMsg: r.pick([1, 64, 1024 * 1024]),
    drop: r.pick([0, 0.01, 0.05, 0.2]),
    duplicate: r.pick([0, 0.02, 0.1]),
    maxDelay: r.pick([0, 1, 3, 6]),
    partitionRate: r.pick([0, 0.005, 0.02]),
    healRate: r.pick([0.01, 0.05, 0.2]),
    crashRate: r.pick([0, 0.001, 0.005]),
    restartRate: r.pick([0.02, 0.1]),
    unsyncedRate: r.pick([0, 0.2, 0.5]),
    syncRate: r.pick([0.3, 0.8]),
    proposeRate: r.pick([0.2, 0.5, 1]),
    readRate: r.pick([0, 0.05, 0.2]),
    confChangeRate: r.pick([0, 0.003, 0.01]),
    transferRate: r.pick([0, 0.002, 0.01]),
    compactRate: r.pick([0, 0.01, 0.05]),
    maxTickSkew: r.pick([0, 0.1, 0.3]),
    livenessSteps: 50 * electionTick,
    interim: r.chance(0.5),
    ...overrides,
  };
}

export class SimFailure extends Error {
  constructor(
    message: string,
    readonly seed: number,
    readonly step: number,
  ) {
    super(message);
    this.name = 'SimFailure';
  }
}

type DiskRecord =
  | { kind: 'snapshot'; snapshot: Snapshot }
  | { kind: 'entry'; entry: Entry }
  | { kind: 'hardState'; hardState: HardState };

interface PendingWrite {
  ready: Ready;
  records: DiskRecord[];
  sent: boolean;
  /** Committed entries applied when the Ready was taken (params.interim). */
  applied: boolean;
}

class SimNode {
  raft: RaftNode | undefined;
  incarnation = 0;
  pending: PendingWrite | undefined;
  /** The state machine: how far it has applied, and a hash chained over every applied entry. */
  smIndex = 0;
  smHash = 0;
  /** Commit index up to which this incarnation's commits were recorded. */
  commitSeen = 0;
  /** The term in which leader completeness was last checked for this node. */
  leaderTermChecked = 0;
  /** The shell saw its own removal applied and shut down; only a later add brings it back. */
  stopped = false;
  /** Commit index when this incarnation started: entries up to it are replayed, not news. */
  startCommit = 0;
  /** Its removal was applied ahead of a pending write; it stops once that write is done. */
  removedEarly = false;

  constructor(
    readonly id: number,
    readonly storage: MemoryStorage,
    readonly skew: number,
  ) {}
}

interface Delivery {
  at: number;
  seq: number;
  msg: Message;
}

const textEncoder = new TextEncoder();

function bytesKey(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
}

/** FNV-1a over the previous hash, the term and the payload: the state machine's fingerprint. */
function chain(hash: number, e: Entry): number {
  let h = (hash ^ 0x811c9dc5) >>> 0;
  const mix = (byte: number): void => {
    h ^= byte & 0xff;
    h = Math.imul(h, 0x01000193) >>> 0;
  };
  for (let k = 0; k < 4; k++) mix(e.term >>> (8 * k));
  mix(e.type === 'normal' ? 1 : 2);
  for (let i = 0; i < e.data.length; i++) mix(e.data[i]!);
  return h;
}

function encodeSm(index: number, hash: number): Uint8Array {
  const out = new Uint8Array(16);
  const v = new DataView(out.buffer);
  v.setFloat64(0, index);
  v.setUint32(8, hash);
  return out;
}

function decodeSm(data: Uint8Array): [number, number] {
  if (data.length === 0) return [0, 0];
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return [v.getFloat64(0), v.getUint32(8)];
}

export interface SimStats {
  committed: number;
  elections: number;
  crashes: number;
  snapshotsSent: number;
  readsServed: number;
  confChanges: number;
  /** Steps from healing until a fresh proposal committed. */
  livenessSteps: number;
}

export class Simulator {
  readonly params: SimParams;
  private readonly rng: Prng;
  private readonly net: Prng;
  private readonly nodes = new Map<number, SimNode>();
  /** The network's in-flight messages. */
  private readonly wire = new TimedHeap<Delivery>();
  private readonly blocked = new Set<string>();
  private now = 0;
  private seq = 0;
  private fifo = false;
  private valueCounter = 0;
  private readCounter = 0;
  private readonly trace: string[] | undefined;

  // The checkers' records.
  /** (index/term) of every entry ever in a log -> the term before it and its payload: log matching. */
  private readonly entryRegistry = new Map<string, string>();
  /** index -> term of the entry committed there. */
  private readonly committedTerm: number[] = [];
  /** index -> (an upper bound of) the term of the leader that committed it. */
  private readonly commitTermOf: number[] = [];
  private maxCommitted = 0;
  /** index -> the state machine hash after applying it. */
  private readonly chainAt: number[] = [];
  private readonly appliedKey: string[] = [];
  private readonly leaderOf = new Map<number, number>();
  private readonly votedFor = new Map<string, number>();
  private readonly reads = new Map<number, number>();
  readonly stats: SimStats = {
    committed: 0,
    elections: 0,
    crashes: 0,
    snapshotsSent: 0,
    readsServed: 0,
    confChanges: 0,
    livenessSteps: 0,
  };

  constructor(params: SimParams, options: { trace?: boolean } = {}) {
    // A copy: the liveness phase turns the faults off.
    this.params = { ...params };
    this.rng = new Prng(params.seed);
    this.net = this.rng.fork();
    this.trace = options.trace === true ? [] : undefined;
    const voters = Array.from({ length: params.voters }, (_, k) => k + 1);
    // The bootstrap log reaches disk without a Ready; the checkers learn it here.
    let prevTerm = 0;
    for (const e of bootstrapEntries({ voters, learners: [] })) {
      this.entryRegistry.set(`${e.index}/${e.term}`, `${prevTerm}|${e.type}|${bytesKey(e.data)}`);
      prevTerm = e.term;
    }
    for (const id of voters) {
      const node = new SimNode(
        id,
        MemoryStorage.bootstrap({ voters, learners: [] }),
        this.rng.float() * params.maxTickSkew,
      );
      this.nodes.set(id, node);
      this.start(node);
    }
  }

  /** Runs the safety phase, then the liveness phase. Throws SimFailure on any violation. */
  run(): SimStats {
    for (let step = 0; step < this.params.steps; step++) {
      this.now = step;
      this.stepOnce(false);
    }
    this.liveness();
    return this.stats;
  }

  /** The last trace lines (only when constructed with trace: true). */
  traceTail(lines = 200): string {
    return (this.trace ?? []).slice(-lines).join('\n');
  }

  private log(line: () => string): void {
    if (this.trace !== undefined) this.trace.push(`t=${this.now} ${line()}`);
  }

  private fail(message: string): never {
    throw new SimFailure(`seed ${this.params.seed}, step ${this.now}: ${message}`, this.params.seed, this.now);
  }

  private guard<T>(what: string, f: () => T): T {
    try {
      return f();
    } catch (err) {
      if (err instanceof SimFailure) throw err;
      const e = err as Error;
      this.fail(`${what} threw ${e.name}: ${e.message}`);
    }
  }

  // ---------------------------------------------------------------- one step

  private stepOnce(quiet: boolean): void {
    if (!quiet) this.faults();
    for (const n of this.nodes.values()) {
      if (n.pending !== undefined && this.rng.chance(this.params.syncRate)) {
        this.finishReady(n, n.pending);
        this.processReady(n);
      }
    }
    if (!quiet) this.clients();
    this.deliverDue();
    for (const n of this.nodes.values()) {
      if (n.raft === undefined || this.rng.chance(n.skew)) continue;
      this.guard(`tick on ${n.id}`, () => n.raft!.tick());
      this.processReady(n);
      this.checkNode(n);
    }
    if (!quiet) this.compactions();
  }

  private deliverDue(): void {
    for (let budget = 20000; budget > 0; budget--) {
      const d = this.wire.popDue(this.now);
      if (d === undefined) return;
      const m = d.msg;
      const n = this.nodes.get(m.to);
      if (n?.raft === undefined || this.isBlocked(m.from, m.to)) continue;
      this.log(() => `deliver ${describe(m)}`);
      this.guard(`step ${m.type} ${m.from}->${m.to}`, () => n.raft!.step(m));
      this.processReady(n);
      this.checkNode(n);
    }
  }

  // ---------------------------------------------------------------- the shell

  private config(n: SimNode): RaftConfig {
    const p = this.params;
    const jitter = this.rng.fork();
    return {
      id: n.id,
      electionTick: p.electionTick,
      heartbeatTick: p.heartbeatTick,
      preVote: p.preVote,
      checkQuorum: p.checkQuorum,
      maxInflightMsgs: p.maxInflightMsgs,
      maxSizePerMsg: p.maxSizePerMsg,
      rng: () => jitter.float(),
    };
  }

  private start(n: SimNode): void {
    n.incarnation++;
    n.stopped = false;
    if (this.params.canary === 'forget-vote' && n.incarnation > 1) {
      // Planted bug: the disk "loses" the vote on restart.
      const hs = n.storage.hardStateNow();
      n.storage.setHardState({ ...hs, vote: 0 });
    }
    n.raft = this.guard(`restart of ${n.id}`, () => RaftNode.create(this.config(n), n.storage));
    const snap = n.storage.snapshot();
    this.restoreSm(n, snap);
    n.commitSeen = snap.index;
    n.startCommit = n.raft.status().commit;
    n.leaderTermChecked = 0;
    this.log(() => `start ${n.id} (incarnation ${n.incarnation}) ${statusLine(n.raft!.status())}`);
    this.checkNode(n);
    this.processReady(n);
  }

  private crash(n: SimNode): void {
    if (n.pending !== undefined) {
      // Only a prefix of the unsynced writes reached the disk.
      const k = this.rng.int(n.pending.records.length + 1);
      this.writeRecords(n, n.pending.records.slice(0, k));
      this.log(() => `crash ${n.id}: kept ${k} of ${n.pending!.records.length} unsynced records`);
      n.pending = undefined;
    } else {
      this.log(() => `crash ${n.id}`);
    }
    n.raft = undefined;
    n.removedEarly = false;
    this.stats.crashes++;
  }

  private processReady(n: SimNode): void {
    for (let round = 0; round < 16; round++) {
      const raft = n.raft;
      if (raft === undefined) return;
      if (n.pending !== undefined) {
        if (!this.params.interim || !raft.hasInterimReady()) return;
        const ir = this.guard(`interim ready on ${n.id}`, () => raft.interimReady());
        this.sendAll(n, ir.messages);
        this.applyCommitted(n, ir.committedEntries, ir.readStates);
        this.checkNode(n);
        continue;
      }
      if (!raft.hasReady()) return;
      const rd = raft.ready();
      this.checkReady(n, rd);
      const records: DiskRecord[] = [];
      if (rd.snapshot !== undefined) records.push({ kind: 'snapshot', snapshot: rd.snapshot });
      for (const entry of rd.entries) records.push({ kind: 'entry', entry });
      if (rd.hardState !== undefined) records.push({ kind: 'hardState', hardState: rd.hardState });
      const write: PendingWrite = { ready: rd, records, sent: false, applied: false };
      if (this.params.canary === 'ack-before-persist') {
        this.sendAll(n, rd.messages);
        write.sent = true;
      }
      if (this.params.interim) {
        if (rd.snapshot !== undefined) this.restoreSm(n, rd.snapshot);
        this.applyCommitted(n, rd.committedEntries, rd.readStates);
        write.applied = true;
      }
      if (records.length > 0 && this.rng.chance(this.params.unsyncedRate)) {
        n.pending = write;
        continue;
      }
      this.finishReady(n, write);
    }
  }

  private applyCommitted(n: SimNode, entries: readonly Entry[], readStates: readonly ReadState[]): void {
    for (const e of entries) if (this.applyEntry(n, e)) n.removedEarly = true;
    for (const rs of readStates) this.checkReadState(n, rs);
  }

  /** fsync, then send, apply and advance. */
  private finishReady(n: SimNode, write: PendingWrite): void {
    n.pending = undefined;
    const raft = n.raft!;
    const rd = write.ready;
    this.writeRecords(n, write.records);
    if (!write.sent) this.sendAll(n, rd.messages);
    if (!write.applied) {
      if (rd.snapshot !== undefined) this.restoreSm(n, rd.snapshot);
      this.applyCommitted(n, rd.committedEntries, rd.readStates);
    }
    const removed = n.removedEarly;
    n.removedEarly = false;
    this.guard(`advance on ${n.id}`, () => raft.advance());
    this.checkNode(n);
    if (removed) {
      // As a ZooKeeper server leaves the ensemble once its removal is applied.
      this.log(() => `stop ${n.id}: removed`);
      n.raft = undefined;
      n.stopped = true;
    }
  }

  private writeRecords(n: SimNode, records: DiskRecord[]): void {
    for (const r of records) {
      this.guard(`disk write on ${n.id}`, () => {
        if (r.kind === 'snapshot') n.storage.applySnapshot(r.snapshot);
        else if (r.kind === 'entry') n.storage.append([r.entry]);
        else n.storage.setHardState(r.hardState);
      });
    }
  }

  private sendAll(n: SimNode, messages: readonly Message[]): void {
    const p = this.params;
    for (const m of messages) {
      if (m.type === 'MsgVoteResp' && m.reject !== true) this.recordVote(m.from, m.term, m.to);
      // A candidate's own vote binds once its requests leave, after the fsync;
      // before that a crash may forget it, and nobody can tell.
      if (m.type === 'MsgVote') this.recordVote(m.from, m.term, m.from);
      if (m.type === 'MsgSnap') this.stats.snapshotsSent++;
      if (this.isBlocked(m.from, m.to) || this.net.chance(p.drop)) {
        this.log(() => `drop ${describe(m)}`);
        if (m.type === 'MsgSnap') n.raft?.reportSnapshot(m.to, false);
        else if (this.net.chance(0.3)) n.raft?.reportUnreachable(m.to);
        continue;
      }
      // A healed network is TCP: one fixed delay, so each link is FIFO.
      const delay = this.fifo ? 1 : this.net.int(p.maxDelay + 1);
      this.wire.push({ at: this.now + delay, seq: this.seq++, msg: m });
      if (this.net.chance(p.duplicate)) {
        this.wire.push({ at: this.now + this.net.int(p.maxDelay + 3), seq: this.seq++, msg: m });
      }
      if (m.type === 'MsgSnap') n.raft?.reportSnapshot(m.to, true);
    }
  }

  private restoreSm(n: SimNode, s: Snapshot): void {
    const [index, hash] = decodeSm(s.data);
    if (index !== s.index) this.fail(`snapshot at ${s.index} holds a state machine at ${index}`);
    if (index > 0) {
      const known = this.chainAt[index];
      if (known === undefined) this.chainAt[index] = hash;
      else if (known !== hash) this.fail(`snapshot at ${index} on ${n.id} differs from the applied history`);
    }
    n.smIndex = index;
    n.smHash = hash;
  }

  /** Applies one committed entry; true when it removes this node. */
  private applyEntry(n: SimNode, e: Entry): boolean {
    if (e.index !== n.smIndex + 1) this.fail(`${n.id} applies ${e.index} after ${n.smIndex}`);
    const key = `${e.term}|${e.type}|${bytesKey(e.data)}`;
    const prior = this.appliedKey[e.index];
    if (prior === undefined) this.appliedKey[e.index] = key;
    else if (prior !== key) this.fail(`state machine safety: ${n.id} applies a different entry at ${e.index}`);
    const committed = this.committedTerm[e.index];
    if (committed !== undefined && committed !== e.term) {
      this.fail(`${n.id} applies (${e.index}, term ${e.term}) but term ${committed} was committed there`);
    }
    n.smHash = chain(n.smHash, e);
    n.smIndex = e.index;
    const known = this.chainAt[e.index];
    if (known === undefined) this.chainAt[e.index] = n.smHash;
    else if (known !== n.smHash) this.fail(`state machine on ${n.id} diverges at ${e.index}`);
    if (e.type === 'confChange') {
      const cc = decodeConfChange(e.data);
      this.log(() => `${n.id} applies ${cc.type} ${cc.nodeId} at ${e.index}`);
      // Stop on news of our own removal, not on replaying an old one after a
      // restart, nor when the log already adds us back.
      if (cc.type !== 'removeNode' || cc.nodeId !== n.id || e.index <= n.startCommit) return false;
      const conf = n.raft!.status().conf;
      return !conf.voters.includes(n.id) && !conf.learners.includes(n.id);
    }
    return false;
  }

  // ---------------------------------------------------------------- faults and clients

  private faults(): void {
    const p = this.params;
    const ids = [...this.nodes.keys()];
    if (this.rng.chance(p.partitionRate)) this.partition(ids);
    if (this.blocked.size > 0 && this.rng.chance(p.healRate)) {
      this.log(() => 'heal');
      this.blocked.clear();
    }
    for (const n of this.nodes.values()) {
      if (n.raft !== undefined && this.rng.chance(p.crashRate)) this.crash(n);
      else if (n.raft === undefined && !n.stopped && this.rng.chance(p.restartRate)) this.start(n);
    }
    // A node that applied an old removal after being added back stopped
    // itself; the operator starts it again.
    if (this.rng.chance(p.restartRate)) this.startMembersOf(this.leaders());
  }

  private startMembersOf(nodes: SimNode[]): void {
    for (const l of nodes) {
      for (const id of this.membersOf(l)) {
        const n = this.nodes.get(id);
        if (n !== undefined && n.stopped) this.start(n);
      }
    }
  }

  private membersOf(n: SimNode): number[] {
    const conf = n.raft!.status().conf;
    return [...conf.voters, ...conf.learners];
  }

  /** The running node whose log would win an election: highest (last term, last index). */
  private mostUpToDate(): SimNode | undefined {
    let best: SimNode | undefined;
    let bestTerm = -1;
    let bestIndex = -1;
    for (const n of this.nodes.values()) {
      if (n.raft === undefined) continue;
      const last = n.raft.status().lastIndex;
      const term = n.raft.logTerm(last) ?? 0;
      if (term > bestTerm || (term === bestTerm && last > bestIndex)) {
        best = n;
        bestTerm = term;
        bestIndex = last;
      }
    }
    return best;
  }

  private partition(ids: number[]): void {
    const mode = this.rng.int(3);
    if (mode === 0) {
      const victim = this.rng.pick(ids);
      for (const other of ids) if (other !== victim) this.blockBoth(victim, other);
      this.log(() => `isolate ${victim}`);
    } else if (mode === 1) {
      const side = new Set(ids.filter(() => this.rng.chance(0.5)));
      for (const a of side) for (const b of ids) if (!side.has(b)) this.blockBoth(a, b);
      this.log(() => `split {${[...side].join(',')}}`);
    } else {
      for (let k = this.rng.int(3) + 1; k > 0; k--) {
        const a = this.rng.pick(ids);
        const b = this.rng.pick(ids);
        if (a !== b) this.blocked.add(`${a}>${b}`);
      }
      this.log(() => `one-way cuts ${[...this.blocked].join(' ')}`);
    }
  }

  private blockBoth(a: number, b: number): void {
    this.blocked.add(`${a}>${b}`);
    this.blocked.add(`${b}>${a}`);
  }

  private isBlocked(from: number, to: number): boolean {
    return this.blocked.size > 0 && this.blocked.has(`${from}>${to}`);
  }

  private leaders(): SimNode[] {
    const out: SimNode[] = [];
    for (const n of this.nodes.values()) if (n.raft?.status().role === 'leader') out.push(n);
    return out;
  }

  private clients(): void {
    const p = this.params;
    if (this.rng.chance(p.proposeRate)) {
      const up = [...this.nodes.values()].filter((n) => n.raft !== undefined);
      if (up.length > 0) {
        // Any node, stale leaders included: followers refuse, stale leaders accept entries that never commit.
        const n = this.rng.pick(up);
        const value = `v${this.valueCounter++}`;
        const r = n.raft!.propose(textEncoder.encode(value));
        if (r.ok) this.log(() => `propose ${value} on ${n.id} -> (${r.index}, ${r.term})`);
        this.processReady(n);
        this.checkNode(n);
      }
    }
    if (this.rng.chance(p.readRate)) {
      const up = [...this.nodes.values()].filter((n) => n.raft !== undefined);
      if (up.length > 0) {
        const n = this.rng.pick(up);
        const id = this.readCounter++;
        const ctx = new Uint8Array(8);
        new DataView(ctx.buffer).setFloat64(0, id);
        // Linearizability floor: everything known committed anywhere when the read starts.
        this.reads.set(id, this.maxCommitted);
        n.raft!.readIndex(ctx);
        this.processReady(n);
      }
    }
    const leaders = this.leaders();
    if (leaders.length > 0 && this.rng.chance(p.confChangeRate)) this.confChange(this.rng.pick(leaders));
    if (leaders.length > 0 && this.rng.chance(p.transferRate)) {
      const l = this.rng.pick(leaders);
      const to = this.rng.pick(l.raft!.status().conf.voters);
      this.log(() => `transfer ${l.id} -> ${to}`);
      l.raft!.transferLeadership(to);
      this.processReady(l);
      this.checkNode(l);
    }
  }

  private confChange(leader: SimNode): void {
    const conf = leader.raft!.status().conf;
    const members = new Set([...conf.voters, ...conf.learners]);
    const choices: ConfChange[] = [];
    for (let id = 1; id <= this.params.maxNodeId; id++) {
      if (!members.has(id)) choices.push({ type: this.rng.chance(0.3) ? 'addNode' : 'addLearner', nodeId: id });
    }
    for (const id of conf.learners) choices.push({ type: 'addNode', nodeId: id }, { type: 'removeNode', nodeId: id });
    if (conf.voters.length > 3) for (const id of conf.voters) choices.push({ type: 'removeNode', nodeId: id });
    if (choices.length === 0) return;
    const cc = this.rng.pick(choices);
    const r = leader.raft!.proposeConfChange(cc);
    this.log(() => `conf change ${cc.type} ${cc.nodeId} on ${leader.id}: ${r.ok ? 'proposed' : r.reason}`);
    if (!r.ok) return;
    this.stats.confChanges++;
    if (cc.type !== 'removeNode') {
      let n = this.nodes.get(cc.nodeId);
      if (n === undefined) {
        n = new SimNode(cc.nodeId, new MemoryStorage(), this.rng.float() * this.params.maxTickSkew);
        this.nodes.set(cc.nodeId, n);
        this.start(n);
      } else if (n.stopped) {
        this.start(n);
      }
    }
    this.processReady(leader);
    this.checkNode(leader);
  }

  private compactions(): void {
    for (const n of this.nodes.values()) {
      const raft = n.raft;
      // A shell snapshots between Readies, never while one is half handled.
      if (raft === undefined || n.pending !== undefined || !this.rng.chance(this.params.compactRate)) continue;
      const snapIndex = n.storage.snapshot().index;
      if (n.smIndex < snapIndex + 3) continue;
      const at = n.smIndex;
      this.guard(`compaction on ${n.id}`, () => {
        n.storage.createSnapshot(at, raft.confStateAt(at), encodeSm(at, n.smHash));
        const keep = this.rng.int(8);
        n.storage.compact(Math.max(n.storage.firstIndex() - 1, at - keep));
      });
      this.log(() => `compact ${n.id} at ${at}, log from ${n.storage.firstIndex()}`);
    }
  }

  // ---------------------------------------------------------------- checkers

  private recordVote(voter: number, term: number, candidate: number): void {
    const key = `${voter}@${term}`;
    const prior = this.votedFor.get(key);
    if (prior === undefined) this.votedFor.set(key, candidate);
    else if (prior !== candidate) this.fail(`${voter} voted for ${prior} and ${candidate} in term ${term}`);
  }

  /** Log matching: an (index, term) always names the same payload after the same previous term. */
  private checkReady(n: SimNode, rd: Ready): void {
    const raft = n.raft!;
    let prevTerm = rd.entries.length > 0 ? raft.logTerm(rd.entries[0]!.index - 1) : undefined;
    for (const e of rd.entries) {
      const key = `${e.index}/${e.term}`;
      const value = `${prevTerm}|${e.type}|${bytesKey(e.data)}`;
      const prior = this.entryRegistry.get(key);
      if (prior === undefined) this.entryRegistry.set(key, value);
      else if (prior !== value) this.fail(`log matching: ${n.id} holds a different entry (${e.index}, term ${e.term})`);
      prevTerm = e.term;
    }
    const s = rd.snapshot;
    if (s !== undefined && s.index > 0 && !this.entryRegistry.has(`${s.index}/${s.term}`)) {
      this.fail(`${n.id} got a snapshot at (${s.index}, term ${s.term}) no log ever held`);
    }
  }

  private checkReadState(n: SimNode, rs: ReadState): void {
    const id = new DataView(rs.context.buffer, rs.context.byteOffset, 8).getFloat64(0);
    const floor = this.reads.get(id);
    if (floor === undefined) this.fail(`${n.id} got a read state for unknown request ${id}`);
    if (rs.index < floor) this.fail(`stale read: request ${id} got index ${rs.index}, ${floor} was committed before`);
    this.stats.readsServed++;
  }

  private checkNode(n: SimNode): void {
    const raft = n.raft;
    if (raft === undefined) return;
    const s = raft.status();
    if (s.role === 'leader') {
      const other = this.leaderOf.get(s.term);
      if (other === undefined) {
        this.leaderOf.set(s.term, n.id);
        this.stats.elections++;
        this.log(() => `${n.id} leads term ${s.term}`);
      } else if (other !== n.id) {
        this.fail(`two leaders in term ${s.term}: ${other} and ${n.id}`);
      }
      if (n.leaderTermChecked !== s.term) {
        n.leaderTermChecked = s.term;
        this.checkLeaderCompleteness(n, s);
      }
    }
    if (s.commit > n.commitSeen) {
      for (let i = Math.max(n.commitSeen + 1, s.firstIndex - 1); i <= s.commit; i++) {
        const t = raft.logTerm(i);
        if (t === undefined) this.fail(`${n.id} has commit ${s.commit} but no term at ${i}`);
        const known = this.committedTerm[i];
        if (known === undefined) this.newlyCommitted(n, s, i, t);
        else if (known !== t) this.fail(`committed entry ${i} changed from term ${known} to ${t} on ${n.id}`);
      }
      n.commitSeen = s.commit;
    }
  }

  private newlyCommitted(n: SimNode, s: Status, i: number, t: number): void {
    this.committedTerm[i] = t;
    this.commitTermOf[i] = s.term;
    if (i > this.maxCommitted) this.maxCommitted = i;
    this.stats.committed++;
    if (s.role !== 'leader') return;
    // Durability: what the leader commits is on the disks of a quorum of its voters.
    let durable = 0;
    for (const v of s.conf.voters) {
      const st = this.nodes.get(v)?.storage;
      if (st === undefined) continue;
      if (st.snapshot().index >= i) durable++;
      else if (i >= st.firstIndex() && i <= st.lastIndex() && st.term(i) === t) durable++;
    }
    if (durable < Math.floor(s.conf.voters.length / 2) + 1) {
      this.fail(`${n.id} committed (${i}, term ${t}) persisted on only ${durable} of voters ${s.conf.voters}`);
    }
    // Leader completeness, for leaders already elected in later terms.
    for (const other of this.nodes.values()) {
      const raft = other.raft;
      if (raft === undefined || other === n) continue;
      const os = raft.status();
      if (os.role === 'leader' && os.term > s.term) this.requireEntry(other, os, i, t);
    }
  }

  /** A new leader holds every entry committed in an earlier term. */
  private checkLeaderCompleteness(n: SimNode, s: Status): void {
    if (this.maxCommitted > s.lastIndex) {
      for (let i = s.lastIndex + 1; i <= this.maxCommitted; i++) {
        if ((this.commitTermOf[i] ?? Infinity) < s.term)
          this.fail(`leader ${n.id} (term ${s.term}) lacks committed ${i}`);
      }
    }
    for (let i = s.firstIndex - 1; i <= Math.min(this.maxCommitted, s.lastIndex); i++) {
      const t = this.committedTerm[i];
      if (t !== undefined && (this.commitTermOf[i] ?? Infinity) < s.term) this.requireEntry(n, s, i, t);
    }
  }

  private requireEntry(n: SimNode, s: Status, i: number, t: number): void {
    if (i < s.firstIndex - 1) return; // inside its snapshot, which was built from committed entries
    const have = n.raft!.logTerm(i);
    if (have !== t)
      this.fail(`leader completeness: ${n.id} (term ${s.term}) has term ${have} at committed ${i} (term ${t})`);
  }

  // ---------------------------------------------------------------- liveness

  /**
   * Heal everything, restart every member, stop the faults, and require that
   * a fresh proposal commits and is applied by every member within a bound.
   */
  private liveness(): void {
    this.blocked.clear();
    this.params.drop = 0;
    this.params.duplicate = 0;
    this.params.maxDelay = 1;
    this.fifo = true;
    this.params.syncRate = 1;
    for (const n of this.nodes.values()) {
      if (n.pending !== undefined) this.finishReady(n, n.pending);
      if (n.raft === undefined && !n.stopped) this.start(n);
    }
    // A removed node that never learned it was removed would keep calling
    // elections; a real deployment shuts it down. Members are those of the
    // newest committed configuration any node knows, plus those of the most
    // up-to-date log's configuration (the next leader will use it).
    let newest: SimNode | undefined;
    for (const n of this.nodes.values()) {
      if (n.raft !== undefined && (newest === undefined || n.raft.status().commit > newest.raft!.status().commit))
        newest = n;
    }
    if (newest === undefined) this.fail('no node is running');
    const conf = newest.raft!.confStateAt(newest.raft!.status().commit);
    const members = new Set([...conf.voters, ...conf.learners]);
    const best = this.mostUpToDate();
    if (best !== undefined) for (const id of this.membersOf(best)) members.add(id);
    for (const n of this.nodes.values()) {
      if (!members.has(n.id) && n.raft !== undefined) {
        n.raft = undefined;
        n.stopped = true;
      } else if (members.has(n.id) && n.raft === undefined) {
        this.start(n);
      }
    }

    // Progress: a fresh proposal commits within a bounded number of election
    // timeouts. Convergence: every member applies it, allowing for the lag
    // that flow control (maxSizePerMsg, maxInflightMsgs) drains per round trip.
    const start = this.now;
    const perRoundTrip = this.params.maxInflightMsgs * (this.params.maxSizePerMsg < 64 ? 1 : 64);
    const roundTrip = 2 * (this.params.maxDelay + 1) + this.params.heartbeatTick;
    const drain = (behind: number): number => Math.ceil(Math.max(0, behind) / perRoundTrip) * roundTrip;
    // Catch-up a member may need over the network: from the end of its own
    // disk's log (stopped members included, as a leader may start them).
    let maxLast = 0;
    let minPersisted = Infinity;
    for (const n of this.nodes.values()) {
      if (n.raft !== undefined) maxLast = Math.max(maxLast, n.raft.status().lastIndex);
      minPersisted = Math.min(minPersisted, n.storage.lastIndex());
    }
    const progressBound = this.params.livenessSteps + drain(maxLast - minPersisted);
    this.log(() => `liveness: lag ${maxLast - minPersisted}, bound ${progressBound}`);
    let target: { index: number; term: number; at: number } | undefined;
    let deadline = start + progressBound;
    let committedAt = 0;
    for (let k = 0; this.now < deadline; k++) {
      this.now = start + 1 + k;
      this.stepOnce(true);
      const leaders = this.leaders().sort((a, b) => b.raft!.status().term - a.raft!.status().term);
      const leader = leaders[0];
      const best = leader ?? this.mostUpToDate();
      if (best !== undefined) this.startMembersOf([best]);
      const committed = target === undefined ? undefined : this.committedTerm[target.index];
      if (target !== undefined && committed !== undefined && committed !== target.term) target = undefined;
      if (target !== undefined && committed === undefined && this.now - target.at > 20 * this.params.electionTick) {
        target = undefined;
      }
      if (target === undefined && leader !== undefined) {
        const r = leader.raft!.propose(textEncoder.encode(`liveness${k}`));
        if (r.ok) target = { index: r.index, term: r.term, at: this.now };
        this.processReady(leader);
        this.checkNode(leader);
        continue;
      }
      if (target === undefined || leader === undefined || this.committedTerm[target.index] !== target.term) continue;
      const c = leader.raft!.status().conf;
      const members = [...c.voters, ...c.learners].map((id) => this.nodes.get(id));
      if (committedAt === 0) {
        committedAt = this.now;
        this.stats.livenessSteps = this.now - start;
        const behind = Math.max(...members.map((n) => target!.index - (n?.smIndex ?? 0)));
        deadline = this.now + this.params.livenessSteps + drain(behind);
      }
      if (members.every((n) => n !== undefined && n.smIndex >= target!.index)) return;
    }
    const states = [...this.nodes.values()].map(
      (n) => `${n.id}: ${n.raft ? statusLine(n.raft.status()) : n.stopped ? 'stopped' : 'down'} sm=${n.smIndex}`,
    );
    const what = committedAt === 0 ? 'no commit' : 'members did not converge';
    this.fail(`liveness: ${what} by ${this.now - start} steps after healing; ${states.join('; ')}`);
  }
}

function describe(m: Message): string {
  let s = `${m.type} ${m.from}->${m.to} t${m.term}`;
  if (m.index !== undefined) s += ` i${m.index}`;
  if (m.logTerm !== undefined) s += ` lt${m.logTerm}`;
  if (m.entries !== undefined && m.entries.length > 0) s += ` n${m.entries.length}`;
  if (m.commit !== undefined) s += ` c${m.commit}`;
  if (m.reject === true) s += ` reject hint${m.rejectHint ?? ''}`;
  if (m.snapshot !== undefined) s += ` snap${m.snapshot.index}`;
  return s;
}

function statusLine(s: Status): string {
  return `${s.role} term=${s.term} lead=${s.lead} commit=${s.commit} applied=${s.applied} log=[${s.firstIndex},${s.lastIndex}] voters=${s.conf.voters} learners=${s.conf.learners}`;
}
