/**
 * The URL is the view: which project, board or list, which task is open, and every filter of
 * the list, so a view can be shared, bookmarked or reloaded. Pure and import-free (unit-tested
 * in Node).
 *
 *   /                                  the first project's board
 *   /projects/{id}                     a project's board
 *   /projects/{id}/list?q=&status=…    a project's list, filtered and sorted
 *   …?task={id}                        with a task's detail panel open
 *   /cluster                           the cluster view
 */

export type View = "home" | "board" | "list" | "cluster";

export interface Filters {
  q?: string;
  status?: string;
  priority?: string;
  assigneeId?: string;
  labelId?: string;
  dueAfter?: string;
  dueBefore?: string;
  sort?: string;
}

export interface Route {
  view: View;
  projectId?: string;
  taskId?: string;
  filters: Filters;
}

const STATUS = new Set(["todo", "in_progress", "done"]);
const PRIORITY = new Set(["low", "medium", "high", "urgent"]);
const SORT = new Set(["position", "-updatedAt", "dueDate", "-priority", "createdAt"]);
const ID = /^[A-Za-z0-9_-]{1,64}$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const Q_MAX = 200;

/** The filter keys in URL order; also the order of the list's query string. */
export const FILTER_KEYS: readonly (keyof Filters)[] = [
  "q",
  "status",
  "priority",
  "assigneeId",
  "labelId",
  "dueAfter",
  "dueBefore",
  "sort",
];

function valid(key: keyof Filters, value: string): boolean {
  switch (key) {
    case "q":
      return value.trim() !== "" && value.length <= Q_MAX && !/\p{Cc}/u.test(value);
    case "status":
      return STATUS.has(value);
    case "priority":
      return PRIORITY.has(value);
    case "assigneeId":
    case "labelId":
      return ID.test(value);
    case "dueAfter":
    case "dueBefore":
      return DATE.test(value);
    case "sort":
      return SORT.has(value);
  }
}

/** Only well-formed filters survive: a hand-edited URL never turns into a 400 from the API. */
export function cleanFilters(input: Partial<Record<keyof Filters, string | undefined>>): Filters {
  const out: Filters = {};
  for (const key of FILTER_KEYS) {
    const v = input[key];
    if (v !== undefined && valid(key, v)) out[key] = v;
  }
  return out;
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return "";
  }
}

export function parseRoute(pathname: string, search: string): Route {
  const params = new URLSearchParams(search);
  const parts = pathname
    .split("/")
    .filter((p) => p !== "")
    .map(decode);
  const task = params.get("task");
  const taskId = task !== null && ID.test(task) ? task : undefined;
  const withTask = <R extends Route>(r: R): R => (taskId ? { ...r, taskId } : r);
  if (parts[0] === "cluster") return { view: "cluster", filters: {} };
  if (parts[0] === "projects" && parts[1] && ID.test(parts[1])) {
    if (parts[2] === "list") {
      const raw: Partial<Record<keyof Filters, string>> = {};
      for (const key of FILTER_KEYS) {
        const v = params.get(key);
        if (v !== null) raw[key] = v;
      }
      return withTask({ view: "list", projectId: parts[1], filters: cleanFilters(raw) });
    }
    return withTask({ view: "board", projectId: parts[1], filters: {} });
  }
  return withTask({ view: "home", filters: {} });
}

export function formatRoute(route: Route): string {
  const params = new URLSearchParams();
  let path = "/";
  if (route.view === "cluster") path = "/cluster";
  else if (route.projectId && (route.view === "board" || route.view === "home")) {
    path = `/projects/${encodeURIComponent(route.projectId)}`;
  } else if (route.projectId && route.view === "list") {
    path = `/projects/${encodeURIComponent(route.projectId)}/list`;
    for (const key of FILTER_KEYS) {
      const v = route.filters[key];
      if (v !== undefined && v !== "") params.set(key, v);
    }
  }
  if (route.taskId && route.view !== "cluster") params.set("task", route.taskId);
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

/** The query string of GET /api/v1/tasks for a project's list with these filters. */
export function taskListQuery(projectId: string, filters: Filters, limit: number, cursor?: string): string {
  const params = new URLSearchParams({ projectId });
  for (const key of FILTER_KEYS) {
    const v = filters[key];
    if (v !== undefined && v !== "") params.set(key, key === "q" ? v.trim() : v);
  }
  params.set("limit", String(limit));
  if (cursor) params.set("cursor", cursor);
  return params.toString();
}
