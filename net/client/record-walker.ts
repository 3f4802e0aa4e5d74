// Walking the records of fetched batches without an object per record: `walkBatch` decompresses a
// batch (any codec, capped by core/batch/codecs.ts) and calls `visit` once per record with one
// reused RecordView whose key/value are offsets into `buf`. Consumers that print values straight to
// stdout never build strings or arrays for them. The grammar is core/batch/record.ts's; malformed
// bytes raise CoreError CORRUPT_BATCH, exactly like core's decoder.
//
// Control batches (transaction markers) are skipped, as Kafka consumers do; records before
// `fromOffset` inside a batch are skipped too (a fetch returns the whole batch that holds the
// requested offset, kafka-protocol.md §1.3c).
import { decompress } from "../../core/batch/codecs.ts";
import { ATTR_CODEC_MASK, ATTR_CONTROL, ATTR_LOG_APPEND_TIME, BATCH_HEADER_BYTES, Codec, OFF_ATTRIBUTES, OFF_BASE_TIMESTAMP, OFF_MAX_TIMESTAMP, OFF_RECORD_COUNT } from "../../core/batch/header.ts";
import * as be from "../../core/bytes.ts";
import { CoreError } from "../../core/errors.ts";
import { DECOMPRESSED_BYTES_MAX } from "../../core/limits.ts";

/** One record, valid only during the `visit` call that received it. */
export interface RecordView {
  offset: number;
  timestamp: number;
  buf: Uint8Array;
  /** -1 when the key is null. */
  keyStart: number;
  keyEnd: number;
  valueStart: number;
  valueEnd: number;
  /** Header section: `headerCount` headers starting at `headersStart` in `buf`. */
  headerCount: number;
  headersStart: number;
}

export interface DecodedHeader {
  key: string;
  value: Uint8Array | null;
}

const utf8 = new TextDecoder();

/** The record's headers, decoded (allocates; call only when needed). */
export function readHeaders(r: RecordView): DecodedHeader[] {
  const out: DecodedHeader[] = [];
  const c = new Cursor(r.buf, r.headersStart, r.buf.length);
  for (let i = 0; i < r.headerCount; i++) {
    const kl = c.varint();
    const key = utf8.decode(r.buf.subarray(c.pos, c.pos + kl));
    c.pos += kl;
    const vl = c.varint();
    const value = vl < 0 ? null : r.buf.subarray(c.pos, c.pos + vl);
    if (vl > 0) c.pos += vl;
    out.push({ key, value });
  }
  return out;
}

export function keyBytes(r: RecordView): Uint8Array | null {
  return r.keyStart < 0 ? null : r.buf.subarray(r.keyStart, r.keyEnd);
}

export function valueBytes(r: RecordView): Uint8Array | null {
  return r.valueStart < 0 ? null : r.buf.subarray(r.valueStart, r.valueEnd);
}

class Cursor {
  constructor(
    readonly buf: Uint8Array,
    public pos: number,
    readonly end: number,
  ) {}

  varint(): number {
    const buf = this.buf;
    let shift = 0;
    let result = 0;
    for (let i = 0; i < 5; i++) {
      if (this.pos >= this.end) throw corrupt("a varint runs past the end of the records");
      const b = buf[this.pos++]!;
      result |= (b & 0x7f) << shift;
      if (b < 0x80) return (result >>> 1) ^ -(result & 1);
      shift += 7;
    }
    throw corrupt("varint longer than 5 bytes");
  }

  varlong(): number {
    const buf = this.buf;
    let mul = 1;
    let result = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw corrupt("a varlong runs past the end of the records");
      const b = buf[this.pos++]!;
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result % 2 === 0 ? result / 2 : -(result + 1) / 2;
      mul *= 128;
    }
    throw corrupt("varlong longer than 10 bytes");
  }
}

function corrupt(message: string): CoreError {
  return new CoreError("CORRUPT_BATCH", message);
}

const sharedView: RecordView = { offset: 0, timestamp: 0, buf: new Uint8Array(0), keyStart: -1, keyEnd: -1, valueStart: -1, valueEnd: -1, headerCount: 0, headersStart: 0 };

/**
 * Calls `visit` for each record of the whole batch `bytes` (baseOffset given) at offset ≥ fromOffset,
 * until `visit` returns false. Returns false if stopped early (then `into.offset` is the record
 * that said so). Each record is written into `into` (a view of the module's own unless given: the
 * consumer passes one that also carries the topic and partition).
 */
export function walkBatch<V extends RecordView = RecordView>(
  bytes: Uint8Array,
  baseOffset: number,
  fromOffset: number,
  visit: (r: V) => boolean | void,
  into: V = sharedView as V,
): boolean {
  const view = into;
  const attributes = be.int16(bytes, OFF_ATTRIBUTES);
  if (attributes & ATTR_CONTROL) return true;
  const count = be.int32(bytes, OFF_RECORD_COUNT);
  const baseTimestamp = be.int64(bytes, OFF_BASE_TIMESTAMP);
  const appendTime = attributes & ATTR_LOG_APPEND_TIME ? be.int64(bytes, OFF_MAX_TIMESTAMP) : -1;
  const codec = attributes & ATTR_CODEC_MASK;
  let buf: Uint8Array;
  let start: number;
  if (codec === Codec.None) {
    buf = bytes;
    start = BATCH_HEADER_BYTES;
  } else {
    buf = decompress(codec as Codec, bytes.subarray(BATCH_HEADER_BYTES), DECOMPRESSED_BYTES_MAX);
    start = 0;
  }
  const c = new Cursor(buf, start, buf.length);
  view.buf = buf;
  for (let i = 0; i < count; i++) {
    const length = c.varint();
    const recordEnd = c.pos + length;
    if (length < 6 || recordEnd > buf.length) throw corrupt(`record length ${length} does not fit the batch`);
    c.pos++; // attributes
    const tsDelta = c.varlong();
    const offsetDelta = c.varint();
    const offset = baseOffset + offsetDelta;
    if (offset < fromOffset) {
      c.pos = recordEnd;
      continue;
    }
    const kl = c.varint();
    if (kl < 0) view.keyStart = view.keyEnd = -1;
    else {
      view.keyStart = c.pos;
      view.keyEnd = c.pos += kl;
    }
    const vl = c.varint();
    if (vl < 0) view.valueStart = view.valueEnd = -1;
    else {
      view.valueStart = c.pos;
      view.valueEnd = c.pos += vl;
    }
    if (c.pos > recordEnd) throw corrupt(`record at offset ${offset} overruns its length`);
    view.headerCount = c.varint();
    view.headersStart = c.pos;
    view.offset = offset;
    view.timestamp = appendTime >= 0 ? appendTime : baseTimestamp + tsDelta;
    c.pos = recordEnd;
    if (visit(view) === false) return false;
  }
  return true;
}
