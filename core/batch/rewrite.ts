// In-place rewrites the broker makes to a validated batch before it appends it
// (storage/.../log/LogValidator.java):
//
// | rewrite                | fields                                   | CRC           |
// |------------------------|------------------------------------------|---------------|
// | rewriteBaseOffset      | baseOffset (bytes 0..7)                  | unchanged     |
// | rewriteLeaderEpoch     | partitionLeaderEpoch (bytes 12..15)      | unchanged     |
// | fixMaxTimestamp        | maxTimestamp (35..42)                    | recomputed    |
// | stampLogAppendTime     | attributes bit 3, maxTimestamp           | recomputed    |
//
// The first two sit outside the CRC's coverage (it starts at byte 21) for exactly this reason.
// Each takes the batch's position in `bytes` so that a caller can patch a batch inside a larger
// buffer (a request frame, a segment being written) without copying it out.
import { assert } from "../assert.ts";
import { crc32c } from "./crc32c.ts";
import {
  ATTR_LOG_APPEND_TIME,
  BATCH_HEADER_BYTES,
  BATCH_LENGTH_PREFIX_BYTES,
  CRC_START,
  OFF_ATTRIBUTES,
  OFF_BASE_OFFSET,
  OFF_BATCH_LENGTH,
  OFF_CRC,
  OFF_LEADER_EPOCH,
  OFF_MAX_TIMESTAMP,
} from "./header.ts";
import * as be from "../bytes.ts";
import { decodeRecordBatch } from "./record-batch.ts";

/** Sets baseOffset of the batch at `pos` (no CRC change: baseOffset is outside it). */
export function rewriteBaseOffset(bytes: Uint8Array, pos: number, baseOffset: number): void {
  assertBatchAt(bytes, pos);
  be.setInt64(bytes, pos + OFF_BASE_OFFSET, baseOffset);
}

/** Sets partitionLeaderEpoch of the batch at `pos` (no CRC change). */
export function rewriteLeaderEpoch(bytes: Uint8Array, pos: number, epoch: number): void {
  assertBatchAt(bytes, pos);
  be.setInt32(bytes, pos + OFF_LEADER_EPOCH, epoch);
}

/**
 * Sets maxTimestamp of the batch at `pos` and recomputes its CRC. Without `maxTimestamp` it is
 * computed from the records (Sarama sends -1 there); the batch must already be validated.
 * Returns the maxTimestamp written.
 */
export function fixMaxTimestamp(bytes: Uint8Array, pos = 0, maxTimestamp?: number): number {
  const size = assertBatchAt(bytes, pos);
  const batch = bytes.subarray(pos, pos + size);
  let value = maxTimestamp;
  if (value === undefined) {
    const { records } = decodeRecordBatch(batch);
    value = -1;
    for (let i = 0; i < records.length; i++) if (i === 0 || records[i]!.timestamp > value) value = records[i]!.timestamp;
  }
  be.setInt64(batch, OFF_MAX_TIMESTAMP, value);
  be.setInt32(batch, OFF_CRC, crc32c(batch, CRC_START, size));
  return value;
}

/** For a LogAppendTime topic: sets attribute bit 3 and maxTimestamp := now, recomputes the CRC. */
export function stampLogAppendTime(bytes: Uint8Array, now: number, pos = 0): void {
  const size = assertBatchAt(bytes, pos);
  const batch = bytes.subarray(pos, pos + size);
  be.setInt16(batch, OFF_ATTRIBUTES, be.int16(batch, OFF_ATTRIBUTES) | ATTR_LOG_APPEND_TIME);
  be.setInt64(batch, OFF_MAX_TIMESTAMP, now);
  be.setInt32(batch, OFF_CRC, crc32c(batch, CRC_START, size));
}

/** The batch at `pos` must be whole: these run on batches the broker has validated. */
function assertBatchAt(bytes: Uint8Array, pos: number): number {
  assert(pos >= 0 && bytes.length - pos >= BATCH_HEADER_BYTES, "rewrite needs a whole batch header");
  const size = be.int32(bytes, pos + OFF_BATCH_LENGTH) + BATCH_LENGTH_PREFIX_BYTES;
  assert(size >= BATCH_HEADER_BYTES && size <= bytes.length - pos, "rewrite needs a whole batch");
  return size;
}
