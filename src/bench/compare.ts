// `synod bench compare`: Synod against Apache ZooKeeper on this machine, same
// zoo.cfg, same load generator (a `synod bench` child process per run, so
// neither server inherits the other's warmed-up generator), runs alternating
// Synod, ZooKeeper, Synod, ZooKeeper ... and medians reported. Then memory with
// many znodes and the time from a kill -9 to serving again.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { availableParallelism, cpus, release, totalmem } from 'node:os';
import type { BenchResult } from './bench.js';
import { benchChild as runBenchChild, median } from './child.js';
import { formatUs } from '../base/histogram.js';
import { machineCpu, processMemory } from './procstat.js';
import { BenchServer, defaultBaseDir, keepDirsOnSignal, type ServerKind, type ServerSettings } from './servers.js';
import { BenchUsageError, commandOptions } from './options.js';

export const COMPARE_USAGE = `usage: synod bench compare [options]

Starts Synod and Apache ZooKeeper (standalone, 127.0.0.1, fresh temporary data
dirs, the same zoo.cfg: tickTime=2000, forceSync=yes, 4lw whitelist *), runs
the same workloads against each, alternating, and prints medians and
Synod/ZooKeeper ratios. Then creates --memory-znodes znodes in each, reads RSS,
kills it with SIGKILL and times the restart until it serves a getData.

  --workloads LIST    comma list of read,write,mix,churn,p99,ephemeral,watch, or none
                      (default read,write,mix,churn,p99; p99 runs open loop at half
                      ZooKeeper's measured write and mix peak, so it needs those)
  --reps N            runs per server and workload (default 2; the median is reported)
  --duration S        measured seconds per run (default 8)
  --warmup S          warm-up seconds per run (default 2)
  --sessions N        sessions per run (default 32)
  --inflight N        requests in flight per session (default 16)
  --payload BYTES     data size (default 100)
  --znodes N          keys for the read/write/mix workloads (default 1000)
  --workers N         generator threads (default 1)
  --memory-znodes N   znodes for the memory and restart test (default 1000000; 0 skips it)
  --memory-payload B  their data size (default 100)
  --settle S          seconds to wait before reading RSS (default 10)
  --server-warmup S   unrecorded mixed load on each server before the first run, so
                      ZooKeeper's JIT is warm (default 10; 0 skips)
  --max-other PCT     repeat a run (at most twice) when processes other than the
                      generator and the server used more than PCT% of a core during
                      it: someone else's load on a shared machine (default 30)
  --quiet-wait S      before each run, wait up to S seconds for the machine to be
                      no busier than --max-other (default 60)
  --zk-heap SIZE      ZooKeeper's -Xmx (default 2g)
  --base-dir DIR      where the temporary server directories go (default the OS temp dir)
  --out FILE          also write every run's result as JSON to FILE
  --keep              keep the server directories (logs, data) afterwards
`;

interface CompareOptions {
  workloads: string[];
  reps: number;
  duration: number;
  warmup: number;
  sessions: number;
  inflight: number;
  payload: number;
  znodes: number;
  workers: number;
  memoryZnodes: number;
  memoryPayload: number;
  settle: number;
  serverWarmup: number;
  maxOther: number;
  quietWait: number;
  zkHeap: string;
  baseDir: string;
  out: string | null;
  keep: boolean;
}

const WORKLOADS = ['read', 'write', 'mix', 'churn', 'p99', 'ephemeral', 'watch'];

