// The differential harness: the same seeded operation sequence against two
// servers (Apache ZooKeeper and Synod, or ZooKeeper twice to prove the harness),
// comparing every reply after normalising what may legitimately differ:
// session ids, absolute zxids and times.
import { RawClient, type RawReply } from '../../src/client/raw.js';
import type { OpResult, WatcherEvent } from '../../src/client/replies.js';
import { CONTAINER_EPHEMERAL_OWNER, OpCode, Perms, errName } from '../../src/jute/constants.js';
import type { ACL, CreateRequest, MultiOp, Request, Stat } from '../../src/jute/records.js';
import { startStandalone, synodBin, type ManagedServer } from '../../src/testing/servers.js';

// ---------------------------------------------------------------- PRNG

/** sfc32 seeded through splitmix32: small, fast, and the same stream on every machine. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const mix = (): number => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = mix();
    this.b = mix();
    this.c = mix();
    this.d = mix();
    for (let i = 0; i < 12; i++) this.next();
  }

  /** A uniform uint32. */
  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor((this.next() / 0x100000000) * n);
  }

  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.next() / 0x100000000 < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[this.int(items.length)]!;
  }

  /** Picks a key with probability proportional to its weight. */
  weighted<K extends string>(weights: Readonly<Record<K, number>>): K {
    const entries = Object.entries(weights) as [K, number][];
    const total = entries.reduce((s, [, w]) => s + w, 0);
    let x = (this.next() / 0x100000000) * total;
    for (const [k, w] of entries) {
      if (x < w) return k;
      x -= w;
    }
    return entries[entries.length - 1]![0];
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.next() & 0xff;
    return out;
  }
}

// ---------------------------------------------------------------- servers

export type ServerKind = 'zookeeper' | 'synod';

export const SYNOD_BIN = synodBin();

// Container and TTL reaping run on a timer in both servers, so whether a node
// is still there would depend on timing; keep the reaper from ever running.
const NO_REAPING_MS = 1_000_000_000;

/** One server of a comparison, standalone in its own temp dir (see src/testing/servers.ts). */
export class DiffServer {
  private constructor(private readonly server: ManagedServer) {}

  get kind(): ServerKind {
    return this.server.kind;
  }

  get host(): string {
    return this.server.host;
  }

  get port(): number {
    return this.server.clientPort;
  }

  get dir(): string {
    return this.server.dir;
  }

  get logPath(): string {
    return this.server.logPath;
  }

  get pid(): number | undefined {
    return this.server.pid;
  }

  static async start(kind: ServerKind): Promise<DiffServer> {
    const server = await startStandalone(kind, {
      prefix: `synod-diff-${kind}-`,
      keepDir: !!process.env.DIFF_KEEP_DIRS || undefined,
      config: {
        forceSync: 'no',
        // Synod reads this from zoo.cfg; ZooKeeper gets it as a system property.
        'znode.container.checkIntervalMs': NO_REAPING_MS,
      },
      jvm: { logLevel: 'warn' },
    });
    return new DiffServer(server);
  }

  /** SIGTERM, SIGKILL after a grace period; then delete the temp dir (unless DIFF_KEEP_DIRS is set). */
  destroy(): Promise<void> {
    return this.server.destroy();
  }

  logTail(lines = 30): string {
    return this.server.logTail(lines);
  }
}

// ---------------------------------------------------------------- operations

/** One step of a sequence: a request on session `s`, or a session change. */
export type DiffOp =
  | { kind: 'req'; s: number; req: Request }
  // closeSession, then a brand-new session in the same slot
  | { kind: 'reopen'; s: number }
  // drop the TCP connection and resume the same session on a new one
  | { kind: 'reconnect'; s: number };

export const SESSIONS = 2;
const SESSION_TIMEOUT_MS = 10_000;
const OP_TIMEOUT_MS = 15_000;

const OPEN_ACL: ACL[] = [{ perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } }];
const NAMES = ['a', 'b', 'c', 'ab'];
const TTL_MAX = 0xffffffffff; // EphemeralType.TTL's 40-bit maximum
const GOOD_TTLS = [3_600_000, 86_400_000, TTL_MAX];

const READ_OPS: Record<string, number> = {
  getData: OpCode.getData,
  exists: OpCode.exists,
  getChildren: OpCode.getChildren,
  getChildren2: OpCode.getChildren2,
};

/** Op families; DIFF_SKIP=watches,acl,... leaves families out (e.g. to isolate a mismatch). */
export type Family = 'create' | 'delete' | 'setData' | 'reads' | 'multi' | 'watches' | 'acl' | 'sessions' | 'exotic';

