// What the broker checks in the records of a Produce request (v3+) before it appends them: every
// row of Kafka's table (UnifiedLog.analyzeAndValidateRecords, LogValidator.validateBatch and
// validateRecord, ProduceRequest.validateRecords), each with its own CoreError code so that net/
// can answer with the Kafka error code a Kafka broker would.
//
// | check (in the order Kafka makes them)                           | CoreError code          | Kafka |
// |-----------------------------------------------------------------|-------------------------|-------|
// | not exactly one whole batch (short, cut, trailing bytes)         | INVALID_RECORD          | 87    |
// | magic ≠ 2                                                        | INVALID_RECORD          | 87    |
// | zstd while the request version is < 7 (allowZstd false)          | UNSUPPORTED_COMPRESSION | 76    |
// | codec bits 5..7 (no such codec)                                  | UNSUPPORTED_COMPRESSION | 76    |
// | baseOffset ≠ 0                                                   | INVALID_RECORD          | 87    |
// | batch bytes > max.message.bytes                                  | MESSAGE_TOO_LARGE       | 10    |
// | batchLength below the 61-byte header, or CRC mismatch            | CORRUPT_BATCH           | 2     |
// | lastOffsetDelta + 1 ≠ recordCount, or recordCount ≤ 0            | INVALID_RECORD          | 87    |
// | control batch from a client                                      | INVALID_RECORD          | 87    |
// | producerId ≥ 0 with baseSequence < 0                             | INVALID_RECORD          | 87    |
// | client set LogAppendTime (attribute bit 3)                       | INVALID_TIMESTAMP       | 32    |
// | records don't fill the declared length exactly / malformed      | INVALID_RECORD          | 87    |
// | decompressed records above the cap (per batch, or per request:   | DECOMPRESSION_LIMIT     | (87)  |
// |   decompress-ahead.ts)                                           |                         |       |
// | record timestamp outside message.timestamp.before/after.max.ms   | INVALID_TIMESTAMP       | 32    |
// | keyless record on a compacted topic                              | INVALID_RECORD          | 87    |
//
// acks ∉ {-1, 0, 1} (21) is a request-level check and lives with the Produce handler.
//
// The record walk ("deep") is what finds the last four rows and the records' real maxTimestamp; it
// decompresses with the cap. It runs when `deep` is true (the default), and always when a check
// needs it (compacted topic, a timestamp window, or maxTimestamp = -1 as Sarama writes it).
import type { CoreErrorCode } from "../errors.ts";
import { isKnownCodec } from "./codecs.ts";
import {
  ATTR_CODEC_MASK,
  ATTR_CONTROL,
  ATTR_LOG_APPEND_TIME,
  ATTR_TRANSACTIONAL,
  BATCH_HEADER_BYTES,
  BATCH_LENGTH_PREFIX_BYTES,
  type BatchHeader,
  Codec,
  OFF_BATCH_LENGTH,
  OFF_MAGIC,
  readBatchHeader,
} from "./header.ts";
import * as be from "../bytes.ts";
import { DECOMPRESSED_BYTES_MAX } from "../limits.ts";
import { codecName, decompress } from "./codecs.ts";
import { preparedScan, preparedSection } from "./decompress-ahead.ts";
import { type BatchSource, batchError, checkCrc, contextOf, MAGIC_V2, NO_TIMESTAMP } from "./record-batch.ts";
import { scanRecords } from "./scan-records.ts";

export type TimestampType = "CreateTime" | "LogAppendTime";

export interface ValidateProduceOptions extends BatchSource {
  /** The topic's max.message.bytes. */
  maxMessageBytes: number;
  /** cleanup.policy contains compact: every record needs a key. */
  compacted?: boolean;
  /** Produce v7+ may carry zstd. */
  allowZstd: boolean;
  /** The topic's message.timestamp.type. */
  timestampType: TimestampType;
  /** Walk the records (default true). */
  deep?: boolean;
  /** message.timestamp.before.max.ms / after.max.ms (CreateTime only); unset = no bound. */
  timestampBeforeMaxMs?: number;
  timestampAfterMaxMs?: number;
  /** The broker's clock, for the timestamp window (default Date.now()). */
  now?: number;
  maxDecompressedBytes?: number;
}

