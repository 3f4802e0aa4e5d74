// The JSON form of one record, the same as `consume --json` prints and `produce --json` reads
// (cmd/data-format.ts holds the CLI's side; both must stay in step):
//   {"topic","partition","offset","timestamp","key","value","headers":[{"key","value"}]}
// key, value and header values are UTF-8 text when they are valid UTF-8, else base64 marked by
// "keyEncoding" / "valueEncoding": "base64" beside them; null stays null.
import type { DecodedRecord, RecordHeader, RecordInput } from "../../core/batch/record.ts";
import { badRequest } from "./errors.ts";

export interface EnvelopeHeader {
  key: string;
  value: string | null;
  valueEncoding?: "base64";
}

export interface Envelope {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: string | null;
  keyEncoding?: "base64";
  value: string | null;
  valueEncoding?: "base64";
  headers: EnvelopeHeader[];
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const encoder = new TextEncoder();

/** Bytes as JSON text: UTF-8 when valid, else base64. */
function jsonBytes(bytes: Uint8Array): { text: string; base64: boolean } {
  try {
    return { text: strictUtf8.decode(bytes), base64: false };
  } catch {
    return { text: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64"), base64: true };
  }
}

export function envelopeOf(topic: string, partition: number, r: DecodedRecord): Envelope {
  const e: Envelope = { topic, partition, offset: r.offset, timestamp: r.timestamp, key: null, value: null, headers: [] };
  if (r.key !== null) {
    const k = jsonBytes(r.key);
    e.key = k.text;
    if (k.base64) e.keyEncoding = "base64";
  }
  if (r.value !== null) {
    const v = jsonBytes(r.value);
    e.value = v.text;
    if (v.base64) e.valueEncoding = "base64";
  }
  e.headers = r.headers.map((h) => {
    if (h.value === null) return { key: h.key, value: null };
    const v = jsonBytes(h.value);
    return v.base64 ? { key: h.key, value: v.text, valueEncoding: "base64" } : { key: h.key, value: v.text };
  });
  // Field order as consume --json prints it: encodings right after what they describe.
  return {
    topic: e.topic,
    partition: e.partition,
    offset: e.offset,
    timestamp: e.timestamp,
    key: e.key,
    ...(e.keyEncoding ? { keyEncoding: e.keyEncoding } : {}),
    value: e.value,
    ...(e.valueEncoding ? { valueEncoding: e.valueEncoding } : {}),
    headers: e.headers,
  };
}

/** A record to produce, and the partition the envelope asked for (if any). */
export interface ParsedEnvelope {
  record: RecordInput;
  partition?: number;
}

const ENVELOPE_FIELDS = ["topic", "partition", "offset", "timestamp", "key", "keyEncoding", "value", "valueEncoding", "headers"];

/** Parses one NDJSON line into a record; `topic` and `offset` are accepted and ignored, so that
 * what `consume --json` prints can be posted back. `where` names the line in error messages. */
export function parseEnvelope(value: unknown, where: string): ParsedEnvelope {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw badRequest(`${where}: expected a JSON object`, "INVALID_JSON");
  const o = value as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!ENVELOPE_FIELDS.includes(k)) throw badRequest(`${where}: unknown field "${k}"; known: ${ENVELOPE_FIELDS.join(", ")}`, "UNKNOWN_FIELD");
  }
  const record: RecordInput = { key: bytesField(o.key, o.keyEncoding, "key", where), value: bytesField(o.value, o.valueEncoding, "value", where) };
  if (o.timestamp !== undefined && o.timestamp !== null) record.timestamp = timestampOf(o.timestamp, where);
  if (o.headers !== undefined && o.headers !== null) record.headers = headersOf(o.headers, where);
  const out: ParsedEnvelope = { record };
  if (o.partition !== undefined && o.partition !== null) {
    if (typeof o.partition !== "number" || !Number.isSafeInteger(o.partition) || o.partition < 0) {
      throw badRequest(`${where}: partition must be a non-negative integer`, "INVALID_PARTITIONS");
    }
    out.partition = o.partition;
  }
  return out;
}

function timestampOf(v: unknown, where: string): number {
  const t = typeof v === "string" ? Date.parse(v) : v;
  if (typeof t !== "number" || !Number.isSafeInteger(t) || t < 0) {
    throw badRequest(`${where}: timestamp must be epoch milliseconds or an ISO-8601 time`, "INVALID_TIMESTAMP");
  }
  return t;
}

function bytesField(v: unknown, encoding: unknown, field: string, where: string): Uint8Array | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== "string") throw badRequest(`${where}: ${field} must be a string or null`);
  if (encoding === undefined || encoding === null || encoding === "utf8" || encoding === "utf-8") return encoder.encode(v);
  if (encoding === "base64") {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(v) || v.length % 4 !== 0) throw badRequest(`${where}: ${field} is not base64`);
    return new Uint8Array(Buffer.from(v, "base64"));
  }
  throw badRequest(`${where}: unknown encoding ${JSON.stringify(encoding)} for ${field} (only "base64")`);
}

/** Headers as consume --json prints them ([{"key","value"}]), or an object of name → value. */
function headersOf(v: unknown, where: string): RecordHeader[] {
  if (Array.isArray(v)) {
    return v.map((h, i) => {
      if (typeof h !== "object" || h === null || typeof (h as { key?: unknown }).key !== "string") throw badRequest(`${where}: headers[${i}] needs a string "key"`);
      const hh = h as Record<string, unknown>;
      for (const k of Object.keys(hh)) if (k !== "key" && k !== "value" && k !== "valueEncoding") throw badRequest(`${where}: headers[${i}]: unknown field "${k}"`, "UNKNOWN_FIELD");
      return { key: hh.key as string, value: bytesField(hh.value, hh.valueEncoding, `header ${JSON.stringify(hh.key)}`, where) };
    });
  }
  if (typeof v !== "object" || v === null) throw badRequest(`${where}: headers must be a list of {"key","value"} or an object of name → value`);
  return Object.entries(v).map(([key, value]) => ({ key, value: bytesField(value, undefined, `header ${JSON.stringify(key)}`, where) }));
}
