// The topic config compression.type on append (Kafka's LogValidator, "targetCompression"):
//
// | compression.type | a produced batch is stored                                         |
// |------------------|--------------------------------------------------------------------|
// | producer         | as the producer compressed it (the default)                        |
// | uncompressed     | with its records uncompressed                                      |
// | gzip, snappy,    | compressed with that codec; a batch already in it is stored as is  |
// | lz4, zstd        |                                                                    |
//
// A batch in another codec is rebuilt: the same 61-byte header (baseOffset, partitionLeaderEpoch,
// baseTimestamp, maxTimestamp, producer id/epoch, baseSequence, recordCount, lastOffsetDelta, the
// transactional and timestamp-type attribute bits), the codec bits set to the target, the records
// section byte for byte as the producer encoded it (keys, values, headers, deltas), compressed with
// the target codec, then a new batchLength and CRC-32C. Kafka rebuilds record by record with the
// same values; the records' encoding is the same whatever the codec, so copying their bytes is the
// same batch. Control batches are never recompressed (Kafka writes them uncompressed and clients
// may not send them); replicated appends (a follower's) are stored as the leader wrote them.
import * as be from "../bytes.ts";
import { compress } from "./codecs.ts";
import { crc32c } from "./crc32c.ts";
import {
  ATTR_CODEC_MASK,
  ATTR_CONTROL,
  BATCH_HEADER_BYTES,
  BATCH_LENGTH_PREFIX_BYTES,
  Codec,
  CRC_START,
  OFF_ATTRIBUTES,
  OFF_BATCH_LENGTH,
  OFF_CRC,
} from "./header.ts";

/** compression.type's value as the codec batches are stored in; null for `producer` (keep theirs). */
export function targetCodecOf(compressionType: string): Codec | null {
  switch (compressionType) {
    case "uncompressed":
      return Codec.None;
    case "gzip":
      return Codec.Gzip;
    case "snappy":
      return Codec.Snappy;
    case "lz4":
      return Codec.Lz4;
    case "zstd":
      return Codec.Zstd;
    default:
      return null;
  }
}

/** Whether `batch` (a whole, validated magic-2 batch) must be rebuilt to be stored in `target`. */
export function needsRecompression(batch: Uint8Array, target: Codec | null): boolean {
  if (target === null || batch.length < BATCH_HEADER_BYTES) return false;
  const attributes = be.int16(batch, OFF_ATTRIBUTES);
  if (attributes & ATTR_CONTROL) return false;
  return (attributes & ATTR_CODEC_MASK) !== target;
}

/**
 * `batch` rebuilt with its records compressed by `target`. `records` is the batch's records
 * section as plain bytes (validateProduceBatch's `records`: already decompressed, within the
 * caps). Returns a new array; `batch` is untouched. The caller checks needsRecompression first.
 */
export function recompressBatch(batch: Uint8Array, records: Uint8Array, target: Codec): Uint8Array {
  const body = compress(target, records);
  const out = new Uint8Array(BATCH_HEADER_BYTES + body.length);
  out.set(batch.subarray(0, BATCH_HEADER_BYTES), 0);
  out.set(body, BATCH_HEADER_BYTES);
  be.setInt32(out, OFF_BATCH_LENGTH, out.length - BATCH_LENGTH_PREFIX_BYTES);
  const attributes = (be.int16(out, OFF_ATTRIBUTES) & ~ATTR_CODEC_MASK) | target;
  be.setInt16(out, OFF_ATTRIBUTES, attributes);
  be.setInt32(out, OFF_CRC, crc32c(out, CRC_START, out.length));
  return out;
}
