// Exact-size encoders for the broker's two hot answers, Produce and Fetch: the whole frame (length
// prefix, response header, body) goes straight into one Uint8Array whose size is computed first.
// The generated encoders (messages/produce.ts, messages/fetch.ts) stay the reference; these write
// the same bytes for the shapes the broker answers with (fast-responses.test.ts checks every
// version against them), without the Writer's growth and copies, the response objects, or bigints
// (64-bit fields come as numbers, exact within ±2^53 like every offset here).
//
// Why: each young-generation collection pauses the broker for 1–1.5 ms, and at 5,000 requests/s
// the generic path's objects, bigints and writer buffers were a large share of the ~9 KB each
// Produce allocated (issue #8).
//
// Shapes (the wire layout of each version is in the generated files):
//   Produce v0-11: one topic, one partition; no record errors, no leader hint, no node endpoints,
//                  no unknown tags; throttle_time_ms 0.
//   Fetch v4-16:   any topics and partitions; throttle_time_ms 0, error_code 0, session_id 0 (no
//                  fetch sessions), aborted_transactions as given (empty, not null, when none:
//                  read_uncommitted and read_committed alike), preferred_read_replica
//                  -1, no tagged fields. Records parts of RAW_CHUNK_MIN_BYTES or more are not
//                  copied: they follow as chunks of their own, as Writer.rawChunk keeps them.
import * as be from "../../core/bytes.ts";
import { putUtf8, putUvarint, RAW_CHUNK_MIN_BYTES, utf8Length, uvarintLength } from "./writer.ts";

const PRODUCE_FLEXIBLE_MIN = 9;
const FETCH_FLEXIBLE_MIN = 12;
/** Fetch v13+ names topics by id. */
const FETCH_TOPIC_ID_MIN = 13;

/** Bytes of a string field: compact (uvarint length + 1) or classic (int16 length). */
function stringBytes(n: number, compact: boolean): number {
  if (!compact && n > 0x7fff) throw new RangeError(`string longer than 32767 bytes (${n})`);
  return compact ? uvarintLength(n + 1) + n : 2 + n;
}

function putString(buf: Uint8Array, pos: number, s: string, n: number, compact: boolean): number {
  if (compact) pos = putUvarint(buf, pos, n + 1);
  else {
    be.setInt16(buf, pos, n);
    pos += 2;
  }
  putUtf8(buf, pos, s, n);
  return pos + n;
}

/** An array count: compact (uvarint count + 1) or classic (int32). */
function putCount(buf: Uint8Array, pos: number, n: number, compact: boolean): number {
  if (compact) return putUvarint(buf, pos, n + 1);
  be.setInt32(buf, pos, n);
  return pos + 4;
}

function countBytes(n: number, compact: boolean): number {
  return compact ? uvarintLength(n + 1) : 4;
}

