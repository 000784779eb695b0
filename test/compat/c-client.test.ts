// The ZooKeeper C client (cli_mt from Debian's zookeeper-bin) against a real
// server process. cli_mt runs each command asynchronously and reports on
// stderr, so the test sends one line at a time and waits (bounded) for the
// completion it expects before sending the next.
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { cliMtPath } from '../helpers/peers.js';
import { track } from '../helpers/processes.js';
import { startTarget, suiteSkip, target, type ServerHandle } from '../helpers/servers.js';

const STEP_TIMEOUT_MS = 15_000;

class CliMt {
  private readonly child: ChildProcessWithoutNullStreams;
  private err = '';
  private out = '';
  private exited = false;

  constructor(bin: string, hostPort: string) {
    this.child = spawn(bin, [hostPort], { stdio: ['pipe', 'pipe', 'pipe'] });
    track(this.child);
    this.child.stderr.on('data', (d: Buffer) => (this.err += d.toString('utf8')));
    this.child.stdout.on('data', (d: Buffer) => (this.out += d.toString('utf8')));
    this.child.on('exit', () => (this.exited = true));
    this.child.stdin.on('error', () => undefined);
  }

  get stderr(): string {
    return this.err;
  }

  /** Wait until `re` matches the stderr text written after `from`; returns that text. */
  async waitFor(re: RegExp, from = 0): Promise<string> {
    const deadline = Date.now() + STEP_TIMEOUT_MS;
    for (let i = 0; i < 10_000 && Date.now() < deadline; i++) {
      const text = this.err.slice(from);
      if (re.test(text)) return text;
      if (this.exited) break;
      await sleep(20);
    }
    throw new Error(
      `cli_mt: ${re} not seen within ${STEP_TIMEOUT_MS} ms${this.exited ? ' (cli_mt exited)' : ''}\n` +
        `--- stderr since the command ---\n${this.err.slice(from)}\n--- stdout ---\n${this.out}`,
    );
  }

  /** Send one command and wait for its completion pattern on stderr. */
  async run(cmd: string, done: RegExp): Promise<string> {
    const from = this.err.length;
    this.send(cmd);
    return this.waitFor(done, from);
  }

  get stdout(): string {
    return this.out;
  }

  send(cmd: string): void {
    this.child.stdin.write(`${cmd}\n`);
  }

  get hasExited(): boolean {
    return this.exited;
  }

  async quit(): Promise<void> {
    if (this.exited) return;
    this.child.stdin.end('quit\n');
    for (let i = 0; i < 100 && !this.exited; i++) await sleep(50);
    if (!this.exited) this.child.kill('SIGKILL');
  }
}

/** cli_mt's dumpStat: "\tctime = ...\tczxid=...", "\tmtime=...\tmzxid=...", "\tversion=...\taversion=...", "\tephemeralOwner = ..." */
function parseDumpStat(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/\t(czxid|mzxid|version|aversion)=([0-9a-f]+)/g)) out[m[1]!] = m[2]!;
  const owner = /\tephemeralOwner = ([0-9a-f]+)/.exec(text);
  if (owner) out['ephemeralOwner'] = owner[1]!;
  return out;
}

const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

