// ListOffsets (key 2), v0-8.
// - timestamp -2: log start offset; -1: the high watermark (for isolation level 0 and 1 alike:
//   there are no open transactions); -3 (v7+, KIP-734): the offset of the record with the largest
//   timestamp; any other value: the first offset whose timestamp is ≥ it, through the time index,
//   or offset -1 / timestamp -1 when none is.
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
import type { PartitionLog } from "../../../core/log/partition-log.ts";
import { kafkaErrorCode } from "../errors.ts";
import { defineHandler } from "../handler.ts";

const EARLIEST = -2n;
const LATEST = -1n;
const MAX_TIMESTAMP = -3n;

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
          const { offset, timestamp } = lookup(log, p.timestamp);
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

function lookup(log: PartitionLog, ts: bigint): { offset: number; timestamp: number } {
  if (ts === EARLIEST) return { offset: log.startOffset, timestamp: -1 };
  if (ts === LATEST) return { offset: log.highWatermark, timestamp: -1 };
  if (ts === MAX_TIMESTAMP) return log.maxTimestampOffset?.() ?? { offset: -1, timestamp: -1 };
  const found = log.offsetForTimestamp(Number(ts));
  if (!found || found.offset >= log.highWatermark) return { offset: -1, timestamp: -1 };
  return found;
}