/**
 * Generates operations from a seed. It learns what exists from the replies of
 * the first server (the reference), so later operations hit real paths and
 * versions often enough to exercise success paths as well as failures.
 */
export class OpGenerator {
  readonly root: string;
  private readonly rng: Rng;
  private readonly known: string[] = [];
  private readonly knownSet = new Set<string>();
  private readonly versions = new Map<string, { version: number; aversion: number }>();
  /**
   * ZooKeeper 3.8's checkWatches counts any connection's watch on the path
   * (fixed by ZOOKEEPER-4472 in 3.9), and its removeWatches(Data|Children|Any)
   * also removes persistent watches, which 3.9 keeps for types 4 and 5. So a
   * seed either uses persistent watches from both sessions, or watch removal
   * with only session 0 ever watching, where both versions agree.
   */
  readonly watchStyle: 'persistent' | 'removal';

  constructor(
    readonly seed: number,
    private readonly skip: ReadonlySet<Family>,
  ) {
    this.rng = new Rng(seed);
    this.root = `/d${seed}`;
    this.watchStyle = seed % 2 === 0 ? 'persistent' : 'removal';
  }

  // Per session, since its connection began: paths given a one-shot watch, and
  // paths given a persistent one. ZooKeeper 3.8 keeps one watch mode per
  // (connection, path), so the second kind replaces the first (ZOOKEEPER-4466,
  // fixed in 3.9); the generator never mixes them on one path.
  private readonly oneShot: Set<string>[] = [new Set(), new Set()];
  private readonly persistent: Set<string>[] = [new Set(), new Set()];
  private readonly persistentMode: Map<string, number>[] = [new Map(), new Map()];

  /** Whether a read on `path` by session `s` sets a watch. */
  private watch(s: number, p: number, path: string): boolean {
    if (!this.on('watches') || (this.watchStyle === 'removal' && s !== 0)) return false;
    if (this.persistent[s]!.has(path) || !this.rng.chance(p)) return false;
    this.oneShot[s]!.add(path);
    return true;
  }

  private on(f: Family): boolean {
    return !this.skip.has(f);
  }

  next(): DiffOp {
    const r = this.rng;
    const s = r.chance(0.6) ? 0 : 1;
    const w: Record<string, number> = {};
    if (this.on('create')) w.create = 26;
    if (this.on('delete')) w.delete = 12;
    if (this.on('setData')) w.setData = 10;
    if (this.on('reads'))
      Object.assign(w, {
        getData: 7,
        exists: 5,
        getChildren: 4,
        getChildren2: 4,
        count: 3,
        ephemerals: 3,
        sync: 1,
        whoAmI: 1,
        multiRead: 2,
      });
    if (this.on('multi')) w.multi = 12;
    if (this.on('watches') && this.watchStyle === 'persistent') w.addWatch = 1;
    if (this.on('watches') && this.watchStyle === 'removal') Object.assign(w, { checkWatches: 2, removeWatches: 2 });
    if (this.on('acl')) Object.assign(w, { setACL: 2, getACL: 2 });
    if (this.on('sessions')) Object.assign(w, { reopen: 1, reconnect: 1 });
    const kind = r.weighted(w);
    const req = (q: Request): DiffOp => ({ kind: 'req', s, req: q });
    switch (kind) {
      case 'create':
        return req(this.create(false) as Request);
      case 'delete':
        return req({
          op: OpCode.delete,
          req: { path: this.deletable(this.writePath()), version: this.version(this.lastPath) },
        });
      case 'setData':
        return req({
          op: OpCode.setData,
          req: { path: this.writePath(), data: this.data(), version: this.version(this.lastPath) },
        });
      case 'getData':
      case 'exists':
      case 'getChildren':
      case 'getChildren2': {
        const op = READ_OPS[kind]!;
        const path = this.path(0.7);
        return req({ op, req: { path, watch: this.watch(s, 0.6, path) } } as Request);
      }
      case 'count':
        return req({ op: OpCode.getAllChildrenNumber, req: { path: this.path() } });
      case 'ephemerals': {
        const prefix = r.pick(['', '/', this.root, `${this.root}/a`, this.path(), this.path().slice(0, -1)]);
        return req({ op: OpCode.getEphemerals, req: { prefixPath: prefix } });
      }
      case 'sync':
        return req({ op: OpCode.sync, req: { path: this.path() } });
      case 'whoAmI':
        return req({ op: OpCode.whoAmI, req: null });
      case 'multiRead': {
        const ops: MultiOp[] = [];
        for (let i = r.int(4); i > 0; i--) {
          const op = r.chance(0.5) ? OpCode.getData : OpCode.getChildren;
          // ZooKeeper ignores these flags (Op.getData/getChildren drop them), so they set no watch.
          ops.push({ op, req: { path: this.path(), watch: this.on('watches') && r.chance(0.2) } } as MultiOp);
        }
        return req({ op: OpCode.multiRead, req: ops });
      }
      case 'multi':
        return req({ op: OpCode.multi, req: this.multi() });
      case 'addWatch': {
        let path = this.path();
        if (this.oneShot[s]!.has(path)) path = `${path}/w`; // see oneShot
        this.persistent[s]!.add(path);
        // 3.8 also keeps one of persistent and recursive per (connection, path), so keep the first.
        const drawn = r.int(2);
        const mode = this.persistentMode[s]!.get(path) ?? drawn;
        this.persistentMode[s]!.set(path, mode);
        return req({ op: OpCode.addWatch, req: { path, mode } });
      }
      case 'checkWatches':
        return {
          kind: 'req',
          s: 0,
          req: { op: OpCode.checkWatches, req: { path: this.watchedPath(), type: r.range(1, 3) } },
        };
      case 'removeWatches':
        // Types 4 and 5 (persistent) came with ZOOKEEPER-4472 in 3.9; the 3.8 reference refuses them.
        return {
          kind: 'req',
          s: 0,
          req: { op: OpCode.removeWatches, req: { path: this.watchedPath(), type: r.range(1, 3) } },
        };
      case 'setACL': {
        const path = this.writePath();
        const v = this.versions.get(path);
        const version = r.chance(0.5) ? -1 : r.chance(0.7) && v ? v.aversion : r.int(3);
        return req({ op: OpCode.setACL, req: { path, acl: this.acl(), version } });
      }
      case 'getACL':
        return req({ op: OpCode.getACL, req: { path: this.path() } });
      case 'reopen':
      case 'reconnect':
        // Watches belong to the connection; a new one starts with none.
        this.oneShot[s]!.clear();
        this.persistent[s]!.clear();
        this.persistentMode[s]!.clear();
        return { kind, s };
    }
    throw new Error(`unhandled op kind ${kind}`);
  }

