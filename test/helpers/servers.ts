// Real server processes for the compatibility suites: Synod (the default target)
// or Apache ZooKeeper from Debian's packages (COMPAT_TARGET=zookeeper), used to
// prove the suites themselves are right before they judge Synod.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fourLetterWord, isOk } from './fourletter.js';
import { REPO_ROOT, classpath, peerSkip, slf4jBinding, zookeeperJars, type Peer } from './peers.js';
import { makeTempDir, removeDir, track } from './processes.js';

export type TargetKind = 'synod' | 'zookeeper';

/** Which server the compat suites run against: Synod unless COMPAT_TARGET=zookeeper. */
export function target(): TargetKind {
  const v = (process.env.COMPAT_TARGET ?? 'synod').trim().toLowerCase();
  if (v === '' || v === 'synod') return 'synod';
  if (v === 'zookeeper' || v === 'zk') return 'zookeeper';
  throw new Error(`COMPAT_TARGET must be "synod" or "zookeeper", not ${JSON.stringify(process.env.COMPAT_TARGET)}`);
}

/** Peers a suite needs just to start its server. */
export function targetPeers(): Peer[] {
  return target() === 'zookeeper' ? ['zookeeper'] : [];
}

/** peerSkip for the server plus the given client peers. */
export function suiteSkip(...clientPeers: Peer[]): string | false {
  return peerSkip(...targetPeers(), ...clientPeers);
}

export const SYNOD_BIN = join(REPO_ROOT, 'bin', 'synod.js');

const START_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 10_000;

export interface ServerOptions {
  /** Extra zoo.cfg lines, written after the defaults (later keys win in both servers). */
  config?: Record<string, string | number>;
}

