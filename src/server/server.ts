// The standalone server: accepts client connections, runs each request through
// the session's FIFO queue, sends writes to the replica and answers reads from
// the applied tree.
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { monitorEventLoopDelay, performance, type IntervalHistogram } from 'node:perf_hooks';
import { JuteReader, JuteWriter, DecodeError } from '../jute/buffer.js';
import { Err, EventType, KeeperState, OpCode, Xid } from '../jute/constants.js';
import {
  readConnectRequest,
  readRequest,
  UnknownOpcodeError,
  writeConnectResponse,
  writeStat,
  type ReconfigRequest,
  type Request,
} from '../jute/records.js';
import { writeMultiHeader } from '../jute/replies.js';
import { WatchManager } from '../tree/watches.js';
import { EntryKind, encodeAuth, encodeCreateSession, encodePath, type Entry } from '../txn/entry.js';
import type { ApplyResult, Reply } from '../txn/state.js';
import { CONFIG_PATH, statOf, ttlOf } from '../tree/datatree.js';
import { aclPermits } from '../tree/acl.js';
import { Perms } from '../jute/constants.js';
import { applyConfChange, checkConfChange } from '../raft/index.js';
import { configVersion } from '../ensemble/membership.js';
import { memberChanges } from './reconfig.js';
import type { MemberChange } from '../ensemble/wire.js';
import type { ServerConfig } from './config.js';
import { Connection, type Pending } from './connection.js';
import { runFourLetterWord } from './fourletter.js';
import { answerRead, READ_OPS } from './reads.js';
import { Replica } from './replica.js';
import { RaftReplica } from '../ensemble/replica.js';
import type { SessionTouch } from '../ensemble/wire.js';
import { SessionTracker } from './sessions.js';
import { LatencyMetric } from '../base/metrics.js';

const WRITE_OPS = new Set<number>([
  OpCode.create,
  OpCode.create2,
  OpCode.createContainer,
  OpCode.createTTL,
  OpCode.delete,
  OpCode.setData,
  OpCode.setACL,
  OpCode.check,
  OpCode.multi,
]);

const OP_NAMES: Record<number, string> = {
  1: 'CREA',
  15: 'CREA',
  19: 'CREA',
  21: 'CREA',
  2: 'DELE',
  3: 'EXIS',
  4: 'GETD',
  5: 'SETD',
  6: 'GETA',
  7: 'SETA',
  8: 'GETC',
  12: 'GETC',
  9: 'SYNC',
  11: 'PING',
  13: 'CHEC',
  14: 'MULT',
  22: 'MLTR',
  16: 'RECO',
  17: 'CHKW',
  18: 'REMW',
  100: 'AUTH',
  101: 'SETW',
  105: 'STW2',
  103: 'GETE',
  104: 'GETACN',
  106: 'ADDW',
  107: 'HOMI',
  [-11]: 'CLOS',
};

export interface ServerStats {
  packetsReceived: number;
  packetsSent: number;
  minLatency: number;
  maxLatency: number;
  totalLatency: number;
  count: number;
  started: number;
}

export class SynodServer {
  readonly replica: Replica | RaftReplica;
  /** Set when this server is a member of an ensemble (server.N lines). */
  readonly ensemble: RaftReplica | null;
  /** Sessions heard from since the last ping to the leader (followers only), with their negotiated timeouts. */
  private readonly touched = new Map<bigint, number>();
  /** Requests that start only when they reach the head of their connection's queue (reconfig). */
  private readonly deferred = new WeakMap<Pending, () => void>();
  private leaderlessTimer: NodeJS.Timeout | null = null;
  readonly watches = new WatchManager();
  readonly connections = new Map<number, Connection>();
  private readonly bySession = new Map<bigint, Connection>();
  private readonly perIp = new Map<string, number>();
  readonly tracker: SessionTracker;
  private server: Server | null = null;
  private nextConnId = 1;
  private outstanding = 0;
  private readonly paused = new Set<Connection>();
  private timers: NodeJS.Timeout[] = [];
  private readonly w = new JuteWriter(4096);
  readonly stats: ServerStats;
  /** How late the event loop ran timers (ns): every request waits behind the longest turn. */
  readonly loopDelay: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  /** ZooKeeper's updatelatency and readlatency: from a request's arrival here to its reply. */
  readonly updateLatency = new LatencyMetric('updatelatency');
  readonly readLatency = new LatencyMetric('readlatency');
  readonly fsyncTime = new LatencyMetric('fsynctime');
  private stopping = false;
  port = 0;

