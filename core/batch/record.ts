// The records section of a RecordBatch v2: what one record looks like on the wire, how to size,
// write and read it. The batch header and compression live in record-batch.ts.
//
// Record (DefaultRecord.java), all varints zigzag:
//
//   length          varint   bytes from attributes to the end of headers
//   attributes      int8     unused, 0
//   timestampDelta  varlong  timestamp - batch baseTimestamp
//   offsetDelta     varint   offset - batch baseOffset
//   keyLength       varint   -1 = null key
//   key             bytes
//   valueLength     varint   -1 = null value
//   value           bytes
//   headerCount     varint
//   headers         headerCount × ( keyLength varint, key UTF-8 (never null),
//                                   valueLength varint (-1 = null), value bytes )
import { ByteReader, utf8Length, writeUtf8 } from "./byte-reader.ts";
import { sizeOfVarint, sizeOfVarlong, writeVarint, writeVarlong } from "./varint.ts";

export interface RecordHeader {
  key: string;
  value: Uint8Array | null;
}

export interface Record {
  offsetDelta: number;
  /** Absolute, in ms. On a LogAppendTime batch, the batch's maxTimestamp (as Kafka clients report). */
  timestamp: number;
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: RecordHeader[];
  attributes?: number;
}

/** A decoded record: `offset = baseOffset + offsetDelta`. Key, value and header values are views
 * into the batch bytes (or the decompressed block), not copies. */
export interface DecodedRecord extends Record {
  offset: number;
}

/** What a producer hands to encodeRecordBatch; offsetDelta is the record's index. */
export interface RecordInput {
  key?: Uint8Array | null;
  value: Uint8Array | null;
  headers?: RecordHeader[];
  /** Absolute ms; defaults to the batch's `now`. */
  timestamp?: number;
}

/** The smallest possible record: length, attributes, three zero varints, null key, null value,
 * zero headers — 7 bytes. Bounds a declared recordCount before anything is allocated. */
export const RECORD_BYTES_MIN = 7;

/** Sizes of one record, computed once and reused by the writer. */
export interface RecordPlan {
  body: number;
  headerKeyBytes: number[];
}

/** Bytes of a record's body (the `length` field's value) and of its header keys. */
export function planRecord(r: RecordInput, timestampDelta: number, offsetDelta: number): RecordPlan {
  const key = r.key ?? null;
  const value = r.value;
  const headers = r.headers ?? [];
  let body = 1 + sizeOfVarlong(timestampDelta) + sizeOfVarint(offsetDelta);
  body += key === null ? 1 : sizeOfVarint(key.length) + key.length;
  body += value === null ? 1 : sizeOfVarint(value.length) + value.length;
  body += sizeOfVarint(headers.length);
  const headerKeyBytes: number[] = [];
  for (const h of headers) {
    const kb = utf8Length(h.key);
    headerKeyBytes.push(kb);
    body += sizeOfVarint(kb) + kb;
    body += h.value === null ? 1 : sizeOfVarint(h.value.length) + h.value.length;
  }
  return { body, headerKeyBytes };
}

/** Total bytes the record takes in the section (length prefix included). */
export function recordSize(plan: RecordPlan): number {
  return sizeOfVarint(plan.body) + plan.body;
}

/** Writes one record at `pos`; returns the position after it. */
export function writeRecord(
  buf: Uint8Array,
  pos: number,
  r: RecordInput,
  plan: RecordPlan,
  timestampDelta: number,
  offsetDelta: number,
): number {
  pos = writeVarint(buf, pos, plan.body);
  buf[pos++] = 0;
  pos = writeVarlong(buf, pos, timestampDelta);
  pos = writeVarint(buf, pos, offsetDelta);
  pos = writeNullableBytes(buf, pos, r.key ?? null);
  pos = writeNullableBytes(buf, pos, r.value);
  const headers = r.headers ?? [];
  pos = writeVarint(buf, pos, headers.length);
  for (let i = 0; i < headers.length; i++) {
    const h = headers[i]!;
    const kb = plan.headerKeyBytes[i]!;
    pos = writeVarint(buf, pos, kb);
    pos = writeUtf8(buf, pos, h.key, kb);
    pos = writeNullableBytes(buf, pos, h.value);
  }
  return pos;
}

function writeNullableBytes(buf: Uint8Array, pos: number, b: Uint8Array | null): number {
  if (b === null) {
    buf[pos] = 1; // zigzag(-1)
    return pos + 1;
  }
  pos = writeVarint(buf, pos, b.length);
  buf.set(b, pos);
  return pos + b.length;
}

/** Context the record reader needs from the batch header. */
export interface RecordsContext {
  baseOffset: number;
  baseTimestamp: number;
  /** LogAppendTime batch: every record's timestamp is this (the batch maxTimestamp). */
  logAppendTime: number | null;
}

/**
 * Reads exactly `count` records from `reader` and requires them to fill it exactly. On malformed
 * input it returns null with `reader.failed` set and `reader.reason` saying why, and `reader.pos`
 * near where; it never throws.
 */
export function readRecords(reader: ByteReader, count: number, ctx: RecordsContext): DecodedRecord[] | null {
  if (count < 0 || count * RECORD_BYTES_MIN > reader.remaining) {
    reader.fail(`recordCount ${count} cannot fit in ${reader.remaining} bytes`);
    return null;
  }
  const out: DecodedRecord[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const r = readRecord(reader, ctx);
    if (r === null) return null;
    out[i] = r;
  }
  if (reader.pos !== reader.end) {
    reader.fail(`${reader.end - reader.pos} bytes left after ${count} records`);
    return null;
  }
  return out;
}

function readRecord(reader: ByteReader, ctx: RecordsContext): DecodedRecord | null {
  const start = reader.pos;
  const length = reader.varint();
  if (reader.failed) return null;
  if (length < RECORD_BYTES_MIN - 1 || length > reader.remaining) {
    reader.fail(`record length ${length} at byte ${start} with ${reader.remaining} bytes left`);
    return null;
  }
  // Read the body through a reader bounded by the record's own length.
  const outerEnd = reader.end;
  const bodyEnd = reader.pos + length;
  reader.end = bodyEnd;
  const attributes = reader.int8();
  const timestampDelta = reader.varlong();
  const offsetDelta = reader.varint();
  const key = reader.nullableBytes();
  const value = reader.nullableBytes();
  const headerCount = reader.varint();
  let headers: RecordHeader[] = [];
  if (!reader.failed) {
    // Each header takes at least 2 bytes (two length varints).
    if (headerCount < 0 || headerCount * 2 > reader.remaining) {
      reader.fail(`header count ${headerCount} with ${reader.remaining} bytes left`);
    } else {
      headers = new Array(headerCount);
      for (let h = 0; h < headerCount; h++) {
        const hk = reader.string();
        const hv = reader.nullableBytes();
        headers[h] = { key: hk, value: hv };
      }
    }
  }
  if (!reader.failed && reader.pos !== bodyEnd) {
    reader.fail(`record at byte ${start} declares ${length} bytes but its fields take ${reader.pos - (bodyEnd - length)}`);
  }
  if (reader.failed) {
    reader.end = outerEnd;
    reader.pos = start;
    return null;
  }
  reader.end = outerEnd;
  return {
    offsetDelta,
    offset: ctx.baseOffset + offsetDelta,
    timestamp: ctx.logAppendTime ?? ctx.baseTimestamp + timestampDelta,
    key,
    value,
    headers,
    attributes,
  };
}
