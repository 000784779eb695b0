// The replicated state machine: the tree plus the session table, changed only
// by applying committed entries in log order. Deterministic: it reads nothing
// but its own state and the entry.
import { JuteReader } from '../jute/buffer.js';
import {
  CreateMode,
  Err,
  EventType,
  MAX_TTL,
  OpCode,
  Perms,
  ZkError,
  CONTAINER_EPHEMERAL_OWNER,
} from '../jute/constants.js';
import { readRequest, type CreateRequest, type Id, type MultiOp, type Stat } from '../jute/records.js';
import { checkAcl, fixupAcl } from '../tree/acl.js';
import {
  CONFIG_PATH,
  DataTree,
  ephemeralKind,
  LIMIT_NODE,
  parseStatsTrack,
  QUOTA_PATH,
  STAT_NODE,
  statOf,
  ttlOf,
  ttlOwner,
  type NodeRecord,
  type ZNode,
} from '../tree/datatree.js';
import { invalidPathReason, parentOf, sequenceSuffix } from '../tree/path.js';
import { decodeAuth, decodeCreateSession, decodePath, EntryKind, type Entry } from './entry.js';

export interface Session {
  id: bigint;
  timeout: number;
  passwd: Uint8Array;
  clientIp: string;
  authIds: Id[];
}

export interface WatchEvent {
  type: number;
  path: string;
}

export interface MultiResult {
  /** The op's type, or -1 (error) for every result of a failed multi. */
  type: number;
  err: number;
  path?: string;
  stat?: Stat;
}

export type Reply =
  | null
  | { kind: 'path'; path: string }
  | { kind: 'pathStat'; path: string; stat: Stat }
  | { kind: 'stat'; stat: Stat }
  | { kind: 'multi'; results: MultiResult[] };

export interface ApplyResult {
  err: number;
  reply: Reply;
  /** Watch triggers in the order ZooKeeper fires them. */
  events: WatchEvent[];
  /** Set when this entry ended a session (close or expiry). */
  closedSession: bigint | null;
  createdSession: Session | null;
}

export interface StateOptions {
  extendedTypes: boolean;
  /** Largest znode data accepted (jute.maxbuffer); bigger gets BADARGUMENTS. */
  maxDataBytes: number;
  /** ZooKeeper's enforceQuota: hard limits refuse writes with QUOTAEXCEEDED. */
  enforceQuota?: boolean;
}

type Undo =
  | { kind: 'create'; path: string; parentCversion: number; parentPzxid: number }
  | { kind: 'delete'; path: string; node: NodeRecord; parentPzxid: number }
  | { kind: 'set'; path: string; node: ZNode; data: Uint8Array | null; version: number; mzxid: number; mtime: number };

const NO_EVENTS: WatchEvent[] = [];
const SPECIAL_PATHS = new Set(['/', '/zookeeper', '/zookeeper/quota', '/zookeeper/config']);

export class StateMachine {
  readonly tree: DataTree;
  readonly sessions = new Map<bigint, Session>();
  lastZxid = 0;
  private undo: Undo[] | null = null;

  constructor(readonly opts: StateOptions) {
    this.tree = new DataTree(opts.extendedTypes);
  }

  apply(e: Entry): ApplyResult {
    if (e.zxid <= this.lastZxid && e.kind !== EntryKind.noop) {
      throw new Error(`apply out of order: zxid ${e.zxid} after ${this.lastZxid}`);
    }
    this.lastZxid = Math.max(this.lastZxid, e.zxid);
    switch (e.kind) {
      case EntryKind.createSession:
        return this.applyCreateSession(e);
      case EntryKind.closeSession:
        return this.applyCloseSession(e);
      case EntryKind.addAuth: {
        const s = this.sessions.get(e.sessionId);
        if (!s) return result(Err.SESSIONEXPIRED);
        const { scheme, id } = decodeAuth(e.body);
        if (!s.authIds.some((a) => a.scheme === scheme && a.id === id)) s.authIds.push({ scheme, id });
        return result(Err.OK);
      }
      case EntryKind.expireNode:
        return this.applyExpireNode(e, decodePath(e.body));
      case EntryKind.noop:
        return result(Err.OK);
      case EntryKind.config: {
        // Not a client's write: membership comes from the log, so no ACL applies.
        const n = this.tree.get(CONFIG_PATH)!;
        this.tree.setData(CONFIG_PATH, n, e.body, e.zxid, e.time);
        const r = result(Err.OK);
        r.events = [{ type: EventType.NodeDataChanged, path: CONFIG_PATH }];
        return r;
      }
      case EntryKind.request:
        return this.applyRequest(e);
      default:
        throw new Error(`unknown entry kind ${e.kind} at zxid ${e.zxid}`);
    }
  }

