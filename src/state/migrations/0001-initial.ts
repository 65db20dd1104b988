/**
 * The first schema. SQL that MariaDB 10.11 and MySQL 8.0 both accept: no RETURNING, no
 * CREATE INDEX IF NOT EXISTS (indexes are declared inside CREATE TABLE instead), InnoDB, utf8mb4.
 * Ids, hashes, keys and positions are ASCII with binary collation, so that comparisons and
 * ORDER BY are byte order on every server (JS compares them the same way); user-visible text uses
 * utf8mb4_unicode_ci, which both servers implement identically (UCA 4.0.0), for case-insensitive
 * search and label-name uniqueness. docs/SCHEMA.md explains each table and index.
 */

const ID = "VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin";
const TABLE = "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci";

export const version = 1;
export const name = "initial";

export const statements: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS projects (
    id ${ID} NOT NULL,
    name VARCHAR(100) NOT NULL,
    description TEXT NOT NULL,
    created_at DATETIME(3) NOT NULL,
    updated_at DATETIME(3) NOT NULL,
    version INT UNSIGNED NOT NULL,
    PRIMARY KEY (id)
  ) ${TABLE}`,

  `CREATE TABLE IF NOT EXISTS users (
    id ${ID} NOT NULL,
    username VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    display_name VARCHAR(100) NOT NULL,
    password_hash VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    is_admin TINYINT(1) NOT NULL,
    inbox_project_id ${ID} NULL,
    created_at DATETIME(3) NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_users_username (username),
    KEY idx_users_inbox (inbox_project_id),
    CONSTRAINT fk_users_inbox FOREIGN KEY (inbox_project_id) REFERENCES projects (id) ON DELETE SET NULL
  ) ${TABLE}`,

  `CREATE TABLE IF NOT EXISTS sessions (
    token_hash CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    user_id ${ID} NOT NULL,
    created_at DATETIME(3) NOT NULL,
    expires_at DATETIME(3) NOT NULL,
    PRIMARY KEY (token_hash),
    KEY idx_sessions_user (user_id),
    KEY idx_sessions_expires (expires_at, token_hash),
    CONSTRAINT fk_sessions_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
  ) ${TABLE}`,

  `CREATE TABLE IF NOT EXISTS project_members (
    project_id ${ID} NOT NULL,
    user_id ${ID} NOT NULL,
    role VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    created_at DATETIME(3) NOT NULL,
    PRIMARY KEY (project_id, user_id),
    KEY idx_members_user (user_id, project_id),
    CONSTRAINT fk_members_project FOREIGN KEY (project_id) REFERENCES projects (id) ON DELETE CASCADE,
    CONSTRAINT fk_members_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
  ) ${TABLE}`,

  `CREATE TABLE IF NOT EXISTS labels (
    id ${ID} NOT NULL,
    project_id ${ID} NOT NULL,
    name VARCHAR(50) NOT NULL,
    color CHAR(7) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    created_at DATETIME(3) NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_labels_project_name (project_id, name),
    CONSTRAINT fk_labels_project FOREIGN KEY (project_id) REFERENCES projects (id) ON DELETE CASCADE
  ) ${TABLE}`,

  `CREATE TABLE IF NOT EXISTS tasks (
    id ${ID} NOT NULL,
    project_id ${ID} NOT NULL,
    title VARCHAR(200) NOT NULL,
    description TEXT NOT NULL,
    status TINYINT UNSIGNED NOT NULL,
    priority TINYINT UNSIGNED NOT NULL,
    due_date DATE NULL,
    due_sort DATE NOT NULL,
    assignee_id ${ID} NULL,
    position VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    created_by ${ID} NOT NULL,
    created_at DATETIME(3) NOT NULL,
    updated_at DATETIME(3) NOT NULL,
    completed_at DATETIME(3) NULL,
    version INT UNSIGNED NOT NULL,
    PRIMARY KEY (id),
    KEY idx_tasks_board (project_id, status, position, id),
    KEY idx_tasks_assignee (assignee_id, project_id, status, position),
    KEY idx_tasks_due (project_id, due_sort, id),
    KEY idx_tasks_updated (project_id, updated_at, id),
    KEY idx_tasks_created (project_id, created_at, id),
    KEY idx_tasks_priority (project_id, priority, id),
    KEY idx_tasks_created_by (created_by),
    CONSTRAINT fk_tasks_project FOREIGN KEY (project_id) REFERENCES projects (id) ON DELETE CASCADE,
    CONSTRAINT fk_tasks_assignee FOREIGN KEY (assignee_id) REFERENCES users (id) ON DELETE SET NULL,
    CONSTRAINT fk_tasks_created_by FOREIGN KEY (created_by) REFERENCES users (id) ON DELETE RESTRICT
  ) ${TABLE}`,

  `CREATE TABLE IF NOT EXISTS task_labels (
    task_id ${ID} NOT NULL,
    label_id ${ID} NOT NULL,
    PRIMARY KEY (task_id, label_id),
    KEY idx_task_labels_label (label_id, task_id),
    CONSTRAINT fk_task_labels_task FOREIGN KEY (task_id) REFERENCES tasks (id) ON DELETE CASCADE,
    CONSTRAINT fk_task_labels_label FOREIGN KEY (label_id) REFERENCES labels (id) ON DELETE CASCADE
  ) ${TABLE}`,

  `CREATE TABLE IF NOT EXISTS comments (
    id ${ID} NOT NULL,
    task_id ${ID} NOT NULL,
    author_id ${ID} NOT NULL,
    body TEXT NOT NULL,
    created_at DATETIME(3) NOT NULL,
    PRIMARY KEY (id),
    KEY idx_comments_task (task_id, created_at, id),
    KEY idx_comments_author (author_id),
    CONSTRAINT fk_comments_task FOREIGN KEY (task_id) REFERENCES tasks (id) ON DELETE CASCADE,
    CONSTRAINT fk_comments_author FOREIGN KEY (author_id) REFERENCES users (id) ON DELETE RESTRICT
  ) ${TABLE}`,

  `CREATE TABLE IF NOT EXISTS idempotency (
    user_id ${ID} NOT NULL,
    idem_key VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    status SMALLINT UNSIGNED NOT NULL,
    body MEDIUMTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    log_index BIGINT UNSIGNED NOT NULL,
    created_at DATETIME(3) NOT NULL,
    PRIMARY KEY (user_id, idem_key),
    KEY idx_idempotency_created (created_at, user_id, idem_key)
  ) ${TABLE}`,

  `CREATE TABLE IF NOT EXISTS raft_applied (
    id TINYINT UNSIGNED NOT NULL,
    applied_index BIGINT UNSIGNED NOT NULL,
    applied_term BIGINT UNSIGNED NOT NULL,
    swept_index BIGINT UNSIGNED NOT NULL,
    PRIMARY KEY (id)
  ) ${TABLE}`,

  "INSERT IGNORE INTO raft_applied (id, applied_index, applied_term, swept_index) VALUES (1, 0, 0, 0)",

  `CREATE TABLE IF NOT EXISTS cluster_members (
    id VARCHAR(191) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    raft_address VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    api_url VARCHAR(1024) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    updated_index BIGINT UNSIGNED NOT NULL,
    PRIMARY KEY (id)
  ) ${TABLE}`,
];
