// File helpers shared by the WAL and the snapshot store.
import type { FileHandle } from 'node:fs/promises';
import * as fsp from 'node:fs/promises';
import { writeSync } from 'node:fs';

/** Makes creations, renames and unlinks inside `dir` durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await fsp.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** write(2) may write less than asked; loop until the whole buffer is at `position`. */
export async function writeFully(fh: FileHandle, buf: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesWritten } = await fh.write(buf, done, buf.length - done, position + done);
    if (bytesWritten <= 0) throw new Error(`short write at ${position + done}`);
    done += bytesWritten;
  }
}

/** writeFully with blocking calls, for the WAL's inline flushes. */
export function writeFullySync(fd: number, buf: Uint8Array, position: number): void {
  let done = 0;
  while (done < buf.length) {
    const n = writeSync(fd, buf, done, buf.length - done, position + done);
    if (n <= 0) throw new Error(`short write at ${position + done}`);
    done += n;
  }
}

export function putU64(buf: Buffer, value: number, off: number): void {
  buf.writeUInt32LE(value % 0x1_0000_0000, off);
  buf.writeUInt32LE(Math.floor(value / 0x1_0000_0000), off + 4);
}

/** Reads a little-endian u64; callers check the high word when the value must be a safe integer. */
export function getU64(buf: Buffer, off: number): number {
  return buf.readUInt32LE(off) + buf.readUInt32LE(off + 4) * 0x1_0000_0000;
}

/** 16 lower-case hex digits, so file names sort in numeric order. */
export function hex16(n: number): string {
  return n.toString(16).padStart(16, '0');
}
