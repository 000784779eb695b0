// Public entry of the storage layer: the write-ahead log and the snapshot store.
export { CorruptLogError, DEFAULT_SEGMENT_BYTES, MAX_ENTRY_BYTES, WriteAheadLog, segmentName } from './wal.js';
export type { LogEntry, WalOptions, WalStats } from './wal.js';
export { MIN_SNAPSHOT_RETAIN, SnapshotStore, snapshotName } from './snapshot.js';
export type { LoadedSnapshot, SkippedSnapshot, SnapshotFile, SnapshotMeta, SnapshotStoreOptions } from './snapshot.js';
