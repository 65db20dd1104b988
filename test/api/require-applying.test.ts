import assert from "node:assert/strict";
import { test } from "node:test";
import type { ApiContext } from "../../src/api/context.js";
import { ApiError } from "../../src/api/errors.js";
import { requireApplying } from "../../src/api/writes.js";

function contextWith(stateMachineHealthy: boolean): ApiContext {
  return { replica: { status: () => ({ stateMachineHealthy }) } } as unknown as ApiContext;
}

test("a node whose state machine applies serves writes and linearizable reads", () => {
  assert.doesNotThrow(() => requireApplying(contextWith(true)));
});

test("a node that cannot apply (database down) refuses at once: 503 unavailable, not applied, Retry-After", () => {
  assert.throws(
    () => requireApplying(contextWith(false)),
    (e: unknown) =>
      e instanceof ApiError && e.status === 503 && e.code === "unavailable" && (e.retryAfter ?? 0) > 0,
  );
});
