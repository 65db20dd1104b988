import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createConnection } from "mysql2/promise";
import { mysqlConnectionOptions, testDatabase, testMysqlUrl } from "../../src/db/index.js";

describe("testMysqlUrl", () => {
  it("returns TASKRAFT_MYSQL_URL when set, and rejects a malformed one", async () => {
    const saved = process.env["TASKRAFT_MYSQL_URL"];
    try {
      process.env["TASKRAFT_MYSQL_URL"] = "mysql://someone:pw@db.internal:3306/";
      assert.equal(await testMysqlUrl(), "mysql://someone:pw@db.internal:3306/");
      process.env["TASKRAFT_MYSQL_URL"] = "http://nope";
      await assert.rejects(testMysqlUrl(), /invalid MySQL URL/);
    } finally {
      if (saved === undefined) delete process.env["TASKRAFT_MYSQL_URL"];
      else process.env["TASKRAFT_MYSQL_URL"] = saved;
    }
  });

  it("gives a usable server, and a scratch database per test", async () => {
    const [a, b] = await Promise.all([testMysqlUrl(), testMysqlUrl()]);
    assert.equal(a, b);
    const db = await testDatabase("dbtest");
    try {
      const conn = await createConnection(mysqlConnectionOptions(db.url));
      try {
        await conn.query("CREATE TABLE x (id INT PRIMARY KEY)");
        await conn.query("INSERT INTO x VALUES (1), (2)");
        const [rows] = await conn.query("SELECT COUNT(*) AS n FROM x");
        assert.equal(Number((rows as Array<{ n: number }>)[0]?.n), 2);
      } finally {
        await conn.end();
      }
    } finally {
      await db.drop();
    }
  });
});
