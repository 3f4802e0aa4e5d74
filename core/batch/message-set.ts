// The old message formats (magic 0 and 1, Kafka before 0.11) that clients still send in Produce
// v0-2 and expect in Fetch v0-3: up-converted into one RecordBatch v2 on the way in, and
// down-converted from the log's v2 batches on the way out (Kafka 3.x does both; 4.0 dropped them).
//
//   MessageSet  := (offset int64, message_size int32, Message)*
//   Message v0  := crc int32, magic int8 = 0, attributes int8, key bytes, value bytes
//   Message v1  := crc int32, magic int8 = 1, attributes int8, timestamp int64, key bytes, value bytes
//   bytes       := int32 length (-1 = null), then that many bytes
//   crc         := CRC-32 (IEEE, not Castagnoli) of everything from magic to the end
//   attributes  := bits 0-2 codec (0 none, 1 gzip, 2 snappy, 3 lz4), bit 3 (v1) LogAppendTime
//
// A compressed message (wrapper) holds a whole compressed message set as its value; for magic 1
// the inner offsets are relative (0..n-1). Magic 0 has no timestamps: its records get -1
// (RecordBatch.NO_TIMESTAMP) under CreateTime, as Kafka's LogValidator up-converts them (a
// LogAppendTime topic stamps them when appended). Magic 0 LZ4 frames carry Kafka 0.8's wrong
// header checksum (computed over the magic too, KAFKA-3160); it is recomputed before decoding.
//
// Bounds: every length is checked against the bytes left before it is read; decompressed bytes
// of one request's set are capped (DECOMPRESSED_BYTES_MAX), so are the bytes a down-conversion
// writes (the caller's limit; the first message whole, as Kafka's fetch).
import zlib from "node:zlib";
import { CoreError } from "../errors.ts";
import { DECOMPRESSED_BYTES_MAX } from "../limits.ts";
import { ATTR_CODEC_MASK, ATTR_CONTROL, ATTR_LOG_APPEND_TIME, Codec, OFF_MAGIC, readBatchHeader } from "./header.ts";
import { compress, decompress, isKnownCodec } from "./codecs.ts";
import { decodeRecordBatch, encodeRecordBatch, iterateBatches, NO_TIMESTAMP } from "./record-batch.ts";
import type { RecordInput } from "./record.ts";
import { xxhash32 } from "./xxhash32.ts";

/** offset + message_size. */
const LOG_OVERHEAD = 12;
/** crc, magic, attributes, key length, value length. */
const MESSAGE_V0_MIN = 4 + 1 + 1 + 4 + 4;
const ATTR_V1_LOG_APPEND_TIME = 0x08;

/** The magic of the first message in `set`, or -1 when it is too short to tell. */
export function messageSetMagic(set: Uint8Array): number {
  return set.length > OFF_MAGIC ? set[OFF_MAGIC]! : -1;
}

export interface UpConverted {
  /** One v2 batch holding every record, base offset 0 (the log assigns offsets). */
  batch: Uint8Array;
  records: number;
}

/**
 * A magic 0/1 message set as one RecordBatch v2, in the codec the messages were compressed with
 * (none when they were not). Throws CORRUPT_BATCH on a bad length, CRC or magic, and
 * DECOMPRESSION_LIMIT past the cap.
 */
export function upConvert(set: Uint8Array, now: number = Date.now()): UpConverted {
  const records: RecordInput[] = [];
  const budget = { left: DECOMPRESSED_BYTES_MAX };
  let codec: Codec = Codec.None;
  readMessages(set, records, budget, (c) => {
    if (c !== Codec.None) codec = c;
  });
  if (records.length === 0) throw corrupt("a message set with no complete message");
  return { batch: encodeRecordBatch({ records, codec, now }), records: records.length };
}

