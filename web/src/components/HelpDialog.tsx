import { Dialog } from "./Dialog";

export const SHORTCUTS: [string, string][] = [
  ["?", "Show this list"],
  ["n", "Quick add a task (to the current project's To do)"],
  ["/", "Search the list"],
  ["b / l / c", "Board, List, Cluster view"],
  ["t", "Switch light / dark theme"],
  ["Escape", "Close the task panel or a dialog"],
  ["↑ ↓ ← →", "On a card: move the focus between cards and columns"],
  ["Alt + ↑ / ↓", "On a card: move it up or down in its column"],
  ["Alt + ← / →", "On a card: move it to the previous or next column"],
  ["Enter", "On a card: open it"],
  ["Delete", "On a card: delete it (asks first)"],
  ["Ctrl + Enter", "Save the description, send a comment"],
];

export function HelpDialog(props: { open: boolean; onClose: () => void }) {
  return (
    <Dialog open={props.open} title="Keyboard shortcuts" onClose={props.onClose}>
      <table class="shortcut-table">
        <thead>
          <tr>
            <th scope="col">Keys</th>
            <th scope="col">Action</th>
          </tr>
        </thead>
        <tbody>
          {SHORTCUTS.map(([keys, what]) => (
            <tr key={keys}>
              <td>
                <kbd>{keys}</kbd>
              </td>
              <td>{what}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p class="muted">Shortcuts of one key do nothing while you type in a field.</p>
    </Dialog>
  );
}
