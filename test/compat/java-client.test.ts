// Apache ZooKeeper's Java client (a small program compiled here) and zkCli.sh,
// both from Debian's packages, against a real server process.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { checkTests } from '../helpers/checks.js';
import { JAVA_SOURCES, compileJava, javaClasspath, runJavaMain } from '../helpers/java.js';
import { zkCliPath, zookeeperJars } from '../helpers/peers.js';
import { makeTempDir, removeDir, runProcess, type RunResult } from '../helpers/processes.js';
import { startTarget, suiteSkip, target, type ServerHandle } from '../helpers/servers.js';

const JAVA_CHECKS = [
  'connect',
  'session',
  'create2_stat',
  'create_persistent_sequential',
  'create_ephemeral',
  'create_ephemeral_sequential',
  'create_errors',
  'create_container',
  'create_ttl',
  'create_ttl_sequential',
  'async_create2',
  'get_set_versions',
  'multi',
  'multi_failure_is_atomic',
  'transaction_builder',
  'multi_read',
  'get_all_children_number',
  'get_ephemerals',
  'watch_one_shot',
  'add_watch_persistent',
  'add_watch_persistent_recursive',
  'remove_watches',
  'who_am_i',
  'sync',
  'acl',
  'close_removes_ephemerals',
] as const;

describe(`Java client against ${target()}`, { skip: suiteSkip('zookeeper', 'javac') }, () => {
  let server: ServerHandle;
  let classes: string;

  before(async () => {
    classes = makeTempDir('javac');
    await compileJava([join(JAVA_SOURCES, 'JavaClientSuite.java')], javaClasspath(zookeeperJars() ?? []), classes);
    server = await startTarget();
  });

  after(async () => {
    await server?.destroy();
    if (classes) removeDir(classes);
  });

  checkTests(JAVA_CHECKS, () =>
    runJavaMain(javaClasspath(zookeeperJars() ?? [], [classes]), 'JavaClientSuite', [server.connectString], 110_000),
  );
});

interface CliOutput {
  code: number | null;
  /** stdout without the connection chatter zkCli prints around every command */
  out: string[];
  /** stderr without SLF4J's complaints about a missing binding */
  err: string[];
  raw: RunResult;
}

const CHATTER = [
  /^Connecting to /,
  /^WATCHER::$/,
  /^WatchedEvent state:/,
  /^Welcome to ZooKeeper!$/,
  /^JLine support is/,
];

function clean(r: RunResult): CliOutput {
  const out = r.stdout.split('\n').filter((l) => l.trim() !== '' && !CHATTER.some((re) => re.test(l)));
  const err = r.stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('SLF4J:'));
  return { code: r.code, out, err, raw: r };
}

/** zkCli's `stat` block: `key = value` lines. */
function parseStat(lines: string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const l of lines) {
    const idx = l.indexOf(' = ');
    if (idx > 0) m.set(l.slice(0, idx), l.slice(idx + 3));
  }
  return m;
}

const STAT_KEYS = [
  'cZxid',
  'ctime',
  'mZxid',
  'mtime',
  'pZxid',
  'cversion',
  'dataVersion',
  'aclVersion',
  'ephemeralOwner',
  'dataLength',
  'numChildren',
];

