// Session liveness on this server: every packet touches its session, and a
// session not heard from within its timeout is expired through the log. The
// tracker is local and timer-driven; the decision to expire is a log entry, so
// every replica removes the same ephemerals at the same point.

export interface TrackedSession {
  id: bigint;
  timeout: number;
  deadline: number;
  closing: boolean;
}

export class SessionTracker {
  private readonly sessions = new Map<bigint, TrackedSession>();
  private nextId: bigint;

  constructor(serverId: number, now: number) {
    // ZooKeeper's SessionTrackerImpl.initializeNextSessionId: time in the middle
    // bits, the server id in the top byte, so ids differ across servers and restarts.
    const base = (BigInt(now) << 24n) & 0x00ffffffffffffffn;
    this.nextId = BigInt.asIntN(64, (BigInt(serverId) << 56n) | base);
  }

  newSessionId(): bigint {
    const id = this.nextId;
    this.nextId = BigInt.asIntN(64, this.nextId + 1n);
    return id;
  }

  track(id: bigint, timeout: number, now: number): void {
    this.sessions.set(id, { id, timeout, deadline: now + timeout, closing: false });
  }

  touch(id: bigint, now: number): boolean {
    const s = this.sessions.get(id);
    if (!s || s.closing) return false;
    s.deadline = now + s.timeout;
    return true;
  }

  setTimeout(id: bigint, timeout: number, now: number): void {
    const s = this.sessions.get(id);
    if (s) {
      s.timeout = timeout;
      s.deadline = now + timeout;
    }
  }

  get(id: bigint): TrackedSession | undefined {
    return this.sessions.get(id);
  }

  markClosing(id: bigint): void {
    const s = this.sessions.get(id);
    if (s) s.closing = true;
  }

  remove(id: bigint): void {
    this.sessions.delete(id);
  }

  /** Sessions past their deadline, marked closing so they are expired once. */
  expired(now: number): bigint[] {
    const out: bigint[] = [];
    for (const s of this.sessions.values()) {
      if (!s.closing && s.deadline <= now) {
        s.closing = true;
        out.push(s.id);
      }
    }
    return out;
  }

  get size(): number {
    return this.sessions.size;
  }

  all(): IterableIterator<TrackedSession> {
    return this.sessions.values();
  }
}
