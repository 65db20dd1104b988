import * as m0001 from "./0001-initial.js";

export interface Migration {
  version: number;
  name: string;
  /** Run in order; each must be safe to run again (a crash may interrupt a migration between DDL statements). */
  statements: readonly string[];
}

/** Every migration, oldest first. A new one is a new module appended here; released ones never change. */
export const MIGRATIONS: readonly Migration[] = [m0001];