describe(`zkCli.sh against ${target()}`, { skip: suiteSkip('zkcli') }, () => {
  let server: ServerHandle;

  const cli = async (...args: string[]): Promise<CliOutput> => {
    const r = await runProcess(zkCliPath()!, ['-server', server.connectString, ...args], { timeoutMs: 60_000 });
    assert.ok(!r.timedOut, `zkCli ${args.join(' ')} timed out\n${r.stdout}\n${r.stderr}`);
    return clean(r);
  };

  before(async () => {
    server = await startTarget();
  });

  after(async () => {
    await server?.destroy();
  });

  test('create /x data', async () => {
    const r = await cli('create', '/x', 'data');
    assert.equal(r.code, 0, r.err.join('\n'));
    assert.deepEqual(r.err, ['Created /x']);
  });

  test('get /x', async () => {
    const r = await cli('get', '/x');
    assert.equal(r.code, 0, r.err.join('\n'));
    assert.deepEqual(r.out, ['data']);
  });

  test('ls /', async () => {
    const r = await cli('ls', '/');
    assert.equal(r.code, 0);
    assert.equal(r.out.length, 1);
    const m = /^\[(.*)\]$/.exec(r.out[0]!);
    assert.ok(m, `ls prints a bracketed list: ${r.out[0]}`);
    const names = m[1]!.split(', ');
    assert.ok(names.includes('x'), names.join(','));
    assert.ok(names.includes('zookeeper'), names.join(','));
  });

  test('stat /x', async () => {
    const r = await cli('stat', '/x');
    assert.equal(r.code, 0);
    const st = parseStat(r.out);
    assert.deepEqual([...st.keys()], STAT_KEYS);
    assert.match(st.get('cZxid')!, /^0x[0-9a-f]+$/);
    assert.equal(st.get('mZxid'), st.get('cZxid'));
    assert.equal(st.get('pZxid'), st.get('cZxid'));
    // zkCli renders ctime (ms since the epoch) with java.util.Date.toString().
    assert.match(st.get('ctime')!, /^\w{3} \w{3} \d{2} \d{2}:\d{2}:\d{2} \S+ \d{4}$/);
    assert.equal(st.get('cversion'), '0');
    assert.equal(st.get('dataVersion'), '0');
    assert.equal(st.get('aclVersion'), '0');
    assert.equal(st.get('ephemeralOwner'), '0x0');
    assert.equal(st.get('dataLength'), '4');
    assert.equal(st.get('numChildren'), '0');
  });

  test('set and get -s', async () => {
    assert.equal((await cli('set', '/x', 'd2')).code, 0);
    const r = await cli('get', '-s', '/x');
    assert.equal(r.code, 0);
    assert.equal(r.out[0], 'd2');
    const st = parseStat(r.out.slice(1));
    assert.equal(st.get('dataVersion'), '1');
    assert.equal(st.get('dataLength'), '2');
    assert.notEqual(st.get('mZxid'), st.get('cZxid'));
  });

  test('sequential and ephemeral children', async () => {
    const s = await cli('create', '-s', '/x/s-', 'v');
    assert.equal(s.code, 0);
    assert.match(s.err.join('\n'), /^Created \/x\/s-\d{10}$/);
    const e = await cli('create', '-e', '/x/e');
    assert.deepEqual(e.err, ['Created /x/e']);
    const ls = await cli('ls', '/x');
    assert.match(ls.out[0]!, /^\[e, s-\d{10}\]$/);
    // zkCli exits without closing its session, so the ephemeral lingers until that session expires.
    const st = parseStat((await cli('stat', '/x/e')).out);
    assert.match(st.get('ephemeralOwner')!, /^0x[0-9a-f]+$/);
    assert.notEqual(st.get('ephemeralOwner'), '0x0');
  });

  test('delete of a non-empty node fails, deleteall works', async () => {
    const r = await cli('delete', '/x');
    assert.equal(r.code, 1);
    assert.deepEqual(r.err, ['Node not empty: /x']);
    assert.equal((await cli('deleteall', '/x')).code, 0);
    const gone = await cli('get', '/x');
    assert.equal(gone.code, 1);
    assert.deepEqual(gone.err, ['Node does not exist: /x']);
  });

  test('delete /x', async () => {
    assert.equal((await cli('create', '/x', 'data')).code, 0);
    const r = await cli('delete', '/x');
    assert.equal(r.code, 0, r.err.join('\n'));
    assert.deepEqual(r.err, []);
    const st = await cli('stat', '/x');
    assert.equal(st.code, 1);
    assert.deepEqual(st.err, ['Node does not exist: /x']);
  });

  test('commands from stdin in one session', async () => {
    const script = [
      'create /b one',
      'create /b/c two',
      'ls -R /b',
      'get /b/c',
      'getAllChildrenNumber /b',
      'setAcl /b world:anyone:r',
      'getAcl /b',
      'addauth digest bob:pw',
      'whoami',
      'quit',
    ].join('\n');
    const r = await runProcess(zkCliPath()!, ['-server', server.connectString], {
      timeoutMs: 60_000,
      input: `${script}\n`,
    });
    const c = clean(r);
    assert.equal(r.code, 0, c.err.join('\n'));
    assert.deepEqual(c.err, ['Created /b', 'Created /b/c']);
    assert.deepEqual(c.out.slice(0, 7), ['/b', '/b/c', 'two', '1', "'world,'anyone", ': r', 'Auth scheme: User']);
    assert.deepEqual(c.out.slice(7).sort(), ['digest: bob', 'ip: 127.0.0.1']);
  });
});