describe(`C client (cli_mt) against ${target()}`, { skip: suiteSkip('cli_mt') }, () => {
  let server: ServerHandle;
  let cli: CliMt;
  let sessionId = '';

  before(async () => {
    server = await startTarget();
    cli = new CliMt(cliMtPath()!, server.connectString);
    const hello = await cli.waitFor(/Got a new session id: 0x([0-9a-f]+)\n/);
    sessionId = /Got a new session id: 0x([0-9a-f]+)/.exec(hello)![1]!;
  });

  after(async () => {
    await cli?.quit();
    await server?.destroy();
  });

  test('connects and reports a session', async () => {
    assert.match(cli.stderr, /Watcher SESSION_EVENT state = CONNECTED_STATE/);
    assert.notEqual(BigInt(`0x${sessionId}`), 0n);
    // myid answers on stdout, which cli_mt only flushes when it exits: checked in the last test.
    cli.send('myid');
  });

  test('create /c', async () => {
    // cli_mt always stores the three bytes "new" as the data.
    const text = await cli.run('create /c', /\[\/c\]: rc = -?\d+\n(\tname = \S+\n)?/);
    assert.match(text, /\[\/c\]: rc = 0\n\tname = \/c\n/);
  });

  test('get /c', async () => {
    const text = await cli.run('get /c', /\/c: rc = -?\d+\n[\s\S]*?(null\n|ephemeralOwner = [0-9a-f]+\n)/);
    assert.match(text, /\/c: rc = 0\n value_len = 3\nnew\nStat:\n/);
    const st = parseDumpStat(text);
    assert.equal(st['version'], '0');
    assert.equal(st['aversion'], '0');
    assert.equal(st['ephemeralOwner'], '0');
    assert.equal(st['czxid'], st['mzxid']);
  });

  test('set /c fires the data watch left by get', async () => {
    const text = await cli.run('set /c hello', /\/c: rc = -?\d+ Stat:\n[\s\S]*?ephemeralOwner = [0-9a-f]+\n/);
    assert.match(text, /\/c: rc = 0 Stat:/);
    assert.equal(parseDumpStat(text)['version'], '1');
    await cli.waitFor(/Watcher CHANGED_EVENT state = CONNECTED_STATE for path \/c\n/);
    const again = await cli.run('get /c', /\/c: rc = -?\d+\n[\s\S]*?ephemeralOwner = [0-9a-f]+\n/);
    assert.match(again, / value_len = 5\nhello\n/);
  });

  test('ls / and a child watch', async () => {
    const text = await cli.run('ls /', /\/: rc = -?\d+\n(\t.*\n)*time = \d+ msec\n/);
    assert.match(text, /\/: rc = 0\n/);
    const names = [...text.matchAll(/^\t(.+)$/gm)].map((m) => m[1]);
    assert.deepEqual(names.sort(), ['c', 'zookeeper']);
    await cli.run('create /d', /\[\/d\]: rc = 0\n/);
    await cli.waitFor(/Watcher CHILD_EVENT state = CONNECTED_STATE for path \/\n/);
  });

  test('ephemeral, sequential and create2', async () => {
    const e = await cli.run('create +e /c/e', /\[\/c\/e\]: rc = -?\d+\n/);
    assert.match(e, /\[\/c\/e\]: rc = 0\n\tname = \/c\/e\n/);
    const s = await cli.run('create +s /c/s-', /\[\/c\/s-\]: rc = -?\d+\n(\tname = .*\n)?/);
    assert.match(s, /\[\/c\/s-\]: rc = 0\n\tname = \/c\/s-\d{10}\n/);
    const two = await cli.run(
      'create2 /c/two',
      /\[\/c\/two\]: rc = -?\d+\n[\s\S]*?(null\n|ephemeralOwner = [0-9a-f]+\n)/,
    );
    assert.match(two, /\tname = \/c\/two\n/);
    assert.equal(parseDumpStat(two)['version'], '0');
    const ls2 = await cli.run('ls2 /c', /\/c: rc = -?\d+\n[\s\S]*?ephemeralOwner = [0-9a-f]+\n/);
    const names = [...ls2.matchAll(/^\t([^\t=]+)$/gm)].map((m) => m[1]!).filter((n) => !n.includes(' = '));
    assert.equal(names.length, 3, ls2);
    assert.ok(names.includes('e') && names.includes('two'), names.join(','));
    const eph = await cli.run('get /c/e', /\/c\/e: rc = -?\d+\n[\s\S]*?ephemeralOwner = [0-9a-f]+\n/);
    assert.equal(parseDumpStat(eph)['ephemeralOwner'], sessionId);
  });

  test('exists, sync and errors', async () => {
    // exists is synchronous in cli_mt and prints only on error.
    const missing = await cli.run('exists /nope', /Error -?\d+ for \/nope\n/);
    assert.match(missing, /Error -101 for \/nope\n/);
    await cli.run('sync /c', /\[\/c\]: rc = 0\n/);
    const notEmpty = await cli.run('delete /c', /\/c: rc = -?\d+\n/);
    assert.match(notEmpty, /\/c: rc = -111\n/);
    const noNode = await cli.run('get /missing', /\/missing: rc = -?\d+\n/);
    assert.match(noNode, /\/missing: rc = -101\n/);
    const exists = await cli.run('create /c', /\[\/c\]: rc = -?\d+\n/);
    assert.match(exists, /\[\/c\]: rc = -110\n/);
  });

  test('delete', async () => {
    const ls = await cli.run('ls /c', /\/c: rc = 0\n(\t.*\n)*time = \d+ msec\n/);
    const kids = [...ls.matchAll(/^\t(.+)$/gm)].map((m) => m[1]!);
    for (const k of kids) {
      const r = await cli.run(`delete /c/${k}`, new RegExp(`/c/${esc(k)}: rc = -?\\d+\\n`));
      assert.match(r, new RegExp(`/c/${esc(k)}: rc = 0\\n`));
    }
    assert.match(await cli.run('delete /c', /\/c: rc = -?\d+\n/), /\/c: rc = 0\n/);
    assert.match(await cli.run('delete /d', /\/d: rc = -?\d+\n/), /\/d: rc = 0\n/);
    assert.match(await cli.run('get /c', /\/c: rc = -?\d+\n/), /\/c: rc = -101\n/);
  });

  test('quit', async () => {
    await cli.quit();
    assert.ok(cli.hasExited);
    assert.match(cli.stderr, /Quitting\.\.\.\n/);
    assert.equal(/session Id = ([0-9a-f]+)/.exec(cli.stdout)?.[1], sessionId, `stdout: ${cli.stdout}`);
  });
});
