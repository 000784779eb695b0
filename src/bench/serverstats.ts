// What the servers themselves measured over a run: ZooKeeper (3.6+) and Synod
// both keep latency summaries that mntr prints and srst clears. Comparing
// them with what the generator saw separates time spent in the servers from
// time spent in the network and the generator.
import { fourLetterWord, parseMntr } from '../testing/servers.js';
import type { HostPort } from './options.js';

/** The summaries read, by their mntr name. */
export const SERVER_SUMMARIES = [
  'updatelatency',
  'readlatency',
  'fsynctime',
  'quorum_ack_latency',
  'commit_propagation_latency',
  'proposal_latency',
  'proposal_ack_creation_latency',
] as const;
export type ServerSummaryName = (typeof SERVER_SUMMARIES)[number];

export interface ServerSummary {
  count: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface ServerStats {
  host: string;
  /** zk_server_state: leader, follower, observer, standalone. */
  mode: string;
  summaries: Partial<Record<ServerSummaryName, ServerSummary>>;
  /** On a leader: N_ack_latency, from a proposal to the leader hearing voter N has it on disk, by N. */
  acks: Record<number, ServerSummary>;
  /** Why the server could not be asked, if it could not. */
  error?: string;
}

const hostName = (h: HostPort): string => `${h.host}:${h.port}`;

/** Clears every server's statistics; resolves to the errors, one per server that failed. */
export async function resetServerStats(hosts: readonly HostPort[]): Promise<string[]> {
  const out = await Promise.all(
    hosts.map(async (h) => {
      try {
        const reply = await fourLetterWord(h.port, 'srst', 5_000, h.host);
        return /reset/i.test(reply) ? null : `${hostName(h)}: srst answered ${JSON.stringify(reply.slice(0, 80))}`;
      } catch (e) {
        return `${hostName(h)}: ${(e as Error).message}`;
      }
    }),
  );
  return out.filter((e): e is string => e !== null);
}

/** Picks the summaries this module knows out of mntr's output. */
export function parseServerStats(host: string, mntr: string): ServerStats {
  const rows = parseMntr(mntr);
  const summary = (name: string): ServerSummary | null => {
    const num = (k: string): number => Number(rows.get(`zk_${k}_${name}`));
    const count = num('cnt');
    // ZooKeeper prints fsynctime without percentiles.
    return Number.isFinite(count) && count > 0
      ? { count, p50Ms: num('p50'), p99Ms: num('p99'), maxMs: num('max') }
      : null;
  };
  const summaries: ServerStats['summaries'] = {};
  for (const name of SERVER_SUMMARIES) {
    const x = summary(name);
    if (x) summaries[name] = x;
  }
  const acks: ServerStats['acks'] = {};
  for (const key of rows.keys()) {
    const m = /^zk_cnt_(\d+)_ack_latency$/.exec(key);
    const x = m ? summary(`${m[1]}_ack_latency`) : null;
    if (x) acks[Number(m![1])] = x;
  }
  return { host, mode: rows.get('zk_server_state') ?? 'unknown', summaries, acks };
}

export async function readServerStats(hosts: readonly HostPort[]): Promise<ServerStats[]> {
  return Promise.all(
    hosts.map(async (h) => {
      try {
        return parseServerStats(hostName(h), await fourLetterWord(h.port, 'mntr', 5_000, h.host));
      } catch (e) {
        return { host: hostName(h), mode: 'unknown', summaries: {}, acks: {}, error: (e as Error).message };
      }
    }),
  );
}

const ms = (v: number): string => (Number.isFinite(v) ? (v >= 100 ? v.toFixed(0) : v.toFixed(1)) : 'n/a');

/** One line per server: each summary's p50/p99/max in ms. */
export function formatServerStats(stats: readonly ServerStats[]): string[] {
  return stats.map((s) => {
    if (s.error) return `  server ${s.host}: mntr failed: ${s.error}`;
    const parts = SERVER_SUMMARIES.filter((n) => s.summaries[n]).map((n) => {
      const x = s.summaries[n]!;
      return `${n} ${ms(x.p50Ms)}/${ms(x.p99Ms)}/${ms(x.maxMs)}`;
    });
    for (const [id, x] of Object.entries(s.acks))
      parts.push(`${id}_ack_latency ${ms(x.p50Ms)}/${ms(x.p99Ms)}/${ms(x.maxMs)}`);
    return `  server ${s.host} (${s.mode}), p50/p99/max ms: ${parts.join(', ') || 'no latency summaries in mntr'}`;
  });
}
