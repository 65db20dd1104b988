import { dismiss, notices } from "../app/notices";
import { useStore } from "../lib/store";

const selectToasts = (s: { toasts: ReturnType<typeof notices.get>["toasts"] }) => s.toasts;

/** Messages that come and go; errors are announced at once (role=alert), the rest politely. */
export function Toasts() {
  const toasts = useStore(notices, selectToasts);
  return (
    <div class="toasts" aria-live="polite">
      {toasts.map((t) => (
        <div key={t.id} class={`toast toast-${t.kind}`} role={t.kind === "error" ? "alert" : "status"}>
          <span class="toast-text">{t.text}</span>
          {t.action && (
            <button
              type="button"
              class="button button-small"
              onClick={() => {
                dismiss(t.id);
                t.action?.run();
              }}
            >
              {t.action.label}
            </button>
          )}
          <button
            type="button"
            class="icon-button"
            aria-label="Dismiss message"
            onClick={() => dismiss(t.id)}
          >
            ✕
          </button>
        </div>
      ))}
    </div>
  );
}
