// synod/client: a promise-based ZooKeeper client for Node.js, for Synod and Apache ZooKeeper alike.
export { ZooKeeper, type ZooKeeperEvents } from './zookeeper.js';
export { Transaction } from './transaction.js';
export {
  DataIterator,
  ChildrenIterator,
  EventIterator,
  WatchOverflowError,
  type DataSnapshot,
  type ChildrenSnapshot,
  type IteratorOptions,
} from './iterators.js';
export * from './errors.js';
export {
  CreateMode,
  AddWatchMode,
  WatcherType,
  EventType,
  KeeperState,
  Perms,
  Ids,
  type ACL,
  type Id,
  type Stat,
  type ClientInfo,
  type Data,
  type CreateModeValue,
  type AddWatchModeValue,
  type WatcherTypeValue,
  type EventTypeValue,
  type WatchedEvent,
  type Watcher,
  type CallOptions,
  type WatchOptions,
  type CreateOptions,
  type CreateResult,
  type DataResult,
  type ChildrenResult,
  type ACLResult,
  type ConfigResult,
  type ReconfigOptions,
  type Op,
  type OpResult,
  type ReadOp,
  type ReadOpResult,
  type SessionState,
  type ZooKeeperOptions,
} from './types.js';
export { digestId, digestAcl } from './auth.js';
export { parseConnectString, type HostPort, type ConnectString } from './hosts.js';
