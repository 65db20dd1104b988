export {
  type EnsureInstalledOptions,
  ensureMariadbInstalled,
  findMariadbBinaries,
  MANUAL_INSTALL_COMMAND,
  type MariadbBinaries,
  parseServerVersion,
  type ServerVersion,
  serverVersion,
} from "./binaries.js";
export { type DbLog, DbServerError, silentLog, stderrLog } from "./errors.js";
export {
  connectServer,
  createDatabase,
  createScratchDatabase,
  dropDatabase,
  type ScratchDatabase,
} from "./helpers.js";
export {
  DEFAULT_DB_HOST,
  DEFAULT_DB_PORT,
  removeDataDir,
  type ServerPaths,
  type ServerStatus,
  type StartServerOptions,
  type StopServerOptions,
  serverPaths,
  serverStatus,
  serverUrl,
  startServer,
  stopServer,
} from "./server.js";
export { repoRoot, TEST_DB_PORT, testDatabase, testMysqlUrl } from "./test-db.js";
export {
  formatMysqlUrl,
  isValidDatabaseName,
  type MysqlUrl,
  MysqlUrlError,
  mysqlConnectionOptions,
  parseMysqlUrl,
  redactMysqlUrl,
  withDatabase,
} from "./url.js";
