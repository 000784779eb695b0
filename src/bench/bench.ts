// `synod bench`: sets up the znodes, runs the workload in this thread or in
// worker threads, prints a progress line a second, merges the workers'
// histograms and reports throughput, errors, latency and who used the CPU.
import { formatServerStats, readServerStats, resetServerStats, type ServerStats } from './serverstats.js';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { Histogram, formatUs, type LatencySummary, type SerializedHistogram } from '../base/histogram.js';
import type { BenchOptions } from './options.js';
import { CpuWindow } from './procstat.js';
import { Runner, TAG_NAMES, WATCH_RING, type Phase, type WorkerOutcome, type WorkerPlan } from './runner.js';
import { setupZnodes, type SetupResult } from './setup.js';

export interface OpStats {
  count: number;
  opsPerSec: number;
  latencyUs: LatencySummary;
}

export interface BenchResult {
  label: string;
  mode: string;
  target: string;
  options: Record<string, unknown>;
  openLoop: boolean;
  /** --rate, when open loop. */
  targetRate: number | null;
  measuredS: number;
  ops: number;
  opsPerSec: number;
  errorCount: number;
  errors: Record<string, number>;
  /** Primary operations; open loop: from the scheduled send time. */
  latencyUs: LatencySummary;
  /** Open loop: from the actual send (what a closed-loop tool would report), and send lateness. */
  serviceTimeUs: LatencySummary | null;
  sendLagUs: LatencySummary | null;
  byOp: Record<string, OpStats>;
  setup: SetupResult;
  watch: { writes: number; writesPerSec: number; eventsPerWrite: number } | null;
  generator: {
    workers: number;
    cores: number;
    cpuPercentOfCore: number;
    cpuPercentOfMachine: number;
    /** Event-loop utilization (0..1) of each generator thread over the measured window. */
    eventLoopUtilization: number[];
    likelyBottleneck: boolean;
  };
  servers: { pid: number; cpuPercentOfCore: number | null }[];
  /** --server-stats: each server's own latency summaries over the measured window. */
  serverStats: ServerStats[] | null;
  machineBusyPercent: number | null;
  /** Of machineBusyPercent, the share the hypervisor stole (a noisy host; included in otherCpuPercentOfCore). */
  machineStealPercent: number | null;
  /**
   * CPU the machine spent on neither the generator nor the --server-pid processes,
   * in % of one core: other programs competing with the measurement (or the kernel).
   */
  otherCpuPercentOfCore: number | null;
  /** Open loop: operations still queued when the run ended (the server fell behind the schedule). */
  backlog: number;
  timedOut: boolean;
  /** The run ended before its duration or op count: timed out, or lost its sessions. */
  incomplete: boolean;
  notes: string[];
  warnings: string[];
}

function splitEven(total: number, parts: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < parts; i++) out.push(Math.floor(total / parts) + (i < total % parts ? 1 : 0));
  return out;
}

export function makePlans(o: BenchOptions): WorkerPlan[] {
  const sessions = splitEven(o.sessions, o.workers);
  const ops = o.ops === null ? null : splitEven(o.ops, o.workers);
  const ring = o.mode === 'watch' ? new SharedArrayBuffer(WATCH_RING * 2 * 8) : null;
  const plans: WorkerPlan[] = [];
  const runId = Date.now().toString(36);
  let first = 0;
  for (let w = 0; w < o.workers; w++) {
    let rate: number | null = null;
    if (o.rate !== null) {
      if (o.mode === 'watch') rate = w === 0 ? o.rate : null;
      else rate = (o.rate * sessions[w]!) / o.sessions;
    }
    plans.push({
      opts: o,
      worker: w,
      firstSession: first,
      sessions: sessions[w]!,
      rate,
      ops: ops ? ops[w]! : null,
      watchWriter: o.mode === 'watch' && w === 0,
      watchRing: ring,
      runId,
    });
    first += sessions[w]!;
  }
  return plans;
}

/** The coordinator's view of one runner, wherever it runs. */
interface Driver {
  ready: Promise<void>;
  go(): void;
  result: Promise<WorkerOutcome>;
  stop(): void;
}

