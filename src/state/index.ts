export { type ApplyStats, BATCH_SIZE_BUCKETS } from "./apply-stats.js";
export {
  COMMAND_TYPES,
  COMMAND_VERSION,
  type Command,
  CommandError,
  type CommandInput,
  type CommandType,
  type DecodeResult,
  decodeCommand,
  encodeCommand,
  type Idem,
  validateCommand,
} from "./commands.js";
export {
  ConsistencyError,
  type ConsistencyOptions,
  type ConsistencyReport,
  checkConsistency,
  type RowDifference,
  type TableReport,
  tableChecksums,
} from "./consistency.js";
export * from "./limits.js";
export type { Comment, Label, Member, Project, Task, User } from "./mapping.js";
export { migrate } from "./migrate.js";
export { MysqlStateMachine, type MysqlStateMachineOptions, type StateLogger } from "./mysql-state-machine.js";
export { isValidPosition, PositionError, positionBetween, spreadPositions } from "./position.js";
export {
  getAppliedIndex,
  getComment,
  getLoginByUsername,
  getProject,
  getTask,
  getUser,
  getUserByTokenHash,
  listComments,
  listLabels,
  listMembers,
  listProjects,
  listTasks,
  type Page,
  QueryError,
  TASK_SORTS,
  type TaskFilters,
  type TaskSort,
} from "./queries.js";
export {
  type ApplyResult,
  type ErrorBody,
  type ErrorCode,
  type EventType,
  type FieldProblem,
  isRefusal,
  type StateEvent,
} from "./results.js";
export { openPool } from "./sql.js";
export { REPLICATED_TABLES } from "./tables.js";
