import { RaftInvariantError, type ConfChange, type ConfChangeType, type ConfState } from './types.js';

// Membership changes, one node at a time. A change takes effect on every node
// as soon as its entry is in that node's log, committed or not (dissertation
// §4.1), and is undone if the entry is truncated. Any majority of the old
// voter set and any majority of the new one then overlap, so two leaders
// cannot be elected in one term.

const TYPE_CODES: Record<ConfChangeType, number> = { addNode: 1, removeNode: 2, addLearner: 3 };
const CODE_TYPES: readonly (ConfChangeType | undefined)[] = [undefined, 'addNode', 'removeNode', 'addLearner'];
const HEADER = 1 + 8;

/** Entry data for a confChange entry: a type byte, the node id as a big-endian uint64, then the context. */
export function encodeConfChange(cc: ConfChange): Uint8Array {
  const context = cc.context ?? new Uint8Array(0);
  const out = new Uint8Array(HEADER + context.length);
  const view = new DataView(out.buffer);
  view.setUint8(0, TYPE_CODES[cc.type]);
  view.setUint32(1, Math.floor(cc.nodeId / 2 ** 32));
  view.setUint32(5, cc.nodeId >>> 0);
  out.set(context, HEADER);
  return out;
}

export function decodeConfChange(data: Uint8Array): ConfChange {
  if (data.length < HEADER) throw new RaftInvariantError(`conf change entry of ${data.length} bytes`);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const type = CODE_TYPES[view.getUint8(0)];
  if (type === undefined) throw new RaftInvariantError(`conf change entry of unknown type ${view.getUint8(0)}`);
  const nodeId = view.getUint32(1) * 2 ** 32 + view.getUint32(5);
  const context = data.subarray(HEADER);
  return context.length > 0 ? { type, nodeId, context } : { type, nodeId };
}

/** Why `cc` cannot be applied to `conf`, or undefined when it can. */
export function checkConfChange(conf: ConfState, cc: ConfChange): string | undefined {
  if (!Number.isSafeInteger(cc.nodeId) || cc.nodeId <= 0) return `node id ${cc.nodeId} is not a positive integer`;
  const isVoter = conf.voters.includes(cc.nodeId);
  const isLearner = conf.learners.includes(cc.nodeId);
  switch (cc.type) {
    case 'addNode':
      return isVoter ? `node ${cc.nodeId} is already a voter` : undefined;
    case 'addLearner':
      if (isLearner) return `node ${cc.nodeId} is already a learner`;
      if (isVoter && conf.voters.length === 1) return `node ${cc.nodeId} is the only voter`;
      return undefined;
    case 'removeNode':
      if (!isVoter && !isLearner) return `node ${cc.nodeId} is not a member`;
      if (isVoter && conf.voters.length === 1) return `node ${cc.nodeId} is the only voter`;
      return undefined;
    default: {
      const unknown: never = cc.type;
      return `unknown conf change type ${String(unknown)}`;
    }
  }
}

/**
 * The configuration after `cc`. Total: a change that does not apply leaves
 * the configuration as it was, so every node computes the same result from
 * the same log.
 */
export function applyConfChange(conf: ConfState, cc: ConfChange): ConfState {
  if (checkConfChange(conf, cc) !== undefined) return conf;
  const voters = conf.voters.filter((id) => id !== cc.nodeId);
  const learners = conf.learners.filter((id) => id !== cc.nodeId);
  if (cc.type === 'addNode') voters.push(cc.nodeId);
  else if (cc.type === 'addLearner') learners.push(cc.nodeId);
  voters.sort((a, b) => a - b);
  learners.sort((a, b) => a - b);
  return { voters, learners };
}
