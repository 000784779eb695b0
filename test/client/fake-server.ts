// A scriptable stand-in for a ZooKeeper server on loopback, for client
// behaviour a real server will not show on demand: read-only sessions, silent
// connections, refused handshakes, expiry answers, exact xids and frame order.
import { createServer, type Server, type Socket } from 'node:net';
import { JuteReader, JuteWriter } from '../../src/jute/buffer.js';
import { Err, OpCode, Xid } from '../../src/jute/constants.js';
import {
  readConnectRequest,
  readRequest,
  writeConnectResponse,
  writeStat,
  type ConnectRequest,
  type Request,
  type Stat,
} from '../../src/jute/records.js';

export interface FakeRequest {
  conn: FakeConn;
  xid: number;
  op: number;
  /** Decoded record, or null when the opcode is unknown to readRequest. */
  req: Request | null;
  bytes: number;
}

export type HandshakeAnswer = 'accept' | 'expire' | 'close' | 'silent';

export interface FakeOptions {
  /** Negotiated timeout returned to clients (ms). Default 4000. */
  timeout?: number;
  readOnly?: boolean;
  /** What to do with each ConnectRequest. Default accept. */
  onConnect?: (req: ConnectRequest, conn: FakeConn) => HandshakeAnswer;
  /**
   * Answers a request (not ping/auth/setWatches/closeSession, which the fake
   * answers itself unless this returns false for them). Return false to stay
   * silent; the default answers OK with the body the opcode needs.
   */
  onRequest?: (r: FakeRequest) => boolean | void;
  /** Reply to ping requests (default true). */
  answerPings?: boolean;
  /** Answer to the isro four-letter word. Default 'rw', or 'ro' when readOnly. */
  isro?: 'ro' | 'rw';
  /** Auth schemes that fail with AUTHFAILED. */
  failAuth?: string[];
}

export const STAT: Stat = {
  czxid: 1,
  mzxid: 1,
  ctime: 0,
  mtime: 0,
  version: 0,
  cversion: 0,
  aversion: 0,
  ephemeralOwner: 0n,
  dataLength: 0,
  numChildren: 0,
  pzxid: 1,
};

export class FakeConn {
  readonly socket: Socket;
  readonly server: FakeServer;
  handshake: ConnectRequest | null = null;
  sessionId = 0n;
  readonly requests: FakeRequest[] = [];
  private inbox: Buffer = Buffer.alloc(0);
  private corked = false;
  private corkBuf: Buffer[] = [];

  constructor(socket: Socket, server: FakeServer) {
    this.socket = socket;
    this.server = server;
    socket.on('data', (c: Buffer) => this.onData(c));
    socket.on('error', () => {});
  }

  /** Batches the following frames into one socket write (flush with uncork). */
  cork(): void {
    this.corked = true;
  }

  uncork(): void {
    this.corked = false;
    if (this.corkBuf.length > 0 && !this.socket.destroyed) this.socket.write(Buffer.concat(this.corkBuf));
    this.corkBuf = [];
  }

  send(buf: Buffer): void {
    if (this.socket.destroyed) return;
    if (this.corked) this.corkBuf.push(buf);
    else this.socket.write(buf);
  }

  reply(xid: number, err: number, body?: (w: JuteWriter) => void, zxid = this.server.zxid): void {
    const w = new JuteWriter(64);
    const at = w.reserveLength();
    w.int(xid).long(zxid).int(err);
    if (body && err === 0) body(w);
    w.patchLength(at);
    this.send(w.toBuffer());
  }

  event(type: number, path: string, zxid = -1, state = 3): void {
    const w = new JuteWriter(64);
    const at = w.reserveLength();
    w.int(Xid.NOTIFICATION).long(zxid).int(0).int(type).int(state).ustring(path);
    w.patchLength(at);
    this.send(w.toBuffer());
  }

  /** Replies OK with the body `op` needs (a default Stat, empty data or lists). */
  ok(r: FakeRequest, zxid = this.server.zxid): void {
    this.reply(r.xid, 0, (w) => defaultBody(r, w), zxid);
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.inbox = this.inbox.length === 0 ? chunk : Buffer.concat([this.inbox, chunk]);
    if (this.handshake === null && this.inbox.length >= 4 && this.inbox.subarray(0, 4).toString('latin1') === 'isro') {
      this.socket.end(this.server.isroAnswer());
      return;
    }
    let off = 0;
    while (this.inbox.length - off >= 4) {
      const len = this.inbox.readInt32BE(off);
      if (this.inbox.length - off - 4 < len) break;
      const frame = this.inbox.subarray(off + 4, off + 4 + len);
      off += 4 + len;
      this.onFrame(frame);
      if (this.socket.destroyed) return;
    }
    this.inbox = this.inbox.subarray(off);
  }

