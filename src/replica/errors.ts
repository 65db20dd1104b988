import type { NodeId } from "../raft/index.js";

/**
 * Why a replica could not serve a request. `unavailable` means the request was
 * certainly not applied (safe to retry anywhere); `timeout` means the outcome
 * is unknown (retry with the same idempotency key).
 */
export type ReplicaErrorCode = "unavailable" | "timeout" | "overloaded" | "stopped" | "rejected";

export class ReplicaError extends Error {
  constructor(
    readonly code: ReplicaErrorCode,
    message: string,
    /** The leader this node knows of, if any, for clients that want to go there. */
    readonly leaderId: NodeId = "",
  ) {
    super(message);
    this.name = "ReplicaError";
  }
}
