// Four-letter words on the client port, in ZooKeeper's output formats so tools
// that parse them (zktop, monitoring scripts, Nagios checks) keep working.
import type { LatencyMetric } from '../base/metrics.js';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { hostname, platform, release, arch, userInfo } from 'node:os';
import type { Connection } from './connection.js';
import type { SynodServer } from './server.js';

/** What ZooKeeper tools see as the server version; Synod's own follows after the dash. */
export const ZK_COMPAT_VERSION = '3.9.0-synod-0.1.0';
const BUILT = 'built on 2026-11-22 00:00 UTC';

/** Runs a word; null when it is not a four-letter word at all (then it is a frame length). */
export function runFourLetterWord(server: SynodServer, word: string): string | null {
  const known = COMMANDS[word];
  if (!known) return null;
  const wl = server.config.fourLetterWhitelist;
  // srvr is always allowed, as in ZooKeeper.
  if (wl !== '*' && !wl.has(word) && word !== 'srvr') {
    return `${word} is not executed because it is not in the whitelist.\n`;
  }
  return known(server);
}

function hex(n: number | bigint): string {
  return typeof n === 'bigint' ? BigInt.asUintN(64, n).toString(16) : n.toString(16);
}

function avg(total: number, count: number): string {
  if (count === 0) return '0.0';
  const v = total / count;
  return Number.isInteger(v) ? v.toFixed(1) : String(Math.round(v * 10000) / 10000);
}

function minLatency(min: number): number {
  return min === Number.MAX_SAFE_INTEGER ? 0 : min;
}

function connInfo(c: Connection, brief: boolean): string {
  const s = c.stats;
  let out = ` /${c.remoteAddress}:${c.remotePort}[1](queued=${c.queue.length},recved=${s.packetsReceived},sent=${s.packetsSent}`;
  if (!brief && c.sessionId !== 0n) {
    out += `,sid=0x${hex(c.sessionId)},lop=${s.lastOp},est=${c.established},to=${c.sessionTimeout}`;
    if (s.lastCxid >= 0) out += `,lcxid=0x${hex(s.lastCxid)}`;
    out += `,lzxid=0x${hex(Math.max(0, s.lastZxid))},lresp=${s.lastResponseTime},llat=${s.lastLatency}`;
    out += `,minlat=${minLatency(s.minLatency)},avglat=${avg(s.totalLatency, s.count)},maxlat=${s.maxLatency}`;
  }
  return out + ')';
}

function statsBlock(server: SynodServer): string {
  const s = server.stats;
  return (
    `Latency min/avg/max: ${minLatency(s.minLatency)}/${avg(s.totalLatency, s.count)}/${s.maxLatency}\n` +
    `Received: ${s.packetsReceived}\n` +
    `Sent: ${s.packetsSent}\n` +
    `Connections: ${server.connections.size}\n` +
    `Outstanding: ${server.outstandingRequests}\n` +
    `Zxid: 0x${hex(server.sm.lastZxid)}\n` +
    `Mode: ${server.mode}\n` +
    `Node count: ${server.sm.tree.size}\n`
  );
}

function openFds(): number {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return 0;
  }
}

function dirBytes(dir: string): number {
  let total = 0;
  try {
    for (const f of readdirSync(dir)) {
      try {
        const st = statSync(join(dir, f));
        if (st.isFile()) total += st.size;
      } catch {
        /* removed while we looked */
      }
    }
  } catch {
    return 0;
  }
  return total;
}

/** The ensemble part of `conf`, in ZooKeeper's layout. */
function ensembleConf(s: SynodServer): string {
  const c = s.config;
  if (c.servers.length === 0) return '';
  let out = `initLimit=${c.initLimit}\nsyncLimit=${c.syncLimit}\nelectionAlg=3\nelectionPort=-1\nquorumPort=-1\npeerType=${
    c.servers.find((x) => x.id === c.myId)?.role === 'observer' ? 1 : 0
  }\nmembership: \n`;
  out += s.configText();
  return out;
}

/** The summaries mntr prints and srst clears, in ZooKeeper's order. */
function latencyMetrics(s: SynodServer): LatencyMetric[] {
  const list = [s.fsyncTime, s.updateLatency, s.readLatency];
  if (s.ensemble) {
    const p = s.ensemble.peer;
    list.push(p.quorumAckLatency, p.commitPropagationLatency, ...p.stages.metrics());
  }
  return list;
}