  constructor(
    readonly config: ServerConfig,
    readonly log: (msg: string) => void = (m) => process.stderr.write(`${new Date().toISOString()} ${m}\n`),
  ) {
    const replicaOptions = {
      dataDir: config.dataDir,
      dataLogDir: config.dataLogDir,
      forceSync: config.forceSync,
      walInlineWriteMs: config.walInlineWriteMs,
      fsyncTime: this.fsyncTime,
      snapCount: config.snapCount,
      snapRetainCount: config.autopurgeSnapRetainCount,
      state: {
        extendedTypes: config.extendedTypesEnabled,
        maxDataBytes: config.juteMaxBuffer,
        enforceQuota: config.enforceQuota,
      },
      now: () => Date.now(),
      log,
    };
    if (config.servers.length > 0) {
      this.ensemble = new RaftReplica({
        ...replicaOptions,
        myId: config.myId,
        servers: config.servers,
        heartbeatMs: config.heartbeatMs,
        electionTimeoutMs: config.electionTimeoutMs,
        joinExisting: config.joinExisting,
        dial: config.dial,
      });
      this.replica = this.ensemble;
    } else {
      this.ensemble = null;
      this.replica = new Replica(replicaOptions);
    }
    this.tracker = new SessionTracker(config.myId, Date.now());
    this.stats = {
      packetsReceived: 0,
      packetsSent: 0,
      minLatency: Number.MAX_SAFE_INTEGER,
      maxLatency: 0,
      totalLatency: 0,
      count: 0,
      started: Date.now(),
    };
  }

  get sm() {
    return this.replica.sm;
  }

  async start(): Promise<void> {
    this.loopDelay.enable();
    const { snapshotIndex, replayed } = await this.replica.open();
    this.log(
      `recovered: snapshot index ${snapshotIndex}, ${replayed} log entries replayed, ${this.sm.tree.size} znodes, ${this.sm.sessions.size} sessions, zxid 0x${this.sm.lastZxid.toString(16)}`,
    );
    this.replica.onApply = (r, e) => this.afterApply(r, e);
    if (this.ensemble) this.wireEnsemble(this.ensemble);
    this.replica.onFatal = (err) => {
      this.log(`FATAL: storage failed, stopping so nothing undurable is acknowledged: ${err.message}`);
      process.exit(70);
    };
    // Every recovered session gets a fresh timeout, as a new ZooKeeper leader gives.
    const now = Date.now();
    for (const s of this.sm.sessions.values()) this.tracker.track(s.id, s.timeout, now);
    const tick = Math.max(10, Math.min(this.config.tickTime, 1000));
    this.timers.push(setInterval(() => this.expireSessions(), tick));
    if (this.ensemble) {
      // ZooKeeper's learners ping the leader with their sessions every half tick.
      this.timers.push(setInterval(() => this.pingLeader(), Math.max(10, Math.floor(this.config.tickTime / 2))));
    }
    if (this.config.containerCheckIntervalMs > 0) {
      this.timers.push(setInterval(() => this.checkContainers(), this.config.containerCheckIntervalMs));
    }
    if (this.config.autopurgePurgeInterval > 0) {
      this.timers.push(
        setInterval(
          () =>
            void this.replica.purge().then(
              (r) => this.log(`autopurge removed ${r.snapshots.length} snapshots, ${r.logs} log segments`),
              (e: Error) => this.log(`autopurge failed: ${e.message}`),
            ),
          this.config.autopurgePurgeInterval * 3600_000,
        ),
      );
    }
    for (const t of this.timers) t.unref();
    await new Promise<void>((resolve, reject) => {
      const srv = createServer({ noDelay: true }, (sock) => this.accept(sock));
      srv.once('error', reject);
      srv.listen(this.config.clientPort, this.config.clientPortAddress, () => {
        srv.off('error', reject);
        const addr = srv.address();
        this.port = typeof addr === 'object' && addr ? addr.port : this.config.clientPort;
        resolve();
      });
      this.server = srv;
    });
    this.log(`serving on ${this.config.clientPortAddress}:${this.port}, data in ${this.config.dataDir}`);
  }

