// The load generator's own ZooKeeper connection. The test client (RawClient)
// decodes every reply into objects and makes a promise per request, which is
// right for tests but would make the generator the bottleneck: on a 2-core
// machine every cycle it spends is taken from the server it measures. This one
// builds request frames straight into buffers, reads only the ReplyHeader (and
// the first bytes of getData data when asked), keeps in-flight requests in typed
// ring buffers, and coalesces writes with cork/uncork.
import { connect as netConnect, type Socket } from 'node:net';
import { JuteReader, JuteWriter } from '../jute/buffer.js';
import { OpCode, Xid } from '../jute/constants.js';
import { readConnectResponse, writeConnectRequest } from '../jute/records.js';

/** Called for each reply, in request order. `body` holds the reply record from `bodyAt` to `bodyEnd`. */
export type ReplyHandler = (
  conn: BenchConn,
  tag: number,
  err: number,
  scheduled: number,
  sent: number,
  now: number,
  body: Buffer,
  bodyAt: number,
  bodyEnd: number,
) => void;
export type EventHandler = (conn: BenchConn, type: number, now: number) => void;
export type CloseHandler = (conn: BenchConn, reason: string) => void;

const MAX_FRAME = 64 * 1024 * 1024;
const EMPTY = Buffer.alloc(0);

/** A path as a jute ustring (int length + UTF-8), ready to copy into frames. */
export function encodePath(path: string): Buffer {
  const bytes = Buffer.from(path, 'utf8');
  const b = Buffer.allocUnsafe(4 + bytes.length);
  b.writeInt32BE(bytes.length, 0);
  bytes.copy(b, 4);
  return b;
}

// world:anyone with all permissions, the ACL every benchmark znode gets.
const OPEN_ACL: Buffer = (() => {
  const w = new JuteWriter(64);
  w.int(1).int(31).ustring('world').ustring('anyone');
  return w.toBuffer();
})();

export interface BenchConnectOptions {
  host: string;
  port: number;
  sessionTimeoutMs: number;
  connectTimeoutMs: number;
}

export class BenchConn {
  readonly sessionId: bigint;
  readonly negotiatedTimeoutMs: number;
  /** Requests sent and not yet answered. */
  inflight = 0;
  /** Free for the caller's bookkeeping (session index, state). */
  index = 0;
  /** Watch mode: the writer's sequence number in the data this session's watch was set on. */
  armedSeq = -1;
  /** Churn mode: operations issued, and the path created last (deleted next). */
  counter = 0;
  lastPath: Buffer | null = null;
  onReply: ReplyHandler | null = null;
  onEvent: EventHandler | null = null;
  onClose: CloseHandler | null = null;

  private readonly socket: Socket;
  private inbox: Buffer = EMPTY;
  private nextXid = 1;
  private open = true;
  private corked = false;
  private readonly uncork = (): void => {
    this.corked = false;
    this.socket.uncork();
  };
  private pingTimer: NodeJS.Timeout | undefined;
  // In-flight requests, oldest at `head`: xid, caller's tag, scheduled and actual send time.
  private cap = 64;
  private head = 0;
  private pXid = new Int32Array(this.cap);
  private pTag = new Int32Array(this.cap);
  private pSched = new Float64Array(this.cap);
  private pSent = new Float64Array(this.cap);

