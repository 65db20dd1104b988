/**
 * An error meant to be shown to the user as is: one actionable sentence (plus, for
 * startup failures, the tail of the server's error log on the following lines).
 */
export class DbServerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DbServerError";
  }
}

export type DbLog = (line: string) => void;

/** Progress goes to stderr so that stdout stays free for the URL the CLI prints last. */
export const stderrLog: DbLog = (line) => {
  process.stderr.write(`${line}\n`);
};

export const silentLog: DbLog = () => {};