  private applyCreateSession(e: Entry): ApplyResult {
    const { timeout, passwd, clientIp } = decodeCreateSession(e.body);
    const authIds: Id[] = clientIp ? [{ scheme: 'ip', id: clientIp }] : [];
    const s: Session = { id: e.sessionId, timeout, passwd, clientIp, authIds };
    this.sessions.set(e.sessionId, s);
    const r = result(Err.OK);
    r.createdSession = s;
    return r;
  }

  private applyCloseSession(e: Entry): ApplyResult {
    const events: WatchEvent[] = [];
    if (!this.sessions.delete(e.sessionId)) {
      const r = result(Err.OK);
      r.closedSession = e.sessionId;
      return r;
    }
    const owned = this.tree.ephemerals.get(e.sessionId);
    if (owned) {
      // Deepest first never matters (ephemerals have no children), but a stable order keeps replicas' events identical.
      for (const path of [...owned].sort()) {
        this.tree.remove(path, e.zxid);
        events.push(
          { type: EventType.NodeDeleted, path },
          { type: EventType.NodeChildrenChanged, path: parentOf(path) },
        );
      }
    }
    return { err: Err.OK, reply: null, events, closedSession: e.sessionId, createdSession: null };
  }

  private applyExpireNode(e: Entry, path: string): ApplyResult {
    const n = this.tree.get(path);
    if (!n || n.numChildren > 0) return result(Err.NOTEMPTY);
    const kind = ephemeralKind(n.ephemeralOwner, this.opts.extendedTypes);
    if (kind === 'container') {
      if (n.cversion === 0) return result(Err.BADVERSION); // never had a child: not yet a candidate
    } else if (kind === 'ttl') {
      if (e.time - n.mtime <= ttlOf(n.ephemeralOwner)) return result(Err.BADVERSION);
    } else {
      return result(Err.BADVERSION);
    }
    const events: WatchEvent[] = [];
    this.deleteNode(path, e.zxid, events);
    return { err: Err.OK, reply: null, events, closedSession: null, createdSession: null };
  }

  private applyRequest(e: Entry): ApplyResult {
    const session = this.sessions.get(e.sessionId);
    if (!session) return result(Err.SESSIONEXPIRED);
    let req;
    try {
      req = readRequest(e.op, new JuteReader(e.body));
    } catch {
      return result(Err.MARSHALLINGERROR);
    }
    const events: WatchEvent[] = [];
    if (req.op === OpCode.multi) return this.applyMulti(e, session, req.req);
    try {
      const reply = this.applyOp(req as MultiOp, e, session, events);
      return { err: Err.OK, reply, events, closedSession: null, createdSession: null };
    } catch (err) {
      if (err instanceof ZkError) return result(err.code);
      throw err;
    }
  }

  private applyMulti(e: Entry, session: Session, received: MultiOp[]): ApplyResult {
    // ZooKeeper rebuilds each create of a multi from its flags (Op.create): container and TTL
    // modes pick their own opcode whatever the header said, and unknown flags fail the whole request.
    const ops: MultiOp[] = [];
    for (const op of received) {
      if (op.op === OpCode.create || op.op === OpCode.create2 || op.op === OpCode.createContainer) {
        const flags = op.req.flags;
        if (flags < CreateMode.PERSISTENT || flags > CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL) {
          return result(Err.MARSHALLINGERROR);
        }
        if (flags === CreateMode.CONTAINER) ops.push({ op: OpCode.createContainer, req: op.req });
        else if (flags === CreateMode.PERSISTENT_WITH_TTL || flags === CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL) {
          ops.push({ op: OpCode.createTTL, req: op.req });
        } else ops.push(op);
      } else ops.push(op);
    }
    const events: WatchEvent[] = [];
    const replies: Reply[] = [];
    this.undo = [];
    let failedAt = -1;
    let failCode = 0;
    try {
      for (let i = 0; i < ops.length; i++) {
        try {
          replies.push(this.applyOp(ops[i]!, e, session, events));
        } catch (err) {
          if (!(err instanceof ZkError)) throw err;
          failedAt = i;
          failCode = err.code;
          break;
        }
      }
      if (failedAt >= 0) this.rollback();
    } finally {
      this.undo = null;
    }
    if (failedAt >= 0) {
      // ZooKeeper's shape: OK before the failure, its code at it, RUNTIMEINCONSISTENCY after.
      const results = ops.map((_, i) => ({
        type: -1,
        err: i < failedAt ? Err.OK : i === failedAt ? failCode : Err.RUNTIMEINCONSISTENCY,
      }));
      return {
        err: Err.OK,
        reply: { kind: 'multi', results },
        events: NO_EVENTS,
        closedSession: null,
        createdSession: null,
      };
    }
    const results: MultiResult[] = ops.map((op, i) => {
      const r = replies[i]!;
      // ZooKeeper answers every create flavour that returns a Stat as create2.
      const type = op.op === OpCode.createTTL || op.op === OpCode.createContainer ? OpCode.create2 : op.op;
      const out: MultiResult = { type, err: 0 };
      if (r?.kind === 'path') out.path = r.path;
      else if (r?.kind === 'pathStat') {
        out.path = r.path;
        out.stat = r.stat;
      } else if (r?.kind === 'stat') out.stat = r.stat;
      return out;
    });
    return { err: Err.OK, reply: { kind: 'multi', results }, events, closedSession: null, createdSession: null };
  }

