// The Raft consensus core: a pure state machine in the shape of etcd's raft.
// See docs/raft.md for the contract with the shell.

export { RaftNode } from './raft.js';
export { MemoryStorage, EMPTY_CONF, bootstrapEntries, type RaftStorage } from './storage.js';
export { applyConfChange, checkConfChange, decodeConfChange, encodeConfChange } from './confchange.js';
export { committedIndex, quorumSize, voteResult, type VoteResult } from './quorum.js';
export {
  RaftInvariantError,
  sendsBeforePersist,
  type InterimReady,
  type ConfChange,
  type ConfChangeType,
  type ConfState,
  type Entry,
  type EntryType,
  type HardState,
  type Message,
  type MessageType,
  type ProgressState,
  type ProgressStatus,
  type ProposeRejection,
  type ProposeResult,
  type RaftConfig,
  type ReadState,
  type Ready,
  type Role,
  type Snapshot,
  type SoftState,
  type Status,
} from './types.js';
