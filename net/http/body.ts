// Reading request bodies under a cap, and strict JSON: an object with only the fields a route
// knows. The cap is checked against Content-Length first and again while the bytes arrive, so a
// client that lies about (or omits) its length still cannot make us buffer more than the cap.
import { badRequest, HttpError } from "./errors.ts";

export function tooLarge(max: number): HttpError {
  return new HttpError(413, "PAYLOAD_TOO_LARGE", `request body is larger than ${max} bytes`);
}

export async function readBody(req: Request, max: number): Promise<Uint8Array> {
  const declared = req.headers.get("content-length");
  if (declared !== null && Number(declared) > max) throw tooLarge(max);
  if (req.body === null) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = req.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel().catch(() => {});
      throw tooLarge(max);
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let pos = 0;
  for (const c of chunks) {
    out.set(c, pos);
    pos += c.byteLength;
  }
  return out;
}

export type JsonObject = Record<string, unknown>;

/** Parses a JSON object body; refuses other JSON values and any key outside `allowed` (null: any). */
export async function readJsonObject(req: Request, max: number, allowed: readonly string[] | null): Promise<JsonObject> {
  const bytes = await readBody(req, max);
  const obj = parseJsonObject(new TextDecoder().decode(bytes), "request body");
  if (allowed === null) return obj;
  const unknown = Object.keys(obj).filter((k) => !allowed.includes(k));
  if (unknown.length > 0) {
    throw badRequest(`unknown field${unknown.length > 1 ? "s" : ""} ${unknown.map((k) => JSON.stringify(k)).join(", ")}; known: ${allowed.join(", ")}`, "UNKNOWN_FIELD");
  }
  return obj;
}

export function parseJsonObject(text: string, what: string): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw badRequest(`${what} is not valid JSON: ${(err as Error).message}`, "INVALID_JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw badRequest(`${what} must be a JSON object`, "INVALID_JSON");
  }
  return value as JsonObject;
}

/** A map of config names to values: strings, numbers (written as strings), or null when `nulls`. */
export function configMap(value: unknown, field: string, nulls: boolean): Record<string, string | null> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw badRequest(`${field} must be an object of config names to values`);
  const out: Record<string, string | null> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v === "string") out[k] = v;
    else if (typeof v === "number" && Number.isFinite(v)) out[k] = String(v);
    else if (v === null && nulls) out[k] = null;
    else throw badRequest(`${field}.${k} must be a string${nulls ? ", a number or null (back to the default)" : " or a number"}`, "INVALID_CONFIG");
  }
  return out;
}
