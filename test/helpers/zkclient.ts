// Promise wrappers over node-zookeeper-client (the npm client) with bounded waits,
// so a server that never answers fails a test instead of hanging it.
import zookeeper, {
  type ACL,
  type Client,
  type ClientOptions,
  type Event,
  type Exception,
  type OpResult,
  type Stat,
  type Transaction,
  type Watcher,
} from 'node-zookeeper-client';

export { zookeeper };
export type { ACL, Client, Event, Exception, OpResult, Stat, Transaction };

export const OP_TIMEOUT_MS = 15_000;

function withTimeout<T>(
  what: string,
  ms: number,
  body: (resolve: (v: T) => void, reject: (e: unknown) => void) => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    body(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

/** The ZooKeeper error code carried by a client error, or undefined for other errors. */
export function errorCode(e: unknown): number | undefined {
  if (e && typeof e === 'object' && 'getCode' in e && typeof (e as Exception).getCode === 'function') {
    return (e as Exception).getCode();
  }
  return undefined;
}

/** Run op and return the ZooKeeper error code it fails with; throws if it succeeds. */
export async function expectCode(op: Promise<unknown>, code: number, what = 'operation'): Promise<void> {
  try {
    await op;
  } catch (e) {
    const got = errorCode(e);
    if (got === code) return;
    throw new Error(`${what}: expected error code ${code}, got ${got ?? String(e)}`);
  }
  throw new Error(`${what}: expected error code ${code}, but it succeeded`);
}

export class ZkClient {
  readonly raw: Client;

  private constructor(raw: Client) {
    this.raw = raw;
  }

  /** Connect and wait for SyncConnected. */
  static async connect(
    connectString: string,
    options: ClientOptions = {},
    timeoutMs = OP_TIMEOUT_MS,
  ): Promise<ZkClient> {
    const raw = zookeeper.createClient(connectString, {
      sessionTimeout: 30_000,
      spinDelay: 200,
      retries: 0,
      ...options,
    });
    const c = new ZkClient(raw);
    await withTimeout<void>(`connect to ${connectString}`, timeoutMs, (resolve) => {
      raw.once('connected', () => resolve());
      raw.connect();
    }).catch((e: unknown) => {
      raw.close();
      throw e;
    });
    return c;
  }

  get sessionId(): string {
    return this.raw.getSessionId().toString('hex');
  }

  /** Wait for the next 'connected' state (e.g. after the server came back). */
  waitConnected(timeoutMs = OP_TIMEOUT_MS): Promise<void> {
    return withTimeout<void>('reconnect', timeoutMs, (resolve) => this.raw.once('connected', () => resolve()));
  }

  /** Send closeSession and wait (bounded) for the connection to drop. */
  async close(timeoutMs = 5_000): Promise<void> {
    const state = this.raw.getState();
    if (state === zookeeper.State.DISCONNECTED || state === zookeeper.State.EXPIRED) {
      this.raw.close();
      return;
    }
    await withTimeout<void>('close', timeoutMs, (resolve) => {
      this.raw.once('disconnected', () => resolve());
      this.raw.close();
    }).catch(() => undefined);
  }

  addAuth(scheme: string, auth: string): void {
    this.raw.addAuthInfo(scheme, Buffer.from(auth));
  }

  create(
    path: string,
    data: Buffer | string | null = null,
    mode = zookeeper.CreateMode.PERSISTENT,
    acls: ACL[] = zookeeper.ACL.OPEN_ACL_UNSAFE,
  ): Promise<string> {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    return withTimeout(`create ${path}`, OP_TIMEOUT_MS, (res, rej) =>
      this.raw.create(path, buf, acls, mode, (e, p) => (e ? rej(e) : res(p))),
    );
  }

  remove(path: string, version = -1): Promise<void> {
    return withTimeout(`delete ${path}`, OP_TIMEOUT_MS, (res, rej) =>
      this.raw.remove(path, version, (e) => (e ? rej(e) : res(undefined))),
    );
  }

  setData(path: string, data: Buffer | string | null, version = -1): Promise<Stat> {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    return withTimeout(`setData ${path}`, OP_TIMEOUT_MS, (res, rej) =>
      this.raw.setData(path, buf, version, (e, s) => (e ? rej(e) : res(s))),
    );
  }

  getData(path: string, watcher?: Watcher): Promise<{ data: Buffer | undefined; stat: Stat }> {
    return withTimeout(`getData ${path}`, OP_TIMEOUT_MS, (res, rej) =>
      this.raw.getData(path, watcher, (e, data, stat) => (e ? rej(e) : res({ data, stat }))),
    );
  }

  exists(path: string, watcher?: Watcher): Promise<Stat | null> {
    return withTimeout(`exists ${path}`, OP_TIMEOUT_MS, (res, rej) =>
      this.raw.exists(path, watcher, (e, s) => (e ? rej(e) : res(s))),
    );
  }

  getChildren(path: string, watcher?: Watcher): Promise<{ children: string[]; stat: Stat }> {
    return withTimeout(`getChildren ${path}`, OP_TIMEOUT_MS, (res, rej) =>
      this.raw.getChildren(path, watcher, (e, children, stat) => (e ? rej(e) : res({ children, stat }))),
    );
  }

  getACL(path: string): Promise<{ acls: ACL[]; stat: Stat }> {
    return withTimeout(`getACL ${path}`, OP_TIMEOUT_MS, (res, rej) =>
      this.raw.getACL(path, (e, acls, stat) => (e ? rej(e) : res({ acls, stat }))),
    );
  }

  setACL(path: string, acls: ACL[], version = -1): Promise<Stat> {
    return withTimeout(`setACL ${path}`, OP_TIMEOUT_MS, (res, rej) =>
      this.raw.setACL(path, acls, version, (e, s) => (e ? rej(e) : res(s))),
    );
  }

  /** Commit a multi; resolves with the per-op results, rejects with the first failing op's error. */
  commit(build: (t: Transaction) => Transaction): Promise<OpResult[]> {
    const t = build(this.raw.transaction());
    return withTimeout('multi', OP_TIMEOUT_MS, (res, rej) =>
      t.commit((e, results) => (e ? rej(Object.assign(e, { results })) : res(results))),
    );
  }
}

/** A watcher whose first event can be awaited (bounded). */
export function watchOnce(timeoutMs = OP_TIMEOUT_MS): { watcher: Watcher; event: Promise<Event> } {
  let fire: (e: Event) => void = () => undefined;
  const event = withTimeout<Event>('watch event', timeoutMs, (resolve) => {
    fire = resolve;
  });
  // Keep an unawaited rejection from crashing the run when a test never looks at it.
  event.catch(() => undefined);
  return { watcher: (e) => fire(e), event };
}

/** A Stat's 64-bit field (zxid, time, owner) as a bigint. */
export function long(b: Buffer): bigint {
  return b.readBigInt64BE(0);
}
