import type { FastifySchemaCompiler } from "fastify";
import type { TSchema } from "typebox";
import { Compile } from "typebox/compile";
import type { ErrorDetail } from "./errors.js";

/** A schema error as TypeBox reports it (the shape of Ajv's). */
export interface SchemaError {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message?: string;
}

/**
 * The request validator: one compiled TypeBox check per route part. Query strings, path params
 * and headers arrive as strings and are converted first ("limit=10" → 10); bodies are JSON and
 * must already have the right types, so "5" for a number is an error rather than a guess.
 */
export const validatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  const check = Compile(schema);
  return (value: unknown) => {
    // A missing body reads as an empty object: routes whose fields are all optional accept
    // none, and the others name each missing field.
    const converted = httpPart === "body" ? (value ?? {}) : convertStrings(schema, value);
    if (check.Check(converted)) return { value: converted };
    return { error: check.Errors(converted) as unknown as Error };
  };
};

const INTEGER_TEXT = /^-?(0|[1-9][0-9]{0,15})$/;
const NUMBER_TEXT = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?$/;

/**
 * Query, path and header values arrive as text. Only exact spellings are converted ("10" → 10,
 * "true" → true); "1.5" for an integer or "1e3" stay text, so they fail validation instead of
 * being rounded into something the client did not ask for. Repeated parameters stay arrays.
 */
function convertStrings(schema: TSchema, value: unknown): unknown {
  const props = (schema as { properties?: Record<string, { type?: unknown }> }).properties;
  if (!props || typeof value !== "object" || value === null) return value;
  const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (const [name, prop] of Object.entries(props)) {
    const v = out[name];
    if (typeof v !== "string") continue;
    if (prop.type === "integer" && INTEGER_TEXT.test(v)) out[name] = Number(v);
    else if (prop.type === "number" && NUMBER_TEXT.test(v)) out[name] = Number(v);
    else if (prop.type === "boolean" && (v === "true" || v === "false")) out[name] = v === "true";
  }
  return out;
}

/** `/labelIds/0` → `labelIds[0]`; an empty pointer is the whole part. */
function jsonPointerToPath(pointer: string): string {
  if (pointer === "") return "";
  let out = "";
  for (const raw of pointer.split("/").slice(1)) {
    const seg = raw.replaceAll("~1", "/").replaceAll("~0", "~");
    out += /^\d+$/.test(seg) ? `[${seg}]` : out === "" ? seg : `.${seg}`;
  }
  return out;
}

function join(prefix: string, path: string): string {
  if (prefix === "") return path;
  return path === "" ? prefix : `${prefix}.${path}`;
}

function problemOf(errors: SchemaError[]): string {
  const allowed = errors.flatMap((e) =>
    e.keyword === "enum"
      ? ((e.params["allowedValues"] as unknown[]) ?? [])
      : e.keyword === "const"
        ? [e.params["allowedValue"]]
        : [],
  );
  const nullable = errors.some((e) => e.keyword === "type" && e.params["type"] === "null");
  if (allowed.length > 0) return `must be one of ${allowed.map((v) => JSON.stringify(v)).join(", ")}`;
  const first = errors.find(
    (e) => e.keyword !== "anyOf" && !(e.keyword === "type" && e.params["type"] === "null"),
  );
  const base = humanize(first ?? errors[0]!);
  return nullable ? `${base} (or null)` : base;
}

function humanize(e: SchemaError): string {
  const p = e.params;
  switch (e.keyword) {
    case "type":
      return `must be ${article(String(p["type"]))}`;
    case "minLength":
      return Number(p["limit"]) === 1 ? "must not be empty" : `must be at least ${p["limit"]} characters`;
    case "maxLength":
      return `must be at most ${p["limit"]} characters`;
    case "minimum":
      return `must be at least ${p["limit"]}`;
    case "maximum":
      return `must be at most ${p["limit"]}`;
    case "minItems":
      return `must hold at least ${p["limit"]} items`;
    case "maxItems":
      return `must hold at most ${p["limit"]} items`;
    case "uniqueItems":
      return "must not list an item twice";
    case "pattern":
      return String(p["pattern"]).startsWith("^[^\\u0000")
        ? "must not contain control characters"
        : "has characters or a shape that is not allowed";
    case "minProperties":
      return "must set at least one field";
    case "format":
      return p["format"] === "date" ? "must be a date YYYY-MM-DD" : `must be a valid ${p["format"]}`;
    case "required":
      return "is required";
    default:
      return e.message ?? "is not valid";
  }
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

/**
 * Turns a schema's errors into one `{path, problem}` per field: an unknown field is named as
 * such, a union's alternatives are folded into "must be one of …", and a missing field is
 * reported at its own path rather than at its parent object.
 */
export function schemaErrorsToDetails(errors: readonly SchemaError[], prefix = ""): ErrorDetail[] {
  const byPath = new Map<string, SchemaError[]>();
  const out: ErrorDetail[] = [];
  for (const e of errors) {
    const at = jsonPointerToPath(e.instancePath);
    if (e.keyword === "boolean") continue; // the additionalProperties error below names the field
    if (e.keyword === "additionalProperties") {
      const extra = (e.params["additionalProperties"] as string[] | undefined) ?? [];
      for (const name of extra)
        out.push({ path: join(prefix, join(at, name)), problem: "is not a known field" });
      continue;
    }
    if (e.keyword === "required") {
      const missing =
        (e.params["requiredProperties"] as string[] | undefined) ??
        (e.params["missingProperty"] ? [String(e.params["missingProperty"])] : []);
      if (missing.length > 0) {
        for (const name of missing) out.push({ path: join(prefix, join(at, name)), problem: "is required" });
        continue;
      }
    }
    const list = byPath.get(at) ?? [];
    list.push(e);
    byPath.set(at, list);
  }
  for (const [at, list] of byPath) out.push({ path: join(prefix, at), problem: problemOf(list) });
  const seen = new Set<string>();
  return out.filter((d) => {
    const k = `${d.path}\n${d.problem}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

export const PART_PREFIX: Record<string, string> = {
  body: "",
  querystring: "query",
  params: "params",
  headers: "headers",
};
