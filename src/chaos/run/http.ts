/**
 * One HTTP request of the chaos clients and nemesis, classified the way the history needs it: an
 * answer (any status), or a transport failure that either certainly never reached the node
 * (connection refused) or may have (timeout, reset: the write may have been applied).
 */

export interface HttpAnswer {
  readonly kind: "answer";
  readonly status: number;
  // biome-ignore lint/suspicious/noExplicitAny: JSON of the answer; callers check the fields they use.
  readonly body: any;
  readonly node: string | null;
}

export interface HttpFailure {
  readonly kind: "failure";
  /** False only when the request certainly did not reach a server (connection refused). */
  readonly maybeSent: boolean;
  readonly reason: string;
}

export type HttpOutcome = HttpAnswer | HttpFailure;

export interface RequestOptions {
  token?: string;
  body?: unknown;
  headers?: Record<string, string>;
  /** Bound on the whole exchange; past it the outcome is unknown. */
  timeoutMs: number;
}

function causeCode(e: unknown): string | undefined {
  let cur: unknown = e;
  for (let depth = 0; depth < 5 && typeof cur === "object" && cur !== null; depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === "string") return code;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

export async function httpRequest(
  base: string,
  method: string,
  path: string,
  opts: RequestOptions,
): Promise<HttpOutcome> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.token) headers["authorization"] = `Bearer ${opts.token}`;
  let body: string | undefined;
  if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers["content-type"] = "application/json";
  }
  try {
    const res = await fetch(base + path, {
      method,
      headers,
      ...(body !== undefined ? { body } : {}),
      signal: AbortSignal.timeout(opts.timeoutMs),
    });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text === "" ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    return { kind: "answer", status: res.status, body: parsed, node: res.headers.get("x-taskraft-node") };
  } catch (e) {
    const name = (e as Error).name;
    if (name === "TimeoutError" || name === "AbortError") {
      return { kind: "failure", maybeSent: true, reason: `timeout after ${opts.timeoutMs} ms` };
    }
    const code = causeCode(e);
    return {
      kind: "failure",
      maybeSent: code !== "ECONNREFUSED",
      reason: code ?? (e as Error).message,
    };
  }
}

export function errorCode(a: HttpAnswer): string {
  const code = (a.body as { error?: { code?: unknown } } | undefined)?.error?.code;
  return typeof code === "string" ? code : `http ${a.status}`;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
