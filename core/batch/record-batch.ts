// Encoding and decoding whole RecordBatch v2 (magic 2) batches, and walking concatenated batches.
// The header layout is in header.ts, the record grammar in record.ts, the codecs in codecs.ts;
// what a broker must check on produce is in validate-produce.ts, in-place rewrites in rewrite.ts.
//
//   batch   = header (61 bytes, header.ts) records
//   records = recordCount × record (record.ts), or, when attributes & 7 ≠ 0, the same bytes
//             compressed as one block; recordCount stays in the header, uncompressed
//   crc     = CRC-32C of bytes 21..end (attributes onward); baseOffset, batchLength and
//             partitionLeaderEpoch are outside it so the broker can set them without a new CRC
//
// Every failure on bytes from outside is a CoreError that names the position (and the file when
// the caller gives one); nothing here lets a RangeError or TypeError escape.
import { CoreError, type CoreErrorCode, type CoreErrorContext } from "../errors.ts";
import { DECOMPRESSED_BYTES_MAX } from "../limits.ts";
import { ByteReader } from "./byte-reader.ts";
import { codecName, compress, decompress, isKnownCodec } from "./codecs.ts";
import { crc32c } from "./crc32c.ts";
import {
  ATTR_CODEC_MASK,
  ATTR_CONTROL,
  ATTR_LOG_APPEND_TIME,
  ATTR_TRANSACTIONAL,
  BATCH_HEADER_BYTES,
  BATCH_LENGTH_PREFIX_BYTES,
  type BatchHeader,
  Codec,
  CRC_START,
  OFF_ATTRIBUTES,
  OFF_BASE_OFFSET,
  OFF_BASE_SEQUENCE,
  OFF_BASE_TIMESTAMP,
  OFF_BATCH_LENGTH,
  OFF_CRC,
  OFF_LAST_OFFSET_DELTA,
  OFF_LEADER_EPOCH,
  OFF_MAGIC,
  OFF_MAX_TIMESTAMP,
  OFF_PRODUCER_EPOCH,
  OFF_PRODUCER_ID,
  OFF_RECORD_COUNT,
  readBatchHeader,
} from "./header.ts";
import * as be from "../bytes.ts";
import { type DecodedRecord, planRecord, readRecords, type RecordInput, recordSize, writeRecord } from "./record.ts";

export const MAGIC_V2 = 2;
/** Kafka's RecordBatch.NO_TIMESTAMP, NO_PRODUCER_ID, NO_PRODUCER_EPOCH, NO_SEQUENCE, NO_PARTITION_LEADER_EPOCH. */
export const NO_TIMESTAMP = -1;

/** Where bytes came from, for error messages: `position` is the batch's first byte in `file`. */
export interface BatchSource {
  file?: string;
  position?: number;
}

export interface EncodeBatchOptions {
  records: RecordInput[];
  baseOffset?: number;
  codec?: Codec;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  partitionLeaderEpoch?: number;
  logAppendTime?: boolean;
  transactional?: boolean;
  control?: boolean;
  /** Timestamp for records that have none (default Date.now()). */
  now?: number;
  /** Write this maxTimestamp instead of the records' maximum (tests: Sarama writes -1). */
  maxTimestamp?: number;
  /** Deltas against this instead of the first record's timestamp (re-encoding another client's
   * batch byte for byte: kafkajs picks the smallest timestamp in string order). */
  baseTimestamp?: number;
}

/** Encodes one batch. baseTimestamp is the first record's timestamp (as the Java client does), so
 * deltas of later records may be negative; maxTimestamp is the largest. */
