import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  formatMysqlUrl,
  MysqlUrlError,
  mysqlConnectionOptions,
  parseMysqlUrl,
  redactMysqlUrl,
  withDatabase,
} from "../../src/db/index.js";

describe("parseMysqlUrl", () => {
  it("parses user, password, host, port and database", () => {
    assert.deepEqual(parseMysqlUrl("mysql://app:s3cret@db.example.com:3310/tasks_1"), {
      user: "app",
      password: "s3cret",
      host: "db.example.com",
      port: 3310,
      database: "tasks_1",
    });
  });

  it("defaults the port to 3306 and the password to empty; no database for a root URL", () => {
    assert.deepEqual(parseMysqlUrl("mysql://root@127.0.0.1/"), {
      user: "root",
      password: "",
      host: "127.0.0.1",
      port: 3306,
    });
    assert.deepEqual(parseMysqlUrl("mysql://root@127.0.0.1:3307"), {
      user: "root",
      password: "",
      host: "127.0.0.1",
      port: 3307,
    });
  });

  it("decodes percent-encoded credentials", () => {
    const u = parseMysqlUrl("mysql://we%40ird:p%3Aa%2Fs%40s@localhost:3307/x");
    assert.equal(u.user, "we@ird");
    assert.equal(u.password, "p:a/s@s");
  });

  it("supports ?socket=, with or without a host", () => {
    const a = parseMysqlUrl("mysql://root@localhost/db1?socket=/tmp/my%20sock/mysqld.sock");
    assert.equal(a.socketPath, "/tmp/my sock/mysqld.sock");
    assert.equal(a.database, "db1");
    const b = parseMysqlUrl("mysql://root@/db1?socket=/run/mysqld/mysqld.sock");
    assert.equal(b.socketPath, "/run/mysqld/mysqld.sock");
    assert.equal(b.host, "localhost");
    assert.deepEqual(mysqlConnectionOptions(b), {
      user: "root",
      password: "",
      socketPath: "/run/mysqld/mysqld.sock",
      database: "db1",
    });
  });

  it("accepts IPv6 hosts and the mariadb:// scheme", () => {
    const u = parseMysqlUrl("mariadb://root@[::1]:3307/");
    assert.equal(u.host, "::1");
    assert.equal(u.port, 3307);
  });

  const bad: Array<[string, RegExp]> = [
    ["", /empty/],
    ["127.0.0.1:3306", /expected mysql:\/\//],
    ["postgres://u@h/db", /scheme must be mysql/],
    ["mysql://127.0.0.1:3306/db", /user name is required/],
    ["mysql://:pw@127.0.0.1/db", /user name is empty/],
    ["mysql://root@127.0.0.1:abc/db", /port must be a number/],
    ["mysql://root@127.0.0.1:0/db", /port must be a number/],
    ["mysql://root@127.0.0.1:70000/db", /port must be a number/],
    ["mysql://root@127.0.0.1:3306:1/db", /bad host/],
    ["mysql://root@/db", /host \(or \?socket=\/path\) is required/],
    ["mysql://root@h/db/extra", /bad database name/],
    ["mysql://root@h/bad;name", /bad database name/],
    ["mysql://root@h/db?sockett=/x", /unknown parameter "sockett"/],
    ["mysql://root@h/db?socket=", /needs a value/],
    ["mysql://root@h/db?socket=relative.sock", /absolute path/],
    ["mysql://root@h/db#frag", /fragment/],
    ["mysql://root@h /db", /whitespace|bad host/],
    ["mysql://ro%ZZot@h/db", /percent-encoding/],
  ];
  for (const [url, re] of bad) {
    it(`rejects ${JSON.stringify(url)}`, () => {
      assert.throws(
        () => parseMysqlUrl(url),
        (err: unknown) =>
          err instanceof MysqlUrlError && re.test(err.message) && /invalid MySQL URL/.test(err.message),
      );
    });
  }

  it("never puts the password into the error message", () => {
    assert.throws(
      () => parseMysqlUrl("mysql://app:topsecret@h:99999/db"),
      (err: unknown) =>
        err instanceof Error && !err.message.includes("topsecret") && err.message.includes("***"),
    );
  });
});

describe("URL helpers", () => {
  it("withDatabase replaces the database and keeps everything else", () => {
    assert.equal(withDatabase("mysql://root@127.0.0.1:3307/", "node1"), "mysql://root@127.0.0.1:3307/node1");
    assert.equal(withDatabase("mysql://u:p%40@h:1/old", "new_db"), "mysql://u:p%40@h:1/new_db");
    assert.equal(
      withDatabase("mysql://root@localhost/x?socket=/tmp/a.sock", "y"),
      "mysql://root@localhost:3306/y?socket=/tmp/a.sock",
    );
    assert.throws(() => withDatabase("mysql://root@h/", "no`pe"), /bad database name/);
  });

  it("formatMysqlUrl round-trips through parseMysqlUrl", () => {
    for (const url of [
      "mysql://root@127.0.0.1:3307/",
      "mysql://a%3Ab:c%2Fd@[::1]:3306/db_1",
      "mysql://root@localhost:3306/d?socket=/var/run/my.sock",
    ]) {
      const parsed = parseMysqlUrl(url);
      assert.deepEqual(parseMysqlUrl(formatMysqlUrl(parsed)), parsed);
    }
  });

  it("redactMysqlUrl hides only the password", () => {
    assert.equal(redactMysqlUrl("mysql://u:pw@h:1/d"), "mysql://u:***@h:1/d");
    assert.equal(redactMysqlUrl("mysql://u@h:1/d"), "mysql://u@h:1/d");
  });
});