  private rollback(): void {
    const undo = this.undo!;
    for (let i = undo.length - 1; i >= 0; i--) {
      const u = undo[i]!;
      switch (u.kind) {
        case 'create': {
          const parent = this.tree.get(parentOf(u.path))!;
          this.tree.remove(u.path, 0);
          parent.cversion = u.parentCversion;
          parent.pzxid = u.parentPzxid;
          break;
        }
        case 'delete':
          this.tree.restore(u.path, u.node, u.parentPzxid);
          break;
        case 'set':
          this.tree.replaceData(u.path, u.node, u.data);
          u.node.version = u.version;
          u.node.mzxid = u.mzxid;
          u.node.mtime = u.mtime;
          break;
      }
    }
  }

  private node(path: string): ZNode {
    const n = this.tree.get(path);
    if (!n) throw new ZkError(Err.NONODE);
    return n;
  }

  private applyOp(op: MultiOp, e: Entry, s: Session, events: WatchEvent[]): Reply {
    switch (op.op) {
      case OpCode.create:
      case OpCode.create2:
      case OpCode.createContainer:
      case OpCode.createTTL: {
        const { path, stat } = this.create(op.op, op.req, e, s, events);
        return op.op === OpCode.create ? { kind: 'path', path } : { kind: 'pathStat', path, stat };
      }
      case OpCode.delete: {
        const { path, version } = op.req;
        if (path.lastIndexOf('/') === -1 || path.includes('\u0000') || SPECIAL_PATHS.has(path)) {
          throw new ZkError(Err.BADARGUMENTS);
        }
        const parent = this.node(parentOf(path));
        checkAcl(this.tree.aclOf(parent), Perms.DELETE, s.authIds);
        const n = this.node(path);
        checkVersion(n.version, version);
        if (n.numChildren > 0) throw new ZkError(Err.NOTEMPTY);
        this.deleteNode(path, e.zxid, events);
        return null;
      }
      case OpCode.deleteContainer:
        throw new ZkError(Err.BADARGUMENTS);
      case OpCode.setData: {
        const { path, data, version } = op.req;
        if (invalidPathReason(path) !== null) throw new ZkError(Err.BADARGUMENTS);
        const n = this.node(path);
        checkAcl(this.tree.aclOf(n), Perms.WRITE, s.authIds);
        this.checkQuota(path, (data?.length ?? 0) - n.data.length, 0);
        checkVersion(n.version, version);
        if (data !== null && data.length > this.opts.maxDataBytes) throw new ZkError(Err.BADARGUMENTS);
        this.undo?.push({
          kind: 'set',
          path,
          node: n,
          data: n.dataOrNull,
          version: n.version,
          mzxid: n.mzxid,
          mtime: n.mtime,
        });
        this.tree.setData(path, n, data, e.zxid, e.time);
        events.push({ type: EventType.NodeDataChanged, path });
        return { kind: 'stat', stat: statOf(n) };
      }
      case OpCode.setACL: {
        const { path, acl, version } = op.req;
        if (invalidPathReason(path) !== null) throw new ZkError(Err.BADARGUMENTS);
        const fixed = fixupAcl(acl, s.authIds);
        const n = this.node(path);
        checkAcl(this.tree.aclOf(n), Perms.ADMIN, s.authIds);
        checkVersion(n.aversion, version);
        this.tree.setAcl(n, fixed);
        return { kind: 'stat', stat: statOf(n) };
      }
      case OpCode.check: {
        const { path, version } = op.req;
        if (invalidPathReason(path) !== null) throw new ZkError(Err.BADARGUMENTS);
        const n = this.node(path);
        checkAcl(this.tree.aclOf(n), Perms.READ, s.authIds);
        checkVersion(n.version, version);
        return { kind: 'stat', stat: statOf(n) };
      }
      default:
        // Reads never reach the log; anything else here is a client sending a read op inside multi.
        throw new ZkError(Err.UNIMPLEMENTED);
    }
  }