interface DriverHooks {
  onPhase(worker: number, phase: Phase): void;
  onTick(worker: number, phase: Phase, ops: number, errors: number, interval: Histogram | SerializedHistogram): void;
}

function localDriver(plan: WorkerPlan, hooks: DriverHooks): Driver {
  const runner = new Runner(plan, {
    onPhase: (p) => hooks.onPhase(plan.worker, p),
    onTick: (p, ops, errors, h) => hooks.onTick(plan.worker, p, ops, errors, h),
  });
  let go!: () => void;
  const started = new Promise<void>((r) => (go = r));
  const ready = runner.connect();
  return {
    ready,
    go,
    result: ready.then(() => started).then(() => runner.run()),
    stop: () => undefined,
  };
}

type WorkerMessage =
  | { type: 'ready' }
  | { type: 'phase'; phase: Phase }
  | { type: 'tick'; phase: Phase; ops: number; errors: number; hist: SerializedHistogram }
  | { type: 'result'; outcome: WorkerOutcome }
  | { type: 'error'; message: string };

function threadDriver(plan: WorkerPlan, hooks: DriverHooks): Driver {
  const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: plan });
  let readyRes!: () => void;
  let readyRej!: (e: Error) => void;
  let resRes!: (o: WorkerOutcome) => void;
  let resRej!: (e: Error) => void;
  const ready = new Promise<void>((a, b) => ((readyRes = a), (readyRej = b)));
  const result = new Promise<WorkerOutcome>((a, b) => ((resRes = a), (resRej = b)));
  const fail = (e: Error): void => {
    readyRej(e);
    resRej(e);
  };
  worker.on('message', (m: WorkerMessage) => {
    switch (m.type) {
      case 'ready':
        return readyRes();
      case 'phase':
        return hooks.onPhase(plan.worker, m.phase);
      case 'tick':
        return hooks.onTick(plan.worker, m.phase, m.ops, m.errors, m.hist);
      case 'result':
        return resRes(m.outcome);
      case 'error':
        return fail(new Error(`worker ${plan.worker}: ${m.message}`));
    }
  });
  worker.on('error', (e) => fail(e));
  worker.on('exit', (code) => fail(new Error(`worker ${plan.worker} exited (code ${code}) before reporting`)));
  // Handled by whoever awaits; this keeps an early failure from being "unhandled".
  ready.catch(() => undefined);
  result.catch(() => undefined);
  return {
    ready,
    go: () => worker.postMessage({ type: 'go' }),
    result,
    stop: () => void worker.terminate(),
  };
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, rej) => {
    t = setTimeout(() => rej(new Error(`${what} did not finish within ${Math.round(ms / 1000)} s`)), ms);
  });
  return Promise.race([p, limit]).finally(() => clearTimeout(t));
}

