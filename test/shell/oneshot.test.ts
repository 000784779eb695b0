// `synod shell` one-shot mode against a real Synod server (and, output for
// output, against zkCli.sh on Apache ZooKeeper when the peers are installed).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startSynod, startZooKeeper, SYNOD_BIN, type ServerHandle } from '../helpers/servers.js';
import { peerSkip, zkCliPath, REPO_ROOT } from '../helpers/peers.js';
import { runProcess, type RunResult } from '../helpers/processes.js';

const RUN_MS = 30_000;

function shell(server: ServerHandle, ...cmd: string[]): Promise<RunResult> {
  return runProcess(process.execPath, [SYNOD_BIN, 'shell', '-server', server.connectString, ...cmd], {
    cwd: REPO_ROOT,
    timeoutMs: RUN_MS,
  });
}

const STAT_RE =
  /^cZxid = 0x[0-9a-f]+\nctime = \w{3} \w{3} \d\d \d\d:\d\d:\d\d \S+ \d{4}\nmZxid = 0x[0-9a-f]+\nmtime = .+\npZxid = 0x[0-9a-f]+\ncversion = \d+\ndataVersion = \d+\naclVersion = \d+\nephemeralOwner = 0x[0-9a-f]+\ndataLength = \d+\nnumChildren = \d+\n$/;

describe('synod shell one-shot against Synod', { timeout: 180_000 }, () => {
  let server: ServerHandle;
  before(async () => {
    server = await startSynod();
  });
  after(async () => {
    await server?.destroy();
  });

  it('creates, reads, lists and deletes like zkCli', async () => {
    let r = await shell(server, 'create', '/app', 'hello world');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, 'Created /app\n');
    r = await shell(server, 'create', '-s', '/app/s-', 'x');
    assert.equal(r.stderr, 'Created /app/s-0000000000\n');
    r = await shell(server, 'ls', '/');
    assert.deepEqual([r.code, r.stdout], [0, '[app, zookeeper]\n']);
    r = await shell(server, 'get', '/app');
    assert.equal(r.stdout, 'hello world\n');
    r = await shell(server, 'get', '-s', '/app');
    assert.ok(r.stdout.startsWith('hello world\ncZxid = 0x'), r.stdout);
    assert.match(r.stdout.substring('hello world\n'.length), STAT_RE);
    assert.match(r.stdout, /dataLength = 11\nnumChildren = 1\n$/);
    r = await shell(server, 'stat', '/app');
    assert.match(r.stdout, STAT_RE);
    r = await shell(server, 'ls', '-R', '/app');
    assert.equal(r.stdout, '/app\n/app/s-0000000000\n');
    r = await shell(server, 'set', '-s', '/app', 'v2');
    assert.match(r.stdout, /dataVersion = 1\n/);
    r = await shell(server, 'getAllChildrenNumber', '/app');
    assert.equal(r.stdout, '1\n');
    r = await shell(server, 'getAcl', '/app');
    assert.equal(r.stdout, "'world,'anyone\n: cdrwa\n");
    r = await shell(server, 'sync', '/app');
    assert.equal(r.stdout, 'Sync is OK\n');
    r = await shell(server, 'whoami');
    assert.equal(r.stdout, 'Auth scheme: User\nip: 127.0.0.1\n');
    r = await shell(server, 'deleteall', '/app');
    assert.equal(r.code, 0, r.stderr);
    r = await shell(server, 'ls', '/');
    assert.equal(r.stdout, '[zookeeper]\n');
  });

  it('prints zkCli error messages and exits non-zero', async () => {
    const cases: [string[], string, number][] = [
      [['get', '/nope'], 'Node does not exist: /nope\n', 1],
      [['delete', '/nope'], 'Node does not exist: /nope\n', 1],
      [['create', '/e1'], 'Created /e1\n', 0],
      [['create', '/e1'], 'Node already exists: /e1\n', 1],
      [['set', '-v', '7', '/e1', 'x'], 'version No is not valid : /e1\n', 1],
      [['create', '/e1/c'], 'Created /e1/c\n', 0],
      [['delete', '/e1'], 'Node not empty: /e1\n', 1],
      [['create', '/locked', 'x', 'ip:10.9.8.7:cdrwa'], 'Created /locked\n', 0],
      [['get', '/locked'], 'Insufficient permission : /locked\n', 1],
      [['get'], 'get [-s] [-w] path\n', 1],
      // A standalone server refuses reconfig as ZooKeeper's does (reconfigEnabled=false).
      [['reconfig', '-add', 'server.5=127.0.0.1:2888:3888;2181'], 'KeeperErrorCode = Reconfig is disabled\n', 1],
      [['reconfig', '-remove', '3', '-v', '7'], 'KeeperErrorCode = Reconfig is disabled\n', 1],
    ];
    for (const [cmd, err, code] of cases) {
      const r = await shell(server, ...cmd);
      assert.equal(r.stderr, err, cmd.join(' '));
      assert.equal(r.code, code, cmd.join(' '));
    }
    const r = await shell(server, 'bogus');
    assert.equal(r.code, 127);
    assert.match(r.stderr, /Command not found: Command not found bogus\n$/);
  });

  it('--server works and a dead server fails within the timeout', async () => {
    const r = await runProcess(
      process.execPath,
      [SYNOD_BIN, 'shell', '--server', '127.0.0.1:1', '-timeout', '3000', 'ls', '/'],
      { cwd: REPO_ROOT, timeoutMs: RUN_MS },
    );
    assert.notEqual(r.code, 0);
    assert.equal(r.timedOut, false);
  });
});

