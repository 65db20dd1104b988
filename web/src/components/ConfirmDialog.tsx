import { useId } from "preact/hooks";
import { Dialog } from "./Dialog";

export function ConfirmDialog(props: {
  open: boolean;
  title: string;
  message: string;
  confirmLabel: string;
  danger?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const messageId = useId();
  return (
    <Dialog
      open={props.open}
      title={props.title}
      onClose={props.onCancel}
      role="alertdialog"
      describedBy={messageId}
    >
      <p id={messageId}>{props.message}</p>
      <div class="dialog-actions">
        <button type="button" class="button" onClick={props.onCancel} autofocus>
          Cancel
        </button>
        <button
          type="button"
          class={props.danger ? "button button-danger" : "button button-primary"}
          onClick={props.onConfirm}
        >
          {props.confirmLabel}
        </button>
      </div>
    </Dialog>
  );
}
