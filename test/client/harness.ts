// Shared set-up for the client suites: each runs once per server kind, skipping
// Apache ZooKeeper cleanly when Java or the Debian package is missing (unless
// SYNOD_REQUIRE_PEERS=1, which makes that a failure).
import { createServer, connect, type Server, type Socket } from 'node:net';
import { peerSkip } from '../helpers/peers.js';
import type { TargetKind } from '../helpers/servers.js';
import { ZooKeeper, type ZooKeeperOptions } from '../../src/client/index.js';

export const KINDS: readonly TargetKind[] = ['synod', 'zookeeper'];

export function kindSkip(kind: TargetKind): string | false {
  return kind === 'zookeeper' ? peerSkip('zookeeper') : false;
}

/** Short ticks so session timeouts (2 × tickTime .. maxSessionTimeout) can be small in tests. */
export const FAST_TICKS = { tickTime: 500, minSessionTimeout: 1000, maxSessionTimeout: 30_000 };

/** Connects and remembers the client so closeAll() can close it. */
export class Clients {
  private readonly all: ZooKeeper[] = [];

  async connect(connectString: string, opts: ZooKeeperOptions = {}): Promise<ZooKeeper> {
    const zk = await ZooKeeper.connect(connectString, { sessionTimeout: 10_000, maxRetryDelay: 200, ...opts });
    this.all.push(zk);
    return zk;
  }

  track(zk: ZooKeeper): ZooKeeper {
    this.all.push(zk);
    return zk;
  }

  async closeAll(): Promise<void> {
    for (const zk of this.all.splice(0)) await zk.close().catch(() => undefined);
  }
}

/** A loopback TCP proxy that counts connections and can be cut (drop all, refuse new) and healed. */
export class Proxy {
  accepted = 0;
  port = 0;
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private isCut = false;

  constructor(private readonly targetPort: number) {}

  async start(): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      const srv = createServer((client) => this.accept(client));
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const a = srv.address();
        this.port = typeof a === 'object' && a ? a.port : 0;
        resolve();
      });
      this.server = srv;
    });
    return this;
  }

  get connectString(): string {
    return `127.0.0.1:${this.port}`;
  }

  private accept(client: Socket): void {
    this.accepted++;
    if (this.isCut) {
      client.destroy();
      return;
    }
    const upstream = connect(this.targetPort, '127.0.0.1');
    this.sockets.add(client);
    this.sockets.add(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    for (const s of [client, upstream]) {
      s.on('error', end);
      s.on('close', end);
    }
  }

  cut(): void {
    this.isCut = true;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  heal(): void {
    this.isCut = false;
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/** A port nothing listens on (bound, then released). */
export async function deadPort(): Promise<number> {
  const p = await new Proxy(1).start();
  const port = p.port;
  await p.stop();
  return port;
}

/** Polls until fn() gives a value that is not undefined/false (bounded). */
export async function until<T>(
  what: string,
  fn: () => T | undefined | false | Promise<T | undefined | false>,
  ms = 20_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (let i = 0; i < 100_000 && Date.now() < deadline; i++) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

/** Collects watch events; next() waits (bounded) for the next one. */
export class EventLog<E> {
  readonly events: E[] = [];
  private waiters: Array<() => void> = [];
  readonly push = (e: E): void => {
    this.events.push(e);
    for (const w of this.waiters.splice(0)) w();
  };

  async waitFor(n: number, ms = 15_000): Promise<E[]> {
    const deadline = Date.now() + ms;
    while (this.events.length < n) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`waited ${ms} ms for ${n} events, got ${this.events.length}: ${JSON.stringify(this.events)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.events;
  }
}
