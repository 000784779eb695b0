// The replicated tree of znodes (ZooKeeper's DataTree): storage and the
// primitive mutations. Validation and ACLs live in txn/, which calls these
// only once a change is known to be legal.
//
// Memory is the point of this layout. A znode is a slot number: its Stat
// numbers live in typed-array columns, its data in shared append-only slabs,
// its children in sibling links, and its path string once (the key of the
// path index). In Node 20 an object per znode with a Buffer of its own costs
// about 800 bytes at 100 bytes of data; this costs about a third of that.
import { CONTAINER_EPHEMERAL_OWNER, TTL_MASK } from '../jute/constants.js';
import type { ACL, Stat } from '../jute/records.js';
import { AclCache, OPEN_ACL_UNSAFE, READ_ACL_UNSAFE } from './acl.js';
import { baseName, parentOf } from './path.js';

const EMPTY = new Uint8Array(0);
const NONE = -1;
/** lenCol value of a znode whose data is null, which ZooKeeper keeps apart from empty. */
const NULL_DATA = -1;
const SLAB_BYTES = 8 * 1024 * 1024;

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

export const ZOOKEEPER_PATH = '/zookeeper';
export const QUOTA_PATH = '/zookeeper/quota';
export const CONFIG_PATH = '/zookeeper/config';
export const LIMIT_NODE = 'zookeeper_limits';
export const STAT_NODE = 'zookeeper_stats';

const utf8 = new TextEncoder();

/** StatsTrack's text: `count=N,bytes=M[=;key=value...]`; missing fields read as -1. */
export interface StatsTrack {
  count: number;
  bytes: number;
  countHardLimit: number;
  byteHardLimit: number;
}

const textDecoder = new TextDecoder();
const STATS_FIELD = /(?:^|[,;=])(count|bytes|countHardLimit|byteHardLimit)=(-?\d+)/g;

export function parseStatsTrack(data: Uint8Array): StatsTrack {
  const out: StatsTrack = { count: -1, bytes: -1, countHardLimit: -1, byteHardLimit: -1 };
  for (const m of textDecoder.decode(data).matchAll(STATS_FIELD)) out[m[1] as keyof StatsTrack] = Number(m[2]);
  return out;
}

/** Everything about a znode but its place in the tree: for multi rollback and snapshots. */
export interface NodeRecord {
  data: Uint8Array | null;
  acl: readonly ACL[];
  czxid: number;
  mzxid: number;
  ctime: number;
  mtime: number;
  version: number;
  cversion: number;
  aversion: number;
  ephemeralOwner: bigint;
  pzxid: number;
}

/**
 * A handle on one znode, made on demand. Valid until the node is removed;
 * holding one keeps nothing alive.
 */
export class ZNode {
  constructor(
    private readonly t: DataTree,
    readonly slot: number,
  ) {}
  get data(): Uint8Array {
    return this.t.dataOf(this.slot);
  }
  get acl(): number {
    return this.t.aclCol[this.slot]!;
  }
  get czxid(): number {
    return this.t.czxidCol[this.slot]!;
  }
  get mzxid(): number {
    return this.t.mzxidCol[this.slot]!;
  }
  set mzxid(v: number) {
    this.t.mzxidCol[this.slot] = v;
  }
  get ctime(): number {
    return this.t.ctimeCol[this.slot]!;
  }
  get mtime(): number {
    return this.t.mtimeCol[this.slot]!;
  }
  set mtime(v: number) {
    this.t.mtimeCol[this.slot] = v;
  }
  get version(): number {
    return this.t.versionCol[this.slot]!;
  }
  set version(v: number) {
    this.t.versionCol[this.slot] = v;
  }
  get cversion(): number {
    return this.t.cversionCol[this.slot]!;
  }
  set cversion(v: number) {
    this.t.cversionCol[this.slot] = v;
  }
  get aversion(): number {
    return this.t.aversionCol[this.slot]!;
  }
  set aversion(v: number) {
    this.t.aversionCol[this.slot] = v;
  }
  get ephemeralOwner(): bigint {
    return this.t.ownerCol[this.slot]!;
  }
  get pzxid(): number {
    return this.t.pzxidCol[this.slot]!;
  }
  set pzxid(v: number) {
    this.t.pzxidCol[this.slot] = v;
  }
  get numChildren(): number {
    return this.t.childCountCol[this.slot]!;
  }
  /** The bytes as ZooKeeper holds them: null when created or set with null data. */
  get dataOrNull(): Uint8Array | null {
    return this.t.isNullData(this.slot) ? null : this.t.dataOf(this.slot);
  }
  kind(): EphemeralKind {
    return ephemeralKind(this.ephemeralOwner, this.t.extendedTypes);
  }
}

