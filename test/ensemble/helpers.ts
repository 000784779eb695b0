// Shared pieces of the multi-process ensemble tests: quick Raft timings, a
// 3-server Synod ensemble (optionally with a proxy on every server-to-server
// link so a test can partition it), clients that are always closed, write
// loads that remember what was acknowledged, and checks that every server
// ended with the same history.
//
// Every wait here is bounded in time and in iterations; nothing asserts on
// how long something took.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ConnectionLossError,
  NodeExistsError,
  NoNodeError,
  OperationTimeoutError,
  RequestTimeoutError,
  ZooKeeper,
  ZooKeeperError,
  type ZooKeeperOptions,
} from '../../src/client/index.js';
import {
  Ensemble,
  LOOPBACK,
  ManagedServer,
  fourLetterWord,
  freePorts,
  parseMntr,
  startSynodEnsemble,
  type CfgEntries,
  type EnsembleMember,
  type EnsembleOptions,
} from '../../src/testing/servers.js';
import { CuttableProxy } from '../helpers/proxy.js';

/** Raft timings that notice a dead or silent leader in about a second. */
export const FAST_RAFT: CfgEntries = {
  'synod.electionTimeoutMs': 500,
  'synod.heartbeatMs': 50,
  // Sessions are asked for explicitly by each test; keep the server from clamping them.
  minSessionTimeout: 1000,
  maxSessionTimeout: 30_000,
};

/** Bound on start-up of an ensemble (2 cores, other suites may be running). */
export const START_TIMEOUT_MS = 45_000;

/** A 3-server Synod ensemble with quick timings; `config` keys win over them. */
export function startSynod3(opts: Partial<EnsembleOptions> = {}): Promise<Ensemble> {
  return startSynodEnsemble({
    size: 3,
    tickTime: 500,
    startTimeoutMs: START_TIMEOUT_MS,
    ...opts,
    config: { ...FAST_RAFT, ...opts.config },
  });
}

// ---------------------------------------------------------------- bounded waits

/** p, or a rejection naming `what` after ms. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}

/**
 * Polls `cond` until it returns true; throws after timeoutMs with `what` and
 * the last thing `describe` said (or the last error cond threw).
 */
export async function waitUntil(
  cond: () => boolean | Promise<boolean>,
  what: string,
  opts: { timeoutMs?: number; pollMs?: number; describe?: () => string | Promise<string> } = {},
): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const pollMs = opts.pollMs ?? 100;
  const deadline = performance.now() + timeoutMs;
  let lastError: unknown;
  for (let i = 0; i < Math.ceil(timeoutMs / pollMs) + 10 && performance.now() < deadline; i++) {
    try {
      if (await cond()) return;
      lastError = undefined;
    } catch (e) {
      lastError = e;
    }
    await sleep(pollMs);
  }
  const detail = opts.describe ? await opts.describe() : lastError ? String(lastError) : '';
  throw new Error(`${what}: not within ${timeoutMs} ms${detail ? `\n${detail}` : ''}`);
}

// ---------------------------------------------------------------- four-letter words

export interface Srvr {
  mode: string;
  zxid: bigint;
}

/** srvr's Mode and Zxid; mode 'unreachable' when the server does not answer. */
export async function srvr(s: ManagedServer): Promise<Srvr> {
  if (!s.running()) return { mode: 'down', zxid: -1n };
  if (s.isPaused()) return { mode: 'paused', zxid: -1n };
  let text = '';
  try {
    text = await fourLetterWord(s.clientPort, 'srvr', 3_000);
  } catch {
    return { mode: 'unreachable', zxid: -1n };
  }
  const mode = /^Mode: (\S+)/m.exec(text)?.[1] ?? 'unreachable';
  const z = /^Zxid: (0x[0-9a-f]+)/m.exec(text)?.[1];
  return { mode, zxid: z ? BigInt(z) : -1n };
}

/** mntr as key/value pairs. */
export async function mntr(s: ManagedServer): Promise<Map<string, string>> {
  return parseMntr(await fourLetterWord(s.clientPort, 'mntr', 3_000));
}

export async function describeModes(servers: readonly ManagedServer[]): Promise<string> {
  const all = await Promise.all(servers.map((s) => srvr(s)));
  return servers.map((s, i) => `server ${s.id}: ${all[i]!.mode} zxid 0x${all[i]!.zxid.toString(16)}`).join(', ');
}

