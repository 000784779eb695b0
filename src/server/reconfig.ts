// ZooKeeper's reconfig request, turned into the single-server membership
// changes Raft makes one after another. Incremental requests name servers
// joining (`server.N=...` lines) and leaving (ids); a non-incremental one
// gives the whole new membership, and the changes are the difference.
import type { ReconfigRequest } from '../jute/records.js';
import { configLines } from '../ensemble/membership.js';
import type { MemberChange } from '../ensemble/wire.js';
import { formatServerSpec, parseServerSpec, type ServerSpec } from './config.js';

function parseJoining(list: string): ServerSpec[] {
  const out: ServerSpec[] = [];
  for (const item of list.split(',')) {
    const t = item.trim();
    if (t === '') continue;
    const m = /^server\.(\d+)\s*=\s*(.+)$/.exec(t);
    if (!m) throw new Error(`'${t}' is not a server.N=host:peerPort:electionPort[:role][;clientPort] line`);
    const id = Number(m[1]);
    if (id < 1 || id > 255) throw new Error(`server id ${id} is outside 1..255`);
    out.push(parseServerSpec(id, m[2]!, 'reconfig'));
  }
  return out;
}

function parseLeaving(list: string): number[] {
  const out: number[] = [];
  for (const item of list.split(',')) {
    const t = item.trim();
    if (t === '') continue;
    if (!/^\d+$/.test(t)) throw new Error(`'${t}' is not a server id`);
    out.push(Number(t));
  }
  return out;
}

/** The changes a request asks for, against the current /zookeeper/config text; throws with the reason when it is malformed. */
export function memberChanges(current: string, req: ReconfigRequest): MemberChange[] {
  const members = configLines(current);
  const roleOf = (line: string): string | undefined => /:(participant|observer)(?=;|$)/.exec(line)?.[1];
  const changes: MemberChange[] = [];
  const join = (s: ServerSpec): void => {
    const line = formatServerSpec(s);
    const existing = members.get(s.id);
    if (existing !== undefined) {
      if (roleOf(existing) === s.role) {
        if (existing !== line)
          throw new Error(`server ${s.id} is a member already; changing its addresses is not supported`);
        return;
      }
    }
    changes.push({ type: s.role === 'participant' ? 'addNode' : 'addLearner', nodeId: s.id, line });
  };
  if (req.newMembers !== null && req.newMembers.trim() !== '') {
    if ((req.joiningServers ?? '').trim() !== '' || (req.leavingServers ?? '').trim() !== '') {
      throw new Error('a reconfig gives either newMembers or joining/leaving servers, not both');
    }
    const wanted = parseJoining(req.newMembers);
    const ids = new Set(wanted.map((s) => s.id));
    for (const id of members.keys()) if (!ids.has(id)) changes.push({ type: 'removeNode', nodeId: id, line: '' });
    for (const s of wanted) join(s);
    return changes;
  }
  for (const id of parseLeaving(req.leavingServers ?? '')) {
    if (!members.has(id)) throw new Error(`server ${id} is not a member`);
    changes.push({ type: 'removeNode', nodeId: id, line: '' });
  }
  for (const s of parseJoining(req.joiningServers ?? '')) join(s);
  return changes;
}
