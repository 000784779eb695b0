// One thread's share of a benchmark: its sessions, its slice of the rate or op
// budget, its histograms. The coordinator (bench.ts) runs one of these in the
// main thread or one per worker thread and merges what they return.
import { CreateMode, Err, EventType, errName } from '../jute/constants.js';
import { BenchConn, encodePath } from './conn.js';
import { Histogram, type SerializedHistogram } from '../base/histogram.js';
import type { BenchOptions } from './options.js';

/** What each request was, for per-operation histograms. */
export const TAG = {
  getData: 0,
  setData: 1,
  create: 2,
  delete: 3,
  session: 4,
  connect: 5,
  closeSession: 6,
  event: 7,
  rearm: 8,
} as const;
export const TAG_NAMES = [
  'getData',
  'setData',
  'create',
  'delete',
  'session',
  'connect',
  'closeSession',
  'event',
  'rearm',
];
const TAGS = TAG_NAMES.length;

/** Slots in the shared ring of watch writes: seq and absolute send time (ms) per write. */
export const WATCH_RING = 1 << 16;

export interface WorkerPlan {
  opts: BenchOptions;
  worker: number;
  /** Global index of this worker's first session (for unique znode names). */
  firstSession: number;
  sessions: number;
  /** This worker's share of --rate; null for closed loop. */
  rate: number | null;
  /** This worker's share of --ops; null when bounded by duration. */
  ops: number | null;
  /** In watch mode, this worker's first session is the writer. */
  watchWriter: boolean;
  watchRing: SharedArrayBuffer | null;
  /** Distinguishes this run's churn and ephemeral znode names from earlier runs' leftovers. */
  runId: string;
}

export type Phase = 'warmup' | 'measure' | 'drain';

export interface RunnerHooks {
  onPhase(phase: Phase): void;
  /** Once a second: operations and errors since the last tick, and their latencies. */
  onTick(phase: Phase, ops: number, errors: number, interval: Histogram): void;
}

export interface WorkerOutcome {
  worker: number;
  measuredMs: number;
  /** Successful primary operations completed in the measured window. */
  ops: number;
  latency: SerializedHistogram;
  byTag: (SerializedHistogram | null)[];
  /** Open loop only: latency from the actual send, and how late sends were against the schedule. */
  service: SerializedHistogram | null;
  sendLag: SerializedHistogram | null;
  errors: Record<string, number>;
  /** Watch mode: setData calls completed by the writer in the window. */
  writes: number;
  /** Open loop: requests due by the end that could not be sent (every session at its cap). */
  backlog: number;
  /** Event-loop utilization of this thread over the measured window (0..1). */
  elu: number;
  notes: string[];
  timedOut: boolean;
  /** Every session (or the watch writer) was lost before the end. */
  stoppedEarly: boolean;
}

export function watchPath(root: string): string {
  return `${root}/watch`;
}
export function keyPath(root: string, i: number): string {
  return `${root}/k${i}`;
}

const now = (): number => performance.now();
const absNow = (): number => performance.timeOrigin + performance.now();

export class Runner {
  private readonly o: BenchOptions;
  private readonly plan: WorkerPlan;
  private readonly hooks: RunnerHooks;
  private conns: BenchConn[] = [];
  private live = 0;
  private phase: Phase = 'warmup';
  private rng: number;

  // measured results
  private readonly latency = new Histogram();
  private readonly byTag: Histogram[] = [];
  private readonly service = new Histogram();
  private readonly sendLag = new Histogram();
  private readonly errors = new Map<string, number>();
  private ops = 0;
  private writes = 0;
  private readonly notes: string[] = [];
  // progress since the last tick
  private readonly interval = new Histogram();
  private tickOps = 0;
  private tickErrors = 0;

  // mix
  private keys: Buffer[] = [];
  private payload: Buffer;
  private readThreshold: number;
  // watch
  private watchNode: Buffer;
  private ring: Float64Array | null;
  private writerSeq = 0;
  private writer: BenchConn | null = null;
  // churn / ephemeral
  private readonly base: string;
  private ephSeq = 0;
  private ephActive = 0;
  private ephCap = 0;

  // open loop
  private readonly rate: number | null;
  private t0 = 0;
  private issuedScheduled = 0;
  private backlog = new Float64Array(1024);
  private bHead = 0;
  private bLen = 0;
  private rr = 0;
  private cap: number;

