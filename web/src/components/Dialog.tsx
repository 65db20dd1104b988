import type { ComponentChildren } from "preact";
import { useEffect, useId, useRef } from "preact/hooks";

/**
 * A modal dialog on the native <dialog> element: it traps focus, closes on Escape and makes the
 * rest of the page inert, which hand-made overlays get wrong. Focus returns to where it was.
 */
export function Dialog(props: {
  open: boolean;
  title: string;
  onClose: () => void;
  children: ComponentChildren;
  wide?: boolean;
  role?: "dialog" | "alertdialog";
  describedBy?: string;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const returnTo = useRef<Element | null>(null);

  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (props.open && !d.open) {
      returnTo.current = document.activeElement;
      d.showModal();
    } else if (!props.open && d.open) {
      d.close();
    }
  }, [props.open]);

  useEffect(
    () => () => {
      const el = returnTo.current;
      if (el instanceof HTMLElement && el.isConnected) el.focus();
    },
    [],
  );

  const close = () => {
    props.onClose();
    const el = returnTo.current;
    if (el instanceof HTMLElement && el.isConnected) setTimeout(() => el.focus(), 0);
  };

  return (
    <dialog
      ref={ref}
      class={props.wide ? "dialog dialog-wide" : "dialog"}
      aria-labelledby={titleId}
      aria-describedby={props.describedBy}
      role={props.role}
      onCancel={(e) => {
        e.preventDefault();
        close();
      }}
    >
      {props.open && (
        <div class="dialog-body">
          <header class="dialog-header">
            <h2 id={titleId}>{props.title}</h2>
            <button type="button" class="icon-button" aria-label="Close" onClick={close}>
              ✕
            </button>
          </header>
          {props.children}
        </div>
      )}
    </dialog>
  );
}
