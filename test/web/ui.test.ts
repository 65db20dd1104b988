/**
 * The web UI in a real browser (Debian's Chromium, headless) against a real 3-node cluster:
 * sign up, create, edit every field, drag between and within columns, keyboard and menu moves,
 * filters in the URL, comments, delete; a second page on another node sees it all live; a
 * retried create is applied once; a 412 shows both versions; the leader is crashed from the
 * cluster view and tasks keep being created through the re-election; a reload keeps everything;
 * a revoked session leads back to the login screen.
 *
 * Screenshots go to test/web/screenshots/ (git-ignored); the curated ones live in docs/screenshots/.
 */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Locator, Page } from "playwright-core";
import { request, signup, sleep } from "../api/harness.js";
import { browserMissing, type LaunchedBrowser, launchBrowser } from "./browser.js";
import { ROOT, startWebCluster, type WebCluster } from "./web-cluster.js";

const SHOTS = join(ROOT, "test", "web", "screenshots");
const PASSWORD = "correct horse battery";
const USER = "alice";

function exact(text: string): RegExp {
  return new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`);
}

/** Retries `check` until it passes or `timeoutMs` runs out (then its last error is thrown). */
async function eventually(check: () => Promise<void>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await sleep(100);
    }
  }
}

const columnTitles = (page: Page, status: string) =>
  page.locator(`[data-column="${status}"] .card-title`).allTextContents();

/** A card on the board, by exact title. */
function card(page: Page, title: string): Locator {
  return page
    .locator("li[data-task-id]")
    .filter({ has: page.locator(".card-title", { hasText: exact(title) }) });
}

/** Waits until the card's write is confirmed by the cluster (no longer shown as pending). */
async function confirmed(page: Page, title: string, timeoutMs = 10_000): Promise<void> {
  await card(page, title).and(page.locator(":not(.card-pending)")).waitFor({ timeout: timeoutMs });
}

async function quickAdd(page: Page, title: string): Promise<void> {
  await page.fill("#quick-add-title", title);
  await page.press("#quick-add-title", "Enter");
}

async function signUp(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.getByRole("tab", { name: "Sign up" }).click();
  await page.fill("input[name=username]", USER);
  await page.fill("input[name=password]", PASSWORD);
  await page.click("form button[type=submit]");
  await page.waitForSelector("#quick-add-title:not([disabled])", { timeout: 45_000 });
}

async function logIn(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.fill("input[name=username]", USER);
  await page.fill("input[name=password]", PASSWORD);
  await page.click("form button[type=submit]");
  await page.waitForSelector("#quick-add-title:not([disabled])", { timeout: 45_000 });
}

async function tokenOf(page: Page): Promise<string> {
  const t = (await page.evaluate("sessionStorage.getItem('taskraft.token')")) as string | null;
  assert.ok(t, "the page holds a token");
  return t;
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`) });
}

const skip = browserMissing();