/**
 * ZooKeeper's quorum metrics, and the leader's view of each follower's
 * replication (Synod's own keys, since ZooKeeper has no per-follower lag).
 */
function ensembleRows(s: SynodServer): Array<[string, string | number]> {
  const e = s.ensemble;
  if (!e) return [];
  const d = e.peer.describe();
  const rows: Array<[string, string | number]> = [
    ['zk_peer_state', s.mode === 'looking' ? 'looking - broadcast' : `${s.mode} - broadcast`],
    ['zk_quorum_size', Math.floor(d.conf.voters.length / 2) + 1],
    ['synod_raft_term', d.term],
    ['synod_raft_commit_index', d.commit],
    ['synod_raft_applied_index', d.applied],
    ['synod_raft_last_index', d.lastIndex],
    ['synod_leader_id', d.lead],
    ['synod_peer_messages_sent', e.transportStats.sent],
    ['synod_peer_messages_received', e.transportStats.received],
    ['synod_peer_messages_dropped', e.transportStats.dropped],
    ['synod_peer_socket_writes', e.transportStats.flushes],
  ];
  const progress = e.peer.node.progress();
  if (progress) {
    let followers = 0;
    let synced = 0;
    let nonVoting = 0;
    for (const [id, pr] of progress) {
      if (id === s.config.myId) continue;
      if (pr.isLearner) nonVoting++;
      else followers++;
      if (!pr.isLearner && pr.recentActive && pr.match >= d.commit) synced++;
      rows.push([`synod_follower_${id}_lag`, Math.max(0, d.lastIndex - pr.match)]);
      rows.push([`synod_follower_${id}_state`, pr.state]);
    }
    rows.push(['zk_learners', followers + nonVoting]);
    rows.push(['zk_followers', followers]);
    rows.push(['zk_synced_followers', synced]);
    rows.push(['zk_synced_non_voting_followers', nonVoting]);
    rows.push(['zk_synced_observers', nonVoting]);
    rows.push(['zk_pending_syncs', 0]);
  }
  return rows;
}

