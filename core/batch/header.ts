// The fixed 61-byte header of a Kafka RecordBatch v2 (magic 2), big-endian:
//
// | off | size | field                                   |
// |-----|------|-----------------------------------------|
// |   0 |    8 | baseOffset                              |
// |   8 |    4 | batchLength = total size - 12           |
// |  12 |    4 | partitionLeaderEpoch                    |
// |  16 |    1 | magic = 2                               |
// |  17 |    4 | crc: CRC-32C over bytes 21..end         |
// |  21 |    2 | attributes                              |
// |  23 |    4 | lastOffsetDelta                         |
// |  27 |    8 | baseTimestamp                           |
// |  35 |    8 | maxTimestamp                            |
// |  43 |    8 | producerId (-1 = none)                  |
// |  51 |    2 | producerEpoch                           |
// |  53 |    4 | baseSequence                            |
// |  57 |    4 | recordCount                             |
// |  61 |    … | records (one compressed block if codec) |
//
// baseOffset, batchLength and partitionLeaderEpoch are outside the CRC, which is why the broker
// can assign offsets by rewriting baseOffset in place. Fields are read and written with
// core/bytes.ts (int64 as a number: offsets, timestamps and producer ids are within ±2^53).
import * as be from "../bytes.ts";

export const BATCH_HEADER_BYTES = 61;
/** Bytes before batchLength's coverage starts: baseOffset (8) + batchLength (4). */
export const BATCH_LENGTH_PREFIX_BYTES = 12;

export const OFF_BASE_OFFSET = 0;
export const OFF_BATCH_LENGTH = 8;
export const OFF_LEADER_EPOCH = 12;
export const OFF_MAGIC = 16;
export const OFF_CRC = 17;
export const OFF_ATTRIBUTES = 21;
export const OFF_LAST_OFFSET_DELTA = 23;
export const OFF_BASE_TIMESTAMP = 27;
export const OFF_MAX_TIMESTAMP = 35;
export const OFF_PRODUCER_ID = 43;
export const OFF_PRODUCER_EPOCH = 51;
export const OFF_BASE_SEQUENCE = 53;
export const OFF_RECORD_COUNT = 57;
/** CRC coverage starts at the attributes field. */
export const CRC_START = OFF_ATTRIBUTES;

export const ATTR_CODEC_MASK = 0x07;
export const ATTR_LOG_APPEND_TIME = 0x08;
export const ATTR_TRANSACTIONAL = 0x10;
export const ATTR_CONTROL = 0x20;
export const ATTR_DELETE_HORIZON = 0x40;

export const enum Codec {
  None = 0,
  Gzip = 1,
  Snappy = 2,
  Lz4 = 3,
  Zstd = 4,
}

export interface BatchHeader {
  baseOffset: number;
  batchLength: number;
  partitionLeaderEpoch: number;
  magic: number;
  crc: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
}

/** Total bytes of the batch starting at `pos` (batchLength + 12). Caller checks 12 bytes are there. */
export function batchSizeAt(bytes: Uint8Array, pos: number): number {
  return be.int32(bytes, pos + OFF_BATCH_LENGTH) + BATCH_LENGTH_PREFIX_BYTES;
}

/** Reads the 61-byte header at `pos`; the caller has checked that 61 bytes are there. */
export function readBatchHeader(bytes: Uint8Array, pos = 0): BatchHeader {
  return {
    baseOffset: be.int64(bytes, pos + OFF_BASE_OFFSET),
    batchLength: be.int32(bytes, pos + OFF_BATCH_LENGTH),
    partitionLeaderEpoch: be.int32(bytes, pos + OFF_LEADER_EPOCH),
    magic: be.int8(bytes, pos + OFF_MAGIC),
    crc: be.uint32(bytes, pos + OFF_CRC),
    attributes: be.int16(bytes, pos + OFF_ATTRIBUTES),
    lastOffsetDelta: be.int32(bytes, pos + OFF_LAST_OFFSET_DELTA),
    baseTimestamp: be.int64(bytes, pos + OFF_BASE_TIMESTAMP),
    maxTimestamp: be.int64(bytes, pos + OFF_MAX_TIMESTAMP),
    producerId: be.int64(bytes, pos + OFF_PRODUCER_ID),
    producerEpoch: be.int16(bytes, pos + OFF_PRODUCER_EPOCH),
    baseSequence: be.int32(bytes, pos + OFF_BASE_SEQUENCE),
    recordCount: be.int32(bytes, pos + OFF_RECORD_COUNT),
  };
}
