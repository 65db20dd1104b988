import { Type } from "typebox";
import { ID_PATTERN, IDEMPOTENCY_KEY_PATTERN } from "../../state/limits.js";

/** Ids are decided by the proposing node; anything else can never name an entity. */
export const Id = Type.String({ pattern: ID_PATTERN.source, maxLength: 64, description: "an id" });
export const Instant = Type.String({
  format: "date-time",
  description: "ISO-8601 UTC with milliseconds, e.g. 2026-01-31T12:00:00.000Z",
});
export const DateOnly = Type.String({ format: "date", description: "a calendar date YYYY-MM-DD" });

/** One line of text: no control characters at all. */
export const SINGLE_LINE = "^[^\\u0000-\\u001f\\u007f]*$";
/** Free text: line breaks and tabs, but no other control characters. */
export const MULTI_LINE = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f]*$";

export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      code: Type.Enum([
        "bad_request",
        "validation_failed",
        "unauthorized",
        "forbidden",
        "not_found",
        "conflict",
        "precondition_failed",
        "payload_too_large",
        "unsupported_media_type",
        "rate_limited",
        "unavailable",
        "timeout",
        "internal",
      ]),
      message: Type.String(),
      details: Type.Optional(Type.Array(Type.Object({ path: Type.String(), problem: Type.String() }))),
    }),
  },
  { title: "Error", description: "Every non-2xx answer" },
);

/** The error answers every authenticated route may give, for the OpenAPI document. */
export function errors(...statuses: number[]): Record<number, typeof ErrorBody> {
  const out: Record<number, typeof ErrorBody> = {};
  for (const s of statuses) out[s] = ErrorBody;
  return out;
}

export const NoContent = Type.Null({ description: "No content" });

export const IdParams = Type.Object({ id: Id }, { additionalProperties: false });

export const Consistency = Type.Optional(
  Type.Enum(["linearizable", "stale"], {
    description:
      "linearizable (default) sees every write answered before the read began; stale answers from this node's state",
  }),
);

export const ReadQuery = Type.Object({ consistency: Consistency }, { additionalProperties: false });

/** Headers every write accepts. */
export const WriteHeaders = Type.Object({
  "idempotency-key": Type.Optional(
    Type.String({
      pattern: IDEMPOTENCY_KEY_PATTERN.source,
      description: "1–128 printable ASCII characters; a retry with the same key returns the first answer",
    }),
  ),
});

/** Headers of writes with compare-and-set. */
export const CasHeaders = Type.Object({
  "idempotency-key": WriteHeaders.properties["idempotency-key"],
  "if-match": Type.Optional(
    Type.String({
      maxLength: 64,
      description:
        'the entity\'s current version as an ETag, e.g. "3"; the change applies only if it matches',
    }),
  ),
});

export const Items = <T extends Parameters<typeof Type.Array>[0]>(item: T) =>
  Type.Object({ items: Type.Array(item) });