/** Polls until exactly one of `servers` says leader (servers outside an Ensemble, such as one added by reconfig). */
export async function leaderAmong<T extends ManagedServer>(servers: readonly T[], timeoutMs = 20_000): Promise<T> {
  let found: T | undefined;
  await waitUntil(
    async () => {
      const modes = await Promise.all(servers.map((s) => srvr(s)));
      const leaders = servers.filter((_, i) => modes[i]!.mode === 'leader');
      found = leaders.length === 1 ? leaders[0] : undefined;
      return found !== undefined;
    },
    `one leader among servers ${servers.map((s) => s.id).join(', ')}`,
    { timeoutMs, pollMs: 200, describe: () => describeModes(servers) },
  );
  return found!;
}

// ---------------------------------------------------------------- clients

/** Keeps the host order of the connect string (the client shuffles it otherwise). */
export const IN_ORDER = (): number => 0.999999;

/** Clients a test opened; closeAll() closes every one, bounded, whatever state it is in. */
export class Clients {
  private readonly open = new Set<ZooKeeper>();

  async connect(connectString: string, opts: ZooKeeperOptions = {}, waitMs = 20_000): Promise<ZooKeeper> {
    const zk = new ZooKeeper(connectString, { sessionTimeout: 10_000, ...opts });
    this.open.add(zk);
    // A watcher that throws must fail the test, not crash the runner.
    zk.on('error', () => undefined);
    await within(zk.waitForConnected(), waitMs, `connect to ${connectString}`);
    return zk;
  }

  /** Closes one client (closeSession when connected); never throws, never waits long. */
  async close(zk: ZooKeeper, ms = 5_000): Promise<void> {
    this.open.delete(zk);
    await within(zk.close(), ms, 'close').catch(() => undefined);
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.open].map((zk) => this.close(zk)));
  }
}

/** The connect string of one server. */
export function hostOf(s: ManagedServer): string {
  return `${LOOPBACK}:${s.clientPort}`;
}

export function connectStringOf(servers: readonly ManagedServer[]): string {
  return servers.map(hostOf).join(',');
}

// ---------------------------------------------------------------- reading back

/** Every znode outside /zookeeper with its data, as one server has it after a sync. */
export async function dumpTree(s: ManagedServer, clients: Clients, root = '/'): Promise<Map<string, string>> {
  const zk = await clients.connect(hostOf(s), { sessionTimeout: 10_000 });
  try {
    await within(zk.sync(root), 10_000, `sync on ${s.describe()}`);
    const out = new Map<string, string>();
    let frontier = [root];
    for (let depth = 0; depth < 64 && frontier.length > 0; depth++) {
      const next: string[] = [];
      const levels = await within(
        Promise.all(
          frontier.map(async (p) => {
            const [children, data] = await Promise.all([zk.getChildren(p), zk.getData(p)]);
            return { p, children, data: data.data === null ? '<null>' : data.data.toString('utf8') };
          }),
        ),
        30_000,
        `reading the tree of ${s.describe()}`,
      );
      for (const { p, children, data } of levels) {
        if (p !== '/') out.set(p, data);
        for (const c of children) {
          const child = p === '/' ? `/${c}` : `${p}/${c}`;
          if (child !== '/zookeeper') next.push(child);
        }
      }
      frontier = next;
    }
    return out;
  } finally {
    await clients.close(zk);
  }
}

/** Waits until every listed server is running and serving and all report the same zxid. */
export async function waitSameZxid(servers: readonly ManagedServer[], timeoutMs = 30_000): Promise<bigint> {
  let zxid = -1n;
  await waitUntil(
    async () => {
      const all = await Promise.all(servers.map((s) => srvr(s)));
      const serving = all.every((a) => a.mode === 'leader' || a.mode === 'follower' || a.mode === 'observer');
      zxid = all[0]!.zxid;
      return serving && all.every((a) => a.zxid === zxid);
    },
    `servers ${servers.map((s) => s.id).join(', ')} serving at one zxid`,
    { timeoutMs, pollMs: 200, describe: () => describeModes(servers) },
  );
  return zxid;
}

/**
 * The ensemble converged: every server serves at the same zxid and holds the
 * same tree. Returns that tree.
 */
export async function assertConverged(
  servers: readonly ManagedServer[],
  clients: Clients,
  root = '/',
): Promise<Map<string, string>> {
  await waitSameZxid(servers);
  const trees: Map<string, string>[] = [];
  for (const s of servers) trees.push(await dumpTree(s, clients, root));
  for (let i = 1; i < trees.length; i++) {
    const a = trees[0]!;
    const b = trees[i]!;
    const onlyA = [...a.keys()].filter((k) => !b.has(k));
    const onlyB = [...b.keys()].filter((k) => !a.has(k));
    const differ = [...a.keys()].filter((k) => b.has(k) && a.get(k) !== b.get(k));
    assert.ok(
      onlyA.length === 0 && onlyB.length === 0 && differ.length === 0,
      `server ${servers[0]!.id} and server ${servers[i]!.id} differ: ` +
        `only on ${servers[0]!.id}: ${onlyA.slice(0, 10).join(' ')} (${onlyA.length}); ` +
        `only on ${servers[i]!.id}: ${onlyB.slice(0, 10).join(' ')} (${onlyB.length}); ` +
        `different data: ${differ.slice(0, 10).join(' ')} (${differ.length})`,
    );
  }
  return trees[0]!;
}

