// Jute's binary encoding: big-endian ints and longs, length-prefixed buffers
// and UTF-8 strings (-1 length = null), length-prefixed vectors, one-byte booleans.
import { Err, ZkError } from './constants.js';

/** Thrown by the reader on any truncated or impossible field. */
export class DecodeError extends ZkError {
  constructor(message: string) {
    super(Err.MARSHALLINGERROR, message);
    this.name = 'DecodeError';
  }
}

const textDecoder = new TextDecoder('utf-8');

export class JuteReader {
  private pos: number;
  private readonly end: number;

  constructor(
    private readonly buf: Uint8Array,
    start = 0,
    end = buf.length,
  ) {
    this.pos = start;
    this.end = end;
  }

  get offset(): number {
    return this.pos;
  }
  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number): void {
    if (n < 0 || this.pos + n > this.end) {
      throw new DecodeError(`truncated record: need ${n} bytes at ${this.pos}, have ${this.end - this.pos}`);
    }
  }

  int(): number {
    this.need(4);
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 4;
    return (b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]! | 0;
  }

  /** A long that must fit in a JS number exactly (zxids, times); larger values are an error. */
  long(): number {
    const hi = this.int();
    const lo = this.int() >>> 0;
    const v = hi * 0x100000000 + lo;
    if (!Number.isSafeInteger(v)) throw new DecodeError(`long out of safe range at ${this.pos - 8}`);
    return v;
  }

  /** A long kept exact as a bigint (session ids, ephemeral owners). */
  bigLong(): bigint {
    const hi = this.int();
    const lo = this.int() >>> 0;
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  bool(): boolean {
    this.need(1);
    return this.buf[this.pos++] !== 0;
  }

  /** A buffer; null for length -1. The result is a view on the frame. */
  buffer(): Uint8Array | null {
    const len = this.int();
    if (len === -1) return null;
    if (len < -1) throw new DecodeError(`negative buffer length ${len}`);
    this.need(len);
    const v = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return v;
  }

  ustring(): string | null {
    const len = this.int();
    if (len === -1) return null;
    if (len < -1) throw new DecodeError(`negative string length ${len}`);
    this.need(len);
    // Buffer's own UTF-8 slice skips the view and decoder objects TextDecoder needs.
    const b = this.buf;
    const s =
      b instanceof Buffer
        ? b.toString('utf8', this.pos, this.pos + len)
        : textDecoder.decode(b.subarray(this.pos, this.pos + len));
    this.pos += len;
    return s;
  }

  /** A string where null is not meaningful: reads null as ''. */
  string(): string {
    return this.ustring() ?? '';
  }

  /** Vector length, checked against the bytes left so a hostile count cannot allocate. */
  vectorLength(minElementBytes: number): number {
    const n = this.int();
    if (n === -1) return 0;
    if (n < 0) throw new DecodeError(`negative vector length ${n}`);
    if (n * minElementBytes > this.remaining) throw new DecodeError(`vector length ${n} exceeds frame`);
    return n;
  }

  stringVector(): string[] {
    const n = this.vectorLength(4);
    const out = new Array<string>(n);
    for (let i = 0; i < n; i++) out[i] = this.string();
    return out;
  }

  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }
}

export class JuteWriter {
  private buf: Buffer;
  private pos = 0;

  constructor(initial = 256) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  get length(): number {
    return this.pos;
  }

  reset(): void {
    this.pos = 0;
  }

  /** Forgets everything written after `length` bytes. */
  truncate(length: number): void {
    if (length < 0 || length > this.pos) throw new RangeError(`truncate to ${length} of ${this.pos}`);
    this.pos = length;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  int(v: number): this {
    this.ensure(4);
    this.buf.writeInt32BE(v | 0, this.pos);
    this.pos += 4;
    return this;
  }

  long(v: number): this {
    this.ensure(8);
    const hi = Math.floor(v / 0x100000000);
    const lo = v - hi * 0x100000000;
    this.buf.writeInt32BE(hi | 0, this.pos);
    this.buf.writeUInt32BE(lo >>> 0, this.pos + 4);
    this.pos += 8;
    return this;
  }

  bigLong(v: bigint): this {
    this.ensure(8);
    this.buf.writeBigInt64BE(BigInt.asIntN(64, v), this.pos);
    this.pos += 8;
    return this;
  }

  bool(v: boolean): this {
    this.ensure(1);
    this.buf[this.pos++] = v ? 1 : 0;
    return this;
  }

  buffer(v: Uint8Array | null): this {
    if (v === null) return this.int(-1);
    this.int(v.length);
    this.ensure(v.length);
    this.buf.set(v, this.pos);
    this.pos += v.length;
    return this;
  }

  ustring(v: string | null): this {
    if (v === null) return this.int(-1);
    const max = v.length * 3;
    this.ensure(4 + max);
    const written = this.buf.write(v, this.pos + 4, 'utf8');
    this.buf.writeInt32BE(written, this.pos);
    this.pos += 4 + written;
    return this;
  }

  stringVector(v: readonly string[] | null): this {
    if (v === null) return this.int(-1);
    this.int(v.length);
    for (const s of v) this.ustring(s);
    return this;
  }

  raw(v: Uint8Array): this {
    this.ensure(v.length);
    this.buf.set(v, this.pos);
    this.pos += v.length;
    return this;
  }

  /** Reserve a 4-byte length prefix; returns its offset for patchLength. */
  reserveLength(): number {
    const at = this.pos;
    this.int(0);
    return at;
  }

  /** Overwrites an int already written at `at` (a field known only after the body). */
  patchInt(at: number, v: number): void {
    this.buf.writeInt32BE(v | 0, at);
  }

  patchLength(at: number): void {
    this.buf.writeInt32BE(this.pos - at - 4, at);
  }

  /** A copy of what was written (safe to keep after reset). */
  toBuffer(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }

  /** A view of what was written (valid until the next write or reset). */
  view(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}