export function parseCompareArgs(args: readonly string[]): CompareOptions {
  const o: CompareOptions = {
    workloads: ['read', 'write', 'mix', 'churn', 'p99'],
    reps: 2,
    duration: 8,
    warmup: 2,
    sessions: 32,
    inflight: 16,
    payload: 100,
    znodes: 1000,
    workers: 1,
    memoryZnodes: 1_000_000,
    memoryPayload: 100,
    settle: 10,
    serverWarmup: 10,
    maxOther: 30,
    quietWait: 60,
    zkHeap: '2g',
    baseDir: defaultBaseDir(),
    out: null,
    keep: false,
  };
  const int = (name: string, v: string, min: number, max: number): number => {
    const s = v.replace(/_/g, '');
    if (!/^\d+$/.test(s) || Number(s) < min || Number(s) > max) {
      throw new BenchUsageError(`${name} ${v} is not an integer in ${min}..${max}`);
    }
    return Number(s);
  };
  const num = (name: string, v: string, min: number): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < min)
      throw new BenchUsageError(`${name} ${v} is not a number >= ${min}`);
    return n;
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.substring(0, eq) : a;
    const value = (): string => {
      if (eq > 0) return a.substring(eq + 1);
      const v = args[++i];
      if (v === undefined) throw new BenchUsageError(`${name} needs a value`);
      return v;
    };
    switch (name) {
      case '--workloads': {
        const list = value()
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== '' && s !== 'none');
        for (const w of list) {
          if (!WORKLOADS.includes(w))
            throw new BenchUsageError(`--workloads: ${w} is not one of ${WORKLOADS.join(', ')}`);
        }
        o.workloads = list;
        break;
      }
      case '--reps':
        o.reps = int(name, value(), 1, 100);
        break;
      case '--duration':
        o.duration = num(name, value(), 0.1);
        break;
      case '--warmup':
        o.warmup = num(name, value(), 0);
        break;
      case '--sessions':
        o.sessions = int(name, value(), 1, 100_000);
        break;
      case '--inflight':
        o.inflight = int(name, value(), 1, 100_000);
        break;
      case '--payload':
        o.payload = int(name, value(), 0, 1_048_575);
        break;
      case '--znodes':
        o.znodes = int(name, value(), 1, 100_000_000);
        break;
      case '--workers':
        o.workers = int(name, value(), 1, 64);
        break;
      case '--memory-znodes':
        o.memoryZnodes = int(name, value(), 0, 100_000_000);
        break;
      case '--memory-payload':
        o.memoryPayload = int(name, value(), 0, 1_048_575);
        break;
      case '--settle':
        o.settle = num(name, value(), 0);
        break;
      case '--server-warmup':
        o.serverWarmup = num(name, value(), 0);
        break;
      case '--quiet-wait':
        o.quietWait = num(name, value(), 0);
        break;
      case '--max-other':
        o.maxOther = num(name, value(), 0);
        break;
      case '--zk-heap': {
        const v = value();
        if (!/^\d+[kKmMgG]?$/.test(v)) throw new BenchUsageError(`--zk-heap ${v} is not a JVM size like 2g or 1536m`);
        o.zkHeap = v;
        break;
      }
      case '--base-dir':
        o.baseDir = value();
        break;
      case '--out':
        o.out = value();
        break;
      case '--keep':
        o.keep = true;
        break;
      default:
        throw new BenchUsageError(`unknown option ${a}`);
    }
  }
  if (o.workers > o.sessions) throw new BenchUsageError(`--workers ${o.workers} is more than --sessions ${o.sessions}`);
  return o;
}

