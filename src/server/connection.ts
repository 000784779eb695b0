// One client connection: frames in, replies and watch events out, in the
// order ZooKeeper promises (per-session FIFO, events before the data they announce).
import type { Socket } from 'node:net';
import { JuteWriter } from '../jute/buffer.js';
import { Xid } from '../jute/constants.js';
import { writeReplyHeader, writeWatcherEvent } from '../jute/replies.js';
import type { Request } from '../jute/records.js';

/** A request waiting for its turn to be answered. */
export interface Pending {
  xid: number;
  op: number;
  /** Set for reads: answered when they reach the head of the queue. */
  read: Request | null;
  /** Set for writes once applied: the encoded reply frame. */
  frame: Buffer | null;
  /** performance.now() at arrival: every latency figure of the request counts from here. */
  at: number;
}

export class ConnectionStats {
  packetsReceived = 0;
  packetsSent = 0;
  minLatency = Number.MAX_SAFE_INTEGER;
  maxLatency = 0;
  totalLatency = 0;
  count = 0;
  lastOp = 'NA';
  lastCxid = -1;
  lastZxid = -1;
  lastResponseTime = 0;
  lastLatency = 0;

  record(latency: number): void {
    this.count++;
    this.totalLatency += latency;
    this.lastLatency = latency;
    if (latency < this.minLatency) this.minLatency = latency;
    if (latency > this.maxLatency) this.maxLatency = latency;
  }

  reset(): void {
    this.packetsReceived = 0;
    this.packetsSent = 0;
    this.minLatency = Number.MAX_SAFE_INTEGER;
    this.maxLatency = 0;
    this.totalLatency = 0;
    this.count = 0;
    this.lastOp = 'NA';
    this.lastCxid = -1;
    this.lastZxid = -1;
    this.lastResponseTime = 0;
    this.lastLatency = 0;
  }
}

export class Connection {
  sessionId = 0n;
  sessionTimeout = 0;
  handshaken = false;
  /** Served by a server cut off from its quorum: reads only (NOTREADONLY for writes). */
  readOnly = false;
  closed = false;
  readonly queue: Pending[] = [];
  readonly stats = new ConnectionStats();
  readonly established: number;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private readonly w = new JuteWriter(1024);
  private corked = false;
  /**
   * Set while a new session is being created: frames that follow the
   * ConnectRequest wait here (and the socket stops reading) until the
   * ConnectResponse has gone out, as ZooKeeper does.
   */
  held = false;

  constructor(
    readonly id: number,
    readonly socket: Socket,
    readonly remoteAddress: string,
    readonly remotePort: number,
    now: number,
  ) {
    this.established = now;
  }

  /** Appends received bytes; returns complete frames, or a reason to close. */
  take(
    data: Buffer,
    maxFrame: number,
    onFrame: (frame: Buffer) => void,
    onPrefix: (word: string) => boolean,
  ): string | null {
    if (data.length > 0) {
      this.chunks.push(data);
      this.buffered += data.length;
    }
    for (;;) {
      if (this.held || this.buffered < 4) return null;
      const head = this.peek(4);
      if (!this.handshaken && this.stats.packetsReceived === 0) {
        const word = head.toString('latin1');
        if (/^[a-z]{4}$/.test(word) && onPrefix(word)) return null;
      }
      const len = head.readInt32BE(0);
      if (len < 0 || len > maxFrame) return `frame length ${len} outside 0..${maxFrame}`;
      if (this.buffered < 4 + len) return null;
      const frame = this.consume(4 + len).subarray(4);
      this.stats.packetsReceived++;
      onFrame(frame);
      if (this.closed) return null;
    }
  }

  private peek(n: number): Buffer {
    if (this.chunks[0]!.length >= n) return this.chunks[0]!.subarray(0, n);
    return Buffer.concat(this.chunks, this.buffered).subarray(0, n);
  }

  private consume(n: number): Buffer {
    let first = this.chunks[0]!;
    if (first.length < n) {
      first = Buffer.concat(this.chunks, this.buffered);
      this.chunks = [first];
    }
    const out = first.subarray(0, n);
    if (first.length === n) this.chunks.shift();
    else this.chunks[0] = first.subarray(n);
    this.buffered -= n;
    return out;
  }

  /** Writes a frame now (handshake, events, replies at the head of the queue). */
  send(frame: Buffer): void {
    if (this.closed) return;
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    this.socket.write(frame);
    this.stats.packetsSent++;
  }

  /** Builds a reply frame: length, ReplyHeader, then whatever `body` writes. */
  frame(xid: number, zxid: number, err: number, body?: (w: JuteWriter) => void): Buffer {
    const w = this.w;
    w.reset();
    const at = w.reserveLength();
    writeReplyHeader(w, xid, zxid, err);
    if (body && err === 0) body(w);
    w.patchLength(at);
    return w.toBuffer();
  }

  /**
   * A reply whose error code is known only once the body is written (reads):
   * `body` writes straight into the frame and returns the code; on an error
   * the body is dropped and the header carries the code.
   */
  answerFrame(xid: number, zxid: number, body: (w: JuteWriter) => number): Buffer {
    const w = this.w;
    w.reset();
    const at = w.reserveLength();
    writeReplyHeader(w, xid, zxid, 0);
    const headerEnd = w.length;
    const err = body(w);
    if (err !== 0) {
      w.truncate(headerEnd);
      w.patchInt(headerEnd - 4, err);
    }
    w.patchLength(at);
    return w.toBuffer();
  }

  sendEvent(type: number, state: number, path: string, zxid: number): void {
    const w = this.w;
    w.reset();
    const at = w.reserveLength();
    writeReplyHeader(w, Xid.NOTIFICATION, zxid, 0);
    writeWatcherEvent(w, type, state, path);
    w.patchLength(at);
    this.send(w.toBuffer());
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    // end() flushes what was queued (a final reply) before the FIN.
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }
}
