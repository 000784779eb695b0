// A deterministic simulation of a whole Synod ensemble: N QuorumPeers (the
// same class the server runs), each with a simulated disk, network and clock,
// and ZooKeeper-style clients issuing writes and sync-then-read reads. One
// seed drives everything (a separate stream per purpose, so changing how
// clients behave does not move the faults), so a failing seed replays exactly.
//
// What it models, and why that way:
// - Disk: a Ready is written as RaftDisk.persist writes it (snapshot file,
//   WAL cleared; hard state only when term or vote changed, its commit
//   clamped to the WAL; conflicting tail truncated; entries appended). A
//   crash keeps a prefix of the write in progress (a torn tail). A restart
//   rebuilds the MemoryStorage exactly as RaftDisk.open does.
// - Network: Raft messages are dropped, delayed (so reordered) and
//   duplicated. Everything else (forwarded writes, rejections, session
//   touches) rides a TCP-like link per direction, as PeerTransport's: in
//   order, and a loss is a link break that loses a suffix of what is in
//   flight and that the sender learns of (peerUnreachable), after which the
//   link reconnects (peerReachable).
// - Clock: each server ticks at its own rate.
//
// Checked after every event: one leader per term, log matching, committed
// entries never change and are on a quorum's disks, leader completeness,
// every server applies the same entry (and reaches the same state) at each
// index, contiguously, across restarts and snapshot installs; writes and
// reads stall while a majority of voters is down. At the end: heal, settle,
// every client gets a write through (liveness), every server converges to
// the same tree, and the client history is checked for linearizability.

import { seededRandom } from '../../src/base/random.js';
import { encodeChangeContext } from '../../src/ensemble/membership.js';
import { QuorumPeer, type FailReason, type PeerIo } from '../../src/ensemble/peer.js';
import { PeerKind, encodePeerMessage, type MemberChange, type PeerMessage } from '../../src/ensemble/wire.js';
import { JuteWriter } from '../../src/jute/buffer.js';
import { Err, OpCode, Perms } from '../../src/jute/constants.js';
import { writeRequest, type ACL, type Request } from '../../src/jute/records.js';
import { CONFIG_PATH } from '../../src/tree/datatree.js';
import {
  MemoryStorage,
  encodeConfChange,
  type ConfState,
  type Entry as RaftEntry,
  type HardState,
  type Ready,
  type Snapshot,
  type Status,
} from '../../src/raft/index.js';
import {
  HistoryRecorder,
  UNKNOWN,
  checkZnodeHistory,
  type ZnodeInput,
  type ZnodeOperation,
  type ZnodeOutput,
} from '../../src/testing/linearizability.js';
import { EntryKind, encodeCreateSession, type Entry as TxnEntry } from '../../src/txn/entry.js';
import { deserializeState, serializeState } from '../../src/txn/snapshot.js';
import { StateMachine, type ApplyResult, type StateOptions } from '../../src/txn/state.js';
import { TimedHeap } from './timed-heap.js';

// ---------------------------------------------------------------- randomness

function mixSeed(seed: number, label: string): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  return h >>> 0;
}

export class Rng {
  private readonly next: () => number;

  constructor(readonly seed: number) {
    this.next = seededRandom(seed);
  }

  /** An independent stream for one purpose, so one subsystem's draws never shift another's. */
  static stream(seed: number, purpose: string): Rng {
    return new Rng(mixSeed(seed, purpose));
  }

  float(): number {
    return this.next();
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Uniform integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return p > 0 && this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
}

// ---------------------------------------------------------------- parameters

/** Bugs planted on purpose, to prove the checkers catch what they claim to. */
export type EnsembleCanary =
  /** Reads served from the local tree without a sync: stale on followers. */
  | 'local-read'
  /** The disk reports a write done before it is durable: a crash loses acknowledged entries. */
  | 'ack-before-persist';

export interface EnsembleSimParams {
  seed: number;
  /** Simulated time units of the fault phase; a server ticks about every tickPeriod units. */
  steps: number;
  voters: number;
  /** One extra server as a Raft learner (ZooKeeper observer). */
  observer: boolean;
  clients: number;
  tickPeriod: number;
  /** Each server's tick period is off by up to this fraction. */
  skew: number;
  electionTick: number;
  snapCount: number;
  catchUpEntries: number;
  maxSizePerMsg: number;
  maxInflightMsgs: number;
  /** Raft message delay, in time units (uniform in [1, netDelay]). */
  netDelay: number;
  dropRate: number;
  dupRate: number;
  /** Chance an ordered (TCP-like) message breaks its link. */
  linkBreakRate: number;
  diskDelay: number;
  /** Chance a persist completes inside the call (the peer handles both). */
  syncPersistRate: number;
  snapDelay: number;
  /** Chance a snapshot write fails (done(null)). */
  snapFailRate: number;
  /** Per time unit. */
  crashRate: number;
  /** Chance a crash may take down a majority of voters. */
  majorityCrashRate: number;
  partitionRate: number;
  lossBurstRate: number;
  slowDiskRate: number;
  transferRate: number;
  /** Per time unit: an admin asks some server for a reconfig (promote the observer, demote a voter, or both). */
  reconfigRate: number;
  /** Mean gap between a client's operations, in time units. */
  opGap: number;
  /** Chance a client moves to another server before an operation. */
  moveRate: number;
  /** Time units a client waits for an answer before the outcome is unknown. */
  clientTimeout: number;
  /** Encode every peer message to bytes and decode it on arrival (covers the codec). */
  wire: boolean;
  /** Deliver the events of one instant as a burst (QuorumPeer.batch), as a socket read does. */
  burst: boolean;
  /** Time units the heal-and-settle phase may take. */
  settleTime: number;
  /** Model steps the linearizability checker may take per path. */
  checkBudget: number;
  canary?: EnsembleCanary;
}

/** Swarm testing: each seed draws its own mix of sizes, timings and faults. */
export function drawEnsembleParams(
  seed: number,
  steps: number,
  overrides: Partial<EnsembleSimParams> = {},
): EnsembleSimParams {
  const r = Rng.stream(seed, 'params');
  const tickPeriod = 10;
  const electionTick = 10;
  return {
    seed,
    steps,
    voters: r.pick([3, 3, 5]),
    observer: r.chance(0.35),
    clients: r.range(3, 8),
    tickPeriod,
    skew: r.pick([0, 0.1, 0.2]),
    electionTick,
    snapCount: r.range(20, 50),
    catchUpEntries: r.pick([0, 3, 20]),
    maxSizePerMsg: r.pick([1, 400, 1 << 20]),
    maxInflightMsgs: r.pick([2, 16, 256]),
    netDelay: r.pick([2, 5, 12]),
    dropRate: r.pick([0, 0.01, 0.05]),
    dupRate: r.pick([0, 0.02, 0.05]),
    linkBreakRate: r.pick([0, 0.002, 0.01]),
    diskDelay: r.pick([0, 2, 6]),
    syncPersistRate: r.pick([0, 0.3, 0.8]),
    snapDelay: r.pick([0, 5, 30]),
    snapFailRate: r.pick([0, 0.05]),
    crashRate: r.pick([0, 0.0008, 0.002]),
    majorityCrashRate: r.pick([0, 0.3, 0.6]),
    partitionRate: r.pick([0, 0.0008, 0.002]),
    lossBurstRate: r.pick([0, 0.0005]),
    slowDiskRate: r.pick([0, 0.001]),
    transferRate: r.pick([0, 0.0005]),
    reconfigRate: r.pick([0, 0, 0.001]),
    opGap: r.pick([4, 15, 40]),
    moveRate: r.pick([0.02, 0.1, 0.3]),
    clientTimeout: electionTick * 4 * tickPeriod * 2,
    wire: r.chance(0.5),
    burst: r.chance(0.5),
    settleTime: 400 * tickPeriod,
    checkBudget: 2_000_000,
    ...overrides,
  };
}

export class EnsembleSimFailure extends Error {
  constructor(
    message: string,
    readonly seed: number,
    readonly time: number,
  ) {
    super(message);
    this.name = 'EnsembleSimFailure';
  }
}

export interface EnsembleSimStats {
  /** Highest index known committed. */
  committed: number;
  elections: number;
  maxTerm: number;
  crashes: number;
  majorityOutages: number;
  partitions: number;
  linkBreaks: number;
  snapshots: number;
  snapshotInstalls: number;
  msgSnaps: number;
  reconfigs: number;
  writesOk: number;
  readsOk: number;
  unknown: number;
  /** Requests refused inside the call (no leader, link down): never sent, so left out of the history. */
  refused: number;
  /** Unknown-outcome writes that some server applied: checked with their real result. */
  resolved: number;
  /** Unknown-outcome writes no server applied: they had no effect, so they are left out. */
  neverApplied: number;
  /** Answers that came after the client had given up. */
  late: number;
  /** Time units from healing until every server had served a write and a read, and every client had one through. */
  recovery: number;
  historyOps: number;
  checkSteps: number;
  /** 'ok', or 'budget' when the checker gave up on some path (not a failure). */
  linearizable: string;
}

// ---------------------------------------------------------------- events

interface SimEvent {
  at: number;
  seq: number;
  run: () => void;
}

// ---------------------------------------------------------------- disk

type DiskOp =
  | { kind: 'snapshot'; s: Snapshot }
  | { kind: 'truncate'; after: number }
  | { kind: 'hardState'; hs: HardState }
  | { kind: 'append'; e: RaftEntry };

class DiskError extends Error {}

/** What survives a crash: the newest snapshot file, the WAL and the hard-state file. */
class SimDisk {
  snap: Snapshot | null = null;
  wal: RaftEntry[] = [];
  walFirst = 0;
  hs: HardState | null = null;

