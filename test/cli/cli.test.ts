/**
 * The `taskraft` client commands against a real 3-node cluster, run as subprocesses the way a
 * user or a script runs them: login and the token file, projects, tasks, `--json` output,
 * exit codes, failover when the first URL's node is down, and a membership walk-through
 * (add two nodes, remove one, transfer leadership, snapshot) ending in check-consistency.
 * One cluster for the whole file, tests in order: later ones build on earlier ones' data.
 */
import assert from "node:assert/strict";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Cluster, freePorts, uniqueName } from "../api/harness.js";
import { haveScript, runCli, runInTerminal, User } from "./run.js";

const PASSWORD = "correct horse battery";

// biome-ignore lint/suspicious/noExplicitAny: parsed --json output, checked field by field
type Json = any;

function urlsOf(cluster: Cluster, ids = cluster.ids): string {
  return ids.map((id) => cluster.url(id)).join(",");
}

describe("taskraft CLI against a cluster", () => {
  const cluster = new Cluster({ name: "cli" });
  let admin: User;
  let bob: User;
  let adminName = "";
  let bobName = "";
  let garden: Json;
  const extraUsers: User[] = [];

  before(async () => {
    await cluster.start();
    admin = new User(urlsOf(cluster));
    bob = new User(urlsOf(cluster));
    adminName = uniqueName("root");
    bobName = uniqueName("bob");
  });
  after(async () => {
    await cluster.close();
    for (const u of [admin, bob, ...extraUsers]) u?.dispose();
  });

  test("signup, login, whoami and logout; the token file is 0600 and keyed by the URL set", async () => {
    const up = await admin.run(["signup", "--username", adminName, "--password-stdin"], {
      input: `${PASSWORD}\n`,
    });
    assert.equal(up.code, 0, up.stderr);
    assert.match(up.stdout, new RegExp(`signed up and logged in as ${adminName} \\(admin\\)`));
    const file = join(admin.configDir, "taskraft", "credentials.json");
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(join(admin.configDir, "taskraft")).mode & 0o777, 0o700);
    const stored = JSON.parse(readFileSync(file, "utf8"));
    const key = cluster.ids
      .map((id) => cluster.url(id))
      .sort()
      .join(",");
    assert.equal(stored.current, key);
    assert.equal(stored.clusters[key].user.username, adminName);
    assert.equal(stored.clusters[key].members.length, 3, "the members' apiUrls are remembered");

    const who = await admin.json(["whoami"]);
    assert.equal(who.user.username, adminName);
    assert.equal(who.user.isAdmin, true);
    // The same cluster named in another order finds the same token.
    const reordered = [...urlsOf(cluster).split(",")].reverse().join(",");
    assert.equal((await admin.run(["whoami"], { env: { TASKRAFT_URL: reordered } })).code, 0);

    await bob.ok(["signup", "--username", bobName, "--password-stdin"], { input: PASSWORD });
    assert.equal((await bob.json(["whoami"])).user.isAdmin, false);

    const taken = await bob.run(["signup", "--username", bobName, "--password-stdin"], { input: PASSWORD });
    assert.equal(taken.code, 4, "username taken: conflict");
    const wrong = await bob.run(["login", "--username", bobName, "--password-stdin"], {
      input: "not the password",
    });
    assert.equal(wrong.code, 5, wrong.stderr);
    assert.match(wrong.stderr, /^taskraft: The username or the password is wrong\.\n$/);
    const noTty = await bob.run(["login", "--username", bobName]);
    assert.equal(noTty.code, 2, "no terminal and no --password-stdin");
    assert.match(noTty.stderr, /--password-stdin/);

    // Logout revokes on the cluster and forgets locally; the old token no longer works anywhere.
    const token = stored.clusters[key].token as string;
    const out = await admin.run(["logout"]);
    assert.equal(out.code, 0, out.stderr);
    assert.equal((await admin.run(["whoami"])).code, 5, "no stored token");
    const revoked = await admin.run(["whoami"], {
      env: { TASKRAFT_TOKEN: token, TASKRAFT_URL: cluster.url("n3") },
    });
    assert.equal(revoked.code, 5, revoked.stderr);
    await admin.ok(["login", "--username", adminName, "--password-stdin"], { input: PASSWORD });
    assert.equal((await admin.json(["whoami"])).user.username, adminName);
  });

  test("login on a terminal asks for the username, and for the password without echoing it", {
    skip: haveScript() ? false : "no `script` command to provide a terminal",
  }, async () => {
    const env = { XDG_CONFIG_HOME: bob.configDir, TASKRAFT_URL: bob.url };
    const r = await runInTerminal(["login"], env, [
      ["username: ", bobName],
      ["password: ", PASSWORD],
    ]);
    assert.equal(r.code, 0, r.screen);
    assert.match(r.screen, new RegExp(`username: .*${bobName}`, "s"));
    assert.ok(!r.screen.includes(PASSWORD), `the password was echoed: ${r.screen}`);
    assert.match(r.screen, new RegExp(`logged in as ${bobName}`));
    const cancelled = await runInTerminal(["login", "--username", bobName], env, [["password: ", "\u0003"]]);
    assert.equal(cancelled.code, 130, cancelled.screen);
  });

  test("projects, members and labels", async () => {
    garden = await admin.json(["project", "add", "Garden", "--description", "veg"]);
    assert.equal(garden.name, "Garden");
    assert.equal(garden.version, 1);
    const temp = await admin.json(["project", "add", "Temp", "stuff"]);
    assert.equal(temp.name, "Temp stuff", "several words make one name");
    const list = await admin.json(["project", "ls"]);
    assert.deepEqual(list.items.map((p: Json) => p.name).sort(), ["Garden", "Inbox", "Temp stuff"]);
    const human = await admin.ok(["project", "ls"]);
    assert.match(human, /^ID +NAME +VERSION +UPDATED +DESCRIPTION\n/);
    assert.match(human, /Garden +1 +\S+ +veg/);

    const label = await admin.json(["project", "add-label", "garden", "bug", "--color", "#D73A4A"]);
    assert.equal(label.color, "#d73a4a");
    await admin.ok(["project", "add-label", "Garden", "chore"]);
    const labels = await admin.json(["project", "labels", garden.id]);
    assert.deepEqual(labels.items.map((l: Json) => l.name).sort(), ["bug", "chore"]);
    assert.equal(
      (await admin.run(["project", "add-label", "Garden", "BUG"])).code,
      4,
      "duplicate label name",
    );

    const member = await admin.json(["project", "add-member", "Garden", bobName]);
    assert.equal(member.role, "member");
    const owner = await admin.json(["project", "add-member", "Garden", bobName, "--role", "owner"]);
    assert.equal(owner.role, "owner");
    const members = await admin.json(["project", "members", "Garden"]);
    assert.deepEqual(members.items.map((m: Json) => m.username).sort(), [adminName, bobName].sort());
    assert.ok((await bob.json(["project", "ls"])).items.some((p: Json) => p.id === garden.id));

    const renamed = await admin.json(["project", "rename", "Garden", "Veg", "Garden", "--if-version", "1"]);
    assert.equal(renamed.name, "Veg Garden");
    assert.equal(renamed.version, 2);
    const stale = await admin.run(["project", "rename", "Veg Garden", "Other", "--if-version", "1"]);
    assert.equal(stale.code, 4, stale.stderr);

    assert.deepEqual(await admin.json(["project", "rm", "Temp stuff"]), { id: temp.id, deleted: true });
    assert.equal((await admin.run(["project", "members", "Temp stuff"])).code, 1, "gone");
    assert.equal((await admin.run(["project", "rm", "Inbox"])).code, 4, "an Inbox cannot be deleted");
  });

  test("tasks: add with names resolved, ls filters, show, edit with --if-version, move, rm", async () => {
    const milk = await admin.json([
      "task",
      "add",
      "Buy",
      "milk",
      "--project",
      "Veg Garden",
      "--priority",
      "high",
      "--due",
      "2026-12-01",
      "--label",
      "bug",
      "--label",
      "chore",
      "--assignee",
      bobName,
      "--description",
      "two litres",
    ]);
    assert.equal(milk.title, "Buy milk");
    assert.equal(milk.projectId, garden.id);
    assert.equal(milk.priority, "high");
    assert.equal(milk.dueDate, "2026-12-01");
    assert.equal(milk.labelIds.length, 2);
    assert.equal(milk.assigneeId, (await bob.json(["whoami"])).user.id);
    assert.equal(milk.description, "two litres");
    assert.equal(milk.version, 1);

    const dog = await admin.json(["task", "add", "Walk the dog", "--status", "in-progress"]);
    const inbox = (await admin.json(["project", "ls"])).items.find((p: Json) => p.name === "Inbox");
    assert.equal(dog.projectId, inbox.id, "default project: the Inbox");
    assert.equal(dog.status, "in_progress");
    const inboxLabel = await admin.json(["project", "add-label", "Inbox", "home"]);
    const tagged = await admin.json(["task", "add", "Water plants", "--label", "home", "--assignee", "me"]);
    assert.deepEqual(tagged.labelIds, [inboxLabel.id], "labels resolve in the Inbox by default");

    const ids = async (args: string[]) =>
      ((await admin.json(["task", "ls", ...args])).items as Json[]).map((t) => t.id).sort();
    const filters: [string[], string[]][] = [
      [["--project", "Veg Garden"], [milk.id]],
      [["--label", "bug"], [milk.id]],
      [["--assignee", bobName], [milk.id]],
      [["--q", "MILK"], [milk.id]],
      [["--due-before", "2027-01-01", "--priority", "high"], [milk.id]],
      [["--status", "in_progress"], [dog.id]],
      [["--due-after", "2027-01-01"], []],
    ];
    const found = await Promise.all(filters.map(([args]) => ids(args)));
    for (const [i, [args, want]] of filters.entries()) assert.deepEqual(found[i], want, args.join(" "));
    assert.deepEqual(await ids(["--sort", "updated"]), await ids(["--sort=-updatedAt"]));
    assert.equal(
      (await admin.json(["task", "ls", "--sort", "priority"])).items[0].id,
      milk.id,
      "most urgent first",
    );
    const table = await admin.ok(["task", "ls", "--sort", "createdAt"]);
    assert.match(table, /^ID +STATUS +PRIORITY +DUE +PROJECT +TITLE\n/);
    assert.match(table, new RegExp(`${milk.id} +todo +high +2026-12-01 +Veg Garden +Buy milk`));

    assert.equal((await admin.json(["task", "show", milk.id])).id, milk.id);
    const shown = await admin.ok(["task", "show", milk.id]);
    assert.match(shown, new RegExp(`assignee: +${bobName}`));
    assert.match(shown, /labels: +(bug, chore|chore, bug)/);
    assert.match(shown, /project: +Veg Garden/);

    const done = await admin.json(["task", "edit", milk.id, "--status", "done", "--if-version", "1"]);
    assert.equal(done.version, 2);
    assert.ok(done.completedAt);
    const conflict = await admin.run([
      "task",
      "edit",
      milk.id,
      "--title",
      "Lost update",
      "--if-version",
      "1",
    ]);
    assert.equal(conflict.code, 4);
    assert.match(conflict.stderr, /version/i);
    const cleared = await admin.json([
      "task",
      "edit",
      milk.id,
      "--due",
      "none",
      "--assignee",
      "none",
      "--no-labels",
    ]);
    assert.equal(cleared.dueDate, null);
    assert.equal(cleared.assigneeId, null);
    assert.deepEqual(cleared.labelIds, []);
    const relabelled = await admin.json([
      "task",
      "edit",
      milk.id,
      "--label",
      "chore",
      "--title",
      "Buy oat milk",
    ]);
    assert.equal(relabelled.labelIds.length, 1);
    assert.equal(relabelled.title, "Buy oat milk");

    // Moves within a column: C before A gives C, A, B; then A to another column.
    const col: Json[] = [];
    for (const t of ["A", "B", "C"])
      col.push(await admin.json(["task", "add", `col ${t}`, "-p", "Veg Garden"]));
    const moved = await admin.json(["task", "move", col[2].id, "--before", col[0].id]);
    assert.equal(moved.status, "todo");
    const order = await admin.json(["task", "ls", "--project", "Veg Garden", "--status", "todo"]);
    assert.deepEqual(
      order.items.map((t: Json) => t.title),
      ["col C", "col A", "col B"],
    );
    const across = await admin.json(["task", "move", col[0].id, "--status", "in_progress"]);
    assert.equal(across.status, "in_progress");
    assert.equal(
      (await admin.run(["task", "move", col[0].id, "--before", col[1].id, "--after", col[2].id])).code,
      2,
    );

    // Pages: --limit alone is one page with a cursor; --all follows every cursor.
    const page = await admin.json(["task", "ls", "--project", "Veg Garden", "--limit", "2"]);
    assert.equal(page.items.length, 2);
    assert.ok(page.nextCursor);
    const all = await admin.json(["task", "ls", "--project", "Veg Garden", "--limit", "2", "--all"]);
    assert.equal(all.items.length, 4);
    assert.equal(all.nextCursor, null);
    assert.equal(new Set(all.items.map((t: Json) => t.id)).size, 4);

    assert.equal((await admin.run(["task", "rm", col[1].id, "--if-version", "7"])).code, 4);
    assert.deepEqual(await admin.json(["task", "rm", col[1].id, "--if-version", "1"]), {
      id: col[1].id,
      deleted: true,
    });
    assert.equal((await admin.run(["task", "show", col[1].id])).code, 1);

    // A command run twice with one key applies once (a script's own retry).
    const once1 = await admin.json(["task", "add", "Exactly once", "--idempotency-key", "cli-test-key-1"]);
    const once2 = await admin.json(["task", "add", "Exactly once", "--idempotency-key", "cli-test-key-1"]);
    assert.equal(once1.id, once2.id);
    assert.equal((await admin.json(["task", "ls", "--q", "Exactly once"])).items.length, 1);

    // Bob sees Veg Garden's tasks (his own Inbox is empty), never the admin's Inbox; once removed, none.
    assert.ok((await bob.json(["task", "ls"])).items.every((t: Json) => t.projectId === garden.id));
    await admin.ok(["project", "remove-member", "Veg Garden", bobName]);
    assert.deepEqual((await bob.json(["task", "ls"])).items, []);
  });

  test("exit codes and one-line errors", async () => {
    const bad = await admin.run(["task", "ls", "--bogus"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /Unknown option '--bogus'/);
    const usage: [string[], string][] = [
      [["task", "add"], "missing title"],
      [["task", "add", "x", "--due", "2026-02-30"], "not a date"],
      [["task", "ls", "--status", "later"], "not a status"],
      [["task", "frobnicate"], "unknown action"],
      [["cluster", "add", "n9"], "--raft and --api are needed"],
      [["project", "rename", "Inbox"], "missing new name"],
    ];
    const codes = await Promise.all(usage.map(([args]) => admin.run(args)));
    for (const [i, [, why]] of usage.entries()) assert.equal(codes[i]!.code, 2, why);

    const missing = await admin.run(["task", "show", "00000000-0000-4000-8000-000000000000"]);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, "taskraft: The task does not exist.\n");
    const long = await admin.run(["task", "add", "x".repeat(201)]);
    assert.equal(long.code, 1);
    assert.match(long.stderr, /^taskraft: .*\(title: .*200.*\)\n$/);
    assert.equal((await admin.run(["project", "members", "No such project"])).code, 1);
    const forbidden = await bob.run(["cluster", "snapshot"]);
    assert.equal(forbidden.code, 1, "403: refused");
    assert.match(forbidden.stderr, /administrator/);

    const nobody = new User(urlsOf(cluster));
    extraUsers.push(nobody);
    const unauth = await nobody.run(["task", "ls"]);
    assert.equal(unauth.code, 5);
    assert.match(unauth.stderr, /not logged in .* taskraft login/);

    const [deadPort] = await freePorts(1);
    const down = await admin.run(["task", "ls", "--url", `http://127.0.0.1:${deadPort}`, "--timeout", "2"], {
      env: { TASKRAFT_TOKEN: "whatever" },
    });
    assert.equal(down.code, 3);
    assert.match(down.stderr, /no node answered .*connection refused/);

    const help = await admin.run(["task", "--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /exit status:\n {2}0 {2}ok\n {2}1 .*\n {2}2 .*\n {2}3 .*\n {2}4 .*\n {2}5 /);
  });

  test("failover: with the first URL's node killed, commands go to the next node, and to remembered members", async () => {
    const leader = await cluster.leader();
    const others = cluster.ids.filter((id) => id !== leader);
    const leaderFirst = urlsOf(cluster, [leader, ...others]);
    // Carol only ever names the leader's URL; her login remembered the other members.
    const carol = new User(cluster.url(leader));
    extraUsers.push(carol);
    await carol.ok(["signup", "--username", uniqueName("carol"), "--password-stdin"], { input: PASSWORD });
    await carol.ok(["task", "add", "before the crash"]);

    await cluster.kill(leader);
    const t0 = Date.now();
    const created = await admin.json(["task", "add", "during failover", "--verbose"], {
      env: { TASKRAFT_URL: leaderFirst },
    });
    assert.ok(created.id);
    assert.ok(Date.now() - t0 < 30_000);
    const found = await admin.json(["task", "ls", "--q", "during failover"], {
      env: { TASKRAFT_URL: leaderFirst },
    });
    assert.equal(found.items.length, 1, "retries did not duplicate the task");

    const carols = await carol.json(["task", "ls"]);
    assert.deepEqual(
      carols.items.map((t: Json) => t.title),
      ["before the crash"],
    );

    const status = await admin.json(["cluster", "status"], { env: { TASKRAFT_URL: leaderFirst } });
    const dead = status.nodes.find((n: Json) => n.id === leader);
    assert.equal(dead.api.reachable, false);
    assert.equal(dead.view, null);
    assert.notEqual(status.leaderId, leader);
    assert.ok(others.includes(status.leaderId));

    cluster.spawn(leader);
    await cluster.waitReady(leader);
    await cluster.waitForLeader();
  });

  test("membership walk-through: add two nodes, remove one, transfer leadership, snapshot, consistent", async () => {
    for (const id of ["n4", "n5"]) {
      const n = await cluster.defineJoiner(id);
      cluster.spawn(id);
      const added = await admin.json([
        "cluster",
        "add",
        id,
        "--raft",
        `127.0.0.1:${n.raftPort}`,
        "--api",
        `http://127.0.0.1:${n.apiPort}`,
        "--wait",
      ]);
      assert.equal(added.id, id);
      assert.equal(added.voter, true);
    }
    const five = await admin.json(["cluster", "status"]);
    assert.deepEqual(five.nodes.map((n: Json) => n.id).sort(), ["n1", "n2", "n3", "n4", "n5"]);
    assert.ok(five.nodes.every((n: Json) => n.voter && n.api.reachable));
    assert.equal(five.nodes.filter((n: Json) => n.leader).length, 1);
    const leaderRow = five.nodes.find((n: Json) => n.leader);
    assert.equal(leaderRow.id, five.leaderId);
    for (const n of five.nodes) {
      assert.equal(typeof n.matchIndex, "number", `leader's match index for ${n.id}`);
      assert.equal(n.view.term, five.term);
      for (const k of ["commitIndex", "appliedIndex", "lastLogIndex", "snapshotIndex"]) {
        assert.equal(typeof n.view[k], "number");
      }
      if (!n.leader) assert.equal(typeof n.reachable, "boolean");
    }
    const text = await admin.ok(["cluster", "status"]);
    assert.match(text, new RegExp(`^leader ${five.leaderId}, term \\d+; 5 voters`));
    assert.match(text, new RegExp(`\\* +${five.leaderId} +leader +voter`));
    assert.match(text, /NODE +ROLE +VOTER +TERM +COMMIT +APPLIED +LAST +SNAPSHOT +MATCH +CONTACT +REACHABLE/);

    assert.deepEqual(await admin.json(["cluster", "remove", "n5", "--wait"]), { id: "n5", removed: true });
    await cluster.kill("n5");
    const four = await admin.json(["cluster", "status"]);
    assert.deepEqual(four.nodes.map((n: Json) => n.id).sort(), ["n1", "n2", "n3", "n4"]);

    const moved = await admin.json(["cluster", "transfer", "n4"]);
    assert.equal(moved.leaderId, "n4");
    assert.equal(await cluster.waitForLeader(), "n4");
    assert.equal((await admin.json(["cluster", "status"])).leaderId, "n4");
    assert.equal((await admin.run(["cluster", "transfer", "n5"])).code, 1, "n5 is no voter any more");

    const snap = await admin.json(["cluster", "snapshot", "--node", "n2"]);
    assert.equal(snap.node, "n2");
    assert.ok(snap.index > 0);
    assert.ok(
      (await admin.json(["cluster", "status"])).nodes.find((n: Json) => n.id === "n2").view.snapshotIndex >=
        snap.index,
    );

    await admin.ok(["task", "add", "after the membership changes"]);
    const urls = ["n1", "n2", "n3", "n4"].map((id) => cluster.nodes.get(id)!.db.url).join(",");
    const check = await runCli(["check-consistency", "--mysql-url", urls]);
    assert.equal(check.code, 0, check.stdout + check.stderr);
    assert.match(check.stdout, /\nconsistent\n$/);
  });
});