// zkCli's own noise around a one-shot command: connection banner, the session event, blank lines, logging.
function zkCliOutput(text: string): string {
  return text
    .split('\n')
    .filter(
      (l) =>
        l !== '' &&
        !/^(SLF4J|Connecting to|WATCHER::|WatchedEvent state:SyncConnected type:None)/.test(l) &&
        !/ (INFO|WARN|DEBUG) /.test(l),
    )
    .join('\n');
}

const zkSkip = peerSkip('zookeeper', 'zkcli');

describe('synod shell output equals zkCli.sh on Apache ZooKeeper', { skip: zkSkip, timeout: 300_000 }, () => {
  let server: ServerHandle;
  before(async () => {
    server = await startZooKeeper();
  });
  after(async () => {
    await server?.destroy();
  });

  it('reads and errors print identically', async () => {
    const setup = await shell(server, 'create', '/cmp', 'data');
    assert.equal(setup.code, 0, setup.stderr);
    await shell(server, 'create', '/cmp/kid', 'k');
    const commands = [
      ['ls', '-s', '/cmp'],
      ['get', '-s', '/cmp'],
      ['getAcl', '/cmp'],
      ['ls', '-R', '/'],
      ['get', '/nope'],
      ['delete', '/cmp'],
      ['set', '-v', '9', '/cmp', 'x'],
      ['stat', '/cmp/kid'],
      ['getAcl', '-s', '/cmp'],
      ['create', '/cmp'],
      ['create', '/cmp2', 'x', 'bad'],
      ['whoami'],
      ['sync', '/cmp'],
      ['getAllChildrenNumber', '/'],
      ['getEphemerals', '/'],
      ['ls', '-x', '/'],
    ];
    for (const cmd of commands) {
      const ours = await shell(server, ...cmd);
      const theirs = await runProcess(zkCliPath()!, ['-server', server.connectString, ...cmd], {
        timeoutMs: 60_000,
        env: { ...process.env, CLIENT_JVMFLAGS: '-Xmx64m -XX:TieredStopAtLevel=1' },
      });
      const label = cmd.join(' ');
      assert.equal(ours.code, theirs.code, label);
      assert.equal(zkCliOutput(ours.stdout), zkCliOutput(theirs.stdout), label);
      assert.equal(zkCliOutput(ours.stderr), zkCliOutput(theirs.stderr), label);
    }
    // The usage list differs (no quota commands here); the verdict and status do not.
    const ours = await shell(server, 'bogus');
    const theirs = await runProcess(zkCliPath()!, ['-server', server.connectString, 'bogus'], { timeoutMs: 60_000 });
    assert.equal(ours.code, theirs.code);
    assert.equal(zkCliOutput(ours.stderr).split('\n').pop(), zkCliOutput(theirs.stderr).split('\n').pop());
  });
});
