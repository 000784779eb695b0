// Four-letter words over raw TCP, the way nc and zktop send them.
import { connect } from 'node:net';

/** Send `word` to host:port and return everything the server writes before it closes. */
export function fourLetterWord(port: number, word: string, timeoutMs = 5_000, host = '127.0.0.1'): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let settled = false;
    const socket = connect({ host, port });
    const finish = (err: Error | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(Buffer.concat(chunks).toString('utf8'));
    };
    const timer = setTimeout(
      () => finish(new Error(`${word} on ${host}:${port}: no close within ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.on('connect', () => socket.end(word));
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('end', () => finish(null));
    socket.on('close', () => finish(null));
    socket.on('error', (e) => finish(e));
  });
}

/** True once the server answers `ruok` with `imok`; false on any error. */
export async function isOk(port: number, timeoutMs = 2_000): Promise<boolean> {
  try {
    return (await fourLetterWord(port, 'ruok', timeoutMs)) === 'imok';
  } catch {
    return false;
  }
}
