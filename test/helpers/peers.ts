// Where the peer implementations we test against live on a Debian machine, and
// what to do when one is missing: CI sets SYNOD_REQUIRE_PEERS=1 so a missing
// peer fails loudly instead of quietly skipping the suite that needs it.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type Peer = 'java' | 'javac' | 'zookeeper' | 'zkcli' | 'curator' | 'kazoo' | 'cli_mt';

// kazoo is packaged for Debian's interpreter; a pyenv python3 earlier on PATH lacks it.
export const SYSTEM_PYTHON = '/usr/bin/python3';

const DEBIAN_JAVA_DIR = '/usr/share/java';

/** The repository root, found by walking up from this file (works from test/ and dist/test/). */
export const REPO_ROOT: string = findRepoRoot(dirname(fileURLToPath(import.meta.url)));

function findRepoRoot(start: string): string {
  let dir = start;
  for (let i = 0; i < 10; i++) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        const parsed = JSON.parse(readFileSync(pkg, 'utf8')) as { name?: unknown };
        if (parsed.name === 'synod') return dir;
      } catch {
        // not ours; keep walking
      }
    }
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  throw new Error(`cannot find the synod repository root above ${start}`);
}

/** Files a Debian package installed, or [] when dpkg does not know it. */
function packageFiles(pkg: string): string[] {
  const r = spawnSync('dpkg-query', ['-L', pkg], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0 || typeof r.stdout !== 'string') return [];
  return r.stdout.split('\n').filter((l) => l.length > 0);
}

function runs(cmd: string, args: string[]): boolean {
  const r = spawnSync(cmd, args, { stdio: 'ignore', timeout: 30_000 });
  return r.status === 0;
}

/** A jar from Debian's shared Java directory, preferring the path a package lists. */
function debianJar(name: string, pkgs: string[] = []): string | undefined {
  const wanted = `${DEBIAN_JAVA_DIR}/${name}.jar`;
  for (const pkg of pkgs) {
    if (packageFiles(pkg).includes(wanted) && existsSync(wanted)) return wanted;
  }
  return existsSync(wanted) ? wanted : undefined;
}

// ZooKeeper's own manifest names most of these in Class-Path; listing them too
// keeps javac and java honest if a packager ever drops that manifest entry.
const ZOOKEEPER_DEPS = [
  'slf4j-api',
  'commons-cli',
  'commons-io',
  'jackson-annotations',
  'jackson-core',
  'jackson-databind',
  'metrics-core',
  'snappy-java',
  'netty-buffer',
  'netty-codec',
  'netty-common',
  'netty-handler',
  'netty-resolver',
  'netty-transport',
  'netty-transport-native-epoll',
  'netty-transport-native-unix-common',
];

const CURATOR_DEPS = ['guava'];

let zkCache: string[] | null | undefined;

/** Classpath entries for Apache ZooKeeper (server and Java client), or null if not installed. */
export function zookeeperJars(): string[] | null {
  if (zkCache !== undefined) return zkCache;
  const pkgs = ['libzookeeper-java', 'zookeeper'];
  const core = debianJar('zookeeper', pkgs);
  const jute = debianJar('zookeeper-jute', pkgs);
  if (!core || !jute) {
    zkCache = null;
    return null;
  }
  const deps = ZOOKEEPER_DEPS.map((d) => debianJar(d)).filter((j): j is string => j !== undefined);
  zkCache = [core, jute, ...deps];
  return zkCache;
}

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

/**
 * An slf4j binding for Java processes we start: `simple` logs to stderr (useful in
 * server logs), `nop` keeps client output parseable. Undefined if not installed.
 */
export function slf4jBinding(kind: 'simple' | 'nop'): string | undefined {
  return debianJar(`slf4j-${kind}`);
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
      if (!runs('java', ['-version'])) reason = 'java is not on PATH (apt-get install default-jre-headless)';
      break;
    case 'javac':
      if (!runs('javac', ['-version'])) reason = 'javac is not on PATH (apt-get install default-jdk-headless)';
      break;
    case 'zookeeper':
      reason =
        missingReason('java') ??
        (zookeeperJars() ? null : 'ZooKeeper jars not found in /usr/share/java (apt-get install zookeeper)');
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
