// Real server processes for the compatibility suites: Synod (the default target)
// or Apache ZooKeeper from Debian's packages (COMPAT_TARGET=zookeeper), used to
// prove the suites themselves are right before they judge Synod. Starting them
// is src/testing/servers.ts's job; this file picks the target and the settings
// the suites share.
import { ManagedServer, freePort, startStandalone, synodBin, type CfgEntries } from '../../src/testing/servers.js';
import { peerSkip, type Peer } from './peers.js';

export { freePort };

/** A running (or stopped) server: start, stop, kill9, restart, destroy, logTail. */
export { ManagedServer as ServerHandle };

export type TargetKind = 'synod' | 'zookeeper';

/** Which server the compat suites run against: Synod unless COMPAT_TARGET=zookeeper. */
export function target(): TargetKind {
  const v = (process.env.COMPAT_TARGET ?? 'synod').trim().toLowerCase();
  if (v === '' || v === 'synod') return 'synod';
  if (v === 'zookeeper' || v === 'zk') return 'zookeeper';
  throw new Error(`COMPAT_TARGET must be "synod" or "zookeeper", not ${JSON.stringify(process.env.COMPAT_TARGET)}`);
}

/** Peers a suite needs just to start its server. */
export function targetPeers(): Peer[] {
  return target() === 'zookeeper' ? ['zookeeper'] : [];
}

/** peerSkip for the server plus the given client peers. */
export function suiteSkip(...clientPeers: Peer[]): string | false {
  return peerSkip(...targetPeers(), ...clientPeers);
}

export const SYNOD_BIN = synodBin();

export interface ServerOptions {
  /** Extra zoo.cfg lines, written after the defaults (later keys win in both servers). */
  config?: Record<string, string | number>;
}

// Containers and TTL nodes are reaped every second so suites about them run
// quickly; ZooKeeper gets this key as a system property from the shared module.
const SUITE_CONFIG: CfgEntries = { 'znode.container.checkIntervalMs': 1000 };

/** Start a server of the given kind on a free port in a fresh temp dir. */
export function startServer(kind: TargetKind, opts: ServerOptions = {}): Promise<ManagedServer> {
  return startStandalone(kind, {
    config: { ...SUITE_CONFIG, ...opts.config },
    keepDir: !!process.env.COMPAT_KEEP_DIRS || undefined,
  });
}

export function startZooKeeper(opts: ServerOptions = {}): Promise<ManagedServer> {
  return startServer('zookeeper', opts);
}

export function startSynod(opts: ServerOptions = {}): Promise<ManagedServer> {
  return startServer('synod', opts);
}

/** Start whichever server COMPAT_TARGET selects. */
export function startTarget(opts: ServerOptions = {}): Promise<ManagedServer> {
  return startServer(target(), opts);
}