const COMMANDS: Record<string, (s: SynodServer) => string> = {
  ruok: () => 'imok',
  isro: (s) => (s.mode === 'read-only' ? 'ro' : 'rw'),
  srvr: (s) => `Zookeeper version: ${ZK_COMPAT_VERSION}, ${BUILT}\n${statsBlock(s)}`,
  stat: (s) => {
    let out = `Zookeeper version: ${ZK_COMPAT_VERSION}, ${BUILT}\nClients:\n`;
    for (const c of s.connections.values()) out += connInfo(c, true) + '\n';
    return out + '\n' + statsBlock(s);
  },
  cons: (s) => {
    let out = '';
    for (const c of s.connections.values()) out += connInfo(c, false) + '\n';
    return out + '\n';
  },
  crst: (s) => {
    for (const c of s.connections.values()) c.stats.reset();
    return 'Connection stats reset.\n';
  },
  srst: (s) => {
    Object.assign(s.stats, {
      packetsReceived: 0,
      packetsSent: 0,
      minLatency: Number.MAX_SAFE_INTEGER,
      maxLatency: 0,
      totalLatency: 0,
      count: 0,
    });
    s.loopDelay.reset();
    for (const m of latencyMetrics(s)) m.reset();
    return 'Server stats reset.\n';
  },
  conf: (s) => {
    const c = s.config;
    return (
      `clientPort=${s.port}\n` +
      `secureClientPort=-1\n` +
      `dataDir=${c.dataDir}\n` +
      `dataDirSize=0\n` +
      `dataLogDir=${c.dataLogDir}\n` +
      `dataLogSize=0\n` +
      `tickTime=${c.tickTime}\n` +
      `maxClientCnxns=${c.maxClientCnxns}\n` +
      `minSessionTimeout=${c.minSessionTimeout}\n` +
      `maxSessionTimeout=${c.maxSessionTimeout}\n` +
      `clientPortListenBacklog=-1\n` +
      `serverId=${c.myId}\n` +
      ensembleConf(s)
    );
  },
  envi: () => {
    let user = 'unknown';
    try {
      user = userInfo().username;
    } catch {
      /* no passwd entry */
    }
    const env: Array<[string, string]> = [
      ['zookeeper.version', `${ZK_COMPAT_VERSION}, ${BUILT}`],
      ['host.name', hostname()],
      ['node.version', process.version],
      ['os.name', platform()],
      ['os.arch', arch()],
      ['os.version', release()],
      ['user.name', user],
      ['user.dir', process.cwd()],
      [
        'os.memory.free',
        `${Math.round((process.memoryUsage().heapTotal - process.memoryUsage().heapUsed) / 1048576)}MB`,
      ],
      ['os.memory.max', `${Math.round(process.memoryUsage().rss / 1048576)}MB`],
    ];
    return 'Environment:\n' + env.map(([k, v]) => `${k}=${v}\n`).join('');
  },
  wchs: (s) => {
    const w = s.watches;
    return `${s.connections.size} connections watching ${w.watchedPaths} paths\nTotal watches:${w.count}\n`;
  },
  wchc: (s) => {
    let out = '';
    for (const [watcher, paths] of s.watches.byWatcherPaths()) {
      const c = s.connections.get(watcher);
      out += `0x${hex(c?.sessionId ?? 0n)}\n`;
      for (const p of paths) out += `\t${p}\n`;
    }
    return out + '\n';
  },
  wchp: (s) => {
    let out = '';
    for (const [path, watchers] of s.watches.byPathWatchers()) {
      out += `${path}\n`;
      for (const w of watchers) out += `\t0x${hex(s.connections.get(w)?.sessionId ?? 0n)}\n`;
    }
    return out + '\n';
  },
  dump: (s) => {
    let out = 'SessionTracker dump:\n';
    out += `Session Sets (${s.tracker.size})/(${s.tracker.size}):\n`;
    for (const t of s.tracker.all()) out += `0x${hex(t.id)}\t${Math.max(0, t.deadline - Date.now())}ms\n`;
    out += 'ephemeral nodes dump:\n';
    const eph = s.sm.tree.ephemerals;
    out += `Sessions with Ephemerals (${eph.size}):\n`;
    for (const [sid, paths] of eph) {
      out += `0x${hex(sid)}:\n`;
      for (const p of [...paths].sort()) out += `\t${p}\n`;
    }
    out += 'Connections dump:\n';
    return out;
  },
  mntr: (s) => {
    // The histogram reports NaN/huge values before its first sample.
    const loopMs = (ns: number): number =>
      Number.isFinite(ns) && s.loopDelay.count > 0 ? Math.round(ns / 1e4) / 100 : 0;
    const st = s.stats;
    const mem = process.memoryUsage();
    let ephemerals = 0;
    for (const set of s.sm.tree.ephemerals.values()) ephemerals += set.size;
    const rows: Array<[string, string | number]> = [
      ['zk_version', `${ZK_COMPAT_VERSION}, ${BUILT}`],
      ['zk_server_state', s.mode],
      ['zk_avg_latency', avg(st.totalLatency, st.count)],
      ['zk_max_latency', st.maxLatency],
      ['zk_min_latency', minLatency(st.minLatency)],
      ['zk_packets_received', st.packetsReceived],
      ['zk_packets_sent', st.packetsSent],
      ['zk_num_alive_connections', s.connections.size],
      ['zk_outstanding_requests', s.outstandingRequests],
      ['zk_znode_count', s.sm.tree.size],
      ['zk_watch_count', s.watches.count],
      ['zk_ephemerals_count', ephemerals],
      ['zk_approximate_data_size', s.sm.tree.dataBytes],
      ['zk_open_file_descriptor_count', openFds()],
      ['zk_max_file_descriptor_count', 1048576],
      ['zk_global_sessions', s.sm.sessions.size],
      ['zk_local_sessions', 0],
      ['zk_uptime', Date.now() - st.started],
      ['zk_last_proposal_size', -1],
      ['zk_fsync_count', s.replica.stats.fsyncs],
      ['zk_last_fsync_batch', s.replica.stats.lastBatch],
      ...latencyMetrics(s).flatMap((m) => m.rows()),
      ...ensembleRows(s),
      ['synod_rss_bytes', mem.rss],
      ['synod_heap_used_bytes', mem.heapUsed],
      ['synod_event_loop_delay_p50_ms', loopMs(s.loopDelay.percentile(50))],
      ['synod_event_loop_delay_p99_ms', loopMs(s.loopDelay.percentile(99))],
      ['synod_event_loop_delay_max_ms', loopMs(s.loopDelay.max)],
    ];
    return rows.map(([k, v]) => `${k}\t${v}\n`).join('');
  },
  dirs: (s) => `datadir_size: ${dirBytes(s.config.dataDir)}\nlogdir_size: ${dirBytes(s.config.dataLogDir)}\n`,
  gtmk: () => '306\n',
  hash: () => '\n',
  stmk: () => '306\n',
};
