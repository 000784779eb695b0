// The replicated tree of znodes (ZooKeeper's DataTree): storage and the
// primitive mutations. Validation and ACLs live in txn/, which calls these
// only once a change is known to be legal.
import { CONTAINER_EPHEMERAL_OWNER, TTL_MASK } from '../jute/constants.js';
import type { ACL, Stat } from '../jute/records.js';
import { AclCache, OPEN_ACL_UNSAFE, READ_ACL_UNSAFE } from './acl.js';
import { baseName, joinPath, parentOf } from './path.js';

const EMPTY = new Uint8Array(0);

export class ZNode {
  children: Set<string> | null = null;
  constructor(
    public data: Uint8Array,
    public acl: number,
    public czxid: number,
    public mzxid: number,
    public ctime: number,
    public mtime: number,
    public version: number,
    public cversion: number,
    public aversion: number,
    public ephemeralOwner: bigint,
    public pzxid: number,
  ) {}

  get numChildren(): number {
    return this.children === null ? 0 : this.children.size;
  }
}

export type EphemeralKind = 'normal' | 'ephemeral' | 'container' | 'ttl';

/** EphemeralType.get: TTL owners are only TTL when extended types are enabled. */
export function ephemeralKind(owner: bigint, extendedTypes = true): EphemeralKind {
  if (owner === 0n) return 'normal';
  if (owner === CONTAINER_EPHEMERAL_OWNER) return 'container';
  if (extendedTypes && (BigInt.asUintN(64, owner) & TTL_MASK) === TTL_MASK) return 'ttl';
  return 'ephemeral';
}

export function ttlOf(owner: bigint): number {
  return Number(BigInt.asUintN(64, owner) & 0xffffffffffn);
}

export function ttlOwner(ttl: number): bigint {
  return BigInt.asIntN(64, TTL_MASK | BigInt(ttl));
}

export function statOf(n: ZNode): Stat {
  return {
    czxid: n.czxid,
    mzxid: n.mzxid,
    ctime: n.ctime,
    mtime: n.mtime,
    version: n.version,
    cversion: n.cversion,
    aversion: n.aversion,
    ephemeralOwner: n.ephemeralOwner,
    dataLength: n.data.length,
    numChildren: n.numChildren,
    pzxid: n.pzxid,
  };
}

export const ZOOKEEPER_PATH = '/zookeeper';
export const QUOTA_PATH = '/zookeeper/quota';
export const CONFIG_PATH = '/zookeeper/config';
export const LIMIT_NODE = 'zookeeper_limits';
export const STAT_NODE = 'zookeeper_stats';

const utf8 = new TextEncoder();
function encodeUtf8(s: string): Uint8Array {
  return utf8.encode(s);
}

/** StatsTrack's text: `count=N,bytes=M[=;key=value...]`; missing fields read as -1. */
export function parseStatsTrack(data: Uint8Array): { count: number; bytes: number } {
  const text = new TextDecoder().decode(data);
  const count = /(?:^|,)count=(-?\d+)/.exec(text);
  const bytes = /(?:^|,)bytes=(-?\d+)/.exec(text);
  return { count: count ? Number(count[1]) : -1, bytes: bytes ? Number(bytes[1]) : -1 };
}

export class DataTree {
  readonly nodes = new Map<string, ZNode>();
  readonly acls = new AclCache();
  /** session id -> paths of its ephemerals */
  readonly ephemerals = new Map<bigint, Set<string>>();
  readonly containers = new Set<string>();
  readonly ttls = new Set<string>();
  dataBytes = 0;
  /** Paths that have a zookeeper_limits node under /zookeeper/quota (ZooKeeper's pTrie). */
  readonly quotaRoots = new Set<string>();
  /** Set while a snapshot loads: its stats nodes already hold the right counts. */
  loading = false;

