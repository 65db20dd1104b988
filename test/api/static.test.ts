/** The built web UI's file server: caching headers, SPA fallback, no escape from its directory. */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import Fastify, { type FastifyInstance } from "fastify";
import { isUiPath, serveWeb, webRoot } from "../../src/api/static.js";

const dir = mkdtempSync(join(tmpdir(), "taskraft-web-"));
let app: FastifyInstance;

before(async () => {
  mkdirSync(join(dir, "web", "assets"), { recursive: true });
  writeFileSync(join(dir, "web", "index.html"), "<!doctype html><title>taskraft</title>");
  writeFileSync(join(dir, "web", "assets", "index-3f9a1b2c.js"), "console.log(1)");
  writeFileSync(join(dir, "web", "favicon.svg"), "<svg/>");
  writeFileSync(join(dir, "secret.txt"), "outside");
  const root = webRoot(join(dir, "web"))!;
  app = Fastify();
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split("?")[0]!;
    if (isUiPath(path) && serveWeb(root, path, reply)) return reply;
    return reply.code(404).send({ error: { code: "not_found", message: "none" } });
  });
  await app.ready();
});
after(async () => {
  await app.close();
  rmSync(dir, { recursive: true, force: true });
});

test("webRoot is undefined without an index.html", () => {
  assert.equal(webRoot(join(dir, "nothing")), undefined);
  assert.equal(webRoot(undefined), undefined);
});

test("index.html is never cached; hashed assets are immutable; other files briefly", async () => {
  const index = await app.inject({ url: "/" });
  assert.equal(index.statusCode, 200);
  assert.equal(index.headers["cache-control"], "no-cache");
  assert.match(String(index.headers["content-type"]), /text\/html/);
  const asset = await app.inject({ url: "/assets/index-3f9a1b2c.js" });
  assert.equal(asset.statusCode, 200);
  assert.equal(asset.headers["cache-control"], "public, max-age=31536000, immutable");
  assert.match(String(asset.headers["content-type"]), /javascript/);
  const icon = await app.inject({ url: "/favicon.svg" });
  assert.equal(icon.headers["cache-control"], "public, max-age=300");
});

test("client-side routes fall back to index.html; missing files and API paths do not", async () => {
  const route = await app.inject({ url: "/projects/abc/board" });
  assert.equal(route.statusCode, 200);
  assert.match(route.body, /taskraft/);
  assert.equal((await app.inject({ url: "/assets/missing-12345678.js" })).statusCode, 404);
  assert.equal((await app.inject({ url: "/api/v1/nothing" })).statusCode, 404);
  assert.equal((await app.inject({ url: "/metrics" })).statusCode, 404);
});

test("no path leaves the web directory", async () => {
  for (const url of ["/../secret.txt", "/%2e%2e/secret.txt", "/assets/..%2f..%2fsecret.txt", "/%00"]) {
    const r = await app.inject({ url });
    assert.ok(!r.body.includes("outside"), url);
  }
});
