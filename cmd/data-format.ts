// How consumed records are printed: `--format TEMPLATE` (kcat-like) and `--json` (the envelope
// that `produce --json` reads back).
//
// Template: %t topic, %p partition, %o offset, %k key, %s value, %T timestamp (epoch ms),
// %h headers as k=v joined by ",", %K key length, %S value length (-1 when null), %% a percent
// sign; escapes \n \t \r \0 \\. A null key or value prints as nothing. Keys and values are
// written as their raw bytes (no decoding), so binary payloads pass through unchanged.
//
// JSON envelope, one object per line:
//   {"topic":"t","partition":0,"offset":42,"timestamp":1700000000000,
//    "key":"k"|null,"value":"v"|null,"headers":[{"key":"h","value":"x"|null}]}
// Headers are an array (Kafka headers are ordered and may repeat a key). A key, value or header
// value whose bytes are not valid UTF-8 is written as base64 and marked with a sibling field
// "keyEncoding":"base64" / "valueEncoding":"base64" (for a header, "valueEncoding" inside the header
// object); without a marker, strings are UTF-8 text taken byte for byte (a BOM is kept).
import type { DecodedHeader, RecordView } from "../net/client/record-walker.ts";
import { readHeaders } from "../net/client/record-walker.ts";
import type { OutputSink } from "./data-output.ts";
import { UsageError } from "./io.ts";

type Op =
  | { kind: "lit"; bytes: Uint8Array }
  | { kind: "topic" | "partition" | "offset" | "key" | "value" | "timestamp" | "headers" | "keyLength" | "valueLength" };

const FIELD: Record<string, Op["kind"]> = {
  t: "topic",
  p: "partition",
  o: "offset",
  k: "key",
  s: "value",
  T: "timestamp",
  h: "headers",
  K: "keyLength",
  S: "valueLength",
};

const ESCAPES: Record<string, string> = { n: "\n", t: "\t", r: "\r", "0": "\0", "\\": "\\" };

const encoder = new TextEncoder();

/** Replaces \n \t \r \0 \\ and \xHH in a flag value (delimiters, separators, templates). */
export function unescape(flag: string, s: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c !== "\\" || i + 1 === s.length) {
      out += c;
      continue;
    }
    const n = s[++i]!;
    if (n in ESCAPES) out += ESCAPES[n];
    else if (n === "x" && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 1, i + 3))) {
      out += String.fromCharCode(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else throw new UsageError(`${flag}: unknown escape "\\${n}" (use \\n \\t \\r \\0 \\\\ \\xHH)`);
  }
  return out;
}

export class Template {
  private constructor(private readonly ops: Op[]) {}

  static compile(template: string): Template {
    const text = unescape("--format", template);
    const ops: Op[] = [];
    let lit = "";
    const pushLit = () => {
      if (lit !== "") ops.push({ kind: "lit", bytes: encoder.encode(lit) });
      lit = "";
    };
    for (let i = 0; i < text.length; i++) {
      const c = text[i]!;
      if (c !== "%") {
        lit += c;
        continue;
      }
      const n = text[++i];
      if (n === "%") lit += "%";
      else if (n !== undefined && n in FIELD) {
        pushLit();
        ops.push({ kind: FIELD[n]! } as Op);
      } else throw new UsageError(`--format: unknown field "%${n ?? ""}" (use %t %p %o %k %s %T %h %K %S %%)`);
    }
    pushLit();
    return new Template(ops);
  }

  /** True for exactly "%s\n": the consume fast path. */
  get isValueLine(): boolean {
    return this.ops.length === 2 && this.ops[0]!.kind === "value" && this.ops[1]!.kind === "lit" && (this.ops[1] as { bytes: Uint8Array }).bytes.length === 1 && (this.ops[1] as { bytes: Uint8Array }).bytes[0] === 10;
  }

  render(out: OutputSink, topic: string, partition: number, r: RecordView): void {
    for (const op of this.ops) {
      switch (op.kind) {
        case "lit":
          out.bytes(op.bytes);
          break;
        case "value":
          if (r.valueStart >= 0) out.bytes(r.buf, r.valueStart, r.valueEnd);
          break;
        case "key":
          if (r.keyStart >= 0) out.bytes(r.buf, r.keyStart, r.keyEnd);
          break;
        case "topic":
          out.text(topic);
          break;
        case "partition":
          out.text(String(partition));
          break;
        case "offset":
          out.text(String(r.offset));
          break;
        case "timestamp":
          out.text(String(r.timestamp));
          break;
        case "keyLength":
          out.text(String(r.keyStart < 0 ? -1 : r.keyEnd - r.keyStart));
          break;
        case "valueLength":
          out.text(String(r.valueStart < 0 ? -1 : r.valueEnd - r.valueStart));
          break;
        case "headers":
          renderHeaders(out, readHeaders(r));
          break;
      }
    }
  }
}