/**
 * The Stat a client sees (DataNode.copyStat): cversion counts creates and
 * deletes, derived from the stored count of creates; container and TTL owners
 * read as 0.
 */
export function statOf(n: ZNode): Stat {
  const numChildren = n.numChildren;
  const owner = n.ephemeralOwner;
  return {
    czxid: n.czxid,
    mzxid: n.mzxid,
    ctime: n.ctime,
    mtime: n.mtime,
    version: n.version,
    cversion: n.cversion * 2 - numChildren,
    aversion: n.aversion,
    ephemeralOwner: owner === 0n || n.kind() !== 'ephemeral' ? 0n : owner,
    dataLength: n.data.length,
    numChildren,
    pzxid: n.pzxid,
  };
}

function grow<T extends Float64Array | Int32Array | Uint32Array | Uint16Array | BigInt64Array>(
  a: T,
  size: number,
  fill?: number,
): T {
  const next = new (a.constructor as new (n: number) => T)(size);
  next.set(a as never);
  if (fill !== undefined) (next as Int32Array).fill(fill, a.length);
  return next;
}

export class DataTree {
  private readonly index = new Map<string, number>();
  private paths: (string | undefined)[] = [];
  private free: number[] = [];
  private capacity = 0;
  private used = 0;

  czxidCol = new Float64Array(0);
  mzxidCol = new Float64Array(0);
  ctimeCol = new Float64Array(0);
  mtimeCol = new Float64Array(0);
  pzxidCol = new Float64Array(0);
  versionCol = new Int32Array(0);
  cversionCol = new Int32Array(0);
  aversionCol = new Int32Array(0);
  aclCol = new Int32Array(0);
  ownerCol = new BigInt64Array(0);
  childCountCol = new Int32Array(0);
  private parentCol = new Int32Array(0);
  private firstChildCol = new Int32Array(0);
  private nextSibCol = new Int32Array(0);
  private prevSibCol = new Int32Array(0);
  private slabCol = new Uint16Array(0);
  private offCol = new Uint32Array(0);
  private lenCol = new Int32Array(0);