/** The whole Produce response frame for one partition of one topic. */
export function produceResponseFrame(
  correlationId: number,
  version: number,
  topic: string,
  partition: number,
  errorCode: number,
  baseOffset: number,
  logAppendTimeMs: number,
  logStartOffset: number,
  errorMessage: string | null,
): Uint8Array {
  const flexible = version >= PRODUCE_FLEXIBLE_MIN;
  const topicBytes = utf8Length(topic);
  const messageBytes = errorMessage === null ? -1 : utf8Length(errorMessage);
  let size = 4 + 4 + (flexible ? 1 : 0); // length prefix, correlation id, header tags
  size += countBytes(1, flexible) + stringBytes(topicBytes, flexible) + countBytes(1, flexible);
  size += 4 + 2 + 8 + (version >= 2 ? 8 : 0) + (version >= 5 ? 8 : 0);
  if (version >= 8) {
    size += countBytes(0, flexible); // record_errors
    size += messageBytes < 0 ? (flexible ? 1 : 2) : stringBytes(messageBytes, flexible);
  }
  if (flexible) size += 2; // partition tags, topic tags
  size += (version >= 1 ? 4 : 0) + (flexible ? 1 : 0); // throttle_time_ms, response tags

  const buf = new Uint8Array(size);
  be.setInt32(buf, 0, size - 4);
  be.setInt32(buf, 4, correlationId);
  let pos = flexible ? 9 : 8; // a flexible header's empty tag section is the 0 already there
  pos = putCount(buf, pos, 1, flexible);
  pos = putString(buf, pos, topic, topicBytes, flexible);
  pos = putCount(buf, pos, 1, flexible);
  be.setInt32(buf, pos, partition);
  be.setInt16(buf, pos + 4, errorCode);
  be.setInt64(buf, pos + 6, baseOffset);
  pos += 14;
  if (version >= 2) pos = putInt64(buf, pos, logAppendTimeMs);
  if (version >= 5) pos = putInt64(buf, pos, logStartOffset);
  if (version >= 8) {
    pos = putCount(buf, pos, 0, flexible);
    if (errorMessage === null) pos = putNull(buf, pos, flexible);
    else pos = putString(buf, pos, errorMessage, messageBytes, flexible);
  }
  if (flexible) pos += 2;
  if (version >= 1) pos += 4; // throttle_time_ms 0
  if (flexible) pos++;
  if (pos !== size) throw new RangeError(`produce response: wrote ${pos} of ${size} bytes`);
  return buf;
}

function putInt64(buf: Uint8Array, pos: number, v: number): number {
  be.setInt64(buf, pos, v);
  return pos + 8;
}

/** A null string: compact 0, classic int16 -1. */
function putNull(buf: Uint8Array, pos: number, compact: boolean): number {
  if (compact) return pos + 1;
  be.setInt16(buf, pos, -1);
  return pos + 2;
}

export interface FetchPartitionAnswer {
  partition: number;
  errorCode: number;
  highWatermark: number;
  lastStableOffset: number;
  logStartOffset: number;
  /** Whole batches, as one array or as parts (say views of mapped segment files). */
  records: Uint8Array | Uint8Array[];
  /** read_committed: the aborted transactions the records overlap (KIP-98); absent: none. */
  aborted?: ReadonlyArray<{ producerId: number; firstOffset: number }>;
}

export interface FetchTopicAnswer {
  /** Written up to v12. */
  topic: string;
  /** Written from v13: 16 bytes. */
  topicId: Uint8Array;
  partitions: FetchPartitionAnswer[];
}

/**
 * The whole Fetch response frame: one array, or (when records parts are big) chunks for one
 * vectored write (see the shapes above).
 */