function renderHeaders(out: OutputSink, headers: DecodedHeader[]): void {
  for (let i = 0; i < headers.length; i++) {
    if (i > 0) out.byte(44); // ,
    out.text(headers[i]!.key);
    out.byte(61); // =
    const v = headers[i]!.value;
    if (v !== null) out.bytes(v);
  }
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Bytes as JSON: a string if they are valid UTF-8, else base64 with `base64: true`. */
function jsonBytes(b: Uint8Array): { text: string; base64: boolean } {
  let ascii = true;
  for (let i = 0; i < b.length; i++) {
    if (b[i]! >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return { text: strictUtf8.decode(b), base64: false };
  try {
    return { text: strictUtf8.decode(b), base64: false };
  } catch {
    return { text: Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("base64"), base64: true };
  }
}

/** One envelope line (with the trailing newline) for a record. */
export function jsonLine(topic: string, partition: number, r: RecordView): string {
  let s = `{"topic":${JSON.stringify(topic)},"partition":${partition},"offset":${r.offset},"timestamp":${r.timestamp}`;
  if (r.keyStart < 0) s += `,"key":null`;
  else {
    const k = jsonBytes(r.buf.subarray(r.keyStart, r.keyEnd));
    s += `,"key":${JSON.stringify(k.text)}${k.base64 ? `,"keyEncoding":"base64"` : ""}`;
  }
  if (r.valueStart < 0) s += `,"value":null`;
  else {
    const v = jsonBytes(r.buf.subarray(r.valueStart, r.valueEnd));
    s += `,"value":${JSON.stringify(v.text)}${v.base64 ? `,"valueEncoding":"base64"` : ""}`;
  }
  s += `,"headers":[`;
  const headers = r.headerCount > 0 ? readHeaders(r) : [];
  for (let i = 0; i < headers.length; i++) {
    const h = headers[i]!;
    if (i > 0) s += ",";
    s += `{"key":${JSON.stringify(h.key)}`;
    if (h.value === null) s += `,"value":null}`;
    else {
      const v = jsonBytes(h.value);
      s += `,"value":${JSON.stringify(v.text)}${v.base64 ? `,"valueEncoding":"base64"` : ""}}`;
    }
  }
  return s + "]}\n";
}

/** A record read back from an envelope line. */
export interface EnvelopeRecord {
  partition: number | null;
  timestamp: number | null;
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: { key: string; value: Uint8Array | null }[];
}

/** Parses one envelope line; throws Error with the reason (the caller adds the line number). */
export function parseEnvelope(line: string): EnvelopeRecord {
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch (err) {
    throw new Error(`not JSON: ${(err as Error).message}`);
  }
  if (typeof o !== "object" || o === null || Array.isArray(o)) throw new Error("expected a JSON object");
  const m = o as Record<string, unknown>;
  const partition = m.partition === undefined || m.partition === null ? null : integer(m.partition, "partition");
  let timestamp: number | null = null;
  if (typeof m.timestamp === "string") {
    timestamp = Date.parse(m.timestamp);
    if (Number.isNaN(timestamp)) throw new Error(`"timestamp" ${JSON.stringify(m.timestamp)} is not a time`);
  } else if (m.timestamp !== undefined && m.timestamp !== null) timestamp = integer(m.timestamp, "timestamp");
  const headers: EnvelopeRecord["headers"] = [];
  if (m.headers !== undefined && m.headers !== null) {
    if (Array.isArray(m.headers)) {
      for (const h of m.headers) {
        if (typeof h !== "object" || h === null || typeof (h as { key?: unknown }).key !== "string") throw new Error(`"headers" entries need a string "key"`);
        const hh = h as Record<string, unknown>;
        headers.push({ key: hh.key as string, value: bytesField(hh.value, hh.valueEncoding, "header value") });
      }
    } else if (typeof m.headers === "object") {
      for (const [k, v] of Object.entries(m.headers as Record<string, unknown>)) headers.push({ key: k, value: bytesField(v, undefined, "header value") });
    } else throw new Error(`"headers" must be an array of {"key","value"}`);
  }
  return { partition, timestamp, key: bytesField(m.key, m.keyEncoding, "key"), value: bytesField(m.value, m.valueEncoding, "value"), headers };
}

function integer(v: unknown, name: string): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v)) throw new Error(`"${name}" must be an integer`);
  return v;
}

function bytesField(v: unknown, encoding: unknown, name: string): Uint8Array | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== "string") {
    if (typeof v === "number" || typeof v === "boolean" || typeof v === "object") return encoder.encode(JSON.stringify(v));
    throw new Error(`"${name}" must be a string or null`);
  }
  if (encoding === undefined || encoding === null || encoding === "utf8" || encoding === "utf-8") return encoder.encode(v);
  if (encoding === "base64") return new Uint8Array(Buffer.from(v, "base64"));
  throw new Error(`unknown encoding ${JSON.stringify(encoding)} for "${name}" (only "base64")`);
}