  private lastPath = '';

  /** Mostly a path session 0 has watched (the watch may have fired since), so removal sometimes succeeds. */
  private watchedPath(): string {
    const watched = [...this.oneShot[0]!];
    return watched.length > 0 && this.rng.chance(0.75) ? this.rng.pick(watched) : this.path();
  }

  /** A path for reads: mostly ones that were created, else any in the small space. */
  path(knownBias = 0.55): string {
    const r = this.rng;
    let p: string;
    if (this.known.length > 0 && r.chance(knownBias)) p = r.pick(this.known);
    else if (r.chance(0.1)) p = this.root;
    else {
      p = this.root;
      const depth = r.chance(0.45) ? 1 : r.chance(0.7) ? 2 : 3;
      for (let i = 0; i < depth; i++) p += `/${r.pick(NAMES)}`;
    }
    this.lastPath = p;
    return p;
  }

  /** A path for writes; occasionally a malformed one, which servers must refuse the same way. */
  private writePath(): string {
    const r = this.rng;
    if (this.on('exotic') && r.chance(0.03)) {
      const p = this.path();
      const bad = r.pick([
        `${p}/`,
        `${this.root}//a`,
        `${this.root}/./a`,
        `${this.root}/../a`,
        p.slice(1),
        '',
        `${p}/a\u0000b`,
      ]);
      this.lastPath = bad;
      return bad;
    }
    return this.hotPath() ?? this.path();
  }

  /** Deleting the seed's root would end the run's interest; a child of it instead. */
  private deletable(path: string): string {
    if (path !== this.root) return path;
    this.lastPath = `${this.root}/${this.rng.pick(NAMES)}`;
    return this.lastPath;
  }

  /** Sometimes a watched path, so watches fire often enough to be compared. */
  private hotPath(): string | undefined {
    if (!this.rng.chance(0.35)) return undefined;
    const watched = [...this.oneShot[0]!, ...this.oneShot[1]!, ...this.persistent[0]!, ...this.persistent[1]!];
    if (watched.length === 0) return undefined;
    this.lastPath = this.rng.pick(watched);
    return this.lastPath;
  }

  private version(path: string): number {
    const r = this.rng;
    if (r.chance(0.35)) return -1;
    const v = this.versions.get(path);
    if (v && r.chance(0.7)) return v.version;
    return r.int(4);
  }