/** Every acknowledged write is in the tree with the data it was written with. */
export function assertHasAll(tree: Map<string, string>, acked: ReadonlyMap<string, string>, who: string): void {
  const missing: string[] = [];
  const wrong: string[] = [];
  for (const [p, d] of acked) {
    const got = tree.get(p);
    if (got === undefined) missing.push(p);
    else if (got !== d) wrong.push(`${p}=${got} (wrote ${d})`);
  }
  assert.deepEqual(
    { missing: missing.slice(0, 20), missingCount: missing.length, wrong: wrong.slice(0, 20) },
    { missing: [], missingCount: 0, wrong: [] },
    `${who}: acknowledged writes lost (of ${acked.size})`,
  );
}

// ---------------------------------------------------------------- write loads

export interface LoadOptions {
  clients: number;
  /** Parent znode; created if missing. */
  prefix: string;
  /** Requests each client keeps in flight. */
  depth?: number;
  /** Hard bounds on the whole load. */
  maxOps?: number;
  maxMs?: number;
  sessionTimeout?: number;
  /**
   * Curator's RetryNTimes: a create that fails with a connection loss (or an
   * operation timeout) is tried again up to this many times, sleeping
   * retrySleepMs between tries; 0 (default) records the failure and moves on.
   */
  retries?: number;
  retrySleepMs?: number;
}

/**
 * Clients creating /prefix/c<client>-<n> znodes (data: the path) through a
 * connect string. `acked` holds every create the server answered OK; a create
 * with no clear answer (connection loss) is in `unknown`; `failures` counts
 * operations that failed after their retries.
 */
export class WriteLoad {
  readonly acked = new Map<string, string>();
  readonly unknown = new Set<string>();
  readonly failures: string[] = [];
  /** Each create sent, in the order each client sent them, with the connection it was answered on. */
  readonly sent: Array<{ client: number; seq: number; conn: number; path: string }> = [];
  retried = 0;
  private readonly seqs: number[] = [];
  /** Per client: how many connections it has had (the answer to a request comes on the one it went out on). */
  private readonly conns: number[] = [];
  private stopped = false;
  private runs: Promise<void>[] = [];
  private readonly zks: ZooKeeper[] = [];
  private readonly deadline: number;
  private issued = 0;

  constructor(
    private readonly connectString: string,
    private readonly clients: Clients,
    private readonly opts: LoadOptions,
  ) {
    this.deadline = performance.now() + (opts.maxMs ?? 90_000);
  }

  async start(): Promise<void> {
    const admin = await this.clients.connect(this.connectString);
    try {
      await admin.create(this.opts.prefix, 'load').catch((e: unknown) => {
        if (!(e instanceof NodeExistsError)) throw e;
      });
    } finally {
      await this.clients.close(admin);
    }
    for (let c = 0; c < this.opts.clients; c++) {
      const zk = await this.clients.connect(this.connectString, {
        sessionTimeout: this.opts.sessionTimeout ?? 15_000,
      });
      this.zks.push(zk);
      this.seqs.push(0);
      this.conns.push(0);
      zk.on('connected', () => this.conns[c]!++);
      for (let d = 0; d < (this.opts.depth ?? 4); d++) this.runs.push(this.loop(zk, c, d));
    }
  }

  /** Acknowledged so far. */
  get count(): number {
    return this.acked.size;
  }

