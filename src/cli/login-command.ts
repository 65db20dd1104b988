/**
 * `taskraft login | signup | logout | whoami`: getting a token, keeping it in the token store
 * (src/cli/client/credentials.ts), and giving it back.
 */

import { credentialsPath } from "./client/credentials.js";
import { EXIT, EXIT_CODES_HELP } from "./client/exit-codes.js";
import { ApiCallError } from "./client/http.js";
import { fields, note, print, printJson } from "./client/output.js";
import { askHidden, askLine, interactive, readStdin } from "./client/prompt.js";
import type { User } from "./client/resolve.js";
import {
  COMMON_HELP,
  COMMON_OPTIONS,
  forgetLogin,
  openSession,
  rememberMembers,
  type Session,
  saveLogin,
  usageError,
} from "./client/session.js";
import type { Command } from "./command.js";
import { CliError, parseFlags } from "./command.js";

interface ClusterMembers {
  members: { apiUrl: string }[];
}

/** The members' API URLs, remembered for failover; a login must not fail because of this. */
async function learnMembers(session: Session): Promise<string[]> {
  try {
    const view = await session.client.get<ClusterMembers>("/api/v1/cluster");
    return view.body.members.map((m) => m.apiUrl);
  } catch {
    return [];
  }
}

async function credentialsFromUser(
  values: { username?: string | undefined; "password-stdin"?: boolean | undefined },
  usage: string,
  confirm: boolean,
): Promise<{ username: string; password: string }> {
  let username = values.username;
  if (username === undefined) {
    if (values["password-stdin"] || !interactive()) {
      throw usageError(
        "--username is required when the password comes from stdin or there is no terminal",
        usage,
      );
    }
    username = await askLine("username: ");
  }
  if (username === "") throw usageError("the username is empty", usage);
  let password: string;
  if (values["password-stdin"]) password = await readStdin();
  else {
    password = await askHidden("password: ");
    if (confirm && (await askHidden("password again: ")) !== password) {
      throw new CliError("the passwords differ", EXIT.usage);
    }
  }
  if (password === "") throw usageError("the password is empty", usage);
  return { username, password };
}

async function authenticate(kind: "login" | "signup", argv: string[]): Promise<number> {
  const usage =
    kind === "login"
      ? "usage: taskraft login [--username U] [--password-stdin] [--url URL,…]"
      : "usage: taskraft signup [--username U] [--display-name NAME] [--password-stdin] [--url URL,…]";
  const { values, positionals } = parseFlags(
    argv,
    {
      ...COMMON_OPTIONS,
      username: { type: "string", short: "u" },
      "password-stdin": { type: "boolean", default: false },
      ...(kind === "signup" ? { "display-name": { type: "string" } } : {}),
    },
    usage,
    true,
  );
  if (values.help) {
    print(
      [
        usage,
        "",
        kind === "login"
          ? "Logs in and stores the token (mode 0600) under $XDG_CONFIG_HOME/taskraft/credentials.json\n(default ~/.config/taskraft/), keyed by the --url set; that cluster becomes the default."
          : "Creates an account (the first one of a cluster is an admin), logs in and stores the token\nlike `taskraft login`.",
        "The password is asked for on the terminal without echo; --password-stdin reads it from stdin.",
        "",
        COMMON_HELP,
        "",
        EXIT_CODES_HELP,
      ].join("\n"),
    );
    return 0;
  }
  if (positionals.length > 0) throw usageError(`unexpected argument '${positionals[0]}'`, usage);
  const session = openSession(values, { needToken: false });
  session.client.setToken(undefined);
  const { username, password } = await credentialsFromUser(values, usage, kind === "signup");
  const displayName = (values as { "display-name"?: string })["display-name"];
  const body =
    kind === "login"
      ? { username, password }
      : { username, password, ...(displayName !== undefined ? { displayName } : {}) };
  const answer = await session.client.post<{ user: User; token: string }>(`/api/v1/auth/${kind}`, {
    body,
    auth: false,
  });
  const { user, token } = answer.body;
  session.client.setToken(token);
  const members = await learnMembers(session);
  const path = saveLogin(session.seeds, {
    members: [...new Set(members)].sort(),
    token,
    user: { id: user.id, username: user.username, isAdmin: user.isAdmin },
  });
  if (session.json) printJson({ user, credentials: path, urls: session.seeds });
  else {
    print(
      `${kind === "login" ? "logged in" : "signed up and logged in"} as ${user.username}${user.isAdmin ? " (admin)" : ""} on ${session.seeds.join(",")}`,
    );
    note(`token stored in ${path}`);
  }
  return 0;
}

export const loginCommand: Command = {
  name: "login",
  summary: "log in to a cluster and store the token",
  run: (argv) => authenticate("login", argv),
};

export const signupCommand: Command = {
  name: "signup",
  summary: "create an account, log in and store the token",
  run: (argv) => authenticate("signup", argv),
};

const LOGOUT_USAGE = "usage: taskraft logout [--url URL,…]";

export const logoutCommand: Command = {
  name: "logout",
  summary: "revoke the stored token on the cluster and forget it",
  async run(argv) {
    const { values, positionals } = parseFlags(argv, { ...COMMON_OPTIONS }, LOGOUT_USAGE, true);
    if (values.help) {
      print(
        [
          LOGOUT_USAGE,
          "",
          "Revokes the token on every node and removes it from the token store.",
          "",
          COMMON_HELP,
          "",
          EXIT_CODES_HELP,
        ].join("\n"),
      );
      return 0;
    }
    if (positionals.length > 0) throw usageError(`unexpected argument '${positionals[0]}'`, LOGOUT_USAGE);
    const session = openSession(values, { needToken: true });
    let revoked = true;
    try {
      await session.client.post("/api/v1/auth/logout");
    } catch (e) {
      // 401: the token was already revoked or expired — the goal is reached. Anything else: the
      // token may still work, so keep it for a later `taskraft logout`.
      if (!(e instanceof ApiCallError && e.status === 401)) throw e;
      revoked = false;
    }
    const forgot = forgetLogin(session);
    if (session.json) printJson({ loggedOut: true, revoked, forgotten: forgot });
    else print(revoked ? "logged out" : "logged out (the token was no longer valid)");
    return 0;
  },
};

const WHOAMI_USAGE = "usage: taskraft whoami [--url URL,…] [--json]";

export const whoamiCommand: Command = {
  name: "whoami",
  summary: "show the user of the stored token",
  async run(argv) {
    const { values, positionals } = parseFlags(argv, { ...COMMON_OPTIONS }, WHOAMI_USAGE, true);
    if (values.help) {
      print([WHOAMI_USAGE, "", COMMON_HELP, "", EXIT_CODES_HELP].join("\n"));
      return 0;
    }
    if (positionals.length > 0) throw usageError(`unexpected argument '${positionals[0]}'`, WHOAMI_USAGE);
    const session = openSession(values, { needToken: true });
    const answer = await session.client.get<{ user: User }>("/api/v1/me");
    const user = answer.body.user;
    rememberMembers(session, await learnMembers(session));
    if (session.json) {
      printJson({ user, node: answer.node ?? null, urls: session.client.urls });
      return 0;
    }
    print(
      fields([
        ["username", user.username],
        ["name", user.displayName],
        ["id", user.id],
        ["admin", user.isAdmin ? "yes" : "no"],
        ["since", user.createdAt],
        ["cluster", session.seeds.join(",")],
        ["answered by", `${answer.node ?? "?"} (${answer.baseUrl})`],
        ["token store", credentialsPath()],
      ]),
    );
    return 0;
  },
};