export async function runBench(o: BenchOptions, log: (line: string) => void): Promise<BenchResult> {
  const runStart = performance.now();
  const setup = await withTimeout(setupZnodes(o, o.progress ? log : () => undefined), o.timeoutS * 1000, 'set-up');
  if (o.ops === 0) return assemble(o, setup, [], null, []);
  if (o.znodes > 0 && o.mode === 'mix' && o.progress) {
    log(`set-up: ${setup.created} created, ${setup.existed} already there, ${setup.seconds.toFixed(1)} s`);
  }

  const plans = makePlans(o);
  const cpu = new CpuWindow(o.serverPids);
  let cpuResult: ReturnType<CpuWindow['stop']> | null = null;
  let statsReset: Promise<string[]> | null = null;
  let statsRead: Promise<ServerStats[]> | null = null;
  let measuring = 0;
  let drained = 0;
  const sofar = new Histogram();
  let pendingTicks = 0;
  let tickOps = 0;
  let tickErrors = 0;
  let totalErrors = 0;
  let tickPhase: Phase = 'warmup';
  const tickInterval = new Histogram();
  const t0 = performance.now();
  const hooks: DriverHooks = {
    onPhase: (_w, p) => {
      if (p === 'measure' && ++measuring === 1) {
        cpu.start();
        if (o.serverStats) statsReset = resetServerStats(o.connect);
      }
      if (p === 'drain' && ++drained === plans.length) {
        if (cpu.started) cpuResult = cpu.stop();
        // Ask only once the reset has landed, or the figures could be cleared after the fact.
        if (statsReset) statsRead = statsReset.then(() => readServerStats(o.connect));
      }
    },
    onTick: (_w, p, ops, errors, h) => {
      const hist = h instanceof Histogram ? h : Histogram.deserialize(h);
      tickOps += ops;
      tickErrors += errors;
      tickInterval.add(hist);
      if (p === 'measure') {
        sofar.add(hist);
        totalErrors += errors;
      }
      tickPhase = p;
      if (++pendingTicks < plans.length) return;
      if (o.progress) {
        const secs = Math.round((performance.now() - t0) / 1000);
        const p99 =
          p === 'measure'
            ? `p99 so far ${formatUs(sofar.percentile(99))}`
            : `p99 ${formatUs(tickInterval.percentile(99))}`;
        log(
          `[${String(secs).padStart(4)}s] ${tickPhase.padEnd(7)} ${String(tickOps).padStart(8)} ops/s  ` +
            `errors ${p === 'measure' ? totalErrors : tickErrors}  ${p99}`,
        );
      }
      pendingTicks = 0;
      tickOps = 0;
      tickErrors = 0;
      tickInterval.reset();
    },
  };
  const drivers = plans.map((p) => (plans.length === 1 ? localDriver(p, hooks) : threadDriver(p, hooks)));
  const remainingMs = (): number => Math.max(1000, o.timeoutS * 1000 + 30_000 - (performance.now() - runStart));
  try {
    await withTimeout(Promise.all(drivers.map((d) => d.ready)), remainingMs(), 'opening sessions');
    for (const d of drivers) d.go();
    const outcomes = await withTimeout(Promise.all(drivers.map((d) => d.result)), remainingMs(), 'the run');
    if (cpuResult === null && cpu.started) cpuResult = cpu.stop();
    const resetErrors = statsReset ? await statsReset : [];
    const serverStats = statsRead ? await statsRead : statsReset ? await readServerStats(o.connect) : null;
    const result = assemble(o, setup, outcomes, cpuResult, plans, serverStats);
    for (const e of resetErrors) result.warnings.push(`--server-stats: srst failed on ${e}`);
    return result;
  } finally {
    for (const d of drivers) d.stop();
  }
}