  private wireEnsemble(e: RaftReplica): void {
    e.onLeaderChange = (lead, role) => {
      if (role === 'leader') {
        // A new leader cannot know when followers last heard from each
        // session: every session starts a fresh timeout, as in ZooKeeper.
        const now = Date.now();
        for (const s of this.tracker.all()) {
          s.deadline = now + s.timeout;
          s.closing = false;
        }
      }
      if (lead === 0) {
        // An election usually ends within a timeout: clients with nothing in
        // flight keep their connections through it. A server still without
        // a leader after that is cut off, and its clients should move.
        if (!this.leaderlessTimer) {
          this.leaderlessTimer = setTimeout(() => {
            this.leaderlessTimer = null;
            if (this.ensemble?.lead === 0) this.dropClients('no leader');
          }, this.config.electionTimeoutMs);
          this.leaderlessTimer.unref();
        }
      } else {
        if (this.leaderlessTimer) clearTimeout(this.leaderlessTimer);
        this.leaderlessTimer = null;
        this.dropReadOnlyClients();
      }
    };
    e.onTouch = (sessions) => {
      const now = Date.now();
      for (const t of sessions) {
        if (t.timeout > 0) this.tracker.setTimeout(t.id, t.timeout, now);
        else this.tracker.touch(t.id, now);
      }
    };
    e.onRestore = () => {
      // The tree jumped ahead without events: clients reconnect and their
      // watches are replayed against the new tree (setWatches).
      this.dropClients('state replaced by a snapshot from the leader');
      const now = Date.now();
      for (const s of this.sm.sessions.values()) {
        if (!this.tracker.get(s.id)) this.tracker.track(s.id, s.timeout, now);
      }
      for (const t of [...this.tracker.all()]) if (!this.sm.sessions.has(t.id)) this.tracker.remove(t.id);
    };
  }

  /** Closes every client connection (read-only ones stay when that mode is on). */
  private dropClients(why: string): void {
    let n = 0;
    for (const c of this.connections.values()) {
      if (!c.handshaken || (c.readOnly && this.config.readOnlyMode)) continue;
      c.close();
      n++;
    }
    if (n > 0) this.log(`closed ${n} client connections: ${why}`);
  }

  /** Back in a quorum: read-only clients reconnect and get read-write sessions. */
  private dropReadOnlyClients(): void {
    for (const c of this.connections.values()) {
      if (c.readOnly) {
        this.tracker.remove(c.sessionId);
        c.close();
      }
    }
  }

  /** Follower: tell the leader which sessions were heard from here. */
  private pingLeader(): void {
    const e = this.ensemble;
    if (!e || e.role === 'leader' || this.touched.size === 0) {
      this.touched.clear();
      return;
    }
    const sessions: SessionTouch[] = [];
    for (const [id, timeout] of this.touched) sessions.push({ id, timeout });
    this.touched.clear();
    e.touch(sessions);
  }

  /** True when this server can serve clients: standalone, or an ensemble member that knows a leader. */
  get serving(): boolean {
    return !this.ensemble || this.ensemble.lead !== 0;
  }

  /** leader, follower or observer (standalone without an ensemble); what srvr says. */
  get mode(): string {
    const e = this.ensemble;
    if (!e) return 'standalone';
    if (e.lead === 0) return this.config.readOnlyMode ? 'read-only' : 'looking';
    if (e.role === 'leader') return 'leader';
    return e.peer.conf.learners.includes(this.config.myId) ? 'observer' : 'follower';
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.loopDelay.disable();
    if (this.leaderlessTimer) clearTimeout(this.leaderlessTimer);
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    // Connections go first: server.close() waits for every open socket to end.
    for (const c of this.connections.values()) c.socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    await this.replica.close();
  }

  // ---- connections ----

  private accept(sock: Socket): void {
    const ip = sock.remoteAddress ?? '';
    const count = this.perIp.get(ip) ?? 0;
    if (this.config.maxClientCnxns > 0 && count >= this.config.maxClientCnxns) {
      this.log(`too many connections from ${ip}: max is ${this.config.maxClientCnxns}`);
      sock.destroy();
      return;
    }
    this.perIp.set(ip, count + 1);
    const conn = new Connection(this.nextConnId++, sock, ip, sock.remotePort ?? 0, Date.now());
    this.connections.set(conn.id, conn);
    const e = this.ensemble;
    // The writes of one event-loop turn go to the leader, or into its log, together.
    if (e) {
      sock.on('data', (data: Buffer) => {
        e.holdForTurn();
        this.onData(conn, data);
      });
    } else {
      sock.on('data', (data: Buffer) => this.onData(conn, data));
    }
    sock.on('error', () => {});
    sock.on('close', () => this.onClose(conn));
  }

  private onData(conn: Connection, data: Buffer): void {
    const problem = conn.take(
      data,
      this.config.juteMaxBuffer + 1024,
      (frame) => this.onFrame(conn, frame),
      (word) => this.onFourLetterWord(conn, word),
    );
    if (problem) {
      this.log(`closing connection from ${conn.remoteAddress}: ${problem}`);
      conn.close();
    }
  }

