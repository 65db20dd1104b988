import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  DbServerError,
  ensureMariadbInstalled,
  findMariadbBinaries,
  type MariadbBinaries,
  parseServerVersion,
} from "../../src/db/index.js";

const none = (): MariadbBinaries => ({ missing: ["server", "installDb", "admin"] });

describe("findMariadbBinaries", () => {
  it("reports found paths and the missing roles consistently", () => {
    const b = findMariadbBinaries();
    for (const role of ["server", "installDb", "admin"] as const) {
      assert.equal(b[role] === undefined, b.missing.includes(role), role);
    }
  });
});

describe("parseServerVersion", () => {
  it("recognises MariaDB and MySQL", () => {
    assert.deepEqual(
      parseServerVersion(
        "mariadbd  Ver 10.11.6-MariaDB-0+deb12u1 for debian-linux-gnu on x86_64 (Debian 12)",
      ),
      { full: "10.11.6-MariaDB-0+deb12u1", flavor: "mariadb", major: "10.11" },
    );
    assert.deepEqual(
      parseServerVersion("/usr/sbin/mysqld  Ver 8.0.36 for Linux on x86_64 (MySQL Community Server - GPL)"),
      {
        full: "8.0.36",
        flavor: "mysql",
        major: "8.0",
      },
    );
    assert.equal(parseServerVersion("garbage"), undefined);
  });
});

describe("ensureMariadbInstalled", () => {
  it("returns at once when the server is present", async () => {
    const present: MariadbBinaries = {
      server: "/x/mariadbd",
      installDb: "/x/mariadb-install-db",
      missing: ["admin"],
    };
    let ran = false;
    const b = await ensureMariadbInstalled({
      findBinaries: () => present,
      run: async () => {
        ran = true;
        return 0;
      },
      log: () => {},
    });
    assert.equal(b, present);
    assert.equal(ran, false);
  });

  it("tells a non-root Debian user the exact command", async () => {
    await assert.rejects(
      ensureMariadbInstalled({ findBinaries: none, isDebian: true, isRoot: false, log: () => {} }),
      (err: unknown) =>
        err instanceof DbServerError && err.message.includes("sudo apt-get install -y mariadb-server"),
    );
  });

  it("gives a clear sentence on non-Debian systems", async () => {
    await assert.rejects(
      ensureMariadbInstalled({ findBinaries: none, isDebian: false, isRoot: true, log: () => {} }),
      /No MariaDB server binary .* Install MariaDB 10\.11 with your system's package manager/,
    );
  });

  it("as root on Debian installs with apt-get, says so, and retries after apt-get update", async () => {
    const calls: string[] = [];
    const lines: string[] = [];
    let installed = false;
    const b = await ensureMariadbInstalled({
      findBinaries: () =>
        installed
          ? { server: "/usr/sbin/mariadbd", installDb: "/usr/bin/mariadb-install-db", missing: ["admin"] }
          : none(),
      isDebian: true,
      isRoot: true,
      log: (l) => lines.push(l),
      run: async (cmd, args, env) => {
        calls.push(`${cmd} ${args.join(" ")}`);
        assert.equal(env["DEBIAN_FRONTEND"], "noninteractive");
        // The first install fails as with stale package lists; after the update it works.
        if (args[0] === "install" && calls.length === 1) return 100;
        if (args[0] === "install") installed = true;
        return 0;
      },
    });
    assert.equal(b.server, "/usr/sbin/mariadbd");
    assert.deepEqual(calls, [
      "apt-get install -y --no-install-recommends mariadb-server",
      "apt-get update",
      "apt-get install -y --no-install-recommends mariadb-server",
    ]);
    assert.ok(lines.some((l) => l.includes("installing it") && l.includes("apt-get install")));
  });

  it("reports a failed apt-get with the manual command", async () => {
    await assert.rejects(
      ensureMariadbInstalled({
        findBinaries: none,
        isDebian: true,
        isRoot: true,
        log: () => {},
        run: async () => 100,
      }),
      /apt-get update' failed .*sudo apt-get install -y mariadb-server/,
    );
  });
});
