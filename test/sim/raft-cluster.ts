// A synchronous in-memory cluster for scripted Raft unit tests, in the spirit
// of etcd's raft_test.go `network`: every node's Ready is handled at once
// (persist, send, apply, advance), messages wait in one queue, and the test
// decides what is delivered, dropped or rewritten.

import {
  MemoryStorage,
  RaftNode,
  type ConfState,
  type Entry,
  type Message,
  type RaftConfig,
  type ReadState,
  type Ready,
  type Snapshot,
} from '../../src/raft/index.js';

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

/** A small seeded PRNG (mulberry32), so election jitter is reproducible. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface PeerOptions {
  electionTick?: number;
  heartbeatTick?: number;
  preVote?: boolean;
  checkQuorum?: boolean;
  maxInflightMsgs?: number;
  maxSizePerMsg?: number;
  maxUncommittedEntriesSize?: number;
  seed?: number;
}

export class TestPeer {
  node: RaftNode;
  /** Applied payloads by index (normal and confChange entries alike). */
  applied = new Map<number, Entry>();
  appliedIndex: number;
  readStates: ReadState[] = [];
  readonly options: PeerOptions;

  constructor(
    readonly id: number,
    readonly storage: MemoryStorage,
    options: PeerOptions,
  ) {
    this.options = options;
    this.node = RaftNode.create(this.config(), storage);
    this.appliedIndex = storage.snapshot().index;
    this.restoreFrom(storage.snapshot());
  }

  config(): RaftConfig {
    const o = this.options;
    return {
      id: this.id,
      electionTick: o.electionTick ?? 10,
      heartbeatTick: o.heartbeatTick ?? 1,
      preVote: o.preVote ?? false,
      checkQuorum: o.checkQuorum ?? false,
      ...(o.maxInflightMsgs !== undefined ? { maxInflightMsgs: o.maxInflightMsgs } : {}),
      ...(o.maxSizePerMsg !== undefined ? { maxSizePerMsg: o.maxSizePerMsg } : {}),
      ...(o.maxUncommittedEntriesSize !== undefined ? { maxUncommittedEntriesSize: o.maxUncommittedEntriesSize } : {}),
      rng: mulberry32((o.seed ?? 1) * 7919 + this.id),
    };
  }

  /** The state machine is the map of applied entries; a snapshot carries it as JSON. */
  snapshotData(): Uint8Array {
    const rows: [number, number, string, string][] = [];
    for (const [i, e] of this.applied) rows.push([i, e.term, e.type, dec(e.data)]);
    return enc(JSON.stringify(rows));
  }

  restoreFrom(s: Snapshot): void {
    this.applied = new Map();
    if (s.data.length > 0) {
      for (const [i, term, type, data] of JSON.parse(dec(s.data)) as [number, number, string, string][]) {
        this.applied.set(i, { index: i, term, type: type as Entry['type'], data: enc(data) });
      }
    }
    this.appliedIndex = s.index;
  }

  /** Crash and come back from storage. */
  restart(): void {
    this.node = RaftNode.create(this.config(), this.storage);
    this.restoreFrom(this.storage.snapshot());
  }

  /** Values applied so far, in order, without empty (leader no-op) entries. */
  values(): string[] {
    const out: string[] = [];
    for (const [, e] of [...this.applied].sort((a, b) => a[0] - b[0])) {
      if (e.type === 'normal' && e.data.length > 0) out.push(dec(e.data));
    }
    return out;
  }
}

export class TestCluster {
  readonly peers = new Map<number, TestPeer>();
  queue: Message[] = [];
  /** Directed links that drop everything: `${from}->${to}`. */
  readonly cut = new Set<string>();
  readonly down = new Set<number>();
  readonly delivered: Message[] = [];
  readonly options: PeerOptions;
  /** Log entries the bootstrap wrote (one per initial member): the first free index is base + 1. */
  readonly base: number;

  constructor(voters: number[], options: PeerOptions = {}, learners: number[] = []) {
    this.options = options;
    const conf: ConfState = { voters, learners };
    for (const id of [...voters, ...learners])
      this.peers.set(id, new TestPeer(id, MemoryStorage.bootstrap(conf), options));
    this.base = voters.length + learners.length;
  }

  peer(id: number): TestPeer {
    const p = this.peers.get(id);
    if (p === undefined) throw new Error(`no peer ${id}`);
    return p;
  }

  node(id: number): RaftNode {
    return this.peer(id).node;
  }

  /** Adds a node with its own storage (empty: a new member; prefilled: a crafted state). */
  addPeer(id: number, storage = new MemoryStorage(), options: PeerOptions = this.options): TestPeer {
    const p = new TestPeer(id, storage, options);
    this.peers.set(id, p);
    return p;
  }