function readMessages(set: Uint8Array, out: RecordInput[], budget: { left: number }, sawCodec: (c: Codec) => void, wrapperMagic = -1): void {
  const view = new DataView(set.buffer, set.byteOffset, set.byteLength);
  let pos = 0;
  while (pos < set.length) {
    if (set.length - pos < LOG_OVERHEAD) throw corrupt(`${set.length - pos} trailing bytes are no message`);
    const size = view.getInt32(pos + 8);
    if (size < MESSAGE_V0_MIN || size > set.length - pos - LOG_OVERHEAD) throw corrupt(`message size ${size} at byte ${pos} outside the ${set.length - pos - LOG_OVERHEAD} bytes left`);
    const start = pos + LOG_OVERHEAD;
    const end = start + size;
    pos = end;
    const crc = view.getUint32(start);
    if (zlib.crc32(set.subarray(start + 4, end)) >>> 0 !== crc) throw corrupt(`message at byte ${start}: CRC mismatch`);
    const magic = set[start + 4]!;
    if (magic > 1) throw corrupt(`message at byte ${start}: magic ${magic} in a v0/v1 message set`);
    if (wrapperMagic >= 0 && magic !== wrapperMagic) throw corrupt(`message at byte ${start}: magic ${magic} inside a magic ${wrapperMagic} wrapper`);
    const attributes = set[start + 5]!;
    let p = start + 6;
    let timestamp = NO_TIMESTAMP;
    if (magic === 1) {
      if (end - p < 16) throw corrupt(`message at byte ${start}: too short for magic 1`);
      timestamp = Number(view.getBigInt64(p));
      p += 8;
    }
    const key = readBytes(set, view, p, end);
    p = key.next;
    const value = readBytes(set, view, p, end);
    if (value.next !== end) throw corrupt(`message at byte ${start}: ${end - value.next} bytes after its value`);
    const codec = attributes & ATTR_CODEC_MASK;
    if (codec === Codec.None) {
      budget.left -= size;
      if (budget.left < 0) throw new CoreError("DECOMPRESSION_LIMIT", `message set: more than ${DECOMPRESSED_BYTES_MAX} bytes`);
      out.push({ key: key.bytes, value: value.bytes, timestamp: magic === 0 ? NO_TIMESTAMP : timestamp });
      continue;
    }
    if (wrapperMagic >= 0 || !isKnownCodec(codec) || codec === Codec.Zstd) throw corrupt(`message at byte ${start}: compression codec ${codec} is not one of magic ${magic}'s`);
    if (value.bytes === null) throw corrupt(`compressed message at byte ${start} has no value`);
    sawCodec(codec);
    const packed = magic === 0 && codec === Codec.Lz4 ? withLz4HeaderChecksum(value.bytes, false) : value.bytes;
    const inner = decompress(codec, packed, budget.left);
    budget.left -= inner.length;
    const before = out.length;
    readMessages(inner, out, budget, sawCodec, magic);
    // A wrapper with LogAppendTime (bit 3, magic 1) gives every inner message its timestamp.
    if (magic === 1 && (attributes & ATTR_V1_LOG_APPEND_TIME) !== 0) for (let i = before; i < out.length; i++) out[i]!.timestamp = timestamp;
  }
}

function readBytes(set: Uint8Array, view: DataView, p: number, end: number): { bytes: Uint8Array | null; next: number } {
  if (end - p < 4) throw corrupt(`a length at byte ${p} runs past its message`);
  const n = view.getInt32(p);
  if (n === -1) return { bytes: null, next: p + 4 };
  if (n < 0 || n > end - p - 4) throw corrupt(`a length of ${n} at byte ${p} runs past its message`);
  return { bytes: set.subarray(p + 4, p + 4 + n), next: p + 4 + n };
}

/**
 * `frame` with its LZ4 header checksum recomputed: over the frame descriptor as the LZ4 spec says,
 * or, `kafka08`, over the magic number too, as Kafka 0.8-0.9 wrote it and as Kafka still writes
 * magic 0 (KAFKA-3160). Returns `frame` itself when it is too short to have one.
 */
export function withLz4HeaderChecksum(frame: Uint8Array, kafka08: boolean): Uint8Array {
  if (frame.length < 7) return frame;
  const flg = frame[4]!;
  const descriptorEnd = 4 + 2 + ((flg & 0x08) !== 0 ? 8 : 0); // FLG, BD, optional content size
  if (frame.length <= descriptorEnd) return frame;
  const copy = frame.slice();
  copy[descriptorEnd] = (xxhash32(copy, kafka08 ? 0 : 4, descriptorEnd) >>> 8) & 0xff;
  return copy;
}

/**
 * The log's v2 batches (`chunks`: whole batches as the log reads them) as a magic `magic` message
 * set, as Kafka's down-conversion (RecordsUtil.downConvert) writes it:
 * - control batches are left out; headers are dropped (the old formats have none);
 * - an uncompressed batch becomes one message per record, from `fromOffset` on (v0/v1 messages
 *   are not batched, so the records before the fetch offset are dropped);
 * - a compressed batch becomes one wrapper message in the same codec holding every record of the
 *   batch (inner offsets relative for magic 1, absolute for magic 0; the wrapper carries the last
 *   offset and, for magic 1, the largest timestamp); magic 0 LZ4 gets Kafka 0.8's header checksum;
 * - a LogAppendTime batch gives magic 1 messages its time and the LogAppendTime attribute;
 * - zstd has no magic 0/1 form: UNSUPPORTED_COMPRESSION (Kafka's UNSUPPORTED_COMPRESSION_TYPE).
 * Stops before the message that would take the set past `maxBytes`; the first one is written
 * whatever its size unless `firstWhole` is false.
 *
 * Bounds: one batch is decoded at a time (its decompressed records capped at
 * DECOMPRESSED_BYTES_MAX); the result is at most max(maxBytes, the first message).
 */
