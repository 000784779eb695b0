// Real server processes for tests, benchmarks and scripts: Apache ZooKeeper
// (Debian's 3.8 packages) and Synod, standalone or as an ensemble on loopback.
// Each server gets a directory of its own holding its zoo.cfg, its data dir
// (with myid in an ensemble) and its log; both servers read the same zoo.cfg.
//
// Everything here is bounded: start-up, shutdown and every poll have a time
// limit, and every child is SIGKILLed by PID if this process exits first.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export type ServerKind = 'zookeeper' | 'synod';

export const LOOPBACK = '127.0.0.1';

// ---------------------------------------------------------------- the repository

let repoRootCache: string | undefined;

/** The repository root: the nearest package.json named synod above this file (src/ or dist/src/). */
export function repoRoot(): string {
  if (repoRootCache !== undefined) return repoRootCache;
  const start = dirname(fileURLToPath(import.meta.url));
  let dir = start;
  for (let i = 0; i < 10; i++) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        const parsed = JSON.parse(readFileSync(pkg, 'utf8')) as { name?: unknown };
        if (parsed.name === 'synod') return (repoRootCache = dir);
      } catch {
        // not ours; keep walking
      }
    }
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  throw new Error(`cannot find the synod repository root above ${start}`);
}

/** bin/synod.js of this repository. */
export function synodBin(): string {
  return join(repoRoot(), 'bin', 'synod.js');
}

// ---------------------------------------------------------------- finding ZooKeeper

const JAVA_DIR = '/usr/share/java';
// Where a ZooKeeper laid out as Apache's tarball keeps every jar it needs.
const ZK_HOME_DIRS = ['/usr/share/zookeeper', '/usr/share/zookeeper/lib'];
// Debian puts the jars in libzookeeper-java; `zookeeper` is the server package.
const ZK_PACKAGES = ['libzookeeper-java', 'zookeeper'];

// ZooKeeper's manifest names most of these in Class-Path already; listing them
// keeps the server and the Java client starting if a packager trims that entry.
const ZOOKEEPER_DEPS = [
  'slf4j-api',
  'commons-cli',
  'commons-io',
  'jackson-annotations',
  'jackson-core',
  'jackson-databind',
  'metrics-core',
  'snappy-java',
  'netty-buffer',
  'netty-codec',
  'netty-common',
  'netty-handler',
  'netty-resolver',
  'netty-transport',
  'netty-transport-native-epoll',
  'netty-transport-native-unix-common',
];

const pkgFilesCache = new Map<string, string[]>();

/** Files a Debian package installed, or [] when dpkg does not know it (or there is no dpkg). */
export function packageFiles(pkg: string): string[] {
  const known = pkgFilesCache.get(pkg);
  if (known) return known;
  const r = spawnSync('dpkg-query', ['-L', pkg], { encoding: 'utf8', timeout: 10_000 });
  const files = r.status === 0 && typeof r.stdout === 'string' ? r.stdout.split('\n').filter((l) => l.length > 0) : [];
  pkgFilesCache.set(pkg, files);
  return files;
}

/** A jar from Debian's shared Java directory, preferring the path one of `pkgs` lists. */
export function debianJar(name: string, pkgs: string[] = []): string | undefined {
  const wanted = `${JAVA_DIR}/${name}.jar`;
  for (const pkg of pkgs) {
    if (packageFiles(pkg).includes(wanted) && existsSync(wanted)) return wanted;
  }
  return existsSync(wanted) ? wanted : undefined;
}

/** An slf4j binding: `simple` logs to stderr (server logs), `nop` keeps a client's output parseable. */
export function slf4jBinding(kind: 'simple' | 'nop'): string | undefined {
  return debianJar(`slf4j-${kind}`);
}

/** `name.jar`, else `name-<version>.jar`, among these paths; only one that exists. */
function jarNamed(paths: string[], name: string): string | undefined {
  const exact = paths.find((p) => basename(p) === `${name}.jar` && existsSync(p));
  if (exact) return exact;
  const versioned = new RegExp(`^${name.replace(/[-.]/g, '\\$&')}-\\d[\\w.-]*\\.jar$`);
  return paths.find((p) => versioned.test(basename(p)) && existsSync(p));
}

function jarsIn(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith('.jar'))
      .sort()
      .map((f) => join(dir, f));
  } catch {
    return [];
  }
}

interface ZkFound {
  jars: string[] | null;
  /** Where they came from, or why there are none. */
  note: string;
}

let zkFound: ZkFound | undefined;

