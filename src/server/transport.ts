// Server-to-server links of an ensemble. Every server dials every peer and
// sends only on the connection it dialed, receiving on the ones it accepted,
// so there is no tie-breaking between two connections for one pair. Messages
// are opaque frames; losing some on a broken link is fine (Raft retries), so
// sends to an unreachable peer are dropped, not queued without bound.
import { createServer, connect, type Server, type Socket } from 'node:net';

const MAGIC = 0x53594e44; // 'SYND'
const VERSION = 2;
const MAX_FRAME = 64 * 1024 * 1024;
/** Bytes queued on one link before further sends are dropped. */
const MAX_QUEUED = 32 * 1024 * 1024;

export interface PeerAddress {
  host: string;
  port: number;
}

export interface TransportOptions {
  id: number;
  listenHost: string;
  listenPort: number;
  peers: Map<number, PeerAddress>;
  onMessage: (from: number, payload: Buffer) => void;
  onPeerDown?: (id: number) => void;
  onPeerUp?: (id: number) => void;
  /** Runs the delivery of one read's messages, so the receiver can treat them as one burst. */
  batch?: (run: () => void) => void;
  log: (msg: string) => void;
}

class OutLink {
  socket: Socket | null = null;
  connecting = false;
  retryTimer: NodeJS.Timeout | null = null;
  backoff = 50;
  up = false;
  /** The socket held corked until the next flush, if any. */
  corked: Socket | null = null;
  constructor(
    readonly id: number,
    public addr: PeerAddress,
  ) {}
}

export class PeerTransport {
  private server: Server | null = null;
  private readonly out = new Map<number, OutLink>();
  private readonly inbound = new Set<Socket>();
  private stopped = false;
  private readonly dirty: OutLink[] = [];
  private flushQueued = false;
  stats = { sent: 0, dropped: 0, received: 0, flushes: 0 };

