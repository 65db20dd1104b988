/**
 * The replicated tables, as snapshots, restores and the consistency check see them: every column
 * in a fixed order and the primary key that orders the rows. A test compares this list with the
 * live schema, so a migration that adds a column must add it here too.
 */

export interface TableSpec {
  name: string;
  columns: readonly string[];
  primaryKey: readonly string[];
}

export const REPLICATED_TABLES: readonly TableSpec[] = [
  {
    name: "projects",
    columns: ["id", "name", "description", "created_at", "updated_at", "version"],
    primaryKey: ["id"],
  },
  {
    name: "users",
    columns: [
      "id",
      "username",
      "display_name",
      "password_hash",
      "is_admin",
      "inbox_project_id",
      "created_at",
    ],
    primaryKey: ["id"],
  },
  {
    name: "sessions",
    columns: ["token_hash", "user_id", "created_at", "expires_at"],
    primaryKey: ["token_hash"],
  },
  {
    name: "project_members",
    columns: ["project_id", "user_id", "role", "created_at"],
    primaryKey: ["project_id", "user_id"],
  },
  {
    name: "labels",
    columns: ["id", "project_id", "name", "color", "created_at"],
    primaryKey: ["id"],
  },
  {
    name: "tasks",
    columns: [
      "id",
      "project_id",
      "title",
      "description",
      "status",
      "priority",
      "due_date",
      "due_sort",
      "assignee_id",
      "position",
      "created_by",
      "created_at",
      "updated_at",
      "completed_at",
      "version",
    ],
    primaryKey: ["id"],
  },
  { name: "task_labels", columns: ["task_id", "label_id"], primaryKey: ["task_id", "label_id"] },
  {
    name: "comments",
    columns: ["id", "task_id", "author_id", "body", "created_at"],
    primaryKey: ["id"],
  },
  {
    name: "idempotency",
    columns: ["user_id", "idem_key", "status", "body", "log_index", "created_at"],
    primaryKey: ["user_id", "idem_key"],
  },
  {
    name: "raft_applied",
    columns: ["id", "applied_index", "applied_term", "swept_index"],
    primaryKey: ["id"],
  },
  {
    name: "cluster_members",
    columns: ["id", "raft_address", "api_url", "updated_index"],
    primaryKey: ["id"],
  },
];

export function tableSpec(name: string): TableSpec | undefined {
  return REPLICATED_TABLES.find((t) => t.name === name);
}