const log = (line: string): void => void process.stderr.write(`${line}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs `synod bench` in a child process against `server` and returns its JSON result. */
function benchChild(server: BenchServer, args: string[], limitS: number): Promise<BenchResult> {
  return runBenchChild(server.connect, server.pid !== null ? [server.pid] : [], args, limitS);
}

interface Run {
  workload: string;
  kind: ServerKind;
  rep: number;
  /** 1 unless earlier attempts were discarded for other processes' CPU use. */
  attempt: number;
  result: BenchResult;
}

interface Side {
  opsPerSec: number;
  p99: number;
  /** Open loop: p99 from the actual send rather than the schedule. */
  p99FromSend: number | null;
  serverCpu: number | null;
  generatorCpu: number;
  otherCpu: number | null;
  /** Runs made, and how many the medians use (the undisturbed ones, if any). */
  runs: number;
  used: number;
  /** No run was free of other processes' load; the medians use disturbed runs. */
  disturbed: boolean;
}

interface Summary {
  workload: string;
  synod: Side;
  zookeeper: Side;
  rate: number | null;
}

function summarize(runs: Run[], workload: string, rate: number | null, maxOther: number): Summary {
  const pick = (kind: ServerKind): Side => {
    const all = runs.filter((r) => r.workload === workload && r.kind === kind).map((r) => r.result);
    // Runs kept after three disturbed attempts count only if no undisturbed run exists.
    const clean = all.filter((r) => r.otherCpuPercentOfCore === null || r.otherCpuPercentOfCore <= maxOther);
    const rs = clean.length > 0 ? clean : all;
    const med = (xs: (number | null | undefined)[]): number | null => {
      const ok = xs.filter((x): x is number => typeof x === 'number');
      return ok.length > 0 ? median(ok) : null;
    };
    return {
      opsPerSec: median(rs.map((r) => r.opsPerSec)),
      p99: median(rs.map((r) => r.latencyUs.p99)),
      p99FromSend: med(rs.map((r) => r.serviceTimeUs?.p99)),
      serverCpu: med(rs.map((r) => r.servers[0]?.cpuPercentOfCore)),
      generatorCpu: median(rs.map((r) => r.generator.cpuPercentOfCore)),
      otherCpu: med(rs.map((r) => r.otherCpuPercentOfCore)),
      runs: all.length,
      used: rs.length,
      disturbed: clean.length === 0,
    };
  };
  return { workload, synod: pick('synod'), zookeeper: pick('zookeeper'), rate };
}

function workloadArgs(w: string, o: CompareOptions): string[] {
  const common = [
    '--sessions',
    String(o.sessions),
    '--inflight',
    String(o.inflight),
    '--payload',
    String(o.payload),
    '--duration',
    String(o.duration),
    '--warmup',
    String(o.warmup),
    '--workers',
    String(o.workers),
  ];
  switch (w) {
    case 'read':
      return ['--mode', 'mix', '--read-ratio', '1', '--znodes', String(o.znodes), ...common];
    case 'write':
      return ['--mode', 'mix', '--read-ratio', '0', '--znodes', String(o.znodes), ...common];
    case 'mix':
      return ['--mode', 'mix', '--read-ratio', '0.5', '--znodes', String(o.znodes), ...common];
    case 'churn':
      return ['--mode', 'churn', ...common];
    case 'ephemeral':
      return ['--mode', 'ephemeral', ...common];
    case 'watch':
      return ['--mode', 'watch', ...common];
    default:
      throw new Error(`no arguments for workload ${w}`);
  }
}

function describeRun(r: BenchResult): string {
  const gen = r.generator;
  const srv = r.servers[0]?.cpuPercentOfCore;
  return (
    `${r.opsPerSec.toFixed(0).padStart(7)} ops/s  p50 ${formatUs(r.latencyUs.p50)}  p99 ${formatUs(r.latencyUs.p99)}` +
    `  errors ${r.errorCount}  server CPU ${srv == null ? 'n/a' : `${srv.toFixed(0)}%`}` +
    `  generator CPU ${gen.cpuPercentOfCore.toFixed(0)}%  machine ${r.machineBusyPercent?.toFixed(0) ?? 'n/a'}% busy` +
    `  other ${r.otherCpuPercentOfCore?.toFixed(0) ?? 'n/a'}%` +
    (r.warnings.length > 0 ? `\n      ${r.warnings.join('\n      ')}` : '')
  );
}

async function perfMatrix(o: CompareOptions, settings: ServerSettings, runs: Run[]): Promise<Summary[]> {
  const closed = o.workloads.filter((w) => w !== 'p99');
  const p99Bases = o.workloads.includes('p99') ? ['write', 'mix'].filter((w) => closed.includes(w)) : [];
  if (o.workloads.includes('p99') && p99Bases.length === 0) {
    throw new BenchUsageError('--workloads p99 needs write or mix too: it runs at half the peak they measure');
  }
  const servers: Record<ServerKind, BenchServer> = {
    synod: await BenchServer.create('synod', settings),
    zookeeper: await BenchServer.create('zookeeper', settings),
  };
  const summaries: Summary[] = [];
  const limit = o.warmup + o.duration + 180;
  try {
    for (const kind of ['synod', 'zookeeper'] as const) {
      const ms = await servers[kind].start('/', true);
      log(
        `${kind} serving on ${servers[kind].connect} (pid ${servers[kind].pid}) after ${ms.toFixed(0)} ms; dir ${servers[kind].dir}`,
      );
    }
    if (o.serverWarmup > 0) {
      log(`warming both servers up: ${o.serverWarmup} s of 50/50 getData/setData each, not recorded`);
      const args = [...workloadArgs('mix', { ...o, duration: o.serverWarmup, warmup: 0 }), '--root', '/synod-warmup'];
      for (const kind of ['synod', 'zookeeper'] as const) await benchChild(servers[kind], args, limit + o.serverWarmup);
    }
    const one = async (workload: string, args: string[], rep: number): Promise<void> => {
      for (const kind of ['synod', 'zookeeper'] as const) {
        const s = servers[kind];
        for (let attempt = 1; ; attempt++) {
          if (!s.running) throw new Error(`${kind} is not running any more\n${s.logTail()}`);
          await waitQuiet(o.maxOther, o.quietWait);
          const result = await benchChild(s, [...args, '--label', `${workload}/${kind}/${rep}`], limit);
          log(`  ${workload.padEnd(10)} ${kind.padEnd(9)} #${rep}  ${describeRun(result)}`);
          const other = result.otherCpuPercentOfCore;
          if (other !== null && other > o.maxOther && attempt < 3) {
            log(`      other processes used ${other.toFixed(0)}% of a core during that run; running it again`);
            continue;
          }
          runs.push({ workload, kind, rep, attempt, result });
          break;
        }
      }
    };
    for (const w of closed) {
      for (let rep = 1; rep <= o.reps; rep++) await one(w, workloadArgs(w, o), rep);
      summaries.push(summarize(runs, w, null, o.maxOther));
    }
    for (const base of p99Bases) {
      const peak = summaries.find((s) => s.workload === base)!.zookeeper.opsPerSec;
      const rate = Math.max(1, Math.round(peak / 2));
      const name = `${base}@${rate}/s`;
      log(`p99 at half of ZooKeeper's ${base} peak (${peak.toFixed(0)} ops/s): open loop at ${rate} ops/s`);
      for (let rep = 1; rep <= o.reps; rep++) await one(name, [...workloadArgs(base, o), '--rate', String(rate)], rep);
      summaries.push(summarize(runs, name, rate, o.maxOther));
    }
  } finally {
    for (const s of Object.values(servers)) await s.destroy(o.keep);
  }
  return summaries;
}