function assemble(
  o: BenchOptions,
  setup: SetupResult,
  outs: WorkerOutcome[],
  cpu: ReturnType<CpuWindow['stop']> | null,
  plans: WorkerPlan[],
  serverStats: ServerStats[] | null = null,
): BenchResult {
  const latency = new Histogram();
  const service = new Histogram();
  const lag = new Histogram();
  const byTag = TAG_NAMES.map(() => new Histogram());
  const errors: Record<string, number> = {};
  let ops = 0;
  let opsPerSec = 0;
  let writes = 0;
  let writesPerSec = 0;
  let measuredS = 0;
  let backlog = 0;
  const notes: string[] = [];
  for (const w of outs) {
    latency.add(Histogram.deserialize(w.latency));
    if (w.service) service.add(Histogram.deserialize(w.service));
    if (w.sendLag) lag.add(Histogram.deserialize(w.sendLag));
    w.byTag.forEach((h, i) => h && byTag[i]!.add(Histogram.deserialize(h)));
    for (const [k, v] of Object.entries(w.errors)) errors[k] = (errors[k] ?? 0) + v;
    const s = w.measuredMs / 1000;
    ops += w.ops;
    writes += w.writes;
    if (s > 0) {
      opsPerSec += w.ops / s;
      writesPerSec += w.writes / s;
    }
    measuredS = Math.max(measuredS, s);
    backlog += w.backlog;
    notes.push(...w.notes);
  }
  const byOp: Record<string, OpStats> = {};
  byTag.forEach((h, i) => {
    if (h.count === 0) return;
    byOp[TAG_NAMES[i]!] = {
      count: h.count,
      opsPerSec: measuredS > 0 ? h.count / measuredS : 0,
      latencyUs: h.summary(),
    };
  });
  const cores = availableParallelism();
  const elu = outs.map((w) => Math.round(w.elu * 1000) / 1000);
  const selfPct = cpu?.selfPercent ?? 0;
  const warnings: string[] = [];
  const maxElu = elu.length > 0 ? Math.max(...elu) : 0;
  const workers = plans.length;
  const likelyBottleneck = (workers === 1 && selfPct > 85) || maxElu > 0.85 || selfPct > 85 * workers;
  if (likelyBottleneck) {
    warnings.push(
      `the generator is likely the bottleneck: ${selfPct.toFixed(0)}% of one core, event loop ${Math.round(maxElu * 100)}% busy` +
        (workers < cores ? `; try --workers ${Math.min(cores, workers * 2)}` : ''),
    );
  }
  if (cpu?.machineBusyPercent != null && cpu.machineBusyPercent > 90) {
    warnings.push(
      `the machine's CPUs were ${cpu.machineBusyPercent.toFixed(0)}% busy: generator and server compete for ${cores} cores ` +
        `(generator ${(selfPct / cores).toFixed(0)}% of the machine)`,
    );
  }
  const errorCount = Object.values(errors).reduce((a, b) => a + b, 0);
  if (errorCount > 0) warnings.push(`${errorCount} operations failed: ${JSON.stringify(errors)}`);
  if (backlog > 0)
    warnings.push(`open loop: ${backlog} scheduled operations were never sent (the server fell behind --rate)`);
  const timedOut = outs.some((w) => w.timedOut);
  if (timedOut) warnings.push(`the run hit --timeout ${o.timeoutS}s; numbers cover what completed`);
  if (o.rate !== null && opsPerSec > 0 && opsPerSec < o.rate * 0.95 && o.mode !== 'watch') {
    warnings.push(
      `achieved ${opsPerSec.toFixed(0)} ops/s, below --rate ${o.rate}: the server (or generator) could not keep up`,
    );
  }
  const { connect, ...rest } = o;
  return {
    label: o.label,
    mode: o.mode,
    target: connect.map((h) => `${h.host}:${h.port}`).join(','),
    options: { ...rest },
    openLoop: o.rate !== null,
    targetRate: o.rate,
    measuredS,
    ops,
    opsPerSec,
    errorCount,
    errors,
    latencyUs: latency.summary(),
    serviceTimeUs: o.rate !== null ? service.summary() : null,
    sendLagUs: o.rate !== null ? lag.summary() : null,
    byOp,
    setup,
    watch: o.mode === 'watch' ? { writes, writesPerSec, eventsPerWrite: writes > 0 ? ops / writes : 0 } : null,
    generator: {
      workers,
      cores,
      cpuPercentOfCore: selfPct,
      cpuPercentOfMachine: selfPct / cores,
      eventLoopUtilization: elu,
      likelyBottleneck,
    },
    servers: (cpu?.pids ?? o.serverPids.map((pid) => ({ pid, percent: null }))).map((p) => ({
      pid: p.pid,
      cpuPercentOfCore: p.percent,
    })),
    machineBusyPercent: cpu?.machineBusyPercent ?? null,
    serverStats,
    machineStealPercent: cpu?.machineStealPercent ?? null,
    otherCpuPercentOfCore:
      cpu?.machineBusyPercent != null && cpu.pids.every((p) => p.percent !== null)
        ? Math.max(0, cpu.machineBusyPercent * cores - selfPct - cpu.pids.reduce((a, p) => a + p.percent!, 0))
        : null,
    backlog,
    timedOut,
    incomplete: timedOut || outs.some((w) => w.stoppedEarly),
    notes,
    warnings,
  };
}

function latencyCells(l: LatencySummary): string[] {
  return [l.p50, l.p90, l.p99, l.p999, l.max].map(formatUs);
}

function table(rows: string[][], indent = '  '): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows
    .map((r) => indent + r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '))
    .join('\n');
}