function findZooKeeper(): ZkFound {
  const env = process.env.ZOOKEEPER_CLASSPATH?.trim();
  if (env) return { jars: env.split(':').filter((p) => p.length > 0), note: 'ZOOKEEPER_CLASSPATH' };
  const withDeps = (core: string, jute: string, note: string): ZkFound => {
    const deps = ZOOKEEPER_DEPS.map((d) => jarNamed([join(dirname(core), `${d}.jar`), join(JAVA_DIR, `${d}.jar`)], d));
    return { jars: [core, jute, ...deps.filter((j): j is string => j !== undefined)], note };
  };
  const listed = ZK_PACKAGES.flatMap((p) => packageFiles(p)).filter((f) => f.endsWith('.jar'));
  const core = jarNamed(listed, 'zookeeper');
  const jute = jarNamed(listed, 'zookeeper-jute');
  if (core && jute) return withDeps(core, jute, `dpkg (${ZK_PACKAGES.join(', ')})`);
  const shared = jarsIn(JAVA_DIR);
  const sCore = jarNamed(shared, 'zookeeper');
  const sJute = jarNamed(shared, 'zookeeper-jute');
  if (sCore && sJute) return withDeps(sCore, sJute, JAVA_DIR);
  for (const dir of ZK_HOME_DIRS) {
    const jars = jarsIn(dir);
    if (jarNamed(jars, 'zookeeper') && jarNamed(jars, 'zookeeper-jute')) {
      // A tarball's lib/ carries its dependencies beside it, so take them all.
      return { jars, note: dir };
    }
  }
  return {
    jars: null,
    note:
      `Apache ZooKeeper not found: no zookeeper.jar and zookeeper-jute.jar in the files of the Debian packages ` +
      `${ZK_PACKAGES.join(', ')}, nor in ${[JAVA_DIR, ...ZK_HOME_DIRS].join(', ')} ` +
      `(apt-get install zookeeper, or set ZOOKEEPER_CLASSPATH)`,
  };
}

/** Classpath entries for ZooKeeper's server and Java client (no slf4j binding), or null if not installed. */
export function zookeeperJars(): string[] | null {
  zkFound ??= findZooKeeper();
  return zkFound.jars;
}

let javaReason: string | null | undefined;

/** Why `java` cannot run, or null when it can. */
export function javaMissingReason(): string | null {
  if (javaReason !== undefined) return javaReason;
  const r = spawnSync('java', ['-version'], { stdio: 'ignore', timeout: 30_000 });
  javaReason = r.status === 0 ? null : 'java is not on PATH (apt-get install default-jre-headless)';
  return javaReason;
}

/** Why ZooKeeper's server cannot be started here, or null when it can. */
export function zookeeperMissingReason(): string | null {
  const java = javaMissingReason();
  if (java) return java;
  zkFound ??= findZooKeeper();
  return zkFound.jars ? null : zkFound.note;
}

/**
 * The classpath for ZooKeeper's server: $ZOOKEEPER_CLASSPATH as given, or the
 * jars found plus the slf4j binding asked for. Throws, saying what is missing.
 */
export function zookeeperClasspath(logger: 'simple' | 'nop' | null = 'simple'): string {
  zkFound ??= findZooKeeper();
  if (!zkFound.jars) throw new Error(zkFound.note);
  const binding = logger && zkFound.note !== 'ZOOKEEPER_CLASSPATH' ? slf4jBinding(logger) : undefined;
  return (binding ? [...zkFound.jars, binding] : zkFound.jars).join(':');
}

// ---------------------------------------------------------------- ports and four-letter words

function listenOnce(srv: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, LOOPBACK, () => {
      const addr = srv.address();
      if (addr && typeof addr === 'object') resolve(addr.port);
      else reject(new Error('no port'));
    });
  });
}

