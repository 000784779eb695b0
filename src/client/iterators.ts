// Watches as async iterators. The data and children iterators are pull-based:
// each pull re-reads the node with a fresh one-shot watch, so a slow consumer
// sees the newest state instead of a backlog. The event iterator wraps a
// persistent watch and buffers its events up to a bound.
import { AuthFailedError, ClientClosedError, NoNodeError, SessionExpiredError, isRetryable } from './errors.js';
import type { SessionState, Stat, WatchedEvent, Watcher } from './types.js';
import { AddWatchMode, WatcherType } from './types.js';
import type { ZooKeeper } from './zookeeper.js';
import { STATE_HOOKS } from './watches.js';

export interface IteratorOptions {
  /** Ends the iteration: the pending next() rejects with the signal's reason. */
  signal?: AbortSignal;
}

export interface DataSnapshot {
  /** The event that led to this read; null for the first one. */
  event: WatchedEvent | null;
  /** null while the node does not exist (and then stat is null too). */
  data: Buffer | null;
  stat: Stat | null;
}

export interface ChildrenSnapshot {
  event: WatchedEvent | null;
  /** null while the node does not exist. */
  children: string[] | null;
  stat: Stat | null;
}

/** A persistent-watch iterator fell too far behind its events. */
export class WatchOverflowError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WatchOverflowError';
  }
}

const DONE: IteratorResult<never, undefined> = { done: true, value: undefined };
const MAX_RETRY_DELAY = 2000;

abstract class BaseIterator<T> implements AsyncIterableIterator<T> {
  protected readonly zk: ZooKeeper;
  readonly path: string;
  protected finished = false;
  private failure: unknown = null;
  private wake: (() => void) | null = null;
  private wakeTimer: NodeJS.Timeout | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly signal: AbortSignal | undefined;

  private readonly onState = (state: SessionState): void => {
    if (state === 'closed') this.end(null);
    else if (state === 'expired') this.end(new SessionExpiredError(undefined, this.path));
    else if (state === 'authFailed') this.end(new AuthFailedError(undefined, this.path));
    else this.poke();
  };
  private readonly onAbort = (): void => this.end(this.signal!.reason);

  constructor(zk: ZooKeeper, path: string, options: IteratorOptions | undefined) {
    this.zk = zk;
    this.path = path;
    this.signal = options?.signal;
    if (this.signal) {
      if (this.signal.aborted) this.end(this.signal.reason);
      else this.signal.addEventListener('abort', this.onAbort, { once: true });
    }
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<T, undefined>> {
    // Hooked on first use, so an iterator that is never pulled holds nothing.
    if (!this.finished) this.zk[STATE_HOOKS].add(this.onState);
    // for-await never overlaps calls, but a hand-driven iterator might.
    const p = this.chain.then(() => this.step());
    this.chain = p.catch(() => undefined);
    return p;
  }

  return(): Promise<IteratorResult<T, undefined>> {
    this.end(null);
    return Promise.resolve(DONE);
  }

  throw(err?: unknown): Promise<IteratorResult<T, undefined>> {
    this.end(null);
    return Promise.reject(err);
  }

  protected abstract step(): Promise<IteratorResult<T, undefined>>;
  protected abstract cleanup(): void;

  /** Stops the iteration; `error` (if any) is thrown by the next pull. */
  protected end(error: unknown): void {
    if (this.finished) return;
    this.finished = true;
    this.failure = error;
    this.zk[STATE_HOOKS].delete(this.onState);
    this.signal?.removeEventListener('abort', this.onAbort);
    this.cleanup();
    this.poke();
  }

  protected finishedResult(): IteratorResult<T, undefined> {
    if (this.failure !== null) {
      const f = this.failure;
      this.failure = null;
      throw f;
    }
    return DONE;
  }

  protected poke(): void {
    const w = this.wake;
    if (w) {
      this.wake = null;
      if (this.wakeTimer !== undefined) clearTimeout(this.wakeTimer);
      this.wakeTimer = undefined;
      w();
    }
  }

  /** Sleeps until poked (an event, a state change, the end) or `ms` passes. */
  protected sleep(ms?: number): Promise<void> {
    return new Promise<void>((resolve) => {
      this.wake = resolve;
      if (ms !== undefined) {
        this.wakeTimer = setTimeout(() => this.poke(), ms);
      }
    });
  }

  /** After a retryable failure: wait for a state change or a growing delay. */
  protected backoff(attempt: number): Promise<void> {
    return this.sleep(Math.min(MAX_RETRY_DELAY, 50 * 2 ** Math.min(attempt, 10)));
  }

  protected handleError(e: unknown): void {
    if (e instanceof ClientClosedError) this.end(null);
    else this.end(e);
  }
}

abstract class SnapshotIterator<T> extends BaseIterator<T> {
  private dirty = true;
  private event: WatchedEvent | null = null;
  protected readonly watcher: Watcher = (ev: WatchedEvent): void => {
    this.event = ev;
    this.dirty = true;
    this.poke();
  };

