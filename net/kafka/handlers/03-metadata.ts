// Metadata (key 3), v0-12. A single node (0) leads every partition and is the controller; in
// cluster mode the brokers, controller, leaders, epochs, replicas and ISR are the cluster's
// (core/broker/cluster.ts), and a partition without a leader answers LEADER_NOT_AVAILABLE.
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
//   The sets are the principal's own (core/broker/auth.ts authorizedOperations).
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
import type { TopicAssignment } from "../../../core/broker/cluster.ts";
import { allowedBits, OPERATIONS_NOT_REQUESTED } from "../acl-operations.ts";
import { CLUSTER } from "../../../core/broker/auth.ts";
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
    const live = new Set<number>();
    const brokers = broker.brokerEndpoints({ host: advertisedHost(ctx), port: ctx.door.advertised.port }).map((b) => {
      live.add(b.id);
      return { nodeId: b.id, host: b.id === broker.nodeId ? advertisedHost(ctx) : b.host, port: b.id === broker.nodeId ? ctx.door.advertised.port : b.port, rack: null };
    });
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
      for (const t of broker.topicAssignments()) topics.push(describeTopic(t, live));
    } else {
      for (const wanted of req.topics ?? []) {
        topics.push(await lookup(wanted.name, wanted.topicId, allowCreate, ctx, live));
      }
    }
    return {
      ...defaultMetadataResponse(),
      throttleTimeMs: 0,
      brokers,
      clusterId: broker.clusterId,
      controllerId: broker.controllerId(),
      topics: topicOperations(req, topics, ctx),
      clusterAuthorizedOperations:
        ctx.apiVersion >= 8 && ctx.apiVersion <= 10 && req.includeClusterAuthorizedOperations ? allowedBits(ctx, CLUSTER) : OPERATIONS_NOT_REQUESTED,
    };
  },
});

/** Sets topic_authorized_operations on each named topic (found or not, as Kafka) when the request asks. */
function topicOperations(req: MetadataRequest, topics: MetadataResponseTopic[], ctx: RequestContext): MetadataResponseTopic[] {
  if (ctx.apiVersion < 8 || !req.includeTopicAuthorizedOperations) return topics;
  for (const t of topics) {
    if (t.name !== null) t.topicAuthorizedOperations = allowedBits(ctx, { type: "TOPIC", name: t.name });
  }
  return topics;
}

async function lookup(name: string | null, topicId: Uint8Array, allowCreate: boolean, ctx: RequestContext, live: Set<number>): Promise<MetadataResponseTopic> {
  const broker = ctx.broker;
  if (name === null) {
    const t = broker.topicAssignments().find((a) => sameBytes(a.topicId, topicId));
    if (t) return describeTopic(t, live);
    return { ...defaultMetadataResponseTopic(), errorCode: ErrorCode.UNKNOWN_TOPIC_ID, name: null, topicId };
  }
  try {
    const known = broker.topicAssignment(name);
    if (known) return describeTopic(known, live);
    await broker.topicOrCreate(name, allowCreate);
    const created = broker.topicAssignment(name);
    if (created) return describeTopic(created, live);
    // Absent and not to be created, or still being created by another client (Kafka answers the
    // retriable LEADER_NOT_AVAILABLE for a topic it is creating).
    const creating = allowCreate && broker.config.autoCreateTopics;
    return { ...defaultMetadataResponseTopic(), errorCode: creating ? ErrorCode.LEADER_NOT_AVAILABLE : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, name };
  } catch (err) {
    return { ...defaultMetadataResponseTopic(), errorCode: kafkaErrorCode(err), name };
  }
}

function describeTopic(t: TopicAssignment, live: Set<number>): MetadataResponseTopic {
  return {
    ...defaultMetadataResponseTopic(),
    errorCode: 0,
    name: t.name,
    topicId: t.topicId ?? NIL_UUID,
    // Cluster mode keeps committed offsets in Kafka's internal topic (net/cluster/offsets.ts).
    isInternal: t.name === "__consumer_offsets" || t.name === "__transaction_state",
    partitions: t.partitions.map((p) => ({
      ...defaultMetadataResponsePartition(),
      errorCode: p.leader < 0 ? ErrorCode.LEADER_NOT_AVAILABLE : 0,
      partitionIndex: p.partition,
      leaderId: p.leader,
      leaderEpoch: p.leaderEpoch,
      replicaNodes: [...p.replicas],
      isrNodes: [...p.isr],
      offlineReplicas: p.replicas.filter((id) => !live.has(id)),
    })),
  };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

export function advertisedHost(ctx: RequestContext): string {
  const host = ctx.door.advertised.host;
  if (host === "0.0.0.0" || host === "::" || host === "") return ctx.localAddress.replace(/^::ffff:/, "");
  return host;
}
