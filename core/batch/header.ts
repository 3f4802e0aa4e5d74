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
// can assign offsets by rewriting baseOffset in place.

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
export function batchSizeAt(view: DataView, pos: number): number {
  return view.getInt32(pos + OFF_BATCH_LENGTH) + BATCH_LENGTH_PREFIX_BYTES;
}

/** Reads the 61-byte header at `pos`; the caller has checked that 61 bytes are there. */
export function readBatchHeader(view: DataView, pos = 0): BatchHeader {
  return {
    baseOffset: getInt64(view, pos + OFF_BASE_OFFSET),
    batchLength: view.getInt32(pos + OFF_BATCH_LENGTH),
    partitionLeaderEpoch: view.getInt32(pos + OFF_LEADER_EPOCH),
    magic: view.getInt8(pos + OFF_MAGIC),
    crc: view.getUint32(pos + OFF_CRC),
    attributes: view.getInt16(pos + OFF_ATTRIBUTES),
    lastOffsetDelta: view.getInt32(pos + OFF_LAST_OFFSET_DELTA),
    baseTimestamp: getInt64(view, pos + OFF_BASE_TIMESTAMP),
    maxTimestamp: getInt64(view, pos + OFF_MAX_TIMESTAMP),
    producerId: getInt64(view, pos + OFF_PRODUCER_ID),
    producerEpoch: view.getInt16(pos + OFF_PRODUCER_EPOCH),
    baseSequence: view.getInt32(pos + OFF_BASE_SEQUENCE),
    recordCount: view.getInt32(pos + OFF_RECORD_COUNT),
  };
}

const TWO_32 = 4294967296;

/** Big-endian int64 as a number, without BigInt: exact within ±2^53 (offsets, timestamps, producer
 * ids all are); beyond that the nearest double. */
export function getInt64(view: DataView, pos: number): number {
  return view.getInt32(pos) * TWO_32 + view.getUint32(pos + 4);
}

/** Writes `value` (an integer within ±2^53) as a big-endian int64, without BigInt. */
export function setInt64(view: DataView, pos: number, value: number): void {
  const hi = Math.floor(value / TWO_32);
  view.setInt32(pos, hi);
  view.setUint32(pos + 4, value - hi * TWO_32);
}

export function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
