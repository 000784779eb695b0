// A minimal ZooKeeper-protocol connection for tests: one TCP socket, the
// ConnectRequest handshake, pings, and requests matched to replies by xid.
// It keeps no state beyond the socket: no reconnects, no watch bookkeeping, no
// retries, so a test sees exactly what the server said.
import { connect as netConnect, type Socket } from 'node:net';
import { DecodeError, JuteReader, JuteWriter } from '../jute/buffer.js';
import { Err, OpCode, Xid, ZkError } from '../jute/constants.js';
import { readConnectResponse, writeConnectRequest, writeRequest, type Request } from '../jute/records.js';
import {
  readReplyBody,
  readReplyHeader,
  readWatcherEvent,
  type ReplyBody,
  type ReplyBodyFor,
  type WatcherEvent,
} from './replies.js';

/** The request record that goes with opcode O. */
export type RequestRecord<O extends number> = Request extends infer R
  ? R extends { op: infer P; req: infer Q }
    ? O extends P
      ? Q
      : never
    : never
  : never;

export interface RawReply<B = ReplyBody> {
  xid: number;
  zxid: number;
  /** The ReplyHeader err; 0 is OK. */
  err: number;
  /** The decoded response record; null when err is not 0 or the opcode has none. */
  body: B | null;
}

export interface RawConnectOptions {
  host: string;
  port: number;
  /** Requested session timeout (ms); the server answers with the negotiated one. */
  timeoutMs: number;
  /** Resume this session (with its passwd) instead of creating one. */
  sessionId?: bigint;
  passwd?: Uint8Array;
  lastZxidSeen?: number;
  readOnly?: boolean;
  /** Bound on TCP connect plus handshake; default max(timeoutMs, 5000). */
  connectTimeoutMs?: number;
  /** Largest reply frame accepted; a bigger length prefix is a protocol error. Default 64 MiB. */
  maxFrameBytes?: number;
  /** Send pings at a third of the negotiated timeout (default true). */
  pings?: boolean;
  onEvent?: (event: WatcherEvent) => void;
}

/** Every pending request fails with this once the connection is gone. */
export class ConnectionLossError extends ZkError {
  constructor(message: string) {
    super(Err.CONNECTIONLOSS, message);
    this.name = 'ConnectionLossError';
  }
}

interface Pending {
  xid: number;
  op: number;
  /** Keep the body as bytes instead of decoding it. */
  raw: boolean;
  resolve: (reply: RawReply<unknown>) => void;
  reject: (err: Error) => void;
}

const EMPTY = Buffer.alloc(0);
const MAX_XID = 0x7fffffff;

// Replies to these requests come back with a reserved xid, so they cannot share
// the FIFO of ordinary requests (auth is even answered ahead of earlier requests).
function reservedXid(op: number): number | undefined {
  switch (op) {
    case OpCode.ping:
      return Xid.PING;
    case OpCode.auth:
      return Xid.AUTH;
    case OpCode.setWatches:
    case OpCode.setWatches2:
      return Xid.SET_WATCHES;
    default:
      return undefined;
  }
}

export class RawClient {
  /** Negotiated session timeout (ms). */
  readonly timeoutMs: number;
  readonly sessionId: bigint;
  readonly passwd: Uint8Array;
  readonly protocolVersion: number;
  readonly readOnly: boolean;
  /** Highest zxid seen in a reply header. */
  lastZxid: number;
  onEvent: ((event: WatcherEvent) => void) | null;
  /** Resolves once the socket is closed, for whatever reason. */
  readonly closed: Promise<void>;

  private readonly socket: Socket;
  private state: 'open' | 'closing' | 'closed' = 'open';
  private inbox: Buffer;
  private readonly maxFrameBytes: number;
  private nextXid = 1;
  private readonly pending: Pending[] = [];
  // null entries stand for our own keep-alive pings.
  private readonly reserved = new Map<number, (Pending | null)[]>();
  private pingTimer: NodeJS.Timeout | undefined;
  private lossReason = 'connection closed';
  private readonly writer = new JuteWriter(1024);

  private constructor(
    socket: Socket,
    handshake: { timeOut: number; sessionId: bigint; passwd: Uint8Array; protocolVersion: number; readOnly: boolean },
    leftover: Buffer,
    opts: RawConnectOptions,
    closed: Promise<void>,
  ) {
    this.socket = socket;
    this.timeoutMs = handshake.timeOut;
    this.sessionId = handshake.sessionId;
    this.passwd = handshake.passwd;
    this.protocolVersion = handshake.protocolVersion;
    this.readOnly = handshake.readOnly;
    this.lastZxid = opts.lastZxidSeen ?? 0;
    this.onEvent = opts.onEvent ?? null;
    this.maxFrameBytes = opts.maxFrameBytes ?? 64 * 1024 * 1024;
    this.inbox = EMPTY;
    this.closed = closed;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('close', () => this.lost(this.lossReason));
    socket.on('error', (e) => {
      this.lossReason = `socket error: ${e.message}`;
    });
    if (opts.pings !== false) {
      const every = Math.max(50, Math.floor(this.timeoutMs / 3));
      this.pingTimer = setInterval(() => this.ping(), every);
      this.pingTimer.unref();
    }
    if (leftover.length > 0) this.onData(leftover);
  }

