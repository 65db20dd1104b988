import { type SseMessage, SseParser } from "./sse-parser";

/**
 * The live connection to GET /api/v1/events. EventSource cannot send the bearer token the
 * endpoint requires (the `?access_token=` extension would put the token into URLs, logs and
 * history), so this reads the stream with fetch and a ReadableStream, parses it with SseParser,
 * and reconnects by itself with Last-Event-ID, so no applied change is missed across a drop.
 */

export type StreamState = "connecting" | "open" | "reconnecting" | "stopped";

export interface LiveEventsOptions {
  token(): string | null;
  onMessage(message: SseMessage): void;
  onState(state: StreamState, detail: string): void;
  onUnauthorized(): void;
}

/** The server sends a comment every 15 s; this much silence means a dead connection. */
const SILENCE_LIMIT_MS = 40_000;
/** The stream's headers come at once, unless the node is stuck: then try again. */
const CONNECT_TIMEOUT_MS = 10_000;
const FIRST_RETRY_MS = 500;
const MAX_RETRY_MS = 5_000;

export class LiveEvents {
  private readonly parser = new SseParser();
  private controller: AbortController | undefined;
  private stopped = true;
  private lastByteAt = 0;
  private watchdog: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly opts: LiveEventsOptions) {}

  get lastEventId(): string {
    return this.parser.lastEventId;
  }

  /** After a reload (event: reset) the state is current up to this index. */
  set lastEventId(id: string) {
    this.parser.resumeAfter(id);
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.watchdog = setInterval(() => {
      if (this.lastByteAt > 0 && Date.now() - this.lastByteAt > SILENCE_LIMIT_MS) this.controller?.abort();
    }, 5_000);
    void this.run();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.watchdog);
    this.controller?.abort();
    this.opts.onState("stopped", "");
  }

  /** Drops the current connection and opens a new one at once (e.g. after logging in again). */
  reconnect(): void {
    this.controller?.abort();
  }

  private async run(): Promise<void> {
    let delay = FIRST_RETRY_MS;
    let first = true;
    while (!this.stopped) {
      this.opts.onState(first ? "connecting" : "reconnecting", "");
      first = false;
      const openedAt = Date.now();
      const why = await this.connectOnce();
      if (this.stopped) return;
      if (why === "unauthorized") {
        this.stopped = true;
        clearInterval(this.watchdog);
        this.opts.onUnauthorized();
        return;
      }
      // A connection that stayed up for a while earns a quick reconnect; repeated failures back off.
      if (Date.now() - openedAt > 10_000) delay = FIRST_RETRY_MS;
      this.opts.onState("reconnecting", why);
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(MAX_RETRY_MS, delay * 2);
    }
  }

  /** One connection, until it ends; answers why it ended. */
  private async connectOnce(): Promise<string> {
    const token = this.opts.token();
    if (!token) return "unauthorized";
    const controller = new AbortController();
    this.controller = controller;
    const headers: Record<string, string> = { accept: "text/event-stream", authorization: `Bearer ${token}` };
    this.parser.newConnection();
    if (this.parser.lastEventId) headers["last-event-id"] = this.parser.lastEventId;
    let res: Response;
    const connectTimer = setTimeout(() => controller.abort(), CONNECT_TIMEOUT_MS);
    try {
      res = await fetch("/api/v1/events", { headers, signal: controller.signal, cache: "no-store" });
    } catch {
      return "the node could not be reached";
    } finally {
      clearTimeout(connectTimer);
    }
    if (res.status === 401) return "unauthorized";
    if (!res.ok || !res.body) {
      await res.text().catch(() => "");
      return `the node answered ${res.status}`;
    }
    this.lastByteAt = Date.now();
    this.opts.onState("open", "");
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        this.lastByteAt = Date.now();
        for (const m of this.parser.push(decoder.decode(value, { stream: true }))) {
          try {
            this.opts.onMessage(m);
          } catch (e) {
            console.error("event handler failed", m.event, e);
          }
        }
      }
      return "the stream ended";
    } catch {
      return "the connection dropped";
    } finally {
      this.lastByteAt = 0;
      reader.releaseLock();
    }
  }
}