  private constructor(socket: Socket, sessionId: bigint, timeoutMs: number, leftover: Buffer) {
    this.socket = socket;
    this.sessionId = sessionId;
    this.negotiatedTimeoutMs = timeoutMs;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => undefined); // 'close' follows and reports it
    socket.on('close', () => this.lost('connection closed by the server'));
    this.pingTimer = setInterval(() => this.ping(), Math.max(100, Math.floor(timeoutMs / 3)));
    this.pingTimer.unref();
    if (leftover.length > 0) this.onData(leftover);
  }

  static connect(opts: BenchConnectOptions): Promise<BenchConn> {
    return new Promise<BenchConn>((resolve, reject) => {
      const socket = netConnect({ host: opts.host, port: opts.port });
      socket.setNoDelay(true);
      let inbox: Buffer = EMPTY;
      let done = false;
      const fail = (err: Error): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        socket.destroy();
        reject(err);
      };
      const timer = setTimeout(
        () => fail(new Error(`no ConnectResponse from ${opts.host}:${opts.port} within ${opts.connectTimeoutMs} ms`)),
        opts.connectTimeoutMs,
      );
      const onData = (chunk: Buffer): void => {
        inbox = inbox.length === 0 ? chunk : Buffer.concat([inbox, chunk]);
        if (inbox.length < 4) return;
        const len = inbox.readInt32BE(0);
        if (len < 0 || len > MAX_FRAME) return fail(new Error(`ConnectResponse frame length ${len}`));
        if (inbox.length < 4 + len) return;
        let hs;
        try {
          hs = readConnectResponse(new JuteReader(inbox, 4, 4 + len));
        } catch (e) {
          return fail(e as Error);
        }
        if (hs.timeOut <= 0) return fail(new Error('server refused the session (negotiated timeout <= 0)'));
        done = true;
        clearTimeout(timer);
        socket.off('data', onData);
        socket.off('error', fail);
        socket.off('close', onClose);
        resolve(new BenchConn(socket, hs.sessionId, hs.timeOut, inbox.subarray(4 + len)));
      };
      const onClose = (): void => fail(new Error(`connection to ${opts.host}:${opts.port} closed during handshake`));
      socket.on('data', onData);
      socket.on('error', fail);
      socket.on('close', onClose);
      socket.once('connect', () => {
        const w = new JuteWriter(64);
        const at = w.reserveLength();
        writeConnectRequest(w, {
          protocolVersion: 0,
          lastZxidSeen: 0,
          timeOut: opts.sessionTimeoutMs,
          sessionId: 0n,
          passwd: new Uint8Array(16),
          readOnly: false,
        });
        w.patchLength(at);
        socket.write(w.toBuffer());
      });
    });
  }

  get isOpen(): boolean {
    return this.open;
  }

  getData(path: Buffer, watch: boolean, tag: number, scheduled: number, now: number): void {
    const f = this.frame(OpCode.getData, path.length + 1);
    f[12 + path.copy(f, 12)] = watch ? 1 : 0;
    this.push(f, tag, scheduled, now);
  }

  setData(path: Buffer, data: Buffer, tag: number, scheduled: number, now: number): void {
    const f = this.frame(OpCode.setData, path.length + 8 + data.length);
    let o = 12 + path.copy(f, 12);
    o = f.writeInt32BE(data.length, o);
    o += data.copy(f, o);
    f.writeInt32BE(-1, o);
    this.push(f, tag, scheduled, now);
  }

  create(path: Buffer, data: Buffer, flags: number, tag: number, scheduled: number, now: number): void {
    const f = this.frame(OpCode.create, path.length + 4 + data.length + OPEN_ACL.length + 4);
    let o = 12 + path.copy(f, 12);
    o = f.writeInt32BE(data.length, o);
    o += data.copy(f, o);
    o += OPEN_ACL.copy(f, o);
    f.writeInt32BE(flags, o);
    this.push(f, tag, scheduled, now);
  }

  delete(path: Buffer, tag: number, scheduled: number, now: number): void {
    const f = this.frame(OpCode.delete, path.length + 4);
    const o = 12 + path.copy(f, 12);
    f.writeInt32BE(-1, o);
    this.push(f, tag, scheduled, now);
  }

  closeSession(tag: number, scheduled: number, now: number): void {
    this.push(this.frame(OpCode.closeSession, 0), tag, scheduled, now);
  }

  /** Drops the socket; in-flight requests are reported through onClose, not onReply. */
  destroy(reason = 'connection destroyed by the generator'): void {
    this.socket.destroy();
    this.lost(reason);
  }

  /** Resolves when the socket has closed (bounded by `ms`). */
  waitClosed(ms: number): Promise<void> {
    if (this.socket.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.socket.once('close', () => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  private frame(op: number, bodyLen: number): Buffer {
    const f = Buffer.allocUnsafe(12 + bodyLen);
    f.writeInt32BE(8 + bodyLen, 0);
    f.writeInt32BE(this.takeXid(), 4);
    f.writeInt32BE(op, 8);
    return f;
  }

  private takeXid(): number {
    const x = this.nextXid;
    this.nextXid = x >= 0x7fffffff ? 1 : x + 1;
    return x;
  }

  private push(frame: Buffer, tag: number, scheduled: number, now: number): void {
    if (!this.open) throw new Error('request on a closed connection');
    if (this.inflight === this.cap) this.grow();
    const i = (this.head + this.inflight) % this.cap;
    this.pXid[i] = frame.readInt32BE(4);
    this.pTag[i] = tag;
    this.pSched[i] = scheduled;
    this.pSent[i] = now;
    this.inflight++;
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(this.uncork);
    }
    this.socket.write(frame);
  }

  private grow(): void {
    const n = this.cap * 2;
    const xid = new Int32Array(n);
    const tag = new Int32Array(n);
    const sched = new Float64Array(n);
    const sent = new Float64Array(n);
    for (let k = 0; k < this.inflight; k++) {
      const i = (this.head + k) % this.cap;
      xid[k] = this.pXid[i]!;
      tag[k] = this.pTag[i]!;
      sched[k] = this.pSched[i]!;
      sent[k] = this.pSent[i]!;
    }
    this.pXid = xid;
    this.pTag = tag;
    this.pSched = sched;
    this.pSent = sent;
    this.cap = n;
    this.head = 0;
  }

  private ping(): void {
    if (!this.open) return;
    const f = Buffer.allocUnsafe(12);
    f.writeInt32BE(8, 0);
    f.writeInt32BE(Xid.PING, 4);
    f.writeInt32BE(OpCode.ping, 8);
    this.socket.write(f);
  }

  private onData(chunk: Buffer): void {
    if (!this.open) return;
    const now = performance.now();
    const buf = this.inbox.length === 0 ? chunk : Buffer.concat([this.inbox, chunk]);
    let off = 0;
    while (buf.length - off >= 4) {
      const len = buf.readInt32BE(off);
      if (len < 16 || len > MAX_FRAME) return this.destroy(`protocol error: reply frame length ${len}`);
      if (buf.length - off - 4 < len) break;
      const start = off + 4;
      off = start + len;
      const xid = buf.readInt32BE(start);
      const err = buf.readInt32BE(start + 12);
      if (xid === Xid.NOTIFICATION) {
        this.onEvent?.(this, buf.readInt32BE(start + 16), now);
        continue;
      }
      if (xid < 0) continue; // ping, or another reserved xid we never ask for
      if (this.inflight === 0) return this.destroy(`protocol error: reply xid ${xid} with nothing in flight`);
      const h = this.head;
      if (this.pXid[h] !== xid) {
        return this.destroy(`protocol error: reply xid ${xid}, oldest request in flight has xid ${this.pXid[h]}`);
      }
      this.head = (h + 1) % this.cap;
      this.inflight--;
      this.onReply?.(this, this.pTag[h]!, err, this.pSched[h]!, this.pSent[h]!, now, buf, start + 16, off);
      if (!this.open) return;
    }
    this.inbox = off === buf.length ? EMPTY : buf.subarray(off);
  }

  private lost(reason: string): void {
    if (!this.open) return;
    this.open = false;
    if (this.pingTimer !== undefined) clearInterval(this.pingTimer);
    this.pingTimer = undefined;
    this.onClose?.(this, reason);
  }
}
