// A TCP proxy between two servers that a test can cut and heal, to partition
// an ensemble on loopback without touching the host's network.
import { createServer, connect, type Server, type Socket } from 'node:net';

export class CuttableProxy {
  private server: Server | null = null;
  private readonly pairs = new Set<[Socket, Socket]>();
  private cut_ = false;
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async start(listenPort = 0): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      const srv = createServer((client) => this.accept(client));
      srv.once('error', reject);
      srv.listen(listenPort, '127.0.0.1', () => {
        const a = srv.address();
        this.port = typeof a === 'object' && a ? a.port : listenPort;
        resolve();
      });
      this.server = srv;
    });
    return this.port;
  }

  private accept(client: Socket): void {
    if (this.cut_) {
      client.destroy();
      return;
    }
    const upstream = connect(this.targetPort, this.targetHost);
    const pair: [Socket, Socket] = [client, upstream];
    this.pairs.add(pair);
    client.pipe(upstream);
    upstream.pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
      this.pairs.delete(pair);
    };
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', end);
  }

  /** Drops every connection through the proxy and refuses new ones. */
  cut(): void {
    this.cut_ = true;
    for (const [a, b] of this.pairs) {
      a.destroy();
      b.destroy();
    }
    this.pairs.clear();
  }

  heal(): void {
    this.cut_ = false;
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