export interface ProduceBatchInfo {
  recordCount: number;
  codec: Codec;
  baseTimestamp: number;
  /** The batch's maxTimestamp after validation: the records' maximum when the walk ran and
   * the header disagreed, else the header's. */
  maxTimestamp: number;
  /** The header's maxTimestamp differs from the records' (Sarama writes -1): the broker should
   * call fixMaxTimestamp(bytes, maxTimestamp) before appending (CreateTime topics). */
  maxTimestampNeedsFix: boolean;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  lastOffsetDelta: number;
  transactional: boolean;
  sizeBytes: number;
  /** Whether the records were walked. */
  deep: boolean;
  /** The records section as plain (decompressed) bytes when the records were walked, else null:
   * what recompression (recompress.ts) re-encodes without inflating the batch twice. */
  records: Uint8Array | null;
}

/** Validates the records field of one partition in a Produce request; throws CoreError. */
export function validateProduceBatch(bytes: Uint8Array, opts: ValidateProduceOptions): ProduceBatchInfo {
  const header = checkOneBatch(bytes, opts);
  const codec = header.attributes & ATTR_CODEC_MASK;
  if (!isKnownCodec(codec)) fail("UNSUPPORTED_COMPRESSION", `unknown compression codec ${codec}`, opts, 21);
  if (codec === Codec.Zstd && !opts.allowZstd) {
    fail("UNSUPPORTED_COMPRESSION", "zstd needs Produce v7 or later", opts, 21);
  }
  if (header.baseOffset !== 0) fail("INVALID_RECORD", `baseOffset ${header.baseOffset} from a client, expected 0`, opts);
  if (bytes.length > opts.maxMessageBytes) {
    fail("MESSAGE_TOO_LARGE", `batch of ${bytes.length} bytes is above max.message.bytes ${opts.maxMessageBytes}`, opts);
  }
  checkCrc(bytes, header, opts, "CORRUPT_BATCH");
  checkHeaderRules(header, opts);

  const windowed = opts.timestampType === "CreateTime" && (opts.timestampBeforeMaxMs !== undefined || opts.timestampAfterMaxMs !== undefined);
  const deep = (opts.deep ?? true) || opts.compacted === true || windowed || header.maxTimestamp === NO_TIMESTAMP;
  let maxTimestamp = header.maxTimestamp;
  let records: Uint8Array | null = null;
  if (deep) {
    const walked = checkRecords(bytes, header, codec as Codec, opts, windowed);
    if (opts.timestampType === "CreateTime") maxTimestamp = walked.maxTimestamp;
    records = walked.records;
  }
  return {
    recordCount: header.recordCount,
    codec: codec as Codec,
    baseTimestamp: header.baseTimestamp,
    maxTimestamp,
    maxTimestampNeedsFix: maxTimestamp !== header.maxTimestamp,
    producerId: header.producerId,
    producerEpoch: header.producerEpoch,
    baseSequence: header.baseSequence,
    lastOffsetDelta: header.lastOffsetDelta,
    transactional: (header.attributes & ATTR_TRANSACTIONAL) !== 0,
    sizeBytes: bytes.length,
    deep,
    records,
  };
}

/** Exactly one whole magic-2 batch, with a batchLength that covers at least the header. */
function checkOneBatch(bytes: Uint8Array, src: BatchSource): BatchHeader {
  if (bytes.length < BATCH_LENGTH_PREFIX_BYTES) {
    fail("INVALID_RECORD", `records of ${bytes.length} bytes hold no batch; Produce v3+ needs exactly one`, src);
  }
  const batchLength = be.int32(bytes, OFF_BATCH_LENGTH);
  const size = batchLength + BATCH_LENGTH_PREFIX_BYTES;
  if (bytes.length > OFF_MAGIC && bytes[OFF_MAGIC] !== MAGIC_V2) {
    fail("INVALID_RECORD", `magic ${(bytes[OFF_MAGIC]! << 24) >> 24}; Produce v3+ takes magic 2 only`, src, OFF_MAGIC);
  }
  if (size < BATCH_HEADER_BYTES) {
    fail("CORRUPT_BATCH", `batchLength ${batchLength} is below the ${BATCH_HEADER_BYTES}-byte header`, src, OFF_BATCH_LENGTH);
  }
  if (size > bytes.length) {
    fail("INVALID_RECORD", `batch declares ${size} bytes, only ${bytes.length} sent; Produce v3+ needs exactly one whole batch`, src);
  }
  if (size < bytes.length) {
    fail("INVALID_RECORD", `${bytes.length - size} bytes after the batch; Produce v3+ needs exactly one batch`, src, size);
  }
  return readBatchHeader(bytes, 0);
}

