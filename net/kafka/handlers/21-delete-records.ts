// DeleteRecords (key 21), v0-2 (v1 same as v0, v2 flexible). Moves each partition's log start
// offset up to the offset given (-1: the high watermark), durably: it survives a restart, and
// Fetch, ListOffsets EARLIEST and the control plane follow (core/broker/records.ts). Answers the
// new low watermark (the log start; one replica) per partition. Per-partition errors:
// UNKNOWN_TOPIC_OR_PARTITION (3), OFFSET_OUT_OF_RANGE (1) above the high watermark or below -1,
// POLICY_VIOLATION (44) on a topic whose cleanup.policy lacks delete, KAFKA_STORAGE_ERROR (56).
// The low watermark of a failed partition is -1, as Kafka's.
import { CoreError } from "../../../core/errors.ts";
import {
  DeleteRecords,
  type DeleteRecordsRequest,
  type DeleteRecordsResponse,
  type DeleteRecordsResponseDeleteRecordsPartitionResult,
  defaultDeleteRecordsResponse,
} from "../../protocol/messages/index.ts";
import { errorMessage, kafkaErrorCode } from "../errors.ts";
import { defineHandler } from "../handler.ts";

export const deleteRecordsHandler = defineHandler<DeleteRecordsRequest, DeleteRecordsResponse>({
  api: DeleteRecords,
  minVersion: 0,
  maxVersion: 2,
  async handle(req, ctx) {
    const topics: DeleteRecordsResponse["topics"] = [];
    for (const t of req.topics) {
      const partitions: DeleteRecordsResponseDeleteRecordsPartitionResult[] = [];
      for (const p of t.partitions) {
        try {
          const lowWatermark = await ctx.broker.deleteRecords(t.name, p.partitionIndex, Number(p.offset));
          partitions.push({ partitionIndex: p.partitionIndex, lowWatermark: BigInt(lowWatermark), errorCode: 0 });
        } catch (err) {
          if (!(err instanceof CoreError)) throw err;
          if (err.code === "STORAGE") ctx.broker.log.warn(`delete records ${t.name}/${p.partitionIndex} before ${p.offset}: ${errorMessage(err)}`);
          partitions.push({ partitionIndex: p.partitionIndex, lowWatermark: -1n, errorCode: kafkaErrorCode(err) });
        }
      }
      topics.push({ name: t.name, partitions });
    }
    return { ...defaultDeleteRecordsResponse(), throttleTimeMs: 0, topics };
  },
});
