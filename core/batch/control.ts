// Transaction markers (KIP-98): the control batches a transaction coordinator writes to every
// partition of a transaction when it ends, with the producer's id and epoch. Kafka's layout
// (clients/.../common/record/ControlRecordType.java, EndTransactionMarker.java):
//
//   batch     attributes: transactional | control, uncompressed; baseSequence -1; one record
//   key       version int16 (0) | type int16 (0 = ABORT, 1 = COMMIT)
//   value     version int16 (0) | coordinatorEpoch int32
//
// A consumer never sees a control record as data: a reader skips control batches (and, under
// read_committed, drops the batches of aborted transactions, which the markers delimit).
import * as be from "../bytes.ts";
import { ATTR_CODEC_MASK, ATTR_CONTROL, BATCH_HEADER_BYTES, OFF_ATTRIBUTES, batchSizeAt } from "./header.ts";
import { encodeRecordBatch } from "./record-batch.ts";

export const MARKER_ABORT = 0;
export const MARKER_COMMIT = 1;

export interface Marker {
  commit: boolean;
  coordinatorEpoch: number;
}

export interface MarkerBatchOptions extends Marker {
  producerId: number;
  producerEpoch: number;
  timestamp: number;
}

/** The control batch for one partition of an ended transaction (base offset 0: the log assigns it). */
export function encodeMarkerBatch(m: MarkerBatchOptions): Uint8Array {
  const key = new Uint8Array(4);
  be.setInt16(key, 0, 0);
  be.setInt16(key, 2, m.commit ? MARKER_COMMIT : MARKER_ABORT);
  const value = new Uint8Array(6);
  be.setInt16(value, 0, 0);
  be.setInt32(value, 2, m.coordinatorEpoch);
  return encodeRecordBatch({
    records: [{ key, value, timestamp: m.timestamp }],
    producerId: m.producerId,
    producerEpoch: m.producerEpoch,
    baseSequence: -1,
    transactional: true,
    control: true,
    now: m.timestamp,
  });
}

/** Whether the batch at `pos` is a control batch (its header must be there). */
export function isControlBatch(bytes: Uint8Array, pos = 0): boolean {
  return (be.int16(bytes, pos + OFF_ATTRIBUTES) & ATTR_CONTROL) !== 0;
}

/**
 * The marker of the control batch at `pos` (the whole batch must be in `bytes`), or null when it
 * is not one this broker understands (compressed, another control type, a short record).
 */
export function readMarker(bytes: Uint8Array, pos = 0): Marker | null {
  if (bytes.length - pos < BATCH_HEADER_BYTES) return null;
  const attributes = be.int16(bytes, pos + OFF_ATTRIBUTES);
  if ((attributes & ATTR_CONTROL) === 0 || (attributes & ATTR_CODEC_MASK) !== 0) return null;
  const end = pos + batchSizeAt(bytes, pos);
  if (end > bytes.length) return null;
  // record: length, attributes int8, timestampDelta, offsetDelta, keyLength (varints), key, valueLength, value
  let p = pos + BATCH_HEADER_BYTES;
  const skip = (): number => {
    let shift = 0;
    let v = 0;
    for (;;) {
      if (p >= end || shift > 63) return Number.NaN;
      const b = bytes[p++]!;
      v += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) break;
      shift += 7;
    }
    return v % 2 === 0 ? v / 2 : -(v + 1) / 2; // zigzag
  };
  skip(); // length
  p++; // attributes
  skip(); // timestampDelta
  skip(); // offsetDelta
  const keyLength = skip();
  if (keyLength !== 4 || p + 4 > end) return null;
  const type = be.int16(bytes, p + 2);
  p += 4;
  const valueLength = skip();
  if (type !== MARKER_ABORT && type !== MARKER_COMMIT) return null;
  const coordinatorEpoch = valueLength >= 6 && p + 6 <= end ? be.int32(bytes, p + 2) : -1;
  return { commit: type === MARKER_COMMIT, coordinatorEpoch };
}
