import { useState } from "preact/hooks";
import { ApiError, describeError, newIdempotencyKey } from "../api/client";
import type { User } from "../api/types";
import { api } from "../app/api";
import { session, signedIn } from "../app/session";
import { useStore } from "../lib/store";

type Mode = "login" | "signup";
const selectEnded = (s: { endedBecause: string | null }) => s.endedBecause;

/** Log in or sign up. Shown whenever there is no valid session, including after a 401. */
export function AuthScreen() {
  const endedBecause = useStore(session, selectEnded);
  const [mode, setMode] = useState<Mode>("login");
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [displayName, setDisplayName] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  // One key per attempt the user makes; a retry after "the cluster did not answer" reuses it.
  const [key, setKey] = useState(newIdempotencyKey());

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setFieldErrors({});
    try {
      const body =
        mode === "signup"
          ? {
              username: username.trim(),
              password,
              ...(displayName.trim() ? { displayName: displayName.trim() } : {}),
            }
          : { username: username.trim(), password };
      const res = await api.post<{ user: User; token: string }>(`/api/v1/auth/${mode}`, body, {
        key,
        auth: false,
      });
      signedIn(res.body.token, res.body.user);
    } catch (err) {
      if (err instanceof ApiError && err.retriable) {
        setError(`${err.message} Press the button again to retry; it will not create a second account.`);
        return;
      }
      setKey(newIdempotencyKey());
      if (err instanceof ApiError && err.details.length > 0) {
        const fields: Record<string, string> = {};
        for (const d of err.details) fields[d.path.replace(/^body\.?/, "")] = d.problem;
        setFieldErrors(fields);
      }
      if (err instanceof ApiError && err.status === 409) setError("That username is taken; choose another.");
      else if (err instanceof ApiError && err.status === 401)
        setError("The username or the password is wrong.");
      else setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  const switchTo = (m: Mode) => {
    setMode(m);
    setError(null);
    setFieldErrors({});
    setKey(newIdempotencyKey());
  };

  return (
    <main class="auth" id="main">
      <div class="auth-card">
        <h1 class="brand brand-large">
          <span aria-hidden="true" class="brand-mark">
            ◆
          </span>{" "}
          taskraft
        </h1>
        <p class="muted">Tasks replicated by Raft across every node of the cluster.</p>
        {endedBecause && (
          <p class="notice notice-warn" role="alert">
            {endedBecause}
          </p>
        )}
        <div class="tabs" role="tablist" aria-label="Account">
          <button
            type="button"
            role="tab"
            aria-selected={mode === "login"}
            class="tab"
            onClick={() => switchTo("login")}
          >
            Log in
          </button>
          <button
            type="button"
            role="tab"
            aria-selected={mode === "signup"}
            class="tab"
            onClick={() => switchTo("signup")}
          >
            Sign up
          </button>
        </div>
        <form onSubmit={submit} class="form" aria-label={mode === "login" ? "Log in" : "Sign up"} noValidate>
          <label class="field">
            <span>Username</span>
            <input
              name="username"
              autoComplete="username"
              required
              minLength={3}
              maxLength={32}
              pattern="[a-z0-9_.\-]{3,32}"
              value={username}
              onInput={(e) => setUsername(e.currentTarget.value)}
              aria-invalid={Boolean(fieldErrors["username"])}
              aria-describedby="username-help"
            />
            <small id="username-help" class={fieldErrors["username"] ? "field-error" : "muted"}>
              {fieldErrors["username"] ?? (mode === "signup" ? "3–32 of a–z, 0–9, _ . -" : "")}
            </small>
          </label>
          {mode === "signup" && (
            <label class="field">
              <span>Display name (optional)</span>
              <input
                name="displayName"
                autoComplete="name"
                maxLength={100}
                value={displayName}
                onInput={(e) => setDisplayName(e.currentTarget.value)}
              />
            </label>
          )}
          <label class="field">
            <span>Password</span>
            <input
              name="password"
              type="password"
              autoComplete={mode === "login" ? "current-password" : "new-password"}
              required
              minLength={8}
              maxLength={200}
              value={password}
              onInput={(e) => setPassword(e.currentTarget.value)}
              aria-invalid={Boolean(fieldErrors["password"])}
              aria-describedby="password-help"
            />
            <small id="password-help" class={fieldErrors["password"] ? "field-error" : "muted"}>
              {fieldErrors["password"] ?? (mode === "signup" ? "At least 8 characters" : "")}
            </small>
          </label>
          {error && (
            <p class="field-error" role="alert">
              {error}
            </p>
          )}
          <button type="submit" class="button button-primary button-block" disabled={busy}>
            {busy ? "Please wait…" : mode === "login" ? "Log in" : "Create account"}
          </button>
        </form>
      </div>
    </main>
  );
}