  private onFourLetterWord(conn: Connection, word: string): boolean {
    const out = runFourLetterWord(this, word);
    if (out === null) return false;
    conn.handshaken = true;
    conn.closed = true;
    conn.socket.end(out);
    return true;
  }

  private onClose(conn: Connection): void {
    if (!this.connections.delete(conn.id)) return;
    conn.closed = true;
    const n = (this.perIp.get(conn.remoteAddress) ?? 1) - 1;
    if (n <= 0) this.perIp.delete(conn.remoteAddress);
    else this.perIp.set(conn.remoteAddress, n);
    this.watches.removeWatcher(conn.id);
    if (conn.sessionId !== 0n && this.bySession.get(conn.sessionId) === conn) this.bySession.delete(conn.sessionId);
    // Replies still owed to a gone connection are dropped now, and counted out once.
    this.outstanding -= conn.queue.length;
    conn.queue.length = 0;
    this.paused.delete(conn);
    this.resumeIfBelowLimit();
  }

  private onFrame(conn: Connection, frame: Buffer): void {
    this.stats.packetsReceived++;
    try {
      if (!conn.handshaken) this.onConnect(conn, frame);
      else this.onRequest(conn, frame);
    } catch (err) {
      // A bad frame costs its own connection, never the server or another client.
      const detail =
        err instanceof DecodeError ? err.message : `internal error: ${(err as Error).stack ?? String(err)}`;
      this.log(`closing connection from ${conn.remoteAddress}: ${detail}`);
      conn.close();
    }
  }

  private onConnect(conn: Connection, frame: Buffer): void {
    const req = readConnectRequest(new JuteReader(frame));
    conn.handshaken = true;
    if (req.lastZxidSeen > this.sm.lastZxid) {
      // A client that has seen newer state must not be served an older view.
      this.log(
        `refusing session 0x${req.sessionId.toString(16)}: client saw zxid 0x${req.lastZxidSeen.toString(16)}, ours is 0x${this.sm.lastZxid.toString(16)}`,
      );
      conn.close();
      return;
    }
    const timeout = Math.min(Math.max(req.timeOut, this.config.minSessionTimeout), this.config.maxSessionTimeout);
    conn.sessionTimeout = timeout;
    if (!this.serving) {
      if (this.config.readOnlyMode && req.readOnly) {
        this.connectReadOnly(conn, req.sessionId, req.passwd, timeout);
        return;
      }
      // ZooKeeper's answer from a server that is not serving: close, so the client tries another.
      conn.close();
      return;
    }
    if (req.sessionId === 0n) {
      const id = this.tracker.newSessionId();
      const passwd = randomBytes(16);
      this.w.reset();
      encodeCreateSession(this.w, timeout, passwd, conn.remoteAddress);
      this.tracker.track(id, timeout, Date.now());
      conn.sessionId = id;
      conn.held = true;
      conn.socket.pause();
      this.outstanding++;
      let settled = false;
      const fail = (): void => {
        if (settled) return;
        settled = true;
        this.outstanding--;
        this.tracker.remove(id);
        conn.close();
      };
      this.replica.propose(
        EntryKind.createSession,
        id,
        0,
        OpCode.createSession,
        this.w.toBuffer(),
        (r) => {
          if (settled) return;
          settled = true;
          this.outstanding--;
          if (conn.closed) return;
          if (r.err !== 0) {
            this.sendConnectResponse(conn, 0, 0n, new Uint8Array(16));
            conn.close();
            return;
          }
          this.attach(conn, id);
          this.sendConnectResponse(conn, timeout, id, passwd);
          conn.held = false;
          conn.socket.resume();
          this.onData(conn, EMPTY_FRAME);
        },
        fail,
      );
      return;
    }
    const session = this.sm.sessions.get(req.sessionId);
    const tracked = this.tracker.get(req.sessionId);
    if (!session || !tracked || tracked.closing || !equalBytes(session.passwd, req.passwd)) {
      // ZooKeeper's answer to an unknown or expired session: timeout 0, then close.
      this.sendConnectResponse(conn, 0, 0n, new Uint8Array(16));
      conn.close();
      return;
    }
    const previous = this.bySession.get(req.sessionId);
    if (previous && previous !== conn) previous.close();
    conn.sessionId = req.sessionId;
    this.tracker.setTimeout(req.sessionId, timeout, Date.now());
    if (this.ensemble) this.touched.set(req.sessionId, timeout);
    this.attach(conn, req.sessionId);
    this.sendConnectResponse(conn, timeout, req.sessionId, session.passwd);
  }

