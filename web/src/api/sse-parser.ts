/**
 * An incremental parser of the text/event-stream format (WHATWG HTML §9.2.6), for the event
 * stream the UI reads with fetch: GET /api/v1/events needs `Authorization: Bearer`, which the
 * browser's EventSource cannot send. Pure: text in, messages out, so it is unit-tested in Node.
 */

export interface SseMessage {
  /** The last event id seen so far in the stream (ids persist across messages, as in the spec). */
  id: string;
  /** `message` when the event had no `event:` field. */
  event: string;
  data: string;
}

/** A line longer than this (no newline in sight) is a broken stream, not an event. */
const MAX_LINE = 4 * 1024 * 1024;

export class SseParser {
  /** The Last-Event-ID to send when reconnecting. */
  lastEventId = "";
  /** The server's `retry:` advice, in milliseconds. */
  retryMs: number | undefined;

  private buffer = "";
  private data: string[] = [];
  private event = "";
  private idBuffer = "";
  private sawData = false;
  private first = true;
  /** The previous chunk ended in CR: a LF at the start of the next one belongs to it. */
  private pendingCR = false;

  /** A new connection starts clean; only the last event id and the retry advice carry over. */
  newConnection(): void {
    this.buffer = "";
    this.data = [];
    this.event = "";
    this.sawData = false;
    this.first = true;
    this.pendingCR = false;
    this.idBuffer = this.lastEventId;
  }

  /** Sets the id to resume after (a reload made the state current up to it). */
  resumeAfter(id: string): void {
    this.lastEventId = id;
    this.idBuffer = id;
  }

  push(chunk: string): SseMessage[] {
    let text = chunk;
    if (this.first && text.length > 0) {
      this.first = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    if (this.pendingCR && text.startsWith("\n")) text = text.slice(1);
    this.pendingCR = false;
    this.buffer += text;
    const out: SseMessage[] = [];
    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const c = this.buffer.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      this.line(this.buffer.slice(start, i), out);
      if (c === 13) {
        if (i + 1 < this.buffer.length) {
          if (this.buffer.charCodeAt(i + 1) === 10) i++;
        } else {
          this.pendingCR = true;
        }
      }
      start = i + 1;
    }
    this.buffer = this.buffer.slice(start);
    if (this.buffer.length > MAX_LINE) throw new Error("event stream line too long");
    return out;
  }

  private line(line: string, out: SseMessage[]): void {
    if (line === "") {
      this.dispatch(out);
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    switch (field) {
      case "data":
        this.data.push(value);
        this.sawData = true;
        break;
      case "event":
        this.event = value;
        break;
      case "id":
        if (!value.includes("\0")) this.idBuffer = value;
        break;
      case "retry":
        if (/^\d+$/.test(value)) this.retryMs = Number(value);
        break;
      default:
        break;
    }
  }

  private dispatch(out: SseMessage[]): void {
    this.lastEventId = this.idBuffer;
    if (this.sawData) {
      out.push({ id: this.lastEventId, event: this.event || "message", data: this.data.join("\n") });
    }
    this.data = [];
    this.event = "";
    this.sawData = false;
  }
}
