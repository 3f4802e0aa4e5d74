// Deleting records (Kafka's DeleteRecords; Partition.deleteRecordsOnLeader): the log start offset
// of a partition moves up, durably (core/log/partition-log.ts persists it before answering and
// drops the whole segments below it), and every reader follows: Fetch below it is
// OFFSET_OUT_OF_RANGE, ListOffsets EARLIEST answers it, the control plane's view starts there.
//
// | offset asked                 | result                                                    |
// |------------------------------|-----------------------------------------------------------|
// | -1                           | the high watermark (delete everything readable)           |
// | < -1, or > high watermark    | OFFSET_OUT_OF_RANGE                                       |
// | ≤ log start                  | nothing changes; the log start is the answer              |
// | else                         | the log start becomes it                                  |
// | topic without cleanup.policy delete (compact only) | POLICY_VIOLATION (Kafka's rule) |
import { CoreError } from "../errors.ts";
import type { TopicStore } from "../topics/topic-store.ts";
import { partitionOf } from "./topic-lookup.ts";

export const DELETE_TO_HIGH_WATERMARK = -1;

/** Moves the log start of a partition to `offset`; resolves to the new log start (the low watermark). */
export async function deleteRecords(store: TopicStore, topicName: string, partition: number, offset: number): Promise<number> {
  const topic = store.requireTopic(topicName);
  const log = partitionOf(topic, partition);
  const ctx = { topic: topicName, partition };
  if (!topic.configs["cleanup.policy"].split(",").includes("delete")) {
    throw new CoreError("POLICY_VIOLATION", `records of a topic with cleanup.policy=${topic.configs["cleanup.policy"]} cannot be deleted`, ctx);
  }
  const target = offset === DELETE_TO_HIGH_WATERMARK ? log.highWatermark : offset;
  if (!Number.isSafeInteger(target) || target < 0 || target > log.highWatermark) {
    throw new CoreError("OFFSET_OUT_OF_RANGE", `cannot delete records before offset ${offset}: outside [0, ${log.highWatermark}] (-1 is the high watermark)`, { ...ctx, offset });
  }
  return log.deleteRecordsBefore(target);
}
