// `synod bench timeline`: throughput over time while servers of a 3-server
// ensemble are killed and restarted, as in Figure 8 of the ZooKeeper paper
// (Hunt et al., "ZooKeeper: Wait-free coordination for Internet-scale
// systems", USENIX ATC 2010). A closed-loop load of getData/setData from
// sessions spread over every server; completions counted in fixed time
// buckets, reads and writes apart; the failure events marked on an SVG chart
// and written next to it as CSV and JSON.
//
// The load runs in this process on our client library (not the raw `synod
// bench` connections), because sessions must survive their server's death:
// the client reconnects to another server and the loop re-issues what was
// lost. What the chart shows therefore includes the client's reconnect
// backoff (capped by --retry-max-ms).
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import {
  ConnectionLossError,
  NodeExistsError,
  SessionExpiredError,
  ZooKeeper,
  type ZooKeeperOptions,
} from '../client/index.js';
import {
  startEnsemble,
  type CfgEntries,
  type Ensemble,
  type EnsembleMember,
  type ServerKind,
} from '../testing/servers.js';
import {
  ensembleSettings,
  heapArg,
  intArg,
  listArg,
  log,
  machineInfo,
  numArg,
  sleep,
  waitQuiet,
  walkArgs,
} from './ensemble.js';
import { seededRandom } from '../base/random.js';
import { BenchUsageError, commandOptions } from './options.js';
import { machineCpu, processCpuSeconds } from './procstat.js';
import { lineChartSvg, type ChartMarker } from './svg.js';

export const DEFAULT_EVENTS = '5:kill-follower,10:restart,15:kill-leader,20:restart,25:kill-2-followers,30:restart';

export const TIMELINE_USAGE = `usage: synod bench timeline [options]

Starts a 3-server ensemble on 127.0.0.1, runs a closed-loop getData/setData
load from sessions spread over all its servers, and counts completed reads and
writes in fixed time buckets while servers are killed (SIGKILL) and restarted
on a schedule. Writes <kind>-failures.svg (throughput over time with the
events marked) and <kind>-failures.csv (one row per bucket) to --out-dir.

  --kind LIST         synod, zookeeper, or both (default synod)
  --events LIST       comma list of SECONDS:ACTION (default
                      ${DEFAULT_EVENTS});
                      ACTION is kill-leader, kill-follower, kill-N-followers, restart
                      (spawns every server this run killed and has not restarted),
                      or end (instead of --duration)
  --duration S        seconds of the timeline (default 35)
  --bucket-ms MS      bucket width (default 200; 100..1000)
  --sessions N        client sessions (default 16)
  --inflight N        requests in flight per session (default 8)
  --read-ratio R      fraction of getData (default 0.7)
  --payload BYTES     setData size (default 100)
  --znodes N          keys (default 1000)
  --warmup S          unrecorded load before the timeline starts, so ZooKeeper's JIT
                      is warm (default 10)
  --retry-max-ms MS   the client's reconnect backoff cap (default 200)
  --session-timeout MS  requested session timeout (default 30000)
  --tick-time MS      tickTime (default 2000)
  --config KEY=VALUE  extra zoo.cfg key for every server (repeatable)
  --zk-heap SIZE      ZooKeeper's -Xmx per server (default 2g)
  --max-other PCT     wait (up to --quiet-wait S, default 30) before starting until
                      other processes use at most PCT% of a core (default 30)
  --out-dir DIR       where the files go (default .)
  --base-dir DIR      where the temporary ensemble directory goes
  --seed N            seed for key and operation choice (default 1)
  --json              also write <kind>-failures.json (every bucket, event, CPU figure)
  --keep              keep the ensemble directory (logs, data) afterwards
`;

export type TimelineAction = 'kill-leader' | 'kill-followers' | 'restart' | 'end';

export interface TimelineEvent {
  atS: number;
  action: TimelineAction;
  /** How many followers, for kill-followers. */
  count: number;
  spec: string;
}