  private measureStart = 0;
  private measureEnd = 0;
  private eluStart: ReturnType<typeof performance.eventLoopUtilization> | null = null;
  private elu = 0;
  private finish: (() => void) | null = null;
  private timers: NodeJS.Timeout[] = [];
  private timedOut = false;
  private stoppedEarly = false;

  constructor(plan: WorkerPlan, hooks: RunnerHooks) {
    this.plan = plan;
    this.o = plan.opts;
    this.hooks = hooks;
    this.rate = plan.rate;
    this.rng = (plan.opts.seed * 2654435761 + plan.worker * 40503 + 1) >>> 0 || 1;
    for (let t = 0; t < TAGS; t++) this.byTag.push(new Histogram());
    this.payload = Buffer.alloc(this.o.payload, 0x61);
    this.readThreshold = this.o.readRatio;
    this.watchNode = encodePath(watchPath(this.o.root));
    this.ring = plan.watchRing ? new Float64Array(plan.watchRing) : null;
    this.base = `${this.o.root}/${this.o.mode === 'ephemeral' ? 'eph' : 'churn'}/${plan.runId}-w${plan.worker}`;
    this.cap = this.o.inflight;
  }

  // xorshift32: cheap, and the same seed gives the same key sequence.
  private random(): number {
    let x = this.rng;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.rng = x >>> 0;
    return this.rng / 4294967296;
  }

  private connectOne(i: number): Promise<BenchConn> {
    const hp = this.o.connect[(this.plan.firstSession + i) % this.o.connect.length]!;
    return BenchConn.connect({
      host: hp.host,
      port: hp.port,
      sessionTimeoutMs: this.o.sessionTimeoutMs,
      connectTimeoutMs: 10_000,
    });
  }

  /** Opens this worker's sessions (not for ephemeral mode, which opens its own as it goes). */
  async connect(): Promise<void> {
    if (this.o.mode === 'mix') {
      this.keys = new Array<Buffer>(this.o.znodes);
      for (let i = 0; i < this.o.znodes; i++) this.keys[i] = encodePath(keyPath(this.o.root, i));
    }
    if (this.o.mode === 'ephemeral') {
      this.ephCap = this.rate === null ? this.plan.sessions : this.plan.sessions * this.o.inflight;
      return;
    }
    const n = this.plan.sessions;
    // Connect a few at a time: a burst of handshakes is not what we measure.
    for (let i = 0; i < n; i += 32) {
      const batch: Promise<BenchConn>[] = [];
      for (let k = i; k < Math.min(n, i + 32); k++) batch.push(this.connectOne(k));
      const got = await Promise.allSettled(batch);
      for (const g of got) {
        if (g.status === 'rejected') {
          for (const c of this.conns) c.destroy();
          throw new Error(`could not open session ${this.conns.length + 1} of ${n}: ${(g.reason as Error).message}`);
        }
        const c = g.value;
        c.index = this.plan.firstSession + this.conns.length;
        c.onReply = this.onReply;
        c.onEvent = this.onEvent;
        c.onClose = this.onClose;
        this.conns.push(c);
      }
    }
    this.live = this.conns.length;
    if (this.o.mode === 'watch' && this.plan.watchWriter) this.writer = this.conns[0]!;
  }

  /** Warm-up, measurement and drain; resolves with this worker's numbers. */
  run(): Promise<WorkerOutcome> {
    return new Promise<WorkerOutcome>((resolve) => {
      this.t0 = now();
      const warmMs = this.o.warmupS * 1000;
      const hardMs = this.o.timeoutS * 1000;
      this.finish = () => {
        this.finish = null;
        for (const t of this.timers) clearTimeout(t);
        this.timers = [];
        void this.closeAll().then(() => resolve(this.outcome()));
      };
      this.timers.push(
        setInterval(() => {
          this.hooks.onTick(this.phase, this.tickOps, this.tickErrors, this.interval);
          this.tickOps = 0;
          this.tickErrors = 0;
          this.interval.reset();
        }, 1000),
      );
      this.timers.push(
        setTimeout(() => {
          this.timedOut = true;
          this.notes.push(`worker ${this.plan.worker}: hit --timeout ${this.o.timeoutS}s`);
          if (this.phase === 'measure') this.endMeasure();
          this.finish?.();
        }, hardMs),
      );
      this.hooks.onPhase('warmup');
      if (warmMs > 0) this.timers.push(setTimeout(() => this.startMeasure(), warmMs));
      else this.startMeasure();
      if (this.rate !== null) this.timers.push(setInterval(() => this.pump(now()), 1));
      this.begin();
    });
  }