  get walLast(): number {
    return this.wal.length === 0 ? 0 : this.walFirst + this.wal.length - 1;
  }

  writeSnapshot(s: Snapshot): void {
    // SnapshotStore.latest() picks the highest index.
    if (this.snap === null || s.index > this.snap.index) this.snap = s;
  }

  /** WriteAheadLog.truncateAfter: below the first index empties the log. */
  truncateAfter(index: number): void {
    if (this.wal.length === 0 || index >= this.walLast) return;
    if (index < this.walFirst) this.wal = [];
    else this.wal.length = index - this.walFirst + 1;
  }

  /** WriteAheadLog.append's rules: contiguous, terms never decrease. It throws otherwise, and RaftDisk goes fatal. */
  append(e: RaftEntry): void {
    const expect = this.wal.length === 0 ? e.index : this.walLast + 1;
    if (e.index !== expect) throw new DiskError(`WAL append: expected index ${expect}, got ${e.index}`);
    const lastTerm = this.wal.length === 0 ? 0 : this.wal[this.wal.length - 1]!.term;
    if (e.term < lastTerm) throw new DiskError(`WAL append: term ${e.term} at ${e.index} below ${lastTerm}`);
    if (this.wal.length === 0) this.walFirst = e.index;
    this.wal.push(e);
  }

  apply(op: DiskOp): void {
    switch (op.kind) {
      case 'snapshot':
        this.writeSnapshot(op.s);
        return;
      case 'truncate':
        this.truncateAfter(op.after);
        return;
      case 'hardState':
        this.hs = op.hs;
        return;
      case 'append':
        this.append(op.e);
        return;
    }
  }

  /** (index, term) is durable here: in the WAL, or covered by the snapshot. */
  holds(index: number, term: number): boolean {
    if (this.snap !== null && this.snap.index >= index) return true;
    if (index < this.walFirst || index > this.walLast) return false;
    return this.wal[index - this.walFirst]!.term === term;
  }
}

// ---------------------------------------------------------------- network

interface OrderedDelivery {
  lost: boolean;
}

/** One direction of a TCP-like connection between two servers. */
class Link {
  state: 'up' | 'broken' | 'down' = 'down';
  /** Delivery time of the last message sent, so later ones never overtake it. */
  lastAt = 0;
  inflight: OrderedDelivery[] = [];
  /** Bumped per connection attempt, so a stale attempt from an earlier run of the sender does nothing. */
  attempt = 0;
  backoff = 5;

  constructor(
    readonly from: number,
    readonly to: number,
  ) {}
}

// ---------------------------------------------------------------- servers and clients

class SimServer {
  peer: QuorumPeer | null = null;
  incarnation = 0;
  readonly disk = new SimDisk();
  /** Disk writes started and not yet durable, in order. */
  persisting: DiskOp[][] = [];
  slowDiskUntil = 0;
  /** Index of the last entry this run of the server applied (or restored). */
  lastApplied = 0;
  commitSeen = 0;
  leaderTermChecked = 0;

  constructor(
    readonly id: number,
    readonly tickFactor: number,
    readonly clockOffset: number,
  ) {}

  get up(): boolean {
    return this.peer !== null;
  }
}

interface ClientOp {
  readonly kind: 'session' | 'write' | 'read';
  readonly input: ZnodeInput | null;
  /** The history entry, made once the request is under way (-1 before, and for sessions). */
  handle: number;
  readonly server: number;
  readonly callTime: number;
  readonly cxid: number;
  settled: boolean;
}

class SimClient {
  server = 0;
  session: 'none' | 'ready' = 'none';
  op: ClientOp | null = null;
  cxid = 0;
  wakeAt = -1;
  /** Version last seen per path, for conditional writes. */
  readonly versions = new Map<string, number>();
  /** Time of the latest operation that returned ok (liveness after healing). */
  lastOkWrite = -1;
  lastOkRead = -1;

  constructor(
    readonly id: number,
    readonly sessionId: bigint,
  ) {}
}

const PATHS = ['/k0', '/k1', '/k2', '/k3', '/k4'];
const OPEN_ACL: ACL[] = [{ perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } }];
const STATE_OPTS: StateOptions = { extendedTypes: false, maxDataBytes: 1 << 20 };
const TWO32 = 0x100000000;
const utf8 = new TextDecoder();
const toUtf8 = new TextEncoder();

function hashBytes(h: number, b: Uint8Array): number {
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  return h >>> 0;
}

