// Client-side watch bookkeeping, keyed by server path (chroot included) so the
// paths in notifications and in setWatches need no translation. Follows the
// Java client's ZKWatchManager: which watchers an event triggers, which it
// consumes, and how watches are replayed after a reconnect.
import { OpCode } from '../jute/constants.js';
import type { SetWatches } from '../jute/records.js';
import { EventType, WatcherType, type Watcher, type WatcherTypeValue } from './types.js';

export const WatchKind = { data: 0, exist: 1, child: 2, persistent: 3, recursive: 4 } as const;
export type WatchKindValue = (typeof WatchKind)[keyof typeof WatchKind];

/**
 * Where the client keeps state listeners of its own helpers (iterators,
 * waitForConnected), apart from the public EventEmitter and its listener limit.
 */
export const STATE_HOOKS: unique symbol = Symbol('synod.client.stateHooks');

/** ClientCnxn.SET_WATCHES_MAX_LENGTH: the path bytes in one setWatches packet. */
export const SET_WATCHES_MAX_LENGTH = 128 * 1024;

type Table = Map<string, Set<Watcher>>;

export class WatchManager {
  readonly tables: readonly [Table, Table, Table, Table, Table] = [
    new Map(),
    new Map(),
    new Map(),
    new Map(),
    new Map(),
  ];

  add(kind: WatchKindValue, path: string, watcher: Watcher): void {
    const t = this.tables[kind];
    let s = t.get(path);
    if (!s) {
      s = new Set();
      t.set(path, s);
    }
    s.add(watcher);
  }

  get size(): number {
    let n = 0;
    for (const t of this.tables) n += t.size;
    return n;
  }

  get hasPersistent(): boolean {
    return this.tables[WatchKind.persistent].size > 0 || this.tables[WatchKind.recursive].size > 0;
  }

  /**
   * The watchers a notification of `type` on `path` triggers, once each; one-shot
   * watches it triggers are removed.
   */
  materialize(type: number, path: string): Set<Watcher> {
    const out = new Set<Watcher>();
    const [data, exist, child] = this.tables;
    switch (type) {
      case EventType.NodeCreated:
      case EventType.NodeDataChanged:
        take(data, path, out);
        take(exist, path, out);
        break;
      case EventType.NodeChildrenChanged:
        take(child, path, out);
        break;
      case EventType.NodeDeleted:
        take(data, path, out);
        // A server sends NodeDeleted to an exists watch only in odd races; Java clears it too.
        take(exist, path, out);
        take(child, path, out);
        break;
      default:
        return out;
    }
    addAll(this.tables[WatchKind.persistent].get(path), out);
    // Recursive watches see every node event below them except child-list changes.
    if (type !== EventType.NodeChildrenChanged) {
      const recursive = this.tables[WatchKind.recursive];
      if (recursive.size > 0) {
        let p = path;
        for (let i = 0; i < 10_000; i++) {
          addAll(recursive.get(p), out);
          if (p === '/') break;
          const slash = p.lastIndexOf('/');
          p = slash <= 0 ? '/' : p.substring(0, slash);
        }
      }
    }
    return out;
  }

  /** Whether `watcher` (or, when null, any watcher) is registered on `path` under a removeWatches type. */
  contains(path: string, watcher: Watcher | null, type: WatcherTypeValue): boolean {
    for (const kind of kindsOf(type)) {
      const s = this.tables[kind].get(path);
      if (s && (watcher === null ? s.size > 0 : s.has(watcher))) return true;
    }
    return false;
  }