  private data(): Uint8Array | null {
    const r = this.rng;
    if (r.chance(0.1)) return null;
    if (r.chance(0.1)) return new Uint8Array(0);
    if (r.chance(0.03)) return r.bytes(r.range(100, 3000));
    return r.bytes(r.range(1, 16));
  }

  private acl(): ACL[] {
    const r = this.rng;
    const x = r.next() % 100;
    if (x < 75) return OPEN_ACL;
    if (x < 87) {
      // READ stays: ZooKeeper 3.8 lets exists skip the READ check and 3.9 does not.
      let perms: number = Perms.READ;
      for (const p of [Perms.WRITE, Perms.CREATE, Perms.DELETE, Perms.ADMIN]) if (r.chance(0.6)) perms |= p;
      return [{ perms, id: { scheme: 'world', id: 'anyone' } }];
    }
    if (x < 95) return [{ perms: Perms.ALL, id: { scheme: 'ip', id: '127.0.0.1' } }];
    if (this.on('exotic')) return r.pick([[], [{ perms: Perms.ALL, id: { scheme: 'nosuchscheme', id: 'x' } }]]);
    return OPEN_ACL;
  }

  /** A create request; `inMulti` limits opcode/flag pairs to those ZooKeeper's MultiOperationRecord maps one way. */
  private create(inMulti: boolean): MultiOp {
    const r = this.rng;
    const parent =
      this.hotPath() ??
      (this.known.length > 0 && r.chance(0.5) ? r.pick(this.known) : r.chance(0.3) ? this.root : this.path());
    let path = `${parent}/${r.pick(NAMES)}`;
    if (path.split('/').length > 7) path = `${this.root}/${r.pick(NAMES)}`;
    if (!inMulti && this.on('exotic') && r.chance(0.03)) path = this.writePath();
    const data = this.data();
    const acl = r.chance(0.9) ? OPEN_ACL : this.acl();
    const kind = r.weighted({ plain: 60, container: 10, ttl: 10, badFlags: this.on('exotic') ? 3 : 0 });
    const base: CreateRequest = { path, data, acl, flags: 0, ttl: -1 };
    if (kind === 'plain') {
      const op = r.chance(0.5) ? OpCode.create : OpCode.create2;
      return { op, req: { ...base, flags: r.int(4) } };
    }
    if (kind === 'container') {
      // Inside multi a create's flags, not its opcode, say it is a container.
      const op = inMulti && r.chance(0.3) ? r.pick([OpCode.create, OpCode.create2]) : OpCode.createContainer;
      return { op, req: { ...base, flags: 4 } };
    }
    if (kind === 'ttl') {
      const ttl = this.on('exotic') && r.chance(0.1) ? r.pick([0, -1, TTL_MAX + 1]) : r.pick(GOOD_TTLS);
      return { op: OpCode.createTTL, req: { ...base, flags: r.pick([5, 6]), ttl } };
    }
    if (inMulti) return { op: OpCode.create, req: { ...base, flags: 0 } };
    // Pairs ZooKeeper refuses with BADARGUMENTS: unknown flags, a TTL mode without
    // the TTL opcode, a TTL with a non-TTL mode.
    const bad = r.int(3);
    if (bad === 0)
      return { op: r.pick([OpCode.create, OpCode.create2]), req: { ...base, flags: r.pick([7, 100, -1]) } };
    if (bad === 1) return { op: r.pick([OpCode.create, OpCode.create2]), req: { ...base, flags: r.pick([5, 6]) } };
    return { op: OpCode.createTTL, req: { ...base, flags: r.int(4), ttl: r.pick(GOOD_TTLS) } };
  }

  private multi(): MultiOp[] {
    const r = this.rng;
    const ops: MultiOp[] = [];
    const n = r.chance(0.04) ? 0 : r.range(1, 4);
    for (let i = 0; i < n; i++) {
      const k = r.weighted({ create: 40, delete: 20, setData: 20, check: 20 });
      if (k === 'create') ops.push(this.create(true));
      // Mostly paths that were created, or nearly every multi would stop at NONODE.
      else if (k === 'delete')
        ops.push({
          op: OpCode.delete,
          req: { path: this.deletable(this.path(0.85)), version: this.version(this.lastPath) },
        });
      else if (k === 'setData')
        ops.push({
          op: OpCode.setData,
          req: { path: this.path(0.85), data: this.data(), version: this.version(this.lastPath) },
        });
      else ops.push({ op: OpCode.check, req: { path: this.path(0.85), version: this.version(this.lastPath) } });
    }
    return ops;
  }

