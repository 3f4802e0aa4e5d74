// DescribeTopicPartitions (key 75), v0 (KIP-966): Metadata's partition view with paging, as Kafka's
// DescribeTopicPartitionsRequestHandler and KRaftMetadataCache answer:
// - topics empty → every topic; else the ones named (each once). Only topics at or after the
//   cursor's topic (by name) are described, in name order; the cursor's topic from the cursor's
//   partition, every later one from partition 0. A cursor naming a topic the request does not list
//   → INVALID_REQUEST (42) for every topic named.
// - At most min(response_partition_limit, 2000) partitions (Kafka's
//   max.request.partition.size.limit). A topic cut short ends the page with next_cursor at its
//   first partition left out; a topic not reached because the limit is used up ends it with
//   next_cursor at that topic's partition 0; no cursor when everything fit.
// - A named topic that does not exist → UNKNOWN_TOPIC_OR_PARTITION (INVALID_TOPIC_EXCEPTION for an
//   illegal name); not reported when listing every topic.
// - One broker leads every partition in epoch 0, the only replica and in sync; eligible leader
//   replicas and last known ELR are empty (KIP-966's ELR needs several replicas); authorized
//   operations: the principal's own set (core/broker/auth.ts authorizedOperations).
import { CoreError } from "../../../core/errors.ts";
import { topicNameProblem } from "../../../core/topics/names.ts";
import type { Topic } from "../../../core/topics/topic-store.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import {
  DescribeTopicPartitions,
  type DescribeTopicPartitionsRequest,
  type DescribeTopicPartitionsResponse,
  type DescribeTopicPartitionsResponseTopic,
  defaultDescribeTopicPartitionsResponse,
} from "../../protocol/messages/index.ts";
import { allowedBits } from "../acl-operations.ts";
import { kafkaErrorCode } from "../errors.ts";
import { defineHandler, type RequestContext } from "../handler.ts";

/** Kafka's max.request.partition.size.limit default. */
const PARTITIONS_PER_RESPONSE_MAX = 2000;
const NIL_UUID = new Uint8Array(16);

export const describeTopicPartitionsHandler = defineHandler<DescribeTopicPartitionsRequest, DescribeTopicPartitionsResponse>({
  api: DescribeTopicPartitions,
  minVersion: 0,
  maxVersion: 0,
  handle(req, ctx) {
    const all = req.topics.length === 0;
    const cursorTopic = req.cursor?.topicName ?? "";
    const names = new Set((all ? ctx.broker.topics().map((t) => t.name) : req.topics.map((t) => t.name)).filter((n) => n >= cursorTopic));
    if (!all && req.cursor !== null && !names.has(req.cursor.topicName)) {
      const topics = req.topics.map((t) => ({ ...emptyTopic(t.name), errorCode: ErrorCode.INVALID_REQUEST }));
      return { ...defaultDescribeTopicPartitionsResponse(), throttleTimeMs: 0, topics, nextCursor: null };
    }
    const response: DescribeTopicPartitionsResponse = { ...defaultDescribeTopicPartitionsResponse(), throttleTimeMs: 0, topics: [], nextCursor: null };
    let remaining = Math.min(PARTITIONS_PER_RESPONSE_MAX, req.responsePartitionLimit);
    for (const name of [...names].sort()) {
      if (remaining < 0) break;
      if (remaining === 0) {
        response.nextCursor = { topicName: name, partitionIndex: 0 };
        break;
      }
      const topic = ctx.broker.topic(name);
      if (topic === undefined) {
        if (!all) response.topics.push(missing(name, ctx));
        continue;
      }
      const start = name === cursorTopic && req.cursor !== null ? req.cursor.partitionIndex : 0;
      const { described, next } = describeTopic(topic, start, remaining, ctx);
      response.topics.push(described);
      if (next !== -1) {
        response.nextCursor = { topicName: name, partitionIndex: next };
        break;
      }
      remaining -= described.partitions.length;
    }
    for (const t of response.topics) {
      if (t.name !== null) t.topicAuthorizedOperations = allowedBits(ctx, { type: "TOPIC", name: t.name });
    }
    return response;
  },
});

function emptyTopic(name: string): DescribeTopicPartitionsResponseTopic {
  return { errorCode: 0, name, topicId: NIL_UUID, isInternal: false, partitions: [], topicAuthorizedOperations: -2147483648 };
}

function missing(name: string, ctx: RequestContext): DescribeTopicPartitionsResponseTopic {
  if (topicNameProblem(name) !== null) return { ...emptyTopic(name), errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION };
  const why: CoreError = ctx.broker.missingTopic(name);
  return { ...emptyTopic(name), errorCode: kafkaErrorCode(why) };
}

/** Partitions [start, start + max) of a topic, and the first one left out (-1: none). */
function describeTopic(topic: Topic, start: number, max: number, ctx: RequestContext): { described: DescribeTopicPartitionsResponseTopic; next: number } {
  const count = topic.partitions.length;
  const upper = Math.min(count, start + max);
  const nodeId = ctx.broker.nodeId;
  const partitions = [];
  for (let p = Math.max(0, start); p < upper; p++) {
    partitions.push({
      errorCode: 0,
      partitionIndex: p,
      leaderId: nodeId,
      leaderEpoch: ctx.broker.leaderEpoch,
      replicaNodes: [nodeId],
      isrNodes: [nodeId],
      eligibleLeaderReplicas: [],
      lastKnownElr: [],
      offlineReplicas: [],
    });
  }
  return { described: { ...emptyTopic(topic.name), topicId: topic.topicId, partitions }, next: upper < count ? upper : -1 };
}
