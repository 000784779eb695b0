// The ensemble member's replica: a QuorumPeer given a real disk (RaftDisk),
// real links to the other servers (PeerTransport) and a timer for its clock.
// It offers the server the same surface as the standalone Replica, plus
// what only an ensemble has: sync, session pings for the leader, a role.
import { randomInt } from 'node:crypto';
import { JuteWriter } from '../jute/buffer.js';
import {
  encodeConfChange,
  type ConfChange,
  type ConfState,
  type Entry as RaftEntry,
  type Message,
  type Ready,
  type Role,
  type Snapshot,
} from '../raft/index.js';
import { formatServerSpec, parseServerSpec, type ServerSpec } from '../server/config.js';
import { CONFIG_PATH } from '../tree/datatree.js';
import { configLines, encodeChangeContext } from './membership.js';
import type { Applied, ReplicaOptions } from '../server/replica.js';
import { PeerTransport, type PeerAddress } from '../server/transport.js';
import { deserializeState } from '../txn/snapshot.js';
import { StateMachine } from '../txn/state.js';
import { RaftDisk, snapshotToken, tokenIndex } from './disk.js';
import { QuorumPeer, type FailReason } from './peer.js';
import {
  PeerKind,
  decodePeerMessage,
  encodePeerMessage,
  type MemberChange,
  type PeerMessage,
  type SessionTouch,
} from './wire.js';

export interface EnsembleOptions extends ReplicaOptions {
  myId: number;
  servers: readonly ServerSpec[];
  heartbeatMs: number;
  electionTimeoutMs: number;
  joinExisting: boolean;
  /** Peers reached somewhere other than their server line's address. */
  dial?: ReadonlyMap<number, PeerAddress>;
}

/** Snapshots travel to followers in pieces this size, so one never blocks a link for long. */
const SNAP_CHUNK = 1024 * 1024;

interface Assembly {
  head: Message;
  total: number;
  parts: Uint8Array[];
  received: number;
}

export class RaftReplica {
  peer!: QuorumPeer;
  private disk: RaftDisk;
  private transport: PeerTransport;
  private timer: NodeJS.Timeout | null = null;
  private readonly w = new JuteWriter(64 * 1024);
  private readonly assemblies = new Map<number, Assembly>();
  private closed = false;
  private fatal = false;
  private held = false;
  onApply: Applied = () => {};
  onFatal: (err: Error) => void = () => {};
  onLeaderChange: (lead: number, role: Role, term: number) => void = () => {};
  onTouch: (sessions: readonly SessionTouch[]) => void = () => {};
  onRestore: () => void = () => {};
  onConfChange: (cc: ConfChange, conf: ConfState) => void = () => {};
  stats = { fsyncs: 0, entries: 0, lastBatch: 0 };

  constructor(readonly opts: EnsembleOptions) {
    this.disk = new RaftDisk({
      dataDir: opts.dataDir,
      dataLogDir: opts.dataLogDir,
      forceSync: opts.forceSync,
      ...(opts.walSegmentBytes ? { walSegmentBytes: opts.walSegmentBytes } : {}),
      ...(opts.walInlineWriteMs !== undefined ? { walInlineWriteMs: opts.walInlineWriteMs } : {}),
      ...(opts.fsyncTime ? { fsyncTime: opts.fsyncTime } : {}),
      log: opts.log,
    });
    const me = opts.servers.find((s) => s.id === opts.myId)!;
    this.transport = new PeerTransport({
      id: opts.myId,
      listenHost: me.host,
      listenPort: me.peerPort,
      peers: this.addresses(opts.servers),
      onMessage: (from, payload) => this.onMessage(from, payload),
      onPeerDown: (id) => this.peer.peerUnreachable(id),
      onPeerUp: (id) => this.peer.peerReachable(id),
      batch: (run) => {
        this.holdForTurn();
        run();
      },
      log: opts.log,
    });
  }

  /**
   * Holds the peer's Raft work until the end of this event-loop turn (the
   * check phase), so that everything the turn's socket reads brought in,
   * from clients and from peers, goes into one Ready: one WAL write and
   * fdatasync, one append per follower. The peer transport flushes in the
   * same phase, after this.
   */
  holdForTurn(): void {
    if (this.held || this.closed) return;
    this.held = true;
    this.peer.hold();
    setImmediate(() => {
      this.held = false;
      this.peer.release();
    });
  }

  get transportStats(): Readonly<PeerTransport['stats']> {
    return this.transport.stats;
  }

  get sm(): StateMachine {
    return this.peer.sm;
  }