interface MemoryResult {
  kind: ServerKind;
  znodes: number;
  createSeconds: number;
  rssBytes: number | null;
  peakRssBytes: number | null;
  restartMs: number;
  rssAfterRestartBytes: number | null;
}

async function memoryAndRestart(kind: ServerKind, o: CompareOptions, settings: ServerSettings): Promise<MemoryResult> {
  const server = await BenchServer.create(kind, settings);
  try {
    await server.start('/', true);
    await waitQuiet(o.maxOther, o.quietWait);
    log(`${kind}: creating ${o.memoryZnodes} znodes of ${o.memoryPayload} bytes (pid ${server.pid})`);
    const root = '/synod-mem';
    const r = await benchChild(
      server,
      [
        '--mode',
        'mix',
        '--ops',
        '0',
        '--znodes',
        String(o.memoryZnodes),
        '--payload',
        String(o.memoryPayload),
        '--root',
        root,
        '--sessions',
        '4',
      ],
      3600,
    );
    log(
      `${kind}: created in ${r.setup.seconds.toFixed(1)} s (${Math.round(o.memoryZnodes / r.setup.seconds)}/s); settling ${o.settle} s`,
    );
    const pid = server.pid!;
    await sleep(o.settle * 1000);
    if (kind === 'zookeeper') {
      // A full GC gives the JVM its chance to shrink; then settle again.
      spawnSync('jcmd', [String(pid), 'GC.run'], { stdio: 'ignore', timeout: 60_000 });
      await sleep(Math.min(5, o.settle) * 1000);
    }
    const mem = processMemory(pid);
    log(`${kind}: RSS ${mb(mem?.rss)} (peak ${mb(mem?.hwm)}); kill -9 and restart`);
    await server.kill9();
    await waitQuiet(o.maxOther, o.quietWait);
    const known = `${root}/k${o.memoryZnodes - 1}`;
    const restartMs = await server.start(known, false, 600_000);
    const after = server.pid !== null ? processMemory(server.pid) : null;
    log(`${kind}: serving getData ${known} ${restartMs.toFixed(0)} ms after spawn; RSS then ${mb(after?.rss)}`);
    return {
      kind,
      znodes: o.memoryZnodes,
      createSeconds: r.setup.seconds,
      rssBytes: mem?.rss ?? null,
      peakRssBytes: mem?.hwm ?? null,
      restartMs,
      rssAfterRestartBytes: after?.rss ?? null,
    };
  } finally {
    await server.destroy(o.keep);
  }
}