export interface TimelineOptions {
  kinds: ServerKind[];
  events: TimelineEvent[];
  duration: number;
  bucketMs: number;
  sessions: number;
  inflight: number;
  readRatio: number;
  payload: number;
  znodes: number;
  warmup: number;
  retryMaxMs: number;
  sessionTimeout: number;
  tickTime: number;
  config: CfgEntries;
  zkHeap: string;
  maxOther: number;
  quietWait: number;
  outDir: string;
  baseDir: string | undefined;
  seed: number;
  keep: boolean;
  json: boolean;
}

export function parseEvents(text: string): TimelineEvent[] {
  const out: TimelineEvent[] = [];
  for (const raw of text.split(',')) {
    const spec = raw.trim();
    if (spec === '') continue;
    const m = /^(\d+(?:\.\d+)?)\s*:\s*([a-z0-9-]+)$/.exec(spec);
    if (!m) throw new BenchUsageError(`--events: ${spec} is not SECONDS:ACTION`);
    const atS = Number(m[1]);
    const a = m[2]!;
    let ev: TimelineEvent;
    const many = /^kill-(\d+)-followers?$/.exec(a);
    if (a === 'kill-leader') ev = { atS, action: 'kill-leader', count: 1, spec };
    else if (a === 'kill-follower') ev = { atS, action: 'kill-followers', count: 1, spec };
    else if (many) ev = { atS, action: 'kill-followers', count: Number(many[1]), spec };
    else if (a === 'restart') ev = { atS, action: 'restart', count: 0, spec };
    else if (a === 'end') ev = { atS, action: 'end', count: 0, spec };
    else {
      throw new BenchUsageError(`--events: ${a} is not kill-leader, kill-follower, kill-N-followers, restart or end`);
    }
    if (ev.action === 'kill-followers' && (ev.count < 1 || ev.count > 8)) {
      throw new BenchUsageError(`--events: ${spec} kills ${ev.count} followers`);
    }
    out.push(ev);
  }
  out.sort((x, y) => x.atS - y.atS);
  return out;
}

export function parseTimelineArgs(args: readonly string[]): TimelineOptions {
  const o: TimelineOptions = {
    kinds: ['synod'],
    events: parseEvents(DEFAULT_EVENTS),
    duration: 35,
    bucketMs: 200,
    sessions: 16,
    inflight: 8,
    readRatio: 0.7,
    payload: 100,
    znodes: 1000,
    warmup: 10,
    retryMaxMs: 200,
    sessionTimeout: 30_000,
    tickTime: 2000,
    config: {},
    zkHeap: '2g',
    maxOther: 30,
    quietWait: 30,
    outDir: '.',
    baseDir: undefined,
    seed: 1,
    keep: false,
    json: false,
  };
  let sawDuration = false;
  walkArgs(args, ['--keep', '--json'], (name, value) => {
    switch (name) {
      case '--kind':
        o.kinds = listArg(name, value(), ['synod', 'zookeeper'] as const);
        break;
      case '--events':
        o.events = parseEvents(value());
        break;
      case '--duration':
        o.duration = numArg(name, value(), 1, 3600);
        sawDuration = true;
        break;
      case '--bucket-ms':
        o.bucketMs = intArg(name, value(), 100, 1000);
        break;
      case '--sessions':
        o.sessions = intArg(name, value(), 1, 1000);
        break;
      case '--inflight':
        o.inflight = intArg(name, value(), 1, 1000);
        break;
      case '--read-ratio':
        o.readRatio = numArg(name, value(), 0, 1);
        break;
      case '--payload':
        o.payload = intArg(name, value(), 0, 1_048_575);
        break;
      case '--znodes':
        o.znodes = intArg(name, value(), 1, 1_000_000);
        break;
      case '--warmup':
        o.warmup = numArg(name, value(), 0, 600);
        break;
      case '--retry-max-ms':
        o.retryMaxMs = intArg(name, value(), 1, 60_000);
        break;
      case '--session-timeout':
        o.sessionTimeout = intArg(name, value(), 1, 2_147_483_647);
        break;
      case '--tick-time':
        o.tickTime = intArg(name, value(), 10, 60_000);
        break;
      case '--config': {
        const v = value();
        const eq = v.indexOf('=');
        if (eq <= 0) throw new BenchUsageError(`--config ${v} is not KEY=VALUE`);
        o.config[v.substring(0, eq).trim()] = v.substring(eq + 1).trim();
        break;
      }
      case '--zk-heap':
        o.zkHeap = heapArg(value());
        break;
      case '--max-other':
        o.maxOther = numArg(name, value(), 0);
        break;
      case '--quiet-wait':
        o.quietWait = numArg(name, value(), 0, 3600);
        break;
      case '--out-dir':
        o.outDir = value();
        break;
      case '--base-dir':
        o.baseDir = value();
        break;
      case '--seed':
        o.seed = intArg(name, value(), 0, 2 ** 31 - 1);
        break;
      case '--keep':
        o.keep = true;
        break;
      case '--json':
        o.json = true;
        break;
      default:
        throw new BenchUsageError(`unknown option ${name}`);
    }
  });
  const end = o.events.find((e) => e.action === 'end');
  if (end) {
    if (sawDuration && end.atS !== o.duration) throw new BenchUsageError('--events has end and --duration disagrees');
    o.duration = end.atS;
  }
  o.events = o.events.filter((e) => e.action !== 'end');
  const late = o.events.find((e) => e.atS >= o.duration);
  if (late) throw new BenchUsageError(`--events: ${late.spec} is not before the end (${o.duration} s)`);
  return o;
}

