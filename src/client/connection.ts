// One TCP connection to one server: the ConnectRequest handshake, frame
// reassembly, keep-alive pings and the dead-connection check. It knows nothing
// of requests or watches; it hands whole frames to its owner.
import { connect as netConnect, type Socket } from 'node:net';
import { JuteReader, JuteWriter } from '../jute/buffer.js';
import { OpCode, Xid } from '../jute/constants.js';
import {
  readConnectResponse,
  writeConnectRequest,
  type ConnectRequest,
  type ConnectResponse,
} from '../jute/records.js';
import type { HostPort } from './hosts.js';

export interface ConnectionOwner {
  onConnectResponse(conn: Connection, response: ConnectResponse): void;
  /** A frame after the handshake; the body spans buf[start, end). */
  onFrame(conn: Connection, buf: Buffer, start: number, end: number): void;
  onDrain(conn: Connection): void;
  /** Called once, whatever ended the connection. */
  onClose(conn: Connection, reason: string): void;
}

export interface ConnectionOptions {
  /** Bound on TCP connect plus handshake (ms). */
  connectTimeout: number;
  maxFrameBytes: number;
  request: ConnectRequest;
}

// The Java client never lets more than this pass between pings, whatever the timeout.
const MAX_PING_INTERVAL = 10_000;

const PING_FRAME = (() => {
  const w = new JuteWriter(12);
  w.int(8).int(Xid.PING).int(OpCode.ping);
  return w.toBuffer();
})();

const EMPTY = Buffer.alloc(0);

export class Connection {
  readonly host: HostPort;
  handshaken = false;
  closed = false;

  private readonly socket: Socket;
  private readonly owner: ConnectionOwner;
  private readonly maxFrameBytes: number;
  private readonly request: ConnectRequest;

  // Bytes of an incomplete frame: `head` when one buffer holds them all, or
  // `parts` while a large frame arrives in pieces (joined once it is complete).
  private head: Buffer = EMPTY;
  private parts: Buffer[] | null = null;
  private partsLength = 0;
  private partsNeed = 0;

  private timer: NodeJS.Timeout | undefined;
  private timerAt = 0;
  private deadline: number;
  private readonly connectTimeout: number;
  private pingInterval = 0;
  private readTimeout = 0;
  lastSend: number;
  lastRecv: number;
  private error: Error | undefined;

