// OffsetDelete (key 47), v0 (KIP-496). Removes a group's committed offsets of the partitions named,
// durably, as Kafka's KafkaApis.handleOffsetDeleteRequest and GroupCoordinator.handleDeleteOffsets:
// - a partition of no known topic → UNKNOWN_TOPIC_OR_PARTITION (3) for it, the rest go on;
// - an Empty group loses the offsets of every partition named;
// - a consumer group with members keeps the offsets of topics its members subscribe to
//   (GROUP_SUBSCRIBED_TO_TOPIC, 86, per partition) and loses the others;
// - group errors (the top-level error_code, and then no topics): GROUP_ID_NOT_FOUND (69) for an
//   unknown group, NON_EMPTY_GROUP (68) for a non-consumer group with members, INVALID_GROUP_ID.
import {
  OffsetDelete,
  type OffsetDeleteRequest,
  type OffsetDeleteResponse,
  defaultOffsetDeleteResponse,
} from "../../protocol/messages/index.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import { groupErrorCode } from "../group-errors.ts";
import { defineHandler } from "../handler.ts";

export const offsetDeleteHandler = defineHandler<OffsetDeleteRequest, OffsetDeleteResponse>({
  api: OffsetDelete,
  minVersion: 0,
  maxVersion: 0,
  async handle(req, ctx) {
    const unknown = new Map<string, number>(); // "topic\0partition" → error
    const known: Array<{ topic: string; partition: number }> = [];
    for (const t of req.topics) {
      const count = ctx.broker.topic(t.name)?.partitions.length ?? 0;
      for (const p of t.partitions) {
        if (p.partitionIndex < 0 || p.partitionIndex >= count) unknown.set(`${t.name}\0${p.partitionIndex}`, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
        else known.push({ topic: t.name, partition: p.partitionIndex });
      }
    }
    const result = await ctx.broker.groups.deleteOffsets(req.groupId, known);
    if (result.error !== null) return { ...defaultOffsetDeleteResponse(), errorCode: groupErrorCode(result.error), throttleTimeMs: 0, topics: [] };
    const errors = new Map(unknown);
    for (const r of result.partitions) errors.set(`${r.topic}\0${r.partition}`, groupErrorCode(r.error));
    const topics = req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: errors.get(`${t.name}\0${p.partitionIndex}`) ?? 0 })),
    }));
    return { ...defaultOffsetDeleteResponse(), errorCode: 0, throttleTimeMs: 0, topics };
  },
});