function hashString(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * A digest of everything a replica's state means, independent of iteration
 * order (a tree rebuilt from a snapshot may list children differently).
 */
export function stateDigest(sm: StateMachine): string {
  const parts: string[] = [`z${sm.lastZxid}`];
  const sessions = [...sm.sessions.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (const s of sessions) parts.push(`s${s.id}:${s.timeout}:${s.authIds.length}`);
  const nodes: string[] = [];
  for (const n of sm.tree.preorder()) {
    const data = n.dataOrNull;
    nodes.push(
      `${n.path}|${data === null ? '-' : hashBytes(0x811c9dc5, data)}|${n.czxid}|${n.mzxid}|${n.ctime}|${n.mtime}|` +
        `${n.version}|${n.cversion}|${n.aversion}|${n.ephemeralOwner}|${n.pzxid}|${n.numChildren}`,
    );
  }
  nodes.sort();
  const text = parts.concat(nodes).join('\n');
  const a = hashString(0x811c9dc5, text);
  const b = hashString(0x01234567, text);
  return `${a.toString(16)}${b.toString(16)}/${sm.tree.size}`;
}

/** The client-visible part of a tree, for failure messages. */
function describeTree(sm: StateMachine): string {
  return PATHS.map((p) => {
    const n = sm.tree.get(p);
    return n ? `${p}=${JSON.stringify(utf8.decode(n.data))}@v${n.version}` : `${p}=absent`;
  }).join(' ');
}

function concat(chunks: Iterable<Uint8Array>): Uint8Array {
  const parts = [...chunks];
  let n = 0;
  for (const c of parts) n += c.length;
  const out = new Uint8Array(n);
  let off = 0;
  for (const c of parts) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

function statusLine(s: Status): string {
  return `${s.role} t${s.term} lead=${s.lead} commit=${s.commit} applied=${s.applied} log=[${s.firstIndex},${s.lastIndex}]`;
}

// ---------------------------------------------------------------- the simulator

export interface EnsembleSimOptions {
  /** Keep the last lines of a trace of what happened, for failure messages. */
  trace?: boolean;
  traceLines?: number;
}

export class EnsembleSim {
  readonly params: EnsembleSimParams;
  private now = 0;
  private readonly queue = new TimedHeap<SimEvent>();
  private eventSeq = 0;
  private readonly servers = new Map<number, SimServer>();
  private readonly clients: SimClient[] = [];
  private readonly links = new Map<string, Link>();
  private readonly blocked = new Set<string>();
  private healing = false;
  private lossBurstUntil = -1;
  private partitionUntil = -1;
  private readonly initialConf: ConfState;

  private readonly faultRng: Rng;
  private readonly netRng: Rng;
  private readonly diskRng: Rng;
  private readonly clientRng: Rng;
  private readonly clockRng: Rng;
  private readonly w = new JuteWriter(1024);
  private dataCounter = 0;

  private readonly trace: string[] | null;
  private readonly traceLines: number;

  // The checkers' records.
  private readonly history = new HistoryRecorder<ZnodeInput, ZnodeOutput>();
  /** History handle of each write -> its request's `session:cxid`. */
  private readonly requestOf = new Map<number, string>();
  /** `session:cxid` of every client request applied: where, when first, and its result. */
  private readonly applied = new Map<string, { index: number; time: number; err: number; version: number }>();
  private readonly leaderOf = new Map<number, number>();
  /** (index/term) of every entry ever written to a log -> previous term and payload. */
  private readonly entryRegistry = new Map<string, string>();
  /** Who first wrote each (index/term), and when: for the failure message. */
  private readonly entryOrigin = new Map<string, string>();
  private readonly committedTerm: number[] = [];
  /** An upper bound of the term of the leader that committed each index. */
  private readonly commitTermOf: number[] = [];
  private maxCommitted = 0;
  /** index -> the applied entry (term, command, result), the same on every server. */
  private readonly appliedKey: string[] = [];
  /** index -> digest of the state machine after applying it. */
  private readonly stateAt: string[] = [];
  private readonly down = new Set<number>();
  /** Every voter set that was ever in force on some server: a leader may commit under any of them. */
  private readonly voterSets = new Map<string, readonly number[]>();
  private admin: { server: number; what: string; settled: boolean } | null = null;
  /** Since when a majority of voters has been down, or -1. */
  private stallSince = -1;
  private healedAt = -1;
  /** Servers that answered a write, and a read, asked after healing. */
  private readonly servedWrite = new Set<number>();
  private readonly servedRead = new Set<number>();

  readonly stats: EnsembleSimStats = {
    committed: 0,
    elections: 0,
    maxTerm: 0,
    crashes: 0,
    majorityOutages: 0,
    partitions: 0,
    linkBreaks: 0,
    snapshots: 0,
    snapshotInstalls: 0,
    msgSnaps: 0,
    reconfigs: 0,
    writesOk: 0,
    readsOk: 0,
    unknown: 0,
    refused: 0,
    resolved: 0,
    neverApplied: 0,
    late: 0,
    recovery: 0,
    historyOps: 0,
    checkSteps: 0,
    linearizable: '',
  };

  constructor(params: EnsembleSimParams, options: EnsembleSimOptions = {}) {
    this.params = { ...params };
    const seed = params.seed;
    this.faultRng = Rng.stream(seed, 'faults');
    this.netRng = Rng.stream(seed, 'net');
    this.diskRng = Rng.stream(seed, 'disk');
    this.clientRng = Rng.stream(seed, 'clients');
    this.clockRng = Rng.stream(seed, 'clock');
    this.trace = options.trace === true ? [] : null;
    this.traceLines = options.traceLines ?? 400;
    const setup = Rng.stream(seed, 'setup');
    const voters = Array.from({ length: params.voters }, (_, k) => k + 1);
    const learners = params.observer ? [params.voters + 1] : [];
    this.initialConf = { voters, learners };
    this.voterSets.set(voters.join(','), voters);
    const boot = bootstrapLog(this.initialConf);
    let prevTerm = 0;
    for (const e of boot) {
      this.entryRegistry.set(`${e.index}/${e.term}`, `${prevTerm}|${e.type}|${hashBytes(0x811c9dc5, e.data)}`);
      prevTerm = e.term;
    }
    for (const id of [...voters, ...learners]) {
      const factor = 1 + (setup.float() * 2 - 1) * params.skew;
      const s = new SimServer(id, factor, setup.range(0, 5000));
      // A new member's disk, as RaftDisk.open writes it: the bootstrap log, then the hard state.
      for (const e of boot) s.disk.append(e);
      s.disk.hs = { term: 1, vote: 0, commit: boot.length };
      this.servers.set(id, s);
    }
    const ids = [...this.servers.keys()];
    for (const a of ids) for (const b of ids) if (a !== b) this.links.set(`${a}>${b}`, new Link(a, b));
    for (let c = 0; c < params.clients; c++) {
      const client = new SimClient(c, 0x7e57_0000_0000n + BigInt(c + 1));
      client.server = setup.pick(ids);
      this.clients.push(client);
    }
  }

  /** Runs the fault phase, heals and settles, then checks convergence and linearizability. */
  run(): EnsembleSimStats {
    this.guard('start', () => {
      for (const s of this.servers.values()) this.start(s);
      for (const c of this.clients) this.wake(c, this.clientRng.range(0, 20));
    });
    for (let t = 0; t < this.params.steps; t++) {
      this.now = t;
      this.guard('faults', () => this.faults());
      this.drain();
      if (t % 50 === 0) this.guard('touch', () => this.touches());
    }
    this.settle();
    this.checkConvergence();
    this.checkLinearizability();
    return this.stats;
  }

  traceTail(lines = 120): string {
    return (this.trace ?? []).slice(-lines).join('\n');
  }

  private log(line: () => string): void {
    if (this.trace === null) return;
    this.trace.push(`t=${this.now} ${line()}`);
    if (this.trace.length > this.traceLines * 2) this.trace.splice(0, this.trace.length - this.traceLines);
  }

  private fail(message: string): never {
    throw new EnsembleSimFailure(`seed ${this.params.seed}, t=${this.now}: ${message}`, this.params.seed, this.now);
  }

  private guard<T>(what: string, f: () => T): T {
    try {
      return f();
    } catch (err) {
      if (err instanceof EnsembleSimFailure) throw err;
      const e = err as Error;
      this.fail(`${what} threw ${e.name}: ${e.message}\n${e.stack ?? ''}`);
    }
  }

  private at(delay: number, run: () => void): void {
    this.scheduleAt(this.now + Math.max(0, delay), run);
  }

  private scheduleAt(at: number, run: () => void): void {
    this.queue.push({ at, seq: this.eventSeq++, run });
  }

  /**
   * Runs every event due by now, checking the invariants after each. With
   * `burst`, the events of one instant run inside every peer's batch(), as
   * the messages of one socket read do in a real server.
   */
  private drain(): void {
    let budget = 200_000;
    for (;;) {
      const due: (() => void)[] = [];
      for (let ev = this.queue.popDue(this.now); ev !== undefined; ev = this.queue.popDue(this.now)) {
        due.push(ev.run);
        if (!this.params.burst) break;
      }
      if (due.length === 0) return;
      budget -= due.length;
      if (budget <= 0) this.fail('more than 200000 events at one instant: a livelock');
      let run = (): void => {
        for (const f of due) {
          this.guard('event', f);
          this.guard('check', () => this.checkServers());
        }
      };
      if (due.length > 1) {
        for (const s of this.servers.values()) {
          const peer = s.peer;
          if (peer === null) continue;
          const inner = run;
          run = () => peer.batch(inner);
        }
      }
      this.guard('burst', run);
      this.guard('check', () => this.checkServers());
    }
  }

  // ---------------------------------------------------------------- servers

  private start(s: SimServer): void {
    s.incarnation++;
    const inc = s.incarnation;
    const { storage, sm } = this.open(s);
    const snapIndex = storage.snapshot().index;
    if (snapIndex > 0) this.checkRestored(s, sm, snapIndex, 'restart');
    const raftRng = Rng.stream(this.params.seed, `raft${s.id}.${inc}`);
    const peer = new QuorumPeer({
      id: s.id,
      raft: {
        electionTick: this.params.electionTick,
        heartbeatTick: 1,
        preVote: true,
        checkQuorum: true,
        maxSizePerMsg: this.params.maxSizePerMsg,
        maxInflightMsgs: this.params.maxInflightMsgs,
        rng: () => raftRng.float(),
      },
      storage,
      state: STATE_OPTS,
      sm,
      // Distinct per run of each server, as the real one draws a random one.
      incarnation: s.id * 65536 + inc,
      now: () => this.now + s.clockOffset,
      snapCount: this.params.snapCount,
      catchUpEntries: this.params.catchUpEntries,
      requestTimeoutTicks: this.params.electionTick * 4,
      log: (msg) => this.log(() => `[${s.id}] ${msg}`),
    });
    s.peer = peer;
    s.lastApplied = snapIndex;
    s.commitSeen = snapIndex;
    s.leaderTermChecked = 0;
    s.persisting = [];
    peer.onApply = (result, entry) => this.checkApply(s, peer, result, entry);
    peer.onRestore = (restored) => {
      this.stats.snapshotInstalls++;
      s.lastApplied = peer.appliedIndex;
      this.checkRestored(s, restored, peer.appliedIndex, 'installed snapshot');
    };
    peer.onLeaderChange = (lead, role, term) => this.log(() => `[${s.id}] ${role} lead=${lead} term=${term}`);
    peer.onConfChange = (cc, conf, index) => this.checkConfigText(s, peer, conf, index, `${cc.type} ${cc.nodeId}`);
    this.log(() => `start ${s.id} (run ${inc}): snapshot ${snapIndex}, ${statusLine(peer.node.status())}`);
    for (const link of this.links.values()) {
      if (link.from === s.id) {
        link.state = 'down';
        link.inflight = [];
        this.connectLater(link, this.netRng.range(1, 4));
      }
    }
    this.down.delete(s.id);
    this.updateStall();
    peer.start(this.io(s, peer, inc));
    this.scheduleTick(s, inc, this.clockRng.range(1, this.params.tickPeriod));
  }

  /** RaftDisk.open: the newest snapshot, the WAL after it, the hard state with commit clamped to the log. */
  private open(s: SimServer): { storage: MemoryStorage; sm: StateMachine } {
    const d = s.disk;
    const storage = new MemoryStorage();
    let snapIndex = 0;
    let sm = new StateMachine(STATE_OPTS);
    if (d.snap !== null) {
      storage.applySnapshot(d.snap);
      snapIndex = d.snap.index;
      sm = deserializeState(d.snap.data, STATE_OPTS);
    }
    // WriteAheadLog.readFrom(snapIndex + 1) starts at its first index when that is later.
    const from = Math.max(snapIndex + 1, d.walFirst);
    const entries = d.wal.length === 0 ? [] : d.wal.slice(from - d.walFirst);
    try {
      storage.append(entries);
    } catch (err) {
      this.fail(
        `restart of ${s.id} cannot load its log: ${(err as Error).message} (snapshot ${snapIndex}, WAL [${d.walFirst}, ${d.walLast}])`,
      );
    }
    if (d.hs !== null) storage.setHardState({ ...d.hs, commit: Math.min(d.hs.commit, storage.lastIndex()) });
    return { storage, sm };
  }

  private io(s: SimServer, peer: QuorumPeer, inc: number): PeerIo {
    const alive = (): boolean => s.incarnation === inc && s.peer === peer;
    return {
      persist: (rd, done) => this.persist(s, peer, rd, done, alive),
      send: (to, msg) => this.send(s, to, msg),
      snapshot: (index, term, conf, sm, done) => this.snapshot(s, index, term, conf, sm, done, alive),
      keepSnapshot: (snap) => snap.data,
    };
  }

  private scheduleTick(s: SimServer, inc: number, delay: number): void {
    this.at(delay, () => {
      if (s.incarnation !== inc || s.peer === null) return;
      s.peer.tick();
      const jitter = 1 + (this.clockRng.float() - 0.5) * 0.1;
      this.scheduleTick(s, inc, Math.max(1, Math.round(this.params.tickPeriod * s.tickFactor * jitter)));
    });
  }

  private crash(s: SimServer, downFor: number): void {
    const peer = s.peer!;
    this.stats.crashes++;
    // The write in progress is torn: only a prefix of it reached the disk.
    const pending = s.persisting.flat();
    const keep = pending.length === 0 ? 0 : this.diskRng.int(pending.length + 1);
    this.log(
      () => `crash ${s.id} (${statusLine(peer.node.status())}), kept ${keep} of ${pending.length} pending disk ops`,
    );
    for (const op of pending.slice(0, keep)) this.diskOp(s, op);
    s.persisting = [];
    s.peer = null;
    // Stopping fails the writes and syncs waiting here; their clients see a lost connection.
    peer.stop();
    for (const link of this.links.values()) {
      if (link.from === s.id) {
        // The process is gone: what the kernel had sent may still arrive, the rest is lost.
        this.loseSuffix(link);
        link.state = 'down';
        link.attempt++;
      } else if (link.to === s.id) {
        this.breakLink(link, 'peer crashed');
      }
    }
    this.down.add(s.id);
    this.updateStall();
    const run = s.incarnation;
    this.at(downFor, () => {
      // Healing may have restarted it already.
      if (s.incarnation === run && s.peer === null) this.start(s);
    });
  }

  private updateStall(): void {
    if (this.majorityDown()) {
      if (this.stallSince < 0) {
        this.stallSince = this.now;
        this.stats.majorityOutages++;
        this.log(() => `majority of voters down`);
      }
    } else {
      this.stallSince = -1;
    }
  }

  // ---------------------------------------------------------------- disk

  private diskOp(s: SimServer, op: DiskOp): void {
    try {
      s.disk.apply(op);
    } catch (err) {
      if (err instanceof DiskError) this.fail(`server ${s.id}: RaftDisk would fail: ${err.message}`);
      throw err;
    }
  }

  /** The writes RaftDisk.persist makes for a Ready, in its order. */
  private diskOps(s: SimServer, rd: Ready): DiskOp[] {
    const ops: DiskOp[] = [];
    const d = s.disk;
    // The writes before this one are durable (the peer persists one Ready at a
    // time), except under the ack-before-persist canary.
    let walLast = d.walLast;
    for (const pending of s.persisting) {
      for (const op of pending) {
        if (op.kind === 'snapshot') walLast = 0;
        else if (op.kind === 'truncate') walLast = Math.min(walLast, op.after);
        else if (op.kind === 'append') walLast = op.e.index;
      }
    }
    let written = d.hs ?? { term: 0, vote: 0, commit: 0 };
    for (const pending of s.persisting) for (const op of pending) if (op.kind === 'hardState') written = op.hs;
    if (rd.snapshot) {
      ops.push({ kind: 'snapshot', s: rd.snapshot }, { kind: 'truncate', after: 0 });
      walLast = 0;
    }
    const hs = rd.hardState;
    if (hs && (hs.term !== written.term || hs.vote !== written.vote)) {
      ops.push({ kind: 'hardState', hs: { ...hs, commit: Math.min(hs.commit, walLast) } });
    }
    if (rd.entries.length > 0) {
      const first = rd.entries[0]!.index;
      if (first <= walLast) ops.push({ kind: 'truncate', after: first - 1 });
      for (const e of rd.entries) ops.push({ kind: 'append', e });
    }
    return ops;
  }

  private persist(s: SimServer, peer: QuorumPeer, rd: Ready, done: () => void, alive: () => boolean): void {
    if (!alive()) return;
    this.checkReady(s, peer, rd);
    const ops = this.diskOps(s, rd);
    const slow = this.now < s.slowDiskUntil ? 10 : 1;
    const delay = this.diskRng.range(0, this.params.diskDelay) * slow;
    if (this.params.canary === 'ack-before-persist' && ops.length > 0) {
      // Planted bug: the peer is told the write is durable before it is.
      s.persisting.push(ops);
      this.at(delay + 20, () => {
        const k = s.persisting.indexOf(ops);
        if (!alive() || k < 0) return;
        for (const written of s.persisting.splice(0, k + 1)) for (const op of written) this.diskOp(s, op);
      });
      done();
      return;
    }
    if (slow === 1 && this.diskRng.chance(this.params.syncPersistRate)) {
      for (const op of ops) this.diskOp(s, op);
      done();
      return;
    }
    s.persisting.push(ops);
    this.at(Math.max(1, delay), () => {
      if (!alive()) return;
      s.persisting.shift();
      for (const op of ops) this.diskOp(s, op);
      done();
    });
  }

  private snapshot(
    s: SimServer,
    index: number,
    term: number,
    conf: ConfState,
    sm: StateMachine,
    done: (data: Uint8Array | null) => void,
    alive: () => boolean,
  ): void {
    const zxid = sm.lastZxid;
    if (zxid % TWO32 !== index)
      this.fail(`server ${s.id} snapshots index ${index} of a tree at zxid index ${zxid % TWO32}`);
    const finish = (): void => {
      if (!alive()) return;
      if (sm.lastZxid !== zxid)
        this.fail(`server ${s.id}: the tree changed while its snapshot at ${index} was written`);
      if (this.diskRng.chance(this.params.snapFailRate)) {
        this.log(() => `[${s.id}] snapshot at ${index} fails`);
        done(null);
        return;
      }
      const data = concat(serializeState(sm));
      const digest = stateDigest(sm);
      const known = this.stateAt[index];
      if (known !== undefined && known !== digest)
        this.fail(`server ${s.id}: snapshot at ${index} differs from the applied state`);
      if (s.peer !== null) this.checkCommits(s, s.peer.node.status());
      if (this.committedTerm[index] !== term) {
        this.fail(
          `server ${s.id} snapshots (${index}, term ${term}), but term ${this.committedTerm[index]} is committed there`,
        );
      }
      s.disk.writeSnapshot({ index, term, conf, data });
      this.stats.snapshots++;
      this.log(() => `[${s.id}] snapshot at ${index} (term ${term}), ${data.length} bytes`);
      done(data);
      // What the Raft core will send followers as this snapshot.
      const kept = s.peer?.storage.snapshot();
      if (kept !== undefined && kept.index === index && kept.term !== term) {
        this.fail(
          `server ${s.id}: its Raft storage records the snapshot at ${index} with term ${kept.term}, not ${term}`,
        );
      }
    };
    if (this.params.snapDelay === 0 || this.diskRng.chance(0.3)) finish();
    else this.at(this.diskRng.range(1, this.params.snapDelay), finish);
  }

  // ---------------------------------------------------------------- network

  private blockedLink(from: number, to: number): boolean {
    return this.blocked.size > 0 && this.blocked.has(`${from}>${to}`);
  }

  private encode(msg: PeerMessage): PeerMessage | Uint8Array {
    if (!this.params.wire) return msg;
    this.w.reset();
    encodePeerMessage(this.w, msg);
    return this.w.toBuffer();
  }

  private send(s: SimServer, to: number, msg: PeerMessage): boolean {
    const link = this.links.get(`${s.id}>${to}`);
    if (link === undefined) return false;
    if (msg.kind === PeerKind.raft) return this.sendRaft(s, link, msg);
    // Forwards, rejections and touches ride the connection, in order.
    if (link.state === 'down') return false;
    if (link.state === 'broken') return true; // written into a dead socket
    const dest = this.servers.get(to)!;
    if (this.blockedLink(s.id, to) || !dest.up) {
      this.breakLink(link, 'cut');
      return true;
    }
    const breakRate = this.now < this.lossBurstUntil ? 0.05 : this.params.linkBreakRate;
    const d: OrderedDelivery = { lost: false };
    link.inflight.push(d);
    if (this.netRng.chance(breakRate)) {
      this.breakLink(link, 'lost a message');
      return true;
    }
    const at = Math.max(link.lastAt, this.now + this.netRng.range(1, this.params.netDelay));
    link.lastAt = at;
    const payload = this.encode(msg);
    const toInc = dest.incarnation;
    const from = s.id;
    this.scheduleAt(at, () => {
      const k = link.inflight.indexOf(d);
      if (k >= 0) link.inflight.splice(k, 1);
      if (d.lost || dest.incarnation !== toInc || dest.peer === null) return;
      this.log(() => `deliver ${describeMsg(msg)} ${from}->${to}`);
      dest.peer.receive(from, payload);
    });
    return true;
  }

  private sendRaft(s: SimServer, link: Link, msg: PeerMessage & { kind: typeof PeerKind.raft }): boolean {
    const m = msg.msg;
    const from = s.id;
    const to = link.to;
    const dropRate = this.now < this.lossBurstUntil ? 0.4 : this.params.dropRate;
    const lost = link.state !== 'up' || this.blockedLink(from, to) || this.netRng.chance(dropRate);
    if (m.type === 'MsgSnap') {
      this.stats.msgSnaps++;
      // The transport reports a snapshot sent once it has written every piece.
      const inc = s.incarnation;
      const peer = s.peer!;
      this.at(this.netRng.range(1, this.params.netDelay), () => {
        if (s.incarnation === inc && s.peer === peer) peer.snapshotSent(to, !lost);
      });
    }
    if (lost) {
      this.log(() => `drop ${describeMsg(msg)} ${from}->${to}`);
      return link.state !== 'down';
    }
    const payload = this.encode(msg);
    const copies = this.netRng.chance(this.params.dupRate) ? 2 : 1;
    for (let k = 0; k < copies; k++) {
      this.at(this.netRng.range(1, this.params.netDelay * (k + 1)), () => {
        const dest = this.servers.get(to)!;
        if (dest.peer === null || this.blockedLink(from, to)) return;
        this.log(() => `deliver ${describeMsg(msg)} ${from}->${to}`);
        dest.peer.receive(from, payload);
      });
    }
    return true;
  }

  private loseSuffix(link: Link): void {
    const k = this.netRng.int(link.inflight.length + 1);
    for (let j = k; j < link.inflight.length; j++) link.inflight[j]!.lost = true;
    link.inflight = link.inflight.slice(0, k);
  }

  /** The connection breaks: a suffix in flight is lost, and the sender hears of it a little later. */
  private breakLink(link: Link, why: string): void {
    if (link.state !== 'up') return;
    this.stats.linkBreaks++;
    link.state = 'broken';
    this.loseSuffix(link);
    const sender = this.servers.get(link.from)!;
    const inc = sender.incarnation;
    this.log(() => `link ${link.from}->${link.to} breaks (${why})`);
    this.at(this.netRng.range(1, 5), () => {
      if (link.state !== 'broken') return;
      link.state = 'down';
      if (sender.incarnation !== inc || sender.peer === null) return;
      sender.peer.peerUnreachable(link.to);
      this.connectLater(link, link.backoff);
    });
  }

  private connectLater(link: Link, delay: number): void {
    const attempt = ++link.attempt;
    const sender = this.servers.get(link.from)!;
    const inc = sender.incarnation;
    this.at(delay, () => {
      if (link.attempt !== attempt) return;
      if (sender.incarnation !== inc || sender.peer === null || link.state !== 'down') return;
      const dest = this.servers.get(link.to)!;
      if (!dest.up || this.blockedLink(link.from, link.to)) {
        link.backoff = Math.min(link.backoff * 2, 100);
        this.connectLater(link, link.backoff);
        return;
      }
      link.state = 'up';
      link.backoff = 5;
      link.lastAt = this.now;
      this.log(() => `link ${link.from}->${link.to} up`);
      sender.peer.peerReachable(link.to);
    });
  }

  // ---------------------------------------------------------------- faults

  private faults(): void {
    const p = this.params;
    const r = this.faultRng;
    if (this.healing) return;
    const ids = [...this.servers.keys()];
    if (r.chance(p.crashRate)) {
      const up = ids.filter((id) => this.servers.get(id)!.up);
      if (up.length > 0) {
        const s = this.servers.get(r.pick(up))!;
        const voters = this.currentVoters();
        const downAfter = voters.filter((id) => id === s.id || this.down.has(id)).length;
        const majority = downAfter >= Math.floor(voters.length / 2) + 1;
        if (!majority || r.chance(p.majorityCrashRate)) {
          const ticks = r.chance(0.3) ? r.range(1, 8) : r.range(10, 60);
          this.crash(s, ticks * p.tickPeriod);
        }
      }
    }
    if (this.now >= this.partitionUntil && this.blocked.size > 0) this.heal();
    if (this.blocked.size === 0 && r.chance(p.partitionRate)) this.partition(ids);
    if (r.chance(p.lossBurstRate)) {
      this.lossBurstUntil = this.now + r.range(5, 40) * p.tickPeriod;
      this.log(() => `message loss burst until ${this.lossBurstUntil}`);
    }
    if (r.chance(p.slowDiskRate)) {
      const s = this.servers.get(r.pick(ids))!;
      s.slowDiskUntil = this.now + r.range(5, 50) * p.tickPeriod;
      this.log(() => `slow disk on ${s.id} until ${s.slowDiskUntil}`);
    }
    if (r.chance(p.reconfigRate)) this.reconfig();
    if (r.chance(p.transferRate)) {
      const leader = this.leader();
      if (leader !== undefined) {
        const to = r.pick(leader.peer!.node.status().conf.voters);
        this.log(() => `transfer leadership ${leader.id} -> ${to}`);
        leader.peer!.transferLeadership(to);
      }
    }
  }

  /** Nothing can commit while a majority of every voter set ever in force is down. */
  private majorityDown(): boolean {
    for (const voters of this.voterSets.values()) {
      const down = voters.filter((id) => this.down.has(id)).length;
      if (down < Math.floor(voters.length / 2) + 1) return false;
    }
    return true;
  }

  /** The leader's configuration, or the newest one any running server has. */
  private currentVoters(): readonly number[] {
    const leader = this.leader();
    if (leader !== undefined) return leader.peer!.node.status().conf.voters;
    let best: Status | undefined;
    for (const s of this.servers.values()) {
      const st = s.peer?.node.status();
      if (st !== undefined && (best === undefined || st.lastIndex > best.lastIndex)) best = st;
    }
    return best?.conf.voters ?? this.initialConf.voters;
  }

  /**
   * An admin's reconfig, on any server (a follower forwards it): promote a
   * learner, demote a voter (keeping at least three), or both in one request,
   * which the leader carries out one single-server change at a time.
   */
  private reconfig(): void {
    if (this.admin !== null && !this.admin.settled) return;
    const r = this.faultRng;
    const up = [...this.servers.values()].filter((s) => s.up);
    if (up.length === 0) return;
    const s = r.pick(up);
    const conf = s.peer!.node.status().conf;
    const line = (id: number, role: string): string =>
      `server.${id}=127.0.0.1:${2887 + id}:${3887 + id}:${role};127.0.0.1:${2180 + id}`;
    const promote = conf.learners.map((id) => ({
      type: 'addNode' as const,
      nodeId: id,
      line: line(id, 'participant'),
    }));
    const demote =
      conf.voters.length > 3
        ? conf.voters.map((id) => ({ type: 'addLearner' as const, nodeId: id, line: line(id, 'observer') }))
        : [];
    const choices: MemberChange[][] = [];
    for (const p of promote) choices.push([p]);
    for (const d of demote) choices.push([d]);
    if (promote.length > 0 && conf.voters.length >= 3) {
      const p = r.pick(promote);
      const d = r.pick(conf.voters);
      choices.push([p, { type: 'addLearner', nodeId: d, line: line(d, 'observer') }]);
    }
    if (choices.length === 0) return;
    const changes = r.pick(choices);
    const what = changes.map((c) => `${c.type} ${c.nodeId}`).join(', ');
    const admin = { server: s.id, what, settled: false };
    this.admin = admin;
    this.stats.reconfigs++;
    this.log(() => `admin on ${s.id}: reconfig ${what}`);
    const settle = (how: string): void => {
      if (admin.settled) this.fail(`reconfig (${what}) on ${s.id} answered twice (now ${how})`);
      admin.settled = true;
      this.log(() => `admin: reconfig ${what} ${how}`);
    };
    s.peer!.reconfigure(
      changes,
      (result, entry) => {
        if (entry.kind !== EntryKind.config || result.err !== Err.OK) {
          this.fail(`reconfig (${what}) answered with ${describeTxn(entry)}, error ${result.err}`);
        }
        settle('done');
      },
      (why) => settle(why),
    );
    this.at(this.params.clientTimeout * 2, () => {
      if (this.admin === admin && !admin.settled) {
        this.log(() => `admin: reconfig ${what} timed out`);
        this.admin = null;
      }
    });
  }

  private partition(ids: number[]): void {
    const r = this.faultRng;
    const mode = r.int(3);
    const leader = this.leader();
    let side: Set<number>;
    if (mode === 0 && leader !== undefined) {
      // A leader cut off with a minority: it must stop answering, and a new one must take over.
      side = new Set([leader.id]);
      if (this.currentVoters().length >= 5 && r.chance(0.5)) side.add(r.pick(ids.filter((id) => id !== leader.id)));
    } else if (mode === 1) {
      side = new Set([r.pick(ids)]);
    } else {
      side = new Set(ids.filter(() => r.chance(0.5)));
    }
    if (side.size === 0 || side.size === ids.length) return;
    for (const a of side) {
      for (const b of ids) {
        if (side.has(b)) continue;
        this.blocked.add(`${a}>${b}`);
        this.blocked.add(`${b}>${a}`);
      }
    }
    this.stats.partitions++;
    this.partitionUntil = this.now + r.range(5, 60) * this.params.tickPeriod;
    this.log(() => `partition {${[...side].join(',')}} until ${this.partitionUntil}`);
    for (const link of this.links.values()) if (this.blockedLink(link.from, link.to)) this.breakLink(link, 'partition');
  }

  private heal(): void {
    this.log(() => 'heal partition');
    this.blocked.clear();
  }

  private leader(): SimServer | undefined {
    let best: SimServer | undefined;
    for (const s of this.servers.values()) {
      if (s.peer === null) continue;
      const st = s.peer.node.status();
      if (st.role === 'leader' && (best === undefined || st.term > best.peer!.node.status().term)) best = s;
    }
    return best;
  }

  // ---------------------------------------------------------------- clients

  private wake(c: SimClient, delay: number): void {
    const at = this.now + Math.max(1, delay);
    if (c.wakeAt >= 0 && c.wakeAt <= at) return;
    c.wakeAt = at;
    this.scheduleAt(at, () => {
      if (c.wakeAt !== at) return;
      c.wakeAt = -1;
      this.clientAct(c);
    });
  }

  private clientAct(c: SimClient): void {
    if (c.op !== null) return;
    const r = this.clientRng;
    if (this.healing && this.clientDoneSettling(c) && this.serversVerified()) return;
    let server = this.servers.get(c.server)!;
    if (this.healing) {
      // Every server must serve again, not only some: visit the ones that have not.
      server = this.servers.get(this.healingTarget(c))!;
      c.server = server.id;
    } else if (!server.up || r.chance(this.params.moveRate)) {
      // As a ZooKeeper client reconnecting: to another server it can reach.
      const up = [...this.servers.values()].filter((s) => s.up);
      if (up.length === 0) {
        this.wake(c, this.params.tickPeriod * 5);
        return;
      }
      server = r.pick(up);
      if (server.id !== c.server) this.log(() => `client ${c.id} moves to ${server.id}`);
      c.server = server.id;
    }
    const peer = server.peer!;
    if (c.session === 'none') {
      this.w.reset();
      encodeCreateSession(this.w, 30000, new Uint8Array(16), `10.0.0.${c.id + 1}`);
      const op = this.beginOp(c, 'session', null, server.id, 0);
      peer.propose(
        EntryKind.createSession,
        c.sessionId,
        0,
        OpCode.createSession,
        this.w.toBuffer(),
        (result, entry) =>
          this.settle1(c, op, 'done', () => {
            if (entry.kind !== EntryKind.createSession || entry.sessionId !== c.sessionId) {
              this.fail(`client ${c.id}: createSession answered with someone else's entry ${describeTxn(entry)}`);
            }
            if (result.err !== Err.OK) this.fail(`client ${c.id}: createSession failed with ${result.err}`);
            c.session = 'ready';
          }),
        (why) => this.settle1(c, op, why, null),
      );
      this.underway(c, op);
      return;
    }
    const path = r.pick(PATHS);
    const roll = r.float();
    if (roll < 0.35) {
      this.read(c, peer, server.id, path);
      return;
    }
    const data = `c${c.id}#${this.dataCounter++}`;
    const known = c.versions.get(path);
    const version = r.chance(0.5) ? -1 : known !== undefined && r.chance(0.8) ? known : r.range(0, 3);
    let input: ZnodeInput;
    let req: Request;
    if (roll < 0.55) {
      input = { op: 'create', path, data };
      req = { op: OpCode.create, req: { path, data: toUtf8.encode(data), acl: OPEN_ACL, flags: 0, ttl: -1 } };
    } else if (roll < 0.9) {
      input = { op: 'setData', path, data, version };
      req = { op: OpCode.setData, req: { path, data: toUtf8.encode(data), version } };
    } else {
      input = { op: 'delete', path, version };
      req = { op: OpCode.delete, req: { path, version } };
    }
    this.w.reset();
    writeRequest(this.w, req);
    const cxid = ++c.cxid;
    const op = this.beginOp(c, 'write', input, server.id, cxid);
    peer.propose(
      EntryKind.request,
      c.sessionId,
      cxid,
      req.op,
      this.w.toBuffer(),
      (result, entry) =>
        this.settle1(c, op, 'done', () => {
          if (entry.sessionId !== c.sessionId || entry.cxid !== cxid || entry.op !== req.op) {
            this.fail(`client ${c.id}: write cxid ${cxid} answered with another entry ${describeTxn(entry)}`);
          }
          this.history.ok(op.handle, this.now, this.writeOutput(c, input, result));
          this.stats.writesOk++;
          c.lastOkWrite = this.now;
          if (this.healing && op.callTime > this.healedAt) this.servedWrite.add(op.server);
          this.checkNotStalled(c, op);
        }),
      (why) => this.settle1(c, op, why, null),
    );
    this.underway(c, op);
  }

  private read(c: SimClient, peer: QuorumPeer, serverId: number, path: string): void {
    const input: ZnodeInput = { op: 'getData', path };
    const op = this.beginOp(c, 'read', input, serverId, 0);
    const answer = (): void => {
      const n = peer.sm.tree.get(path);
      const out: ZnodeOutput = n ? { data: utf8.decode(n.data), version: n.version } : 'NONODE';
      if (n) c.versions.set(path, n.version);
      this.history.ok(op.handle, this.now, out);
      this.stats.readsOk++;
      c.lastOkRead = this.now;
      if (this.healing && op.callTime > this.healedAt) this.servedRead.add(op.server);
      this.checkNotStalled(c, op);
    };
    if (this.params.canary === 'local-read') {
      // Planted bug: no sync, so a lagging follower answers from the past.
      this.settle1(c, op, 'done', answer);
      return;
    }
    peer.sync(
      () => this.settle1(c, op, 'done', answer),
      (why) => this.settle1(c, op, why, null),
    );
    this.underway(c, op);
  }

  /**
   * A request the peer did not refuse inside the call is under way: it
   * enters the history. One refused inside the call (no leader known, link
   * down, not leader any more) was never sent anywhere, so it cannot take
   * effect; recording it as unknown would only weaken the check.
   */
  private underway(c: SimClient, op: ClientOp): void {
    if (op.settled || op.input === null || op.handle >= 0) return;
    op.handle = this.history.invoke(c.id, op.callTime, op.input);
    if (op.kind === 'write') this.requestOf.set(op.handle, `${c.sessionId}:${op.cxid}`);
  }

  private beginOp(
    c: SimClient,
    kind: ClientOp['kind'],
    input: ZnodeInput | null,
    server: number,
    cxid: number,
  ): ClientOp {
    const op: ClientOp = {
      kind,
      input,
      handle: -1,
      server,
      callTime: this.now,
      cxid,
      settled: false,
    };
    c.op = op;
    this.log(() => `client ${c.id} on ${server}: ${kind} ${input ? JSON.stringify(input) : ''}`);
    this.at(this.params.clientTimeout, () => {
      if (c.op !== op) return;
      this.log(() => `client ${c.id}: ${kind} timed out, outcome unknown`);
      this.stats.unknown++;
      c.op = null;
      this.wake(c, this.clientRng.range(1, this.params.opGap));
    });
    return op;
  }

  /** The one answer a request gets: done or fail, exactly once. */
  private settle1(c: SimClient, op: ClientOp, how: 'done' | FailReason, onDone: (() => void) | null): void {
    if (op.settled) this.fail(`client ${c.id}: ${op.kind} (cxid ${op.cxid}) answered twice (now ${how})`);
    op.settled = true;
    if (c.op !== op) {
      this.stats.late++;
      return;
    }
    this.log(() => `client ${c.id}: ${op.kind} ${how}`);
    const inCall = op.handle < 0 && op.input !== null;
    if (onDone !== null) {
      // Only the local-read canary answers inside the call.
      if (inCall) op.handle = this.history.invoke(c.id, op.callTime, op.input!);
      onDone();
    } else if (inCall || op.kind === 'session') {
      if (inCall) this.stats.refused++;
    } else {
      this.stats.unknown++;
    }
    c.op = null;
    if (how !== 'done' && !this.healing && this.clientRng.chance(0.5)) {
      // ZooKeeper drops the connection; the client may come back elsewhere.
      const ids = [...this.servers.keys()];
      c.server = this.clientRng.pick(ids);
    }
    this.wake(c, this.clientRng.range(1, this.params.opGap));
  }

  private writeOutput(c: SimClient, input: ZnodeInput, r: ApplyResult): ZnodeOutput {
    switch (r.err) {
      case Err.OK:
        if (input.op === 'setData') {
          if (r.reply === null || r.reply.kind !== 'stat') this.fail(`setData answered without a stat`);
          c.versions.set(input.path, r.reply.stat.version);
          return { ok: true, version: r.reply.stat.version };
        }
        if (input.op === 'create') c.versions.set(input.path, 0);
        return 'ok';
      case Err.NONODE:
        return 'NONODE';
      case Err.NODEEXISTS:
        return 'NODEEXISTS';
      case Err.BADVERSION:
        return 'BADVERSION';
      default:
        this.fail(`client ${c.id}: ${JSON.stringify(input)} failed with unexpected error ${r.err}`);
    }
  }

  /** Nothing can commit, nor can a leader confirm a read, without a majority of voters up. */
  private checkNotStalled(c: SimClient, op: ClientOp): void {
    if (this.stallSince >= 0 && op.callTime >= this.stallSince) {
      this.fail(
        `client ${c.id}: ${op.kind} issued at ${op.callTime} succeeded while a majority of voters has been down since ${this.stallSince}`,
      );
    }
  }

  private touches(): void {
    for (const c of this.clients) {
      if (c.session !== 'ready') continue;
      const s = this.servers.get(c.server)!;
      s.peer?.touch([{ id: c.sessionId, timeout: 0 }]);
    }
  }

  // ---------------------------------------------------------------- checkers

  /** Log matching: an (index, term) always names the same payload after the same previous term. */
  private checkReady(s: SimServer, peer: QuorumPeer, rd: Ready): void {
    if (rd.entries.length > 0) {
      let prevTerm: number | undefined = peer.node.logTerm(rd.entries[0]!.index - 1);
      for (const e of rd.entries) {
        const key = `${e.index}/${e.term}`;
        const value = `${prevTerm}|${e.type}|${hashBytes(0x811c9dc5, e.data)}`;
        const prior = this.entryRegistry.get(key);
        if (prior === undefined) {
          this.entryRegistry.set(key, value);
          this.entryOrigin.set(key, `server ${s.id} at t=${this.now}`);
        } else if (prior !== value) {
          this.fail(
            `log matching: ${s.id} writes (${e.index}, term ${e.term}) as prev term|type|hash ${value}, ` +
              `but ${this.entryOrigin.get(key)} wrote ${prior}`,
          );
        }
        prevTerm = e.term;
      }
    }
    const snap = rd.snapshot;
    if (snap !== undefined && this.committedTerm[snap.index] !== snap.term) {
      this.fail(
        `${s.id} installs a snapshot at (${snap.index}, term ${snap.term}), ` +
          `but term ${this.committedTerm[snap.index]} is committed there`,
      );
    }
  }

  /** State machine safety: every server applies the same entry at each index, in order, reaching the same state. */
  private checkApply(s: SimServer, peer: QuorumPeer, result: ApplyResult, e: TxnEntry): void {
    if (s.peer !== peer) this.fail(`${s.id}: a stopped peer applied an entry`);
    const index = e.zxid % TWO32;
    const term = Math.floor(e.zxid / TWO32);
    if (index !== s.lastApplied + 1) this.fail(`${s.id} applies ${index} after ${s.lastApplied}`);
    s.lastApplied = index;
    const committed = this.committedTerm[index];
    if (committed !== undefined && committed !== term) {
      this.fail(`${s.id} applies (${index}, term ${term}) but term ${committed} was committed there`);
    }
    const key =
      `${term}|${e.kind}|${e.sessionId}|${e.cxid}|${e.op}|${e.time}|${hashBytes(0x811c9dc5, e.body)}|` +
      `${result.err}`;
    if (e.kind === EntryKind.request) {
      // A client's request takes effect once: a resent or re-proposed write applied twice would be a bug.
      const req = `${e.sessionId}:${e.cxid}`;
      const first = this.applied.get(req);
      if (first === undefined) {
        const version = result.reply !== null && result.reply.kind === 'stat' ? result.reply.stat.version : -1;
        this.applied.set(req, { index, time: this.now, err: result.err, version });
      } else if (first.index !== index) {
        this.fail(`request ${describeTxn(e)} applied at ${first.index} and again at ${index}`);
      }
    }
    const prior = this.appliedKey[index];
    if (prior === undefined) this.appliedKey[index] = key;
    else if (prior !== key)
      this.fail(`state machine safety: ${s.id} applies ${describeTxn(e)} at ${index}, others applied ${prior}`);
    const digest = stateDigest(peer.sm);
    const known = this.stateAt[index];
    if (known === undefined) this.stateAt[index] = digest;
    else if (known !== digest) this.fail(`state machine on ${s.id} diverges at ${index}: ${describeTree(peer.sm)}`);
  }

  /** /zookeeper/config, replicated through the log, names every member with the role Raft gives it. */
  private checkConfigText(s: SimServer, peer: QuorumPeer, conf: ConfState, index: number, what: string): void {
    const text = utf8.decode(peer.sm.tree.get(CONFIG_PATH)?.data ?? new Uint8Array(0));
    const roles = new Map<number, string>();
    for (const raw of text.split('\n')) {
      const m = /^server\.(\d+)=.*:(participant|observer)(?:;|$)/.exec(raw.trim());
      if (m) roles.set(Number(m[1]), m[2]!);
    }
    const want = new Map<number, string>();
    for (const id of conf.voters) want.set(id, 'participant');
    for (const id of conf.learners) want.set(id, 'observer');
    const same = roles.size === want.size && [...want].every(([id, role]) => roles.get(id) === role);
    if (!same) {
      this.fail(
        `${s.id} applied ${what} at ${index}: /zookeeper/config says ${JSON.stringify(text)}, Raft says voters ${conf.voters} learners ${conf.learners}`,
      );
    }
  }

  private checkRestored(s: SimServer, sm: StateMachine, index: number, how: string): void {
    if (sm.lastZxid % TWO32 !== index) {
      this.fail(`${s.id}: ${how} at ${index} holds a tree at zxid index ${sm.lastZxid % TWO32}`);
    }
    const known = this.stateAt[index];
    const digest = stateDigest(sm);
    if (known === undefined) this.fail(`${s.id}: ${how} at ${index} holds a state no server applied`);
    if (known !== digest) this.fail(`${s.id}: ${how} at ${index} differs from the applied state: ${describeTree(sm)}`);
  }

  /** After every event: leaders, commits, leader completeness. */
  private checkServers(): void {
    for (const s of this.servers.values()) {
      const peer = s.peer;
      if (peer === null) continue;
      const st = peer.node.status();
      if (st.term > this.stats.maxTerm) this.stats.maxTerm = st.term;
      const key = st.conf.voters.join(',');
      if (!this.voterSets.has(key)) {
        this.voterSets.set(key, st.conf.voters);
        this.log(() => `voter set {${key}} in force on ${s.id}`);
      }
      if (st.role === 'leader') {
        const other = this.leaderOf.get(st.term);
        if (other === undefined) {
          this.leaderOf.set(st.term, s.id);
          this.stats.elections++;
          this.log(() => `${s.id} leads term ${st.term}`);
        } else if (other !== s.id) {
          this.fail(`two leaders in term ${st.term}: ${other} and ${s.id}`);
        }
        if (s.leaderTermChecked !== st.term) {
          s.leaderTermChecked = st.term;
          this.checkLeaderCompleteness(s, st);
        }
      }
      this.checkCommits(s, st);
    }
  }

  /** Records what the server knows committed; committed entries never change. */
  private checkCommits(s: SimServer, st: Status): void {
    if (st.commit <= s.commitSeen) return;
    const peer = s.peer!;
    for (let i = Math.max(s.commitSeen + 1, st.firstIndex - 1); i <= st.commit; i++) {
      const t = peer.node.logTerm(i);
      if (t === undefined) this.fail(`${s.id} has commit ${st.commit} but no term at ${i}`);
      const known = this.committedTerm[i];
      if (known === undefined) this.newlyCommitted(s, st, i, t);
      else if (known !== t) this.fail(`committed entry ${i} changed from term ${known} to ${t} on ${s.id}`);
    }
    s.commitSeen = st.commit;
  }

  private newlyCommitted(s: SimServer, st: Status, i: number, t: number): void {
    this.committedTerm[i] = t;
    this.commitTermOf[i] = st.term;
    if (i > this.maxCommitted) this.maxCommitted = i;
    this.stats.committed = this.maxCommitted;
    if (st.role !== 'leader') return;
    // What a leader commits is on the disks of a majority of the voters.
    let durable = 0;
    for (const v of st.conf.voters) if (this.servers.get(v)?.disk.holds(i, t)) durable++;
    if (durable < Math.floor(st.conf.voters.length / 2) + 1) {
      this.fail(`${s.id} committed (${i}, term ${t}) durable on only ${durable} of voters ${st.conf.voters}`);
    }
    // Leader completeness for leaders already elected in later terms.
    for (const other of this.servers.values()) {
      if (other === s || other.peer === null) continue;
      const os = other.peer.node.status();
      if (os.role === 'leader' && os.term > st.term) this.requireEntry(other, os, i, t);
    }
  }

  private checkLeaderCompleteness(s: SimServer, st: Status): void {
    for (let i = Math.max(1, st.firstIndex - 1); i <= this.maxCommitted; i++) {
      const t = this.committedTerm[i];
      if (t !== undefined && (this.commitTermOf[i] ?? Infinity) < st.term) this.requireEntry(s, st, i, t);
    }
  }

  private requireEntry(s: SimServer, st: Status, i: number, t: number): void {
    if (i < st.firstIndex - 1) return; // inside its snapshot, built from committed entries
    const have = s.peer!.node.logTerm(i);
    if (have !== t)
      this.fail(`leader completeness: ${s.id} (term ${st.term}) has term ${have} at committed ${i} (term ${t})`);
  }

  // ---------------------------------------------------------------- the end

  private clientDoneSettling(c: SimClient): boolean {
    return c.session === 'ready' && c.lastOkWrite > this.healedAt && c.lastOkRead > this.healedAt;
  }

  private serverVerified(id: number): boolean {
    return this.servedWrite.has(id) && this.servedRead.has(id);
  }

  private serversVerified(): boolean {
    for (const id of this.servers.keys()) if (!this.serverVerified(id)) return false;
    return true;
  }

  /** The client's server until it has served; then the next one that has not. */
  private healingTarget(c: SimClient): number {
    const ids = [...this.servers.keys()];
    const at = ids.indexOf(c.server);
    for (let k = 0; k < ids.length; k++) {
      const id = ids[(at + k) % ids.length]!;
      if (!this.serverVerified(id)) return id;
    }
    return c.server;
  }

  /**
   * Heal everything and restart every server, then require that every
   * client gets a write and a read through, and that all servers catch up.
   */
  private settle(): void {
    this.healing = true;
    this.healedAt = this.now;
    this.log(() => 'heal everything');
    this.blocked.clear();
    this.lossBurstUntil = -1;
    this.params.dropRate = 0;
    this.params.dupRate = 0;
    this.params.linkBreakRate = 0;
    this.params.snapFailRate = 0;
    for (const s of this.servers.values()) {
      s.slowDiskUntil = 0;
      if (!s.up) this.guard(`restart of ${s.id}`, () => this.start(s));
    }
    for (const c of this.clients) if (c.op === null) this.wake(c, 1);
    const deadline = this.now + this.params.settleTime;
    let clientsDone = -1;
    while (this.now < deadline) {
      this.now++;
      this.drain();
      if (clientsDone < 0) {
        if (!this.serversVerified() || !this.clients.every((c) => this.clientDoneSettling(c))) continue;
        clientsDone = this.now;
        this.stats.recovery = this.now - this.healedAt;
      }
      if (this.clients.some((c) => c.op !== null)) continue;
      if (this.admin !== null && !this.admin.settled) continue;
      if (this.converged()) return;
    }
    const states = [...this.servers.values()].map(
      (s) => `${s.id}: ${s.peer ? statusLine(s.peer.node.status()) : 'down'} sm=${s.peer?.appliedIndex}`,
    );
    const stuck = this.clients.filter((c) => !this.clientDoneSettling(c)).map((c) => c.id);
    const unserved = [...this.servers.keys()].filter((id) => !this.serverVerified(id));
    const what =
      clientsDone < 0
        ? `servers ${unserved.join(',') || 'all ok'} (write: ${[...this.servedWrite].join(',')}; read: ${[...this.servedRead].join(',')}) ` +
          `and clients ${stuck.join(',') || 'all ok'} got no write and read through`
        : 'servers did not catch up';
    this.fail(`liveness: ${what} within ${this.params.settleTime} time units of healing; ${states.join('; ')}`);
  }

  private converged(): boolean {
    const leader = this.leader();
    if (leader === undefined) return false;
    const ls = leader.peer!.node.status();
    if (ls.commit !== ls.lastIndex) return false;
    for (const s of this.servers.values()) {
      if (s.peer === null || s.persisting.length > 0) return false;
      if (s.peer.appliedIndex !== ls.commit) return false;
    }
    return true;
  }

  private checkConvergence(): void {
    let first: { id: number; digest: string; sm: StateMachine } | undefined;
    for (const s of this.servers.values()) {
      const sm = s.peer!.sm;
      const digest = stateDigest(sm);
      if (first === undefined) first = { id: s.id, digest, sm };
      else if (digest !== first.digest) {
        this.fail(
          `servers ${first.id} and ${s.id} did not converge:\n  ${first.id}: ${describeTree(first.sm)}\n  ${s.id}: ${describeTree(sm)}`,
        );
      }
    }
  }

  /**
   * The client history, with each write whose outcome its client never
   * learned resolved from what the servers applied: one that no server
   * applied had no effect anywhere (left out), one that was applied gets its
   * result and, as its return, the moment the first server applied it (it
   * committed before). Every write then has a known outcome, which makes the
   * check both stronger and far cheaper than searching over unknowns.
   */
  private resolvedHistory(): ZnodeOperation[] {
    const out: ZnodeOperation[] = [];
    this.history.history().forEach((op, handle) => {
      if (op.output !== UNKNOWN || op.input.op === 'getData') {
        out.push(op);
        return;
      }
      const req = this.requestOf.get(handle);
      const applied = req === undefined ? undefined : this.applied.get(req);
      if (applied === undefined) {
        this.stats.neverApplied++;
        return;
      }
      if (applied.time < op.callTime) this.fail(`request ${req} was applied at t=${applied.time}, before it was made`);
      this.stats.resolved++;
      out.push({ ...op, returnTime: applied.time, output: znodeOutput(op.input, applied.err, applied.version) });
    });
    return out;
  }

  private checkLinearizability(): void {
    const history = this.resolvedHistory();
    this.stats.historyOps = history.length;
    const result = checkZnodeHistory(history, { maxSteps: this.params.checkBudget });
    this.stats.checkSteps = result.steps;
    if (result.result === 'illegal') this.fail(`client history is not linearizable:\n${result.text}`);
    this.stats.linearizable = result.result === 'ok' ? 'ok' : 'budget';
  }
}

// ---------------------------------------------------------------- helpers

/** A new ensemble's first log, as RaftReplica bootstraps it: one membership change per server, with its line. */
function bootstrapLog(conf: ConfState): RaftEntry[] {
  const ids = [...conf.voters, ...conf.learners];
  return ids.map((id, k) => {
    const role = conf.voters.includes(id) ? 'participant' : 'observer';
    const line = `server.${id}=127.0.0.1:${2887 + id}:${3887 + id}:${role};127.0.0.1:${2180 + id}`;
    return {
      index: k + 1,
      term: 1,
      type: 'confChange' as const,
      data: encodeConfChange({
        type: role === 'participant' ? 'addNode' : 'addLearner',
        nodeId: id,
        context: encodeChangeContext({ origin: 0, incarnation: 0, seq: 0, last: false, line }),
      }),
    };
  });
}

function describeMsg(m: PeerMessage): string {
  switch (m.kind) {
    case PeerKind.raft: {
      const r = m.msg;
      let s = `${r.type} t${r.term}`;
      if (r.index !== undefined) s += ` i${r.index}`;
      if (r.logTerm !== undefined) s += ` lt${r.logTerm}`;
      if (r.entries !== undefined && r.entries.length > 0) s += ` n${r.entries.length}`;
      if (r.commit !== undefined) s += ` c${r.commit}`;
      if (r.reject === true) s += ` reject hint${r.rejectHint ?? ''}`;
      if (r.snapshot !== undefined) s += ` snap${r.snapshot.index}`;
      return s;
    }
    case PeerKind.forward:
      return `forward inc${m.write.incarnation} seq${m.write.seq} cxid${m.write.cxid}`;
    case PeerKind.forwardRejected:
      return `forwardRejected inc${m.incarnation} seq${m.seq}`;
    case PeerKind.touch:
      return `touch ${m.sessions.length}`;
    default:
      return `kind ${m.kind}`;
  }
}

/** What a znode write answers, from its apply result. */
function znodeOutput(input: ZnodeInput, err: number, version: number): ZnodeOutput {
  switch (err) {
    case Err.OK:
      return input.op === 'setData' ? { ok: true, version } : 'ok';
    case Err.NONODE:
      return 'NONODE';
    case Err.NODEEXISTS:
      return 'NODEEXISTS';
    case Err.BADVERSION:
      return 'BADVERSION';
    default:
      throw new Error(`${JSON.stringify(input)} failed with unexpected error ${err}`);
  }
}

function describeTxn(e: TxnEntry): string {
  return `{kind ${e.kind}, zxid ${Math.floor(e.zxid / TWO32)}:${e.zxid % TWO32}, session ${e.sessionId}, cxid ${e.cxid}, op ${e.op}}`;
}

/** Runs one seed; on failure, runs it again with a trace and appends the last events. */
export function runEnsembleSeed(params: EnsembleSimParams, traceLines = 80): EnsembleSimStats {
  try {
    return new EnsembleSim(params).run();
  } catch (err) {
    if (!(err instanceof EnsembleSimFailure)) throw err;
    const traced = new EnsembleSim(params, { trace: true, traceLines: Math.max(traceLines, 400) });
    try {
      traced.run();
      err.message += '\n(the traced replay passed: nondeterminism in the simulator!)';
    } catch (again) {
      if (again instanceof EnsembleSimFailure && again.message === err.message) {
        err.message += `\n--- last events of the replay ---\n${traced.traceTail(traceLines)}`;
      } else {
        err.message += `\n(the traced replay failed differently: ${(again as Error).message.split('\n')[0]})`;
      }
    }
    throw err;
  }
}