const ROOT = '/synod-timeline';

/** Counts per bucket: completed reads and writes, and failed requests. */
export interface Buckets {
  reads: number[];
  writes: number[];
  errors: number[];
}

class MixLoad {
  private readonly clients: ZooKeeper[] = [];
  private readonly loops: Promise<void>[] = [];
  private stopped = false;
  private readonly payload: Uint8Array;
  private readonly rand: () => number;
  private t0 = 0;
  private recording = false;
  readonly buckets: Buckets;
  expired = 0;
  losses = 0;
  otherErrors = 0;
  lastError = '';

  constructor(
    private readonly connect: string,
    private readonly o: TimelineOptions,
    private readonly clientOptions: ZooKeeperOptions,
    nBuckets: number,
  ) {
    this.payload = new Uint8Array(o.payload).fill(120);
    this.rand = seededRandom(o.seed);
    this.buckets = {
      reads: new Array<number>(nBuckets).fill(0),
      writes: new Array<number>(nBuckets).fill(0),
      errors: new Array<number>(nBuckets).fill(0),
    };
  }

  async start(): Promise<void> {
    for (let i = 0; i < this.o.sessions; i++) {
      this.clients.push(await ZooKeeper.connect(this.connect, { ...this.clientOptions, waitTimeout: 30_000 }));
    }
    const zk = this.clients[0]!;
    const exists = (e: unknown): void => {
      if (!(e instanceof NodeExistsError)) throw e;
    };
    await zk.create(ROOT).catch(exists);
    // Pipelined, in slices so the queue stays small.
    for (let first = 0; first < this.o.znodes; first += 500) {
      const n = Math.min(500, this.o.znodes - first);
      await Promise.all(
        Array.from({ length: n }, (_, j) => zk.create(`${ROOT}/k${first + j}`, this.payload).catch(exists)),
      );
    }
    for (let i = 0; i < this.o.sessions; i++) {
      for (let j = 0; j < this.o.inflight; j++) this.loops.push(this.loop(i));
    }
  }

  /** From now on, completions are counted in buckets from `t0`. */
  record(t0: number): void {
    this.t0 = t0;
    this.recording = true;
  }

  private count(series: number[]): void {
    if (!this.recording) return;
    const i = Math.floor((performance.now() - this.t0) / this.o.bucketMs);
    if (i >= 0 && i < series.length) series[i]!++;
  }