  async open(): Promise<{ snapshotIndex: number; replayed: number }> {
    const loaded = await this.disk.open(this.opts.joinExisting ? null : bootstrapMembers(this.opts.servers));
    const sm = loaded.snapshotState
      ? deserializeState(loaded.snapshotState, this.opts.state)
      : new StateMachine(this.opts.state);
    const snapIndex = loaded.storage.snapshot().index;
    // The membership changes of the first log are logged as they apply.
    if (loaded.bootstrapped) this.opts.log(`new ensemble member ${this.opts.myId}: starting from the server lines`);
    const electionTick = Math.max(2, Math.round(this.opts.electionTimeoutMs / this.opts.heartbeatMs));
    this.peer = new QuorumPeer({
      id: this.opts.myId,
      raft: {
        electionTick,
        heartbeatTick: 1,
        preVote: true,
        checkQuorum: true,
        maxSizePerMsg: 1024 * 1024,
        maxInflightMsgs: 256,
        rng: Math.random,
      },
      storage: loaded.storage,
      state: this.opts.state,
      sm,
      incarnation: randomInt(1, 0x7fffffff),
      now: this.opts.now,
      snapCount: this.opts.snapCount,
      requestTimeoutTicks: electionTick * 4,
      log: this.opts.log,
    });
    this.peer.onApply = (r, e) => {
      this.stats.entries++;
      this.onApply(r, e);
    };
    this.peer.onLeaderChange = (lead, role, term) => {
      this.opts.log(`${role}${lead !== 0 && role !== 'leader' ? ` of leader ${lead}` : ''} in term ${term}`);
      this.onLeaderChange(lead, role, term);
    };
    this.peer.onTouch = (_from, sessions) => this.onTouch(sessions);
    this.peer.onRestore = () => this.onRestore();
    this.peer.onConfChange = (cc, conf) => {
      this.updatePeers();
      this.opts.log(`membership: ${describeConf(conf)} (${cc.type} ${cc.nodeId})`);
      if (cc.type === 'removeNode' && cc.nodeId === this.opts.myId) {
        this.opts.log('this server was removed from the ensemble; it no longer votes or serves writes');
      }
      this.onConfChange(cc, conf);
    };
    await this.transport.start();
    this.peer.start({
      persist: (rd, done) => this.persist(rd, done),
      send: (to, msg) => this.send(to, msg),
      snapshot: (index, term, conf, sm2, done) => {
        this.disk.writeSnapshot(index, term, conf, sm2).then(
          (file) => {
            this.opts.log(`snapshot ${file} written at index ${index}`);
            done(snapshotToken(index));
          },
          (err: Error) => {
            this.opts.log(`snapshot failed: ${err.message}`);
            done(null);
          },
        );
      },
      keepSnapshot: (s: Snapshot) => snapshotToken(s.index),
    });
    this.timer = setInterval(() => this.peer.tick(), this.opts.heartbeatMs);
    return { snapshotIndex: snapIndex, replayed: 0 };
  }

  private persist(rd: Ready, done: () => void): void {
    this.disk.persist(rd).then(
      () => {
        if (rd.mustSync || rd.entries.length > 0) {
          this.stats.fsyncs++;
          this.stats.lastBatch = rd.entries.length;
        }
        done();
      },
      (err: Error) => {
        if (this.closed) return;
        this.fatal = true;
        this.onFatal(err);
      },
    );
  }

  private send(to: number, msg: PeerMessage): boolean {
    if (this.closed) return false;
    if (msg.kind === PeerKind.raft && msg.msg.type === 'MsgSnap') {
      void this.sendSnapshot(to, msg.msg);
      return true;
    }
    const w = this.w;
    w.reset();
    encodePeerMessage(w, msg);
    return this.transport.send(to, w.toBuffer());
  }

  /** A MsgSnap carries a token; the snapshot file goes in pieces after it. */
  private async sendSnapshot(to: number, m: Message): Promise<void> {
    const index = tokenIndex(m.snapshot!.data);
    const data = index === null ? m.snapshot!.data : await this.disk.snapshotState(index).catch(() => null);
    if (data === null) {
      this.peer.snapshotSent(to, false);
      return;
    }
    const head: Message = { ...m, snapshot: { ...m.snapshot!, data: new Uint8Array(0) } };
    let ok = true;
    for (let off = 0; off < data.length || off === 0; off += SNAP_CHUNK) {
      const w = new JuteWriter(Math.min(SNAP_CHUNK, data.length - off) + 256);
      encodePeerMessage(w, {
        kind: PeerKind.snapChunk,
        head: off === 0 ? head : null,
        offset: off,
        total: data.length,
        data: data.subarray(off, off + SNAP_CHUNK),
      });
      if (!this.transport.send(to, w.toBuffer())) {
        ok = false;
        break;
      }
      // Let heartbeats and appends to others through between pieces.
      await new Promise((r) => setImmediate(r));
      if (data.length === 0) break;
    }
    this.opts.log(`snapshot at index ${m.snapshot!.index} (${data.length} bytes) ${ok ? 'sent' : 'not sent'} to ${to}`);
    this.peer.snapshotSent(to, ok);
  }