/** Waits (bounded) until the machine's CPU use, in % of one core, is at most maxPercent. */
async function waitQuiet(maxPercent: number, maxWaitS: number): Promise<void> {
  const deadline = performance.now() + maxWaitS * 1000;
  let reported = false;
  for (;;) {
    const a = machineCpu();
    await sleep(1000);
    const b = machineCpu();
    if (!a || !b || b.total <= a.total) return;
    const busy = ((b.busy - a.busy) / (b.total - a.total)) * 100 * availableParallelism();
    if (busy <= maxPercent) return;
    if (performance.now() > deadline) {
      log(`      the machine is still ${busy.toFixed(0)}% of a core busy without us; going ahead`);
      return;
    }
    if (!reported) log(`      the machine is ${busy.toFixed(0)}% of a core busy without us; waiting for it to quieten`);
    reported = true;
    await sleep(2000);
  }
}

function mb(bytes: number | null | undefined): string {
  return bytes == null ? 'n/a' : `${(bytes / 1048576).toFixed(0)} MiB`;
}

function ratioCell(synod: number, zk: number): string {
  return Number.isFinite(synod) && Number.isFinite(zk) && zk > 0 ? `${(synod / zk).toFixed(2)}x` : 'n/a';
}

function report(summaries: Summary[], memory: MemoryResult[]): string {
  const rows: string[][] = [
    [
      'workload',
      'Synod ops/s',
      'ZK ops/s',
      'ratio',
      'Synod p99',
      'ZK p99',
      'ratio',
      'goal',
      'server CPU S/ZK',
      'gen CPU S/ZK',
      'other S/ZK',
      'runs used S/ZK',
    ],
  ];
  for (const s of summaries) {
    const open = s.rate !== null;
    const goal = open ? 'p99 <= 0.7x' : s.workload === 'read' || s.workload === 'write' ? 'ops >= 1.5x' : '';
    const cpu = (c: number | null): string => (c === null ? 'n/a' : `${c.toFixed(0)}%`);
    rows.push([
      s.workload,
      s.synod.opsPerSec.toFixed(0),
      s.zookeeper.opsPerSec.toFixed(0),
      ratioCell(s.synod.opsPerSec, s.zookeeper.opsPerSec),
      formatUs(s.synod.p99),
      formatUs(s.zookeeper.p99),
      ratioCell(s.synod.p99, s.zookeeper.p99),
      goal,
      `${cpu(s.synod.serverCpu)}/${cpu(s.zookeeper.serverCpu)}`,
      `${cpu(s.synod.generatorCpu)}/${cpu(s.zookeeper.generatorCpu)}`,
      `${cpu(s.synod.otherCpu)}/${cpu(s.zookeeper.otherCpu)}`,
      `${s.synod.used}${s.synod.disturbed ? '!' : ''}/${s.zookeeper.used}${s.zookeeper.disturbed ? '!' : ''}`,
    ]);
  }
  const lines: string[] = [];
  if (summaries.length > 0) {
    const widths: number[] = [];
    for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
    for (const r of rows)
      lines.push(r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '));
    lines.push(
      '(medians of the runs not disturbed by other processes; ! = every run was disturbed; CPU in % of one core;\n' +
        ' open-loop p99 is from the scheduled send time)',
    );
    for (const s of summaries.filter((x) => x.rate !== null)) {
      const a = s.synod.p99FromSend;
      const b = s.zookeeper.p99FromSend;
      if (a !== null && b !== null) {
        lines.push(
          `${s.workload}: p99 from the actual send: Synod ${formatUs(a)}, ZooKeeper ${formatUs(b)}, ratio ${ratioCell(a, b)}`,
        );
      }
    }
  }
  const syn = memory.find((m) => m.kind === 'synod');
  const zk = memory.find((m) => m.kind === 'zookeeper');
  if (syn && zk) {
    lines.push('');
    lines.push(`${syn.znodes} znodes of the given size:`);
    lines.push(
      `  RSS       Synod ${mb(syn.rssBytes)}  ZooKeeper ${mb(zk.rssBytes)}  ratio ${ratioCell(syn.rssBytes ?? NaN, zk.rssBytes ?? NaN)}  (goal <= 0.3x)`,
    );
    lines.push(`  peak RSS  Synod ${mb(syn.peakRssBytes)}  ZooKeeper ${mb(zk.peakRssBytes)}`);
    lines.push(
      `  restart   Synod ${(syn.restartMs / 1000).toFixed(2)} s  ZooKeeper ${(zk.restartMs / 1000).toFixed(2)} s  ratio ${ratioCell(syn.restartMs, zk.restartMs)}  (goal <= 0.5x)`,
    );
    lines.push(`  RSS after restart  Synod ${mb(syn.rssAfterRestartBytes)}  ZooKeeper ${mb(zk.rssAfterRestartBytes)}`);
    lines.push(`  create time  Synod ${syn.createSeconds.toFixed(1)} s  ZooKeeper ${zk.createSeconds.toFixed(1)} s`);
  }
  return lines.join('\n') + '\n';
}

export async function compareCommand(args: string[]): Promise<void> {
  const o = commandOptions('compare', COMPARE_USAGE, args, parseCompareArgs);
  if (o === null) return;
  keepDirsOnSignal(o.keep);
  const settings: ServerSettings = { zkHeap: o.zkHeap, baseDir: o.baseDir, extraConfig: {} };
  const runs: Run[] = [];
  let summaries: Summary[] = [];
  const memory: MemoryResult[] = [];
  const t0 = performance.now();
  try {
    if (o.workloads.length > 0) summaries = await perfMatrix(o, settings, runs);
    if (o.memoryZnodes > 0) {
      for (const kind of ['synod', 'zookeeper'] as const) memory.push(await memoryAndRestart(kind, o, settings));
    }
  } catch (e) {
    process.stderr.write(`synod bench compare: ${(e as Error).message}\n`);
    process.exitCode = 1;
  }
  const text = report(summaries, memory);
  process.stdout.write(`\n${text}`);
  log(`compare took ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  if (o.out) {
    const doc = {
      when: new Date().toISOString(),
      options: o,
      machine: machineInfo(),
      summaries,
      memory,
      runs,
    };
    writeFileSync(o.out, `${JSON.stringify(doc, null, 2)}\n`);
    log(`results written to ${o.out}`);
  }
}

function machineInfo(): Record<string, string | number> {
  const java = spawnSync('java', ['-version'], { encoding: 'utf8', timeout: 20_000 });
  return {
    node: process.version,
    java: (java.stderr ?? '').split('\n')[0] ?? 'n/a',
    cores: availableParallelism(),
    cpu: cpus()[0]?.model ?? 'n/a',
    memoryBytes: totalmem(),
    kernel: release(),
  };
}
