// Starting the two servers the comparison measures, Synod and Apache ZooKeeper
// (Debian's packaged 3.8), standalone on 127.0.0.1 with the same zoo.cfg, each
// in its own temporary directory; and timing how long each takes to serve.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Err } from '../jute/constants.js';
import { BenchConn, encodePath } from './conn.js';

export type ServerKind = 'synod' | 'zookeeper';

/** bin/synod.js, found from this file in dist/src/bench/ or src/bench/. */
export function synodBin(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const p = join(dir, 'bin', 'synod.js');
    if (existsSync(p) && existsSync(join(dir, 'package.json'))) return p;
    dir = dirname(dir);
  }
  throw new Error('cannot find bin/synod.js above the bench module');
}

const JAVA_DIR = '/usr/share/java';
// ZooKeeper's manifest names most of these already; listing them keeps the
// server starting if a packager trims that Class-Path.
const ZK_JARS = [
  'zookeeper',
  'zookeeper-jute',
  'slf4j-api',
  'slf4j-simple',
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

/** The classpath for ZooKeeper's server: $ZOOKEEPER_CLASSPATH, or Debian's jars. */
export function zookeeperClasspath(): string {
  const env = process.env.ZOOKEEPER_CLASSPATH;
  if (env) return env;
  const core = join(JAVA_DIR, 'zookeeper.jar');
  if (!existsSync(core)) {
    throw new Error(`Apache ZooKeeper not found (${core}); apt-get install zookeeper, or set ZOOKEEPER_CLASSPATH`);
  }
  return ZK_JARS.map((j) => join(JAVA_DIR, `${j}.jar`))
    .filter((p) => existsSync(p))
    .join(':');
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === 'object' ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface ServerSettings {
  /** JVM heap for ZooKeeper, as -Xmx takes it. */
  zkHeap: string;
  /** Parent of the temporary directories. */
  baseDir: string;
  /** Extra zoo.cfg lines for both servers. */
  extraConfig: Record<string, string | number>;
}

export class BenchServer {
  readonly kind: ServerKind;
  readonly port: number;
  readonly dir: string;
  readonly dataDir: string;
  readonly logPath: string;
  private readonly configPath: string;
  private readonly settings: ServerSettings;
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();

  private constructor(kind: ServerKind, port: number, settings: ServerSettings) {
    this.kind = kind;
    this.port = port;
    this.settings = settings;
    mkdirSync(settings.baseDir, { recursive: true });
    this.dir = mkdtempSync(join(settings.baseDir, `synod-bench-${kind}-`));
    this.dataDir = join(this.dir, 'data');
    this.configPath = join(this.dir, 'zoo.cfg');
    this.logPath = join(this.dir, 'server.log');
    mkdirSync(this.dataDir);
    // The same file for both. fsync before acknowledging is on in both by default;
    // it is spelled out so nobody wonders.
    const cfg: Record<string, string | number> = {
      tickTime: 2000,
      initLimit: 10,
      syncLimit: 5,
      dataDir: this.dataDir,
      clientPort: port,
      clientPortAddress: '127.0.0.1',
      maxClientCnxns: 0,
      forceSync: 'yes',
      '4lw.commands.whitelist': '*',
      'admin.enableServer': 'false',
      ...settings.extraConfig,
    };
    writeFileSync(
      this.configPath,
      Object.entries(cfg)
        .map(([k, v]) => `${k}=${v}\n`)
        .join(''),
    );
  }

  static async create(kind: ServerKind, settings: ServerSettings): Promise<BenchServer> {
    const s = new BenchServer(kind, await freePort(), settings);
    servers.add(s);
    installSignalCleanup();
    return s;
  }

  get connect(): string {
    return `127.0.0.1:${this.port}`;
  }

  get pid(): number | null {
    return this.running ? (this.child!.pid ?? null) : null;
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  commandLine(): { cmd: string; args: string[] } {
    if (this.kind === 'synod') {
      return { cmd: process.execPath, args: [synodBin(), 'server', '--config', this.configPath] };
    }
    return {
      cmd: 'java',
      args: [
        `-Xmx${this.settings.zkHeap}`,
        '-Djava.net.preferIPv4Stack=true',
        '-Dzookeeper.admin.enableServer=false',
        // slf4j-simple at WARN: ZooKeeper logs every session at INFO, and the
        // comparison is not about logging.
        '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
        '-cp',
        zookeeperClasspath(),
        'org.apache.zookeeper.server.quorum.QuorumPeerMain',
        this.configPath,
      ],
    };
  }

  /**
   * Spawns the server and waits until it answers getData(probePath) with OK
   * (or NONODE when `allowNoNode`). Resolves with ms from spawn to that answer.
   */
  async start(probePath = '/', allowNoNode = false, timeoutMs = 300_000): Promise<number> {
    if (this.running) throw new Error(`${this.kind} is already running`);
    const { cmd, args } = this.commandLine();
    const log = openSync(this.logPath, 'a');
    const t0 = performance.now();
    let child: ChildProcess;
    try {
      writeFileSync(log, `\n=== ${new Date().toISOString()} ${cmd} ${args.join(' ')}\n`);
      child = spawn(cmd, args, { cwd: this.dir, stdio: ['ignore', log, log] });
    } finally {
      closeSync(log);
    }
    this.child = child;
    this.exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.once('error', () => undefined);
    live.add(child);
    child.once('exit', () => live.delete(child));
    const path = encodePath(probePath);
    const deadline = t0 + timeoutMs;
    while (performance.now() < deadline) {
      if (!this.running) throw new Error(`${this.kind} exited during start-up\n${this.logTail()}`);
      const err = await probe(this.port, path);
      if (err === 0 || (allowNoNode && err === Err.NONODE)) return performance.now() - t0;
      await sleep(err === null ? 20 : 50);
    }
    await this.kill9();
    throw new Error(`${this.kind} did not serve getData ${probePath} within ${timeoutMs} ms\n${this.logTail()}`);
  }

  async kill9(): Promise<void> {
    if (!this.running) return;
    this.child!.kill('SIGKILL');
    await Promise.race([this.exited, sleep(10_000)]);
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.child!.kill('SIGTERM');
    await Promise.race([this.exited, sleep(15_000)]);
    await this.kill9();
  }

  async destroy(keep = false): Promise<void> {
    await this.stop();
    servers.delete(this);
    if (!keep) rmSync(this.dir, { recursive: true, force: true, maxRetries: 3 });
  }

  /** Synchronous last resort when the comparison is interrupted. */
  killAndRemoveNow(): void {
    if (this.running) this.child!.kill('SIGKILL');
    if (!keepOnSignal) rmSync(this.dir, { recursive: true, force: true, maxRetries: 3 });
  }

  logTail(lines = 30): string {
    try {
      return `--- ${this.logPath} ---\n${readFileSync(this.logPath, 'utf8').split('\n').slice(-lines).join('\n')}`;
    } catch {
      return `(no log at ${this.logPath})`;
    }
  }
}

/** One getData over a fresh session: the error code, or null if there was no answer. */
async function probe(port: number, path: Buffer): Promise<number | null> {
  let c: BenchConn;
  try {
    c = await BenchConn.connect({ host: '127.0.0.1', port, sessionTimeoutMs: 10_000, connectTimeoutMs: 2000 });
  } catch {
    return null;
  }
  try {
    return await new Promise<number | null>((resolve) => {
      const t = setTimeout(() => resolve(null), 5000);
      c.onReply = (_c, _tag, err) => {
        clearTimeout(t);
        resolve(err);
      };
      c.onClose = () => {
        clearTimeout(t);
        resolve(null);
      };
      c.getData(path, false, 0, 0, 0);
    });
  } finally {
    c.onReply = null;
    c.onClose = null;
    if (c.isOpen) {
      c.closeSession(-1, 0, 0);
      await c.waitClosed(1000);
    }
    c.destroy();
  }
}

// Servers still running if the comparison dies are killed with it, and on
// Ctrl-C or SIGTERM their temporary directories go too (unless --keep).
const live = new Set<ChildProcess>();
const servers = new Set<BenchServer>();
let keepOnSignal = false;
let installed = false;

export function keepDirsOnSignal(keep: boolean): void {
  keepOnSignal = keep;
}

function installSignalCleanup(): void {
  if (installed) return;
  installed = true;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      process.stderr.write(`\n${sig}: stopping the servers\n`);
      for (const s of servers) s.killAndRemoveNow();
      process.exit(sig === 'SIGINT' ? 130 : 143);
    });
  }
}
process.on('exit', () => {
  for (const c of live) {
    try {
      if (c.pid !== undefined) process.kill(c.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

export function defaultBaseDir(): string {
  return tmpdir();
}
