// Offsets by position or by time, whichever door asks (Kafka's ListOffsets, HTTP's reset by time):
//
//   earliest        the log start offset, no timestamp
//   earliest-local  the same: every record is local here (Kafka's -4, KIP-405 tiered storage)
//   latest          the high watermark, no timestamp; under read_committed the last stable offset
//   max-timestamp   the record with the largest timestamp and that timestamp (KIP-734)
//   timestamp T     the first record whose timestamp is ≥ T and its timestamp
//
// "None" is offset -1 and timestamp -1, as Kafka answers; an offset at or above the high watermark
// is never an answer (Kafka's `allowed`: only offsets a consumer may fetch); under read_committed
// neither is one at or above the last stable offset (Kafka's fetchOffsetByTimestamp with
// isolation: the same bound).
import type { PartitionLog } from "../log/partition-log.ts";
import type { Isolation } from "./read.ts";

export type OffsetQuery =
  | { kind: "earliest" }
  | { kind: "earliest-local" }
  | { kind: "latest" }
  | { kind: "max-timestamp" }
  | { kind: "timestamp"; timestamp: number };

export interface OffsetAnswer {
  offset: number;
  /** -1 when the query is by position. */
  timestamp: number;
}

const NONE: OffsetAnswer = { offset: -1, timestamp: -1 };

export function offsetFor(log: PartitionLog, query: OffsetQuery, isolation: Isolation = "read_uncommitted"): OffsetAnswer {
  const end = isolation === "read_committed" ? log.lastStableOffset : log.highWatermark;
  switch (query.kind) {
    case "earliest":
    case "earliest-local":
      return { offset: log.startOffset, timestamp: -1 };
    case "latest":
      return { offset: end, timestamp: -1 };
    case "max-timestamp":
      return visible(end, log.maxTimestampOffset());
    case "timestamp":
      return visible(end, log.offsetForTimestamp(query.timestamp));
  }
}

function visible(end: number, found: OffsetAnswer | null): OffsetAnswer {
  return found === null || found.offset >= end ? NONE : found;
}
