import { createStore } from "./store";

/**
 * Light and dark themes. The choice is a display preference, not a secret, so it stays in
 * localStorage across sessions; "system" follows prefers-color-scheme. index.html applies it
 * before the first paint, so the page never flashes the wrong theme.
 */

export type ThemeChoice = "light" | "dark" | "system";
const KEY = "taskraft.theme";

function stored(): ThemeChoice {
  try {
    const v = localStorage.getItem(KEY);
    return v === "light" || v === "dark" ? v : "system";
  } catch {
    return "system";
  }
}

const media = window.matchMedia("(prefers-color-scheme: dark)");

function effective(choice: ThemeChoice): "light" | "dark" {
  return choice === "system" ? (media.matches ? "dark" : "light") : choice;
}

export const theme = createStore<{ choice: ThemeChoice; effective: "light" | "dark" }>({
  choice: stored(),
  effective: effective(stored()),
});

function apply(): void {
  const e = effective(theme.get().choice);
  document.documentElement.dataset["theme"] = e;
  if (theme.get().effective !== e) theme.set({ effective: e });
}

export function setTheme(choice: ThemeChoice): void {
  try {
    if (choice === "system") localStorage.removeItem(KEY);
    else localStorage.setItem(KEY, choice);
  } catch {
    // not persisted; still applied
  }
  theme.set({ choice });
  apply();
}

/** Light → dark → light (from "system", to the opposite of what is shown). */
export function toggleTheme(): void {
  setTheme(theme.get().effective === "dark" ? "light" : "dark");
}

media.addEventListener("change", apply);
apply();