  leader(): number {
    let lead = 0;
    for (const [id, p] of this.peers) {
      if (this.down.has(id)) continue;
      const s = p.node.status();
      if (s.role === 'leader' && (lead === 0 || s.term > this.node(lead).status().term)) lead = id;
    }
    return lead;
  }

  /** Handle one Ready on `id`, if it has one. Returns whether it did. */
  processReady(id: number): boolean {
    const p = this.peer(id);
    if (this.down.has(id) || !p.node.hasReady()) return false;
    const rd: Ready = p.node.ready();
    if (rd.snapshot !== undefined) {
      p.storage.applySnapshot(rd.snapshot);
      p.restoreFrom(rd.snapshot);
    }
    p.storage.append(rd.entries);
    if (rd.hardState !== undefined) p.storage.setHardState(rd.hardState);
    this.queue.push(...rd.messages);
    for (const e of rd.committedEntries) {
      if (e.index !== p.appliedIndex + 1) throw new Error(`${id} applies ${e.index} after ${p.appliedIndex}`);
      p.applied.set(e.index, e);
      p.appliedIndex = e.index;
    }
    p.readStates.push(...rd.readStates);
    p.node.advance();
    return true;
  }

  processAllReady(): boolean {
    let any = false;
    for (const id of this.peers.keys()) while (this.processReady(id)) any = true;
    return any;
  }

  /** Take the queued messages, leaving the queue empty. */
  take(filter: (m: Message) => boolean = () => true): Message[] {
    this.processAllReady();
    const out = this.queue.filter(filter);
    this.queue = this.queue.filter((m) => !filter(m));
    return out;
  }

  deliver(m: Message): void {
    if (this.down.has(m.to) || this.cut.has(`${m.from}->${m.to}`) || !this.peers.has(m.to)) return;
    this.delivered.push(m);
    this.peer(m.to).node.step(m);
  }

  /**
   * Deliver until quiet. `rewrite` may drop (return undefined) or alter a
   * message on its way.
   */
  stabilize(rewrite: (m: Message) => Message | undefined = (m) => m, maxRounds = 1000): void {
    for (let round = 0; round < maxRounds; round++) {
      this.processAllReady();
      if (this.queue.length === 0) return;
      const batch = this.queue;
      this.queue = [];
      for (const m of batch) {
        const out = rewrite(m);
        if (out !== undefined) this.deliver(out);
      }
    }
    throw new Error(`cluster did not stabilize in ${maxRounds} rounds`);
  }

  tick(id: number, n = 1): void {
    for (let i = 0; i < n; i++) if (!this.down.has(id)) this.node(id).tick();
  }

  tickAll(n = 1): void {
    for (let i = 0; i < n; i++) for (const id of this.peers.keys()) this.tick(id);
  }

  /** Ticks everyone (and delivers) until `cond` holds. */
  runUntil(cond: () => boolean, maxTicks = 1000): void {
    for (let t = 0; t < maxTicks; t++) {
      this.stabilize();
      if (cond()) return;
      this.tickAll();
    }
    this.stabilize();
    if (!cond()) throw new Error(`condition not reached in ${maxTicks} ticks`);
  }

  campaign(id: number): void {
    this.node(id).campaign();
    this.stabilize();
  }

  propose(id: number, value: string): ReturnType<RaftNode['propose']> {
    const r = this.node(id).propose(enc(value));
    this.stabilize();
    return r;
  }

  isolate(id: number): void {
    for (const other of this.peers.keys()) {
      if (other === id) continue;
      this.cut.add(`${id}->${other}`);
      this.cut.add(`${other}->${id}`);
    }
  }

  heal(): void {
    this.cut.clear();
  }

  crash(id: number): void {
    this.down.add(id);
  }

  restart(id: number): void {
    this.down.delete(id);
    this.peer(id).restart();
  }
}

/** Entries for crafting a log: terms[k] is the term of index k + 1. */
export function entriesWithTerms(terms: number[], from = 1): Entry[] {
  return terms.map((term, k) => ({
    index: from + k,
    term,
    type: 'normal' as const,
    data: enc(`i${from + k}t${term}`),
  }));
}

/** A storage holding a crafted log and hard state. */
export function craftedStorage(conf: ConfState, terms: number[], term: number, vote = 0, commit = 0): MemoryStorage {
  const s = new MemoryStorage(conf);
  s.append(entriesWithTerms(terms));
  s.setHardState({ term, vote, commit });
  return s;
}