  constructor(readonly extendedTypes = false) {
    const open = this.acls.intern(OPEN_ACL_UNSAFE);
    const root = new ZNode(EMPTY, open, 0, 0, 0, 0, 0, 0, 0, 0n, 0);
    this.nodes.set('/', root);
    // The system nodes exist in every tree, as in ZooKeeper, with zxid 0.
    for (const p of [ZOOKEEPER_PATH, QUOTA_PATH]) this.insert(p, EMPTY, this.acls.intern(OPEN_ACL_UNSAFE), 0n, 0, 0, false);
    // Reconfig's node is world-readable only (ZOOKEEPER-2014); ZooKeeper leaves its aversion at -1.
    const config = this.insert(CONFIG_PATH, EMPTY, this.acls.intern(READ_ACL_UNSAFE), 0n, 0, 0, false);
    config.aversion = -1;
  }

  get(path: string): ZNode | undefined {
    return this.nodes.get(path);
  }

  get size(): number {
    return this.nodes.size;
  }

  aclOf(n: ZNode): readonly ACL[] {
    return this.acls.get(n.acl);
  }

  /**
   * Adds a node under an existing parent. `bumpParent` raises the parent's
   * cversion and pzxid as a client create does; the system nodes skip it.
   */
  insert(
    path: string,
    data: Uint8Array,
    aclIdx: number,
    ephemeralOwner: bigint,
    zxid: number,
    time: number,
    bumpParent = true,
  ): ZNode {
    const parent = this.nodes.get(parentOf(path))!;
    const node = new ZNode(data, aclIdx, zxid, zxid, time, time, 0, 0, 0, ephemeralOwner, zxid);
    this.nodes.set(path, node);
    (parent.children ??= new Set()).add(baseName(path));
    if (bumpParent) {
      parent.cversion++;
      parent.pzxid = zxid;
    }
    this.dataBytes += data.length;
    this.index(path, ephemeralOwner);
    if (!this.loading) this.quotaOnInsert(path, data.length);
    return node;
  }

  // ---- quotas: usage kept in /zookeeper/quota/<path>/zookeeper_stats as ZooKeeper keeps it ----

  private quotaOnInsert(path: string, bytes: number): void {
    const parent = parentOf(path);
    if (parent.startsWith(QUOTA_PATH + '/')) {
      const name = baseName(path);
      if (name === LIMIT_NODE) this.quotaRoots.add(parent.substring(QUOTA_PATH.length));
      if (name === STAT_NODE) this.recountQuota(parent.substring(QUOTA_PATH.length));
    }
    const prefix = this.quotaPrefix(path);
    if (prefix !== null) this.addQuotaUsage(prefix, bytes, 1);
  }

  private quotaOnRemove(path: string, bytes: number): void {
    const parent = parentOf(path);
    if (parent.startsWith(QUOTA_PATH + '/') && baseName(path) === LIMIT_NODE) {
      this.quotaRoots.delete(parent.substring(QUOTA_PATH.length));
    }
    const prefix = this.quotaPrefix(path);
    if (prefix !== null) this.addQuotaUsage(prefix, -bytes, -1);
  }

  /** The deepest ancestor-or-self of `path` with a quota; the root never has one. */
  quotaPrefix(path: string): string | null {
    if (this.quotaRoots.size === 0 || path.startsWith(ZOOKEEPER_PATH + '/') || path === ZOOKEEPER_PATH) return null;
    for (let p = path; p !== '/'; p = parentOf(p)) if (this.quotaRoots.has(p)) return p;
    return null;
  }

  private writeQuotaStats(prefix: string, count: number, bytes: number): void {
    const stat = this.nodes.get(QUOTA_PATH + prefix + '/' + STAT_NODE);
    if (!stat) return;
    const data = encodeUtf8(`count=${count},bytes=${bytes}`);
    this.dataBytes += data.length - stat.data.length;
    stat.data = data;
  }

  private addQuotaUsage(prefix: string, bytesDiff: number, countDiff: number): void {
    const stat = this.nodes.get(QUOTA_PATH + prefix + '/' + STAT_NODE);
    if (!stat) return;
    const { count, bytes } = parseStatsTrack(stat.data);
    this.writeQuotaStats(prefix, count + countDiff, bytes + bytesDiff);
  }

  private recountQuota(prefix: string): void {
    let count = 0;
    let bytes = 0;
    const stack = [prefix];
    while (stack.length > 0) {
      const p = stack.pop()!;
      const n = this.nodes.get(p);
      if (!n) continue;
      count++;
      bytes += n.data.length;
      if (n.children !== null) for (const c of n.children) stack.push(joinPath(p, c));
    }
    this.writeQuotaStats(prefix, count, bytes);
  }

