import { formatRoute, parseRoute, type Route } from "../lib/route";
import { createStore } from "../lib/store";

/** The current route, kept in step with the address bar (history API; the node serves index.html for any UI path). */
export const router = createStore<{ route: Route }>({
  route: parseRoute(location.pathname, location.search),
});

export function navigate(route: Route, opts: { replace?: boolean } = {}): void {
  const url = formatRoute(route);
  if (url !== location.pathname + location.search) {
    if (opts.replace) history.replaceState(null, "", url);
    else history.pushState(null, "", url);
  }
  router.set({ route });
}

export function patchRoute(patch: Partial<Route>, opts: { replace?: boolean } = {}): void {
  const next: Route = { ...router.get().route, ...patch };
  if ("taskId" in patch && patch.taskId === undefined) delete next.taskId;
  navigate(next, opts);
}

window.addEventListener("popstate", () => {
  router.set({ route: parseRoute(location.pathname, location.search) });
});
