// The ZooKeeper client: a session over a sequence of connections to the hosts
// of a connection string. Requests are queued, written in one batch per event
// loop turn, and matched to replies in order; watches live here and are
// replayed with setWatches after every reconnect.
import { EventEmitter } from 'node:events';
import { DecodeError, JuteReader, JuteWriter } from '../jute/buffer.js';
import { Err, OpCode, Xid } from '../jute/constants.js';
import { writeRequest, type ConnectResponse, type MultiOp, type Request } from '../jute/records.js';
import { Connection, probeReadWrite, type ConnectionOwner } from './connection.js';
import {
  AuthFailedError,
  BadArgumentsError,
  ClientClosedError,
  ConnectionLossError,
  MarshallingError,
  NoWatcherError,
  QueueFullError,
  RequestTimeoutError,
  SessionExpiredError,
  ZooKeeperError,
  createError,
} from './errors.js';
import { HostProvider, parseConnectString, prependChroot, stripChroot, validatePath, type HostPort } from './hosts.js';
import { Fifo } from './queue.js';
import {
  readReplyBody,
  readWatcherEvent,
  type Create2Response,
  type GetACLResponse,
  type GetChildren2Response,
  type GetDataResponse,
  type OpResult as WireOpResult,
} from './replies.js';
import {
  AddWatchMode,
  CreateMode,
  EventType,
  Ids,
  KeeperState,
  WatcherType,
  type ACL,
  type ACLResult,
  type AddWatchModeValue,
  type CallOptions,
  type ChildrenResult,
  type ClientInfo,
  type ConfigResult,
  type CreateOptions,
  type CreateResult,
  type Data,
  type DataResult,
  type Op,
  type OpResult,
  type ReadOp,
  type ReadOpResult,
  type ReconfigOptions,
  type SessionState,
  type Stat,
  type WatchedEvent,
  type Watcher,
  type WatcherTypeValue,
  type WatchOptions,
  type ZooKeeperOptions,
} from './types.js';
import { STATE_HOOKS, WatchKind, WatchManager, type WatchKindValue } from './watches.js';
import { ChildrenIterator, DataIterator, EventIterator, type IteratorOptions } from './iterators.js';
import { Transaction } from './transaction.js';

export interface ZooKeeperEvents {
  /** Every state change, with the state before it. */
  state: [state: SessionState, previous: SessionState];
  connected: [];
  readOnly: [];
  /** The connection dropped; the client is reconnecting within the session timeout. */
  disconnected: [reason: string];
  expired: [];
  authFailed: [];
  closed: [];
  /** A watcher function threw; without a listener the error is rethrown asynchronously. */
  error: [error: unknown];
}

const CONFIG_NODE = '/zookeeper/config';
const MAX_XID = 0x7fffffff;
const WRITE_CHUNK = 256 * 1024;
const WRITER_KEEP = 1024 * 1024;
const EMPTY_PASSWD = new Uint8Array(16);
const TERMINAL: ReadonlySet<SessionState> = new Set(['expired', 'authFailed', 'closed']);
const MAX_TTL = 0xffffffffff;
const NOOP = (): void => {};

// Request life: queued (not yet written), sent (awaiting its reply), settled.
const QUEUED = 0;
const SENT = 1;
const SETTLED = 2;

// What to make of a successful reply beyond its opcode.
const KIND_PLAIN = 0;
const KIND_CONFIG = 1;

interface AuthEntry {
  scheme: string;
  auth: Uint8Array;
  waiters: Array<{ resolve: () => void; reject: (e: unknown) => void }>;
  /** The connection generation this entry was last sent on. */
  sentOn: number;
}

interface RemoveSpec {
  watcher: Watcher | null;
  type: WatcherTypeValue;
}

class Req {
  op: number;
  rec: Request;
  /** The caller's path, for errors and results. */
  path: string | undefined;
  serverPath: string;
  watcher: Watcher | null = null;
  kind = KIND_PLAIN;
  /** addWatch mode, or the client ops of a multi, or a removeWatches spec, or an auth entry. */
  extra: unknown = null;
  xid = 0;
  state = QUEUED;
  bytes: number;
  resolve: (v: unknown) => void = NOOP;
  reject: (e: unknown) => void = NOOP;
  timer: NodeJS.Timeout | undefined = undefined;
  signal: AbortSignal | undefined = undefined;
  onAbort: (() => void) | undefined = undefined;

  constructor(op: number, rec: Request, path: string | undefined, serverPath: string, bytes: number) {
    this.op = op;
    this.rec = rec;
    this.path = path;
    this.serverPath = serverPath;
    this.bytes = bytes;
  }
}

// One executor for every request promise: it stores the settle functions on the
// request being submitted instead of allocating a closure per call.
let submitting: Req | null = null;
function captureSettlers(resolve: (v: unknown) => void, reject: (e: unknown) => void): void {
  submitting!.resolve = resolve;
  submitting!.reject = reject;
}

function toBytes(data: Data | undefined): Uint8Array | null {
  if (data === undefined || data === null) return null;
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (data instanceof Uint8Array) return data;
  throw new BadArgumentsError('data must be a string, Uint8Array or null');
}

function copyData(v: Uint8Array | null): Buffer | null {
  return v === null ? null : Buffer.from(v);
}

function joinList(v: string | readonly string[] | undefined): string | null {
  if (v === undefined) return null;
  return typeof v === 'string' ? v : v.join(',');
}

function watcherOf(arg: Watcher | WatchOptions | undefined): Watcher | null {
  if (arg === undefined) return null;
  return typeof arg === 'function' ? arg : (arg.watch ?? null);
}

function optionsOf(arg: Watcher | WatchOptions | undefined): CallOptions | undefined {
  return typeof arg === 'object' ? arg : undefined;
}

function checkAcl(acl: readonly ACL[]): void {
  if (!Array.isArray(acl) || acl.length === 0) throw new BadArgumentsError('an ACL list must not be empty');
}

/**
 * A ZooKeeper session. Construct it and use it at once (requests wait for the
 * connection), or `await ZooKeeper.connect(...)` to wait for the first one.
 */
export class ZooKeeper extends EventEmitter<ZooKeeperEvents> {
  /** The chroot of the connection string, or null. */
  readonly chroot: string | null;
  readonly hosts: readonly HostPort[];

  private readonly provider: HostProvider;
  private readonly requestedTimeout: number;
  private readonly connectTimeoutOpt: number | undefined;
  private readonly canBeReadOnly: boolean;
  private readonly requestTimeout: number;
  private readonly maxQueuedRequests: number;
  private readonly maxQueuedBytes: number;
  private readonly maxFrameBytes: number;
  private readonly maxRetryDelay: number;
  private readonly watchReset: boolean;
  private readonly random: () => number;