  /**
   * A client that allows read-only service, on a server without a quorum: a
   * known session keeps its id; a new one gets a local id that no quorum
   * ever hears of (ZooKeeper's read-only server does the same).
   */
  private connectReadOnly(conn: Connection, sessionId: bigint, passwd: Uint8Array, timeout: number): void {
    conn.readOnly = true;
    let id = sessionId;
    let pw: Uint8Array = passwd;
    if (id === 0n) {
      id = this.tracker.newSessionId();
      pw = randomBytes(16);
    } else {
      const session = this.sm.sessions.get(id);
      if (!session || !equalBytes(session.passwd, passwd)) {
        this.sendConnectResponse(conn, 0, 0n, new Uint8Array(16));
        conn.close();
        return;
      }
    }
    if (!this.tracker.get(id)) this.tracker.track(id, timeout, Date.now());
    conn.sessionId = id;
    const previous = this.bySession.get(id);
    if (previous && previous !== conn) previous.close();
    this.attach(conn, id);
    this.sendConnectResponse(conn, timeout, id, pw, true);
  }

  private attach(conn: Connection, id: bigint): void {
    this.bySession.set(id, conn);
  }

  private sendConnectResponse(
    conn: Connection,
    timeOut: number,
    sessionId: bigint,
    passwd: Uint8Array,
    readOnly = false,
  ): void {
    const w = this.w;
    w.reset();
    const at = w.reserveLength();
    writeConnectResponse(w, { protocolVersion: 0, timeOut, sessionId, passwd, readOnly });
    w.patchLength(at);
    conn.send(w.toBuffer());
  }

  private onRequest(conn: Connection, frame: Buffer): void {
    const r = new JuteReader(frame);
    const xid = r.int();
    const op = r.int();
    const now = Date.now();
    if (this.ensemble && !conn.readOnly) this.touched.set(conn.sessionId, 0);
    if (!this.tracker.touch(conn.sessionId, now)) {
      // Expired or closing: this connection has nothing more to serve.
      this.sendNow(conn, xid, Err.SESSIONEXPIRED);
      conn.close();
      return;
    }
    if (this.bySession.get(conn.sessionId) !== conn) {
      this.sendNow(conn, xid, Err.SESSIONMOVED);
      conn.close();
      return;
    }
    const body = frame.subarray(8);
    let req: Request;
    try {
      req = readRequest(op, new JuteReader(body));
    } catch (err) {
      if (err instanceof UnknownOpcodeError) {
        this.enqueueError(conn, xid, op, Err.UNIMPLEMENTED);
        return;
      }
      if (err instanceof DecodeError) {
        this.enqueueError(conn, xid, op, Err.MARSHALLINGERROR);
        return;
      }
      throw err;
    }
    if (op === OpCode.auth && req.op === OpCode.auth) {
      this.onAuth(conn, xid, req.req.scheme, req.req.auth);
      return;
    }
    const pending: Pending = { xid, op, read: null, frame: null, at: performance.now() };
    if (conn.readOnly && (WRITE_OPS.has(op) || op === OpCode.sync)) {
      this.enqueueError(conn, xid, op, Err.NOTREADONLY);
      return;
    }
    if (conn.readOnly && op === OpCode.closeSession) {
      // A read-only session is local: closing it touches no quorum.
      this.tracker.remove(conn.sessionId);
      this.enqueueError(conn, xid, op, Err.OK);
      conn.close();
      return;
    }
    if (WRITE_OPS.has(op)) {
      this.enqueue(conn, pending);
      this.replica.propose(
        EntryKind.request,
        conn.sessionId,
        xid,
        op,
        body,
        (res, entry) => {
          pending.frame = conn.frame(xid, entry.zxid, res.err, (w) => writeReply(w, res.reply));
          this.flush(conn);
        },
        () => conn.close(),
      );
      return;
    }
    if (op === OpCode.closeSession) {
      this.enqueue(conn, pending);
      this.tracker.markClosing(conn.sessionId);
      this.replica.propose(
        EntryKind.closeSession,
        conn.sessionId,
        xid,
        op,
        new Uint8Array(0),
        (res, entry) => {
          pending.frame = conn.frame(xid, entry.zxid, res.err);
          this.flush(conn);
          conn.close();
        },
        () => conn.close(),
      );
      return;
    }
    if (op === OpCode.sync && this.ensemble && req.op === OpCode.sync) {
      // Linearizable: answered once this server has applied all the leader had committed when asked.
      this.enqueue(conn, pending);
      const path = req.req.path;
      this.ensemble.sync(
        () => {
          pending.frame = conn.frame(xid, this.sm.lastZxid, 0, (w) => w.ustring(path));
          this.flush(conn);
        },
        () => conn.close(),
      );
      return;
    }
    if (READ_OPS.has(op) || op === OpCode.setWatches || op === OpCode.setWatches2) {
      pending.read = req;
      this.enqueue(conn, pending);
      this.flush(conn);
      return;
    }
    if (op === OpCode.reconfig && req.op === OpCode.reconfig && this.ensemble && this.config.reconfigEnabled) {
      // Checked once the session's earlier requests are answered: an addauth
      // just before is a replicated entry here (ZooKeeper applies it at
      // once), and the reconfig must see it, as zkCli's addauth + reconfig do.
      const r = req.req;
      this.enqueue(conn, pending);
      this.deferred.set(pending, () => this.reconfig(conn, pending, r));
      this.flush(conn);
      return;
    }
    // reconfig off (or standalone) and sasl.
    this.enqueueError(conn, xid, op, op === OpCode.reconfig ? Err.RECONFIGDISABLED : Err.UNIMPLEMENTED);
  }

