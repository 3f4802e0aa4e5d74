// Records of a stored batch as byte spans, and a batch rebuilt from some of them: what the log
// cleaner (core/log/cleaner.ts) needs to drop records without decoding them into objects or
// re-encoding the survivors. A kept record's bytes are copied as they are (its offsetDelta stays
// valid because the batch keeps its baseOffset); only when the batch gets a delete horizon
// (KIP-534: baseTimestamp becomes the horizon, attribute bit 6) is each record's timestampDelta
// rewritten so that baseTimestamp + delta is still its timestamp.
//
//   record = length varint | attributes int8 | timestampDelta varlong | offsetDelta varint |
//            key (varint length, -1 = null) | value (same) | headerCount varint | headers
//
// The header fields of the rebuilt batch: baseOffset, lastOffsetDelta, partitionLeaderEpoch,
// producer id, epoch and baseSequence as they were (offsets never move; the producer's sequence
// range stays whole); recordCount the kept records; maxTimestamp their largest (CreateTime) or
// unchanged (LogAppendTime); the codec as it was; a fresh CRC. A batch keeping no record is
// written as Kafka writes an empty batch: header only, no codec.
import * as be from "../bytes.ts";
import { compress } from "./codecs.ts";
import { crc32c } from "./crc32c.ts";
import {
  ATTR_CODEC_MASK,
  ATTR_DELETE_HORIZON,
  ATTR_LOG_APPEND_TIME,
  BATCH_HEADER_BYTES,
  BATCH_LENGTH_PREFIX_BYTES,
  type Codec,
  CRC_START,
  OFF_ATTRIBUTES,
  OFF_BASE_TIMESTAMP,
  OFF_BATCH_LENGTH,
  OFF_CRC,
  OFF_MAX_TIMESTAMP,
  OFF_RECORD_COUNT,
} from "./header.ts";
import { sizeOfVarint, sizeOfVarlong, varlongFromBytesBig, writeVarint, writeVarlong } from "./varint.ts";

/** Where each record of a section lies and what the cleaner looks at; struct of arrays. */
export interface RecordSpans {
  count: number;
  /** [start, end) of each whole record (length prefix included). */
  start: Int32Array;
  end: Int32Array;
  /** Position of the timestampDelta field, and where the offsetDelta after it starts. */
  tsAt: Int32Array;
  afterTs: Int32Array;
  timestampDelta: Float64Array;
  offsetDelta: Int32Array;
  /** Key bytes [keyAt, keyAt + keyLength); keyLength -1: null key. */
  keyAt: Int32Array;
  keyLength: Int32Array;
  /** -1: null value (a tombstone). */
  valueLength: Int32Array;
}

/** Spans reused from one recordSpans call to the next (see there). */
export interface SpansScratch {
  spans: RecordSpans | null;
}

function newSpans(capacity: number): RecordSpans {
  return {
    count: capacity,
    start: new Int32Array(capacity),
    end: new Int32Array(capacity),
    tsAt: new Int32Array(capacity),
    afterTs: new Int32Array(capacity),
    timestampDelta: new Float64Array(capacity),
    offsetDelta: new Int32Array(capacity),
    keyAt: new Int32Array(capacity),
    keyLength: new Int32Array(capacity),
    valueLength: new Int32Array(capacity),
  };
}

/** Cursor for varints: [value, next position], position -1 on failure. */
const pair = [0, 0];

function varint(buf: Uint8Array, pos: number, end: number): void {
  let u = 0;
  let shift = 0;
  for (;;) {
    if (pos >= end || shift > 28) {
      pair[1] = -1;
      return;
    }
    const b = buf[pos++]!;
    u |= (b & 0x7f) << shift;
    if ((b & 0x80) === 0) break;
    shift += 7;
  }
  pair[0] = (u >>> 1) ^ -(u & 1);
  pair[1] = pos;
}

function varlong(buf: Uint8Array, pos: number, end: number): void {
  const start = pos;
  let z = 0;
  let mul = 1;
  for (let count = 1; count <= 10; count++) {
    if (pos >= end) break;
    const b = buf[pos++]!;
    z += (b & 0x7f) * mul;
    if ((b & 0x80) === 0) {
      pair[0] = z > Number.MAX_SAFE_INTEGER ? varlongFromBytesBig(buf, start, count) : z % 2 === 0 ? z / 2 : -(z + 1) / 2;
      pair[1] = pos;
      return;
    }
    mul *= 128;
  }
  pair[1] = -1;
}

/**
 * The spans of exactly `count` records filling `section[from, to)`; null when they do not (a
 * batch that passed its CRC and produce validation always does).
 */
export function recordSpans(section: Uint8Array, from: number, to: number, count: number, scratch?: SpansScratch): RecordSpans | null {
  if (count < 0 || count > to - from) return null;
  let s: RecordSpans;
  if (scratch !== undefined) {
    // Reused: valid until the next call with the same scratch (the cleaner's hot path).
    if (scratch.spans === null || scratch.spans.start.length < count) scratch.spans = newSpans(Math.max(count, 1024));
    s = scratch.spans;
    s.count = count;
  } else {
    s = newSpans(count);
  }
  let pos = from;
  for (let i = 0; i < count; i++) {
    s.start[i] = pos;
    varint(section, pos, to);
    if (pair[1]! < 0) return null;
    const length = pair[0]!;
    pos = pair[1]!;
    const end = pos + length;
    if (length < 6 || end > to) return null;
    pos++; // attributes
    s.tsAt[i] = pos;
    varlong(section, pos, end);
    if (pair[1]! < 0) return null;
    s.timestampDelta[i] = pair[0]!;
    pos = pair[1]!;
    s.afterTs[i] = pos;
    varint(section, pos, end);
    if (pair[1]! < 0) return null;
    s.offsetDelta[i] = pair[0]!;
    pos = pair[1]!;
    varint(section, pos, end);
    if (pair[1]! < 0 || pair[0]! < -1 || pair[0]! > end - pair[1]!) return null;
    s.keyLength[i] = pair[0]!;
    s.keyAt[i] = pair[1]!;
    pos = pair[1]! + Math.max(0, pair[0]!);
    varint(section, pos, end);
    if (pair[1]! < 0 || pair[0]! < -1 || pair[0]! > end - pair[1]!) return null;
    s.valueLength[i] = pair[0]!;
    s.end[i] = end;
    pos = end;
  }
  return pos === to ? s : null;
}