describe("web UI on a 3-node cluster", { skip, timeout: 600_000 }, () => {
  let web: WebCluster;
  let chrome: LaunchedBrowser;
  let leader: string;
  let followers: string[];
  let pageA: Page; // on a follower
  let pageB: Page; // on the other follower
  const errors: string[] = [];
  const consoleLines: string[] = [];

  before(
    async () => {
      mkdirSync(SHOTS, { recursive: true });
      web = await startWebCluster("web");
      leader = await web.cluster.waitForLeader();
      followers = web.cluster.ids.filter((id) => id !== leader);
      chrome = await launchBrowser();
      pageA = await chrome.context.newPage();
      pageB = await chrome.context.newPage();
      for (const [label, p] of [
        ["A", pageA],
        ["B", pageB],
      ] as const) {
        p.on("pageerror", (e) => errors.push(e.message));
        p.on("console", (m) =>
          consoleLines.push(`${new Date().toISOString()} ${label} ${m.type()}: ${m.text()}`),
        );
        p.on("requestfinished", async (r) => {
          if (!r.url().includes("/api/v1/") || r.url().endsWith("/api/v1/cluster")) return;
          const res = await r.response().catch(() => null);
          const ms = Math.round(r.timing().responseEnd);
          consoleLines.push(
            `${new Date().toISOString()} ${label} ${r.method()} ${r.url()} → ${res?.status()} ${ms} ms`,
          );
        });
        p.on("requestfailed", (r) => {
          if (!r.url().includes("/api/v1/") || r.url().endsWith("/api/v1/cluster")) return;
          consoleLines.push(
            `${new Date().toISOString()} ${label} ${r.method()} ${r.url()} FAILED ${r.failure()?.errorText}`,
          );
        });
      }
    },
    { timeout: 180_000 },
  );

  after(async () => {
    writeFileSync(join(SHOTS, "console.log"), consoleLines.join("\n"));
    await chrome?.close();
    await web?.close();
  });

  /** A test that, when it fails, leaves screenshots of both pages for the post-mortem. */
  let failures = 0;
  function step(name: string, body: () => Promise<void>): void {
    test(name, async () => {
      try {
        await body();
      } catch (e) {
        failures++;
        for (const [label, page] of [
          ["A", pageA],
          ["B", pageB],
        ] as const) {
          await page?.screenshot({ path: join(SHOTS, `failed-${failures}-${label}.png`) }).catch(() => {});
        }
        throw e;
      }
    });
  }

  step("sign up and quick-add tasks; a page on another node sees them live", async () => {
    await signUp(pageA, web.url(followers[0]!));
    await logIn(pageB, web.url(followers[1]!));
    for (const t of ["Write the report", "Review PR 12", "Fix login bug"]) await quickAdd(pageA, t);
    for (const t of ["Write the report", "Review PR 12", "Fix login bug"]) await confirmed(pageA, t);
    assert.deepEqual(await columnTitles(pageA, "todo"), [
      "Write the report",
      "Review PR 12",
      "Fix login bug",
    ]);
    await eventually(async () =>
      assert.deepEqual(await columnTitles(pageB, "todo"), [
        "Write the report",
        "Review PR 12",
        "Fix login bug",
      ]),
    );
    await shot(pageA, "board-first");
  });

  step("labels in the project settings; every field edited in the detail panel; comments live", async () => {
    await pageA.getByRole("button", { name: "Settings of Inbox" }).click();
    const settings = pageA.getByRole("dialog", { name: /Project settings/ });
    await settings.locator("#label-name").fill("bug");
    await settings.getByLabel("Color #d73a49").check();
    await settings.getByRole("button", { name: "Add label" }).click();
    await settings.locator(".label-chip", { hasText: "bug" }).waitFor();
    await settings.getByRole("button", { name: "Close" }).click();

    await card(pageA, "Fix login bug").locator(".card-main").click();
    const detail = pageA.locator("aside.detail");
    await pageA.locator("#detail-heading:focus").waitFor(); // the panel took the focus
    await detail.getByLabel("Title").fill("Fix the login bug");
    await detail.getByLabel("Title").press("Enter");
    await detail.getByLabel("Priority").selectOption("urgent");
    await detail.getByLabel("Due date").fill("2030-01-15");
    await detail.getByLabel("Assignee").selectOption({ label: USER });
    await detail.getByRole("checkbox", { name: "bug" }).check();
    await detail.getByLabel("Description").fill("Users on Safari cannot log in.");
    await detail.getByLabel("Description").press("Tab");
    await eventually(async () =>
      assert.match((await detail.locator(".detail-meta").textContent()) ?? "", /version 7/),
    );

    // Page B opens the same task and sees a comment made on page A arrive.
    await card(pageB, "Fix the login bug").locator(".card-main").click();
    await pageB.locator("aside.detail .comments").waitFor();
    await detail.locator("#comment-body").fill("On it — reproduced on Safari 17.");
    await detail.getByRole("button", { name: "Comment" }).click();
    await detail.locator(".comment-body", { hasText: "On it" }).waitFor();
    await pageB.locator("aside.detail .comment-body", { hasText: "On it" }).waitFor({ timeout: 5_000 });
    await eventually(async () => {
      const meta = (await card(pageB, "Fix the login bug").locator(".task-meta").textContent()) ?? "";
      assert.match(meta, /Urgent/);
      assert.match(meta, /bug/);
    });
    await pageA.setViewportSize({ width: 1280, height: 1000 });
    await pageA.locator("aside.detail").evaluate("(el) => el.scrollTo(0, 0)");
    await shot(pageA, "task-detail");
    await pageA.setViewportSize({ width: 1280, height: 800 });

    const token = await tokenOf(pageA);
    const id = await card(pageA, "Fix the login bug").getAttribute("data-task-id");
    const r = await request(web.url(leader), "GET", `/api/v1/tasks/${id}`, { token });
    assert.equal(r.status, 200);
    assert.equal(r.body.task.title, "Fix the login bug");
    assert.equal(r.body.task.priority, "urgent");
    assert.equal(r.body.task.dueDate, "2030-01-15");
    assert.equal(r.body.task.description, "Users on Safari cannot log in.");
    assert.equal(r.body.task.labelIds.length, 1);
    assert.ok(r.body.task.assigneeId);
    await pageA.getByRole("button", { name: /Close task details/ }).click();
    await pageB.getByRole("button", { name: /Close task details/ }).click();
  });

  step(
    "drag to another column, drag within a column, keyboard and menu moves — persisted and live",
    async () => {
      await card(pageA, "Write the report").dragTo(pageA.locator('[data-column="in_progress"]'));
      await eventually(async () =>
        assert.deepEqual(await columnTitles(pageA, "in_progress"), ["Write the report"]),
      );
      await confirmed(pageA, "Write the report");

      await card(pageA, "Fix the login bug").dragTo(card(pageA, "Review PR 12"), {
        targetPosition: { x: 40, y: 4 },
      });
      await eventually(async () =>
        assert.deepEqual(await columnTitles(pageA, "todo"), ["Fix the login bug", "Review PR 12"]),
      );
      await confirmed(pageA, "Fix the login bug");

      // Keyboard: Alt+↓ reorders, Alt+→ moves to the next column.
      await card(pageA, "Fix the login bug").locator(".card-main").focus();
      await pageA.keyboard.press("Alt+ArrowDown");
      await eventually(async () =>
        assert.deepEqual(await columnTitles(pageA, "todo"), ["Review PR 12", "Fix the login bug"]),
      );
      await confirmed(pageA, "Fix the login bug");
      await pageA.keyboard.press("Alt+ArrowRight");
      await eventually(async () =>
        assert.deepEqual(await columnTitles(pageA, "in_progress"), ["Write the report", "Fix the login bug"]),
      );
      await confirmed(pageA, "Fix the login bug");
      assert.equal(
        await pageA.evaluate(
          "document.activeElement?.closest('[data-task-id]')?.querySelector('.card-title')?.textContent",
        ),
        "Fix the login bug",
        "the focus follows the moved card",
      );

      // The menu: the same moves without a pointer drag.
      await card(pageA, "Write the report")
        .getByRole("button", { name: /Actions for/ })
        .click();
      await pageA.getByRole("menuitem", { name: "Move to Done" }).click();
      await eventually(async () => assert.deepEqual(await columnTitles(pageA, "done"), ["Write the report"]));
      await confirmed(pageA, "Write the report");

      for (const page of [pageA, pageB]) {
        await eventually(async () => {
          assert.deepEqual(await columnTitles(page, "todo"), ["Review PR 12"]);
          assert.deepEqual(await columnTitles(page, "in_progress"), ["Fix the login bug"]);
          assert.deepEqual(await columnTitles(page, "done"), ["Write the report"]);
        });
      }
    },
  );

  step("list view: filters and search live in the URL and survive a reload", async () => {
    await pageA.getByRole("link", { name: "List", exact: true }).click();
    await pageA.locator("#filter-priority").selectOption("urgent");
    const rows = pageA.locator(".task-table tbody .cell-title");
    await eventually(async () => assert.deepEqual(await rows.allTextContents(), ["Fix the login bug"]));
    assert.match(pageA.url(), /\/list\?.*priority=urgent/);
    await pageA.reload();
    await eventually(async () => assert.deepEqual(await rows.allTextContents(), ["Fix the login bug"]));
    assert.equal(await pageA.locator("#filter-priority").inputValue(), "urgent");

    await pageA.getByRole("button", { name: "Clear filters" }).click();
    await pageA.fill("#filter-q", "report");
    await eventually(async () => assert.deepEqual(await rows.allTextContents(), ["Write the report"]));
    await eventually(async () => assert.match(pageA.url(), /q=report/));
    await pageA.locator("#filter-q").fill("");
    await pageA.locator("#filter-status").selectOption("in_progress");
    await eventually(async () => assert.deepEqual(await rows.allTextContents(), ["Fix the login bug"]));
    await shot(pageA, "list-filtered");
    await pageA.getByRole("link", { name: "Board", exact: true }).click();
    await pageA.locator('[data-column="todo"]').waitFor();
  });

  step("delete with confirmation; the other page sees it go", async () => {
    await card(pageA, "Review PR 12")
      .getByRole("button", { name: /Actions for/ })
      .click();
    await pageA.getByRole("menuitem", { name: "Delete…" }).click();
    await pageA.getByRole("alertdialog").getByRole("button", { name: "Delete task" }).click();
    await eventually(async () => assert.deepEqual(await columnTitles(pageA, "todo"), []));
    await eventually(async () => assert.deepEqual(await columnTitles(pageB, "todo"), []));
  });

  step("projects: create, rename, members with roles, delete with confirmation", async () => {
    await signup(web.url(leader), "bob");
    await pageA.fill("#new-project-name", "Launch");
    await pageA.press("#new-project-name", "Enter");
    await pageA.locator(".project-title", { hasText: "Launch" }).waitFor();
    await pageA.getByRole("button", { name: "Settings of Launch" }).click();
    const settings = pageA.getByRole("dialog", { name: /Project settings/ });
    await settings.locator("#project-name").fill("Launch plan");
    await settings.getByRole("button", { name: "Rename" }).click();
    await pageA.locator(".project-link", { hasText: "Launch plan" }).waitFor();
    await pageB.locator(".project-link", { hasText: "Launch plan" }).waitFor({ timeout: 5_000 });
    await settings.locator("#member-username").fill("bob");
    await settings.locator("#member-role").selectOption("owner");
    await settings.getByRole("button", { name: "Add member" }).click();
    await settings.locator(".member-row", { hasText: "@bob" }).waitFor();
    assert.equal(await settings.getByLabel("Role of bob").inputValue(), "owner");
    await settings.getByLabel("Role of bob").selectOption("member");
    await eventually(async () =>
      assert.equal(await settings.getByLabel("Role of bob").inputValue(), "member"),
    );
    await settings.getByRole("button", { name: "Delete project…" }).click();
    const confirm = pageA.getByRole("alertdialog", { name: /Delete “Launch plan”/ });
    await confirm.getByRole("button", { name: "Delete project" }).click();
    await pageA.locator(".project-link", { hasText: "Launch plan" }).waitFor({ state: "detached" });
    await pageB
      .locator(".project-link", { hasText: "Launch plan" })
      .waitFor({ state: "detached", timeout: 5_000 });
    await pageA.locator(".project-title", { hasText: "Inbox" }).waitFor();
    await pageA.locator('[data-column="todo"]').waitFor();
  });

  step("a change the cluster refuses is rolled back with a visible message", async () => {
    await pageA.route("**/api/v1/tasks/*", (route) =>
      route.request().method() === "PATCH"
        ? route.fulfill({
            status: 403,
            contentType: "application/json",
            body: JSON.stringify({ error: { code: "forbidden", message: "You may not change this task." } }),
          })
        : route.continue(),
    );
    await card(pageA, "Fix the login bug")
      .getByRole("button", { name: /Actions for/ })
      .click();
    await pageA.getByRole("menuitem", { name: "Move to Done" }).click();
    await pageA
      .getByRole("alert")
      .filter({ hasText: /You may not change this task.*undone/ })
      .waitFor();
    await eventually(async () =>
      assert.deepEqual(await columnTitles(pageA, "in_progress"), ["Fix the login bug"]),
    );
    assert.deepEqual(await columnTitles(pageA, "done"), ["Write the report"]);
    await pageA.unroute("**/api/v1/tasks/*");
  });

  step(
    "a create whose answer is lost is retried with the same Idempotency-Key and applied once",
    async () => {
      const keys: string[] = [];
      await pageA.route("**/api/v1/tasks", async (route) => {
        if (route.request().method() !== "POST") return route.continue();
        keys.push((await route.request().headerValue("idempotency-key")) ?? "");
        if (keys.length === 1) {
          await route.fetch(); // the cluster applies it …
          return route.fulfill({
            status: 504,
            contentType: "application/json",
            body: JSON.stringify({ error: { code: "timeout", message: "The outcome is unknown." } }),
          }); // … but the answer is lost
        }
        return route.continue();
      });
      await quickAdd(pageA, "Exactly once");
      await eventually(async () => assert.equal(keys.length, 2, "the lost answer was retried"));
      await confirmed(pageA, "Exactly once");
      await pageA.unroute("**/api/v1/tasks");
      assert.equal(keys[0], keys[1], "the retry reuses the key");
      await eventually(async () => assert.equal(await pageA.locator(".card-pending").count(), 0));
      assert.equal(await card(pageA, "Exactly once").count(), 1, "one card, also while it was being retried");
      const token = await tokenOf(pageA);
      const list = await request(web.url(leader), "GET", "/api/v1/tasks?q=Exactly", { token });
      assert.equal(list.body.items.length, 1, "one task in the cluster");
    },
  );

  step("a 412 shows the newer version and lets the user choose", async () => {
    await card(pageA, "Exactly once").locator(".card-main").click();
    const detail = pageA.locator("aside.detail");
    await pageA.locator("#detail-heading:focus").waitFor(); // the panel took the focus
    const title = detail.getByLabel("Title");
    await title.fill("Exactly once — my title");
    // Meanwhile someone else renames it.
    const token = await tokenOf(pageA);
    const id = await card(pageA, "Exactly once").getAttribute("data-task-id");
    const r = await request(web.url(followers[1]!), "PATCH", `/api/v1/tasks/${id}`, {
      token,
      body: { title: "Exactly once — their title" },
    });
    assert.equal(r.status, 200);
    await sleep(800); // their change arrives by the event stream
    await title.press("Enter");
    const conflict = pageA.getByRole("dialog", { name: /changed by someone else/ });
    await conflict.waitFor();
    assert.match((await conflict.textContent()) ?? "", /their title/);
    await conflict.getByRole("button", { name: "Apply my change on top" }).click();
    await eventually(async () => {
      const now = await request(web.url(leader), "GET", `/api/v1/tasks/${id}`, { token });
      assert.equal(now.body.task.title, "Exactly once — my title");
    });
    await card(pageB, "Exactly once — my title").waitFor();
    await pageA.getByRole("button", { name: /Close task details/ }).click();
  });

  step(
    "crash the leader from the cluster view; tasks keep being created through the re-election",
    async () => {
      await pageA.getByRole("link", { name: "Cluster", exact: true }).click();
      await pageA.locator(`.node-card.node-leader[data-node-id="${leader}"]`).waitFor({ timeout: 10_000 });

      const crash = pageA.locator(`[data-node-id="${leader}"]`).getByRole("button", { name: "Crash" });
      let pageC: Page | undefined;
      if (await crash.isEnabled()) {
        await crash.click(); // the API sends CORS headers: crash it from this page
      } else {
        // Without CORS a page can only act on its own node: crash the leader from its own page.
        pageC = await chrome.context.newPage();
        await logIn(pageC, web.url(leader));
        await pageC.getByRole("link", { name: "Cluster", exact: true }).click();
        const own = pageC.locator(`[data-node-id="${leader}"]`);
        await own.getByRole("button", { name: "Crash" }).click();
        await own.getByRole("button", { name: `Crash ${leader}` }).click();
      }
      // A write during the election: retried with the same key until a new leader commits it.
      await quickAdd(pageB, "Added during the election");
      await sleep(400);
      await shot(pageB, "board-during-election");
      await eventually(async () => assert.equal(web.cluster.running(leader), false), 10_000);

      const headline = pageA.locator(".cluster-headline");
      await eventually(async () => {
        const text = (await headline.textContent()) ?? "";
        const m = /Leader ★ (\S+)/.exec(text);
        assert.ok(m && m[1] !== leader, `a new leader is shown: ${text}`);
      }, 20_000);
      await pageA
        .locator(".timeline-entry", { hasText: /is the leader in term/ })
        .first()
        .waitFor();
      await pageA
        .locator(`[data-node-id="${leader}"] .role`, { hasText: "down" })
        .waitFor({ timeout: 10_000 });
      await pageA.setViewportSize({ width: 1280, height: 1400 });
      await shot(pageA, "cluster-leader-change");
      await pageA.setViewportSize({ width: 1280, height: 800 });
      await confirmed(pageB, "Added during the election", 40_000);
      await pageC?.close();

      const newLeader = await web.cluster.waitForLeader();
      assert.notEqual(newLeader, leader);

      // Restart the crashed node from the cluster view (through the serving node and the supervisor).
      await pageA.locator(`[data-node-id="${leader}"]`).getByRole("button", { name: "Restart" }).click();
      await eventually(async () =>
        assert.equal(web.cluster.running(leader), true, "the supervisor restarted it"),
      );
      await web.cluster.waitReady(leader, 30_000);
      await pageA
        .locator(".timeline-entry", { hasText: new RegExp(`${leader} answers again`) })
        .waitFor({ timeout: 15_000 });

      // A clean leader change on request: the form on the serving node (alice is the admin).
      const target = web.cluster.ids.find((id) => id !== newLeader && id !== leader)!;
      await pageA.locator("#transfer-to").selectOption(target);
      await pageA.getByRole("button", { name: "Transfer", exact: true }).click();
      await eventually(
        async () => assert.match((await headline.textContent()) ?? "", new RegExp(`Leader ★ ${target} `)),
        15_000,
      );
      assert.equal(await web.cluster.waitForLeader(), target);

      await pageA.getByRole("link", { name: "Board", exact: true }).click();
      for (const t of ["After the re-election 1", "After the re-election 2"]) await quickAdd(pageA, t);
      for (const t of ["After the re-election 1", "After the re-election 2"])
        await confirmed(pageA, t, 30_000);
      leader = target;
    },
  );

  step("a reload shows everything still there, on every node", async () => {
    const expected = {
      todo: [
        "Exactly once — my title",
        "Added during the election",
        "After the re-election 1",
        "After the re-election 2",
      ],
      in_progress: ["Fix the login bug"],
      done: ["Write the report"],
    };
    await pageA.reload();
    await pageA.locator("#quick-add-title:not([disabled])").waitFor({ timeout: 20_000 });
    for (const page of [pageA, pageB]) {
      await eventually(async () => {
        for (const [status, titles] of Object.entries(expected)) {
          assert.deepEqual(await columnTitles(page, status), titles, `${status} on ${page.url()}`);
        }
      }, 15_000);
    }
    const report = await web.cluster.checkConsistency();
    assert.equal(report.consistent, true, JSON.stringify(report.differences));
    await shot(pageA, "board");
  });

  step("dark theme, phone width, shortcuts dialog", async () => {
    await pageA.getByRole("button", { name: "Switch to dark theme" }).click();
    assert.equal(await pageA.evaluate("document.documentElement.dataset.theme"), "dark");
    await shot(pageA, "board-dark");
    await pageA.setViewportSize({ width: 390, height: 844 });
    await shot(pageA, "phone-dark");
    await pageA.getByRole("button", { name: "Switch to light theme" }).click();
    await shot(pageA, "phone");
    await card(pageA, "Fix the login bug").locator(".card-main").click();
    await pageA.locator("aside.detail").waitFor();
    await shot(pageA, "phone-detail");
    await pageA.keyboard.press("Escape");
    await pageA.locator("aside.detail").waitFor({ state: "detached" });
    await pageA.getByRole("button", { name: "Projects", exact: true }).click();
    await pageA.locator(".sidebar-open").waitFor();
    await sleep(300); // the drawer slides in
    await shot(pageA, "phone-projects");
    await pageA.keyboard.press("Escape");
    await pageA.locator(".sidebar-open").waitFor({ state: "detached" });
    await pageA.setViewportSize({ width: 1280, height: 800 });
    await pageA.keyboard.press("?");
    await pageA.getByRole("dialog", { name: "Keyboard shortcuts" }).waitFor();
    await shot(pageA, "shortcuts");
    await pageA.keyboard.press("Escape");
    await pageA.getByRole("dialog", { name: "Keyboard shortcuts" }).waitFor({ state: "hidden" });
    // n: quick add from anywhere, then Enter.
    await pageA.getByRole("link", { name: "List", exact: true }).click();
    await pageA.locator(".task-table").waitFor();
    await pageA.keyboard.press("n");
    await pageA.locator("#quick-add-title:focus").waitFor();
    await pageA.keyboard.type("Typed after pressing n");
    await pageA.keyboard.press("Enter");
    await confirmed(pageA, "Typed after pressing n");
  });

  step("a revoked session shows a clear message and the way back in", async () => {
    const token = await tokenOf(pageB);
    const r = await request(web.url(leader), "POST", "/api/v1/auth/logout", { token });
    assert.equal(r.status, 204);
    await quickAdd(pageB, "Not with a revoked token");
    await pageB.getByText(/Your session has ended/).waitFor({ timeout: 10_000 });
    await pageB.fill("input[name=username]", USER);
    await pageB.fill("input[name=password]", PASSWORD);
    await pageB.click("form button[type=submit]");
    await pageB.locator("#quick-add-title:not([disabled])").waitFor({ timeout: 20_000 });
    assert.equal(await card(pageB, "Not with a revoked token").count(), 0);
    assert.deepEqual(errors, [], "no uncaught errors in the pages");
  });
});