  /** Opens a TCP connection and performs the ConnectRequest/ConnectResponse handshake. */
  static connect(opts: RawConnectOptions): Promise<RawClient> {
    const maxFrame = opts.maxFrameBytes ?? 64 * 1024 * 1024;
    const limit = opts.connectTimeoutMs ?? Math.max(opts.timeoutMs, 5000);
    return new Promise<RawClient>((resolve, reject) => {
      const socket = netConnect({ host: opts.host, port: opts.port });
      socket.setNoDelay(true);
      const closed = new Promise<void>((res) => socket.once('close', () => res()));
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
        () => fail(new ConnectionLossError(`no ConnectResponse from ${opts.host}:${opts.port} within ${limit} ms`)),
        limit,
      );
      const onData = (chunk: Buffer): void => {
        inbox = inbox.length === 0 ? chunk : Buffer.concat([inbox, chunk]);
        if (inbox.length < 4) return;
        const len = inbox.readInt32BE(0);
        if (len < 0 || len > maxFrame) {
          fail(new DecodeError(`ConnectResponse frame length ${len}`));
          return;
        }
        if (inbox.length < 4 + len) return;
        let hs;
        try {
          const r = new JuteReader(inbox, 4, 4 + len);
          hs = readConnectResponse(r);
          if (r.remaining !== 0) throw new DecodeError(`${r.remaining} bytes after ConnectResponse`);
        } catch (e) {
          fail(e as Error);
          return;
        }
        if (hs.timeOut <= 0) {
          // The server's way of saying the session we asked to resume is gone.
          fail(new ZkError(Err.SESSIONEXPIRED, `session 0x${(opts.sessionId ?? 0n).toString(16)} expired`));
          return;
        }
        done = true;
        clearTimeout(timer);
        socket.off('data', onData);
        socket.off('error', fail);
        socket.off('close', onClose);
        const passwd = new Uint8Array(hs.passwd);
        resolve(new RawClient(socket, { ...hs, passwd }, inbox.subarray(4 + len), opts, closed));
      };
      const onClose = (): void =>
        fail(new ConnectionLossError(`connection to ${opts.host}:${opts.port} closed during handshake`));
      socket.on('data', onData);
      socket.on('error', fail);
      socket.on('close', onClose);
      socket.once('connect', () => {
        const w = new JuteWriter(64);
        const at = w.reserveLength();
        writeConnectRequest(w, {
          protocolVersion: 0,
          lastZxidSeen: opts.lastZxidSeen ?? 0,
          timeOut: opts.timeoutMs,
          sessionId: opts.sessionId ?? 0n,
          passwd: opts.passwd ?? new Uint8Array(16),
          readOnly: opts.readOnly ?? false,
        });
        w.patchLength(at);
        socket.write(w.toBuffer());
      });
    });
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  /**
   * Sends one request and resolves with the server's reply, whatever its error
   * code. Rejects with ConnectionLossError if the connection goes first, or with
   * a DecodeError if the reply body does not parse as the opcode's record.
   */
  request<O extends Request['op']>(op: O, record: RequestRecord<O>): Promise<RawReply<ReplyBodyFor<O>>> {
    return this.send({ op, req: record } as Request) as Promise<RawReply<ReplyBodyFor<O>>>;
  }

  /** request() for a Request value whose opcode is only known at run time. */
  send(req: Request): Promise<RawReply> {
    const w = this.writer;
    w.reset();
    const at = w.reserveLength();
    const xid = this.takeXid(req.op);
    w.int(xid).int(req.op);
    writeRequest(w, req);
    w.patchLength(at);
    return this.enqueue(xid, req.op, false, w.toBuffer()) as Promise<RawReply>;
  }

  /**
   * Sends a RequestHeader of `op` followed by `payload` exactly as given, and
   * resolves with the reply body as bytes; for probing servers with malformed records.
   */
  sendRaw(op: number, payload: Uint8Array): Promise<RawReply<Uint8Array>> {
    const w = new JuteWriter(16 + payload.length);
    const at = w.reserveLength();
    const xid = this.takeXid(op);
    w.int(xid).int(op).raw(payload);
    w.patchLength(at);
    return this.enqueue(xid, op, true, w.toBuffer()) as Promise<RawReply<Uint8Array>>;
  }

