// Metadata files with a checksum (issue #7): a JSON object whose last field, "crc32c", covers the
// rest of it, so that a metadata file damaged on disk is told apart from a good one instead of
// being trusted or, worse, failing to parse at open and stopping the broker.
//
//   {…fields…,"crc32c":"89abcdef"}
//
// crc32c: CRC-32C (core/batch/crc32c.ts, the RecordBatch checksum) of the UTF-8 bytes of
// JSON.stringify of the same object without its crc32c field (compact, keys in the order the
// object has them), as 8 lowercase hex digits. It is checked on the parsed values, not the bytes:
// the file's own indentation is free (topic.json is indented for people). A file without the
// field was written before checksums existed (or by a person who vouches for it): accepted as it
// is. Writers always add it; callers check the shape of what they read and call a wrong shape
// damage too.
//
// Reading (every input matches exactly one row, first match wins):
//
// | # | bytes                                        | result                                      |
// |---|----------------------------------------------|---------------------------------------------|
// | 1 | empty                                        | DAMAGED "empty file"                        |
// | 2 | not UTF-8, not JSON, or JSON but no object   | DAMAGED "not JSON …" / "not a JSON object"  |
// | 3 | has crc32c, not 8 lowercase hex digits       | DAMAGED "crc32c field is not 8 hex digits"  |
// | 4 | has crc32c, differs from the computed one    | DAMAGED "checksum mismatch …"               |
// | 5 | has crc32c, equal to the computed one        | OK, checked                                 |
// | 6 | no crc32c field                              | OK, unchecked (written before checksums)    |
import { assert } from "./assert.ts";
import { crc32c } from "./batch/crc32c.ts";

export const CHECKSUM_FIELD = "crc32c";

export type CheckedJson = { ok: true; value: Record<string, unknown>; checked: boolean } | { ok: false; reason: string };

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder("utf-8", { fatal: true });

function hex(n: number): string {
  return n.toString(16).padStart(8, "0");
}

/**
 * The file bytes for `value` with its checksum as the last field; indented by `indent` spaces
 * (and ending with a newline) when given, else compact.
 */
export function encodeCheckedJson(value: Record<string, unknown>, indent?: number): Uint8Array {
  assert(!Object.hasOwn(value, CHECKSUM_FIELD), "the checksum field is added by encodeCheckedJson");
  const body = encoder.encode(JSON.stringify(value));
  const sum = hex(crc32c(body));
  if (indent !== undefined) return encoder.encode(`${JSON.stringify({ ...value, [CHECKSUM_FIELD]: sum }, null, indent)}\n`);
  // Compact: the body with the field spliced in before its closing brace, without a second stringify.
  const tail = encoder.encode(`${body.length > 2 ? "," : ""}"${CHECKSUM_FIELD}":"${sum}"}`);
  const out = new Uint8Array(body.length - 1 + tail.length);
  out.set(body.subarray(0, body.length - 1));
  out.set(tail, body.length - 1);
  return out;
}

/** Reads a metadata file's bytes; never throws. */
export function readCheckedJson(bytes: Uint8Array): CheckedJson {
  if (bytes.length === 0) return { ok: false, reason: "empty file" };
  let value: unknown;
  try {
    value = JSON.parse(strictDecoder.decode(bytes));
  } catch (e) {
    return { ok: false, reason: `not JSON (${e instanceof Error ? e.message : String(e)})` };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return { ok: false, reason: "not a JSON object" };
  const object = value as Record<string, unknown>;
  if (!Object.hasOwn(object, CHECKSUM_FIELD)) return { ok: true, value: object, checked: false };
  const stored = object[CHECKSUM_FIELD];
  if (typeof stored !== "string" || !/^[0-9a-f]{8}$/.test(stored)) return { ok: false, reason: `${CHECKSUM_FIELD} field is not 8 hex digits` };
  delete object[CHECKSUM_FIELD];
  const computed = hex(crc32c(encoder.encode(JSON.stringify(object))));
  if (computed !== stored) return { ok: false, reason: `checksum mismatch (stored ${stored}, computed ${computed})` };
  return { ok: true, value: object, checked: true };
}

/** Whether `value` has exactly the `required` keys, plus only `optional` ones. */
export function hasExactKeys(value: Record<string, unknown>, required: readonly string[], optional: readonly string[] = []): boolean {
  for (const k of required) if (!Object.hasOwn(value, k)) return false;
  for (const k of Object.keys(value)) if (!required.includes(k) && !optional.includes(k)) return false;
  return true;
}