  /**
   * ZooKeeper's reconfig, incremental (joining/leaving) or whole (newMembers),
   * as Raft membership changes. Runs from flush() when `pending` (already
   * queued) reaches the head of its connection's queue.
   */
  private reconfig(conn: Connection, pending: Pending, req: ReconfigRequest): void {
    const e = this.ensemble!;
    const fail = (err: number, why: string): void => {
      this.log(`reconfig from 0x${BigInt.asUintN(64, conn.sessionId).toString(16)} refused: ${why}`);
      pending.frame = conn.frame(pending.xid, this.sm.lastZxid, err);
    };
    const session = this.sm.sessions.get(conn.sessionId);
    const configNode = this.sm.tree.get(CONFIG_PATH)!;
    const ids = session?.authIds ?? [];
    if (!ids.some((a) => a.scheme === 'super') && !aclPermits(this.sm.tree.aclOf(configNode), Perms.WRITE, ids)) {
      fail(Err.NOAUTH, 'needs the super user or WRITE on /zookeeper/config');
      return;
    }
    if (req.curConfigId !== -1 && req.curConfigId !== configVersion(configNode.data)) {
      fail(
        Err.BADVERSION,
        `config version is ${configVersion(configNode.data).toString(16)}, not ${req.curConfigId.toString(16)}`,
      );
      return;
    }
    let changes: MemberChange[];
    try {
      changes = memberChanges(e.configText(), req);
    } catch (err) {
      fail(Err.BADARGUMENTS, (err as Error).message);
      return;
    }
    let conf = e.peer.conf;
    for (const c of changes) {
      const problem = checkConfChange(conf, { type: c.type, nodeId: c.nodeId });
      if (problem !== undefined) {
        fail(Err.BADARGUMENTS, problem);
        return;
      }
      conf = applyConfChange(conf, { type: c.type, nodeId: c.nodeId });
    }
    if (changes.length === 0) {
      fail(Err.BADARGUMENTS, 'no change to the membership');
      return;
    }
    e.reconfigure(
      changes,
      (res, entry) => {
        const n = this.sm.tree.get(CONFIG_PATH)!;
        pending.frame = conn.frame(pending.xid, entry.zxid, res.err, (w) => {
          w.buffer(n.data);
          writeStat(w, statOf(n));
        });
        this.flush(conn);
      },
      () => conn.close(),
    );
  }

  /** The ensemble's membership text (/zookeeper/config); empty when standalone. */
  configText(): string {
    return this.ensemble ? this.ensemble.configText() + '\n' : '';
  }

  private enqueueError(conn: Connection, xid: number, op: number, err: number): void {
    const p: Pending = {
      xid,
      op,
      read: null,
      frame: conn.frame(xid, this.sm.lastZxid, err),
      at: performance.now(),
    };
    this.enqueue(conn, p);
    this.flush(conn);
  }

  private sendNow(conn: Connection, xid: number, err: number): void {
    conn.send(conn.frame(xid, this.sm.lastZxid, err));
  }

  private enqueue(conn: Connection, p: Pending): void {
    conn.queue.push(p);
    this.outstanding++;
    if (this.outstanding >= this.config.globalOutstandingLimit && !this.paused.has(conn)) {
      conn.socket.pause();
      this.paused.add(conn);
    }
  }

  private resumeIfBelowLimit(): void {
    if (this.paused.size === 0 || this.outstanding >= this.config.globalOutstandingLimit) return;
    for (const c of this.paused) c.socket.resume();
    this.paused.clear();
  }