  private slabs: Uint8Array[] = [];
  private slabUsed = SLAB_BYTES;
  private garbageBytes = 0;

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
    const root = this.allocSlot('/');
    this.setFields(root, EMPTY, this.acls.intern(OPEN_ACL_UNSAFE), 0, 0, 0n);
    for (const p of [ZOOKEEPER_PATH, QUOTA_PATH])
      this.insert(p, EMPTY, this.acls.intern(OPEN_ACL_UNSAFE), 0n, 0, 0, false);
    // Reconfig's node is world-readable only (ZOOKEEPER-2014); ZooKeeper leaves its aversion at -1.
    const config = this.insert(CONFIG_PATH, EMPTY, this.acls.intern(READ_ACL_UNSAFE), 0n, 0, 0, false);
    config.aversion = -1;
  }

  // ---- slots ----

  private allocSlot(path: string): number {
    let slot = this.free.pop();
    if (slot === undefined) {
      if (this.used === this.capacity) this.growTo(Math.max(1024, this.capacity * 2));
      slot = this.used++;
    }
    this.index.set(path, slot);
    this.paths[slot] = path;
    this.parentCol[slot] = NONE;
    this.firstChildCol[slot] = NONE;
    this.nextSibCol[slot] = NONE;
    this.prevSibCol[slot] = NONE;
    this.childCountCol[slot] = 0;
    return slot;
  }

  /** Makes room for `n` znodes at once (snapshot loads know the count up front). */
  reserve(n: number): void {
    if (n > this.capacity) this.growTo(n);
  }

  private growTo(n: number): void {
    this.czxidCol = grow(this.czxidCol, n);
    this.mzxidCol = grow(this.mzxidCol, n);
    this.ctimeCol = grow(this.ctimeCol, n);
    this.mtimeCol = grow(this.mtimeCol, n);
    this.pzxidCol = grow(this.pzxidCol, n);
    this.versionCol = grow(this.versionCol, n);
    this.cversionCol = grow(this.cversionCol, n);
    this.aversionCol = grow(this.aversionCol, n);
    this.aclCol = grow(this.aclCol, n);
    this.ownerCol = grow(this.ownerCol, n);
    this.childCountCol = grow(this.childCountCol, n);
    this.parentCol = grow(this.parentCol, n, NONE);
    this.firstChildCol = grow(this.firstChildCol, n, NONE);
    this.nextSibCol = grow(this.nextSibCol, n, NONE);
    this.prevSibCol = grow(this.prevSibCol, n, NONE);
    this.slabCol = grow(this.slabCol, n);
    this.offCol = grow(this.offCol, n);
    this.lenCol = grow(this.lenCol, n);
    this.capacity = n;
  }

  private setFields(
    slot: number,
    data: Uint8Array | null,
    aclIdx: number,
    zxid: number,
    time: number,
    owner: bigint,
  ): void {
    this.czxidCol[slot] = zxid;
    this.mzxidCol[slot] = zxid;
    this.pzxidCol[slot] = zxid;
    this.ctimeCol[slot] = time;
    this.mtimeCol[slot] = time;
    this.versionCol[slot] = 0;
    this.cversionCol[slot] = 0;
    this.aversionCol[slot] = 0;
    this.aclCol[slot] = aclIdx;
    this.ownerCol[slot] = owner;
    this.storeData(slot, data);
  }

  // ---- data slabs ----

  private storeData(slot: number, data: Uint8Array | null): void {
    if (data === null) {
      this.lenCol[slot] = NULL_DATA;
      return;
    }
    const len = data.length;
    this.lenCol[slot] = len;
    if (len === 0) return;
    if (this.slabUsed + len > SLAB_BYTES) {
      // A value bigger than a slab gets a slab of its own size.
      this.slabs.push(new Uint8Array(Math.max(SLAB_BYTES, len)));
      this.slabUsed = 0;
    }
    const slab = this.slabs.length - 1;
    this.slabs[slab]!.set(data, this.slabUsed);
    this.slabCol[slot] = slab;
    this.offCol[slot] = this.slabUsed;
    this.slabUsed += len;
    if (this.slabs[slab]!.length > SLAB_BYTES) this.slabUsed = SLAB_BYTES;
  }

  private dropData(slot: number): void {
    this.garbageBytes += Math.max(0, this.lenCol[slot]!);
    this.lenCol[slot] = 0;
  }

  isNullData(slot: number): boolean {
    return this.lenCol[slot] === NULL_DATA;
  }

  /** A view of a znode's bytes. Bytes in a slab are never overwritten, so a view stays right. */
  dataOf(slot: number): Uint8Array {
    const len = this.lenCol[slot]!;
    if (len <= 0) return EMPTY;
    const off = this.offCol[slot]!;
    return this.slabs[this.slabCol[slot]!]!.subarray(off, off + len);
  }

  /** Rewrites live data into fresh slabs once most of the old ones is garbage. */
  private maybeCompact(): void {
    if (this.garbageBytes < 64 * 1024 * 1024 || this.garbageBytes < this.dataBytes) return;
    const old = this.slabs;
    this.slabs = [];
    this.slabUsed = SLAB_BYTES;
    this.garbageBytes = 0;
    for (const slot of this.index.values()) {
      const len = this.lenCol[slot]!;
      if (len <= 0) continue;
      const off = this.offCol[slot]!;
      this.storeData(slot, old[this.slabCol[slot]!]!.subarray(off, off + len));
    }
  }

  // ---- lookups ----

  get(path: string): ZNode | undefined {
    const slot = this.index.get(path);
    return slot === undefined ? undefined : new ZNode(this, slot);
  }

  has(path: string): boolean {
    return this.index.has(path);
  }

  get size(): number {
    return this.index.size;
  }

  allPaths(): IterableIterator<string> {
    return this.index.keys();
  }

  aclOf(n: ZNode): readonly ACL[] {
    return this.acls.get(n.acl);
  }

  childrenOf(n: ZNode): string[] {
    const out: string[] = new Array<string>(this.childCountCol[n.slot]!);
    let i = out.length;
    for (let c = this.firstChildCol[n.slot]!; c !== NONE; c = this.nextSibCol[c]!) out[--i] = baseName(this.paths[c]!);
    return out;
  }

  /** All descendants of `path`, not counting itself. */
  countDescendants(path: string): number {
    const start = this.index.get(path);
    if (start === undefined) return 0;
    let count = 0;
    const stack: number[] = [start];
    while (stack.length > 0) {
      const s = stack.pop()!;
      for (let c = this.firstChildCol[s]!; c !== NONE; c = this.nextSibCol[c]!) {
        count++;
        stack.push(c);
      }
    }
    return count;
  }

  record(n: ZNode): NodeRecord {
    return {
      data: n.dataOrNull,
      acl: this.aclOf(n),
      czxid: n.czxid,
      mzxid: n.mzxid,
      ctime: n.ctime,
      mtime: n.mtime,
      version: n.version,
      cversion: n.cversion,
      aversion: n.aversion,
      ephemeralOwner: n.ephemeralOwner,
      pzxid: n.pzxid,
    };
  }

  // ---- mutations ----

  /**
   * Adds a node under an existing parent. `bumpParent` raises the parent's
   * cversion and pzxid as a client create does; the system nodes and snapshot
   * loading skip it.
   */
  insert(
    path: string,
    data: Uint8Array | null,
    aclIdx: number,
    ephemeralOwner: bigint,
    zxid: number,
    time: number,
    bumpParent = true,
  ): ZNode {
    const parent = this.index.get(parentOf(path))!;
    const slot = this.allocSlot(path);
    this.setFields(slot, data, aclIdx, zxid, time, ephemeralOwner);
    this.link(parent, slot);
    if (bumpParent) {
      this.cversionCol[parent]!++;
      this.pzxidCol[parent] = zxid;
    }
    const bytes = data === null ? 0 : data.length;
    this.dataBytes += bytes;
    this.indexKind(path, ephemeralOwner);
    if (!this.loading) this.quotaOnInsert(path, bytes);
    return new ZNode(this, slot);
  }

  private link(parent: number, slot: number): void {
    const head = this.firstChildCol[parent]!;
    this.nextSibCol[slot] = head;
    this.prevSibCol[slot] = NONE;
    if (head !== NONE) this.prevSibCol[head] = slot;
    this.firstChildCol[parent] = slot;
    this.parentCol[slot] = parent;
    this.childCountCol[parent]!++;
  }

  private unlink(slot: number): void {
    const parent = this.parentCol[slot]!;
    const prev = this.prevSibCol[slot]!;
    const next = this.nextSibCol[slot]!;
    if (prev !== NONE) this.nextSibCol[prev] = next;
    else this.firstChildCol[parent] = next;
    if (next !== NONE) this.prevSibCol[next] = prev;
    this.childCountCol[parent]!--;
  }

  private indexKind(path: string, owner: bigint): void {
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

  create(
    path: string,
    data: Uint8Array | null,
    acl: readonly ACL[],
    ephemeralOwner: bigint,
    zxid: number,
    time: number,
  ): ZNode {
    return this.insert(path, data, this.acls.intern(acl), ephemeralOwner, zxid, time);
  }

  /** Removes a childless node; the parent's pzxid moves, its cversion does not (as in ZooKeeper). */
  remove(path: string, zxid: number): NodeRecord {
    const slot = this.index.get(path)!;
    const node = new ZNode(this, slot);
    const rec = this.record(node);
    const parent = this.parentCol[slot]!;
    this.unlink(slot);
    if (zxid > this.pzxidCol[parent]!) this.pzxidCol[parent] = zxid;
    this.index.delete(path);
    this.paths[slot] = undefined;
    this.acls.release(this.aclCol[slot]!);
    const bytes = rec.data === null ? 0 : rec.data.length;
    this.dataBytes -= bytes;
    this.dropData(slot);
    this.free.push(slot);
    switch (ephemeralKind(rec.ephemeralOwner, this.extendedTypes)) {
      case 'container':
        this.containers.delete(path);
        break;
      case 'ttl':
        this.ttls.delete(path);
        break;
      case 'ephemeral': {
        const set = this.ephemerals.get(rec.ephemeralOwner);
        if (set) {
          set.delete(path);
          if (set.size === 0) this.ephemerals.delete(rec.ephemeralOwner);
        }
        break;
      }
      default:
    }
    this.quotaOnRemove(path, bytes);
    this.maybeCompact();
    return rec;
  }

  /** Puts a node back exactly as recorded (multi rollback, snapshot load). */
  restore(path: string, rec: NodeRecord, parentPzxid?: number, aclIdx?: number): ZNode {
    const acl = aclIdx === undefined ? this.acls.intern(rec.acl) : this.acls.ref(aclIdx);
    const n = this.insert(path, rec.data, acl, rec.ephemeralOwner, rec.czxid, rec.ctime, false);
    const s = n.slot;
    this.mzxidCol[s] = rec.mzxid;
    this.mtimeCol[s] = rec.mtime;
    this.versionCol[s] = rec.version;
    this.cversionCol[s] = rec.cversion;
    this.aversionCol[s] = rec.aversion;
    this.pzxidCol[s] = rec.pzxid;
    if (parentPzxid !== undefined) this.pzxidCol[this.parentCol[s]!] = parentPzxid;
    return n;
  }

  /**
   * Snapshot loading: adds a node under a parent whose slot the caller already
   * knows (the file lists parents first), skipping every lookup but the insert.
   */
  loadNode(parentSlot: number, path: string, rec: NodeRecord, aclIdx: number): number {
    const s = this.allocSlot(path);
    this.setFields(s, rec.data, this.acls.ref(aclIdx), rec.czxid, rec.ctime, rec.ephemeralOwner);
    this.link(parentSlot, s);
    this.mzxidCol[s] = rec.mzxid;
    this.mtimeCol[s] = rec.mtime;
    this.versionCol[s] = rec.version;
    this.cversionCol[s] = rec.cversion;
    this.aversionCol[s] = rec.aversion;
    this.pzxidCol[s] = rec.pzxid;
    this.dataBytes += rec.data === null ? 0 : rec.data.length;
    if (rec.ephemeralOwner !== 0n) this.indexKind(path, rec.ephemeralOwner);
    return s;
  }

  slotOf(path: string): number | undefined {
    return this.index.get(path);
  }

  /** Overwrites the state of a node that exists (the root and system nodes, from a snapshot). */
  overwrite(n: ZNode, rec: NodeRecord): void {
    const s = n.slot;
    const acl = this.acls.intern(rec.acl);
    this.acls.release(this.aclCol[s]!);
    this.aclCol[s] = acl;
    this.replaceData('', n, rec.data);
    this.czxidCol[s] = rec.czxid;
    this.mzxidCol[s] = rec.mzxid;
    this.ctimeCol[s] = rec.ctime;
    this.mtimeCol[s] = rec.mtime;
    this.versionCol[s] = rec.version;
    this.cversionCol[s] = rec.cversion;
    this.aversionCol[s] = rec.aversion;
    this.ownerCol[s] = rec.ephemeralOwner;
    this.pzxidCol[s] = rec.pzxid;
  }

  setData(path: string, node: ZNode, data: Uint8Array | null, zxid: number, time: number): void {
    this.replaceData(path, node, data);
    node.version++;
    node.mzxid = zxid;
    node.mtime = time;
  }

  /** Swaps a node's bytes, keeping size and quota accounting right (also used by multi rollback). */
  replaceData(path: string, node: ZNode, data: Uint8Array | null): void {
    const before = Math.max(0, this.lenCol[node.slot]!);
    const diff = (data === null ? 0 : data.length) - before;
    this.dataBytes += diff;
    this.dropData(node.slot);
    this.storeData(node.slot, data);
    if (diff !== 0 && path !== '') {
      const prefix = this.quotaPrefix(path);
      if (prefix !== null) this.addQuotaUsage(prefix, diff, 0);
    }
  }

  setAcl(node: ZNode, acl: readonly ACL[]): void {
    const next = this.acls.intern(acl);
    this.acls.release(node.acl);
    this.aclCol[node.slot] = next;
    node.aversion++;
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
    const stat = this.get(QUOTA_PATH + prefix + '/' + STAT_NODE);
    if (!stat) return;
    this.replaceData('', stat, utf8.encode(`count=${count},bytes=${bytes}`));
  }

  private addQuotaUsage(prefix: string, bytesDiff: number, countDiff: number): void {
    const stat = this.get(QUOTA_PATH + prefix + '/' + STAT_NODE);
    if (!stat) return;
    const { count, bytes } = parseStatsTrack(stat.data);
    this.writeQuotaStats(prefix, count + countDiff, bytes + bytesDiff);
  }

  private recountQuota(prefix: string): void {
    const start = this.index.get(prefix);
    let count = 0;
    let bytes = 0;
    const stack = start === undefined ? [] : [start];
    while (stack.length > 0) {
      const s = stack.pop()!;
      count++;
      bytes += Math.max(0, this.lenCol[s]!);
      for (let c = this.firstChildCol[s]!; c !== NONE; c = this.nextSibCol[c]!) stack.push(c);
    }
    this.writeQuotaStats(prefix, count, bytes);
  }

  /** After a snapshot load: rebuild the quota roots from the limit nodes. */
  rebuildQuotaRoots(): void {
    this.quotaRoots.clear();
    for (const path of this.index.keys()) {
      if (path.startsWith(QUOTA_PATH + '/') && baseName(path) === LIMIT_NODE) {
        this.quotaRoots.add(parentOf(path).substring(QUOTA_PATH.length));
      }
    }
  }

  /** Every path, parents before children (for snapshots). */
  *preorder(): Generator<ZNode & { path: string }> {
    const stack = [this.index.get('/')!];
    while (stack.length > 0) {
      const s = stack.pop()!;
      const n = new ZNode(this, s) as ZNode & { path: string };
      n.path = this.paths[s]!;
      yield n;
      for (let c = this.firstChildCol[s]!; c !== NONE; c = this.nextSibCol[c]!) stack.push(c);
    }
  }
}