  private onFrame(frame: Buffer): void {
    if (this.handshake === null) {
      const req = readConnectRequest(new JuteReader(frame));
      this.handshake = req;
      this.server.handshakes.push(req);
      const answer = this.server.opts.onConnect?.(req, this) ?? 'accept';
      if (answer === 'close') {
        this.socket.destroy();
        return;
      }
      if (answer === 'silent') return;
      const expired = answer === 'expire';
      this.sessionId = expired ? 0n : req.sessionId !== 0n ? req.sessionId : this.server.newSessionId();
      const w = new JuteWriter(64);
      const at = w.reserveLength();
      writeConnectResponse(w, {
        protocolVersion: 0,
        timeOut: expired ? 0 : (this.server.opts.timeout ?? 4000),
        sessionId: this.sessionId,
        passwd: new Uint8Array(16).fill(7),
        readOnly: this.server.opts.readOnly ?? false,
      });
      w.patchLength(at);
      this.send(w.toBuffer());
      if (expired) this.socket.end();
      return;
    }
    const r = new JuteReader(frame);
    const xid = r.int();
    const op = r.int();
    let req: Request | null = null;
    try {
      req = readRequest(op, r);
    } catch {
      req = null;
    }
    const fr: FakeRequest = { conn: this, xid, op, req, bytes: frame.length };
    this.requests.push(fr);
    this.server.requests.push(fr);
    if (op === OpCode.ping) {
      if (this.server.opts.answerPings !== false) this.reply(Xid.PING, 0);
      return;
    }
    const handled = this.server.opts.onRequest?.(fr);
    if (handled === false) return;
    if (handled === true) return;
    switch (op) {
      case OpCode.auth: {
        const scheme = req && req.op === OpCode.auth ? req.req.scheme : '';
        const fail = this.server.opts.failAuth?.includes(scheme) ?? false;
        this.reply(Xid.AUTH, fail ? Err.AUTHFAILED : 0, undefined, 0);
        if (fail) this.socket.end();
        return;
      }
      case OpCode.setWatches:
      case OpCode.setWatches2:
        this.reply(Xid.SET_WATCHES, 0);
        return;
      case OpCode.closeSession:
        this.reply(xid, 0);
        this.socket.end();
        return;
      default:
        this.ok(fr);
    }
  }
}

function defaultBody(r: FakeRequest, w: JuteWriter): void {
  switch (r.op) {
    case OpCode.exists:
    case OpCode.setData:
    case OpCode.setACL:
      writeStat(w, STAT);
      return;
    case OpCode.getData:
      w.buffer(Buffer.from('fake'));
      writeStat(w, STAT);
      return;
    case OpCode.getChildren:
      w.stringVector([]);
      return;
    case OpCode.getChildren2:
      w.stringVector([]);
      writeStat(w, STAT);
      return;
    case OpCode.create:
    case OpCode.sync:
      w.ustring(r.req && 'path' in (r.req.req as object) ? (r.req.req as { path: string }).path : '/');
      return;
    case OpCode.create2:
      w.ustring((r.req!.req as { path: string }).path);
      writeStat(w, STAT);
      return;
    case OpCode.addWatch:
      w.int(0);
      return;
    case OpCode.whoAmI:
      w.int(0);
      return;
    default:
      return;
  }
}

export class FakeServer {
  readonly opts: FakeOptions;
  readonly connections: FakeConn[] = [];
  readonly handshakes: ConnectRequest[] = [];
  readonly requests: FakeRequest[] = [];
  zxid = 100;
  port = 0;
  private server: Server | null = null;
  private nextSession = 0x1000n;

  constructor(opts: FakeOptions = {}) {
    this.opts = opts;
  }

  get connectString(): string {
    return `127.0.0.1:${this.port}`;
  }

  get last(): FakeConn | undefined {
    return this.connections[this.connections.length - 1];
  }

  newSessionId(): bigint {
    return this.nextSession++;
  }

  isroAnswer(): string {
    return this.opts.isro ?? (this.opts.readOnly ? 'ro' : 'rw');
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      const srv = createServer((s) => this.connections.push(new FakeConn(s, this)));
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

  /** Drops every client connection (the listener stays). */
  dropAll(): void {
    for (const c of this.connections) c.destroy();
  }

  async stop(): Promise<void> {
    this.dropAll();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/** Polls `fn` every 10 ms until it returns a value other than undefined (bounded). */
export async function until<T>(what: string, fn: () => T | undefined | false, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (let i = 0; i < 100_000 && Date.now() < deadline; i++) {
    const v = fn();
    if (v !== undefined && v !== false) return v;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}
