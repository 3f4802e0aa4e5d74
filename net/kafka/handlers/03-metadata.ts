// Metadata (key 3), v0-12. One broker (node 0) leads every partition and is the controller.
// - null topics (v1+) or an empty array (v0) means every topic.
// - An unknown topic is created when the broker allows it (auto-create, on by default as in
//   Kafka) and the request allows it (AllowAutoTopicCreation, v4+; always on before v4).
// - An invalid name answers INVALID_TOPIC_EXCEPTION; v10+ carries topic IDs; v12 may ask by ID
//   (a null name before v12 is INVALID_REQUEST for every topic asked, as Kafka's KafkaApis).
// - A topic kept unopened because its topic.json is damaged (core/topics/topic-store.ts): asked
//   by name, it answers KAFKA_STORAGE_ERROR (56) with no partitions and is never auto-created
//   over; an all-topics request leaves it out, because clients such as kafkajs fail the whole
//   request on any topic-level error (one damaged topic must not hide every other one).
// - v8+: include_topic_authorized_operations (KIP-430) → each named topic gets the core's allowed
//   topic operations as a bit field; v8-10: include_cluster_authorized_operations → the cluster's
//   (v11 moved that to DescribeCluster). Not asked: INT32_MIN, the schema's default, as Kafka.
//   While there is no authorizer the core allows every operation the resource type supports.
// - The advertised host is the listener's, or the address the client connected to when the
//   listener is a wildcard (0.0.0.0 / ::), so clients always get an address they can reach.
import { ErrorCode } from "../../protocol/errors.ts";
import {
  Metadata,
  type MetadataRequest,
  type MetadataResponse,
  type MetadataResponseTopic,
  defaultMetadataResponse,
  defaultMetadataResponseTopic,
  defaultMetadataResponsePartition,
} from "../../protocol/messages/index.ts";
import type { Topic } from "../../../core/topics/topic-store.ts";
import { OPERATIONS_NOT_REQUESTED, operationBits } from "../acl-operations.ts";
import { kafkaErrorCode } from "../errors.ts";
import { defineHandler, type RequestContext } from "../handler.ts";

const NIL_UUID = new Uint8Array(16);

export const metadataHandler = defineHandler<MetadataRequest, MetadataResponse>({
  api: Metadata,
  minVersion: 0,
  maxVersion: 12,
  async handle(req, ctx) {
    const { broker } = ctx;
    const wantsAll = req.topics === null || (ctx.apiVersion === 0 && req.topics.length === 0);
    const allowCreate = ctx.apiVersion < 4 || req.allowAutoTopicCreation;
    const topics: MetadataResponseTopic[] = [];
    if (!wantsAll && ctx.apiVersion < 12 && (req.topics ?? []).some((t) => t.name === null)) {
      // Kafka: "Topic name can not be null for version n" (an InvalidRequestException, answered
      // with MetadataRequest.getErrorResponse: every topic INVALID_REQUEST, a null name as "").
      return {
        ...defaultMetadataResponse(),
        throttleTimeMs: 0,
        topics: (req.topics ?? []).map((t) => ({ ...defaultMetadataResponseTopic(), errorCode: ErrorCode.INVALID_REQUEST, name: t.name ?? "", topicId: t.topicId })),
      };
    }
    if (wantsAll) {
      for (const t of broker.topics()) topics.push(describeTopic(t, ctx));
    } else {
      for (const wanted of req.topics ?? []) {
        topics.push(await lookup(wanted.name, wanted.topicId, allowCreate, ctx));
      }
    }
    return {
      ...defaultMetadataResponse(),
      throttleTimeMs: 0,
      brokers: [{ nodeId: broker.nodeId, host: advertisedHost(ctx), port: ctx.door.advertised.port, rack: null }],
      clusterId: broker.clusterId,
      controllerId: broker.nodeId,
      topics: topicOperations(req, topics, ctx),
      clusterAuthorizedOperations:
        ctx.apiVersion >= 8 && ctx.apiVersion <= 10 && req.includeClusterAuthorizedOperations ? operationBits(broker.authorizedOperations("cluster", broker.clusterId)) : OPERATIONS_NOT_REQUESTED,
    };
  },
});

/** Sets topic_authorized_operations on each named topic (found or not, as Kafka) when the request asks. */
function topicOperations(req: MetadataRequest, topics: MetadataResponseTopic[], ctx: RequestContext): MetadataResponseTopic[] {
  if (ctx.apiVersion < 8 || !req.includeTopicAuthorizedOperations) return topics;
  for (const t of topics) {
    if (t.name !== null) t.topicAuthorizedOperations = operationBits(ctx.broker.authorizedOperations("topic", t.name));
  }
  return topics;
}

async function lookup(name: string | null, topicId: Uint8Array, allowCreate: boolean, ctx: RequestContext): Promise<MetadataResponseTopic> {
  const broker = ctx.broker;
  if (name === null) {
    const t = broker.topicById(topicId);
    if (t) return describeTopic(t, ctx);
    return { ...defaultMetadataResponseTopic(), errorCode: ErrorCode.UNKNOWN_TOPIC_ID, name: null, topicId };
  }
  try {
    const topic = await broker.topicOrCreate(name, allowCreate);
    if (topic) return describeTopic(topic, ctx);
    // Absent and not to be created, or still being created by another client (Kafka answers the
    // retriable LEADER_NOT_AVAILABLE for a topic it is creating).
    const creating = allowCreate && broker.config.autoCreateTopics;
    return { ...defaultMetadataResponseTopic(), errorCode: creating ? ErrorCode.LEADER_NOT_AVAILABLE : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, name };
  } catch (err) {
    return { ...defaultMetadataResponseTopic(), errorCode: kafkaErrorCode(err), name };
  }
}

function describeTopic(t: Topic, ctx: RequestContext): MetadataResponseTopic {
  const nodeId = ctx.broker.nodeId;
  return {
    ...defaultMetadataResponseTopic(),
    errorCode: 0,
    name: t.name,
    topicId: t.topicId ?? NIL_UUID,
    isInternal: false,
    partitions: t.partitions.map((_, i) => ({
      ...defaultMetadataResponsePartition(),
      errorCode: 0,
      partitionIndex: i,
      leaderId: nodeId,
      leaderEpoch: 0,
      replicaNodes: [nodeId],
      isrNodes: [nodeId],
      offlineReplicas: [],
    })),
  };
}

export function advertisedHost(ctx: RequestContext): string {
  const host = ctx.door.advertised.host;
  if (host === "0.0.0.0" || host === "::" || host === "") return ctx.localAddress.replace(/^::ffff:/, "");
  return host;
}
