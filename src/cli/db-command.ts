import { resolve } from "node:path";
import { DbServerError, DEFAULT_DB_PORT, serverStatus, startServer, stopServer } from "../db/index.js";
import { CliError, type Command, parseFlags, parsePort } from "./command.js";

const USAGE = "usage: taskraft db start|stop|status [--data-dir DIR] [--port 3307]";

/** `taskraft db`: the private development database (API.md §1). */
export const dbCommand: Command = {
  name: "db",
  summary: "start, stop or inspect a private MariaDB server for development",
  async run(argv) {
    const { values, positionals } = parseFlags(
      argv,
      {
        "data-dir": { type: "string", default: ".taskraft/db" },
        port: { type: "string", default: String(DEFAULT_DB_PORT) },
        help: { type: "boolean", default: false },
      },
      USAGE,
      true,
    );
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    const action = positionals[0];
    if (positionals.length !== 1 || !action) throw new CliError(`expected one action\n${USAGE}`, 2);
    const dataDir = resolve(values["data-dir"]);
    const port = parsePort("port", values.port);
    try {
      switch (action) {
        case "start": {
          const url = await startServer({ dataDir, port });
          console.log(url);
          return 0;
        }
        case "stop":
          await stopServer({ dataDir });
          return 0;
        case "status": {
          const s = await serverStatus({ dataDir });
          console.log(
            `${s.state}${s.pid ? ` pid=${s.pid}` : ""}${s.url ? ` url=${s.url}` : ""}${s.version ? ` version=${s.version}` : ""}`,
          );
          return s.running ? 0 : 3;
        }
        default:
          throw new CliError(`unknown action '${action}'\n${USAGE}`, 2);
      }
    } catch (e) {
      if (e instanceof DbServerError) throw new CliError(e.message);
      throw e;
    }
  },
};