  /**
   * Removes `watcher` (or every watcher when null) from `path` under a removeWatches
   * type. Returns the removed watchers with the event type they are told of.
   */
  remove(path: string, watcher: Watcher | null, type: WatcherTypeValue): Array<[number, Set<Watcher>]> {
    const removed: Array<[number, Set<Watcher>]> = [];
    const child = new Set<Watcher>();
    const data = new Set<Watcher>();
    const persistent = new Set<Watcher>();
    for (const kind of kindsOf(type)) {
      const into = kind === WatchKind.child ? child : kind <= WatchKind.exist ? data : persistent;
      const t = this.tables[kind];
      const s = t.get(path);
      if (!s) continue;
      if (watcher === null) {
        for (const w of s) into.add(w);
        t.delete(path);
      } else if (s.delete(watcher)) {
        into.add(watcher);
        if (s.size === 0) t.delete(path);
      }
    }
    if (child.size > 0) removed.push([EventType.ChildWatchRemoved, child]);
    if (data.size > 0) removed.push([EventType.DataWatchRemoved, data]);
    if (persistent.size > 0) removed.push([EventType.PersistentWatchRemoved, persistent]);
    return removed;
  }

  /**
   * Whether the server still needs its watch of this type on `path` once the
   * given watcher is gone (some other watcher still relies on it).
   */
  othersRemain(path: string, watcher: Watcher, type: WatcherTypeValue): boolean {
    for (const kind of kindsOf(type)) {
      const s = this.tables[kind].get(path);
      if (!s) continue;
      if (s.size > 1 || (s.size === 1 && !s.has(watcher))) return true;
    }
    return false;
  }

  /** Every watcher, each once (for telling them the session is gone). */
  all(): Set<Watcher> {
    const out = new Set<Watcher>();
    for (const t of this.tables) for (const s of t.values()) addAll(s, out);
    return out;
  }

  clear(): void {
    for (const t of this.tables) t.clear();
  }

  /**
   * The setWatches/setWatches2 requests that re-register every watch, in
   * batches of about SET_WATCHES_MAX_LENGTH path bytes; batches without
   * persistent watches use the old opcode so pre-3.6 servers understand them.
   */
  setWatchesBatches(relativeZxid: number): Array<{ op: 101 | 105; req: SetWatches }> {
    const lists = this.tables.map((t) => [...t.keys()]);
    const cursors = [0, 0, 0, 0, 0];
    const out: Array<{ op: 101 | 105; req: SetWatches }> = [];
    let kind = 0;
    while (kind < 5) {
      const batch: string[][] = [[], [], [], [], []];
      let length = 0;
      // As in the Java client, the last path may take a batch a little past the limit.
      while (length < SET_WATCHES_MAX_LENGTH && kind < 5) {
        const list = lists[kind]!;
        if (cursors[kind]! >= list.length) {
          kind++;
          continue;
        }
        const path = list[cursors[kind]!++]!;
        batch[kind]!.push(path);
        length += Buffer.byteLength(path, 'utf8');
      }
      if (batch.every((b) => b.length === 0)) break;
      const v2 = batch[3]!.length > 0 || batch[4]!.length > 0;
      out.push({
        op: v2 ? OpCode.setWatches2 : OpCode.setWatches,
        req: {
          relativeZxid,
          dataWatches: batch[0]!,
          existWatches: batch[1]!,
          childWatches: batch[2]!,
          persistentWatches: batch[3]!,
          persistentRecursiveWatches: batch[4]!,
        },
      });
    }
    return out;
  }
}

function take(t: Table, path: string, out: Set<Watcher>): void {
  const s = t.get(path);
  if (!s) return;
  t.delete(path);
  addAll(s, out);
}

function addAll(s: Set<Watcher> | undefined, out: Set<Watcher>): void {
  if (s) for (const w of s) out.add(w);
}

const KINDS: Record<number, readonly WatchKindValue[]> = {
  [WatcherType.Children]: [WatchKind.child],
  [WatcherType.Data]: [WatchKind.data, WatchKind.exist],
  [WatcherType.Any]: [WatchKind.child, WatchKind.data, WatchKind.exist, WatchKind.persistent, WatchKind.recursive],
  [WatcherType.Persistent]: [WatchKind.persistent],
  [WatcherType.PersistentRecursive]: [WatchKind.recursive],
};

export function kindsOf(type: WatcherTypeValue): readonly WatchKindValue[] {
  return KINDS[type] ?? [];
}
