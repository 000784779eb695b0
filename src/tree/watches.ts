// Watches registered on this server (ZooKeeper's WatchManager): they are not
// replicated; a client re-registers them with setWatches after reconnecting.
import { EventType, WatcherType } from '../jute/constants.js';
import { parentOf } from './path.js';

type Table = Map<string, Set<number>>;

interface WatcherPaths {
  data: Set<string>;
  child: Set<string>;
  persistent: Set<string>;
  recursive: Set<string>;
}

function add(table: Table, path: string, w: number): void {
  let s = table.get(path);
  if (!s) table.set(path, (s = new Set()));
  s.add(w);
}

function del(table: Table, path: string, w: number): boolean {
  const s = table.get(path);
  if (!s || !s.delete(w)) return false;
  if (s.size === 0) table.delete(path);
  return true;
}

export class WatchManager {
  readonly data: Table = new Map();
  readonly child: Table = new Map();
  readonly persistent: Table = new Map();
  readonly recursive: Table = new Map();
  private readonly byWatcher = new Map<number, WatcherPaths>();

  private paths(w: number): WatcherPaths {
    let p = this.byWatcher.get(w);
    if (!p) {
      p = { data: new Set(), child: new Set(), persistent: new Set(), recursive: new Set() };
      this.byWatcher.set(w, p);
    }
    return p;
  }

  addData(path: string, w: number): void {
    add(this.data, path, w);
    this.paths(w).data.add(path);
  }
  addChild(path: string, w: number): void {
    add(this.child, path, w);
    this.paths(w).child.add(path);
  }
  addPersistent(path: string, w: number, recursive: boolean): void {
    add(recursive ? this.recursive : this.persistent, path, w);
    (recursive ? this.paths(w).recursive : this.paths(w).persistent).add(path);
  }

  /** Watchers to notify of `type` on `path`; one-shot watches are consumed. */
  trigger(path: string, type: number, out: Set<number> = new Set()): Set<number> {
    const fireOneShot = (table: Table, kind: 'data' | 'child') => {
      const s = table.get(path);
      if (!s) return;
      table.delete(path);
      for (const w of s) {
        out.add(w);
        this.byWatcher.get(w)?.[kind].delete(path);
      }
    };
    if (type === EventType.NodeChildrenChanged) {
      fireOneShot(this.child, 'child');
    } else {
      fireOneShot(this.data, 'data');
      if (type === EventType.NodeDeleted) fireOneShot(this.child, 'child');
    }
    const p = this.persistent.get(path);
    if (p) for (const w of p) out.add(w);
    if (type !== EventType.NodeChildrenChanged && this.recursive.size > 0) {
      for (let at = path; ; at = parentOf(at)) {
        const r = this.recursive.get(at);
        if (r) for (const w of r) out.add(w);
        if (at === '/') break;
      }
    }
    return out;
  }

  contains(path: string, type: number, w: number): boolean {
    const p = this.byWatcher.get(w);
    if (!p) return false;
    switch (type) {
      case WatcherType.Children:
        return p.child.has(path);
      case WatcherType.Data:
        return p.data.has(path);
      case WatcherType.Persistent:
        return p.persistent.has(path);
      case WatcherType.PersistentRecursive:
        return p.recursive.has(path);
      case WatcherType.Any:
        return p.child.has(path) || p.data.has(path) || p.persistent.has(path) || p.recursive.has(path);
      default:
        return false;
    }
  }

  remove(path: string, type: number, w: number): boolean {
    const p = this.byWatcher.get(w);
    if (!p) return false;
    let removed = false;
    const any = type === WatcherType.Any;
    if (any || type === WatcherType.Children) removed = (del(this.child, path, w) && p.child.delete(path)) || removed;
    if (any || type === WatcherType.Data) removed = (del(this.data, path, w) && p.data.delete(path)) || removed;
    if (any || type === WatcherType.Persistent)
      removed = (del(this.persistent, path, w) && p.persistent.delete(path)) || removed;
    if (any || type === WatcherType.PersistentRecursive)
      removed = (del(this.recursive, path, w) && p.recursive.delete(path)) || removed;
    return removed;
  }

  removeWatcher(w: number): void {
    const p = this.byWatcher.get(w);
    if (!p) return;
    for (const path of p.data) del(this.data, path, w);
    for (const path of p.child) del(this.child, path, w);
    for (const path of p.persistent) del(this.persistent, path, w);
    for (const path of p.recursive) del(this.recursive, path, w);
    this.byWatcher.delete(w);
  }

  /** Number of (watcher, path) pairs. */
  get count(): number {
    let n = 0;
    for (const p of this.byWatcher.values()) n += p.data.size + p.child.size + p.persistent.size + p.recursive.size;
    return n;
  }

  get watchedPaths(): number {
    const all = new Set<string>();
    for (const t of [this.data, this.child, this.persistent, this.recursive]) for (const k of t.keys()) all.add(k);
    return all.size;
  }

  get watcherCount(): number {
    return this.byWatcher.size;
  }

  /** watcher -> paths, for wchc. */
  byWatcherPaths(): Map<number, string[]> {
    const out = new Map<number, string[]>();
    for (const [w, p] of this.byWatcher) {
      const all = new Set<string>([...p.data, ...p.child, ...p.persistent, ...p.recursive]);
      if (all.size > 0) out.set(w, [...all]);
    }
    return out;
  }

  /** path -> watchers, for wchp. */
  byPathWatchers(): Map<string, number[]> {
    const out = new Map<string, Set<number>>();
    for (const t of [this.data, this.child, this.persistent, this.recursive])
      for (const [path, ws] of t) {
        let s = out.get(path);
        if (!s) out.set(path, (s = new Set()));
        for (const w of ws) s.add(w);
      }
    return new Map([...out].map(([k, v]) => [k, [...v]]));
  }
}
