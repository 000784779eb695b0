// Starting the two servers the comparison measures, Synod and Apache ZooKeeper
// (Debian's packaged 3.8), standalone on 127.0.0.1 with the same zoo.cfg, each
// in its own temporary directory; and timing how long each takes to serve.
// Finding, spawning and cleaning up the processes is src/testing/servers.ts's.
import { tmpdir } from 'node:os';
import { Err } from '../jute/constants.js';
import {
  createStandalone,
  freePort,
  synodBin,
  zookeeperClasspath as sharedClasspath,
  type ManagedServer,
} from '../testing/servers.js';
import { BenchConn, encodePath } from './conn.js';

export type ServerKind = 'synod' | 'zookeeper';

export { freePort, synodBin };

/** The classpath for ZooKeeper's server: $ZOOKEEPER_CLASSPATH, or the packaged jars with slf4j-simple. */
export function zookeeperClasspath(): string {
  return sharedClasspath('simple');
}

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
  private readonly server: ManagedServer;

  private constructor(kind: ServerKind, server: ManagedServer) {
    this.kind = kind;
    this.server = server;
  }

  static async create(kind: ServerKind, settings: ServerSettings): Promise<BenchServer> {
    const server = await createStandalone(kind, {
      baseDir: settings.baseDir,
      prefix: `synod-bench-${kind}-`,
      keepDir: keepOnSignal,
      // The same file for both. fsync before acknowledging is on in both by
      // default; it is spelled out so nobody wonders.
      config: { extendedTypesEnabled: null, forceSync: 'yes', ...settings.extraConfig },
      // A full-size JVM, as ZooKeeper is deployed; slf4j-simple at WARN because
      // ZooKeeper logs every session at INFO and the comparison is not about logging.
      jvm: { heap: settings.zkHeap, light: false, logLevel: 'warn' },
    });
    const s = new BenchServer(kind, server);
    servers.add(s);
    installSignalCleanup();
    return s;
  }

  get port(): number {
    return this.server.clientPort;
  }

  get dir(): string {
    return this.server.dir;
  }

  get dataDir(): string {
    return this.server.dataDir;
  }

  get logPath(): string {
    return this.server.logPath;
  }

  get connect(): string {
    return this.server.connectString;
  }

  get pid(): number | null {
    return this.server.pid ?? null;
  }

  get running(): boolean {
    return this.server.running();
  }

  commandLine(): { cmd: string; args: string[] } {
    return this.server.command();
  }

  /**
   * Spawns the server and waits until it answers getData(probePath) with OK
   * (or NONODE when `allowNoNode`). Resolves with ms from spawn to that answer.
   */
  async start(probePath = '/', allowNoNode = false, timeoutMs = 300_000): Promise<number> {
    if (this.running) throw new Error(`${this.kind} is already running`);
    const path = encodePath(probePath);
    return this.server.start({
      timeoutMs,
      pollMs: 20,
      ready: async () => {
        const err = await probe(this.port, path);
        return err === 0 || (allowNoNode && err === Err.NONODE);
      },
    });
  }

  kill9(): Promise<void> {
    return this.server.kill9();
  }

  stop(): Promise<void> {
    return this.server.stop();
  }

  async destroy(keep = false): Promise<void> {
    this.server.keepDir = keep;
    servers.delete(this);
    await this.server.destroy();
  }

  /** Synchronous last resort when the comparison is interrupted. */
  killAndRemoveNow(): void {
    this.server.keepDir = keepOnSignal;
    this.server.killNow();
  }

  logTail(lines = 30): string {
    return this.server.logTail(lines);
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

// The shared module kills every server process if the comparison dies; on
// Ctrl-C or SIGTERM this also says so and removes the directories (unless --keep).
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

export function defaultBaseDir(): string {
  return tmpdir();
}