  private create(
    op: number,
    req: CreateRequest,
    e: Entry,
    s: Session,
    events: WatchEvent[],
  ): { path: string; stat: Stat } {
    const mode = req.flags;
    if (mode < CreateMode.PERSISTENT || mode > CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL) {
      throw new ZkError(Err.BADARGUMENTS);
    }
    const isTtl = mode === CreateMode.PERSISTENT_WITH_TTL || mode === CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL;
    const isSequential =
      mode === CreateMode.PERSISTENT_SEQUENTIAL ||
      mode === CreateMode.EPHEMERAL_SEQUENTIAL ||
      mode === CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL;
    const isEphemeral = mode === CreateMode.EPHEMERAL || mode === CreateMode.EPHEMERAL_SEQUENTIAL;
    if (isTtl && !this.opts.extendedTypes) throw new ZkError(Err.UNIMPLEMENTED);
    if (isTtl ? req.ttl <= 0 || req.ttl > MAX_TTL : req.ttl >= 0) throw new ZkError(Err.BADARGUMENTS);
    if (op === OpCode.createTTL && !isTtl) throw new ZkError(Err.BADARGUMENTS);
    let path = req.path;
    const slash = path.lastIndexOf('/');
    if (slash === -1 || path.indexOf('\u0000') !== -1) throw new ZkError(Err.BADARGUMENTS);
    const data = req.data;
    if (data !== null && data.length > this.opts.maxDataBytes) throw new ZkError(Err.BADARGUMENTS);
    const acl = fixupAcl(req.acl, s.authIds);
    const parentPath = slash === 0 ? '/' : path.substring(0, slash);
    const parent = this.tree.get(parentPath);
    if (!parent) throw new ZkError(Err.NONODE);
    checkAcl(this.tree.aclOf(parent), Perms.CREATE, s.authIds);
    if (isSequential) path += sequenceSuffix(parent.cversion);
    if (invalidPathReason(path) !== null) throw new ZkError(Err.BADARGUMENTS);
    if (this.tree.get(path)) throw new ZkError(Err.NODEEXISTS);
    if (ephemeralKind(parent.ephemeralOwner, this.opts.extendedTypes) === 'ephemeral') {
      throw new ZkError(Err.NOCHILDRENFOREPHEMERALS);
    }
    this.checkQuota(path, data?.length ?? 0, 1);
    let owner = 0n;
    if (op === OpCode.createContainer) owner = CONTAINER_EPHEMERAL_OWNER;
    else if (op === OpCode.createTTL) owner = ttlOwner(req.ttl);
    else if (isEphemeral) owner = s.id;
    this.undo?.push({ kind: 'create', path, parentCversion: parent.cversion, parentPzxid: parent.pzxid });
    const n = this.tree.create(path, data, acl, owner, e.zxid, e.time);
    events.push({ type: EventType.NodeCreated, path }, { type: EventType.NodeChildrenChanged, path: parentPath });
    return { path, stat: statOf(n) };
  }

  /** ZooKeeperServer.checkQuota: only hard limits refuse, and only with enforceQuota. */
  private checkQuota(path: string, bytesDiff: number, countDiff: number): void {
    if (!this.opts.enforceQuota) return;
    const prefix = this.tree.quotaPrefix(path);
    if (prefix === null) return;
    const limits = this.tree.get(`${QUOTA_PATH}${prefix}/${LIMIT_NODE}`);
    const usage = this.tree.get(`${QUOTA_PATH}${prefix}/${STAT_NODE}`);
    if (!limits || !usage) return;
    const { countHardLimit: countLimit, byteHardLimit: byteLimit } = parseStatsTrack(limits.data);
    const current = parseStatsTrack(usage.data);
    if (countDiff !== 0 && countLimit > -1 && current.count + countDiff > countLimit)
      throw new ZkError(Err.QUOTAEXCEEDED);
    if (bytesDiff !== 0 && byteLimit > -1 && current.bytes + bytesDiff > byteLimit)
      throw new ZkError(Err.QUOTAEXCEEDED);
  }

  private deleteNode(path: string, zxid: number, events: WatchEvent[]): void {
    const parentPzxid = this.tree.get(parentOf(path))!.pzxid;
    const node = this.tree.remove(path, zxid);
    this.undo?.push({ kind: 'delete', path, node, parentPzxid });
    events.push({ type: EventType.NodeDeleted, path }, { type: EventType.NodeChildrenChanged, path: parentOf(path) });
  }
}

function checkVersion(current: number, expected: number): void {
  if (expected !== -1 && expected !== current) throw new ZkError(Err.BADVERSION);
}

function result(err: number): ApplyResult {
  return { err, reply: null, events: NO_EVENTS, closedSession: null, createdSession: null };
}
