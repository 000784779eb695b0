// Public types of synod/client: what operations take and return.
import type { ACL, Id, Stat } from '../jute/records.js';
import type { ClientInfo } from './replies.js';
import { AddWatchMode, CreateMode, EventType, KeeperState, Perms, WatcherType } from '../jute/constants.js';

// The wire enums are the codec's own; the client re-exports them as its public names.
export { AddWatchMode, CreateMode, EventType, KeeperState, Perms, WatcherType };

export type { ACL, Id, Stat, ClientInfo };

/** Node data as given by callers: strings are sent as UTF-8. */
export type Data = string | Uint8Array | null;

export type CreateModeValue = (typeof CreateMode)[keyof typeof CreateMode];

export type AddWatchModeValue = (typeof AddWatchMode)[keyof typeof AddWatchMode];

export type WatcherTypeValue = (typeof WatcherType)[keyof typeof WatcherType];

export type EventTypeValue = (typeof EventType)[keyof typeof EventType];

const ANYONE_ID_UNSAFE: Id = Object.freeze({ scheme: 'world', id: 'anyone' });
const AUTH_IDS: Id = Object.freeze({ scheme: 'auth', id: '' });

/** ZooDefs.Ids: the well-known ids and ACL lists. */
export const Ids = {
  ANYONE_ID_UNSAFE,
  AUTH_IDS,
  OPEN_ACL_UNSAFE: Object.freeze([Object.freeze({ perms: Perms.ALL, id: ANYONE_ID_UNSAFE })]) as readonly ACL[],
  CREATOR_ALL_ACL: Object.freeze([Object.freeze({ perms: Perms.ALL, id: AUTH_IDS })]) as readonly ACL[],
  READ_ACL_UNSAFE: Object.freeze([Object.freeze({ perms: Perms.READ, id: ANYONE_ID_UNSAFE })]) as readonly ACL[],
} as const;

/** A watch notification as delivered to watcher functions. */
export interface WatchedEvent {
  type: EventTypeValue;
  /** KeeperState at the time of the event (SyncConnected for node events). */
  state: number;
  /** The znode path, relative to the chroot. */
  path: string;
  /** zxid of the reply header that carried the event; -1 when the server sends none or for local events. */
  zxid: number;
}

/**
 * A watcher function. The same function registered through several calls on
 * the same path is called once per event, as ZooKeeper guarantees for Watcher objects.
 */
export type Watcher = (event: WatchedEvent) => void;

/** Options every operation accepts. */
export interface CallOptions {
  /** Reject with the signal's reason when it aborts; an unsent request is then never sent. */
  signal?: AbortSignal;
  /** Reject with RequestTimeoutError after this many ms (overrides the client's requestTimeout; 0 = none). */
  timeout?: number;
}

export interface WatchOptions extends CallOptions {
  watch?: Watcher;
}

export interface CreateOptions extends CallOptions {
  /** Default PERSISTENT. */
  mode?: CreateModeValue;
  /** Default Ids.OPEN_ACL_UNSAFE. */
  acl?: readonly ACL[];
  /** Required for the *_WITH_TTL modes: ms without change after which a childless node is deleted. */
  ttl?: number;
}

export interface CreateResult {
  /** The created path (with the sequence suffix for sequential modes). */
  path: string;
  stat: Stat;
}

export interface DataResult {
  /** null when the node was created with null data. */
  data: Buffer | null;
  stat: Stat;
}

export interface ChildrenResult {
  children: string[];
  stat: Stat;
}

export interface ACLResult {
  acl: ACL[];
  stat: Stat;
}

export interface ConfigResult {
  /** The configuration text (the data of /zookeeper/config). */
  config: string;
  data: Buffer | null;
  stat: Stat;
}

export interface ReconfigOptions extends CallOptions {
  /** Incremental: comma-separated server specs to add. */
  joining?: string | readonly string[];
  /** Incremental: comma-separated server ids to remove. */
  leaving?: string | readonly string[];
  /** Non-incremental: the complete new membership. */
  members?: string | readonly string[];
  /** Apply only if the current config version is this one; -1 (default) for any. */
  fromConfig?: number;
}

/** One operation of multi()/transaction(). */
export type Op =
  | {
      type: 'create';
      path: string;
      data?: Data;
      acl?: readonly ACL[];
      mode?: CreateModeValue;
      ttl?: number;
    }
  | { type: 'delete'; path: string; version?: number }
  | { type: 'setData'; path: string; data: Data; version?: number }
  | { type: 'check'; path: string; version: number };

/** Result of one operation of a successful multi(). */
export type OpResult =
  | {
      type: 'create';
      path: string;
      /** ZooKeeper 3.8 returns a Stat inside multi only for container and TTL creates. */
      stat: Stat | null;
    }
  | { type: 'delete' }
  | { type: 'setData'; stat: Stat }
  | { type: 'check' };

/** One read of multiRead(). */
export type ReadOp = { type: 'getData'; path: string } | { type: 'getChildren'; path: string };

/** Result of one read of multiRead(); reads fail one by one, so an error is a result too. */
export type ReadOpResult =
  | { type: 'getData'; data: Buffer | null; stat: Stat }
  | { type: 'getChildren'; children: string[] }
  | { type: 'error'; error: import('./errors.js').ZooKeeperError };

/** Session states, as reported by `zk.state` and the 'state' event. */
export type SessionState =
  'connecting' | 'connected' | 'readOnly' | 'disconnected' | 'expired' | 'authFailed' | 'closed';

export interface ZooKeeperOptions {
  /** Requested session timeout in ms (the server clamps it to its min/max). Default 30000. */
  sessionTimeout?: number;
  /**
   * Bound on one TCP connect plus handshake in ms. Default: the session timeout
   * divided by the number of hosts (as in the Java client), but at most a third
   * of it (at least 500 ms).
   */
  connectTimeout?: number;
  /** Accept read-only servers (ConnectRequest.readOnly); the state is then 'readOnly'. */
  canBeReadOnly?: boolean;
  /** Default per-request timeout in ms; 0 (default) waits as long as the session lives. */
  requestTimeout?: number;
  /** Random source for the host order; inject one to make tests deterministic. Default Math.random. */
  random?: () => number;
  /** Resume this session instead of creating one (with sessionPasswd). */
  sessionId?: bigint;
  sessionPasswd?: Uint8Array;
  /** Credentials sent on every connection, like addAuth() calls made before connecting. */
  auth?: ReadonlyArray<{ scheme: string; auth: string | Uint8Array }>;
  /** Requests accepted but not yet written to a socket; past this, calls fail with QueueFullError. Default 100000. */
  maxQueuedRequests?: number;
  /** The same bound in bytes of path and data. Default 64 MiB. */
  maxQueuedBytes?: number;
  /** Largest reply frame accepted; ZooKeeper's jute.maxbuffer plus headroom. Default 64 MiB. */
  maxFrameBytes?: number;
  /** Longest back-off in ms after a full round of failed hosts. Default 1000. */
  maxRetryDelay?: number;
  /** Re-register watches after a reconnect (setWatches); default true. */
  watchReset?: boolean;
  /** First xid to use; for tests of the wrap-around. */
  initialXid?: number;
}