  private _state: SessionState = 'connecting';
  private _sessionId = 0n;
  private passwd: Uint8Array = EMPTY_PASSWD;
  private negotiatedTimeout = 0;
  private _lastZxid = 0;
  /** lastZxidSeen offered on the current connection: no reply may carry less. */
  private connectZxid = 0;
  private seenRwServer = false;
  private nextXid: number;
  private generation = 0;

  private conn: Connection | null = null;
  private ready = false;
  private blocked = false;
  private flushScheduled = false;
  private w = new JuteWriter(64 * 1024);
  private readonly unsent = new Fifo<Req>();
  private unsentCount = 0;
  private unsentBytes = 0;
  private readonly inflight = new Fifo<Req>();
  private readonly authSent = new Fifo<Req>();
  private readonly authInfo: AuthEntry[] = [];
  private readonly watches = new WatchManager();

  private retryTimer: NodeJS.Timeout | undefined;
  private failedRounds = 0;
  private rwProbeTimer: NodeJS.Timeout | undefined;
  private rwProbeDelay = 100;
  private closing: { req: Req | null; done: Promise<void>; finish: () => void } | null = null;

  /** @internal State listeners of iterators and waiters (no EventEmitter listener limit). */
  readonly [STATE_HOOKS] = new Set<(state: SessionState) => void>();

  private readonly flushNow = (): void => this.flush();
  private readonly owner: ConnectionOwner = {
    onConnectResponse: (c, r) => this.onConnectResponse(c, r),
    onFrame: (c, b, s, e) => this.onFrame(c, b, s, e),
    onDrain: (c) => this.onDrain(c),
    onClose: (c, r) => this.onClose(c, r),
  };
  private readonly onRequestTimeout = (req: Req): void => {
    this.cancel(req, new RequestTimeoutError(`no reply within the request timeout`, req.path));
  };

  constructor(connectString: string, options: ZooKeeperOptions = {}) {
    super();
    const cs = parseConnectString(connectString);
    this.chroot = cs.chroot;
    this.random = options.random ?? Math.random;
    this.provider = new HostProvider(cs.hosts, this.random);
    this.hosts = this.provider.hosts;
    this.requestedTimeout = options.sessionTimeout ?? 30_000;
    this.connectTimeoutOpt = options.connectTimeout;
    this.canBeReadOnly = options.canBeReadOnly ?? false;
    this.requestTimeout = options.requestTimeout ?? 0;
    this.maxQueuedRequests = options.maxQueuedRequests ?? 100_000;
    this.maxQueuedBytes = options.maxQueuedBytes ?? 64 * 1024 * 1024;
    this.maxFrameBytes = options.maxFrameBytes ?? 64 * 1024 * 1024;
    this.maxRetryDelay = options.maxRetryDelay ?? 1000;
    this.watchReset = options.watchReset ?? true;
    const initialXid = options.initialXid ?? 1;
    if (!Number.isInteger(initialXid) || initialXid < 1 || initialXid > MAX_XID) {
      throw new BadArgumentsError(`initialXid must be in [1, ${MAX_XID}]`);
    }
    this.nextXid = initialXid;
    if (options.sessionId !== undefined) {
      this._sessionId = options.sessionId;
      this.passwd = options.sessionPasswd ?? EMPTY_PASSWD;
      // A session handed over by id was made on a read-write server.
      this.seenRwServer = true;
    }
    for (const a of options.auth ?? []) {
      this.authInfo.push({ scheme: a.scheme, auth: toBytes(a.auth) ?? new Uint8Array(0), waiters: [], sentOn: -1 });
    }
    this.connectNext();
  }

  /** Creates a client and waits for its first connection (rejecting on expiry, auth failure or `waitTimeout`). */
  static async connect(
    connectString: string,
    options: ZooKeeperOptions & { waitTimeout?: number; signal?: AbortSignal } = {},
  ): Promise<ZooKeeper> {
    const zk = new ZooKeeper(connectString, options);
    try {
      await zk.waitForConnected({
        timeout: options.waitTimeout ?? options.sessionTimeout ?? 30_000,
        signal: options.signal,
      });
    } catch (e) {
      await zk.close();
      throw e;
    }
    return zk;
  }

  // ---- session ----

  get state(): SessionState {
    return this._state;
  }

  /** The session id (0n before the first connection). */
  get sessionId(): bigint {
    return this._sessionId;
  }

  /** The session password, to hand the session to another client with sessionId. */
  get sessionPasswd(): Buffer {
    return Buffer.from(this.passwd);
  }

  /** The timeout the server granted (ms); 0 before the first connection. */
  get sessionTimeout(): number {
    return this.negotiatedTimeout;
  }

  /** The highest zxid seen in a reply; sent as lastZxidSeen on reconnect. */
  get lastZxid(): number {
    return this._lastZxid;
  }

  /** The server of the current connection, if connected. */
  get connectedTo(): HostPort | null {
    return this.ready && this.conn ? this.conn.host : null;
  }

  /** Requests written and not yet answered. */
  get inFlight(): number {
    return this.inflight.length;
  }

  /** Requests accepted but not yet written (waiting for a connection or a writable socket). */
  get queued(): number {
    return this.unsentCount;
  }

