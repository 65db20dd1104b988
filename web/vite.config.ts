/**
 * Builds the single-page UI into dist/web, which every node serves at `/`.
 *
 * Why Preact: the UI is a few dozen small components with local state and hooks. Preact gives
 * that model (JSX, function components, hooks) in a runtime of about 5 kB, so the whole UI
 * ships as one small script that starts fast on a phone, with no framework-specific build
 * machinery beyond the JSX transform that @preact/preset-vite configures. Lit would mean
 * class-based web components and template strings; Solid compiles to a faster runtime we do
 * not need at this size and is less familiar to most contributors.
 *
 * Output names carry a content hash (assets/index-<hash>.js), so a node can serve them with
 * `Cache-Control: immutable` while index.html itself is always revalidated.
 */
import { fileURLToPath } from "node:url";
import preact from "@preact/preset-vite";
import { defineConfig } from "vite";

const webDir = fileURLToPath(new URL(".", import.meta.url));
const outDir = fileURLToPath(new URL("../dist/web", import.meta.url));
/** `npm run dev:web` proxies the API to a running node (taskraft dev's first node by default). */
const apiTarget = process.env["TASKRAFT_URL"] ?? "http://127.0.0.1:7001";

export default defineConfig({
  root: webDir,
  base: "/",
  plugins: [preact()],
  build: {
    outDir,
    emptyOutDir: true,
    target: "es2022",
    assetsDir: "assets",
    sourcemap: true,
    // One script and one stylesheet: the UI is small, and one request each is the fastest start.
    cssCodeSplit: false,
  },
  server: {
    proxy: { "/api": { target: apiTarget, changeOrigin: false } },
  },
});
