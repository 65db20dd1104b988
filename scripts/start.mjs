#!/usr/bin/env node
// `npm start`: installs dependencies and builds when needed, then runs `taskraft dev`.
// Extra arguments pass through: npm start -- --nodes 5 --fresh
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
process.chdir(root);

function run(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: "inherit" });
  if (r.status !== 0) {
    console.error(`start: '${cmd} ${args.join(" ")}' failed (exit ${r.status ?? r.signal})`);
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
  console.log("start: installing dependencies (npm ci) …");
  run("npm", ["ci", "--no-audit", "--no-fund"]);
}
const cli = join(root, "dist", "cli.js");
if (!existsSync(cli) || newestMtime(join(root, "src")) > statSync(cli).mtimeMs) {
  console.log("start: building (npm run build) …");
  run("npm", ["run", "--silent", "build"]);
}
const r = spawnSync(process.execPath, [cli, "dev", ...process.argv.slice(2)], { stdio: "inherit" });
process.exit(r.status ?? 1);