  protected abstract read(event: WatchedEvent | null): Promise<T>;

  protected async step(): Promise<IteratorResult<T, undefined>> {
    for (let attempt = 0; attempt < 1_000_000; attempt++) {
      if (this.finished) return this.finishedResult();
      if (!this.dirty) {
        await this.sleep();
        continue;
      }
      this.dirty = false;
      const event = this.event;
      this.event = null;
      try {
        const value = await this.read(event);
        if (this.finished) return this.finishedResult();
        return { done: false, value };
      } catch (e) {
        if (isRetryable(e)) {
          this.dirty = true;
          if (this.event === null) this.event = event;
          await this.backoff(attempt);
          continue;
        }
        this.handleError(e);
      }
    }
    throw new Error('unreachable: iterator retry bound');
  }

  protected cleanup(): void {
    this.zk.forgetWatcher(this.path, this.watcher);
  }
}

export class DataIterator extends SnapshotIterator<DataSnapshot> {
  protected async read(event: WatchedEvent | null): Promise<DataSnapshot> {
    // Bounded: each round trip means the node was deleted and re-created meanwhile.
    for (let i = 0; i < 100; i++) {
      try {
        const { data, stat } = await this.zk.getData(this.path, this.watcher);
        return { event, data, stat };
      } catch (e) {
        if (!(e instanceof NoNodeError)) throw e;
      }
      const stat = await this.zk.exists(this.path, this.watcher);
      if (stat === null) return { event, data: null, stat: null };
    }
    throw new Error(`${this.path} keeps appearing and disappearing`);
  }
}

export class ChildrenIterator extends SnapshotIterator<ChildrenSnapshot> {
  protected async read(event: WatchedEvent | null): Promise<ChildrenSnapshot> {
    for (let i = 0; i < 100; i++) {
      try {
        const { children, stat } = await this.zk.getChildrenWithStat(this.path, this.watcher);
        return { event, children, stat };
      } catch (e) {
        if (!(e instanceof NoNodeError)) throw e;
      }
      const stat = await this.zk.exists(this.path, this.watcher);
      if (stat === null) return { event, children: null, stat: null };
    }
    throw new Error(`${this.path} keeps appearing and disappearing`);
  }
}

export class EventIterator extends BaseIterator<WatchedEvent> {
  private readonly recursive: boolean;
  private readonly maxBuffered: number;
  private readonly buffer: WatchedEvent[] = [];
  private added = false;
  private readonly watcher: Watcher = (ev: WatchedEvent): void => {
    if (this.finished) return;
    if (this.buffer.length >= this.maxBuffered) {
      this.end(new WatchOverflowError(`more than ${this.maxBuffered} unread events for ${this.path}`));
      return;
    }
    this.buffer.push(ev);
    this.poke();
  };

  constructor(
    zk: ZooKeeper,
    path: string,
    options: (IteratorOptions & { recursive?: boolean; maxBuffered?: number }) | undefined,
  ) {
    super(zk, path, options);
    this.recursive = options?.recursive ?? true;
    this.maxBuffered = options?.maxBuffered ?? 10_000;
  }

  protected async step(): Promise<IteratorResult<WatchedEvent, undefined>> {
    for (let attempt = 0; attempt < 1_000_000; attempt++) {
      if (this.finished) return this.finishedResult();
      if (!this.added) {
        try {
          await this.zk.addWatch(
            this.path,
            this.watcher,
            this.recursive ? AddWatchMode.PERSISTENT_RECURSIVE : AddWatchMode.PERSISTENT,
          );
          this.added = true;
          if (this.finished) this.cleanup();
        } catch (e) {
          if (isRetryable(e)) await this.backoff(attempt);
          else this.handleError(e);
        }
        continue;
      }
      const ev = this.buffer.shift();
      if (ev !== undefined) return { done: false, value: ev };
      await this.sleep();
    }
    throw new Error('unreachable: iterator retry bound');
  }

  protected cleanup(): void {
    this.buffer.length = 0;
    if (!this.added) return;
    const type = this.recursive ? WatcherType.PersistentRecursive : WatcherType.Persistent;
    this.zk.removeWatches(this.path, this.watcher, type, { local: true }).catch(() => undefined);
  }
}