export function fetchResponseFrame(correlationId: number, version: number, topics: readonly FetchTopicAnswer[]): Uint8Array | Uint8Array[] {
  if (version < 4) throw new RangeError(`fetch response v${version}: the broker serves v4+`);
  const flexible = version >= FETCH_FLEXIBLE_MIN;
  const byId = version >= FETCH_TOPIC_ID_MIN;
  // Pass 1: the bytes copied into the frame's own array (everything but big records parts).
  let size = 4 + 4 + (flexible ? 1 : 0) + 4 + (version >= 7 ? 6 : 0) + countBytes(topics.length, flexible);
  let outside = 0; // records parts kept as chunks of their own
  for (const t of topics) {
    if (byId) {
      if (t.topicId.length !== 16) throw new RangeError(`uuid must be 16 bytes, got ${t.topicId.length}`);
      size += 16;
    } else size += stringBytes(utf8Length(t.topic), flexible);
    size += countBytes(t.partitions.length, flexible) + (flexible ? 1 : 0);
    for (const p of t.partitions) {
      const aborted = p.aborted?.length ?? 0;
      size += 4 + 2 + 8 + 8 + (version >= 5 ? 8 : 0) + countBytes(aborted, flexible) + aborted * (flexible ? 17 : 16) + (version >= 11 ? 4 : 0);
      const n = recordsLength(p.records);
      size += flexible ? uvarintLength(n + 1) : 4;
      const big = bigPartsLength(p.records);
      size += n - big + (flexible ? 1 : 0);
      outside += big;
    }
  }
  if (flexible) size++;

  // Pass 2: write, cutting the array wherever a big part goes out as its own chunk.
  const out = outside > 0 ? new FrameOut(size) : null; // only cut around big parts
  const buf = out?.buf ?? new Uint8Array(size);
  be.setInt32(buf, 0, size + outside - 4);
  be.setInt32(buf, 4, correlationId);
  let pos = flexible ? 9 : 8;
  pos += 4; // throttle_time_ms 0
  if (version >= 7) pos += 6; // error_code 0, session_id 0
  pos = putCount(buf, pos, topics.length, flexible);
  for (const t of topics) {
    if (byId) {
      buf.set(t.topicId, pos);
      pos += 16;
    } else pos = putString(buf, pos, t.topic, utf8Length(t.topic), flexible);
    pos = putCount(buf, pos, t.partitions.length, flexible);
    for (const p of t.partitions) {
      be.setInt32(buf, pos, p.partition);
      be.setInt16(buf, pos + 4, p.errorCode);
      be.setInt64(buf, pos + 6, p.highWatermark);
      be.setInt64(buf, pos + 14, p.lastStableOffset);
      pos += 22;
      if (version >= 5) pos = putInt64(buf, pos, p.logStartOffset);
      pos = putCount(buf, pos, p.aborted?.length ?? 0, flexible); // aborted_transactions
      for (const a of p.aborted ?? []) {
        be.setInt64(buf, pos, a.producerId);
        be.setInt64(buf, pos + 8, a.firstOffset);
        pos += flexible ? 17 : 16; // and no tags
      }
      if (version >= 11) {
        be.setInt32(buf, pos, -1); // preferred_read_replica
        pos += 4;
      }
      pos = putCount(buf, pos, recordsLength(p.records), flexible); // a bytes length has the count's form
      const parts = p.records;
      if (!Array.isArray(parts)) pos = putRecordsPart(buf, pos, parts, out);
      else for (const part of parts) pos = putRecordsPart(buf, pos, part, out);
      if (flexible) pos++; // partition tags
    }
    if (flexible) pos++; // topic tags
  }
  if (flexible) pos++;
  if (pos !== size) throw new RangeError(`fetch response: wrote ${pos} of ${size} bytes`);
  return out === null ? buf : out.finish(pos);
}

function putRecordsPart(buf: Uint8Array, pos: number, part: Uint8Array, out: FrameOut | null): number {
  if (out !== null) return out.part(pos, part);
  buf.set(part, pos);
  return pos + part.length;
}

/** The frame's own array, and the chunks it is cut into around big records parts. */
class FrameOut {
  readonly buf: Uint8Array;
  private chunks: Uint8Array[] | null = null;
  /** Start of the stretch of `buf` not yet handed to `chunks`. */
  private cut = 0;

  constructor(size: number) {
    this.buf = new Uint8Array(size);
  }

  /** Copies a small part in at `pos`, or queues a big one as its own chunk; returns the new `pos`. */
  part(pos: number, part: Uint8Array): number {
    if (part.length < RAW_CHUNK_MIN_BYTES) {
      this.buf.set(part, pos);
      return pos + part.length;
    }
    const chunks = (this.chunks ??= []);
    if (pos > this.cut) chunks.push(this.buf.subarray(this.cut, pos));
    chunks.push(part);
    this.cut = pos;
    return pos;
  }

  finish(end: number): Uint8Array[] {
    const chunks = this.chunks ?? [];
    if (end > this.cut) chunks.push(this.buf.subarray(this.cut, end));
    return chunks;
  }
}

function recordsLength(r: Uint8Array | Uint8Array[]): number {
  if (!Array.isArray(r)) return r.length;
  let n = 0;
  for (const part of r) n += part.length;
  return n;
}

function bigPartsLength(r: Uint8Array | Uint8Array[]): number {
  if (!Array.isArray(r)) return r.length >= RAW_CHUNK_MIN_BYTES ? r.length : 0;
  let n = 0;
  for (const part of r) if (part.length >= RAW_CHUNK_MIN_BYTES) n += part.length;
  return n;
}
