// What /proc says about a process or the machine: CPU time and resident memory.
// Linux only; elsewhere these return null and the reports say "n/a".
import { readFileSync } from 'node:fs';

// USER_HZ, the unit of /proc CPU times; 100 on every Linux ABI Node supports.
const CLK_TCK = 100;

/** CPU seconds (user + system, all threads) used so far by `pid`, or null if unreadable. */
export function processCpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (comm) may hold spaces and parentheses; count fields after its last ')'.
    const rest = stat.substring(stat.lastIndexOf(')') + 2).split(' ');
    // rest[0] is field 3 (state); utime and stime are fields 14 and 15.
    return (Number(rest[11]) + Number(rest[12])) / CLK_TCK;
  } catch {
    return null;
  }
}

export interface MachineCpu {
  busy: number;
  total: number;
  /** Time the hypervisor ran something else while this machine wanted a CPU (counted in busy). */
  steal: number;
}

/** Jiffies the machine has spent busy and in total (first line of /proc/stat). */
export function machineCpu(): MachineCpu | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already in user)
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    return { busy: total - idle, total, steal: v[7] ?? 0 };
  } catch {
    return null;
  }
}

export interface Memory {
  /** Resident set size now, bytes. */
  rss: number;
  /** Peak resident set size, bytes. */
  hwm: number;
}

/** VmRSS and VmHWM of `pid` from /proc/<pid>/status, or null. */
export function processMemory(pid: number): Memory | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string): number => {
      const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status);
      return m ? Number(m[1]) * 1024 : NaN;
    };
    const rss = kb('VmRSS');
    if (!Number.isFinite(rss)) return null;
    return { rss, hwm: kb('VmHWM') };
  } catch {
    return null;
  }
}

/** Samples CPU of some processes and of the machine between start() and stop(). */
export class CpuWindow {
  private readonly pids: number[];
  private t0 = 0;
  private proc0: (number | null)[] = [];
  private machine0: MachineCpu | null = null;
  private self0: NodeJS.CpuUsage | null = null;

  constructor(pids: number[]) {
    this.pids = pids;
  }

  start(): void {
    this.t0 = performance.now();
    this.proc0 = this.pids.map(processCpuSeconds);
    this.machine0 = machineCpu();
    this.self0 = process.cpuUsage();
  }

  get started(): boolean {
    return this.self0 !== null;
  }

  /** CPU over the window: this process and each pid as % of one core, the machine as % busy. */
  stop(): {
    wallS: number;
    selfPercent: number;
    pids: { pid: number; percent: number | null }[];
    machineBusyPercent: number | null;
    machineStealPercent: number | null;
  } {
    const wallS = (performance.now() - this.t0) / 1000;
    const self = process.cpuUsage(this.self0 ?? undefined);
    const selfPercent = wallS > 0 ? ((self.user + self.system) / 1e6 / wallS) * 100 : 0;
    const pids = this.pids.map((pid, i) => {
      const a = this.proc0[i];
      const b = processCpuSeconds(pid);
      return { pid, percent: a != null && b != null && wallS > 0 ? ((b - a) / wallS) * 100 : null };
    });
    const m1 = machineCpu();
    const m0 = this.machine0;
    const machineBusyPercent =
      m0 && m1 && m1.total > m0.total ? ((m1.busy - m0.busy) / (m1.total - m0.total)) * 100 : null;
    const machineStealPercent =
      m0 && m1 && m1.total > m0.total ? ((m1.steal - m0.steal) / (m1.total - m0.total)) * 100 : null;
    return { wallS, selfPercent, pids, machineBusyPercent, machineStealPercent };
  }
}
