// The ensemble's membership as ZooKeeper shows it in /zookeeper/config:
// `server.N=...` lines and a `version=` line (the zxid of the change, in hex).
// Raft's confChange entries carry a server's line in their context, so every
// replica derives the same text from the log alone.
import { JuteReader, JuteWriter } from '../jute/buffer.js';
import type { ConfChange } from '../raft/index.js';

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/** Who asked for a change (answered where it was asked) and the server's line. */
export interface ChangeContext {
  readonly origin: number;
  readonly incarnation: number;
  readonly seq: number;
  /** The last change of its reconfig request: the one the client's answer waits for. */
  readonly last: boolean;
  /** `server.N=host:peer:election:role;client` for additions; '' for removals. */
  readonly line: string;
}

export function encodeChangeContext(c: ChangeContext): Uint8Array {
  const w = new JuteWriter(64 + c.line.length);
  w.int(c.origin).int(c.incarnation).long(c.seq).bool(c.last).ustring(c.line);
  return w.toBuffer();
}

export function decodeChangeContext(data: Uint8Array | undefined): ChangeContext | null {
  if (!data || data.length === 0) return null;
  const r = new JuteReader(data);
  return { origin: r.int(), incarnation: r.int(), seq: r.long(), last: r.bool(), line: r.string() };
}

/** The `server.N=` lines of a config text, by id. */
export function configLines(text: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const raw of text.split('\n')) {
    const m = /^server\.(\d+)=/.exec(raw.trim());
    if (m) out.set(Number(m[1]), raw.trim());
  }
  return out;
}

export function renderConfig(lines: Map<number, string>, zxid: number): Uint8Array {
  const ids = [...lines.keys()].sort((a, b) => a - b);
  const text = ids.map((id) => lines.get(id)!).join('\n') + `\nversion=${zxid.toString(16)}`;
  return utf8.encode(text);
}

/** The config text after one membership change. */
export function applyMembership(current: Uint8Array, cc: ConfChange, zxid: number): Uint8Array {
  const lines = configLines(fromUtf8.decode(current));
  const ctx = decodeChangeContext(cc.context);
  if (cc.type === 'removeNode') {
    lines.delete(cc.nodeId);
  } else {
    const role = cc.type === 'addNode' ? 'participant' : 'observer';
    let line = ctx?.line ?? lines.get(cc.nodeId) ?? `server.${cc.nodeId}=`;
    // The role is Raft's to say: a promoted observer becomes a participant.
    line = line.replace(/:(participant|observer)(?=;|$)/, `:${role}`);
    lines.set(cc.nodeId, line);
  }
  return renderConfig(lines, zxid);
}

/** The config version ZooKeeper clients pass back as curConfigId. */
export function configVersion(text: Uint8Array): number {
  const m = /(?:^|\n)version=([0-9a-fA-F]+)/.exec(fromUtf8.decode(text));
  return m ? parseInt(m[1]!, 16) : 0;
}