  /** Sends every answer at the head of the queue that is ready, in order. */
  private flush(conn: Connection): void {
    const q = conn.queue;
    let sent = 0;
    while (q.length > 0) {
      const head = q[0]!;
      const start = this.deferred.get(head);
      if (start) {
        this.deferred.delete(head);
        start();
      }
      if (head.read) {
        head.frame = this.answer(conn, head);
        head.read = null;
      }
      if (!head.frame) break;
      q.shift();
      sent++;
      conn.send(head.frame);
      const elapsedMs = performance.now() - head.at;
      (WRITE_OPS.has(head.op) ? this.updateLatency : this.readLatency).recordMs(elapsedMs);
      // stat and cons count whole ms, as ZooKeeper does.
      const latency = Math.round(elapsedMs);
      conn.stats.record(latency);
      conn.stats.lastOp = OP_NAMES[head.op] ?? 'NA';
      conn.stats.lastCxid = head.xid;
      conn.stats.lastZxid = this.sm.lastZxid;
      conn.stats.lastResponseTime = Date.now();
      this.recordLatency(latency);
    }
    if (sent > 0) {
      this.outstanding -= sent;
      this.resumeIfBelowLimit();
    }
  }

  private recordLatency(l: number): void {
    const s = this.stats;
    s.count++;
    s.packetsSent++;
    s.totalLatency += l;
    if (l < s.minLatency) s.minLatency = l;
    if (l > s.maxLatency) s.maxLatency = l;
  }

  private answer(conn: Connection, p: Pending): Buffer {
    const req = p.read!;
    if (req.op === OpCode.setWatches || req.op === OpCode.setWatches2) {
      this.setWatches(conn, req.req);
      return conn.frame(Xid.SET_WATCHES, this.sm.lastZxid, 0);
    }
    const session = this.sm.sessions.get(conn.sessionId);
    const ctx = {
      sm: this.sm,
      watches: this.watches,
      watcher: conn.id,
      sessionId: conn.sessionId,
      authIds: session?.authIds ?? [],
    };
    const xid = req.op === OpCode.ping ? Xid.PING : p.xid;
    return conn.answerFrame(xid, this.sm.lastZxid, (w) => answerRead(ctx, req, w));
  }

  /** Re-registers a reconnected client's watches, firing what it missed since relativeZxid. */
  private setWatches(
    conn: Connection,
    sw: {
      relativeZxid: number;
      dataWatches: string[];
      existWatches: string[];
      childWatches: string[];
      persistentWatches: string[];
      persistentRecursiveWatches: string[];
    },
  ): void {
    const tree = this.sm.tree;
    const zxid = this.sm.lastZxid;
    const rel = sw.relativeZxid;
    for (const path of sw.dataWatches) {
      const n = tree.get(path);
      if (!n) conn.sendEvent(EventType.NodeDeleted, KeeperState.SyncConnected, path, zxid);
      else if (n.mzxid > rel) conn.sendEvent(EventType.NodeDataChanged, KeeperState.SyncConnected, path, zxid);
      else this.watches.addData(path, conn.id);
    }
    for (const path of sw.existWatches) {
      if (tree.get(path)) conn.sendEvent(EventType.NodeCreated, KeeperState.SyncConnected, path, zxid);
      else this.watches.addData(path, conn.id);
    }
    for (const path of sw.childWatches) {
      const n = tree.get(path);
      if (!n) conn.sendEvent(EventType.NodeDeleted, KeeperState.SyncConnected, path, zxid);
      else if (n.pzxid > rel) conn.sendEvent(EventType.NodeChildrenChanged, KeeperState.SyncConnected, path, zxid);
      else this.watches.addChild(path, conn.id);
    }
    for (const path of sw.persistentWatches) this.watches.addPersistent(path, conn.id, false);
    for (const path of sw.persistentRecursiveWatches) this.watches.addPersistent(path, conn.id, true);
  }

  private onAuth(conn: Connection, xid: number, scheme: string, auth: Uint8Array): void {
    const ids: Array<{ scheme: string; id: string }> = [];
    if (scheme === 'digest') {
      const text = Buffer.from(auth).toString('utf8');
      const colon = text.indexOf(':');
      if (colon > 0) {
        const user = text.substring(0, colon);
        const id = `${user}:${createHash('sha1').update(text).digest('base64')}`;
        ids.push({ scheme: 'digest', id });
        if (this.config.superDigest !== null && id === this.config.superDigest) ids.push({ scheme: 'super', id: user });
      }
    }
    if (ids.length === 0) {
      // ZooKeeper answers a failed auth with AUTHFAILED and drops the connection.
      this.log(`authentication failed for scheme ${scheme} from ${conn.remoteAddress}`);
      conn.send(conn.frame(Xid.AUTH, 0, Err.AUTHFAILED));
      conn.sendEvent(EventType.None, KeeperState.AuthFailed, '', 0);
      conn.close();
      return;
    }
    const pending: Pending = {
      xid: Xid.AUTH,
      op: OpCode.auth,
      read: null,
      frame: null,
      at: performance.now(),
    };
    this.enqueue(conn, pending);
    for (let i = 0; i < ids.length; i++) {
      const last = i === ids.length - 1;
      this.w.reset();
      encodeAuth(this.w, ids[i]!.scheme, ids[i]!.id);
      this.replica.propose(
        EntryKind.addAuth,
        conn.sessionId,
        xid,
        OpCode.auth,
        this.w.toBuffer(),
        last
          ? (res) => {
              pending.frame = conn.frame(Xid.AUTH, 0, res.err);
              this.flush(conn);
            }
          : null,
        () => conn.close(),
      );
    }
  }

