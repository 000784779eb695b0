// How the kernel scheduled some processes over a window: per process, CPU
// (user and system), time its threads spent runnable but waiting for a CPU
// (run-queue wait, from /proc/PID/task/*/schedstat), and context switches,
// voluntary (it went to sleep) and involuntary (it was preempted), for the
// whole process and for its main thread. A single-threaded server that is
// preempted often waits behind other processes even when the machine has
// CPU to spare on average.
//
//   node scripts/sched-stats.mjs SECONDS PID [PID...]
import { readFileSync, readdirSync } from 'node:fs';

const [secsArg, ...pids] = process.argv.slice(2);
const secs = Number(secsArg);
if (!(secs > 0 && secs <= 600) || pids.length === 0 || pids.some((p) => !/^\d+$/.test(p))) {
  console.error('usage: node scripts/sched-stats.mjs SECONDS(1..600) PID [PID...]');
  process.exit(2);
}
const TICKS_PER_S = 100; // USER_HZ: what utime and stime in /proc count in, on Linux

function readThread(pid, tid) {
  const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
  const num = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
  const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const [, waitNs] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').trim().split(' ').map(Number);
  return {
    user: Number(f[11]),
    sys: Number(f[12]),
    waitNs,
    vol: num('voluntary_ctxt_switches'),
    invol: num('nonvoluntary_ctxt_switches'),
  };
}

function snapshot() {
  const out = new Map();
  for (const pid of pids) {
    const threads = new Map();
    let tids = [];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      try {
        threads.set(tid, readThread(pid, tid));
      } catch {
        // A thread that ended between the listing and the read.
      }
    }
    out.set(pid, threads);
  }
  return out;
}

const a = snapshot();
await new Promise((r) => setTimeout(r, secs * 1000));
const b = snapshot();
for (const pid of pids) {
  const before = a.get(pid);
  const after = b.get(pid);
  if (!before || !after) {
    console.log(`pid ${pid}: not running`);
    continue;
  }
  const sum = { user: 0, sys: 0, waitNs: 0, vol: 0, invol: 0 };
  let main = null;
  for (const [tid, t1] of after) {
    const t0 = before.get(tid) ?? { user: 0, sys: 0, waitNs: 0, vol: 0, invol: 0 };
    const d = Object.fromEntries(Object.keys(sum).map((k) => [k, t1[k] - t0[k]]));
    for (const k of Object.keys(sum)) sum[k] += d[k];
    if (tid === pid) main = d;
  }
  const perS = (x) => (x / secs).toFixed(0);
  const ms = (ticks) => ((ticks * 1000) / TICKS_PER_S / secs).toFixed(0);
  console.log(
    `pid ${pid}: CPU user ${ms(sum.user)} + sys ${ms(sum.sys)} ms/s; run-queue wait ${(sum.waitNs / 1e6 / secs).toFixed(0)} ms/s; ` +
      `context switches/s voluntary ${perS(sum.vol)}, involuntary ${perS(sum.invol)}` +
      (main
        ? `; main thread: CPU ${ms(main.user + main.sys)} ms/s, wait ${(main.waitNs / 1e6 / secs).toFixed(0)} ms/s, ` +
          `switches/s ${perS(main.vol)} voluntary, ${perS(main.invol)} involuntary`
        : ''),
  );
}
