// Child processes for the compatibility suites: run to completion with a hard
// time limit, and compile the Java programs they drive.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  input?: string;
  timeoutMs: number;
}

const live = new Set<ChildProcess>();

function killAll(): void {
  for (const child of live) {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

// If a test file dies mid-run (or the runner stops it), take our children with it
// rather than leave servers listening.
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    killAll();
    process.exit(sig === 'SIGINT' ? 130 : 143);
  });
}

/** Remember a child so it is SIGKILLed if this process exits first. */
export function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
}

/** Run a command to completion; SIGKILL it when timeoutMs passes. Never rejects on exit status. */
export function runProcess(cmd: string, args: string[], opts: RunOptions): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const spawnOpts: SpawnOptions = { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] };
    const child = spawn(cmd, args, spawnOpts);
    track(child);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs);
    child.stdout!.on('data', (d: Buffer) => out.push(d));
    child.stderr!.on('data', (d: Buffer) => err.push(d));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        timedOut,
      });
    });
    child.stdin!.on('error', () => {
      // the child may exit before reading its input; its exit status tells the story
    });
    child.stdin!.end(opts.input ?? '');
  });
}

export function makeTempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `synod-${prefix}-`));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}

/**
 * Parse a check program's output: one `OK <name>` or `FAIL <name>: why` line per
 * check. Other lines (logging) are ignored. A FAIL for a name sticks.
 */
export function parseCheckLines(output: string): Map<string, { ok: boolean; detail: string }> {
  const results = new Map<string, { ok: boolean; detail: string }>();
  for (const raw of output.split('\n')) {
    const line = raw.trimEnd();
    const m = /^(OK|FAIL) ([A-Za-z0-9_.\-/]+)(?::\s?(.*))?$/.exec(line);
    if (!m) continue;
    const prev = results.get(m[2]!);
    if (prev && !prev.ok) continue;
    results.set(m[2]!, { ok: m[1] === 'OK', detail: m[3] ?? '' });
  }
  return results;
}