function checkHeaderRules(h: BatchHeader, src: BatchSource): void {
  if (h.recordCount <= 0) fail("INVALID_RECORD", `recordCount ${h.recordCount}; a produced batch needs records`, src, 57);
  if (h.lastOffsetDelta + 1 !== h.recordCount) {
    fail("INVALID_RECORD", `lastOffsetDelta ${h.lastOffsetDelta} does not match recordCount ${h.recordCount}`, src, 23);
  }
  if (h.attributes & ATTR_CONTROL) fail("INVALID_RECORD", "control batch from a client", src, 21);
  if (h.producerId >= 0 && h.baseSequence < 0) {
    fail("INVALID_RECORD", `producerId ${h.producerId} with baseSequence ${h.baseSequence}`, src, 53);
  }
  if (h.attributes & ATTR_LOG_APPEND_TIME) {
    fail("INVALID_TIMESTAMP", "the client set LogAppendTime; only the broker may", src, 21);
  }
}

/**
 * The record walk (scan-records.ts, no allocation; the same decisions as decodeRecordsOf + the
 * per-record rules): well-formed records that fill the section, keys on a compacted topic, the
 * timestamp window. Returns the records' maximum timestamp and the plain records section.
 */
function checkRecords(bytes: Uint8Array, h: BatchHeader, codec: Codec, opts: ValidateProduceOptions, windowed: boolean): { maxTimestamp: number; records: Uint8Array } {
  let section = bytes;
  let start = BATCH_HEADER_BYTES;
  if (codec !== Codec.None) {
    // Decompressed ahead (decompress-ahead.ts: the request's budget, off the main thread) or here.
    const ctx = contextOf(opts, BATCH_HEADER_BYTES);
    section = preparedSection(bytes, ctx) ?? decompress(codec, bytes.subarray(BATCH_HEADER_BYTES), opts.maxDecompressedBytes ?? DECOMPRESSED_BYTES_MAX, ctx);
    start = 0;
  }
  const now = opts.now ?? Date.now();
  const earliest = !windowed || opts.timestampBeforeMaxMs === undefined ? -Infinity : now - opts.timestampBeforeMaxMs;
  const latest = !windowed || opts.timestampAfterMaxMs === undefined ? Infinity : now + opts.timestampAfterMaxMs;
  const logAppendTime = h.attributes & ATTR_LOG_APPEND_TIME ? h.maxTimestamp : -1;
  // A large section's records were walked ahead, a few ms per turn (decompress-ahead.ts): taken
  // when that walk answers the same question (no LogAppendTime, every timestamp inside the window).
  const pre = codec !== Codec.None ? preparedScan(section) : undefined;
  const usePre = pre !== undefined && pre.count === h.recordCount && pre.baseTimestamp === h.baseTimestamp && logAppendTime < 0 && (!pre.ok || (pre.minTimestamp >= earliest && pre.maxTimestamp <= latest));
  const scan = usePre ? pre : scanRecords(section, start, section.length, h.recordCount, h.baseTimestamp, logAppendTime, earliest, latest);
  if (!scan.ok) {
    if (codec === Codec.None) fail("INVALID_RECORD", `bad records: ${scan.reason}`, opts, scan.pos);
    fail("INVALID_RECORD", `bad records in the ${codecName(codec)} block at decompressed byte ${scan.pos}: ${scan.reason}`, opts, BATCH_HEADER_BYTES);
  }
  const keyless = opts.compacted ? scan.firstKeyless : -1;
  const outside = scan.firstOutOfWindow;
  if (keyless >= 0 && (outside < 0 || keyless <= outside)) {
    fail("INVALID_RECORD", `record ${keyless} has no key; a compacted topic needs one`, opts, BATCH_HEADER_BYTES);
  }
  if (outside >= 0) {
    fail("INVALID_TIMESTAMP", `record ${outside} timestamp ${scan.outOfWindowTimestamp} is outside [${earliest}, ${latest}]`, opts, BATCH_HEADER_BYTES);
  }
  return { maxTimestamp: scan.maxTimestamp, records: start === 0 ? section : section.subarray(start) };
}

function fail(code: CoreErrorCode, message: string, src: BatchSource, relative = 0): never {
  throw batchError(code, message, src, relative);
}