/** n distinct free TCP ports on 127.0.0.1: all are held until every one is chosen. */
export async function freePorts(n: number): Promise<number[]> {
  const held: Server[] = [];
  const ports: number[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const srv = createServer();
      srv.unref();
      held.push(srv);
      ports.push(await listenOnce(srv));
    }
  } finally {
    await Promise.all(held.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
  return ports;
}

export async function freePort(): Promise<number> {
  return (await freePorts(1))[0]!;
}

/** Send a four-letter word and return everything the server writes before it closes. */
export function fourLetterWord(port: number, word: string, timeoutMs = 5_000, host = LOOPBACK): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let settled = false;
    const socket = connect({ host, port });
    const finish = (err: Error | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(Buffer.concat(chunks).toString('utf8'));
    };
    const timer = setTimeout(
      () => finish(new Error(`${word} on ${host}:${port}: no close within ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.on('connect', () => socket.end(word));
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('end', () => finish(null));
    socket.on('close', () => finish(null));
    socket.on('error', (e) => finish(e));
  });
}

/** mntr's key<TAB>value lines as a map (ZooKeeper's and Synod's). */
export function parseMntr(text: string): Map<string, string> {
  const rows = new Map<string, string>();
  for (const line of text.split('\n')) {
    const tab = line.indexOf('\t');
    if (tab > 0) rows.set(line.slice(0, tab), line.slice(tab + 1).trim());
  }
  return rows;
}

/**
 * What `srvr` says a server is. `not serving`: it answered but serves no
 * clients (ZooKeeper before its database is loaded or without a quorum);
 * `unreachable`: no answer; `down` and `paused` are what this module knows
 * without asking (not running, or SIGSTOPped).
 */
export type ServerMode =
  | 'leader'
  | 'follower'
  | 'observer'
  | 'standalone'
  | 'read-only'
  | 'looking'
  | 'not serving'
  | 'unreachable'
  | 'down'
  | 'paused';

/** Modes in which a server answers clients' reads and writes. */
export const SERVING_MODES: ReadonlySet<ServerMode> = new Set(['leader', 'follower', 'observer', 'standalone']);

const KNOWN_MODES = new Set<string>(['leader', 'follower', 'observer', 'standalone', 'read-only', 'looking']);

/** The Mode line of `srvr` on host:port. Never throws. */
export async function serverMode(port: number, timeoutMs = 2_000, host = LOOPBACK): Promise<ServerMode> {
  let text: string;
  try {
    text = await fourLetterWord(port, 'srvr', timeoutMs, host);
  } catch {
    return 'unreachable';
  }
  if (text === '') return 'unreachable';
  const m = /^Mode: (\S+)/m.exec(text);
  return m && KNOWN_MODES.has(m[1]!) ? (m[1] as ServerMode) : 'not serving';
}

// ---------------------------------------------------------------- zoo.cfg

export type CfgValue = string | number | boolean;
/** zoo.cfg keys; null or undefined leaves a key (and any default for it) out. */
export type CfgEntries = Record<string, CfgValue | null | undefined>;

export function formatZooCfg(cfg: CfgEntries): string {
  return Object.entries(cfg)
    .filter((e): e is [string, CfgValue] => e[1] !== null && e[1] !== undefined)
    .map(([k, v]) => `${k}=${v}\n`)
    .join('');
}

/** The keys every server started here gets unless the caller says otherwise. */
function baseConfig(dataDir: string, clientPort: number, tickTime = 2000): CfgEntries {
  return {
    tickTime,
    initLimit: 10,
    syncLimit: 5,
    dataDir,
    clientPort,
    clientPortAddress: LOOPBACK,
    maxClientCnxns: 0,
    '4lw.commands.whitelist': '*',
    extendedTypesEnabled: 'true',
    'admin.enableServer': 'false',
  };
}

// ---------------------------------------------------------------- command lines

export interface JvmOptions {
  /** -Xmx; default 256m. */
  heap?: string;
  /** A small, quick-starting JVM (serial GC, C1 only, 32 MB initial heap); default true. */
  light?: boolean;
  /** slf4j-simple's level; default info. */
  logLevel?: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'off';
  /** The slf4j binding on the classpath; default simple (logs to the server's log file). */
  logger?: 'simple' | 'nop' | null;
  /** Further JVM flags (-D..., -XX:...), placed before the main class. */
  flags?: string[];
}

export interface Launch {
  cmd: string;
  args: string[];
}

// ZooKeeper reads these only as Java system properties (an unknown zoo.cfg key
// becomes `zookeeper.<key>`, which is not the name the container manager
// reads); Synod reads them from zoo.cfg. So both get them from the one file.
const SYSTEM_PROPERTY_PREFIXES = ['znode.container.'];

/** `java ... QuorumPeerMain cfg` for ZooKeeper; the config is passed to mirror system-property keys. */
export function zookeeperCommand(cfgPath: string, cfg: CfgEntries = {}, jvm: JvmOptions = {}): Launch {
  const args: string[] = [];
  // Two cores and several JVMs at once: keep each small unless asked otherwise.
  if (jvm.light !== false) args.push('-Xms32m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1');
  args.push(`-Xmx${jvm.heap ?? '256m'}`, '-Djava.net.preferIPv4Stack=true');
  args.push(`-Dzookeeper.admin.enableServer=${cfg['admin.enableServer'] ?? 'false'}`);
  const ext = cfg.extendedTypesEnabled;
  if (ext !== null && ext !== undefined) args.push(`-Dzookeeper.extendedTypesEnabled=${ext}`);
  for (const [k, v] of Object.entries(cfg)) {
    if (v !== null && v !== undefined && SYSTEM_PROPERTY_PREFIXES.some((p) => k.startsWith(p)))
      args.push(`-D${k}=${v}`);
  }
  args.push(
    `-Dorg.slf4j.simpleLogger.defaultLogLevel=${jvm.logLevel ?? 'info'}`,
    '-Dorg.slf4j.simpleLogger.showDateTime=true',
    ...(jvm.flags ?? []),
    '-cp',
    zookeeperClasspath(jvm.logger === undefined ? 'simple' : jvm.logger),
    'org.apache.zookeeper.server.quorum.QuorumPeerMain',
    cfgPath,
  );
  return { cmd: 'java', args };
}

/** `node bin/synod.js server --config cfg`. */
export function synodCommand(cfgPath: string, extraArgs: string[] = []): Launch {
  const bin = synodBin();
  if (!existsSync(bin)) throw new Error(`Synod is not there: ${bin} does not exist`);
  return { cmd: process.execPath, args: [bin, 'server', '--config', cfgPath, ...extraArgs] };
}

// ---------------------------------------------------------------- clean-up on exit

// PIDs of children still running, and directories this module made; a process
// that exits or is interrupted takes its servers (and, unless kept, their
// directories) with it rather than leave them listening.
const livePids = new Set<number>();
const ownedDirs = new Map<string, { keep: boolean }>();
let hooksInstalled = false;

function killLiveNow(): void {
  for (const pid of livePids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

function removeOwnedDirsNow(): void {
  for (const [dir, o] of ownedDirs) {
    if (o.keep) continue;
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    } catch {
      // best effort on the way out
    }
  }
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', () => {
    killLiveNow();
    removeOwnedDirsNow();
  });
  for (const [sig, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    process.on(sig, () => {
      killLiveNow();
      removeOwnedDirsNow();
      // Listening to a signal cancels Node's default exit; another listener
      // (the bench's, the test helpers') may want to exit its own way.
      if (process.listenerCount(sig) <= 1) process.exit(code);
    });
  }
}

function makeOwnedDir(baseDir: string, prefix: string, keep: boolean): string {
  installHooks();
  mkdirSync(baseDir, { recursive: true });
  const dir = mkdtempSync(join(baseDir, prefix));
  ownedDirs.set(dir, { keep });
  return dir;
}

function removeOwnedDir(dir: string): void {
  const o = ownedDirs.get(dir);
  ownedDirs.delete(dir);
  if (o && !o.keep) rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}

function keepByDefault(): boolean {
  return !!process.env.SYNOD_KEEP_DIRS;
}

function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      child.off('exit', onExit);
      resolve(false);
    }, ms);
    const onExit = (): void => {
      clearTimeout(t);
      resolve(true);
    };
    child.once('exit', onExit);
  });
}

// ---------------------------------------------------------------- one server

export type ServerRole = 'standalone' | 'participant' | 'observer';

export interface ManagedServerInit {
  kind: ServerKind;
  /** The server id (myid); 0 for a standalone server made by createStandalone. */
  id: number;
  /** Holds zoo.cfg, data/ and server.log; created if missing. */
  dir: string;
  clientPort: number;
  peerPort?: number | null;
  electionPort?: number | null;
  role?: ServerRole;
  /** The whole zoo.cfg; dataDir should be `<dir>/data`. */
  cfg: CfgEntries;
  /** Written to data/myid when given. */
  myid?: number;
  jvm?: JvmOptions;
  synodArgs?: string[];
  env?: NodeJS.ProcessEnv;
  /** dir is removed by destroy() (unless keepDir). */
  ownsDir?: boolean;
  keepDir?: boolean;
  startTimeoutMs?: number;
  stopGraceMs?: number;
}

export interface StartOptions {
  timeoutMs?: number;
  /** Readiness check, polled until true; default: srvr reports a serving mode. */
  ready?: () => Promise<boolean>;
  /** Pause between checks; default 100 ms. */
  pollMs?: number;
}

/** One server process: start it, stop it, kill it, pause it, restart it on the same port and data. */
export class ManagedServer {
  readonly kind: ServerKind;
  readonly id: number;
  readonly role: ServerRole;
  readonly dir: string;
  readonly dataDir: string;
  readonly cfgPath: string;
  readonly logPath: string;
  readonly clientPort: number;
  readonly peerPort: number | null;
  readonly electionPort: number | null;
  readonly cfg: Readonly<CfgEntries>;
  private keep: boolean;
  private readonly ownsDir: boolean;
  private readonly jvm: JvmOptions;
  private readonly synodArgs: string[];
  private readonly env: NodeJS.ProcessEnv | undefined;
  private readonly startTimeoutMs: number;
  private readonly stopGraceMs: number;
  private child: ChildProcess | undefined;
  private spawnError: Error | undefined;
  private paused = false;

  constructor(init: ManagedServerInit) {
    installHooks();
    this.kind = init.kind;
    this.id = init.id;
    this.role = init.role ?? (init.id === 0 ? 'standalone' : 'participant');
    this.dir = init.dir;
    this.dataDir = join(init.dir, 'data');
    this.cfgPath = join(init.dir, 'zoo.cfg');
    this.logPath = join(init.dir, 'server.log');
    this.clientPort = init.clientPort;
    this.peerPort = init.peerPort ?? null;
    this.electionPort = init.electionPort ?? null;
    this.cfg = { ...init.cfg };
    this.ownsDir = init.ownsDir ?? false;
    this.keep = init.keepDir ?? keepByDefault();
    this.jvm = init.jvm ?? {};
    this.synodArgs = init.synodArgs ?? [];
    this.env = init.env;
    this.startTimeoutMs = init.startTimeoutMs ?? 60_000;
    this.stopGraceMs = init.stopGraceMs ?? 10_000;
    mkdirSync(this.dataDir, { recursive: true });
    writeFileSync(this.cfgPath, formatZooCfg(this.cfg));
    if (init.myid !== undefined) writeFileSync(join(this.dataDir, 'myid'), `${init.myid}\n`);
  }

  /** Whether destroy() and the exit hook leave the directory (if this handle made it) in place. */
  get keepDir(): boolean {
    return this.keep;
  }

  set keepDir(keep: boolean) {
    this.keep = keep;
    const o = this.ownsDir ? ownedDirs.get(this.dir) : undefined;
    if (o) o.keep = keep;
  }

  get host(): string {
    return LOOPBACK;
  }

  /** The client port (the name the older helpers used). */
  get port(): number {
    return this.clientPort;
  }

  get configPath(): string {
    return this.cfgPath;
  }

  get connectString(): string {
    return `${LOOPBACK}:${this.clientPort}`;
  }

  /** The PID while running, else undefined. */
  get pid(): number | undefined {
    return this.running() ? this.child!.pid : undefined;
  }

  running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** SIGSTOPped and not yet continued. */
  isPaused(): boolean {
    return this.paused && this.running();
  }

  command(): Launch {
    return this.kind === 'synod'
      ? synodCommand(this.cfgPath, this.synodArgs)
      : zookeeperCommand(this.cfgPath, this.cfg, this.jvm);
  }

  /** Starts the process without waiting for it to serve. */
  spawn(): void {
    if (this.running()) throw new Error(`${this.describe()} is already running`);
    const { cmd, args } = this.command();
    const log = openSync(this.logPath, 'a');
    let child: ChildProcess;
    try {
      writeFileSync(log, `\n=== ${new Date().toISOString()} ${cmd} ${args.join(' ')}\n`);
      child = spawn(cmd, args, { cwd: this.dir, env: this.env ?? process.env, stdio: ['ignore', log, log] });
    } finally {
      closeSync(log);
    }
    this.child = child;
    this.paused = false;
    this.spawnError = undefined;
    // A failed spawn (ENOENT and the like) emits 'error' and may never emit 'exit'.
    child.once('error', (e) => (this.spawnError = e));
    const pid = child.pid;
    if (pid !== undefined) {
      livePids.add(pid);
      child.once('exit', () => livePids.delete(pid));
    }
  }

  /**
   * Spawns the server and waits (bounded) until it is ready. Resolves with the
   * milliseconds from spawn to the first ready answer. On failure the process
   * is killed and the error carries the tail of its log.
   */
  async start(opts: StartOptions = {}): Promise<number> {
    const t0 = performance.now();
    this.spawn();
    await this.waitReady(opts);
    return performance.now() - t0;
  }

  /** Waits (bounded) until the running server is ready; kills it and throws otherwise. */
  async waitReady(opts: StartOptions = {}): Promise<void> {
    const timeoutMs = opts.timeoutMs ?? this.startTimeoutMs;
    const pollMs = Math.max(5, opts.pollMs ?? 100);
    const ready = opts.ready ?? (async () => SERVING_MODES.has(await this.mode()));
    const deadline = performance.now() + timeoutMs;
    const maxPolls = Math.ceil(timeoutMs / pollMs) + 10;
    for (let i = 0; i < maxPolls && performance.now() < deadline; i++) {
      this.throwIfDead('during start-up');
      if (await ready()) return;
      await sleep(pollMs);
    }
    await this.kill9().catch(() => undefined);
    throw new Error(`${this.describe()} was not ready within ${timeoutMs} ms\n${this.logTail()}`);
  }

  /** Throws (with the log's tail) if the process failed to spawn or has exited. */
  throwIfDead(when: string): void {
    if (this.spawnError) throw new Error(`cannot start ${this.describe()}: ${this.spawnError.message}`);
    const child = this.child;
    if (!child) throw new Error(`${this.describe()} was never started`);
    if (!this.running()) {
      throw new Error(
        `${this.describe()} exited ${when} (code ${child.exitCode}, signal ${child.signalCode})\n${this.logTail()}`,
      );
    }
  }

  /** What srvr says; `down` or `paused` without asking when that is known. */
  async mode(timeoutMs = 2_000): Promise<ServerMode> {
    if (!this.running()) return 'down';
    if (this.paused) return 'paused';
    return serverMode(this.clientPort, timeoutMs);
  }

  /** kill -9: no chance to flush or say goodbye. Keeps the data dir. */
  async kill9(): Promise<void> {
    const child = this.child;
    if (!child || !this.running()) return;
    child.kill('SIGKILL');
    if (!(await waitExit(child, this.stopGraceMs))) {
      throw new Error(`${this.describe()} pid ${child.pid} survived SIGKILL`);
    }
  }

  /** Freezes the process: its sockets stay open but nothing answers, as in a long GC pause. */
  sigstop(): void {
    if (!this.running()) throw new Error(`${this.describe()} is not running`);
    this.child!.kill('SIGSTOP');
    this.paused = true;
  }

  sigcont(): void {
    if (!this.running()) return;
    this.child!.kill('SIGCONT');
    this.paused = false;
  }

  /** SIGTERM, then SIGKILL after the grace period. Keeps the data dir. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || !this.running()) return;
    // A stopped process cannot act on SIGTERM until it runs again.
    if (this.paused) this.sigcont();
    child.kill('SIGTERM');
    if (await waitExit(child, this.stopGraceMs)) return;
    await this.kill9();
  }

  /** Stops it (if running) and starts it again on the same ports and data. */
  async restart(opts: StartOptions = {}): Promise<number> {
    await this.stop();
    return this.start(opts);
  }

  /** Stops it, then removes its directory if this handle made it (and it is not kept). Safe to call twice. */
  async destroy(): Promise<void> {
    try {
      await this.stop();
    } finally {
      if (this.ownsDir) removeOwnedDir(this.dir);
    }
  }

  /** Synchronous last resort: SIGKILL, and remove the directory if owned and not kept. */
  killNow(): void {
    const pid = this.child?.pid;
    if (this.running() && pid !== undefined) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    if (this.ownsDir) removeOwnedDir(this.dir);
  }

  /** The last lines of the server's log, for failure messages. */
  logTail(lines = 40): string {
    try {
      const all = readFileSync(this.logPath, 'utf8').split('\n');
      return `--- last ${lines} lines of ${this.logPath} ---\n${all.slice(-lines).join('\n')}`;
    } catch {
      return `(no log at ${this.logPath})`;
    }
  }

  describe(): string {
    const who = this.role === 'standalone' ? this.kind : `${this.kind} server ${this.id}`;
    return `${who} (client port ${this.clientPort})`;
  }
}

// ---------------------------------------------------------------- standalone

export interface StandaloneOptions {
  /** zoo.cfg keys after the defaults (later keys win); null removes a default. */
  config?: CfgEntries;
  /** Client port; default a free one. */
  port?: number;
  jvm?: JvmOptions;
  /** Extra arguments to `synod server`. */
  synodArgs?: string[];
  env?: NodeJS.ProcessEnv;
  /** Parent of the server's temporary directory; default the OS temp dir. */
  baseDir?: string;
  /** Prefix of that directory's name; default `synod-<kind>-`. */
  prefix?: string;
  /** Keep the directory after destroy() and at exit; default $SYNOD_KEEP_DIRS. */
  keepDir?: boolean;
  startTimeoutMs?: number;
}

/** A standalone server in a fresh temporary directory, not yet started. */
export async function createStandalone(kind: ServerKind, opts: StandaloneOptions = {}): Promise<ManagedServer> {
  const port = opts.port ?? (await freePort());
  const keep = opts.keepDir ?? keepByDefault();
  const dir = makeOwnedDir(opts.baseDir ?? tmpdir(), opts.prefix ?? `synod-${kind}-`, keep);
  const cfg = { ...baseConfig(join(dir, 'data'), port), ...opts.config };
  try {
    return new ManagedServer({
      kind,
      id: 0,
      dir,
      clientPort: port,
      cfg,
      jvm: opts.jvm,
      synodArgs: opts.synodArgs,
      env: opts.env,
      ownsDir: true,
      keepDir: keep,
      startTimeoutMs: opts.startTimeoutMs,
    });
  } catch (e) {
    removeOwnedDir(dir);
    throw e;
  }
}

/** Creates and starts a standalone server, waiting until srvr says it serves. */
export async function startStandalone(kind: ServerKind, opts: StandaloneOptions = {}): Promise<ManagedServer> {
  const server = await createStandalone(kind, opts);
  try {
    await server.start();
  } catch (e) {
    await server.destroy().catch(() => undefined);
    throw e;
  }
  return server;
}

export function startZooKeeper(opts: StandaloneOptions = {}): Promise<ManagedServer> {
  return startStandalone('zookeeper', opts);
}

export function startSynod(opts: StandaloneOptions = {}): Promise<ManagedServer> {
  return startStandalone('synod', opts);
}

// ---------------------------------------------------------------- ensembles

export interface EnsembleOptions {
  /** Voting members. */
  size: number;
  /** Non-voting members, numbered after the voters. */
  observers?: number;
  /** Default 1000 ms, so a dead leader is noticed in seconds (syncLimit ticks). */
  tickTime?: number;
  initLimit?: number;
  syncLimit?: number;
  /** Further zoo.cfg keys for every server (later keys win); null removes a default. */
  config?: CfgEntries;
  jvm?: JvmOptions;
  synodArgs?: string[];
  env?: NodeJS.ProcessEnv;
  /** Parent of the ensemble's temporary directory; default the OS temp dir. */
  baseDir?: string;
  keepDir?: boolean;
  /** Bound on start-up; default 120 s. */
  startTimeoutMs?: number;
  /** What to wait for: every server serving (default), a serving quorum with one leader, or nothing. */
  wait?: 'all' | 'quorum' | 'none';
}

/** A server of an ensemble: its peer and election ports are known. */
export type EnsembleMember = ManagedServer & { readonly peerPort: number; readonly electionPort: number };

const MAX_ENSEMBLE = 9;

export interface QuorumWait {
  timeoutMs?: number;
  /** Also wait for every running, unpaused server to serve. */
  all?: boolean;
}

export class Ensemble {
  readonly kind: ServerKind;
  /** The ensemble's directory, with one s<id>/ per server. */
  readonly dir: string;
  readonly servers: readonly EnsembleMember[];
  readonly size: number;

  constructor(kind: ServerKind, dir: string, servers: EnsembleMember[], size: number) {
    this.kind = kind;
    this.dir = dir;
    this.servers = servers;
    this.size = size;
  }

  get connectString(): string {
    return this.servers.map((s) => s.connectString).join(',');
  }

  server(id: number): EnsembleMember {
    const s = this.servers.find((m) => m.id === id);
    if (!s) throw new Error(`no server ${id} in this ensemble (ids ${this.servers.map((m) => m.id).join(', ')})`);
    return s;
  }

  /** Each server's mode, by id. */
  async modes(timeoutMs = 2_000): Promise<Map<number, ServerMode>> {
    const list = await Promise.all(this.servers.map((s) => s.mode(timeoutMs)));
    return new Map(this.servers.map((s, i) => [s.id, list[i]!]));
  }

  /** The server srvr calls leader (a lone standalone counts), or null unless exactly one does. */
  async leader(timeoutMs = 2_000): Promise<EnsembleMember | null> {
    const modes = await this.modes(timeoutMs);
    const leaders = this.servers.filter((s) => isLeaderMode(modes.get(s.id)!));
    return leaders.length === 1 ? leaders[0]! : null;
  }

  /** Polls until one leader is there (other than `not`, if given); throws after timeoutMs. */
  async waitForLeader(opts: { timeoutMs?: number; not?: number } = {}): Promise<EnsembleMember> {
    const timeoutMs = opts.timeoutMs ?? 60_000;
    const deadline = performance.now() + timeoutMs;
    let modes = new Map<number, ServerMode>();
    for (let i = 0; i < 10_000 && performance.now() < deadline; i++) {
      modes = await this.modes();
      const leaders = this.servers.filter((s) => isLeaderMode(modes.get(s.id)!));
      if (leaders.length === 1 && leaders[0]!.id !== opts.not) return leaders[0]!;
      await sleep(200);
    }
    throw new Error(`no single new leader within ${timeoutMs} ms: ${describeModes(modes)}\n${this.logTails(20)}`);
  }

  /**
   * Polls until exactly one leader and a majority of the voters serve (with
   * `all`, every running unpaused server too). A server that dies on its own
   * meanwhile fails the wait at once.
   */
  async waitForQuorum(opts: QuorumWait = {}): Promise<void> {
    const timeoutMs = opts.timeoutMs ?? 60_000;
    const deadline = performance.now() + timeoutMs;
    const expected = this.servers.filter((s) => s.running());
    let modes = new Map<number, ServerMode>();
    for (let i = 0; i < 10_000 && performance.now() < deadline; i++) {
      for (const s of expected) s.throwIfDead('while the ensemble was forming');
      modes = await this.modes();
      if (this.quorumServes(modes, opts.all ?? false)) return;
      await sleep(200);
    }
    throw new Error(
      `${this.kind} ensemble did not form a serving quorum within ${timeoutMs} ms: ${describeModes(modes)}\n${this.logTails(25)}`,
    );
  }

  private quorumServes(modes: Map<number, ServerMode>, all: boolean): boolean {
    const mode = (s: ManagedServer): ServerMode => modes.get(s.id)!;
    if (this.servers.filter((s) => isLeaderMode(mode(s))).length !== 1) return false;
    const voters = this.servers.filter((s) => s.role !== 'observer');
    const serving = voters.filter((s) => SERVING_MODES.has(mode(s))).length;
    if (serving < Math.floor(voters.length / 2) + 1) return false;
    if (!all) return true;
    return this.servers.every((s) => !s.running() || s.isPaused() || SERVING_MODES.has(mode(s)));
  }

  /** The tails of every server's log. */
  logTails(lines = 30): string {
    return this.servers.map((s) => s.logTail(lines)).join('\n');
  }

  /** Stops every server (continuing paused ones) and removes the directory unless kept. Safe to call twice. */
  async stop(): Promise<void> {
    try {
      await Promise.all(this.servers.map((s) => s.stop().catch(() => s.killNow())));
    } finally {
      removeOwnedDir(this.dir);
    }
  }

  /** Same as stop(), under the name the standalone handles use. */
  destroy(): Promise<void> {
    return this.stop();
  }

  /** Whether stop() and the exit hook leave the directory. */
  keep(keep: boolean): void {
    const o = ownedDirs.get(this.dir);
    if (o) o.keep = keep;
  }
}

function isLeaderMode(m: ServerMode): boolean {
  return m === 'leader' || m === 'standalone';
}

function describeModes(modes: Map<number, ServerMode>): string {
  return modes.size === 0 ? '(no answer yet)' : [...modes].map(([id, m]) => `server ${id}: ${m}`).join(', ');
}

/**
 * Writes one zoo.cfg per server (all listing every server as
 * `server.N=127.0.0.1:peer:election[:observer];127.0.0.1:client`) and a myid
 * in each data dir, starts them all, and waits as `opts.wait` says. A lone
 * Synod server gets a plain standalone zoo.cfg instead; a lone ZooKeeper voter
 * gets standaloneEnabled=false so it still runs as a quorum of one.
 */
export async function startEnsemble(kind: ServerKind, opts: EnsembleOptions): Promise<Ensemble> {
  const size = opts.size;
  const observers = opts.observers ?? 0;
  if (!Number.isInteger(size) || size < 1) throw new Error(`ensemble size must be a positive integer, not ${size}`);
  if (!Number.isInteger(observers) || observers < 0) throw new Error(`observers must be 0 or more, not ${observers}`);
  if (size + observers > MAX_ENSEMBLE) {
    throw new Error(
      `${size + observers} servers is more than this machine should run at once (at most ${MAX_ENSEMBLE})`,
    );
  }
  if (kind === 'zookeeper') {
    const missing = zookeeperMissingReason();
    if (missing) throw new Error(missing);
  }
  const total = size + observers;
  const ports = await freePorts(3 * total);
  const keep = opts.keepDir ?? keepByDefault();
  const dir = makeOwnedDir(opts.baseDir ?? tmpdir(), `synod-ensemble-${kind}-`, keep);
  const plainStandalone = kind === 'synod' && total === 1;
  const specs = Array.from({ length: total }, (_, i) => ({
    id: i + 1,
    client: ports[3 * i]!,
    peer: ports[3 * i + 1]!,
    election: ports[3 * i + 2]!,
    observer: i >= size,
  }));
  const serverLines: CfgEntries = {};
  if (!plainStandalone) {
    for (const s of specs) {
      serverLines[`server.${s.id}`] =
        `${LOOPBACK}:${s.peer}:${s.election}${s.observer ? ':observer' : ''};${LOOPBACK}:${s.client}`;
    }
  }
  const members: EnsembleMember[] = [];
  try {
    for (const s of specs) {
      const sdir = join(dir, `s${s.id}`);
      const cfg: CfgEntries = {
        ...baseConfig(join(sdir, 'data'), s.client, opts.tickTime ?? 1000),
        ...(opts.initLimit !== undefined ? { initLimit: opts.initLimit } : {}),
        ...(opts.syncLimit !== undefined ? { syncLimit: opts.syncLimit } : {}),
        // ZooKeeper would run a lone voter as a plain standalone server otherwise.
        ...(kind === 'zookeeper' && size === 1 ? { standaloneEnabled: 'false' } : {}),
        // Synod takes the role from the server line alone and warns about this key.
        ...(kind === 'zookeeper' && s.observer ? { peerType: 'observer' } : {}),
        ...serverLines,
        ...opts.config,
      };
      members.push(
        new ManagedServer({
          kind,
          id: s.id,
          dir: sdir,
          clientPort: s.client,
          peerPort: s.peer,
          electionPort: s.election,
          role: plainStandalone ? 'standalone' : s.observer ? 'observer' : 'participant',
          cfg,
          myid: plainStandalone ? undefined : s.id,
          jvm: opts.jvm,
          synodArgs: opts.synodArgs,
          env: opts.env,
          startTimeoutMs: opts.startTimeoutMs ?? 120_000,
        }) as EnsembleMember,
      );
    }
  } catch (e) {
    removeOwnedDir(dir);
    throw e;
  }
  const ensemble = new Ensemble(kind, dir, members, size);
  try {
    for (const m of members) m.spawn();
    const wait = opts.wait ?? 'all';
    if (wait !== 'none')
      await ensemble.waitForQuorum({ timeoutMs: opts.startTimeoutMs ?? 120_000, all: wait === 'all' });
  } catch (e) {
    await ensemble.stop().catch(() => undefined);
    throw e;
  }
  return ensemble;
}

export function startZooKeeperEnsemble(opts: EnsembleOptions): Promise<Ensemble> {
  return startEnsemble('zookeeper', opts);
}

/** The same for Synod; a size of 1 without observers is a plain standalone server. */
export function startSynodEnsemble(opts: EnsembleOptions): Promise<Ensemble> {
  return startEnsemble('synod', opts);
}