export interface RebuildOptions {
  /** KIP-534: set the delete horizon (attribute bit 6, baseTimestamp := this). */
  deleteHorizonMs?: number;
}

/**
 * `batch` (a stored batch, header fields as described at the top) with only the records
 * `keep[i]` of `section` (its records, decompressed) at `spans`.
 */
export function rebuildBatch(batch: Uint8Array, section: Uint8Array, spans: RecordSpans, keep: Uint8Array, opts: RebuildOptions = {}): Uint8Array {
  const attributes = be.int16(batch, OFF_ATTRIBUTES);
  const logAppendTime = (attributes & ATTR_LOG_APPEND_TIME) !== 0;
  const baseTimestamp = be.int64(batch, OFF_BASE_TIMESTAMP);
  const newBase = opts.deleteHorizonMs ?? baseTimestamp;
  let kept = 0;
  let bytes = 0;
  let maxTimestamp = -1;
  for (let i = 0; i < spans.count; i++) {
    if (!keep[i]) continue;
    kept++;
    const ts = baseTimestamp + spans.timestampDelta[i]!;
    if (kept === 1 || ts > maxTimestamp) maxTimestamp = ts;
    bytes += newBase === baseTimestamp ? spans.end[i]! - spans.start[i]! : rebasedSize(spans, i, ts - newBase);
  }
  let codec = (attributes & ATTR_CODEC_MASK) as Codec;
  let body: Uint8Array;
  if (kept === 0) {
    codec = 0;
    body = new Uint8Array(0);
  } else {
    const records = new Uint8Array(bytes);
    let at = 0;
    for (let i = 0; i < spans.count; i++) {
      if (!keep[i]) continue;
      const start = spans.start[i]!;
      const end = spans.end[i]!;
      if (newBase === baseTimestamp) {
        records.set(section.subarray(start, end), at);
        at += end - start;
      } else {
        at = writeRebased(records, at, section, spans, i, baseTimestamp + spans.timestampDelta[i]! - newBase);
      }
    }
    body = codec === 0 ? records : compress(codec, records);
  }
  const out = new Uint8Array(BATCH_HEADER_BYTES + body.length);
  out.set(batch.subarray(0, BATCH_HEADER_BYTES));
  out.set(body, BATCH_HEADER_BYTES);
  let outAttributes = (attributes & ~ATTR_CODEC_MASK) | codec;
  if (opts.deleteHorizonMs !== undefined) outAttributes |= ATTR_DELETE_HORIZON;
  be.setInt16(out, OFF_ATTRIBUTES, outAttributes);
  be.setInt32(out, OFF_BATCH_LENGTH, out.length - BATCH_LENGTH_PREFIX_BYTES);
  be.setInt64(out, OFF_BASE_TIMESTAMP, newBase);
  if (!logAppendTime && kept > 0) be.setInt64(out, OFF_MAX_TIMESTAMP, maxTimestamp);
  be.setInt32(out, OFF_RECORD_COUNT, kept);
  be.setInt32(out, OFF_CRC, crc32c(out, CRC_START, out.length));
  return out;
}

/** `batch` whole with its delete horizon set: every record kept, timestamp deltas rebased. */
export function withDeleteHorizon(batch: Uint8Array, section: Uint8Array, spans: RecordSpans, deleteHorizonMs: number): Uint8Array {
  return rebuildBatch(batch, section, spans, new Uint8Array(spans.count).fill(1), { deleteHorizonMs });
}

/** Bytes of record `i` with timestampDelta `delta` (the length prefix may change size too). */
function rebasedSize(spans: RecordSpans, i: number, delta: number): number {
  const oldBody = spans.end[i]! - spans.start[i]! - prefixSize(spans, i);
  const body = oldBody - (spans.afterTs[i]! - spans.tsAt[i]!) + sizeOfVarlong(delta);
  return sizeOfVarint(body) + body;
}

function prefixSize(spans: RecordSpans, i: number): number {
  // The length prefix ends where the attributes byte starts, one before the timestampDelta.
  return spans.tsAt[i]! - 1 - spans.start[i]!;
}

function writeRebased(out: Uint8Array, at: number, section: Uint8Array, spans: RecordSpans, i: number, delta: number): number {
  const start = spans.start[i]!;
  const oldBody = spans.end[i]! - start - prefixSize(spans, i);
  const body = oldBody - (spans.afterTs[i]! - spans.tsAt[i]!) + sizeOfVarlong(delta);
  at = writeVarint(out, at, body);
  out[at++] = section[spans.tsAt[i]! - 1]!; // attributes
  at = writeVarlong(out, at, delta);
  const rest = section.subarray(spans.afterTs[i]!, spans.end[i]!);
  out.set(rest, at);
  return at + rest.length;
}
