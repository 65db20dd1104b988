/**
 * What the client commands' exit status means (docs/CLI.md). Scripts branch on these, so they
 * never change meaning: 3 is worth retrying later, 4 means re-read and decide, 5 means log in.
 */
export const EXIT = {
  ok: 0,
  /** The server refused the request (400, 403, 404, 413, 415, 500) or a name did not resolve. */
  refused: 1,
  /** Bad command line: unknown flag, missing argument, invalid value, ambiguous name. */
  usage: 2,
  /** No node reachable, or the cluster stayed unavailable (503/504/429) through every retry. */
  unavailable: 3,
  /** 409 conflict (name taken, already a member …) or 412 `--if-version` did not match. */
  conflict: 4,
  /** 401: not logged in, token revoked or expired, wrong username or password. */
  unauthorized: 5,
  /** Cancelled at a prompt with Ctrl-C (the shell's 128 + SIGINT). */
  cancelled: 130,
} as const;

/** The exit status for an HTTP error status of the API. */
export function exitCodeForStatus(status: number): number {
  if (status === 401) return EXIT.unauthorized;
  if (status === 409 || status === 412) return EXIT.conflict;
  if (status === 429 || status === 503 || status === 504) return EXIT.unavailable;
  return EXIT.refused;
}

export const EXIT_CODES_HELP = [
  "exit status:",
  "  0  ok",
  "  1  the server refused the request, or it names something that does not exist",
  "  2  usage error (bad flag or value, missing argument, ambiguous name)",
  "  3  no node reachable, or the cluster unavailable through every retry (503/504/429)",
  "  4  conflict (409) or --if-version did not match (412)",
  "  5  unauthorized: not logged in, or the token is revoked or expired (401)",
].join("\n");
