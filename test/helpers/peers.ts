// Where the peer implementations we test against live on a Debian machine, and
// what to do when one is missing: CI sets SYNOD_REQUIRE_PEERS=1 so a missing
// peer fails loudly instead of quietly skipping the suite that needs it.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import {
  debianJar,
  javaMissingReason,
  packageFiles,
  repoRoot,
  slf4jBinding,
  zookeeperJars,
  zookeeperMissingReason,
} from '../../src/testing/servers.js';

// Finding ZooKeeper's jars lives in src/testing/servers.ts, shared with the
// benchmarks; these names stay for the suites that import them from here.
export { slf4jBinding, zookeeperJars };

export type Peer = 'java' | 'javac' | 'zookeeper' | 'zkcli' | 'curator' | 'kazoo' | 'cli_mt';

// kazoo is packaged for Debian's interpreter; a pyenv python3 earlier on PATH lacks it.
export const SYSTEM_PYTHON = '/usr/bin/python3';

/** The repository root, found by walking up from the shared module (works from src/ and dist/src/). */
export const REPO_ROOT: string = repoRoot();

function runs(cmd: string, args: string[]): boolean {
  const r = spawnSync(cmd, args, { stdio: 'ignore', timeout: 30_000 });
  return r.status === 0;
}

const CURATOR_DEPS = ['guava'];

let curatorCache: string[] | null | undefined;

/** Classpath entries for Curator client, framework and recipes plus ZooKeeper, or null. */
export function curatorJars(): string[] | null {
  if (curatorCache !== undefined) return curatorCache;
  const zk = zookeeperJars();
  const parts = ['client', 'framework', 'recipes'].map((p) => debianJar(`curator-${p}`, [`libcurator-${p}-java`]));
  const deps = CURATOR_DEPS.map((d) => debianJar(d));
  if (!zk || parts.some((p) => p === undefined) || deps.some((d) => d === undefined)) {
    curatorCache = null;
    return null;
  }
  curatorCache = [...(parts as string[]), ...(deps as string[]), ...zk];
  return curatorCache;
}

export function classpath(jars: string[]): string {
  return jars.join(':');
}

/** zkCli.sh as Debian installs it. */
export function zkCliPath(): string | undefined {
  const fromPkg = packageFiles('zookeeper').find((f) => f.endsWith('/bin/zkCli.sh'));
  const p = fromPkg ?? '/usr/share/zookeeper/bin/zkCli.sh';
  return existsSync(p) ? p : undefined;
}

/** The multi-threaded C client shell from zookeeper-bin. */
export function cliMtPath(): string | undefined {
  const fromPkg = packageFiles('zookeeper-bin').find((f) => f.endsWith('/cli_mt'));
  const p = fromPkg ?? '/usr/lib/zookeeper/bin/cli_mt';
  return existsSync(p) ? p : undefined;
}

const checked = new Map<Peer, string | null>();

/** Why a peer is unusable, or null when it is there. */
export function missingReason(peer: Peer): string | null {
  const known = checked.get(peer);
  if (known !== undefined) return known;
  let reason: string | null = null;
  switch (peer) {
    case 'java':
      reason = javaMissingReason();
      break;
    case 'javac':
      if (!runs('javac', ['-version'])) reason = 'javac is not on PATH (apt-get install default-jdk-headless)';
      break;
    case 'zookeeper':
      reason = zookeeperMissingReason();
      break;
    case 'zkcli':
      reason = missingReason('zookeeper') ?? (zkCliPath() ? null : 'zkCli.sh not found (apt-get install zookeeper)');
      break;
    case 'curator':
      reason =
        missingReason('zookeeper') ??
        (curatorJars()
          ? null
          : 'Curator jars not found (apt-get install libcurator-framework-java libcurator-recipes-java)');
      break;
    case 'kazoo':
      if (!existsSync(SYSTEM_PYTHON)) reason = `${SYSTEM_PYTHON} not found`;
      else if (!runs(SYSTEM_PYTHON, ['-c', 'import kazoo.client, kazoo.recipe.cache']))
        reason = `kazoo is not importable by ${SYSTEM_PYTHON} (apt-get install python3-kazoo)`;
      break;
    case 'cli_mt':
      reason = cliMtPath() ? null : 'cli_mt not found (apt-get install zookeeper-bin)';
      break;
  }
  checked.set(peer, reason);
  return reason;
}

export function peersRequired(): boolean {
  return process.env.SYNOD_REQUIRE_PEERS === '1';
}

/**
 * The `skip` option for a suite needing these peers: false when all are there,
 * otherwise the reason. With SYNOD_REQUIRE_PEERS=1 a missing peer throws instead,
 * which fails the test file.
 */
export function peerSkip(...peers: Peer[]): string | false {
  const reasons = new Set<string>();
  for (const p of peers) {
    const r = missingReason(p);
    if (r !== null) reasons.add(r);
  }
  if (reasons.size === 0) return false;
  const reason = `peer missing: ${[...reasons].join('; ')}`;
  if (peersRequired()) throw new Error(`${reason} (SYNOD_REQUIRE_PEERS=1 makes this a failure)`);
  return reason;
}
