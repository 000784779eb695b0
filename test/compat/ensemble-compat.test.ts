// The Java client suite, the kazoo suite and zkCli.sh against a 3-server
// Synod ensemble: the same checks as against a standalone server
// (java-client.test.ts, kazoo.test.ts).
//
// The suites are run against one follower by default, so every write is
// forwarded to the leader and answered after the follower applies it. Both
// suites read one client's write through another client without a sync (a
// standalone server makes that safe); ZooKeeper promises no such thing
// across servers, and through the whole connect string the two clients may
// sit on different servers, where the second can briefly lag (kazoo's crud
// and locking_queue checks fail now and then that way, against any
// ZooKeeper ensemble). SYNOD_COMPAT_ENSEMBLE_HOSTS=all runs them through the
// whole connect string anyway.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startSynodEnsemble, type Ensemble, type EnsembleMember } from '../../src/testing/servers.js';
import { checkTests } from '../helpers/checks.js';
import { JAVA_SOURCES, compileJava, javaClasspath, runJavaMain } from '../helpers/java.js';
import { REPO_ROOT, SYSTEM_PYTHON, peerSkip, zkCliPath, zookeeperJars } from '../helpers/peers.js';
import { makeTempDir, removeDir, runProcess, type RunResult } from '../helpers/processes.js';

const KAZOO_SUITE = join(REPO_ROOT, 'test', 'compat', 'kazoo_suite.py');
const JAVA_SUITE = join(JAVA_SOURCES, 'JavaClientSuite.java');

/** The checks a suite prints, read from its source so this list never drifts from it. */
function checkNames(file: string, pattern: RegExp): string[] {
  const names = [...readFileSync(file, 'utf8').matchAll(pattern)].map((m) => m[1]!);
  return ['connect', ...new Set(names)];
}

// Skips are decided before any server starts; SYNOD_REQUIRE_PEERS=1 turns a missing peer into a failure.
const javaSkip = peerSkip('zookeeper', 'javac');
const kazooSkip = peerSkip('kazoo');
const cliSkip = peerSkip('zkcli');

const allHosts = process.env.SYNOD_COMPAT_ENSEMBLE_HOSTS === 'all';

describe('client suites against a 3-server Synod ensemble', { skip: javaSkip && kazooSkip && cliSkip }, () => {
  let ens: Ensemble | undefined;
  /** Where the Java and kazoo suites connect: a follower, or every server. */
  let suiteHosts = '';

  before(async () => {
    ens = await startSynodEnsemble({
      size: 3,
      // ZooKeeper's default, as the standalone suites get: they expect a 30 s session to be granted.
      tickTime: 2000,
      startTimeoutMs: 45_000,
      config: {
        'synod.electionTimeoutMs': 500,
        'synod.heartbeatMs': 50,
        // Containers and TTL nodes are reaped every second, as in the standalone suites.
        'znode.container.checkIntervalMs': 1000,
      },
    });
    const leader = await ens.waitForLeader({ timeoutMs: 10_000 });
    suiteHosts = allHosts ? ens.connectString : ens.servers.find((s) => s.id !== leader.id)!.connectString;
  });

  after(async () => {
    await ens?.stop();
  });

  describe('Java client', { skip: javaSkip }, () => {
    let classes: string | undefined;

    before(async () => {
      classes = makeTempDir('javac-ens');
      await compileJava([JAVA_SUITE], javaClasspath(zookeeperJars() ?? []), classes);
    });

    after(() => {
      if (classes) removeDir(classes);
    });

    checkTests(checkNames(JAVA_SUITE, /^\s+check\("([a-z0-9_]+)"/gm), () =>
      runJavaMain(javaClasspath(zookeeperJars() ?? [], [classes!]), 'JavaClientSuite', [suiteHosts], 110_000),
    );
  });

  describe('kazoo', { skip: kazooSkip }, () => {
    checkTests(checkNames(KAZOO_SUITE, /^\s*@check\("([a-z0-9_]+)"\)/gm), () =>
      runProcess(SYSTEM_PYTHON, [KAZOO_SUITE, suiteHosts], {
        // Python must not write __pycache__ into the work tree.
        env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1' },
        timeoutMs: 110_000,
      }),
    );
  });

  describe('zkCli.sh against a follower', { skip: cliSkip }, () => {
    let follower: EnsembleMember;
    let leader: EnsembleMember;

    before(async () => {
      leader = await ens!.waitForLeader({ timeoutMs: 10_000 });
      follower = ens!.servers.find((s) => s.id !== leader.id)!;
    });

    const cli = async (server: EnsembleMember, script: string[]): Promise<{ out: string[]; err: string[] }> => {
      const r: RunResult = await runProcess(zkCliPath()!, ['-server', server.connectString], {
        timeoutMs: 60_000,
        input: `${[...script, 'quit'].join('\n')}\n`,
      });
      assert.ok(!r.timedOut, `zkCli timed out\n${r.stdout}\n${r.stderr}`);
      assert.equal(r.code, 0, `zkCli exited ${r.code}\n${r.stdout}\n${r.stderr}`);
      const keep = (l: string): boolean =>
        l.trim() !== '' &&
        !/^(Connecting to |WATCHER::|WatchedEvent state:|Welcome to ZooKeeper!|JLine support is)/.test(l) &&
        !l.startsWith('SLF4J:');
      return { out: r.stdout.split('\n').filter(keep), err: r.stderr.split('\n').filter(keep) };
    };

    test('writes through a follower, read back on the leader; config lists the ensemble', async () => {
      const w = await cli(follower, [
        'create /cli one',
        'create /cli/child two',
        'set /cli uno',
        'create -e /cli/eph e',
        'get /cli',
        'ls /cli',
        'config',
      ]);
      assert.deepEqual(w.err, ['Created /cli', 'Created /cli/child', 'Created /cli/eph']);
      assert.equal(w.out[0], 'uno');
      assert.equal(w.out[1], '[child, eph]');
      const members = w.out.filter((l) => /^server\.\d+=/.test(l)).map((l) => l.split('=')[0]);
      assert.deepEqual(members, ['server.1', 'server.2', 'server.3'], w.out.join('\n'));
      assert.ok(
        w.out.some((l) => /^version=[0-9a-f]+$/.test(l)),
        w.out.join('\n'),
      );

      const r = await cli(leader, ['sync /cli', 'get /cli/child', 'stat /cli']);
      assert.ok(r.out.includes('two'), r.out.join('\n'));
      assert.ok(r.out.includes('dataVersion = 1'), r.out.join('\n'));
      assert.ok(r.out.includes('numChildren = 2') || r.out.includes('numChildren = 1'), r.out.join('\n'));
    });
  });
});
