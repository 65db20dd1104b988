import { createReadStream, existsSync, statSync } from "node:fs";
import { extname, join, normalize, resolve, sep } from "node:path";
import type { FastifyReply } from "fastify";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".webp": "image/webp",
  ".ico": "image/x-icon",
  ".txt": "text/plain; charset=utf-8",
  ".woff": "font/woff",
  ".woff2": "font/woff2",
  ".webmanifest": "application/manifest+json",
};

/** Vite names built assets `name-<hash>.ext`: their content never changes under that name. */
const HASHED = /[-.][A-Za-z0-9_-]{8,}\.[a-z0-9]+$/;

/** The built web UI's directory when it holds an index.html, else undefined (no UI served). */
export function webRoot(dir: string | undefined): string | undefined {
  if (!dir) return undefined;
  const root = resolve(dir);
  return existsSync(join(root, "index.html")) ? root : undefined;
}

/** True for paths the UI may own: everything but the API, the probes and the metrics. */
export function isUiPath(path: string): boolean {
  return !/^\/(api|healthz|readyz|metrics)(\/|$)/.test(path);
}

function fileIn(root: string, urlPath: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  if (decoded.includes("\0")) return undefined;
  const full = resolve(root, `.${normalize(`/${decoded}`)}`);
  // normalize() of a leading "/" removes every "..", but check anyway: never serve outside root.
  if (full !== root && !full.startsWith(root + sep)) return undefined;
  try {
    return statSync(full).isFile() ? full : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Serves a file of the built UI, or index.html for client-side routes (SPA fallback). Paths that
 * look like files (an extension) and do not exist are not answered with HTML, so a missing
 * script is a 404 rather than a confusing parse error in the browser. Returns false when nothing
 * was sent.
 */
export function serveWeb(root: string, urlPath: string, reply: FastifyReply): boolean {
  const path = urlPath.split("?")[0] ?? "/";
  let file = path === "/" ? undefined : fileIn(root, path);
  if (!file) {
    if (extname(path) !== "" && path !== "/") return false;
    file = join(root, "index.html");
  }
  const isIndex = file === join(root, "index.html");
  reply
    .code(200)
    .header("content-type", TYPES[extname(file).toLowerCase()] ?? "application/octet-stream")
    .header(
      "cache-control",
      isIndex
        ? "no-cache"
        : HASHED.test(file)
          ? "public, max-age=31536000, immutable"
          : "public, max-age=300",
    )
    .header("x-content-type-options", "nosniff");
  reply.send(createReadStream(file));
  return true;
}
