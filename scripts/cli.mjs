#!/usr/bin/env node
// `npm start` and `npm run bench`: install dependencies and build when needed, then run the
// taskraft command named first. Extra arguments pass through: npm start -- --nodes 5 --fresh
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
process.chdir(root);
const command = process.argv[2] ?? "dev";

function run(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: "inherit" });
  if (r.status !== 0) {
    console.error(`${command}: '${cmd} ${args.join(" ")}' failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status ?? 1);
  }
}

function newestMtime(dir) {
  let newest = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const s = statSync(p);
    newest = Math.max(newest, s.isDirectory() ? newestMtime(p) : s.mtimeMs);
  }
  return newest;
}

if (!existsSync(join(root, "node_modules", ".package-lock.json"))) {
  console.log(`${command}: installing dependencies (npm ci) …`);
  run("npm", ["ci", "--no-audit", "--no-fund"]);
}
const cli = join(root, "dist", "cli.js");
if (!existsSync(cli) || newestMtime(join(root, "src")) > statSync(cli).mtimeMs) {
  console.log(`${command}: building (npm run build) …`);
  run("npm", ["run", "--silent", "build"]);
}
const r = spawnSync(process.execPath, [cli, command, ...process.argv.slice(3)], { stdio: "inherit" });
process.exit(r.status ?? 1);
