/**
 * What applying one command answers: exactly the HTTP status and body the API returns for it,
 * plus the server-sent events it produces. Refusals are values, never exceptions, so that every
 * node records the same verdict for the same entry.
 */

export type EventType =
  | "project.created"
  | "project.updated"
  | "project.deleted"
  | "member.added"
  | "member.updated"
  | "member.removed"
  | "label.created"
  | "label.deleted"
  | "task.created"
  | "task.updated"
  | "task.deleted"
  | "tasks.repositioned"
  | "comment.created"
  | "comment.deleted";

export interface StateEvent {
  type: EventType;
  /** The project whose subscribers receive it (`GET /events?projectId=`). */
  projectId: string;
  /** The entity's JSON, or `{id}` for deletes. */
  data: unknown;
}

export interface ApplyResult {
  status: number;
  body: unknown;
  events: StateEvent[];
}

export type ErrorCode =
  | "bad_request"
  | "validation_failed"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "conflict"
  | "precondition_failed"
  | "internal";

export interface FieldProblem {
  path: string;
  message: string;
}

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: FieldProblem[] };
}

const STATUS_OF: Record<ErrorCode, number> = {
  bad_request: 400,
  validation_failed: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  precondition_failed: 412,
  internal: 500,
};

export function refusal(code: ErrorCode, message: string, details?: FieldProblem[]): ApplyResult {
  const error: ErrorBody["error"] = { code, message };
  if (details !== undefined && details.length > 0) error.details = details;
  return { status: STATUS_OF[code], body: { error }, events: [] };
}

export function success(status: 200 | 201 | 204, body: unknown, events: StateEvent[] = []): ApplyResult {
  return { status, body: status === 204 ? null : body, events };
}

export function isRefusal(r: ApplyResult): boolean {
  return r.status >= 400;
}
