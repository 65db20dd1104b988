import { useEffect, useRef, useState } from "preact/hooks";
import { describeError } from "../api/client";
import {
  type Label,
  type Member,
  PRIORITIES,
  PRIORITY_LABEL,
  SORT_LABEL,
  STATUS_LABEL,
  STATUSES,
  type Task,
  type TaskSort,
} from "../api/types";
import { api } from "../app/api";
import { type DataState, data, displayed, memberName } from "../app/data";
import { navigate, router } from "../app/router";
import { formatDateTime, timeAgo } from "../lib/format";
import { cleanFilters, FILTER_KEYS, type Filters, type Route, taskListQuery } from "../lib/route";
import { useStore } from "../lib/store";
import { TaskMeta } from "./TaskMeta";

const PAGE = 100;
/** Live changes arrive in bursts (a label deleted touches many tasks): refetch once per burst. */
const REFRESH_DEBOUNCE_MS = 150;
const SEARCH_DEBOUNCE_MS = 250;

const selectAll = (s: DataState) => s;
const selectRoute = (s: { route: Route }) => s.route;

interface Page {
  items: Task[];
  nextCursor: string | null;
  loading: boolean;
  error: string | null;
  stale: boolean;
}

/** All tasks of a project as a table: search, filters, sort — all of it in the URL. */
export function ListView() {
  const route = useStore(router, selectRoute);
  const state = useStore(data, selectAll);
  const projectId = route.projectId ?? state.projectId;
  const filters = route.filters;
  const query = projectId ? taskListQuery(projectId, filters, PAGE) : "";
  const [page, setPage] = useState<Page>({
    items: [],
    nextCursor: null,
    loading: true,
    error: null,
    stale: false,
  });
  const inflight = useRef<AbortController | null>(null);

  const load = async (cursor?: string) => {
    if (!projectId) return;
    inflight.current?.abort();
    const ctl = new AbortController();
    inflight.current = ctl;
    setPage((p) => ({ ...p, loading: true }));
    try {
      const qs = taskListQuery(projectId, filters, PAGE, cursor);
      const res = await api.get<{ items: Task[]; nextCursor: string | null }>(`/api/v1/tasks?${qs}`, {
        signal: ctl.signal,
        staleFallback: true,
      });
      setPage((p) => ({
        items: cursor ? [...p.items, ...res.body.items] : res.body.items,
        nextCursor: res.body.nextCursor,
        loading: false,
        error: null,
        stale: res.stale,
      }));
    } catch (e) {
      if (ctl.signal.aborted) return;
      setPage((p) => ({ ...p, loading: false, error: describeError(e) }));
    }
  };

  useEffect(() => {
    void load();
    return () => inflight.current?.abort();
  }, [query]);

  // Changes made anywhere (events) or here (answers) refresh the list, keeping the rows on screen meanwhile.
  const firstRevision = useRef(state.tasksRevision);
  useEffect(() => {
    if (state.tasksRevision === firstRevision.current) return;
    const t = setTimeout(() => void load(), REFRESH_DEBOUNCE_MS);
    return () => clearTimeout(t);
  }, [state.tasksRevision]);

  const rows = page.items.flatMap((t) => {
    const shown =
      state.tasks.has(t.id) || state.overlays.some((o) => o.taskId === t.id) ? displayed(state, t.id) : t;
    return shown ? [shown] : [];
  });

  return (
    <div class="list-view">
      <FilterBar filters={filters} members={state.members} labels={state.labels} route={route} />
      <p class="list-summary muted" aria-live="polite">
        {page.loading && page.items.length === 0
          ? "Loading…"
          : `${rows.length}${page.nextCursor ? "+" : ""} task${rows.length === 1 ? "" : "s"}${page.stale ? " (this node's copy; may lag)" : ""}`}
      </p>
      {page.error && (
        <p class="notice notice-error" role="alert">
          Could not load the list: {page.error}{" "}
          <button type="button" class="button button-small" onClick={() => void load()}>
            Try again
          </button>
        </p>
      )}
      <table class="task-table" aria-busy={page.loading}>
        <caption class="visually-hidden">Tasks matching the filters</caption>
        <thead>
          <tr>
            <th scope="col">Title</th>
            <th scope="col">Status</th>
            <th scope="col">Details</th>
            <th scope="col">Updated</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((t) => (
            <tr key={t.id} data-row-id={t.id}>
              <td class="cell-title">
                <button
                  type="button"
                  class="link-button"
                  onClick={() => navigate({ ...router.get().route, taskId: t.id })}
                >
                  {t.title}
                </button>
              </td>
              <td>
                <span class={`status status-${t.status}`}>{STATUS_LABEL[t.status]}</span>
              </td>
              <td>
                <TaskMeta
                  task={t}
                  labels={state.labels}
                  assigneeName={t.assigneeId ? memberName(state, t.assigneeId) : null}
                />
              </td>
              <td>
                <time dateTime={t.updatedAt} title={formatDateTime(t.updatedAt)}>
                  {timeAgo(t.updatedAt)}
                </time>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {!page.loading && rows.length === 0 && !page.error && (
        <p class="empty muted">
          No task matches. {FILTER_KEYS.some((k) => filters[k]) && "Try clearing the filters."}
        </p>
      )}
      {page.nextCursor && (
        <button
          type="button"
          class="button load-more"
          disabled={page.loading}
          onClick={() => void load(page.nextCursor ?? undefined)}
        >
          Load more
        </button>
      )}
    </div>
  );
}

function FilterBar(props: { filters: Filters; members: Member[]; labels: Label[]; route: Route }) {
  const { filters } = props;
  const [q, setQ] = useState(filters.q ?? "");
  const typing = useRef(false);

  useEffect(() => {
    if (!typing.current) setQ(filters.q ?? "");
  }, [filters.q]);

  const set = (patch: Partial<Filters>, replace = false) => {
    // The route as it is now: a debounced search must not undo a filter chosen meanwhile.
    const current = router.get().route.filters;
    const merged: Partial<Record<keyof Filters, string | undefined>> = { ...current, ...patch };
    navigate({ ...router.get().route, view: "list", filters: cleanFilters(merged) }, { replace });
  };

  useEffect(() => {
    if (!typing.current) return;
    const t = setTimeout(() => {
      set({ q: q.trim() === "" ? undefined : q }, true);
    }, SEARCH_DEBOUNCE_MS);
    return () => clearTimeout(t);
  }, [q]);

  const active = FILTER_KEYS.some((k) => k !== "sort" && filters[k]);
  const select = (key: keyof Filters, label: string, options: [string, string][], any: string) => (
    <label class="field field-compact">
      <span>{label}</span>
      <select
        id={`filter-${key}`}
        value={filters[key] ?? ""}
        onChange={(e) => set({ [key]: e.currentTarget.value || undefined })}
      >
        <option value="">{any}</option>
        {options.map(([v, text]) => (
          <option key={v} value={v}>
            {text}
          </option>
        ))}
      </select>
    </label>
  );

  return (
    <search class="filter-bar" aria-label="Search and filter tasks">
      <label class="field field-search">
        <span>Search</span>
        <input
          id="filter-q"
          type="search"
          placeholder="Title or description (/)"
          maxLength={200}
          value={q}
          onInput={(e) => {
            typing.current = true;
            setQ(e.currentTarget.value);
          }}
          onBlur={() => {
            typing.current = false;
          }}
        />
      </label>
      {select(
        "status",
        "Status",
        STATUSES.map((s) => [s, STATUS_LABEL[s]]),
        "Any status",
      )}
      {select(
        "priority",
        "Priority",
        PRIORITIES.map((p) => [p, PRIORITY_LABEL[p]]),
        "Any priority",
      )}
      {select(
        "assigneeId",
        "Assignee",
        props.members.map((m) => [m.userId, m.displayName || m.username]),
        "Anyone",
      )}
      {select(
        "labelId",
        "Label",
        props.labels.map((l) => [l.id, l.name]),
        "Any label",
      )}
      <label class="field field-compact">
        <span>Due after</span>
        <input
          id="filter-dueAfter"
          type="date"
          value={filters.dueAfter ?? ""}
          onChange={(e) => set({ dueAfter: e.currentTarget.value || undefined })}
        />
      </label>
      <label class="field field-compact">
        <span>Due before</span>
        <input
          id="filter-dueBefore"
          type="date"
          value={filters.dueBefore ?? ""}
          onChange={(e) => set({ dueBefore: e.currentTarget.value || undefined })}
        />
      </label>
      {select(
        "sort",
        "Sort",
        (Object.keys(SORT_LABEL) as TaskSort[])
          .filter((s) => s !== "position")
          .map((s) => [s, SORT_LABEL[s]]),
        SORT_LABEL.position,
      )}
      <div class="filter-actions">
        <button
          type="button"
          class="button button-small"
          disabled={!active}
          onClick={() => {
            typing.current = false;
            setQ("");
            navigate({ ...router.get().route, filters: filters.sort ? { sort: filters.sort } : {} });
          }}
        >
          Clear filters
        </button>
      </div>
    </search>
  );
}