  private onMessage(from: number, payload: Buffer): void {
    if (this.closed || this.fatal) return;
    // Snapshot pieces are put back together here; everything else goes to the peer.
    if (payload.readInt32BE(0) === PeerKind.snapChunk) {
      this.onSnapChunk(from, payload);
      return;
    }
    this.peer.receive(from, payload);
  }

  private onSnapChunk(from: number, payload: Buffer): void {
    const m = decodeChunk(payload);
    if (m.head) {
      this.assemblies.set(from, { head: m.head, total: m.total, parts: [], received: 0 });
    }
    const a = this.assemblies.get(from);
    if (!a || m.offset !== a.received) {
      this.assemblies.delete(from);
      return;
    }
    a.parts.push(Buffer.from(m.data));
    a.received += m.data.length;
    if (a.received < a.total) return;
    this.assemblies.delete(from);
    const data = Buffer.concat(a.parts, a.total);
    const msg: Message = { ...a.head, snapshot: { ...a.head.snapshot!, data } };
    this.peer.receive(from, { kind: PeerKind.raft, msg });
  }

  /** The members' peer addresses as /zookeeper/config lists them; links follow membership. */
  private updatePeers(): void {
    const text = this.configText();
    const specs: ServerSpec[] = [];
    for (const [id, line] of configLines(text)) {
      try {
        specs.push(parseServerSpec(id, line.slice(line.indexOf('=') + 1), '/zookeeper/config'));
      } catch (err) {
        this.opts.log(`ignoring bad member line '${line}': ${(err as Error).message}`);
      }
    }
    if (specs.length > 0) this.transport.setPeers(this.addresses(specs));
  }

  private addresses(servers: readonly ServerSpec[]): Map<number, PeerAddress> {
    const out = peerAddresses(servers);
    for (const [id, addr] of this.opts.dial ?? []) if (out.has(id) && id !== this.opts.myId) out.set(id, addr);
    return out;
  }

  /** The text of /zookeeper/config. */
  configText(): string {
    return Buffer.from(this.sm.tree.get(CONFIG_PATH)?.data ?? new Uint8Array(0)).toString('utf8');
  }

  reconfigure(changes: readonly MemberChange[], done: Applied, fail: (reason: FailReason) => void): void {
    this.peer.reconfigure(changes, done, fail);
  }

  propose(
    kind: number,
    sessionId: bigint,
    cxid: number,
    op: number,
    body: Uint8Array,
    done: Applied | null,
    fail?: (reason: FailReason) => void,
  ): void {
    this.peer.propose(kind, sessionId, cxid, op, body, done, fail);
  }

  sync(done: () => void, fail: (reason: FailReason) => void): void {
    this.peer.sync(done, fail);
  }

  touch(sessions: readonly SessionTouch[]): void {
    this.peer.touch(sessions);
  }

  get role(): Role {
    return this.peer.role;
  }

  get lead(): number {
    return this.peer.lead;
  }

  /** Keeps the newest snapRetainCount snapshots and the log they need. */
  purge(): Promise<{ snapshots: string[]; logs: number }> {
    return this.disk.purge(this.opts.snapRetainCount);
  }

  get pending(): number {
    return this.peer.describe().pendingWrites;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.peer?.stop();
    await this.transport.stop();
    // Let a write in progress finish so nothing acknowledged is half-written.
    await this.disk.close();
  }
}

function decodeChunk(payload: Buffer): Extract<PeerMessage, { kind: typeof PeerKind.snapChunk }> {
  const m = decodePeerMessage(payload);
  if (m.kind !== PeerKind.snapChunk) throw new Error('not a snapshot piece');
  return m;
}

export function peerAddresses(servers: readonly ServerSpec[]): Map<number, PeerAddress> {
  return new Map(servers.map((s) => [s.id, { host: s.host, port: s.peerPort }]));
}

/** A new ensemble's first log: one membership change per server, with its line for /zookeeper/config. */
function bootstrapMembers(servers: readonly ServerSpec[]): RaftEntry[] {
  const ordered = [...servers.filter((s) => s.role === 'participant'), ...servers.filter((s) => s.role === 'observer')];
  return ordered.map((s, k) => ({
    index: k + 1,
    term: 1,
    type: 'confChange' as const,
    data: encodeConfChange({
      type: s.role === 'participant' ? 'addNode' : 'addLearner',
      nodeId: s.id,
      context: encodeChangeContext({ origin: 0, incarnation: 0, seq: 0, last: false, line: formatServerSpec(s) }),
    }),
  }));
}

function describeConf(c: ConfState): string {
  return `voters ${c.voters.join(',')}${c.learners.length > 0 ? `, observers ${c.learners.join(',')}` : ''}`;
}