  constructor(host: HostPort, owner: ConnectionOwner, opts: ConnectionOptions) {
    this.host = host;
    this.owner = owner;
    this.maxFrameBytes = opts.maxFrameBytes;
    this.request = opts.request;
    const now = Date.now();
    this.lastSend = now;
    this.lastRecv = now;
    this.connectTimeout = opts.connectTimeout;
    this.deadline = now + opts.connectTimeout;
    const socket = netConnect({ host: host.host, port: host.port });
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('connect', () => this.onConnect());
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.owner.onDrain(this));
    socket.on('error', (e) => {
      this.error = e;
    });
    socket.on('close', () =>
      this.finish(
        this.error
          ? `${this.error.message}`
          : this.handshaken
            ? 'the server closed the connection'
            : 'the server closed the connection during the handshake',
      ),
    );
    this.armAt(this.deadline);
  }

  get address(): string {
    return `${this.host.host}:${this.host.port}`;
  }

  /** The negotiated session timeout is known: ping at a third of it, give up after two thirds of silence. */
  startSession(negotiatedTimeout: number): void {
    this.readTimeout = Math.max(1, Math.floor((negotiatedTimeout * 2) / 3));
    this.pingInterval = Math.max(1, Math.min(Math.floor(this.readTimeout / 2), MAX_PING_INTERVAL));
    this.lastSend = Date.now();
    this.rearm();
  }

  /** Writes one or more whole frames; false means the socket buffer is full (wait for onDrain). */
  write(buf: Buffer): boolean {
    this.lastSend = Date.now();
    return this.socket.write(buf);
  }

  get writableLength(): number {
    return this.socket.writableLength;
  }

  /** Drops the connection now; the owner hears of it through onClose. */
  destroy(reason: string): void {
    if (this.closed) return;
    this.socket.destroy();
    this.finish(reason);
  }

  private finish(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.head = EMPTY;
    this.parts = null;
    this.owner.onClose(this, reason);
  }

  private onConnect(): void {
    if (this.closed) return;
    const w = new JuteWriter(64);
    const at = w.reserveLength();
    writeConnectRequest(w, this.request);
    w.patchLength(at);
    this.write(w.toBuffer());
  }

  private armAt(at: number): void {
    if (this.closed) return;
    if (this.timer !== undefined) {
      if (this.timerAt <= at) return;
      clearTimeout(this.timer);
    }
    this.timerAt = at;
    this.timer = setTimeout(() => this.onTimer(), Math.max(0, at - Date.now()));
    this.timer.unref();
  }

  private rearm(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.handshaken) {
      this.armAt(this.deadline);
      return;
    }
    this.armAt(Math.min(this.lastSend + this.pingInterval, this.lastRecv + this.readTimeout));
  }

  private onTimer(): void {
    this.timer = undefined;
    if (this.closed) return;
    const now = Date.now();
    if (!this.handshaken) {
      if (now >= this.deadline) {
        this.destroy(`no ConnectResponse from ${this.address} within ${this.connectTimeout} ms`);
        return;
      }
    } else {
      if (now - this.lastRecv >= this.readTimeout) {
        this.destroy(`nothing heard from ${this.address} for ${now - this.lastRecv} ms`);
        return;
      }
      if (now - this.lastSend >= this.pingInterval) this.write(PING_FRAME);
    }
    this.rearm();
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    this.lastRecv = Date.now();
    if (this.parts !== null) {
      this.parts.push(chunk);
      this.partsLength += chunk.length;
      if (this.partsLength < this.partsNeed) return;
      const joined = Buffer.concat(this.parts, this.partsLength);
      this.parts = null;
      this.parse(joined);
      return;
    }
    this.parse(this.head.length === 0 ? chunk : Buffer.concat([this.head, chunk]));
  }

  private parse(buf: Buffer): void {
    let off = 0;
    const n = buf.length;
    while (n - off >= 4) {
      const len = buf.readInt32BE(off);
      if (len < 0 || len > this.maxFrameBytes) {
        this.destroy(`bad frame length ${len} from ${this.address}`);
        return;
      }
      if (n - off - 4 < len) {
        if (len > 64 * 1024) {
          // Collect the rest of a big frame piecewise instead of re-joining per chunk.
          this.parts = [buf.subarray(off)];
          this.partsLength = n - off;
          this.partsNeed = 4 + len;
          this.head = EMPTY;
          return;
        }
        break;
      }
      const start = off + 4;
      off = start + len;
      if (!this.handshaken) this.onHandshake(buf, start, off);
      else this.owner.onFrame(this, buf, start, off);
      if (this.closed) return;
    }
    this.head = off === n ? EMPTY : buf.subarray(off);
  }

  private onHandshake(buf: Buffer, start: number, end: number): void {
    let response: ConnectResponse;
    try {
      response = readConnectResponse(new JuteReader(buf, start, end));
    } catch (e) {
      this.destroy(`bad ConnectResponse from ${this.address}: ${(e as Error).message}`);
      return;
    }
    this.handshaken = true;
    this.owner.onConnectResponse(this, response);
    if (!this.closed) this.rearm();
  }
}

/**
 * Asks a server with the `isro` four-letter word whether it serves writes, as
 * the Java client does to leave a read-only server. False on any failure.
 */
export function probeReadWrite(host: HostPort, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = netConnect({ host: host.host, port: host.port });
    let text = '';
    let settled = false;
    const done = (rw: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(rw);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    timer.unref();
    socket.setEncoding('latin1');
    socket.on('connect', () => socket.end('isro'));
    socket.on('data', (s: string) => {
      text += s;
      if (text.length >= 2) done(text.startsWith('rw'));
    });
    socket.on('error', () => done(false));
    socket.on('close', () => done(text.startsWith('rw')));
  });
}
