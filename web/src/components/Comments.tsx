import { useRef, useState } from "preact/hooks";
import { newIdempotencyKey } from "../api/client";
import { addComment, type DataState, data, deleteComment, memberName } from "../app/data";
import { session } from "../app/session";
import { formatDateTime, timeAgo } from "../lib/format";
import { useStore } from "../lib/store";

const selectAll = (s: DataState) => s;

/** A task's comments, oldest first, and a box to add one (Ctrl+Enter sends). */
export function Comments(props: { taskId: string }) {
  const state = useStore(data, selectAll);
  const me = useStore(session, (s) => s.user);
  const [body, setBody] = useState("");
  const [busy, setBusy] = useState(false);
  // The same text sent again (after a failure) goes with the same key: never two comments.
  const keyFor = useRef({ body: "", key: newIdempotencyKey() });
  const comments = state.comments?.taskId === props.taskId ? state.comments : null;

  const send = async () => {
    const text = body.trim();
    if (!text || busy) return;
    if (keyFor.current.body !== text) keyFor.current = { body: text, key: newIdempotencyKey() };
    setBusy(true);
    const ok = await addComment(props.taskId, text, keyFor.current.key);
    setBusy(false);
    if (ok) {
      setBody("");
      keyFor.current = { body: "", key: newIdempotencyKey() };
    }
  };

  return (
    <section class="comments" aria-labelledby="comments-h">
      <h3 id="comments-h">
        Comments {comments?.loaded ? <span class="count">{comments.items.length}</span> : null}
      </h3>
      {!comments?.loaded && <p class="muted">Loading comments…</p>}
      <ol class="comment-list">
        {comments?.items.map((c) => (
          <li key={c.id} class="comment">
            <div class="comment-head">
              <strong>{memberName(state, c.authorId)}</strong>{" "}
              <time class="muted" dateTime={c.createdAt} title={formatDateTime(c.createdAt)}>
                {timeAgo(c.createdAt)}
              </time>
              {(c.authorId === me?.id || me?.isAdmin) && (
                <button
                  type="button"
                  class="link-button"
                  aria-label={`Delete comment from ${timeAgo(c.createdAt)}`}
                  onClick={() => void deleteComment(c)}
                >
                  Delete
                </button>
              )}
            </div>
            <p class="comment-body">{c.body}</p>
          </li>
        ))}
      </ol>
      <form
        class="comment-form"
        onSubmit={(e) => {
          e.preventDefault();
          void send();
        }}
      >
        <label class="visually-hidden" for="comment-body">
          Add a comment
        </label>
        <textarea
          id="comment-body"
          rows={3}
          maxLength={5000}
          placeholder="Add a comment… (Ctrl+Enter to send)"
          value={body}
          onInput={(e) => setBody(e.currentTarget.value)}
          onKeyDown={(e) => {
            if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
              e.preventDefault();
              void send();
            }
          }}
        />
        <button type="submit" class="button button-primary" disabled={busy || !body.trim()}>
          {busy ? "Sending…" : "Comment"}
        </button>
      </form>
    </section>
  );
}
