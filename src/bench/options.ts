// Command-line options of `synod bench`, checked up front so a typo fails in
// milliseconds with a message naming the flag, not minutes into a run.

export type BenchMode = 'mix' | 'churn' | 'ephemeral' | 'watch';
export const MODES: readonly BenchMode[] = ['mix', 'churn', 'ephemeral', 'watch'];

export interface HostPort {
  host: string;
  port: number;
}

export interface BenchOptions {
  connect: HostPort[];
  sessions: number;
  inflight: number;
  /** Measured seconds; null when --ops bounds the run instead. */
  durationS: number | null;
  /** Measured operations (all workers together); null when --duration bounds the run. 0: set up and stop. */
  ops: number | null;
  readRatio: number;
  payload: number;
  znodes: number;
  mode: BenchMode;
  warmupS: number;
  json: boolean;
  /** Open-loop target rate in ops/s for all sessions together; null = closed loop. */
  rate: number | null;
  workers: number;
  root: string;
  /** Hard bound on the whole run (set-up, warm-up, measurement, drain), seconds. */
  timeoutS: number;
  sessionTimeoutMs: number;
  /** Processes whose CPU use is sampled over the measured window (the servers under test). */
  serverPids: number[];
  /** srst the servers when measuring starts, and read their mntr latency summaries at the end. */
  serverStats: boolean;
  label: string;
  seed: number;
  /** Print the per-second progress line on stderr. */
  progress: boolean;
}

export class BenchUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BenchUsageError';
  }
}

/**
 * The start every `synod bench <command>` shares: --help prints `usage`; bad
 * options print the error with a hint and set exit code 2. Null when the
 * command should stop there.
 */
export function commandOptions<T>(name: string, usage: string, args: string[], parse: (args: string[]) => T): T | null {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(usage);
    return null;
  }
  try {
    return parse(args);
  } catch (e) {
    if (e instanceof BenchUsageError) {
      process.stderr.write(`synod bench ${name}: ${e.message}\n(synod bench ${name} --help lists the options)\n`);
      process.exitCode = 2;
      return null;
    }
    throw e;
  }
}

export const BENCH_USAGE = `usage: synod bench [options]
       synod bench compare [options]     (Synod vs Apache ZooKeeper; see --help there)
       synod bench ensemble [options]    (3-server ensembles: throughput and leader failover)
       synod bench failover [options]    (the failover part alone)
       synod bench timeline [options]    (throughput over time while servers fail; SVG + CSV)

  --connect host:port[,host:port]  servers (default 127.0.0.1:2181); sessions spread round-robin
  --mode mix|churn|ephemeral|watch  workload (default mix)
      mix        getData/setData on --znodes keys, --read-ratio of them reads
      churn      create then delete of fresh znodes
      ephemeral  session churn: connect, create an ephemeral, close
      watch      one writer sets a znode; every other session holds a data watch
                 on it and re-arms on each event; reports event delivery latency
  --sessions N        connections (default 8)
  --inflight N        requests in flight per session (default 16; with --rate, the cap per session)
  --duration S        measured seconds (default 10)
  --ops N             measure N operations instead of a duration (0: only create the znodes)
  --warmup S          unmeasured seconds before measuring (default 2)
  --rate OPS          open loop: issue OPS requests/s on a fixed schedule and measure latency
                      from the scheduled time (no coordinated omission); default closed loop
  --read-ratio R      fraction of reads in mix mode, 0..1 (default 0.9)
  --payload BYTES     data size for setData/create (default 100)
  --znodes N          keys created under --root before measuring, not timed (default 1000)
  --root PATH         parent of the benchmark znodes (default /synod-bench)
  --workers N         spread sessions over N threads (default 1)
  --timeout S         hard limit for the whole run (default: warm-up + duration + 120, or 900 with --ops)
  --session-timeout MS  requested session timeout (default 30000)
  --server-pid PID[,PID]  also report these processes' CPU use over the measured window
  --server-stats      send srst to every --connect server as the measured window starts and
                      report their mntr latency summaries (ZooKeeper 3.6+ or Synod) at its end
  --label TEXT        copied into the JSON result
  --seed N            seed for key and op choice (default 1)
  --json              print the result as JSON on stdout (the table goes to stderr)
  --quiet             no per-second progress line
`;

function parseHostPorts(v: string): HostPort[] {
  const out: HostPort[] = [];
  for (const part of v.split(',')) {
    const s = part.trim();
    if (s === '') throw new BenchUsageError(`--connect ${v}: empty host:port entry`);
    const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(s);
    if (!m) throw new BenchUsageError(`--connect ${s} is not host:port`);
    const port = Number(m[3]);
    if (port < 1 || port > 65535) throw new BenchUsageError(`--connect ${s}: port ${m[3]} is not in 1..65535`);
    out.push({ host: (m[1] ?? m[2])!, port });
  }
  return out;
}

function intIn(name: string, v: string, min: number, max: number): number {
  if (!/^-?\d+$/.test(v.replace(/_/g, ''))) throw new BenchUsageError(`${name} ${v} is not an integer`);
  const n = Number(v.replace(/_/g, ''));
  if (n < min || n > max) throw new BenchUsageError(`${name} ${v} is out of range (${min}..${max})`);
  return n;
}