  /** Resolves once connected (read-write, or read-only when allowed). */
  waitForConnected(opts: CallOptions = {}): Promise<void> {
    if (this._state === 'connected' || this._state === 'readOnly') return Promise.resolve();
    const err = this.terminalError(undefined);
    if (err) return Promise.reject(err);
    return new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const cleanup = (): void => {
        this[STATE_HOOKS].delete(onState);
        if (timer !== undefined) clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
      };
      const onState = (s: SessionState): void => {
        if (s === 'connected' || s === 'readOnly') {
          cleanup();
          resolve();
        } else if (TERMINAL.has(s)) {
          cleanup();
          reject(this.terminalError(undefined));
        }
      };
      const onAbort = (): void => {
        cleanup();
        reject(opts.signal!.reason);
      };
      if (opts.signal?.aborted) {
        reject(opts.signal.reason);
        return;
      }
      this[STATE_HOOKS].add(onState);
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      if (opts.timeout !== undefined && opts.timeout > 0) {
        timer = setTimeout(() => {
          cleanup();
          reject(new ConnectionLossError(`not connected within ${opts.timeout} ms`));
        }, opts.timeout);
      }
    });
  }

  /**
   * Ends the session: sends closeSession (when connected) and waits for its
   * reply, bounded by the session timeout. Requests sent before it still get
   * their replies; later calls fail with ClientClosedError. When disconnected,
   * the session is left to expire on the servers.
   */
  close(): Promise<void> {
    if (this.closing) return this.closing.done;
    if (TERMINAL.has(this._state)) {
      this.teardown('closed');
      return Promise.resolve();
    }
    let finish: () => void = NOOP;
    const done = new Promise<void>((resolve) => (finish = resolve));
    this.closing = { req: null, done, finish };
    if (this.ready && this.conn) {
      const req = new Req(OpCode.closeSession, { op: OpCode.closeSession, req: null }, undefined, '', 0);
      this.closing.req = req;
      this.unsent.push(req);
      this.unsentCount++;
      this.scheduleFlush();
      const bound = setTimeout(() => this.finishClose(), Math.max(1000, this.negotiatedTimeout));
      bound.unref();
      void done.then(() => clearTimeout(bound));
    } else {
      this.finishClose();
    }
    return done;
  }

  private finishClose(): void {
    if (!this.closing) return;
    const finish = this.closing.finish;
    this.teardown('closed');
    finish();
  }

  // ---- operations ----

  /** create with every CreateMode; returns the path (with sequence suffix) and the new node's Stat. */
  create(path: string, data?: Data, options: CreateOptions = {}): Promise<CreateResult> {
    try {
      const mode = options.mode ?? CreateMode.PERSISTENT;
      const rec = this.createRecord(path, data, options.acl, mode, options.ttl);
      const op = rec.op;
      const req = new Req(op, { op, req: rec.req }, path, rec.req.path, path.length + (rec.req.data?.length ?? 0));
      return this.submit<CreateResult>(req, options);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  private createRecord(
    path: string,
    data: Data | undefined,
    acl: readonly ACL[] | undefined,
    mode: number,
    ttl: number | undefined,
    inMulti = false,
  ): { op: 1 | 15 | 19 | 21; req: { path: string; data: Uint8Array | null; acl: ACL[]; flags: number; ttl: number } } {
    if (!Number.isInteger(mode) || mode < 0 || mode > 6) throw new BadArgumentsError(`unknown create mode ${mode}`);
    const sequential = mode === CreateMode.PERSISTENT_SEQUENTIAL || mode === CreateMode.EPHEMERAL_SEQUENTIAL;
    const withTtl = mode === CreateMode.PERSISTENT_WITH_TTL || mode === CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL;
    validatePath(path, sequential || mode === CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL);
    const list = acl ?? Ids.OPEN_ACL_UNSAFE;
    checkAcl(list);
    if (withTtl) {
      if (ttl === undefined || !Number.isInteger(ttl) || ttl <= 0 || ttl > MAX_TTL) {
        throw new BadArgumentsError(`a TTL mode needs a ttl in (0, ${MAX_TTL}] ms`, path);
      }
    } else if (ttl !== undefined && ttl !== -1) {
      throw new BadArgumentsError('ttl is only allowed with the *_WITH_TTL modes', path);
    }
    const req = {
      path: this.serverPath(path),
      data: toBytes(data),
      acl: list as ACL[],
      flags: mode,
      ttl: withTtl ? ttl! : -1,
    };
    // create2 answers with the Stat; inside multi ZooKeeper 3.8 knows only create.
    const op = withTtl
      ? OpCode.createTTL
      : mode === CreateMode.CONTAINER
        ? OpCode.createContainer
        : inMulti
          ? OpCode.create
          : OpCode.create2;
    return { op, req };
  }

  delete(path: string, version = -1, options?: CallOptions): Promise<void> {
    return this.pathOp(OpCode.delete, path, options, null, version);
  }

  /** The node's Stat, or null when it does not exist. A watcher fires on creation, change or deletion. */
  exists(path: string, watch?: Watcher | WatchOptions): Promise<Stat | null> {
    return this.pathOp(OpCode.exists, path, optionsOf(watch), watcherOf(watch));
  }

  getData(path: string, watch?: Watcher | WatchOptions): Promise<DataResult> {
    return this.pathOp(OpCode.getData, path, optionsOf(watch), watcherOf(watch));
  }

  setData(path: string, data: Data, version = -1, options?: CallOptions): Promise<Stat> {
    let bytes: Uint8Array | null;
    try {
      bytes = toBytes(data);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.pathOp(OpCode.setData, path, options, null, version, bytes);
  }

  getACL(path: string, options?: CallOptions): Promise<ACLResult> {
    return this.pathOp(OpCode.getACL, path, options, null);
  }

  setACL(path: string, acl: readonly ACL[], version = -1, options?: CallOptions): Promise<Stat> {
    try {
      checkAcl(acl);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.pathOp(OpCode.setACL, path, options, null, version, acl);
  }

  /** The names of the node's children (unordered). A watcher fires when the list changes or the node goes. */
  getChildren(path: string, watch?: Watcher | WatchOptions): Promise<string[]> {
    return this.pathOp(OpCode.getChildren, path, optionsOf(watch), watcherOf(watch));
  }

  /** getChildren plus the node's Stat (getChildren2). */
  getChildrenWithStat(path: string, watch?: Watcher | WatchOptions): Promise<ChildrenResult> {
    return this.pathOp(OpCode.getChildren2, path, optionsOf(watch), watcherOf(watch));
  }

  /** The number of all descendants of the node. */
  getAllChildrenNumber(path: string, options?: CallOptions): Promise<number> {
    return this.pathOp(OpCode.getAllChildrenNumber, path, options, null);
  }

  /**
   * This session's ephemeral nodes whose path starts with `prefix` (all for "/").
   * Unlike the Java client, the prefix is taken inside the chroot and the chroot
   * is removed from the results.
   */
  getEphemerals(prefix = '/', options?: CallOptions): Promise<string[]> {
    return this.pathOp(OpCode.getEphemerals, prefix, options, null);
  }

  /** Waits until the server this client talks to has caught up with the leader for `path`. */
  sync(path = '/', options?: CallOptions): Promise<void> {
    return this.pathOp(OpCode.sync, path, options, null);
  }

  /**
   * Applies all ops atomically or none. On failure rejects with the typed error
   * of the op that failed, with `opIndex` and the per-op codes in `results`.
   */
  multi(ops: readonly Op[], options?: CallOptions): Promise<OpResult[]> {
    let wire: MultiOp[];
    let bytes = 0;
    try {
      if (!Array.isArray(ops)) throw new BadArgumentsError('multi takes an array of ops');
      wire = ops.map((o) => {
        bytes += o.path.length;
        switch (o.type) {
          case 'create': {
            const c = this.createRecord(o.path, o.data, o.acl, o.mode ?? CreateMode.PERSISTENT, o.ttl, true);
            bytes += c.req.data?.length ?? 0;
            return { op: c.op, req: c.req } as MultiOp;
          }
          case 'delete':
            validatePath(o.path);
            return { op: OpCode.delete, req: { path: this.serverPath(o.path), version: o.version ?? -1 } };
          case 'setData': {
            validatePath(o.path);
            const data = toBytes(o.data);
            bytes += data?.length ?? 0;
            return { op: OpCode.setData, req: { path: this.serverPath(o.path), data, version: o.version ?? -1 } };
          }
          case 'check':
            validatePath(o.path);
            return { op: OpCode.check, req: { path: this.serverPath(o.path), version: o.version } };
          default:
            throw new BadArgumentsError(`unknown op type ${JSON.stringify((o as { type: unknown }).type)}`);
        }
      });
    } catch (e) {
      return Promise.reject(e);
    }
    const req = new Req(OpCode.multi, { op: OpCode.multi, req: wire }, undefined, '', bytes);
    req.extra = ops;
    return this.submit(req, options);
  }

  /** A builder for multi(): `zk.transaction().create(...).setData(...).commit()`. */
  transaction(): Transaction {
    return new Transaction(this);
  }

  /** Several getData/getChildren reads from one point of the server's history; each may fail alone. */
  multiRead(ops: readonly ReadOp[], options?: CallOptions): Promise<ReadOpResult[]> {
    let wire: MultiOp[];
    try {
      if (!Array.isArray(ops)) throw new BadArgumentsError('multiRead takes an array of ops');
      wire = ops.map((o) => {
        validatePath(o.path);
        const path = this.serverPath(o.path);
        if (o.type === 'getData') return { op: OpCode.getData, req: { path, watch: false } };
        if (o.type === 'getChildren') return { op: OpCode.getChildren, req: { path, watch: false } };
        throw new BadArgumentsError(`unknown read op type ${JSON.stringify((o as { type: unknown }).type)}`);
      });
    } catch (e) {
      return Promise.reject(e);
    }
    const req = new Req(OpCode.multiRead, { op: OpCode.multiRead, req: wire }, undefined, '', 0);
    req.extra = ops;
    return this.submit(req, options);
  }

  /**
   * A persistent watch (ZooKeeper 3.6+): not removed when it fires. Recursive
   * (the default) sees created, deleted and changed nodes of the whole subtree.
   */
  addWatch(
    path: string,
    watcher: Watcher,
    mode: AddWatchModeValue = AddWatchMode.PERSISTENT_RECURSIVE,
    options?: CallOptions,
  ): Promise<void> {
    if (typeof watcher !== 'function') return Promise.reject(new BadArgumentsError('addWatch needs a watcher', path));
    if (mode !== AddWatchMode.PERSISTENT && mode !== AddWatchMode.PERSISTENT_RECURSIVE) {
      return Promise.reject(new BadArgumentsError(`unknown addWatch mode ${mode}`, path));
    }
    return this.pathOp(OpCode.addWatch, path, options, watcher, mode);
  }

  /**
   * Removes a watcher (or, with null, every watcher) of `type` from `path`; the
   * removed watchers get a DataWatchRemoved / ChildWatchRemoved /
   * PersistentWatchRemoved event. With `local`, the removal happens on this
   * client at once, connected or not, and the server is told when connected.
   * Rejects with NoWatcherError when there is no such watcher.
   */
  removeWatches(
    path: string,
    watcher: Watcher | null,
    type: WatcherTypeValue = WatcherType.Any,
    options: CallOptions & { local?: boolean } = {},
  ): Promise<void> {
    let serverPath: string;
    try {
      validatePath(path);
      if (type < WatcherType.Children || type > WatcherType.PersistentRecursive || !Number.isInteger(type)) {
        throw new BadArgumentsError(`unknown watcher type ${type}`, path);
      }
      serverPath = this.serverPath(path);
      const err = this.terminalError(path);
      if (err) throw err;
      if (!this.watches.contains(serverPath, watcher, type)) throw new NoWatcherError(undefined, path);
    } catch (e) {
      return Promise.reject(e);
    }
    // A server watch shared by other local watchers must stay; only checkWatches then.
    const op =
      watcher === null || !this.watches.othersRemain(serverPath, watcher, type)
        ? OpCode.removeWatches
        : OpCode.checkWatches;
    if (options.local) {
      this.removeLocally(serverPath, watcher, type);
      if (this.ready) {
        const req = new Req(op, { op, req: { path: serverPath, type } }, path, serverPath, path.length);
        req.extra = null;
        this.submit(req, undefined).catch(NOOP);
      }
      return Promise.resolve();
    }
    const req = new Req(op, { op, req: { path: serverPath, type } }, path, serverPath, path.length);
    req.extra = { watcher, type } satisfies RemoveSpec;
    return this.submit(req, options);
  }

  /** removeWatches(path, null, type, options): every watcher of that type on the path. */
  removeAllWatches(
    path: string,
    type: WatcherTypeValue = WatcherType.Any,
    options?: CallOptions & { local?: boolean },
  ): Promise<void> {
    return this.removeWatches(path, null, type, options);
  }

  /** The identities this connection is authenticated as (ZooKeeper 3.7+). */
  whoAmI(options?: CallOptions): Promise<ClientInfo[]> {
    const req = new Req(OpCode.whoAmI, { op: OpCode.whoAmI, req: null }, undefined, '', 0);
    return this.submit(req, options);
  }

  /**
   * Adds credentials to the session (e.g. scheme 'digest', auth 'user:password').
   * They are sent again after every reconnect. Resolves when the server accepts
   * them; a refusal is fatal for the session (state 'authFailed'), as in ZooKeeper.
   */
  addAuth(scheme: string, auth: string | Uint8Array): Promise<void> {
    const err = this.terminalError(undefined);
    if (err) return Promise.reject(err);
    if (typeof scheme !== 'string' || scheme === '') {
      return Promise.reject(new BadArgumentsError('addAuth needs a scheme'));
    }
    let bytes: Uint8Array;
    try {
      bytes = toBytes(auth) ?? new Uint8Array(0);
    } catch (e) {
      return Promise.reject(e);
    }
    const entry: AuthEntry = { scheme, auth: bytes, waiters: [], sentOn: -1 };
    this.authInfo.push(entry);
    const p = new Promise<void>((resolve, reject) => entry.waiters.push({ resolve, reject }));
    if (this.ready) this.queueAuth(entry);
    return p;
  }

  /** The ensemble configuration (/zookeeper/config, outside any chroot); a watcher fires when it changes. */
  getConfig(watch?: Watcher | WatchOptions): Promise<ConfigResult> {
    const watcher = watcherOf(watch);
    const options = optionsOf(watch);
    const req = new Req(
      OpCode.getData,
      { op: OpCode.getData, req: { path: CONFIG_NODE, watch: watcher !== null } },
      CONFIG_NODE,
      CONFIG_NODE,
      0,
    );
    req.watcher = watcher;
    req.kind = KIND_CONFIG;
    return this.submit(req, options);
  }

  /** Dynamic reconfiguration (needs reconfigEnabled and an authorized user); returns the new config. */
  reconfig(options: ReconfigOptions): Promise<ConfigResult> {
    const rec: Request = {
      op: OpCode.reconfig,
      req: {
        joiningServers: joinList(options.joining),
        leavingServers: joinList(options.leaving),
        newMembers: joinList(options.members),
        curConfigId: options.fromConfig ?? -1,
      },
    };
    const req = new Req(OpCode.reconfig, rec, undefined, '', 0);
    req.kind = KIND_CONFIG;
    return this.submit(req, options);
  }

  // ---- async iterators ----

  /**
   * The node's data now and after every change: `{ event, data, stat }`, with
   * data and stat null while the node does not exist. Re-reads on each pull, so
   * a slow consumer sees the latest state rather than every intermediate one.
   */
  watchData(path: string, options?: IteratorOptions): DataIterator {
    validatePath(path);
    return new DataIterator(this, path, options);
  }

  /** The node's children now and after every change: `{ event, children, stat }` (null while it does not exist). */
  watchChildren(path: string, options?: IteratorOptions): ChildrenIterator {
    validatePath(path);
    return new ChildrenIterator(this, path, options);
  }

  /**
   * Every event of a persistent (recursive by default) watch on `path`, as an
   * async iterator; breaking out of the loop removes the watch.
   */
  watchEvents(path: string, options?: IteratorOptions & { recursive?: boolean; maxBuffered?: number }): EventIterator {
    validatePath(path);
    return new EventIterator(this, path, options);
  }

  /** The paths this client holds watches on, by kind (relative to the chroot); re-registered after every reconnect. */
  watchedPaths(): {
    data: string[];
    exist: string[];
    child: string[];
    persistent: string[];
    persistentRecursive: string[];
  } {
    const list = (kind: WatchKindValue): string[] =>
      [...this.watches.tables[kind].keys()].map((p) => stripChroot(this.chroot, p));
    return {
      data: list(WatchKind.data),
      exist: list(WatchKind.exist),
      child: list(WatchKind.child),
      persistent: list(WatchKind.persistent),
      persistentRecursive: list(WatchKind.recursive),
    };
  }

  /** Forgets a watcher on this client only (no server call); used by iterators. */
  forgetWatcher(path: string, watcher: Watcher): void {
    const serverPath = this.serverPath(path);
    for (const t of this.watches.tables) {
      const s = t.get(serverPath);
      if (s?.delete(watcher) && s.size === 0) t.delete(serverPath);
    }
  }

  // ---- internals: requests ----

  private serverPath(path: string): string {
    return prependChroot(this.chroot, path);
  }

  /** Requests on one path; `a` and `b` are the op's extra fields (version, data, acl, mode). */
  private pathOp<T>(
    op: number,
    path: string,
    options: CallOptions | undefined,
    watcher: Watcher | null,
    a?: unknown,
    b?: unknown,
  ): Promise<T> {
    let sp: string;
    try {
      validatePath(path);
      sp = this.serverPath(path);
    } catch (e) {
      return Promise.reject(e);
    }
    let rec: Request;
    let bytes = path.length;
    switch (op) {
      case OpCode.delete:
        rec = { op, req: { path: sp, version: a as number } };
        break;
      case OpCode.exists:
      case OpCode.getData:
      case OpCode.getChildren:
      case OpCode.getChildren2:
        rec = { op, req: { path: sp, watch: watcher !== null } };
        break;
      case OpCode.setData: {
        const data = b as Uint8Array | null;
        bytes += data?.length ?? 0;
        rec = { op, req: { path: sp, data, version: a as number } };
        break;
      }
      case OpCode.setACL:
        rec = { op, req: { path: sp, acl: b as ACL[], version: a as number } };
        break;
      case OpCode.getACL:
      case OpCode.sync:
        rec = { op, req: { path: sp } };
        break;
      case OpCode.getAllChildrenNumber:
        rec = { op, req: { path: sp } };
        break;
      case OpCode.getEphemerals:
        rec = { op, req: { prefixPath: sp } };
        break;
      case OpCode.addWatch:
        rec = { op, req: { path: sp, mode: a as number } };
        break;
      default:
        return Promise.reject(new BadArgumentsError(`not a path operation: ${op}`));
    }
    const req = new Req(op, rec, path, sp, bytes);
    req.watcher = watcher;
    return this.submit<T>(req, options);
  }

  private terminalError(path: string | undefined): ZooKeeperError | null {
    if (this.closing) return new ClientClosedError(undefined, path);
    switch (this._state) {
      case 'expired':
        return new SessionExpiredError(undefined, path);
      case 'authFailed':
        return new AuthFailedError(undefined, path);
      case 'closed':
        return new ClientClosedError(undefined, path);
      default:
        return null;
    }
  }

  private submit<T>(req: Req, options: CallOptions | undefined): Promise<T> {
    const err = this.terminalError(req.path);
    if (err) return Promise.reject(err);
    if (this.unsentCount >= this.maxQueuedRequests || this.unsentBytes + req.bytes > this.maxQueuedBytes) {
      return Promise.reject(
        new QueueFullError(
          `request queue full: ${this.unsentCount} requests (${this.unsentBytes} bytes) wait for ${
            this.ready ? 'a slow socket' : 'a connection'
          }`,
          req.path,
        ),
      );
    }
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    submitting = req;
    const p = new Promise<unknown>(captureSettlers) as Promise<T>;
    submitting = null;
    const timeout = options?.timeout ?? this.requestTimeout;
    if (timeout > 0) {
      req.timer = setTimeout(this.onRequestTimeout, timeout, req);
    }
    if (signal) {
      req.signal = signal;
      req.onAbort = () => this.cancel(req, signal.reason);
      signal.addEventListener('abort', req.onAbort, { once: true });
    }
    this.unsent.push(req);
    this.unsentCount++;
    this.unsentBytes += req.bytes;
    this.scheduleFlush();
    return p;
  }

  private settle(req: Req): void {
    req.state = SETTLED;
    if (req.timer !== undefined) clearTimeout(req.timer);
    if (req.onAbort) req.signal!.removeEventListener('abort', req.onAbort);
    req.timer = undefined;
    req.onAbort = undefined;
    req.signal = undefined;
  }

  private succeed(req: Req, value: unknown): void {
    if (req.state === SETTLED) return;
    this.settle(req);
    req.resolve(value);
  }

  private fail(req: Req, err: unknown): void {
    if (req.state === SETTLED) return;
    if (req.state === QUEUED) {
      this.unsentCount--;
      this.unsentBytes -= req.bytes;
    }
    this.settle(req);
    req.reject(err);
  }

  /** Timeout or abort: a request not yet written is never written; a written one's reply is ignored. */
  private cancel(req: Req, err: unknown): void {
    this.fail(req, err);
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || !this.ready || this.blocked) return;
    this.flushScheduled = true;
    setImmediate(this.flushNow);
  }

  private flush(): void {
    this.flushScheduled = false;
    const conn = this.conn;
    if (!conn || !this.ready || this.blocked) return;
    this.w.reset();
    for (;;) {
      const req = this.unsent.shift();
      if (req === undefined) break;
      if (req.state !== QUEUED) continue;
      this.unsentCount--;
      this.unsentBytes -= req.bytes;
      if (req.op === OpCode.auth && (req.extra as AuthEntry).sentOn === this.generation) {
        // Already sent while priming this connection.
        this.settle(req);
        continue;
      }
      // writeOut may swap in a fresh writer, so always take the current one.
      this.encode(this.w, req);
      if (this.w.length >= WRITE_CHUNK && !this.writeOut(conn)) return;
    }
    if (this.w.length > 0) this.writeOut(conn);
  }

  private writeOut(conn: Connection): boolean {
    const w = this.w;
    const big = w.length > WRITER_KEEP;
    const ok = conn.write(w.toBuffer());
    // Do not keep a buffer grown for one large request for the life of the client.
    if (big) this.w = new JuteWriter(64 * 1024);
    else w.reset();
    if (!ok) this.blocked = true;
    return ok;
  }

  private takeXid(): number {
    const xid = this.nextXid;
    // Wrap before the sign bit: negative xids are reserved for pings, auth, watches.
    this.nextXid = xid >= MAX_XID ? 1 : xid + 1;
    return xid;
  }

  private encode(w: JuteWriter, req: Req): void {
    const at = w.reserveLength();
    let xid: number;
    if (req.op === OpCode.auth) xid = Xid.AUTH;
    else if (req.op === OpCode.setWatches || req.op === OpCode.setWatches2) xid = Xid.SET_WATCHES;
    else xid = this.takeXid();
    w.int(xid).int(req.op);
    writeRequest(w, req.rec);
    w.patchLength(at);
    req.xid = xid;
    req.state = SENT;
    if (xid === Xid.AUTH) {
      (req.extra as AuthEntry).sentOn = this.generation;
      this.authSent.push(req);
    } else {
      this.inflight.push(req);
    }
  }

  private queueAuth(entry: AuthEntry): void {
    const req = new Req(
      OpCode.auth,
      { op: OpCode.auth, req: { type: 0, scheme: entry.scheme, auth: entry.auth } },
      undefined,
      '',
      0,
    );
    req.extra = entry;
    this.unsent.push(req);
    this.unsentCount++;
    this.scheduleFlush();
  }

  // ---- internals: connections ----

  private connectNext(): void {
    if (TERMINAL.has(this._state) || this.closing) return;
    const { host, roundDone } = this.provider.next();
    if (roundDone) {
      this.failedRounds++;
      const base = Math.min(this.maxRetryDelay, 50 * 2 ** Math.min(this.failedRounds, 10));
      const delay = Math.floor(base / 2 + (this.random() * base) / 2);
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.open(host);
      }, delay);
      return;
    }
    this.open(host);
  }

  private open(host: HostPort): void {
    if (TERMINAL.has(this._state) || this.closing) return;
    const timeout = this.negotiatedTimeout > 0 ? this.negotiatedTimeout : this.requestedTimeout;
    // Java waits timeout/hosts; with one host a handshake that never comes back
    // (ZooKeeper does that to connections arriving while it starts up) would
    // then use up the whole session. A third leaves time for more attempts.
    const connectTimeout =
      this.connectTimeoutOpt ?? Math.max(500, Math.floor(Math.min(timeout / this.provider.size, timeout / 3)));
    this.generation++;
    this.connectZxid = this._lastZxid;
    this.conn = new Connection(host, this.owner, {
      connectTimeout,
      maxFrameBytes: this.maxFrameBytes,
      request: {
        protocolVersion: 0,
        lastZxidSeen: this._lastZxid,
        timeOut: this.requestedTimeout,
        // Until a read-write server has seen it, a read-only session is local to its server.
        sessionId: this.seenRwServer ? this._sessionId : 0n,
        passwd: this.seenRwServer ? this.passwd : EMPTY_PASSWD,
        readOnly: this.canBeReadOnly,
      },
    });
  }

  private onConnectResponse(conn: Connection, res: ConnectResponse): void {
    if (conn !== this.conn) return;
    if (res.timeOut <= 0) {
      this.teardown('expired', `session 0x${this._sessionId.toString(16)} expired (told by ${conn.address})`);
      return;
    }
    if (res.readOnly && !this.canBeReadOnly) {
      conn.destroy(`${conn.address} is read-only and canBeReadOnly is off`);
      return;
    }
    this.negotiatedTimeout = res.timeOut;
    this._sessionId = res.sessionId;
    this.passwd = new Uint8Array(res.passwd);
    if (!res.readOnly) this.seenRwServer = true;
    this.provider.onConnected();
    this.failedRounds = 0;
    conn.startSession(res.timeOut);
    this.ready = true;
    this.prime(conn);
    this.setState(res.readOnly ? 'readOnly' : 'connected');
    if (res.readOnly && this.provider.size > 1 && this.ready) this.startRwProbe(conn);
  }

  /** Credentials, then the watches, then whatever waited for a connection. */
  private prime(conn: Connection): void {
    this.w.reset();
    for (const entry of this.authInfo) {
      const req = new Req(
        OpCode.auth,
        { op: OpCode.auth, req: { type: 0, scheme: entry.scheme, auth: entry.auth } },
        undefined,
        '',
        0,
      );
      req.extra = entry;
      this.encode(this.w, req);
    }
    if (this.watchReset && this.watches.size > 0) {
      for (const batch of this.watches.setWatchesBatches(this._lastZxid)) {
        // All of the replay goes out before any queued request, whatever the socket says.
        this.encode(this.w, new Req(batch.op, batch, undefined, '', 0));
      }
    }
    if (this.w.length > 0 && !this.writeOut(conn)) return;
    this.flush();
  }

  private onDrain(conn: Connection): void {
    if (conn !== this.conn) return;
    this.blocked = false;
    this.scheduleFlush();
  }

  private onClose(conn: Connection, reason: string): void {
    if (conn !== this.conn) return;
    this.conn = null;
    const wasReady = this.ready;
    this.ready = false;
    this.blocked = false;
    this.stopRwProbe();
    const message = `connection to ${conn.address} lost: ${reason}`;
    for (const req of this.inflight.drain()) {
      if (req.op === OpCode.closeSession) continue;
      this.fail(req, new ConnectionLossError(message, req.path));
    }
    // Credentials stay in authInfo and are sent again on the next connection.
    for (const req of this.authSent.drain()) req.state = SETTLED;
    if (this.closing) {
      this.finishClose();
      return;
    }
    if (TERMINAL.has(this._state)) return;
    if (wasReady) this.setState('disconnected', message);
    this.connectNext();
  }

  private onFrame(conn: Connection, buf: Buffer, start: number, end: number): void {
    if (conn !== this.conn) return;
    const r = new JuteReader(buf, start, end);
    if (end - start < 16) {
      conn.destroy(`reply of ${end - start} bytes is shorter than a ReplyHeader`);
      return;
    }
    const xid = r.int();
    let zxid: number;
    try {
      zxid = r.long();
    } catch {
      zxid = -1;
    }
    const err = r.int();
    switch (xid) {
      case Xid.NOTIFICATION:
        this.onNotification(conn, r, zxid);
        return;
      case Xid.PING:
        return;
      case Xid.AUTH: {
        const req = this.authSent.shift();
        if (!req) {
          conn.destroy('auth reply to no auth request');
          return;
        }
        this.onAuthReply(req, err);
        return;
      }
    }
    const req = this.inflight.shift();
    if (req === undefined || req.xid !== xid) {
      conn.destroy(`reply xid ${xid} but the oldest request in flight has xid ${req ? req.xid : 'none'}`);
      return;
    }
    if (zxid > 0 && zxid < this.connectZxid) {
      // The server let us in although it is behind what we have already seen;
      // reading from it would go back in time.
      this.fail(
        req,
        new ConnectionLossError(`${conn.address} is behind zxid 0x${this.connectZxid.toString(16)}`, req.path),
      );
      conn.destroy(`reply zxid 0x${zxid.toString(16)} is behind lastZxidSeen 0x${this.connectZxid.toString(16)}`);
      return;
    }
    if (zxid > this._lastZxid) this._lastZxid = zxid;
    this.complete(req, err, r);
  }

  private onAuthReply(req: Req, err: number): void {
    const entry = req.extra as AuthEntry;
    req.state = SETTLED;
    if (err === Err.AUTHFAILED) {
      this.teardown('authFailed', `authentication with scheme ${entry.scheme} failed`);
      return;
    }
    const waiters = entry.waiters.splice(0);
    if (err !== 0) {
      const i = this.authInfo.indexOf(entry);
      if (i >= 0) this.authInfo.splice(i, 1);
      for (const w of waiters) w.reject(createError(err));
      return;
    }
    for (const w of waiters) w.resolve();
  }

  private onNotification(conn: Connection, r: JuteReader, zxid: number): void {
    let ev;
    try {
      ev = readWatcherEvent(r);
    } catch (e) {
      conn.destroy(`bad notification: ${(e as Error).message}`);
      return;
    }
    if (ev.type === EventType.None) return;
    const watchers = this.watches.materialize(ev.type, ev.path);
    if (watchers.size === 0) return;
    const event: WatchedEvent = {
      type: ev.type as WatchedEvent['type'],
      state: ev.state,
      path: stripChroot(this.chroot, ev.path),
      zxid,
    };
    this.deliver(watchers, event);
  }

  /** Watchers run as microtasks, so they interleave with reply continuations in arrival order. */
  private deliver(watchers: Iterable<Watcher>, event: WatchedEvent): void {
    queueMicrotask(() => {
      for (const w of watchers) {
        try {
          w(event);
        } catch (e) {
          if (this.listenerCount('error') > 0) this.emit('error', e);
          else
            queueMicrotask(() => {
              throw e;
            });
        }
      }
    });
  }

  private complete(req: Req, err: number, r: JuteReader): void {
    if (req.op === OpCode.setWatches || req.op === OpCode.setWatches2) return;
    if (req.op === OpCode.closeSession) {
      this.finishClose();
      return;
    }
    if (req.state === SETTLED) return;
    let value: unknown;
    try {
      value = this.result(req, err, r);
    } catch (e) {
      this.fail(req, e instanceof DecodeError ? new MarshallingError(e.message, req.path) : e);
      return;
    }
    this.succeed(req, value);
  }

  private result(req: Req, err: number, r: JuteReader): unknown {
    const op = req.op;
    if (op === OpCode.exists) {
      if (err === Err.NONODE) {
        if (req.watcher) this.watches.add(WatchKind.exist, req.serverPath, req.watcher);
        return null;
      }
      if (err !== 0) throw createError(err, req.path);
      const stat = (readReplyBody(op, r) as { stat: Stat }).stat;
      if (req.watcher) this.watches.add(WatchKind.data, req.serverPath, req.watcher);
      return stat;
    }
    if (op === OpCode.removeWatches || op === OpCode.checkWatches) {
      const spec = req.extra as RemoveSpec | null;
      const type = (req.rec.req as { type: number }).type;
      if (
        err === Err.MARSHALLINGERROR &&
        (type === WatcherType.Persistent || type === WatcherType.PersistentRecursive)
      ) {
        // Servers before 3.9 know only Children, Data and Any; a persistent watch
        // can then only go with everything else on the path (type Any).
        if (spec && !this.removeLocally(req.serverPath, spec.watcher, spec.type)) {
          throw new NoWatcherError(undefined, req.path);
        }
        if (!this.watches.contains(req.serverPath, null, WatcherType.Any) && this.ready) {
          const any = new Req(
            OpCode.removeWatches,
            { op: OpCode.removeWatches, req: { path: req.serverPath, type: WatcherType.Any } },
            req.path,
            req.serverPath,
            0,
          );
          this.submit(any, undefined).catch(NOOP);
        }
        return undefined;
      }
      if (err !== 0) throw createError(err, req.path);
      if (spec && !this.removeLocally(req.serverPath, spec.watcher, spec.type)) {
        throw new NoWatcherError(undefined, req.path);
      }
      return undefined;
    }
    if (err !== 0) throw createError(err, req.path);
    const body = readReplyBody(op, r);
    if (r.remaining !== 0) throw new DecodeError(`${r.remaining} bytes after the reply to op ${op}`);
    switch (op) {
      case OpCode.create2:
      case OpCode.createContainer:
      case OpCode.createTTL: {
        const b = body as Create2Response;
        return { path: stripChroot(this.chroot, b.path), stat: b.stat } satisfies CreateResult;
      }
      case OpCode.getData:
      case OpCode.reconfig: {
        const b = body as GetDataResponse;
        if (req.watcher) this.watches.add(WatchKind.data, req.serverPath, req.watcher);
        const data = copyData(b.data);
        if (req.kind === KIND_CONFIG) {
          return { config: data ? data.toString('utf8') : '', data, stat: b.stat } satisfies ConfigResult;
        }
        return { data, stat: b.stat } satisfies DataResult;
      }
      case OpCode.getChildren:
        if (req.watcher) this.watches.add(WatchKind.child, req.serverPath, req.watcher);
        return (body as { children: string[] }).children;
      case OpCode.getChildren2: {
        if (req.watcher) this.watches.add(WatchKind.child, req.serverPath, req.watcher);
        const b = body as GetChildren2Response;
        return { children: b.children, stat: b.stat } satisfies ChildrenResult;
      }
      case OpCode.setData:
      case OpCode.setACL:
        return (body as { stat: Stat }).stat;
      case OpCode.getACL: {
        const b = body as GetACLResponse;
        return { acl: b.acl, stat: b.stat } satisfies ACLResult;
      }
      case OpCode.delete:
      case OpCode.sync:
        return undefined;
      case OpCode.getAllChildrenNumber:
        return (body as { totalNumber: number }).totalNumber;
      case OpCode.getEphemerals:
        return this.ephemeralsResult((body as { ephemerals: string[] }).ephemerals);
      case OpCode.addWatch: {
        const mode = (req.rec.req as { mode: number }).mode;
        const kind: WatchKindValue = mode === AddWatchMode.PERSISTENT ? WatchKind.persistent : WatchKind.recursive;
        this.watches.add(kind, req.serverPath, req.watcher!);
        return undefined;
      }
      case OpCode.whoAmI:
        return (body as { clientInfo: ClientInfo[] }).clientInfo;
      case OpCode.multi:
        return this.multiResult(req, body as WireOpResult[]);
      case OpCode.multiRead:
        return this.multiReadResult(req, body as WireOpResult[]);
      default:
        return body;
    }
  }

  private ephemeralsResult(paths: string[]): string[] {
    const chroot = this.chroot;
    if (chroot === null) return paths;
    const out: string[] = [];
    // The server matches the prefix as a string: "/app" also matches "/apple".
    for (const p of paths) if (p.startsWith(chroot + '/')) out.push(stripChroot(chroot, p));
    return out;
  }

  private multiResult(req: Req, results: WireOpResult[]): OpResult[] {
    const ops = req.extra as readonly Op[];
    if (results.length !== ops.length) {
      throw new DecodeError(`multi of ${ops.length} ops answered with ${results.length} results`);
    }
    let failed = -1;
    for (let i = 0; i < results.length; i++) {
      const res = results[i]!;
      if (res.type === -1 && res.err !== 0) {
        failed = i;
        break;
      }
    }
    if (failed >= 0) {
      const codes = results.map((x) => (x.type === -1 ? x.err : 0));
      const e = createError(codes[failed]!, ops[failed]!.path);
      e.opIndex = failed;
      e.results = codes;
      throw e;
    }
    return results.map((res): OpResult => {
      switch (res.type) {
        case OpCode.create:
          return { type: 'create', path: stripChroot(this.chroot, res.path), stat: null };
        case OpCode.create2:
          return { type: 'create', path: stripChroot(this.chroot, res.path), stat: res.stat };
        case OpCode.delete:
          return { type: 'delete' };
        case OpCode.setData:
          return { type: 'setData', stat: res.stat };
        case OpCode.check:
          return { type: 'check' };
        default:
          throw new DecodeError(`unexpected multi result type ${res.type}`);
      }
    });
  }

  private multiReadResult(req: Req, results: WireOpResult[]): ReadOpResult[] {
    const ops = req.extra as readonly ReadOp[];
    if (results.length !== ops.length) {
      throw new DecodeError(`multiRead of ${ops.length} ops answered with ${results.length} results`);
    }
    return results.map((res, i): ReadOpResult => {
      switch (res.type) {
        case OpCode.getData:
          return { type: 'getData', data: copyData(res.data), stat: res.stat };
        case OpCode.getChildren:
          return { type: 'getChildren', children: res.children };
        case -1:
          return { type: 'error', error: createError(res.err, ops[i]!.path) };
        default:
          throw new DecodeError(`unexpected multiRead result type ${res.type}`);
      }
    });
  }

  /** Removes watchers locally and tells them; false when none matched. */
  private removeLocally(serverPath: string, watcher: Watcher | null, type: WatcherTypeValue): boolean {
    const removed = this.watches.remove(serverPath, watcher, type);
    if (removed.length === 0) return false;
    const path = stripChroot(this.chroot, serverPath);
    for (const [eventType, set] of removed) {
      this.deliver(set, {
        type: eventType as WatchedEvent['type'],
        state: this.ready ? KeeperState.SyncConnected : KeeperState.Disconnected,
        path,
        zxid: -1,
      });
    }
    return true;
  }

  // ---- internals: state ----

  private setState(state: SessionState, reason?: string): void {
    if (state === this._state) return;
    const previous = this._state;
    this._state = state;
    this.emitState(state, previous, reason);
  }

  private emitState(state: SessionState, previous: SessionState, reason?: string): void {
    for (const hook of [...this[STATE_HOOKS]]) hook(state);
    this.emit('state', state, previous);
    switch (state) {
      case 'connected':
        this.emit('connected');
        break;
      case 'readOnly':
        this.emit('readOnly');
        break;
      case 'disconnected':
        this.emit('disconnected', reason ?? 'connection lost');
        break;
      case 'expired':
        this.emit('expired');
        break;
      case 'authFailed':
        this.emit('authFailed');
        break;
      case 'closed':
        this.emit('closed');
        break;
    }
  }

  /** Ends the client for good: fail everything outstanding with the state's error. */
  private teardown(state: 'expired' | 'authFailed' | 'closed', reason?: string): void {
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.stopRwProbe();
    const previous = this._state;
    const wasTerminal = TERMINAL.has(previous);
    // Set first, so calls made from the callbacks below already see the end.
    if (!wasTerminal) this._state = state;
    const conn = this.conn;
    this.conn = null;
    this.ready = false;
    if (conn) conn.destroy(reason ?? state);
    const make = (path: string | undefined): ZooKeeperError =>
      state === 'expired'
        ? new SessionExpiredError(reason, path)
        : state === 'authFailed'
          ? new AuthFailedError(reason, path)
          : new ClientClosedError(undefined, path);
    for (const req of this.inflight.drain()) this.fail(req, make(req.path));
    for (;;) {
      const req = this.unsent.shift();
      if (req === undefined) break;
      this.fail(req, make(req.path));
    }
    this.unsentCount = 0;
    this.unsentBytes = 0;
    this.authSent.drain();
    for (const entry of this.authInfo) for (const w of entry.waiters.splice(0)) w.reject(make(undefined));
    this.watches.clear();
    if (!wasTerminal) this.emitState(state, previous, reason);
  }

  // ---- internals: read-only mode ----

  private startRwProbe(conn: Connection): void {
    this.stopRwProbe();
    this.rwProbeDelay = 100;
    const round = async (): Promise<void> => {
      this.rwProbeTimer = undefined;
      if (this.conn !== conn || !this.ready) return;
      for (const host of this.provider.hosts) {
        if (host === conn.host) continue;
        if (await probeReadWrite(host, 1000)) {
          if (this.conn !== conn) return;
          this.provider.preferNext(host);
          conn.destroy(`leaving read-only ${conn.address} for read-write ${host.host}:${host.port}`);
          return;
        }
        if (this.conn !== conn) return;
      }
      this.rwProbeDelay = Math.min(this.rwProbeDelay * 2, 60_000);
      this.rwProbeTimer = setTimeout(() => void round(), this.rwProbeDelay);
      this.rwProbeTimer.unref();
    };
    this.rwProbeTimer = setTimeout(() => void round(), this.rwProbeDelay);
    this.rwProbeTimer.unref();
  }

  private stopRwProbe(): void {
    if (this.rwProbeTimer !== undefined) clearTimeout(this.rwProbeTimer);
    this.rwProbeTimer = undefined;
  }
}
