/**
 * The subset of a pino logger storage needs; a pino `Logger` satisfies it, and
 * tests can pass a recorder without pulling in a transport.
 */
export interface StorageLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export const silentLogger: StorageLogger = {
  info() {},
  warn() {},
  error() {},
};
