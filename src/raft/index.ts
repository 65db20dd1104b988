export { assert, InvariantError } from "./assert.js";
export { applyConfChange, isMember, isVoter } from "./conf-change.js";
export type { RaftConfig, RandomSource } from "./config.js";
export { MemoryStorage } from "./memory-storage.js";
export { type ProgressStatus, RaftNode, type RaftStatus } from "./node.js";
export { makeMessage } from "./raft.js";
export { Rng } from "./rng.js";
export { CompactedError, entrySize, type RaftStorage, UnavailableError } from "./storage.js";
export * from "./types.js";