/** The human-readable report. */
export function formatResult(r: BenchResult): string {
  const o = r.options as Partial<BenchOptions>;
  const lines: string[] = [];
  const shape =
    r.mode === 'ephemeral'
      ? `${o.sessions} concurrent session cycles`
      : `${o.sessions} sessions x ${o.inflight} in flight`;
  const loop = r.openLoop ? `open loop at ${r.targetRate} ops/s` : 'closed loop';
  const extra = r.mode === 'mix' ? `, read ratio ${o.readRatio}, ${o.znodes} znodes` : '';
  lines.push(`synod bench: ${r.mode}${extra}, ${shape}, ${loop}, payload ${o.payload} B, target ${r.target}`);
  if (r.measuredS === 0 && r.ops === 0) {
    lines.push(
      `  set-up: ${r.setup.created} znodes created, ${r.setup.existed} already there, in ${r.setup.seconds.toFixed(1)} s ` +
        `(${Math.round((r.setup.created + r.setup.existed) / Math.max(r.setup.seconds, 1e-9))}/s)`,
    );
    return lines.join('\n') + '\n';
  }
  const what = r.mode === 'watch' ? 'events' : r.mode === 'ephemeral' ? 'sessions' : 'ops';
  lines.push(
    `  measured ${r.measuredS.toFixed(1)} s: ${r.ops} ${what}, ${r.opsPerSec.toFixed(0)} ${what}/s, ${r.errorCount} errors`,
  );
  if (r.watch) {
    lines.push(
      `  writer: ${r.watch.writes} setData, ${r.watch.writesPerSec.toFixed(0)}/s; ${r.watch.eventsPerWrite.toFixed(2)} events delivered per write`,
    );
  }
  for (const [k, v] of Object.entries(r.errors)) lines.push(`  error ${k}: ${v}`);
  const rows: string[][] = [['', 'count', 'per s', 'p50', 'p90', 'p99', 'p99.9', 'max']];
  const label = r.mode === 'watch' ? 'event delivery' : r.openLoop ? 'all (from schedule)' : 'all';
  rows.push([label, String(r.latencyUs.count), r.opsPerSec.toFixed(0), ...latencyCells(r.latencyUs)]);
  const sent = r.mode === 'watch' ? 'setData' : 'all';
  if (r.serviceTimeUs)
    rows.push([`${sent} (from send)`, String(r.serviceTimeUs.count), '', ...latencyCells(r.serviceTimeUs)]);
  if (r.sendLagUs) rows.push(['send lag', String(r.sendLagUs.count), '', ...latencyCells(r.sendLagUs)]);
  for (const [name, s] of Object.entries(r.byOp)) {
    if (r.mode === 'watch' && name === 'event') continue;
    rows.push([
      r.mode === 'watch' && name === 'setData' && r.openLoop ? 'setData (from schedule)' : name,
      String(s.count),
      s.opsPerSec.toFixed(0),
      ...latencyCells(s.latencyUs),
    ]);
  }
  lines.push(table(rows));
  const g = r.generator;
  lines.push(
    `  generator: ${g.workers} thread${g.workers > 1 ? 's' : ''}, CPU ${g.cpuPercentOfCore.toFixed(0)}% of one core ` +
      `(${g.cpuPercentOfMachine.toFixed(0)}% of ${g.cores} cores), event loop busy ${g.eventLoopUtilization.map((e) => `${Math.round(e * 100)}%`).join(' ')}`,
  );
  for (const s of r.servers) {
    lines.push(
      `  server pid ${s.pid}: CPU ${s.cpuPercentOfCore === null ? 'n/a' : `${s.cpuPercentOfCore.toFixed(0)}% of one core`}`,
    );
  }
  if (r.machineBusyPercent !== null) {
    const other =
      r.otherCpuPercentOfCore === null ? '' : `; other processes ${r.otherCpuPercentOfCore.toFixed(0)}% of one core`;
    const steal =
      r.machineStealPercent !== null && r.machineStealPercent >= 0.5
        ? ` (of which ${r.machineStealPercent.toFixed(0)}% stolen by the host)`
        : '';
    lines.push(`  machine: CPUs ${r.machineBusyPercent.toFixed(0)}% busy${steal}${other}`);
  }
  if (r.serverStats) lines.push(...formatServerStats(r.serverStats));
  for (const n of r.notes.slice(0, 10)) lines.push(`  note: ${n}`);
  if (r.notes.length > 10) lines.push(`  note: ... ${r.notes.length - 10} more in the JSON`);
  for (const w of r.warnings) lines.push(`  WARNING: ${w}`);
  return lines.join('\n') + '\n';
}
