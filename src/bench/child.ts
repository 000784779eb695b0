// What the comparison commands share: running `synod bench --json` in a
// child process (so no run inherits another's warmed-up generator) and medians.
import { spawn } from 'node:child_process';
import type { BenchResult } from './bench.js';
import { synodBin } from './servers.js';

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Runs `synod bench --json` in a child process against `connect` and returns its result. */
export function benchChild(
  connect: string,
  pids: readonly number[],
  args: string[],
  limitS: number,
): Promise<BenchResult> {
  const full = ['bench', '--connect', connect, '--json', '--quiet', ...args];
  if (pids.length > 0) full.push('--server-pid', pids.join(','));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [synodBin(), ...full], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), limitS * 1000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(Buffer.concat(out).toString('utf8')) as BenchResult);
      } catch {
        const stderr = Buffer.concat(err).toString('utf8');
        reject(
          new Error(
            `synod ${full.join(' ')} failed (code ${code}, signal ${signal}):\n${stderr.split('\n').slice(-30).join('\n')}`,
          ),
        );
      }
    });
  });
}