  private startMeasure(): void {
    if (this.phase !== 'warmup') return;
    this.phase = 'measure';
    this.measureStart = now();
    this.eluStart = performance.eventLoopUtilization();
    this.hooks.onPhase('measure');
    if (this.o.durationS !== null) this.timers.push(setTimeout(() => this.endMeasure(), this.o.durationS * 1000));
    if (this.plan.ops === 0) this.endMeasure();
  }

  private endMeasure(): void {
    if (this.phase !== 'measure') return;
    this.phase = 'drain';
    this.measureEnd = now();
    if (this.eluStart) this.elu = performance.eventLoopUtilization(this.eluStart).utilization;
    this.hooks.onPhase('drain');
    // Let what is in flight come back (bounded), so sessions close cleanly.
    const deadline = now() + 5000;
    const check = (): void => {
      if (this.finish === null) return;
      if (this.inflightTotal() === 0 || now() > deadline) this.finish();
      else this.timers.push(setTimeout(check, 20));
    };
    check();
  }

  private inflightTotal(): number {
    let n = this.ephActive;
    for (const c of this.conns) if (c.isOpen) n += c.inflight;
    return n;
  }

  private async closeAll(): Promise<void> {
    const waits: Promise<void>[] = [];
    for (const c of this.conns) {
      if (!c.isOpen) continue;
      c.onReply = null;
      c.onEvent = null;
      c.onClose = null;
      if (c.inflight === 0) {
        c.closeSession(-1, 0, 0);
        waits.push(c.waitClosed(2000).then(() => c.destroy()));
      } else c.destroy();
    }
    await Promise.all(waits);
    // Ephemeral cycles still running finish on their own; wait for them (bounded).
    for (let i = 0; i < 250 && this.ephActive > 0; i++) await new Promise((r) => setTimeout(r, 20));
  }

  // ---- issuing ----

  private begin(): void {
    const mode = this.o.mode;
    if (mode === 'watch') {
      for (const c of this.conns) {
        if (c === this.writer) continue;
        c.getData(this.watchNode, true, TAG.rearm, now(), now());
      }
      if (this.writer && this.rate === null) this.issue(this.writer, now(), now());
      return;
    }
    if (this.rate !== null) {
      this.pump(now());
      return;
    }
    if (mode === 'ephemeral') {
      for (let i = 0; i < this.ephCap; i++) void this.cycle(now());
      return;
    }
    for (const c of this.conns) for (let k = 0; k < this.o.inflight; k++) this.issue(c, now(), now());
  }

  private stopIssuing(): boolean {
    return this.phase === 'drain' || this.finish === null;
  }

  /** Sends the next operation of this mode on `c`, scheduled at `sched`. */
  private issue(c: BenchConn, sched: number, t: number): void {
    switch (this.o.mode) {
      case 'mix': {
        const key = this.keys[Math.floor(this.random() * this.keys.length)]!;
        if (this.random() < this.readThreshold) c.getData(key, false, TAG.getData, sched, t);
        else c.setData(key, this.payload, TAG.setData, sched, t);
        return;
      }
      case 'churn': {
        const n = c.counter++;
        if ((n & 1) === 0) {
          c.lastPath = encodePath(`${this.base}-s${c.index}-${n >>> 1}`);
          c.create(c.lastPath, this.payload, CreateMode.PERSISTENT, TAG.create, sched, t);
        } else {
          c.delete(c.lastPath!, TAG.delete, sched, t);
        }
        return;
      }
      case 'watch': {
        const seq = ++this.writerSeq;
        this.payload.writeDoubleBE(seq, 0);
        this.ring![(seq % WATCH_RING) * 2 + 1] = absNow();
        this.ring![(seq % WATCH_RING) * 2] = seq;
        c.setData(this.watchNode, this.payload, TAG.setData, sched, t);
        return;
      }
      default:
        throw new Error(`issue() in mode ${this.o.mode}`);
    }
  }