export function encodeRecordBatch(opts: EncodeBatchOptions): Uint8Array {
  const records = opts.records;
  const codec = opts.codec ?? Codec.None;
  const now = opts.now ?? Date.now();
  const n = records.length;
  const timestamps = new Array<number>(n);
  let maxTimestamp = NO_TIMESTAMP;
  for (let i = 0; i < n; i++) {
    const t = records[i]!.timestamp ?? now;
    timestamps[i] = t;
    if (t > maxTimestamp || i === 0) maxTimestamp = t;
  }
  const baseTimestamp = opts.baseTimestamp ?? (n > 0 ? timestamps[0]! : NO_TIMESTAMP);
  const plans = new Array<ReturnType<typeof planRecord>>(n);
  let sectionBytes = 0;
  for (let i = 0; i < n; i++) {
    const plan = planRecord(records[i]!, timestamps[i]! - baseTimestamp, i);
    plans[i] = plan;
    sectionBytes += recordSize(plan);
  }
  let out: Uint8Array;
  if (codec === Codec.None) {
    out = new Uint8Array(BATCH_HEADER_BYTES + sectionBytes);
    writeSection(out, BATCH_HEADER_BYTES, records, plans, timestamps, baseTimestamp);
  } else {
    const section = new Uint8Array(sectionBytes);
    writeSection(section, 0, records, plans, timestamps, baseTimestamp);
    const packed = compress(codec, section);
    out = new Uint8Array(BATCH_HEADER_BYTES + packed.length);
    out.set(packed, BATCH_HEADER_BYTES);
  }
  let attributes = codec & ATTR_CODEC_MASK;
  if (opts.logAppendTime) attributes |= ATTR_LOG_APPEND_TIME;
  if (opts.transactional) attributes |= ATTR_TRANSACTIONAL;
  if (opts.control) attributes |= ATTR_CONTROL;
  be.setInt64(out, OFF_BASE_OFFSET, opts.baseOffset ?? 0);
  be.setInt32(out, OFF_BATCH_LENGTH, out.length - BATCH_LENGTH_PREFIX_BYTES);
  be.setInt32(out, OFF_LEADER_EPOCH, opts.partitionLeaderEpoch ?? -1);
  be.setInt8(out, OFF_MAGIC, MAGIC_V2);
  be.setInt16(out, OFF_ATTRIBUTES, attributes);
  be.setInt32(out, OFF_LAST_OFFSET_DELTA, n - 1);
  be.setInt64(out, OFF_BASE_TIMESTAMP, baseTimestamp);
  be.setInt64(out, OFF_MAX_TIMESTAMP, opts.maxTimestamp ?? maxTimestamp);
  be.setInt64(out, OFF_PRODUCER_ID, opts.producerId ?? -1);
  be.setInt16(out, OFF_PRODUCER_EPOCH, opts.producerEpoch ?? -1);
  be.setInt32(out, OFF_BASE_SEQUENCE, opts.baseSequence ?? -1);
  be.setInt32(out, OFF_RECORD_COUNT, n);
  be.setInt32(out, OFF_CRC, crc32c(out, CRC_START, out.length));
  return out;
}

function writeSection(
  buf: Uint8Array,
  pos: number,
  records: RecordInput[],
  plans: ReturnType<typeof planRecord>[],
  timestamps: number[],
  baseTimestamp: number,
): number {
  for (let i = 0; i < records.length; i++) {
    pos = writeRecord(buf, pos, records[i]!, plans[i]!, timestamps[i]! - baseTimestamp, i);
  }
  return pos;
}

export interface DecodeBatchOptions extends BatchSource {
  maxDecompressedBytes?: number;
  /** Check the CRC (default true). */
  verifyCrc?: boolean;
}

export interface DecodedBatch {
  header: BatchHeader;
  records: DecodedRecord[];
}

/** Decodes the one batch that `bytes` holds exactly (use iterateBatches to split a blob). */
export function decodeRecordBatch(bytes: Uint8Array, opts: DecodeBatchOptions = {}): DecodedBatch {
  const header = checkFraming(bytes, opts, "CORRUPT_BATCH");
  if (opts.verifyCrc !== false) checkCrc(bytes, header, opts, "CORRUPT_BATCH");
  const records = decodeRecordsOf(bytes, header, opts, "CORRUPT_BATCH");
  return { header, records };
}

/**
 * Checks what every reader of a batch needs before touching the records: at least a header,
 * batchLength matching the byte count, magic 2. Returns the parsed header.
 */
export function checkFraming(bytes: Uint8Array, src: BatchSource, code: CoreErrorCode): BatchHeader {
  if (bytes.length < BATCH_HEADER_BYTES) {
    throw batchError(code, `batch of ${bytes.length} bytes is shorter than the ${BATCH_HEADER_BYTES}-byte header`, src);
  }
  const header = readBatchHeader(bytes, 0);
  const size = header.batchLength + BATCH_LENGTH_PREFIX_BYTES;
  if (size !== bytes.length) {
    throw batchError(code, `batchLength ${header.batchLength} declares ${size} bytes, ${bytes.length} given`, src);
  }
  if (header.magic !== MAGIC_V2) throw batchError(code, `magic ${header.magic}, only magic 2 is supported`, src);
  return header;
}

export function checkCrc(bytes: Uint8Array, header: BatchHeader, src: BatchSource, code: CoreErrorCode): void {
  const actual = crc32c(bytes, CRC_START, bytes.length);
  if (actual !== header.crc) {
    throw batchError(code, `CRC mismatch: header says 0x${hex(header.crc)}, bytes give 0x${hex(actual)}`, src);
  }
}

/**
 * Decompresses (capped) and reads the records of a framed batch. Malformed records raise
 * `code`; the decompression cap raises DECOMPRESSION_LIMIT, an unknown codec UNSUPPORTED_COMPRESSION.
 */
export function decodeRecordsOf(
  bytes: Uint8Array,
  header: BatchHeader,
  opts: DecodeBatchOptions,
  code: CoreErrorCode,
): DecodedRecord[] {
  const codec = header.attributes & ATTR_CODEC_MASK;
  if (!isKnownCodec(codec)) {
    throw batchError("UNSUPPORTED_COMPRESSION", `unknown compression codec ${codec} in attributes`, opts);
  }
  const ctx = {
    baseOffset: header.baseOffset,
    baseTimestamp: header.baseTimestamp,
    logAppendTime: header.attributes & ATTR_LOG_APPEND_TIME ? header.maxTimestamp : null,
  };
  if (codec === Codec.None) {
    const reader = new ByteReader(bytes, BATCH_HEADER_BYTES, bytes.length);
    const records = readRecords(reader, header.recordCount, ctx);
    if (records === null) throw batchError(code, `bad records: ${reader.reason}`, opts, reader.pos);
    return records;
  }
  const where = contextOf(opts, BATCH_HEADER_BYTES);
  const section = decompress(codec, bytes.subarray(BATCH_HEADER_BYTES), opts.maxDecompressedBytes ?? DECOMPRESSED_BYTES_MAX, where);
  const reader = new ByteReader(section, 0, section.length);
  const records = readRecords(reader, header.recordCount, ctx);
  if (records === null) {
    throw batchError(code, `bad records in the ${codecName(codec)} block at decompressed byte ${reader.pos}: ${reader.reason}`, opts, BATCH_HEADER_BYTES);
  }
  return records;
}