/** A free TCP port on 127.0.0.1, as the kernel hands them out. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => {
        if (addr && typeof addr === 'object') resolve(addr.port);
        else reject(new Error('no port'));
      });
    });
  });
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

export class ServerHandle {
  readonly kind: TargetKind;
  readonly port: number;
  /** Temp dir holding zoo.cfg, the data dir and the server log; removed by destroy(). */
  readonly dir: string;
  readonly dataDir: string;
  readonly configPath: string;
  readonly logPath: string;
  private child: ChildProcess | undefined;

  constructor(kind: TargetKind, port: number, dir: string, extra: Record<string, string | number>) {
    this.kind = kind;
    this.port = port;
    this.dir = dir;
    this.dataDir = join(dir, 'data');
    this.configPath = join(dir, 'zoo.cfg');
    this.logPath = join(dir, 'server.log');
    mkdirSync(this.dataDir, { recursive: true });
    const cfg: Record<string, string | number> = {
      tickTime: 2000,
      initLimit: 10,
      syncLimit: 5,
      dataDir: this.dataDir,
      clientPort: port,
      clientPortAddress: '127.0.0.1',
      maxClientCnxns: 0,
      '4lw.commands.whitelist': '*',
      extendedTypesEnabled: 'true',
      'admin.enableServer': 'false',
      // ZooKeeper takes this one as a system property (set on its command line
      // too); Synod reads it from zoo.cfg so containers and TTL nodes are reaped fast.
      'znode.container.checkIntervalMs': 1000,
      ...extra,
    };
    writeFileSync(
      this.configPath,
      Object.entries(cfg)
        .map(([k, v]) => `${k}=${v}\n`)
        .join(''),
    );
  }

  get host(): string {
    return '127.0.0.1';
  }

  get connectString(): string {
    return `127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.running() ? this.child!.pid : undefined;
  }

  running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  private command(): { cmd: string; args: string[] } {
    if (this.kind === 'synod') {
      if (!existsSync(SYNOD_BIN)) throw new Error(`Synod is not there: ${SYNOD_BIN} does not exist`);
      const args = [SYNOD_BIN, 'server', '--port', String(this.port), '--data-dir', this.dataDir];
      args.push('--config', this.configPath);
      return { cmd: process.execPath, args };
    }
    const jars = zookeeperJars();
    if (!jars) throw new Error('Apache ZooKeeper jars not found (apt-get install zookeeper)');
    const logger = slf4jBinding('simple');
    const cp = classpath(logger ? [...jars, logger] : jars);
    return {
      cmd: 'java',
      args: [
        // A small, quick-starting JVM: the machine has 2 cores and several may run.
        '-Xms32m',
        '-Xmx256m',
        '-XX:+UseSerialGC',
        '-XX:TieredStopAtLevel=1',
        '-Djava.net.preferIPv4Stack=true',
        '-cp',
        cp,
        '-Dznode.container.checkIntervalMs=1000',
        '-Dzookeeper.extendedTypesEnabled=true',
        '-Dorg.slf4j.simpleLogger.showDateTime=true',
        'org.apache.zookeeper.server.quorum.QuorumPeerMain',
        this.configPath,
      ],
    };
  }

  /** Start the process and wait (bounded) until it answers ruok with imok. */
  async start(): Promise<void> {
    if (this.running()) throw new Error(`${this.kind} on port ${this.port} is already running`);
    const { cmd, args } = this.command();
    const log = openSync(this.logPath, 'a');
    let child: ChildProcess;
    try {
      writeFileSync(log, `\n=== ${new Date().toISOString()} ${cmd} ${args.join(' ')}\n`);
      child = spawn(cmd, args, { cwd: this.kind === 'synod' ? REPO_ROOT : this.dir, stdio: ['ignore', log, log] });
    } finally {
      closeSync(log);
    }
    track(child);
    this.child = child;
    // A failed spawn (ENOENT and the like) emits 'error' and may never emit 'exit'.
    let spawnError: Error | undefined;
    child.once('error', (e) => (spawnError = e));
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (let i = 0; Date.now() < deadline && i < 1_000; i++) {
      if (spawnError) throw new Error(`cannot start ${cmd}: ${spawnError.message}`);
      if (!this.running()) {
        throw new Error(
          `${this.kind} exited during start-up (code ${child.exitCode}, signal ${child.signalCode})\n${this.logTail()}`,
        );
      }
      if ((await isOk(this.port, 1_000)) && (await this.serving())) return;
      await sleep(100);
    }
    await this.stop();
    throw new Error(`${this.kind} did not answer ruok within ${START_TIMEOUT_MS} ms\n${this.logTail()}`);
  }

  // ZooKeeper answers ruok before it has loaded its database; until then every
  // other word says it is not serving, so wait for that to pass too.
  private async serving(): Promise<boolean> {
    try {
      return !(await fourLetterWord(this.port, 'srvr', 2_000)).includes('not currently serving');
    } catch {
      // ruok just answered, so a server that errors on srvr simply lacks the word.
      return true;
    }
  }

  /** SIGTERM, then SIGKILL if it has not exited after a grace period. Keeps the data dir. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || !this.running()) return;
    child.kill('SIGTERM');
    if (await waitExit(child, STOP_GRACE_MS)) return;
    child.kill('SIGKILL');
    if (!(await waitExit(child, STOP_GRACE_MS))) throw new Error(`${this.kind} pid ${child.pid} survived SIGKILL`);
  }

  /** kill -9: no chance to flush or say goodbye. Keeps the data dir. */
  async kill9(): Promise<void> {
    const child = this.child;
    if (!child || !this.running()) return;
    child.kill('SIGKILL');
    if (!(await waitExit(child, STOP_GRACE_MS))) throw new Error(`${this.kind} pid ${child.pid} survived SIGKILL`);
  }

  /** Start again on the same port and data dir (after stop() or kill9()). */
  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** Stop and delete the temp dir. Safe to call twice. */
  async destroy(): Promise<void> {
    try {
      await this.stop();
    } finally {
      if (!process.env.COMPAT_KEEP_DIRS) removeDir(this.dir);
    }
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
}

/** Start a server of the given kind on a free port in a fresh temp dir. */
export async function startServer(kind: TargetKind, opts: ServerOptions = {}): Promise<ServerHandle> {
  const port = await freePort();
  const handle = new ServerHandle(kind, port, makeTempDir(kind), opts.config ?? {});
  try {
    await handle.start();
  } catch (e) {
    await handle.destroy().catch(() => undefined);
    throw e;
  }
  return handle;
}

export function startZooKeeper(opts: ServerOptions = {}): Promise<ServerHandle> {
  return startServer('zookeeper', opts);
}

export function startSynod(opts: ServerOptions = {}): Promise<ServerHandle> {
  return startServer('synod', opts);
}

/** Start whichever server COMPAT_TARGET selects. */
export function startTarget(opts: ServerOptions = {}): Promise<ServerHandle> {
  return startServer(target(), opts);
}