  /** Open loop: send every operation whose time has come, or queue it if all sessions are at their cap. */
  private pump(t: number): void {
    if (this.rate === null || this.stopIssuing()) return;
    const due = Math.floor(((t - this.t0) * this.rate) / 1000) + 1;
    const step = 1000 / this.rate;
    while (this.issuedScheduled < due) {
      const sched = this.t0 + this.issuedScheduled * step;
      this.issuedScheduled++;
      if (this.o.mode === 'ephemeral') {
        if (this.ephActive < this.ephCap) void this.cycle(sched);
        else this.enqueue(sched);
        continue;
      }
      const c = this.pick();
      if (c) this.issue(c, sched, t);
      else this.enqueue(sched);
    }
  }

  private pick(): BenchConn | null {
    if (this.o.mode === 'watch') {
      const w = this.writer;
      return w && w.isOpen && w.inflight < this.cap ? w : null;
    }
    const n = this.conns.length;
    for (let k = 0; k < n; k++) {
      const c = this.conns[this.rr]!;
      this.rr = this.rr + 1 === n ? 0 : this.rr + 1;
      if (c.isOpen && c.inflight < this.cap) return c;
    }
    return null;
  }

  private enqueue(sched: number): void {
    if (this.bLen === this.backlog.length) {
      const bigger = new Float64Array(this.backlog.length * 2);
      for (let k = 0; k < this.bLen; k++) bigger[k] = this.backlog[(this.bHead + k) % this.backlog.length]!;
      this.backlog = bigger;
      this.bHead = 0;
    }
    this.backlog[(this.bHead + this.bLen) % this.backlog.length] = sched;
    this.bLen++;
  }

  private dequeue(): number {
    const v = this.backlog[this.bHead]!;
    this.bHead = (this.bHead + 1) % this.backlog.length;
    this.bLen--;
    return v;
  }

  // ---- replies ----

  private readonly onReply = (
    c: BenchConn,
    tag: number,
    err: number,
    sched: number,
    sent: number,
    t: number,
    body: Buffer,
    bodyAt: number,
  ): void => {
    if (tag === TAG.rearm) {
      if (err === 0) {
        // GetDataResponse: data as int length + bytes; the writer put its seq first.
        const len = body.readInt32BE(bodyAt);
        c.armedSeq = len >= 8 ? body.readDoubleBE(bodyAt + 4) : 0;
      } else this.error(err);
      return;
    }
    if (err === 0) {
      const us = (t - sched) * 1000;
      const primary = !(tag === TAG.setData && this.o.mode === 'watch');
      if (primary) {
        this.interval.record(us);
        this.tickOps++;
      }
      if (this.phase === 'measure') {
        this.byTag[tag]!.record(us);
        if (primary) {
          this.latency.record(us);
          this.ops++;
        } else this.writes++;
        if (this.rate !== null) {
          this.service.record((t - sent) * 1000);
          this.sendLag.record((sent - sched) * 1000);
        }
        if (this.plan.ops !== null && this.ops >= this.plan.ops) this.endMeasure();
      }
    } else {
      this.error(err);
      if (this.phase === 'warmup' && this.notes.length < 20) {
        this.notes.push(`warm-up: ${TAG_NAMES[tag]} failed with ${errName(err)}`);
      }
    }
    if (this.stopIssuing()) return;
    if (this.rate === null) {
      if (this.o.mode !== 'watch' || c === this.writer) this.issue(c, t, t);
    } else {
      while (this.bLen > 0 && c.inflight < this.cap) this.issue(c, this.dequeue(), t);
      this.pump(t);
    }
  };

  private readonly onEvent = (c: BenchConn, type: number, t: number): void => {
    if (type !== EventType.NodeDataChanged) return;
    const seq = c.armedSeq + 1;
    const slot = (seq % WATCH_RING) * 2;
    if (this.ring && this.ring[slot] === seq) {
      const us = (performance.timeOrigin + t - this.ring[slot + 1]!) * 1000;
      this.interval.record(us);
      this.tickOps++;
      if (this.phase === 'measure') {
        this.latency.record(us);
        this.byTag[TAG.event]!.record(us);
        this.ops++;
      }
    } else this.error(-10_000);
    if (!this.stopIssuing() && c.isOpen) c.getData(this.watchNode, true, TAG.rearm, t, t);
  };

