// Creating the znodes a benchmark needs before it measures anything: the root,
// the --znodes keys of mix mode, the parents of churn and ephemeral znodes, the
// watched znode. Pipelined over a few sessions; not part of the measurement.
import { CreateMode, Err, errName } from '../jute/constants.js';
import { BenchConn, encodePath } from './conn.js';
import type { BenchOptions } from './options.js';
import { keyPath, watchPath } from './runner.js';

export interface SetupResult {
  seconds: number;
  /** Znodes created now, and znodes that were already there. */
  created: number;
  existed: number;
}

const WINDOW = 1000;

/**
 * Runs `count` requests over `conns`, at most WINDOW in flight on each; `send(conn, i)`
 * sends request i. Resolves with the error codes seen; rejects if a connection is lost.
 */
function pipelined(
  conns: BenchConn[],
  count: number,
  send: (c: BenchConn, i: number) => void,
  onProgress: (done: number) => void,
): Promise<Map<number, number>> {
  return new Promise((resolve, reject) => {
    const errs = new Map<number, number>();
    let next = 0;
    let done = 0;
    let finished = false;
    if (count === 0) return resolve(errs);
    const timer = setInterval(() => onProgress(done), 1000);
    const end = (e?: Error): void => {
      if (finished) return;
      finished = true;
      clearInterval(timer);
      for (const c of conns) {
        c.onReply = null;
        c.onClose = null;
      }
      if (e) reject(e);
      else resolve(errs);
    };
    for (const c of conns) {
      c.onReply = (conn, _tag, err) => {
        if (err !== 0) errs.set(err, (errs.get(err) ?? 0) + 1);
        done++;
        if (done === count) return end();
        if (next < count) send(conn, next++);
      };
      c.onClose = (_conn, reason) => end(new Error(`set-up connection lost: ${reason}`));
    }
    for (const c of conns) for (let k = 0; k < WINDOW && next < count; k++) send(c, next++);
  });
}

function ancestors(path: string): string[] {
  const out: string[] = [];
  for (let i = path.indexOf('/', 1); i > 0; i = path.indexOf('/', i + 1)) out.push(path.substring(0, i));
  out.push(path);
  return out;
}

export async function setupZnodes(o: BenchOptions, log: (line: string) => void): Promise<SetupResult> {
  const t0 = performance.now();
  const nConns = o.mode === 'mix' ? Math.min(4, o.sessions) : 1;
  const conns: BenchConn[] = [];
  try {
    for (let i = 0; i < nConns; i++) {
      const hp = o.connect[i % o.connect.length]!;
      conns.push(
        await BenchConn.connect({
          host: hp.host,
          port: hp.port,
          sessionTimeoutMs: o.sessionTimeoutMs,
          connectTimeoutMs: 10_000,
        }),
      );
    }
    const empty = Buffer.alloc(0);
    const parents = ancestors(o.root);
    if (o.mode === 'churn') parents.push(`${o.root}/churn`);
    if (o.mode === 'ephemeral') parents.push(`${o.root}/eph`);
    let created = 0;
    let existed = 0;
    const tally = (errs: Map<number, number>, total: number, what: string): void => {
      for (const [code, n] of errs) {
        if (code !== Err.NODEEXISTS) throw new Error(`set-up: ${n} of ${total} ${what} failed with ${errName(code)}`);
      }
      const ex = errs.get(Err.NODEEXISTS) ?? 0;
      existed += ex;
      created += total - ex;
    };
    // Parents one at a time: each needs the one before it.
    for (const p of parents) {
      const path = encodePath(p);
      tally(
        await pipelined(
          [conns[0]!],
          1,
          (c) => c.create(path, empty, CreateMode.PERSISTENT, 0, 0, 0),
          () => undefined,
        ),
        1,
        p,
      );
    }
    if (o.mode === 'mix') {
      const data = Buffer.alloc(o.payload, 0x61);
      const errs = await pipelined(
        conns,
        o.znodes,
        (c, i) => c.create(encodePath(keyPath(o.root, i)), data, CreateMode.PERSISTENT, 0, 0, 0),
        (done) => log(`set-up: ${done}/${o.znodes} znodes (${Math.round(done / ((performance.now() - t0) / 1000))}/s)`),
      );
      tally(errs, o.znodes, `creates under ${o.root}`);
    }
    if (o.mode === 'watch') {
      // Sequence 0 in the data: watchers read it when they arm, the writer counts up from it.
      const data = Buffer.alloc(Math.max(16, o.payload), 0);
      const path = encodePath(watchPath(o.root));
      const errs = await pipelined(
        [conns[0]!],
        1,
        (c) => c.create(path, data, CreateMode.PERSISTENT, 0, 0, 0),
        () => undefined,
      );
      tally(errs, 1, watchPath(o.root));
      if (errs.has(Err.NODEEXISTS)) {
        const e2 = await pipelined(
          [conns[0]!],
          1,
          (c) => c.setData(path, data, 0, 0, 0),
          () => undefined,
        );
        if (e2.size > 0)
          throw new Error(`set-up: setData ${watchPath(o.root)} failed with ${errName([...e2.keys()][0]!)}`);
      }
    }
    return { seconds: (performance.now() - t0) / 1000, created, existed };
  } finally {
    await Promise.all(
      conns.map(async (c) => {
        if (!c.isOpen) return;
        c.closeSession(-1, 0, 0);
        await c.waitClosed(2000);
        c.destroy();
      }),
    );
  }
}
