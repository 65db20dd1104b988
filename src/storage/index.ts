/**
 * Durable Raft storage: a segmented, checksummed write-ahead log, an atomically
 * replaced hard state file and snapshot files, behind `DiskStorage`, which
 * implements the core's RaftStorage plus the write side the runtime drives.
 */
export { crc32c } from "./crc32c.js";
export {
  DiskStorage,
  type DiskStorageOptions,
  type StorageStats,
  type SyncResult,
} from "./disk-storage.js";
export { StorageCorruptError, StorageMismatchError, StorageUsageError } from "./errors.js";
export type { FsyncHook, FsyncKind } from "./fsio.js";
export type { StorageLogger } from "./logger.js";
export { listSnapshotFiles, type SnapshotSource, verifySnapshotFile } from "./snapshots.js";
