// ListOffsets (key 2), v0-8. The special timestamps (Kafka's ListOffsetsRequest constants), answered
// by the core (core/broker/offsets.ts):
//
// | timestamp | meaning                                   | answer (offset, timestamp)                    |
// |-----------|-------------------------------------------|-----------------------------------------------|
// | -1        | LATEST                                    | high watermark, -1; read_committed: the LSO   |
// | -2        | EARLIEST                                  | log start offset, -1                          |
// | -3        | MAX_TIMESTAMP (v7+, KIP-734)              | the record with the largest timestamp, its ts |
// | -4        | EARLIEST_LOCAL_TIMESTAMP (v8+, KIP-405)   | log start offset, -1 (no tiered storage)      |
// | other     | a time (Kafka 3.8 defines no -5 yet)      | first record with timestamp ≥ it, its ts      |
//
// None found: offset -1, timestamp -1. Like Kafka, a broker does not refuse -3/-4 below the
// version that introduced them (clients pick the version); it answers them all the same.
// - isolation_level 1 (read_committed, v2+, KIP-98): LATEST is the last stable offset, and no
//   answer at or above it is given (core/broker/offsets.ts).
// - v0 answers in old_style_offsets (at most max_num_offsets of them).
// - A topic kept unopened because its topic.json is damaged → KAFKA_STORAGE_ERROR (56).
import { ErrorCode } from "../../protocol/errors.ts";
import {
  ListOffsets,
  type ListOffsetsRequest,
  type ListOffsetsResponse,
  type ListOffsetsResponseListOffsetsPartitionResponse,
  defaultListOffsetsResponse,
  defaultListOffsetsResponseListOffsetsPartitionResponse,
} from "../../protocol/messages/index.ts";
import type { OffsetQuery } from "../../../core/broker/broker.ts";
import { kafkaErrorCode } from "../errors.ts";
import { defineHandler } from "../handler.ts";

const LATEST = -1n;
const EARLIEST = -2n;
const MAX_TIMESTAMP = -3n;
const EARLIEST_LOCAL = -4n;

export const listOffsetsHandler = defineHandler<ListOffsetsRequest, ListOffsetsResponse>({
  api: ListOffsets,
  minVersion: 0,
  maxVersion: 8,
  handle(req, ctx) {
    const topics = req.topics.map((t) => {
      const topic = ctx.broker.topic(t.name);
      const partitions = t.partitions.map((p): ListOffsetsResponseListOffsetsPartitionResponse => {
        const base = { ...defaultListOffsetsResponseListOffsetsPartitionResponse(), partitionIndex: p.partitionIndex };
        const log = topic?.partitions[p.partitionIndex];
        if (!log) return { ...base, errorCode: topic ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : kafkaErrorCode(ctx.broker.missingTopic(t.name)) };
        try {
          ctx.broker.checkLeader(t.name, p.partitionIndex, p.currentLeaderEpoch);
          const { offset, timestamp } = ctx.broker.offsetFor(log, queryOf(p.timestamp), req.isolationLevel === 1 ? "read_committed" : "read_uncommitted");
          const oldStyleOffsets = ctx.apiVersion === 0 && offset >= 0 ? [BigInt(offset)].slice(0, Math.max(0, p.maxNumOffsets)) : [];
          return { ...base, errorCode: 0, offset: BigInt(offset), timestamp: BigInt(timestamp), leaderEpoch: 0, oldStyleOffsets };
        } catch (err) {
          return { ...base, errorCode: kafkaErrorCode(err) };
        }
      });
      return { name: t.name, partitions };
    });
    return { ...defaultListOffsetsResponse(), throttleTimeMs: 0, topics };
  },
});

function queryOf(ts: bigint): OffsetQuery {
  if (ts === LATEST) return { kind: "latest" };
  if (ts === EARLIEST) return { kind: "earliest" };
  if (ts === MAX_TIMESTAMP) return { kind: "max-timestamp" };
  if (ts === EARLIEST_LOCAL) return { kind: "earliest-local" };
  return { kind: "timestamp", timestamp: Number(ts) };
}