export function downConvert(chunks: Uint8Array | readonly Uint8Array[], fromOffset: number, magic: 0 | 1, maxBytes: number, firstWhole = true): Uint8Array {
  const parts: Uint8Array[] = [];
  let total = 0;
  const add = (message: Uint8Array): boolean => {
    if ((total > 0 || !firstWhole) && total + message.length > maxBytes) return false;
    parts.push(message);
    total += message.length;
    return true;
  };
  for (const chunk of Array.isArray(chunks) ? chunks : [chunks as Uint8Array]) {
    for (const span of iterateBatches(chunk)) {
      const header = readBatchHeader(span.bytes, 0);
      if ((header.attributes & ATTR_CONTROL) !== 0) continue;
      const codec = (header.attributes & ATTR_CODEC_MASK) as Codec;
      if (codec === Codec.Zstd) {
        throw new CoreError("UNSUPPORTED_COMPRESSION", `a zstd batch at offset ${header.baseOffset} has no magic ${magic} form; fetch with v10 or later`);
      }
      const { records } = decodeRecordBatch(span.bytes, { maxDecompressedBytes: DECOMPRESSED_BYTES_MAX, verifyCrc: false });
      if (records.length === 0) continue;
      const logAppendTime = (header.attributes & ATTR_LOG_APPEND_TIME) !== 0;
      if (codec === Codec.None) {
        for (const r of records) {
          if (r.offset < fromOffset) continue;
          if (!add(encodeMessage(r.offset, magic, 0, r.key, r.value, r.timestamp, logAppendTime))) return concat(parts, total);
        }
        continue;
      }
      const first = records[0]!.offset;
      let maxTimestamp = NO_TIMESTAMP;
      const inner: Uint8Array[] = [];
      for (const r of records) {
        inner.push(encodeMessage(magic === 1 ? r.offset - first : r.offset, magic, 0, r.key, r.value, r.timestamp, logAppendTime));
        if (r.timestamp > maxTimestamp) maxTimestamp = r.timestamp;
      }
      let packed = compress(codec, concat(inner));
      if (magic === 0 && codec === Codec.Lz4) packed = withLz4HeaderChecksum(packed, true);
      const last = records[records.length - 1]!.offset;
      const wrapperTimestamp = logAppendTime ? header.maxTimestamp : maxTimestamp;
      if (!add(encodeMessage(last, magic, codec, null, packed, wrapperTimestamp, logAppendTime))) return concat(parts, total);
    }
  }
  return concat(parts, total);
}

function encodeMessage(offset: number, magic: 0 | 1, codec: number, key: Uint8Array | null, value: Uint8Array | null, timestamp: number, logAppendTime: boolean): Uint8Array {
  const size = 4 + 1 + 1 + (magic === 1 ? 8 : 0) + 4 + (key?.length ?? 0) + 4 + (value?.length ?? 0);
  const out = new Uint8Array(LOG_OVERHEAD + size);
  const view = new DataView(out.buffer);
  view.setBigInt64(0, BigInt(offset));
  view.setInt32(8, size);
  let p = LOG_OVERHEAD + 4;
  out[p++] = magic;
  out[p++] = codec | (magic === 1 && logAppendTime ? ATTR_V1_LOG_APPEND_TIME : 0);
  if (magic === 1) {
    view.setBigInt64(p, BigInt(timestamp));
    p += 8;
  }
  for (const b of [key, value]) {
    view.setInt32(p, b === null ? -1 : b.length);
    p += 4;
    if (b !== null) {
      out.set(b, p);
      p += b.length;
    }
  }
  view.setUint32(LOG_OVERHEAD, zlib.crc32(out.subarray(LOG_OVERHEAD + 4)) >>> 0);
  return out;
}

function concat(parts: readonly Uint8Array[], total = parts.reduce((n, p) => n + p.length, 0)): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(total);
  let p = 0;
  for (const part of parts) {
    out.set(part, p);
    p += part.length;
  }
  return out;
}

function corrupt(message: string): CoreError {
  return new CoreError("CORRUPT_BATCH", `message set: ${message}`);
}