  private readonly onClose = (c: BenchConn, reason: string): void => {
    this.live--;
    if (this.stopIssuing()) return;
    for (let k = 0; k < c.inflight; k++) this.error(Err.CONNECTIONLOSS);
    this.notes.push(`session ${c.index} (0x${c.sessionId.toString(16)}) lost: ${reason}`);
    if (this.live === 0 || c === this.writer) {
      this.stoppedEarly = true;
      this.notes.push(
        `worker ${this.plan.worker}: ${this.live === 0 ? 'every session is gone' : 'the watch writer is gone'}; stopping early`,
      );
      if (this.phase === 'measure') this.endMeasure();
      else this.finish?.();
    }
  };

  private error(code: number): void {
    this.tickErrors++;
    if (this.phase !== 'measure') return;
    const name = code === -10_000 ? 'EVENT_WITHOUT_WRITE' : code === -10_001 ? 'CONNECT_FAILED' : errName(code);
    this.errors.set(name, (this.errors.get(name) ?? 0) + 1);
  }

  // ---- ephemeral session churn ----

  /** connect, create an ephemeral znode, closeSession; again until the run ends (closed loop). */
  private async cycle(sched: number): Promise<void> {
    this.ephActive++;
    try {
      for (;;) {
        await this.oneCycle(sched);
        if (this.stopIssuing()) return;
        if (this.rate !== null) {
          if (this.bLen === 0) return;
          sched = this.dequeue();
        } else sched = now();
      }
    } finally {
      this.ephActive--;
    }
  }

  private async oneCycle(sched: number): Promise<void> {
    const t1 = now();
    let c: BenchConn;
    try {
      c = await this.connectOne(this.ephSeq);
    } catch {
      this.error(-10_001);
      return;
    }
    const t2 = now();
    const measuring = this.phase === 'measure';
    const path = encodePath(`${this.base}-${this.ephSeq++}`);
    const reply = (tag: number): Promise<number> =>
      new Promise<number>((resolve) => {
        c.onReply = (_c, _tag, err) => resolve(err);
        c.onClose = () => resolve(tag === TAG.closeSession ? 0 : Err.CONNECTIONLOSS);
        if (!c.isOpen) resolve(tag === TAG.closeSession ? 0 : Err.CONNECTIONLOSS);
      });
    const created = reply(TAG.create);
    c.create(path, this.payload, CreateMode.EPHEMERAL, TAG.create, t2, t2);
    const err = await created;
    const t3 = now();
    if (err !== 0) {
      c.destroy();
      this.error(err);
      return;
    }
    const closed = reply(TAG.closeSession);
    if (c.isOpen) c.closeSession(TAG.closeSession, t3, t3);
    const cerr = await closed;
    const t4 = now();
    c.destroy();
    if (cerr !== 0) {
      this.error(cerr);
      return;
    }
    const us = (t4 - sched) * 1000;
    this.interval.record(us);
    this.tickOps++;
    if (measuring && this.phase === 'measure') {
      this.latency.record(us);
      this.byTag[TAG.session]!.record(us);
      this.byTag[TAG.connect]!.record((t2 - t1) * 1000);
      this.byTag[TAG.create]!.record((t3 - t2) * 1000);
      this.byTag[TAG.closeSession]!.record((t4 - t3) * 1000);
      if (this.rate !== null) {
        this.service.record((t4 - t1) * 1000);
        this.sendLag.record((t1 - sched) * 1000);
      }
      this.ops++;
      if (this.plan.ops !== null && this.ops >= this.plan.ops) this.endMeasure();
    }
  }

  private outcome(): WorkerOutcome {
    const errors: Record<string, number> = {};
    for (const [k, v] of this.errors) errors[k] = v;
    if (this.measureEnd === 0 && this.measureStart > 0) this.measureEnd = now();
    return {
      worker: this.plan.worker,
      measuredMs: this.measureStart > 0 ? this.measureEnd - this.measureStart : 0,
      ops: this.ops,
      latency: this.latency.serialize(),
      byTag: this.byTag.map((h) => (h.count > 0 ? h.serialize() : null)),
      service: this.rate !== null ? this.service.serialize() : null,
      sendLag: this.rate !== null ? this.sendLag.serialize() : null,
      errors,
      writes: this.writes,
      backlog: this.bLen,
      elu: this.elu,
      notes: this.notes.slice(0, 50),
      timedOut: this.timedOut,
      stoppedEarly: this.stoppedEarly,
    };
  }
}
