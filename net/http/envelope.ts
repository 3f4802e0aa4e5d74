// The JSON form of one record, shared with `consume --json` / `produce --json`:
//   {"topic","partition","offset","timestamp","key","value","headers"}
// key and value are UTF-8 text (null stays null; bytes that are not UTF-8 decode with U+FFFD),
// headers an object of header name → text or null (a repeated header name keeps its last value).
import type { DecodedRecord, RecordHeader, RecordInput } from "../../core/batch/record.ts";
import { badRequest } from "./errors.ts";

export interface Envelope {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: string | null;
  value: string | null;
  headers: Record<string, string | null>;
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

function text(bytes: Uint8Array | null): string | null {
  return bytes === null ? null : decoder.decode(bytes);
}

export function envelopeOf(topic: string, partition: number, r: DecodedRecord): Envelope {
  const headers: Record<string, string | null> = {};
  for (const h of r.headers) headers[h.key] = text(h.value);
  return { topic, partition, offset: r.offset, timestamp: r.timestamp, key: text(r.key), value: text(r.value), headers };
}

/** A record to produce, and the partition the envelope asked for (if any). */
export interface ParsedEnvelope {
  record: RecordInput;
  partition?: number;
}

const ENVELOPE_FIELDS = ["topic", "partition", "offset", "timestamp", "key", "value", "headers"];

/** Parses one NDJSON line into a record; `topic` and `offset` are accepted and ignored, so that
 * what `consume --json` prints can be posted back. `where` names the line in error messages. */
export function parseEnvelope(value: unknown, where: string): ParsedEnvelope {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw badRequest(`${where}: expected a JSON object`, "INVALID_JSON");
  const o = value as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!ENVELOPE_FIELDS.includes(k)) throw badRequest(`${where}: unknown field "${k}"; known: ${ENVELOPE_FIELDS.join(", ")}`, "UNKNOWN_FIELD");
  }
  const record: RecordInput = { key: nullableText(o.key, "key", where), value: nullableText(o.value, "value", where) };
  if (o.timestamp !== undefined && o.timestamp !== null) {
    if (typeof o.timestamp !== "number" || !Number.isSafeInteger(o.timestamp) || o.timestamp < 0) {
      throw badRequest(`${where}: timestamp must be epoch milliseconds`, "INVALID_TIMESTAMP");
    }
    record.timestamp = o.timestamp;
  }
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

function nullableText(v: unknown, field: string, where: string): Uint8Array | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== "string") throw badRequest(`${where}: ${field} must be a string or null`);
  return encoder.encode(v);
}

function headersOf(v: unknown, where: string): RecordHeader[] {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw badRequest(`${where}: headers must be an object of name → string`);
  return Object.entries(v).map(([key, value]) => {
    if (value !== null && typeof value !== "string") throw badRequest(`${where}: header ${JSON.stringify(key)} must be a string or null`);
    return { key, value: value === null ? null : encoder.encode(value) };
  });
}