  /** Learns paths and versions from the reference server's normalised outcome. */
  learn(op: DiffOp, out: Outcome): void {
    if (op.kind !== 'req' || out.result === null || typeof out.result !== 'object') return;
    const res = out.result as { err: string; body: unknown };
    if (res.err !== 'OK') return;
    const add = (p: string): void => {
      if (!this.knownSet.has(p) && p.startsWith(`${this.root}/`)) {
        this.knownSet.add(p);
        this.known.push(p);
      }
    };
    // Deleted paths leave the list, so picks land on live nodes more often
    // (NONODE stays well covered by the static path space).
    const forget = (p: string): void => {
      if (!this.knownSet.delete(p)) return;
      this.known.splice(this.known.indexOf(p), 1);
      this.versions.delete(p);
    };
    const stat = (p: string, s: unknown): void => {
      const st = s as NormStat | undefined;
      if (st && typeof st.version === 'number') this.versions.set(p, { version: st.version, aversion: st.aversion });
    };
    const body = res.body as Record<string, unknown> | unknown[] | null;
    const req = op.req;
    switch (req.op) {
      case OpCode.create:
      case OpCode.create2:
      case OpCode.createContainer:
      case OpCode.createTTL: {
        const b = body as { path: string; stat?: NormStat };
        add(b.path);
        stat(b.path, b.stat ?? { version: 0, aversion: 0 });
        return;
      }
      case OpCode.delete:
        forget(req.req.path);
        return;
      case OpCode.getData:
      case OpCode.exists:
      case OpCode.setData:
      case OpCode.getChildren2:
      case OpCode.getACL:
      case OpCode.setACL:
        stat(req.req.path, (body as { stat: NormStat }).stat);
        return;
      case OpCode.multi: {
        const results = body as Array<{ type: number; path?: string; stat?: NormStat }>;
        req.req.forEach((sub, i) => {
          const res = results[i];
          if (!res || res.type === -1) return;
          if (res.path !== undefined) add(res.path);
          if (res.path !== undefined) stat(res.path, res.stat ?? { version: 0, aversion: 0 });
          else if (sub.op === OpCode.setData) stat(sub.req.path, res.stat);
          else if (sub.op === OpCode.delete) forget(sub.req.path);
        });
        return;
      }
    }
  }
}

// ---------------------------------------------------------------- running

interface Session {
  client: RawClient;
  label: string;
  gen: number;
  events: WatcherEvent[];
}

/** The normalised outcome of one step, identical on both servers if they agree. */
export interface Outcome {
  result: unknown;
  /** Watch events the step caused, per session slot; each list sorted (see settle). */
  events: unknown[];
}

interface NormStat {
  version: number;
  cversion: number;
  aversion: number;
  dataLength: number;
  numChildren: number;
  owner: string;
  czxid: string;
  mzxid: string;
  pzxid: string;
}

const OP_NAMES = new Map<number, string>(Object.entries(OpCode).map(([k, v]) => [v, k]));

const WRITES = new Set<number>([
  OpCode.create,
  OpCode.create2,
  OpCode.createContainer,
  OpCode.createTTL,
  OpCode.delete,
  OpCode.setData,
  OpCode.setACL,
  OpCode.multi,
  OpCode.closeSession,
]);

/** One server's side of a run: its sessions and what its ids and zxids mean. */
/**
 * Differences a run may be told to look past (DIFF_IGNORE), so that a known one
 * does not hide the next: `cversion` (the field is not compared), `nulldata`
 * (null data reads as empty), `owner` (container/TTL owners read as none).
 */
export type Ignorable = 'cversion' | 'nulldata' | 'owner';
export const IGNORABLE: readonly Ignorable[] = ['cversion', 'nulldata', 'owner'];

export class World {
  readonly sessions: Session[] = [];
  private readonly owners = new Map<bigint, string>();
  // zxids of this run's successful writes, ascending, each named by the step that made it
  private readonly zxids: { zxid: number; label: string }[] = [];

  constructor(
    readonly name: string,
    readonly server: DiffServer,
    readonly ignore: ReadonlySet<Ignorable> = new Set(),
  ) {}

  hex(d: Uint8Array | null): string | null {
    if (d === null) return this.ignore.has('nulldata') ? '' : null;
    return Buffer.from(d.buffer, d.byteOffset, d.byteLength).toString('hex');
  }