  /** closeSession and wait (bounded by the session timeout) for its reply, then drop the socket. */
  async close(): Promise<void> {
    if (this.state !== 'open') {
      this.destroy();
      return;
    }
    this.stopPings();
    const reply = this.request(OpCode.closeSession, null).then(
      () => undefined,
      () => undefined,
    );
    this.state = 'closing';
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<void>((res) => {
      timer = setTimeout(res, Math.max(this.timeoutMs, 2000));
    });
    await Promise.race([reply, this.closed, limit]);
    clearTimeout(timer);
    this.destroy();
  }

  /** Drops the connection without closing the session (it stays alive until it expires or is resumed). */
  destroy(): void {
    this.lossReason = 'connection destroyed by the client';
    this.socket.destroy();
    this.lost(this.lossReason);
  }

  private takeXid(op: number): number {
    const reserved = reservedXid(op);
    if (reserved !== undefined) return reserved;
    const xid = this.nextXid;
    this.nextXid = xid >= MAX_XID ? 1 : xid + 1;
    return xid;
  }

  private enqueue(xid: number, op: number, raw: boolean, frame: Buffer): Promise<RawReply<unknown>> {
    if (this.state !== 'open') {
      return Promise.reject(new ConnectionLossError(`request ${op} after the connection ended: ${this.lossReason}`));
    }
    return new Promise<RawReply<unknown>>((resolve, reject) => {
      const p: Pending = { xid, op, raw, resolve, reject };
      if (xid < 0) this.reservedQueue(xid).push(p);
      else this.pending.push(p);
      this.socket.write(frame);
    });
  }

  private reservedQueue(xid: number): (Pending | null)[] {
    let q = this.reserved.get(xid);
    if (!q) {
      q = [];
      this.reserved.set(xid, q);
    }
    return q;
  }

  private ping(): void {
    if (this.state !== 'open') return;
    const w = new JuteWriter(12);
    w.int(8).int(Xid.PING).int(OpCode.ping);
    this.reservedQueue(Xid.PING).push(null);
    this.socket.write(w.toBuffer());
  }

  private stopPings(): void {
    if (this.pingTimer !== undefined) clearInterval(this.pingTimer);
    this.pingTimer = undefined;
  }

  private onData(chunk: Buffer): void {
    if (this.state === 'closed') return;
    const buf = this.inbox.length === 0 ? chunk : Buffer.concat([this.inbox, chunk]);
    let off = 0;
    while (buf.length - off >= 4) {
      const len = buf.readInt32BE(off);
      if (len < 16 || len > this.maxFrameBytes) {
        this.protocolError(`reply frame length ${len}`);
        return;
      }
      if (buf.length - off - 4 < len) break;
      const start = off + 4;
      off = start + len;
      this.onFrame(buf, start, off);
      // onFrame may have torn the connection down on a protocol error.
      if ((this.state as string) === 'closed') return;
    }
    this.inbox = off === buf.length ? EMPTY : buf.subarray(off);
  }

  private onFrame(buf: Buffer, start: number, end: number): void {
    const r = new JuteReader(buf, start, end);
    const hdr = readReplyHeader(r);
    if (hdr.zxid > this.lastZxid) this.lastZxid = hdr.zxid;
    if (hdr.xid === Xid.NOTIFICATION) {
      let event: WatcherEvent;
      try {
        event = readWatcherEvent(r);
        if (r.remaining !== 0) throw new DecodeError(`${r.remaining} bytes after WatcherEvent`);
      } catch (e) {
        this.protocolError(`bad notification: ${(e as Error).message}`);
        return;
      }
      this.onEvent?.(event);
      return;
    }
    let p: Pending | null | undefined;
    if (hdr.xid < 0) {
      const q = this.reserved.get(hdr.xid);
      if (!q || q.length === 0) {
        this.protocolError(`reply with xid ${hdr.xid} to no request`);
        return;
      }
      p = q.shift();
    } else {
      p = this.pending.shift();
      if (!p || p.xid !== hdr.xid) {
        this.protocolError(`reply xid ${hdr.xid} but the oldest outstanding request has xid ${p ? p.xid : 'none'}`);
        return;
      }
    }
    if (!p) return; // one of our keep-alive pings
    if (p.raw) {
      p.resolve({ ...hdr, body: new Uint8Array(buf.subarray(r.offset, end)) });
      return;
    }
    try {
      const body = hdr.err === 0 ? readReplyBody(p.op, r) : null;
      if (r.remaining !== 0) {
        throw new DecodeError(`${r.remaining} unexpected bytes after the reply to op ${p.op} (err ${hdr.err})`);
      }
      p.resolve({ ...hdr, body });
    } catch (e) {
      p.reject(e as Error);
    }
  }

  private protocolError(message: string): void {
    this.lossReason = `protocol error: ${message}`;
    this.socket.destroy();
    this.lost(this.lossReason);
  }

  private lost(reason: string): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.stopPings();
    const err = (): ConnectionLossError => new ConnectionLossError(reason);
    for (const p of this.pending.splice(0)) p.reject(err());
    for (const q of this.reserved.values()) for (const p of q.splice(0)) p?.reject(err());
  }
}
