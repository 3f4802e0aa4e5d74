// CreateTopics (key 19), v0-7.
// - num_partitions -1 (v4+) → the broker default; replication_factor -1 or 1 is fine, anything
//   else → INVALID_REPLICATION_FACTOR (38): there is one broker. Manual assignments must name
//   only this broker, one replica each.
// - validate_only (v1+) checks everything and creates nothing.
// - Errors per topic: TOPIC_ALREADY_EXISTS 36, INVALID_TOPIC_EXCEPTION 17, INVALID_PARTITIONS 37,
//   INVALID_CONFIG 40, with a message from v1. v5+ echo the partitions, replication factor and
//   configs; v7 the topic ID. A name given twice in one request → INVALID_REQUEST for both.
import { CoreError } from "../../../core/errors.ts";
import type { Topic } from "../../../core/topics/topic-store.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import {
  CreateTopics,
  type CreateTopicsRequest,
  type CreateTopicsRequestCreatableTopic,
  type CreateTopicsResponse,
  type CreateTopicsResponseCreatableTopicResult,
  defaultCreateTopicsResponse,
  defaultCreateTopicsResponseCreatableTopicResult,
} from "../../protocol/messages/index.ts";
import { errorMessage, kafkaErrorCode } from "../errors.ts";
import { defineHandler, type RequestContext } from "../handler.ts";
import { describeTopicConfigs } from "../topic-configs.ts";

type Result = CreateTopicsResponseCreatableTopicResult;

export const createTopicsHandler = defineHandler<CreateTopicsRequest, CreateTopicsResponse>({
  api: CreateTopics,
  minVersion: 0,
  maxVersion: 7,
  async handle(req, ctx) {
    const counts = new Map<string, number>();
    for (const t of req.topics) counts.set(t.name, (counts.get(t.name) ?? 0) + 1);
    const topics: Result[] = [];
    for (const t of req.topics) {
      if (counts.get(t.name)! > 1) topics.push(failed(t.name, ErrorCode.INVALID_REQUEST, `topic ${t.name} appears more than once in the request`));
      else topics.push(await createOne(t, req.validateOnly, ctx));
    }
    return { ...defaultCreateTopicsResponse(), throttleTimeMs: 0, topics };
  },
});

function failed(name: string, errorCode: number, message: string): Result {
  return { ...defaultCreateTopicsResponseCreatableTopicResult(), name, errorCode, errorMessage: message, configs: null };
}

async function createOne(t: CreateTopicsRequestCreatableTopic, validateOnly: boolean, ctx: RequestContext): Promise<Result> {
  const nodeId = ctx.broker.nodeId;
  const live = ctx.broker.brokerEndpoints(ctx.door.advertised).length;
  if (t.replicationFactor !== -1 && (t.replicationFactor < 1 || t.replicationFactor > live) && t.assignments.length === 0) {
    return failed(t.name, ErrorCode.INVALID_REPLICATION_FACTOR, `replication factor ${t.replicationFactor} is larger than the ${live} available broker${live === 1 ? "" : "s"}`);
  }
  if (t.assignments.length > 0 && ctx.broker.cluster !== null) {
    return failed(t.name, ErrorCode.INVALID_REPLICA_ASSIGNMENT, "manual replica assignment is not supported in cluster mode; give a replication factor");
  }
  let partitions: number | null = t.numPartitions === -1 ? null : t.numPartitions;
  if (t.assignments.length > 0) {
    if (t.numPartitions !== -1 || t.replicationFactor !== -1) {
      return failed(t.name, ErrorCode.INVALID_REQUEST, "both numPartitions or replicationFactor and manual partition assignment were set");
    }
    const indexes = t.assignments.map((a) => a.partitionIndex).sort((a, b) => a - b);
    if (indexes.some((p, i) => p !== i)) return failed(t.name, ErrorCode.INVALID_REPLICA_ASSIGNMENT, "partitions must be numbered 0..n-1");
    if (t.assignments.some((a) => a.brokerIds.length !== 1 || a.brokerIds[0] !== nodeId)) {
      return failed(t.name, ErrorCode.INVALID_REPLICA_ASSIGNMENT, `every partition must have exactly one replica, on broker ${nodeId}`);
    }
    partitions = t.assignments.length;
  }
  const configs: Record<string, string> = {};
  for (const c of t.configs) {
    if (c.value === null) return failed(t.name, ErrorCode.INVALID_CONFIG, `config ${c.name} has a null value`);
    configs[c.name] = c.value;
  }
  try {
    const topic = await ctx.broker.createTopic(t.name, partitions, configs, { validateOnly, replicationFactor: t.replicationFactor === -1 ? null : t.replicationFactor });
    return describe(t.name, topic, partitions ?? ctx.broker.config.defaultPartitions, ctx);
  } catch (err) {
    if (!(err instanceof CoreError)) throw err;
    return failed(t.name, kafkaErrorCode(err), errorMessage(err));
  }
}

function describe(name: string, topic: Topic | undefined, partitions: number, ctx: RequestContext): Result {
  return {
    ...defaultCreateTopicsResponseCreatableTopicResult(),
    name,
    topicId: topic?.topicId ?? new Uint8Array(16),
    errorCode: 0,
    errorMessage: null,
    numPartitions: partitions,
    replicationFactor: 1,
    configs: ctx.apiVersion >= 5 && topic
      ? describeTopicConfigs(topic).map((c) => ({ name: c.name, value: c.value, readOnly: false, configSource: c.source, isSensitive: false }))
      : null,
  };
}