  async open(
    slot: number,
    opts: { sessionId?: bigint; passwd?: Uint8Array; lastZxidSeen?: number } = {},
  ): Promise<number> {
    const prev = this.sessions[slot];
    const events: WatcherEvent[] = prev && opts.sessionId !== undefined ? prev.events : [];
    const client = await RawClient.connect({
      host: this.server.host,
      port: this.server.port,
      timeoutMs: SESSION_TIMEOUT_MS,
      ...opts,
      onEvent: (e) => events.push(e),
    });
    const gen = opts.sessionId !== undefined && prev ? prev.gen : (prev?.gen ?? -1) + 1;
    const label = `s${slot}.${gen}`;
    this.owners.set(client.sessionId, label);
    this.sessions[slot] = { client, label, gen, events };
    return client.timeoutMs;
  }

  recordZxid(zxid: number, label: string): void {
    const last = this.zxids[this.zxids.length - 1];
    if (last && zxid <= last.zxid) {
      if (zxid === last.zxid) return;
      throw new Error(`${this.name}: write ${label} returned zxid ${zxid}, not above ${last.zxid} of ${last.label}`);
    }
    this.zxids.push({ zxid, label });
  }

  /** A zxid as the step that produced it, so runs compare without absolute values. */
  zxidLabel(z: number): string {
    const list = this.zxids;
    let lo = 0;
    let hi = list.length - 1;
    let below = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid]!.zxid === z) return list[mid]!.label;
      if (list[mid]!.zxid < z) {
        below = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return below < 0 ? 'before-run' : `after:${list[below]!.label}`;
  }

  ownerLabel(o: bigint): string {
    if (o === 0n) return 'none';
    if (o === CONTAINER_EPHEMERAL_OWNER) return 'container';
    const unsigned = BigInt.asUintN(64, o);
    if (unsigned >> 56n === 0xffn) return `ttl:${unsigned & 0xffffffffffn}`;
    return this.owners.get(o) ?? 'unknown-session';
  }

  stat(s: Stat): NormStat {
    const owner = this.ownerLabel(s.ephemeralOwner);
    return {
      version: s.version,
      cversion: this.ignore.has('cversion') ? -1 : s.cversion,
      aversion: s.aversion,
      dataLength: s.dataLength,
      numChildren: s.numChildren,
      owner: this.ignore.has('owner') && (owner === 'container' || owner.startsWith('ttl:')) ? 'none' : owner,
      czxid: this.zxidLabel(s.czxid),
      mzxid: this.zxidLabel(s.mzxid),
      pzxid: this.zxidLabel(s.pzxid),
    };
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.sessions.map((s) => s?.client.close().catch(() => undefined)));
  }
}

function normBody(w: World, op: number, body: unknown): unknown {
  if (body === null || body === undefined) return null;
  const b = body as Record<string, unknown>;
  switch (op) {
    case OpCode.multi:
    case OpCode.multiRead:
      return (body as OpResult[]).map((r) => normOpResult(w, r));
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(b)) {
    if (k === 'stat') out.stat = w.stat(v as Stat);
    else if (k === 'data' || k === 'token') out[k] = w.hex(v as Uint8Array | null);
    else if (k === 'children' || k === 'ephemerals') out[k] = [...(v as string[])].sort();
    else out[k] = v;
  }
  return out;
}

function normOpResult(w: World, r: OpResult): unknown {
  switch (r.type) {
    case 1:
      return { type: r.type, path: r.path };
    case 15:
      return { type: r.type, path: r.path, stat: w.stat(r.stat) };
    case 5:
      return { type: r.type, stat: w.stat(r.stat) };
    case 8:
      return { type: r.type, children: [...r.children].sort() };
    case 4:
      return { type: r.type, data: w.hex(r.data), stat: w.stat(r.stat) };
    case -1:
      return { type: r.type, err: errName(r.err) };
    default:
      return { type: r.type };
  }
}

function drainEvents(s: Session): string[] {
  return s.events.splice(0).map((e) => `${e.type}:${e.state}:${e.path}`);
}

/**
 * Completes a step's watch events: a round trip on every other session brings
 * in the events the step sent them (queued before the step's own reply), so
 * each step's events are compared on their own. Within one step they are
 * sorted: ZooKeeper fires a transaction's watches in hash-set order (closeSession
 * deleting several ephemerals, for one), which no client can rely on.
 */
async function settle(w: World, acting: number, own: string[], root: string, label: string): Promise<unknown[]> {
  const out: unknown[] = [];
  for (let slot = 0; slot < w.sessions.length; slot++) {
    const s = w.sessions[slot]!;
    if (slot !== acting) {
      await withTimeout(
        s.client.request(OpCode.exists, { path: root, watch: false }),
        `${w.name} ${label} settle s${slot}`,
      );
    }
    out.push((slot === acting ? own : drainEvents(s)).sort());
  }
  return out;
}

function withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no reply within ${OP_TIMEOUT_MS} ms`)), OP_TIMEOUT_MS);
  });
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}

/** Runs one step against one server and normalises what came back, with the watch events it caused. */
export async function execute(w: World, op: DiffOp, label: string, root: string): Promise<Outcome> {
  const out = await executeStep(w, op, label);
  return { result: out.result, events: await settle(w, op.s, out.events as string[], root, label) };
}

async function executeStep(w: World, op: DiffOp, label: string): Promise<Outcome> {
  const s = w.sessions[op.s]!;
  switch (op.kind) {
    case 'req': {
      let reply: RawReply;
      try {
        reply = await withTimeout(s.client.send(op.req), `${w.name} ${label}`);
      } catch (e) {
        return { result: { failed: (e as Error).message }, events: drainEvents(s) };
      }
      if (WRITES.has(op.req.op) && reply.err === 0) w.recordZxid(reply.zxid, label);
      return { result: { err: errName(reply.err), body: normBody(w, op.req.op, reply.body) }, events: drainEvents(s) };
    }
    case 'reopen': {
      const r = await withTimeout(s.client.request(OpCode.closeSession, null), `${w.name} ${label} closeSession`);
      if (r.err === 0) w.recordZxid(r.zxid, label);
      const events = drainEvents(s);
      s.client.destroy();
      const timeout = await w.open(op.s);
      return { result: { closeErr: errName(r.err), newSession: w.sessions[op.s]!.label, timeout }, events };
    }
    case 'reconnect': {
      // A round trip first, so every event already sent on this connection is in.
      const ping = await withTimeout(s.client.request(OpCode.ping, null), `${w.name} ${label} ping`);
      const events = drainEvents(s);
      const { sessionId, passwd, lastZxid } = s.client;
      s.client.destroy();
      const timeout = await w.open(op.s, { sessionId, passwd, lastZxidSeen: lastZxid });
      return { result: { pingErr: errName(ping.err), session: w.sessions[op.s]!.label, timeout }, events };
    }
  }
}

/**
 * Folds behaviour that changed between Debian's ZooKeeper 3.8.0 (the reference)
 * and the 3.9 protocol Synod implements into the 3.8.0 form, applied to both
 * sides (a no-op on ZooKeeper's). Each entry names the ZooKeeper change.
 */
export function referenceDialect(op: DiffOp, out: Outcome): Outcome {
  if (op.kind !== 'req' || op.req.op !== OpCode.multi) return out;
  const res = out.result as { err?: string; body?: unknown };
  if (!Array.isArray(res.body)) return out;
  const subs = op.req.req;
  // ZOOKEEPER-4026 (3.8.2, 3.9.0): create2 inside multi answers with its Stat;
  // before, MultiOperationRecord turned it into a plain create (path only).
  const body = (res.body as { type: number; path?: string }[]).map((r, i) => {
    const sub = subs[i];
    if (sub && sub.op === OpCode.create2 && sub.req.flags >= 0 && sub.req.flags <= 3 && r.type === OpCode.create2) {
      return { type: OpCode.create, path: r.path };
    }
    return r;
  });
  return { ...out, result: { ...res, body } };
}

/** JSON for failure messages: bigints as hex, bytes as hex. */
export function show(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => {
    if (typeof x === 'bigint') return `0x${x.toString(16)}`;
    if (x instanceof Uint8Array) return `<${x.length} bytes ${Buffer.from(x).toString('hex').slice(0, 64)}>`;
    return x;
  });
}

export class Mismatch extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Mismatch';
  }
}

export interface RunOptions {
  seed: number;
  ops: number;
  skip?: ReadonlySet<Family>;
  /** The exact command that reproduces this seed alone, for the failure message. */
  reproduce?: string;
  /** How many earlier steps a failure message lists (default 12). */
  history?: number;
}

/** Walks the seed's subtree on both servers (session 0) and returns each as one comparable value. */
async function dumpTree(w: World, root: string, maxNodes = 5000): Promise<unknown[]> {
  const c = w.sessions[0]!.client;
  const out: unknown[] = [];
  const queue = [root];
  while (queue.length > 0 && out.length < maxNodes) {
    const path = queue.shift()!;
    const d = await withTimeout(c.request(OpCode.getData, { path, watch: false }), `${w.name} dump ${path}`);
    const k = await withTimeout(c.request(OpCode.getChildren2, { path, watch: false }), `${w.name} dump ${path}`);
    const a = await withTimeout(c.request(OpCode.getACL, { path }), `${w.name} dump ${path}`);
    const children = k.body ? [...k.body.children].sort() : [];
    out.push({
      path,
      err: [errName(d.err), errName(k.err), errName(a.err)],
      data: d.body ? w.hex(d.body.data) : null,
      stat: d.body ? w.stat(d.body.stat) : null,
      children,
      acl: a.body?.acl ?? null,
    });
    for (const ch of children) queue.push(`${path}/${ch}`);
  }
  return out;
}

/**
 * Runs one seed on two worlds in lock step and throws a Mismatch naming the
 * seed, the step, the operation and both outcomes at the first difference.
 */
export async function runSeed(
  a: World,
  b: World,
  opts: RunOptions,
): Promise<{ steps: number; tally: Map<string, number> }> {
  const tally = new Map<string, number>();
  const count = (op: DiffOp, out: Outcome): void => {
    const res = out.result as { err?: string; body?: unknown };
    let key = op.kind === 'req' ? (OP_NAMES.get(op.req.op) ?? String(op.req.op)) : op.kind;
    if (res.err !== undefined) key += ` ${res.err}`;
    if (op.kind === 'req' && op.req.op === OpCode.multi && Array.isArray(res.body)) {
      const failed = (res.body as { type: number; err?: string }[]).find((x) => x.type === -1 && x.err !== 'OK');
      key += failed ? ` (${failed.err})` : ' (committed)';
    }
    tally.set(key, (tally.get(key) ?? 0) + 1);
    const events = (out.events as unknown[][]).reduce((n, l) => n + l.length, 0);
    if (events > 0) tally.set('watch events', (tally.get('watch events') ?? 0) + events);
  };
  const gen = new OpGenerator(opts.seed, opts.skip ?? new Set());
  const history: string[] = [];
  const fail = (what: string, step: string, op: unknown, ra: unknown, rb: unknown): never => {
    throw new Mismatch(
      [
        `differential mismatch (${what}): seed ${opts.seed}, step ${step}`,
        `op:       ${show(op)}`,
        `${a.name.padEnd(9)}: ${show(ra)}`,
        `${b.name.padEnd(9)}: ${show(rb)}`,
        `reproduce: ${opts.reproduce ?? `DIFF_SEED=${opts.seed} DIFF_OPS=${opts.ops}`}`,
        `last steps:`,
        ...history.slice(-(opts.history ?? 12)).map((h) => `  ${h}`),
      ].join('\n'),
    );
  };

  for (const w of [a, b]) for (let s = 0; s < SESSIONS; s++) await w.open(s);
  for (const w of [a, b]) {
    for (let s = 0; s < SESSIONS; s++) {
      const t = w.sessions[s]!.client.timeoutMs;
      if (t !== a.sessions[s]!.client.timeoutMs)
        fail('negotiated timeout', 'setup', { slot: s }, a.sessions[s]!.client.timeoutMs, t);
    }
  }
  const setup: DiffOp = {
    kind: 'req',
    s: 0,
    req: { op: OpCode.create, req: { path: gen.root, data: null, acl: OPEN_ACL, flags: 0, ttl: -1 } },
  };
  const [sa, sb] = await Promise.all([execute(a, setup, 'setup', '/'), execute(b, setup, 'setup', '/')]);
  if (show(sa) !== show(sb)) fail('result', 'setup', setup, sa, sb);

  for (let i = 0; i < opts.ops; i++) {
    const op = gen.next();
    const label = `#${i}`;
    const [ra, rb] = (await Promise.all([execute(a, op, label, gen.root), execute(b, op, label, gen.root)])).map((o) =>
      referenceDialect(op, o),
    ) as [Outcome, Outcome];
    history.push(`${label} ${show(op)} -> ${show(ra.result)}`);
    if (show(ra.result) !== show(rb.result)) fail('result', label, op, ra.result, rb.result);
    if (show(ra.events) !== show(rb.events)) fail('watch events', label, op, ra.events, rb.events);
    gen.learn(op, ra);
    count(op, ra);
  }

  const [ta, tb] = await Promise.all([dumpTree(a, gen.root), dumpTree(b, gen.root)]);
  for (let i = 0; i < Math.max(ta.length, tb.length); i++) {
    if (show(ta[i]) !== show(tb[i])) fail('final tree', `final tree node ${i}`, { root: gen.root }, ta[i], tb[i]);
  }
  await Promise.all([a.closeAll(), b.closeAll()]);
  return { steps: opts.ops, tally };
}
