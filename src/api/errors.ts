import { ReplicaError } from "../replica/index.js";

/** The documented error codes of API.md §2. */
export type ErrorCode =
  | "bad_request"
  | "validation_failed"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "conflict"
  | "precondition_failed"
  | "payload_too_large"
  | "unsupported_media_type"
  | "rate_limited"
  | "unavailable"
  | "timeout"
  | "internal";

export interface ErrorDetail {
  path: string;
  problem: string;
}

/** An error answer: one status, one code, one clear sentence. Mapped to HTTP in one place (server.ts). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly details?: ErrorDetail[],
    /** Seconds, for 429 and 503. */
    readonly retryAfter?: number,
  ) {
    super(message);
    this.name = "ApiError";
  }

  body(): { error: { code: ErrorCode; message: string; details?: ErrorDetail[] } } {
    return {
      error: { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) },
    };
  }
}

export const notFound = (what = "resource") => new ApiError(404, "not_found", `The ${what} does not exist.`);

/** Replica outcomes as HTTP: unavailable means not applied (503), timeout means unknown (504). */
export function fromReplicaError(e: ReplicaError): ApiError {
  switch (e.code) {
    case "timeout":
      return new ApiError(
        504,
        "timeout",
        "The write was proposed but its outcome is unknown; retry with the same Idempotency-Key.",
      );
    case "rejected":
      return new ApiError(409, "conflict", e.message);
    case "overloaded":
      return new ApiError(503, "unavailable", `The cluster is overloaded: ${e.message}`, undefined, 1);
    default:
      return new ApiError(
        503,
        "unavailable",
        `The cluster cannot serve this now: ${e.message}`,
        undefined,
        1,
      );
  }
}

export function toApiError(e: unknown): ApiError | undefined {
  if (e instanceof ApiError) return e;
  if (e instanceof ReplicaError) return fromReplicaError(e);
  return undefined;
}