// ---------------------------------------------------------------------------------------------
// Walking concatenated batches (a fetch response's records, a segment file)

/** One batch found in a blob: `bytes` is a view of it. */
export interface BatchSpan {
  position: number;
  size: number;
  bytes: Uint8Array;
}

export interface ScanOptions {
  /** Check each batch's CRC (default false: the broker hands out bytes it checked on the way in). */
  verifyCrc?: boolean;
  file?: string;
}

export type ScanStop = "end" | "partial" | "corrupt";

export interface ScanResult {
  batches: BatchSpan[];
  /** First byte after the last whole, valid batch. */
  end: number;
  /** Why the walk stopped: the bytes ran out exactly, a batch was cut short, or bytes were bad. */
  stop: ScanStop;
  error?: CoreError;
}

type Step = { kind: "batch"; size: number } | { kind: "end" } | { kind: "partial" } | { kind: "corrupt"; reason: string };

function step(bytes: Uint8Array, pos: number, verifyCrc: boolean): Step {
  const left = bytes.length - pos;
  if (left === 0) return { kind: "end" };
  if (left < BATCH_LENGTH_PREFIX_BYTES) return { kind: "partial" };
  const batchLength = be.int32(bytes, pos + OFF_BATCH_LENGTH);
  if (batchLength < BATCH_HEADER_BYTES - BATCH_LENGTH_PREFIX_BYTES) {
    return { kind: "corrupt", reason: `batchLength ${batchLength} is below the header size` };
  }
  if (left > OFF_MAGIC && bytes[pos + OFF_MAGIC] !== MAGIC_V2) {
    return { kind: "corrupt", reason: `magic ${(bytes[pos + OFF_MAGIC]! << 24) >> 24}, only magic 2 is supported` };
  }
  const size = batchLength + BATCH_LENGTH_PREFIX_BYTES;
  if (left < size) return { kind: "partial" };
  if (verifyCrc && crc32c(bytes, pos + CRC_START, pos + size) !== be.uint32(bytes, pos + OFF_CRC)) {
    return { kind: "corrupt", reason: "CRC mismatch" };
  }
  return { kind: "batch", size };
}

/**
 * Yields each whole batch in `bytes` from `pos`. Stops quietly at the end or at a batch cut short
 * (a fetch response may end in one); throws CORRUPT_BATCH at bytes that cannot be a batch, after
 * yielding every good batch before them.
 */
export function* iterateBatches(bytes: Uint8Array, pos = 0, opts: ScanOptions = {}): Generator<BatchSpan> {
  for (;;) {
    const s = step(bytes, pos, opts.verifyCrc ?? false);
    if (s.kind === "end" || s.kind === "partial") return;
    if (s.kind === "corrupt") throw new CoreError("CORRUPT_BATCH", s.reason, { file: opts.file, position: pos });
    yield { position: pos, size: s.size, bytes: bytes.subarray(pos, pos + s.size) };
    pos += s.size;
  }
}

/** Like iterateBatches but never throws: says where and why it stopped (for recovery and tools). */
export function scanBatches(bytes: Uint8Array, pos = 0, opts: ScanOptions = {}): ScanResult {
  const batches: BatchSpan[] = [];
  for (;;) {
    const s = step(bytes, pos, opts.verifyCrc ?? false);
    if (s.kind === "batch") {
      batches.push({ position: pos, size: s.size, bytes: bytes.subarray(pos, pos + s.size) });
      pos += s.size;
      continue;
    }
    if (s.kind === "corrupt") {
      return { batches, end: pos, stop: "corrupt", error: new CoreError("CORRUPT_BATCH", s.reason, { file: opts.file, position: pos }) };
    }
    return { batches, end: pos, stop: s.kind };
  }
}

// ---------------------------------------------------------------------------------------------

function hex(n: number): string {
  return n.toString(16).padStart(8, "0");
}

export function contextOf(src: BatchSource, relative = 0): CoreErrorContext {
  const ctx: CoreErrorContext = { position: (src.position ?? 0) + relative };
  if (src.file !== undefined) ctx.file = src.file;
  return ctx;
}

/** A CoreError about the batch described by `src`, at byte `relative` inside it. */
export function batchError(code: CoreErrorCode, message: string, src: BatchSource, relative = 0): CoreError {
  return new CoreError(code, message, contextOf(src, relative));
}