  constructor(private readonly opts: TransportOptions) {}

  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const srv = createServer({ noDelay: true }, (s) => this.accept(s));
      srv.once('error', reject);
      srv.listen(this.opts.listenPort, this.opts.listenHost, () => {
        srv.off('error', reject);
        resolve();
      });
      this.server = srv;
    });
    for (const [id, addr] of this.opts.peers) if (id !== this.opts.id) this.out.set(id, new OutLink(id, addr));
    for (const link of this.out.values()) this.dial(link);
  }

  /** Replaces the peer set after a membership change; links to removed peers close. */
  setPeers(peers: Map<number, PeerAddress>): void {
    for (const [id, link] of this.out) {
      if (!peers.has(id)) {
        this.closeLink(link);
        this.out.delete(id);
      }
    }
    for (const [id, addr] of peers) {
      if (id === this.opts.id) continue;
      const link = this.out.get(id);
      if (!link) {
        const l = new OutLink(id, addr);
        this.out.set(id, l);
        this.dial(l);
      } else if (link.addr.host !== addr.host || link.addr.port !== addr.port) {
        link.addr = addr;
        this.closeLink(link);
        this.dial(link);
      }
    }
  }

  isUp(id: number): boolean {
    return this.out.get(id)?.up ?? false;
  }

  send(to: number, payload: Uint8Array): boolean {
    const link = this.out.get(to);
    if (!link || !link.up || !link.socket) {
      this.stats.dropped++;
      return false;
    }
    if (link.socket.writableLength > MAX_QUEUED) {
      this.stats.dropped++;
      return false;
    }
    const head = Buffer.allocUnsafe(4);
    head.writeInt32BE(payload.length);
    // Everything sent to a peer until the event loop's check phase leaves in
    // one write: the messages that every socket read in this poll phase gave
    // rise to, not one system call per read.
    if (link.corked !== link.socket) {
      link.socket.cork();
      link.corked = link.socket;
      this.dirty.push(link);
      if (!this.flushQueued) {
        this.flushQueued = true;
        setImmediate(this.flush);
      }
    }
    link.socket.write(head);
    link.socket.write(payload);
    this.stats.sent++;
    return true;
  }

  private readonly flush = (): void => {
    this.flushQueued = false;
    for (const link of this.dirty) {
      const s = link.corked;
      link.corked = null;
      s?.uncork();
    }
    this.stats.flushes += this.dirty.length;
    this.dirty.length = 0;
  };

  private dial(link: OutLink): void {
    if (this.stopped || link.connecting || link.socket) return;
    link.connecting = true;
    const s = connect({ host: link.addr.host, port: link.addr.port });
    s.setNoDelay(true);
    s.once('connect', () => {
      link.connecting = false;
      link.socket = s;
      link.up = true;
      link.backoff = 50;
      const hello = Buffer.alloc(12);
      hello.writeInt32BE(MAGIC, 0);
      hello.writeInt32BE(VERSION, 4);
      hello.writeInt32BE(this.opts.id, 8);
      s.write(hello);
      this.opts.onPeerUp?.(link.id);
    });
    // Nothing is read on a dialed link; drain anything a confused peer sends.
    s.on('data', () => {});
    s.on('error', () => {});
    s.once('close', () => {
      const wasUp = link.up;
      link.connecting = false;
      link.socket = null;
      link.up = false;
      if (wasUp) this.opts.onPeerDown?.(link.id);
      if (this.stopped || !this.out.has(link.id)) return;
      link.retryTimer = setTimeout(() => {
        link.retryTimer = null;
        this.dial(link);
      }, link.backoff);
      link.retryTimer.unref();
      link.backoff = Math.min(link.backoff * 2, 1000);
    });
  }

  private closeLink(link: OutLink): void {
    if (link.retryTimer) clearTimeout(link.retryTimer);
    link.retryTimer = null;
    link.socket?.destroy();
    link.socket = null;
    link.up = false;
  }

  private accept(s: Socket): void {
    if (this.stopped) {
      s.destroy();
      return;
    }
    this.inbound.add(s);
    let from = -1;
    let chunks: Buffer[] = [];
    let buffered = 0;
    s.on('data', (d: Buffer) => {
      chunks.push(d);
      buffered += d.length;
      let buf = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, buffered);
      let off = 0;
      if (from < 0) {
        if (buf.length < 12) {
          chunks = [buf];
          return;
        }
        if (buf.readInt32BE(0) !== MAGIC || buf.readInt32BE(4) !== VERSION) {
          this.opts.log(`peer connection from ${s.remoteAddress}: bad hello, closing`);
          s.destroy();
          return;
        }
        from = buf.readInt32BE(8);
        off = 12;
      }
      const payloads: Buffer[] = [];
      while (buf.length - off >= 4) {
        const len = buf.readInt32BE(off);
        if (len < 0 || len > MAX_FRAME) {
          this.opts.log(`peer ${from}: frame length ${len}, closing`);
          s.destroy();
          return;
        }
        if (buf.length - off - 4 < len) break;
        payloads.push(buf.subarray(off + 4, off + 4 + len));
        off += 4 + len;
      }
      if (payloads.length > 0 && !this.deliver(from, payloads)) {
        s.destroy();
        return;
      }
      buf = buf.subarray(off);
      chunks = buf.length > 0 ? [buf] : [];
      buffered = buf.length;
    });
    s.on('error', () => {});
    s.once('close', () => this.inbound.delete(s));
  }

  /** Hands one read's messages over together; false when one was bad and the link should close. */
  private deliver(from: number, payloads: readonly Buffer[]): boolean {
    const run = (): void => {
      for (const p of payloads) {
        this.stats.received++;
        this.opts.onMessage(from, p);
      }
    };
    try {
      if (this.opts.batch) this.opts.batch(run);
      else run();
      return true;
    } catch (err) {
      this.opts.log(`peer ${from}: dropping connection after a bad message: ${(err as Error).stack ?? String(err)}`);
      return false;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const link of this.out.values()) this.closeLink(link);
    for (const s of this.inbound) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