  /** After every applied entry, on every replica: fire watches, settle sessions. */
  private afterApply(res: ApplyResult, entry: Entry): void {
    if (res.events.length > 0) {
      for (const ev of res.events) {
        const fired = this.watches.trigger(ev.path, ev.type);
        for (const w of fired) {
          const c = this.connections.get(w);
          if (c) c.sendEvent(ev.type, KeeperState.SyncConnected, ev.path, entry.zxid);
        }
      }
    }
    if (res.createdSession && !this.tracker.get(res.createdSession.id)) {
      this.tracker.track(res.createdSession.id, res.createdSession.timeout, Date.now());
    }
    if (res.closedSession !== null) {
      this.tracker.remove(res.closedSession);
      const c = this.bySession.get(res.closedSession);
      // An expired session's connection is dropped; an explicit close replies first (its own callback).
      if (c && entry.kind === EntryKind.closeSession && c.queue.every((p) => p.op !== OpCode.closeSession)) {
        this.bySession.delete(res.closedSession);
        c.close();
      }
    }
  }

  private expireSessions(): void {
    if (this.stopping) return;
    // Only the leader decides that a session is dead; followers forward what they hear.
    if (this.ensemble && this.ensemble.role !== 'leader') return;
    for (const id of this.tracker.expired(Date.now())) {
      this.log(`expiring session 0x${BigInt.asUintN(64, id).toString(16)}`);
      this.replica.propose(EntryKind.closeSession, id, 0, OpCode.closeSession, new Uint8Array(0), null);
    }
  }

  /** ZooKeeper's ContainerManager: propose removal of empty used containers and expired TTL nodes. */
  private checkContainers(): void {
    if (this.stopping) return;
    if (this.ensemble && this.ensemble.role !== 'leader') return;
    const tree = this.sm.tree;
    const now = Date.now();
    let budget = Math.max(
      1,
      Math.floor((this.config.containerMaxPerMinute * this.config.containerCheckIntervalMs) / 60000),
    );
    const candidates: string[] = [];
    for (const path of tree.containers) {
      const n = tree.get(path)!;
      if (n.numChildren === 0 && n.cversion > 0) candidates.push(path);
    }
    for (const path of tree.ttls) {
      const n = tree.get(path)!;
      if (n.numChildren === 0 && now - n.mtime > ttlOf(n.ephemeralOwner)) candidates.push(path);
    }
    for (const path of candidates) {
      if (budget-- <= 0) break;
      this.w.reset();
      encodePath(this.w, path);
      this.replica.propose(EntryKind.expireNode, 0n, 0, OpCode.deleteContainer, this.w.toBuffer(), null);
    }
  }

  get outstandingRequests(): number {
    return this.outstanding;
  }
}

const EMPTY_FRAME = Buffer.alloc(0);

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function writeReply(w: JuteWriter, reply: Reply): void {
  if (reply === null) return;
  switch (reply.kind) {
    case 'path':
      w.ustring(reply.path);
      return;
    case 'pathStat':
      w.ustring(reply.path);
      writeStat(w, reply.stat);
      return;
    case 'stat':
      writeStat(w, reply.stat);
      return;
    case 'multi':
      for (const r of reply.results) {
        writeMultiHeader(w, r.type, false, r.err);
        switch (r.type) {
          case -1:
            w.int(r.err);
            break;
          case OpCode.create:
            w.ustring(r.path!);
            break;
          case OpCode.create2:
          case OpCode.createTTL:
          case OpCode.createContainer:
            w.ustring(r.path!);
            writeStat(w, r.stat!);
            break;
          case OpCode.setData:
            writeStat(w, r.stat!);
            break;
          default:
            break;
        }
      }
      writeMultiHeader(w, -1, true, -1);
      return;
  }
}