  /** After a snapshot load: rebuild the quota roots from the limit nodes. */
  rebuildQuotaRoots(): void {
    this.quotaRoots.clear();
    for (const path of this.nodes.keys()) {
      if (path.startsWith(QUOTA_PATH + '/') && baseName(path) === LIMIT_NODE) {
        this.quotaRoots.add(parentOf(path).substring(QUOTA_PATH.length));
      }
    }
  }

  private index(path: string, owner: bigint): void {
    switch (ephemeralKind(owner, this.extendedTypes)) {
      case 'normal':
        return;
      case 'container':
        this.containers.add(path);
        return;
      case 'ttl':
        this.ttls.add(path);
        return;
      case 'ephemeral': {
        let set = this.ephemerals.get(owner);
        if (!set) this.ephemerals.set(owner, (set = new Set()));
        set.add(path);
      }
    }
  }

  create(path: string, data: Uint8Array, acl: readonly ACL[], ephemeralOwner: bigint, zxid: number, time: number): ZNode {
    return this.insert(path, data, this.acls.intern(acl), ephemeralOwner, zxid, time);
  }

  /** Removes a childless node; the parent's pzxid moves, its cversion does not (as in ZooKeeper). */
  remove(path: string, zxid: number): ZNode {
    const node = this.nodes.get(path)!;
    const parent = this.nodes.get(parentOf(path))!;
    parent.children!.delete(baseName(path));
    if (parent.children!.size === 0) parent.children = null;
    if (zxid > parent.pzxid) parent.pzxid = zxid;
    this.nodes.delete(path);
    this.acls.release(node.acl);
    this.dataBytes -= node.data.length;
    this.quotaOnRemove(path, node.data.length);
    switch (ephemeralKind(node.ephemeralOwner, this.extendedTypes)) {
      case 'container':
        this.containers.delete(path);
        break;
      case 'ttl':
        this.ttls.delete(path);
        break;
      case 'ephemeral': {
        const set = this.ephemerals.get(node.ephemeralOwner);
        if (set) {
          set.delete(path);
          if (set.size === 0) this.ephemerals.delete(node.ephemeralOwner);
        }
        break;
      }
      default:
    }
    return node;
  }

  /** Puts back a node taken out by remove (multi rollback). */
  restore(path: string, node: ZNode, parentPzxid: number): void {
    const parent = this.nodes.get(parentOf(path))!;
    (parent.children ??= new Set()).add(baseName(path));
    parent.pzxid = parentPzxid;
    this.nodes.set(path, node);
    this.acls.intern(this.acls.get(node.acl));
    this.dataBytes += node.data.length;
    this.index(path, node.ephemeralOwner);
    this.quotaOnInsert(path, node.data.length);
  }

  setData(path: string, node: ZNode, data: Uint8Array, zxid: number, time: number): void {
    this.replaceData(path, node, data);
    node.version++;
    node.mzxid = zxid;
    node.mtime = time;
  }

  /** Swaps a node's bytes, keeping size and quota accounting right (also used by multi rollback). */
  replaceData(path: string, node: ZNode, data: Uint8Array): void {
    const diff = data.length - node.data.length;
    this.dataBytes += diff;
    node.data = data;
    if (diff !== 0) {
      const prefix = this.quotaPrefix(path);
      if (prefix !== null) this.addQuotaUsage(prefix, diff, 0);
    }
  }

  setAcl(node: ZNode, acl: readonly ACL[]): void {
    const next = this.acls.intern(acl);
    this.acls.release(node.acl);
    node.acl = next;
    node.aversion++;
  }

  childrenOf(node: ZNode): string[] {
    return node.children === null ? [] : Array.from(node.children);
  }

  /** All descendants of `path`, not counting itself. */
  countDescendants(path: string): number {
    const start = this.nodes.get(path);
    if (!start) return 0;
    let count = 0;
    const stack: string[] = [path];
    while (stack.length > 0) {
      const p = stack.pop()!;
      const n = this.nodes.get(p)!;
      if (n.children === null) continue;
      for (const c of n.children) {
        count++;
        stack.push(joinPath(p, c));
      }
    }
    return count;
  }
}