  /** Waits (bounded) until `n` more writes than now have been acknowledged. */
  async progress(n: number, what: string, timeoutMs = 30_000): Promise<void> {
    const target = this.acked.size + n;
    await waitUntil(() => this.acked.size >= target, `${what}: ${n} more acknowledged writes`, {
      timeoutMs,
      pollMs: 50,
      describe: () =>
        `acked ${this.acked.size}, unknown ${this.unknown.size}, failures ${this.failures.length}: ${this.failures.slice(-3).join('; ')}`,
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await within(Promise.all(this.runs), 60_000, 'the write load to stop');
    for (const zk of this.zks) await this.clients.close(zk);
  }

  private more(): boolean {
    const max = this.opts.maxOps ?? 50_000;
    return !this.stopped && this.issued < max && performance.now() < this.deadline;
  }

  private async loop(zk: ZooKeeper, client: number, lane: number): Promise<void> {
    const depth = this.opts.depth ?? 4;
    for (let n = lane; this.more(); n += depth) {
      this.issued++;
      const path = `${this.opts.prefix}/c${client}-${String(n).padStart(7, '0')}`;
      await this.createOne(zk, client, path);
      if (zk.state === 'expired' || zk.state === 'closed') {
        this.failures.push(`client ${client}: session ${zk.state}`);
        return;
      }
    }
  }

  private async createOne(zk: ZooKeeper, client: number, path: string): Promise<void> {
    const retries = this.opts.retries ?? 0;
    for (let attempt = 0; attempt <= retries; attempt++) {
      // Calls go out in the order they are made (the client's queue is FIFO).
      const seq = this.seqs[client]!++;
      try {
        // The request timeout keeps a lane from waiting forever on a server that never answers.
        await zk.create(path, path, { timeout: 20_000 });
        this.sent.push({ client, seq, conn: this.conns[client]!, path });
        this.acked.set(path, path);
        this.unknown.delete(path);
        return;
      } catch (e) {
        if (e instanceof NodeExistsError && attempt > 0) {
          // An earlier try went through before its connection was lost.
          const { data } = await zk.getData(path, { timeout: 20_000 }).catch(() => ({ data: null }));
          if (data?.toString('utf8') === path) {
            this.acked.set(path, path);
            this.unknown.delete(path);
            return;
          }
        }
        // A lost connection fails its requests before the client can open the next one.
        if (e instanceof ConnectionLossError) this.sent.push({ client, seq, conn: this.conns[client]!, path });
        const ambiguous =
          e instanceof ConnectionLossError || e instanceof OperationTimeoutError || e instanceof RequestTimeoutError;
        if (ambiguous) this.unknown.add(path);
        if (!ambiguous || attempt === retries) {
          const code = e instanceof ZooKeeperError ? e.code : '?';
          this.failures.push(
            `${path}: ${(e as Error).name} (${code})${attempt > 0 ? ` after ${attempt} retries` : ''}`,
          );
          return;
        }
        this.retried++;
        await sleep(this.opts.retrySleepMs ?? 200);
      }
    }
  }
}

/**
 * ZooKeeper's order for one client connection: the writes it sent that took
 * effect are a prefix of what it sent, so one lost with the connection is
 * never followed by a later one of the same connection that was applied.
 * Returns the violations (empty when the order held).
 */
export function fifoViolations(load: WriteLoad, tree: ReadonlyMap<string, string>): string[] {
  const groups = new Map<string, Array<{ seq: number; path: string }>>();
  for (const w of load.sent) {
    const key = `${w.client}/${w.conn}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(w);
  }
  const out: string[] = [];
  for (const [key, g] of groups) {
    g.sort((a, b) => a.seq - b.seq);
    const firstLost = g.findIndex((w) => !tree.has(w.path));
    if (firstLost < 0) continue;
    const later = g.slice(firstLost + 1).filter((w) => tree.has(w.path));
    if (later.length > 0) {
      out.push(
        `client/connection ${key}: ${g[firstLost]!.path} was lost but ${later.length} later writes took effect (${later
          .slice(0, 3)
          .map((w) => w.path)
          .join(', ')})`,
      );
    }
  }
  return out;
}

/** The paths of `acked` missing on one server, after a sync there. */
export async function missingOn(
  s: ManagedServer,
  clients: Clients,
  acked: ReadonlyMap<string, string>,
): Promise<string[]> {
  const zk = await clients.connect(hostOf(s));
  try {
    await within(zk.sync('/'), 10_000, `sync on ${s.describe()}`);
    const missing: string[] = [];
    const paths = [...acked.keys()];
    for (let i = 0; i < paths.length; i += 500) {
      const batch = paths.slice(i, i + 500);
      const got = await within(
        Promise.all(
          batch.map((p) =>
            zk.getData(p).then(
              (r) => (r.data?.toString('utf8') === acked.get(p) ? null : `${p} (data ${r.data?.toString('utf8')})`),
              (e: unknown) => {
                if (e instanceof NoNodeError) return p;
                throw e;
              },
            ),
          ),
        ),
        30_000,
        `reading acknowledged writes on ${s.describe()}`,
      );
      for (const m of got) if (m !== null) missing.push(m);
    }
    return missing;
  } finally {
    await clients.close(zk);
  }
}

// ---------------------------------------------------------------- an ensemble with cuttable links

/**
 * A Synod ensemble whose server-to-server traffic goes through one
 * CuttableProxy per ordered pair (server i dials server j at proxy i->j, via
 * synod.dial.j in i's own zoo.cfg). Each server sends only on the connection
 * it dialed, so cutting both i->j and j->i separates the two completely.
 */
export class ProxiedEnsemble {
  private constructor(
    readonly ensemble: Ensemble,
    private readonly proxies: Map<string, CuttableProxy>,
    private readonly dir: string,
  ) {}

  /** `size` participants, then `observers` observers numbered after them. */
  static async start(size: number, config: CfgEntries = {}, observers = 0): Promise<ProxiedEnsemble> {
    const total = size + observers;
    // The proxies' ports come from the same draw: one bound to port 0 after
    // the draw could take a port a server is about to listen on.
    const ports = await freePorts(3 * total + total * (total - 1));
    let nextProxyPort = 3 * total;
    const dir = mkdtempSync(join(tmpdir(), 'synod-ensemble-proxied-'));
    const proxies = new Map<string, CuttableProxy>();
    const members: EnsembleMember[] = [];
    try {
      const ids = Array.from({ length: total }, (_, i) => i + 1);
      const observer = (id: number): boolean => id > size;
      const client = (id: number): number => ports[3 * (id - 1)]!;
      const peer = (id: number): number => ports[3 * (id - 1) + 1]!;
      const election = (id: number): number => ports[3 * (id - 1) + 2]!;
      for (const i of ids) {
        for (const j of ids) {
          if (i === j) continue;
          const p = new CuttableProxy(LOOPBACK, peer(j));
          await p.start(ports[nextProxyPort++]!);
          proxies.set(`${i}->${j}`, p);
        }
      }
      const lines: CfgEntries = {};
      for (const id of ids) {
        const role = observer(id) ? ':observer' : '';
        lines[`server.${id}`] = `${LOOPBACK}:${peer(id)}:${election(id)}${role};${LOOPBACK}:${client(id)}`;
      }
      for (const id of ids) {
        const sdir = join(dir, `s${id}`);
        const dial: CfgEntries = {};
        for (const j of ids) if (j !== id) dial[`synod.dial.${j}`] = `${LOOPBACK}:${proxies.get(`${id}->${j}`)!.port}`;
        const cfg: CfgEntries = {
          tickTime: 500,
          initLimit: 10,
          syncLimit: 5,
          dataDir: join(sdir, 'data'),
          clientPort: client(id),
          clientPortAddress: LOOPBACK,
          maxClientCnxns: 0,
          '4lw.commands.whitelist': '*',
          extendedTypesEnabled: 'true',
          'admin.enableServer': 'false',
          ...FAST_RAFT,
          ...lines,
          ...dial,
          ...config,
        };
        members.push(
          new ManagedServer({
            kind: 'synod',
            id,
            dir: sdir,
            clientPort: client(id),
            peerPort: peer(id),
            electionPort: election(id),
            role: observer(id) ? 'observer' : 'participant',
            cfg,
            myid: id,
            startTimeoutMs: START_TIMEOUT_MS,
          }) as EnsembleMember,
        );
      }
    } catch (e) {
      await Promise.all([...proxies.values()].map((p) => p.stop()));
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
    const pe = new ProxiedEnsemble(new Ensemble('synod', dir, members, size), proxies, dir);
    try {
      for (const m of members) m.spawn();
      await pe.ensemble.waitForQuorum({ timeoutMs: START_TIMEOUT_MS, all: true });
    } catch (e) {
      await pe.stop();
      throw e;
    }
    return pe;
  }

  get servers(): readonly EnsembleMember[] {
    return this.ensemble.servers;
  }

  /** Cuts every link between `id` and the others, both ways. */
  isolate(id: number): void {
    for (const [key, p] of this.proxies) {
      const [from, to] = key.split('->').map(Number);
      if (from === id || to === id) p.cut();
    }
  }

  healAll(): void {
    for (const p of this.proxies.values()) p.heal();
  }

  async stop(): Promise<void> {
    try {
      await this.ensemble.stop();
    } finally {
      await Promise.all([...this.proxies.values()].map((p) => p.stop().catch(() => undefined)));
      if (!process.env.SYNOD_KEEP_DIRS) rmSync(this.dir, { recursive: true, force: true, maxRetries: 3 });
    }
  }
}

// ---------------------------------------------------------------- auth

/** DigestAuthenticationProvider.superDigest's value for user:password. */
export function superDigest(user: string, password: string): string {
  return `${user}:${createHash('sha1').update(`${user}:${password}`).digest('base64')}`;
}