function numIn(name: string, v: string, min: number, max: number, minExclusive = false): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new BenchUsageError(`${name} ${v} is not a number`);
  if (n < min || n > max || (minExclusive && n === min)) {
    throw new BenchUsageError(`${name} ${v} is out of range (${minExclusive ? '>' : ''}${min}..${max})`);
  }
  return n;
}

export function defaultOptions(): BenchOptions {
  return {
    connect: [{ host: '127.0.0.1', port: 2181 }],
    sessions: 8,
    inflight: 16,
    durationS: 10,
    ops: null,
    readRatio: 0.9,
    payload: 100,
    znodes: 1000,
    mode: 'mix',
    warmupS: 2,
    json: false,
    rate: null,
    workers: 1,
    root: '/synod-bench',
    timeoutS: 0,
    sessionTimeoutMs: 30_000,
    serverPids: [],
    serverStats: false,
    label: '',
    seed: 1,
    progress: true,
  };
}

/** Parses `synod bench` arguments; throws BenchUsageError naming the bad flag. */
export function parseBenchArgs(args: readonly string[]): BenchOptions {
  const o = defaultOptions();
  let sawDuration = false;
  let sawOps = false;
  let sawTimeout = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const eq = a.startsWith('--') ? a.indexOf('=') : -1;
    const name = eq > 0 ? a.substring(0, eq) : a;
    const value = (): string => {
      if (eq > 0) return a.substring(eq + 1);
      const v = args[++i];
      if (v === undefined || (v.startsWith('--') && v.length > 2)) throw new BenchUsageError(`${name} needs a value`);
      return v;
    };
    switch (name) {
      case '--connect':
        o.connect = parseHostPorts(value());
        break;
      case '--sessions':
        o.sessions = intIn(name, value(), 1, 100_000);
        break;
      case '--inflight':
        o.inflight = intIn(name, value(), 1, 100_000);
        break;
      case '--duration':
        o.durationS = numIn(name, value(), 0, 86_400, true);
        sawDuration = true;
        break;
      case '--ops':
        o.ops = intIn(name, value(), 0, Number.MAX_SAFE_INTEGER);
        sawOps = true;
        break;
      case '--read-ratio':
        o.readRatio = numIn(name, value(), 0, 1);
        break;
      case '--payload':
        o.payload = intIn(name, value(), 0, 1_048_575);
        break;
      case '--znodes':
        o.znodes = intIn(name, value(), 1, 100_000_000);
        break;
      case '--mode': {
        const m = value();
        if (!(MODES as readonly string[]).includes(m)) {
          throw new BenchUsageError(`--mode ${m} is not one of ${MODES.join(', ')}`);
        }
        o.mode = m as BenchMode;
        break;
      }
      case '--warmup':
        o.warmupS = numIn(name, value(), 0, 3600);
        break;
      case '--json':
        if (eq > 0) throw new BenchUsageError('--json takes no value');
        o.json = true;
        break;
      case '--quiet':
        if (eq > 0) throw new BenchUsageError('--quiet takes no value');
        o.progress = false;
        break;
      case '--rate':
        o.rate = numIn(name, value(), 0, 10_000_000, true);
        break;
      case '--workers':
        o.workers = intIn(name, value(), 1, 64);
        break;
      case '--root': {
        const r = value();
        if (!r.startsWith('/') || r === '/' || r.endsWith('/') || r.includes('//')) {
          throw new BenchUsageError(`--root ${r} is not an absolute znode path below / (like /synod-bench)`);
        }
        o.root = r;
        break;
      }
      case '--timeout':
        o.timeoutS = numIn(name, value(), 0, 7 * 86_400, true);
        sawTimeout = true;
        break;
      case '--session-timeout':
        o.sessionTimeoutMs = intIn(name, value(), 1, 2_147_483_647);
        break;
      case '--server-pid':
        o.serverPids = value()
          .split(',')
          .map((p) => intIn('--server-pid', p.trim(), 1, 2 ** 31 - 1));
        break;
      case '--server-stats':
        o.serverStats = true;
        break;
      case '--label':
        o.label = value();
        break;
      case '--seed':
        o.seed = intIn(name, value(), 0, 2 ** 31 - 1);
        break;
      default:
        throw new BenchUsageError(`unknown option ${a}`);
    }
  }
  if (sawDuration && sawOps) throw new BenchUsageError('--duration and --ops exclude each other; give one');
  if (sawOps) o.durationS = null;
  if (o.ops === 0 && o.mode !== 'mix')
    throw new BenchUsageError('--ops 0 (create the znodes only) goes with --mode mix');
  if (o.workers > o.sessions) {
    throw new BenchUsageError(
      `--workers ${o.workers} is more than --sessions ${o.sessions}; each worker needs a session`,
    );
  }
  if (o.mode === 'watch') {
    if (o.sessions < 2)
      throw new BenchUsageError('--mode watch needs --sessions of at least 2 (one writer, the rest watch)');
    if (o.payload < 16) o.payload = 16; // the writer stamps a sequence number and a send time into the data
  }
  if (o.ops !== null && o.rate === null && o.mode === 'watch') {
    throw new BenchUsageError('--mode watch is bounded by --duration, not --ops');
  }
  if (!sawTimeout) o.timeoutS = o.durationS !== null ? o.warmupS + o.durationS + 120 : 900;
  return o;
}