  private async loop(i: number): Promise<void> {
    // Bounded by stop(), which always comes; the count is a backstop.
    for (let n = 0; n < 100_000_000 && !this.stopped; n++) {
      const zk = this.clients[i]!;
      const read = this.rand() < this.o.readRatio;
      const key = `${ROOT}/k${Math.floor(this.rand() * this.o.znodes)}`;
      try {
        if (read) {
          await zk.getData(key);
          this.count(this.buckets.reads);
        } else {
          await zk.setData(key, this.payload);
          this.count(this.buckets.writes);
        }
      } catch (e) {
        if (this.stopped) return;
        this.count(this.buckets.errors);
        if (e instanceof ConnectionLossError) {
          // The client is already reconnecting; the next request waits for it.
          this.losses++;
          continue;
        }
        if (e instanceof SessionExpiredError) {
          if (this.clients[i] === zk) {
            this.expired++;
            void zk.close();
            this.clients[i] = new ZooKeeper(this.connect, this.clientOptions);
          }
          continue;
        }
        this.otherErrors++;
        this.lastError = (e as Error).message;
        await sleep(10);
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.race([Promise.all(this.clients.map((c) => c.close().catch(() => undefined))), sleep(5000)]);
    await Promise.race([Promise.all(this.loops), sleep(2000)]);
  }
}

/**
 * CPU of the ensemble's server processes across kills and restarts: every
 * process seen is sampled until it dies (a new process starts at 0 s), so the
 * machine's remaining CPU is what other programs used.
 */
class CpuTracker {
  private readonly first = new Map<number, number>();
  private readonly last = new Map<number, number>();
  private timer: NodeJS.Timeout | undefined;
  private m0 = machineCpu();
  private self0 = process.cpuUsage();
  private t0 = performance.now();
  /** Machine busy % (of all cores) per second, for the JSON. */
  readonly perSecond: number[] = [];
  private mPrev = this.m0;

  constructor(private readonly servers: readonly EnsembleMember[]) {}

  start(): void {
    this.m0 = machineCpu();
    this.mPrev = this.m0;
    this.self0 = process.cpuUsage();
    this.t0 = performance.now();
    this.sample();
    let tick = 0;
    this.timer = setInterval(() => {
      this.sample();
      if (++tick % 2 === 0) {
        const m = machineCpu();
        if (m && this.mPrev && m.total > this.mPrev.total) {
          this.perSecond.push(((m.busy - this.mPrev.busy) / (m.total - this.mPrev.total)) * 100);
        }
        this.mPrev = m;
      }
    }, 500);
  }

  /** A process just spawned has used nothing yet. */
  spawned(pid: number | undefined): void {
    if (pid !== undefined && !this.first.has(pid)) {
      this.first.set(pid, 0);
      this.last.set(pid, 0);
    }
  }

  sample(): void {
    for (const s of this.servers) {
      const pid = s.pid;
      if (pid === undefined) continue;
      const c = processCpuSeconds(pid);
      if (c === null) continue;
      if (!this.first.has(pid)) this.first.set(pid, c);
      this.last.set(pid, c);
    }
  }

  stop(): {
    serversPercent: number;
    selfPercent: number;
    machinePercentOfCore: number | null;
    otherPercent: number | null;
  } {
    this.sample();
    if (this.timer) clearInterval(this.timer);
    const wall = (performance.now() - this.t0) / 1000;
    let servers = 0;
    for (const [pid, a] of this.first) servers += (this.last.get(pid) ?? a) - a;
    const self = process.cpuUsage(this.self0);
    const selfS = (self.user + self.system) / 1e6;
    const m1 = machineCpu();
    const m0 = this.m0;
    const machine =
      m0 && m1 && m1.total > m0.total
        ? ((m1.busy - m0.busy) / (m1.total - m0.total)) * 100 * availableParallelism()
        : null;
    const serversPercent = (servers / wall) * 100;
    const selfPercent = (selfS / wall) * 100;
    return {
      serversPercent,
      selfPercent,
      machinePercentOfCore: machine,
      otherPercent: machine === null ? null : Math.max(0, machine - serversPercent - selfPercent),
    };
  }
}

export interface EventRecord {
  spec: string;
  /** Seconds from the timeline's start when the action was taken. */
  atS: number;
  action: TimelineAction;
  servers: number[];
  /** For restarts: seconds from the start until each server served again (srvr), or null. */
  servingAtS: (number | null)[];
  note: string;
}

export interface TimelineResult {
  kind: ServerKind;
  when: string;
  command: string;
  options: TimelineOptions;
  machine: Record<string, string | number>;
  bucketMs: number;
  buckets: Buckets;
  events: EventRecord[];
  totals: { reads: number; writes: number; errors: number; connectionLosses: number; sessionsExpired: number };
  steadyOpsPerSec: { reads: number; writes: number };
  cpu: ReturnType<CpuTracker['stop']>;
  machineBusyPerSecond: number[];
  otherBeforeStart: number | null;
  files: { svg: string; csv: string; json: string };
}

async function pickFollowers(
  e: Ensemble,
  count: number,
): Promise<{ victims: EnsembleMember[]; leader: number | null; notFollowing: string[] }> {
  const modes = await e.modes(1000);
  const leader = e.servers.find((s) => modes.get(s.id) === 'leader') ?? null;
  const running = e.servers.filter((s) => s.running() && s !== leader);
  const followers = running.filter((s) => modes.get(s.id) === 'follower');
  const rest = running.filter((s) => modes.get(s.id) !== 'follower');
  const victims = [...followers, ...rest].slice(0, count);
  // A restarted server that has not rejoined yet is running but not a follower; say so.
  const notFollowing = victims
    .filter((s) => modes.get(s.id) !== 'follower')
    .map((s) => `server ${s.id} was ${modes.get(s.id)}`);
  return { victims, leader: leader?.id ?? null, notFollowing };
}

async function runTimeline(kind: ServerKind, o: TimelineOptions, command: string): Promise<TimelineResult> {
  const when = new Date().toISOString();
  const nBuckets = Math.ceil((o.duration * 1000) / o.bucketMs);
  const t0Start = performance.now();
  const e = await startEnsemble(kind, ensembleSettings(o.zkHeap, o.tickTime, o.config, o.baseDir, o.keep));
  const events: EventRecord[] = [];
  let load: MixLoad | null = null;
  const cpu = new CpuTracker(e.servers);
  let cpuResult: ReturnType<CpuTracker['stop']> | null = null;
  let otherBefore: number | null = null;
  try {
    log(
      `${kind} ensemble serving on ${e.connectString} after ${(performance.now() - t0Start).toFixed(0)} ms; dir ${e.dir}`,
    );
    load = new MixLoad(
      e.connectString,
      o,
      {
        sessionTimeout: o.sessionTimeout,
        maxRetryDelay: o.retryMaxMs,
        connectTimeout: 2000,
        // Fixed host order per session index keeps the spread over servers the same between runs.
        random: seededRandom(o.seed + 7),
      },
      nBuckets,
    );
    await load.start();
    otherBefore = await waitQuiet(o.maxOther, o.quietWait, () =>
      e.servers.map((s) => s.pid).filter((p): p is number => p !== undefined),
    );
    if (o.warmup > 0) await sleep(o.warmup * 1000);
    const t0 = performance.now();
    load.record(t0);
    cpu.start();
    const killed: EnsembleMember[] = [];
    const background: Promise<void>[] = [];
    const rel = (): number => (performance.now() - t0) / 1000;
    for (const ev of o.events) {
      const wait = t0 + ev.atS * 1000 - performance.now();
      if (wait > 0) await sleep(wait);
      const rec: EventRecord = { spec: ev.spec, atS: rel(), action: ev.action, servers: [], servingAtS: [], note: '' };
      if (ev.action === 'kill-leader') {
        const leader = await e.leader(1000);
        if (leader && leader.running()) {
          rec.atS = rel();
          cpu.sample();
          await leader.kill9();
          killed.push(leader);
          rec.servers = [leader.id];
        } else {
          rec.note = 'no leader to kill';
        }
      } else if (ev.action === 'kill-followers') {
        const { victims, leader, notFollowing } = await pickFollowers(e, ev.count);
        rec.atS = rel();
        cpu.sample();
        await Promise.all(victims.map((s) => s.kill9()));
        killed.push(...victims);
        rec.servers = victims.map((s) => s.id);
        if (victims.length < ev.count) rec.note = `only ${victims.length} running non-leader servers`;
        if (leader === null) rec.note = `${rec.note ? `${rec.note}; ` : ''}no leader at the time`;
        if (notFollowing.length > 0) rec.note = `${rec.note ? `${rec.note}; ` : ''}${notFollowing.join(', ')}`;
      } else if (ev.action === 'restart') {
        const again = killed.filter((s) => !s.running());
        killed.length = 0;
        rec.atS = rel();
        rec.servingAtS = again.map(() => null);
        again.forEach((s, i) => {
          s.spawn();
          cpu.spawned(s.pid);
          background.push(
            s
              .waitReady({ timeoutMs: (o.duration + 60) * 1000, pollMs: 50 })
              .then(() => void (rec.servingAtS[i] = rel()))
              .catch(() => undefined),
          );
        });
        rec.servers = again.map((s) => s.id);
        if (again.length === 0) rec.note = 'nothing to restart';
      }
      events.push(rec);
      log(
        `  ${rec.atS.toFixed(2).padStart(6)} s  ${ev.spec}: servers ${rec.servers.join(', ') || '-'}${rec.note ? ` (${rec.note})` : ''}`,
      );
    }
    const left = t0 + o.duration * 1000 - performance.now();
    if (left > 0) await sleep(left);
    cpuResult = cpu.stop();
    await load.stop();
    // Restarted servers that have not come back yet get a bounded moment more, for the record.
    await Promise.race([Promise.all(background), sleep(5000)]);
  } finally {
    if (load) await load.stop();
    await e.stop().catch((err: Error) => log(`stopping the ensemble: ${err.message}`));
  }
  const b = load.buckets;
  const sum = (xs: number[]): number => xs.reduce((a, x) => a + x, 0);
  // Steady state: the buckets before the first event (the undisturbed rate).
  const firstEventBucket = Math.floor(((o.events[0]?.atS ?? o.duration) * 1000) / o.bucketMs);
  const steadyN = Math.max(1, firstEventBucket);
  const steady = (xs: number[]): number => (sum(xs.slice(0, steadyN)) / (steadyN * o.bucketMs)) * 1000;
  const files = {
    svg: join(o.outDir, `${kind}-failures.svg`),
    csv: join(o.outDir, `${kind}-failures.csv`),
    json: join(o.outDir, `${kind}-failures.json`),
  };
  return {
    kind,
    when,
    command,
    options: o,
    machine: machineInfo(),
    bucketMs: o.bucketMs,
    buckets: b,
    events,
    totals: {
      reads: sum(b.reads),
      writes: sum(b.writes),
      errors: sum(b.errors),
      connectionLosses: load.losses,
      sessionsExpired: load.expired,
    },
    steadyOpsPerSec: { reads: steady(b.reads), writes: steady(b.writes) },
    cpu: cpuResult ?? { serversPercent: 0, selfPercent: 0, machinePercentOfCore: null, otherPercent: null },
    machineBusyPerSecond: cpu.perSecond,
    otherBeforeStart: otherBefore,
    files,
  };
}

function eventLabel(r: EventRecord): string {
  const who = r.servers.length === 1 ? `server ${r.servers[0]}` : `servers ${r.servers.join(' and ')}`;
  let what: string;
  switch (r.action) {
    case 'kill-leader':
      what = `kill -9 the leader (${who})`;
      break;
    case 'kill-followers':
      what = `kill -9 ${r.servers.length === 1 ? 'a follower' : `${r.servers.length} followers`} (${who})`;
      break;
    case 'restart': {
      const back = r.servingAtS.map((s, i) => `${r.servers[i]} at ${s === null ? '?' : `${s.toFixed(1)} s`}`);
      what =
        r.servers.length === 0 ? 'restart (nothing to restart)' : `restart ${who}; serving again: ${back.join(', ')}`;
      break;
    }
    default:
      what = r.spec;
  }
  return `${r.atS.toFixed(1)} s: ${what}${r.note ? ` (${r.note})` : ''}`;
}

export function timelineCsv(r: TimelineResult): string {
  const lines = ['t_start_s,t_end_s,reads,writes,errors,reads_per_s,writes_per_s,total_per_s,events'];
  const per = 1000 / r.bucketMs;
  for (let i = 0; i < r.buckets.reads.length; i++) {
    const a = (i * r.bucketMs) / 1000;
    const z = ((i + 1) * r.bucketMs) / 1000;
    const here = r.events.filter((ev) => ev.atS >= a && ev.atS < z).map((ev) => eventLabel(ev).replace(/"/g, "'"));
    const rd = r.buckets.reads[i]!;
    const wr = r.buckets.writes[i]!;
    lines.push(
      [
        a.toFixed(3),
        z.toFixed(3),
        rd,
        wr,
        r.buckets.errors[i]!,
        (rd * per).toFixed(0),
        (wr * per).toFixed(0),
        ((rd + wr) * per).toFixed(0),
        here.length > 0 ? `"${here.join('; ')}"` : '',
      ].join(','),
    );
  }
  return lines.join('\n') + '\n';
}

export function timelineSvg(r: TimelineResult): string {
  const per = 1000 / r.bucketMs;
  const mid = (i: number): number => ((i + 0.5) * r.bucketMs) / 1000;
  const series = (xs: number[]): [number, number][] => xs.map((c, i) => [mid(i), c * per]);
  const total = r.buckets.reads.map((x, i) => x + r.buckets.writes[i]!);
  const name = r.kind === 'synod' ? 'Synod' : 'Apache ZooKeeper';
  const o = r.options;
  const markers: ChartMarker[] = r.events.map((ev) => ({
    x: ev.atS,
    label: eventLabel(ev),
    color: ev.action === 'restart' ? '#27864a' : '#c0392b',
  }));
  const pct = (x: number | null): string => (x === null ? 'n/a' : `${x.toFixed(0)}%`);
  return lineChartSvg({
    title: `${name}, 3 servers: throughput with failures`,
    subtitle: [
      `${o.sessions} sessions x ${o.inflight} requests in flight (closed loop) over all servers, ` +
        `${Math.round(o.readRatio * 100)}% getData / ${Math.round((1 - o.readRatio) * 100)}% setData of ${o.payload} B, fsync on`,
      `${r.bucketMs} ms buckets; ${r.when.substring(0, 10)}; servers and load share ${r.machine.cores} cores`,
    ],
    xLabel: 'seconds',
    yLabel: 'operations per second',
    xMin: 0,
    xMax: o.duration,
    series: [
      { name: 'total', color: '#999999', points: series(total), dash: '5 3', width: 1.2 },
      { name: 'reads', color: '#1f77b4', points: series(r.buckets.reads) },
      { name: 'writes', color: '#e07b00', points: series(r.buckets.writes) },
    ],
    markers,
    notes: [
      `Steady rate before the first event: ${r.steadyOpsPerSec.reads.toFixed(0)} reads/s, ${r.steadyOpsPerSec.writes.toFixed(0)} writes/s. ` +
        `Requests lost to connection loss: ${r.totals.connectionLosses}; sessions expired: ${r.totals.sessionsExpired}.`,
      `CPU over the timeline (% of one core): servers ${pct(r.cpu.serversPercent)}, load generator ${pct(r.cpu.selfPercent)}, ` +
        `other processes ${pct(r.cpu.otherPercent)}. Client reconnect backoff capped at ${o.retryMaxMs} ms.`,
      `Made by: ${r.command}`,
    ],
  });
}

/**
 * For a kill: the total rate in the second before it, the lowest bucket
 * after it, and how long until a bucket is back at half the rate before
 * (within the next 10 s or up to the next event).
 */
function recovery(r: TimelineResult, ev: EventRecord): string | null {
  if (ev.servers.length === 0) return null;
  const per = 1000 / r.bucketMs;
  const total = r.buckets.reads.map((x, i) => (x + r.buckets.writes[i]!) * per);
  const at = Math.floor((ev.atS * 1000) / r.bucketMs);
  if (ev.action === 'restart') {
    // Only interesting after an outage: when does service come back?
    if (at < 1 || total[at - 1]! > 0) return null;
    const steady = r.steadyOpsPerSec.reads + r.steadyOpsPerSec.writes;
    const first = total.findIndex((v, i) => i >= at && v > 0);
    const half = total.findIndex((v, i) => i >= at && v >= steady / 2);
    const t = (i: number): string =>
      i < 0 ? 'not within the run' : `${((i * r.bucketMs) / 1000 - ev.atS).toFixed(1)} s after the restart`;
    return `no service before it; first completions ${t(first)}; half of the steady ${steady.toFixed(0)} ops/s ${t(half)}`;
  }
  const span = Math.max(1, Math.round(1000 / r.bucketMs));
  const before = total.slice(Math.max(0, at - span), at);
  if (before.length === 0) return null;
  const level = before.reduce((a, x) => a + x, 0) / before.length;
  const next = r.events.find((x) => x.atS > ev.atS);
  const endS = Math.min(next ? next.atS : r.options.duration, ev.atS + 10);
  const end = Math.min(total.length, Math.floor((endS * 1000) / r.bucketMs));
  let low = Infinity;
  let dipped = false;
  let back: number | null = null;
  let zero = 0;
  // Skip the event's own bucket: it holds work done before the kill.
  for (let i = at + 1; i < end; i++) {
    const v = total[i]!;
    low = Math.min(low, v);
    if (v === 0) zero++;
    if (v < level / 2) dipped = true;
    else if (dipped && back === null) back = i;
  }
  const lowText = Number.isFinite(low) ? `${low.toFixed(0)} ops/s` : 'n/a';
  const backText = !dipped
    ? 'never below half of it'
    : back === null
      ? `not back to half of it by ${endS.toFixed(1)} s`
      : `back to half of it ${((back * r.bucketMs) / 1000 - ev.atS).toFixed(1)} s after the kill`;
  return `before: ${level.toFixed(0)} ops/s; lowest bucket after: ${lowText}; ${zero} empty buckets (${((zero * r.bucketMs) / 1000).toFixed(1)} s); ${backText}`;
}

function summaryText(r: TimelineResult): string {
  const lines = [
    `${r.kind}: steady ${r.steadyOpsPerSec.reads.toFixed(0)} reads/s + ${r.steadyOpsPerSec.writes.toFixed(0)} writes/s; ` +
      `${r.totals.reads} reads, ${r.totals.writes} writes, ${r.totals.errors} failed requests ` +
      `(${r.totals.connectionLosses} connection losses, ${r.totals.sessionsExpired} sessions expired)`,
  ];
  for (const ev of r.events) {
    const rec = recovery(r, ev);
    lines.push(`  ${eventLabel(ev)}${rec ? `\n      ${rec}` : ''}`);
  }
  // How long each disturbance took out or cut the throughput, from the buckets.
  const per = 1000 / r.bucketMs;
  const total = r.buckets.reads.map((x, i) => (x + r.buckets.writes[i]!) * per);
  const steady = r.steadyOpsPerSec.reads + r.steadyOpsPerSec.writes;
  const zero = total.filter((x) => x === 0).length;
  lines.push(
    `  buckets with no completed request: ${zero} (${((zero * r.bucketMs) / 1000).toFixed(1)} s); ` +
      `steady total ${steady.toFixed(0)} ops/s`,
  );
  const pct = (x: number | null): string => (x === null ? 'n/a' : `${x.toFixed(0)}%`);
  lines.push(
    `  CPU (% of a core): servers ${pct(r.cpu.serversPercent)}, generator ${pct(r.cpu.selfPercent)}, other ${pct(r.cpu.otherPercent)}` +
      `; other before start ${pct(r.otherBeforeStart)}`,
  );
  lines.push(`  wrote ${r.files.svg}, ${r.files.csv}${r.options.json ? `, ${r.files.json}` : ''}`);
  return lines.join('\n');
}

export async function timelineCommand(args: string[]): Promise<void> {
  const o = commandOptions('timeline', TIMELINE_USAGE, args, parseTimelineArgs);
  if (o === null) return;
  const command = `synod bench timeline ${args.join(' ')}`.trim();
  mkdirSync(o.outDir, { recursive: true });
  for (const kind of o.kinds) {
    try {
      const r = await runTimeline(kind, o, command);
      writeFileSync(r.files.svg, timelineSvg(r));
      writeFileSync(r.files.csv, timelineCsv(r));
      if (o.json) writeFileSync(r.files.json, `${JSON.stringify(r, null, 2)}\n`);
      process.stdout.write(`${summaryText(r)}\n`);
    } catch (e) {
      process.stderr.write(`synod bench timeline (${kind}): ${(e as Error).stack ?? (e as Error).message}\n`);
      process.exitCode = 1;
    }
  }
}
