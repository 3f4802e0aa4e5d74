// Metadata (key 3), v0-12. One broker (node 0) leads every partition and is the controller.
// - null topics (v1+) or an empty array (v0) means every topic.
// - An unknown topic is created when the broker allows it (auto-create, on by default as in
//   Kafka) and the request allows it (AllowAutoTopicCreation, v4+; always on before v4).
// - An invalid name answers INVALID_TOPIC_EXCEPTION; v10+ carries topic IDs; v12 may ask by ID.
// - A topic kept unopened because its topic.json is damaged (core/topics/topic-store.ts): asked
//   by name, it answers KAFKA_STORAGE_ERROR (56) with no partitions and is never auto-created
//   over; an all-topics request leaves it out, because clients such as kafkajs fail the whole
//   request on any topic-level error (one damaged topic must not hide every other one).
// - The advertised host is the listener's, or the address the client connected to when the
//   listener is a wildcard (0.0.0.0 / ::), so clients always get an address they can reach.
import { CoreError } from "../../../core/errors.ts";
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
import { kafkaErrorCode } from "../errors.ts";
import { defineHandler, type RequestContext } from "../handler.ts";
import { topicById } from "../topic-lookup.ts";

const NIL_UUID = new Uint8Array(16);

export const metadataHandler = defineHandler<MetadataRequest, MetadataResponse>({
  api: Metadata,
  minVersion: 0,
  maxVersion: 12,
  async handle(req, ctx) {
    const { broker } = ctx;
    const wantsAll = req.topics === null || (ctx.apiVersion === 0 && req.topics.length === 0);
    const allowCreate = broker.options.autoCreateTopics && (ctx.apiVersion < 4 || req.allowAutoTopicCreation);
    const topics: MetadataResponseTopic[] = [];
    if (wantsAll) {
      for (const t of broker.store.topics()) topics.push(describeTopic(t, ctx));
    } else {
      for (const wanted of req.topics ?? []) {
        topics.push(await lookup(wanted.name, wanted.topicId, allowCreate, ctx));
      }
    }
    return {
      ...defaultMetadataResponse(),
      throttleTimeMs: 0,
      brokers: [{ nodeId: broker.nodeId, host: advertisedHost(ctx), port: broker.listener.port, rack: null }],
      clusterId: broker.clusterId,
      controllerId: broker.nodeId,
      topics,
    };
  },
});

/** How long a Metadata auto-create waits for another client's create of the same topic. */
const CREATE_IN_FLIGHT_WAIT_MS = 1000;

async function lookup(name: string | null, topicId: Uint8Array, allowCreate: boolean, ctx: RequestContext): Promise<MetadataResponseTopic> {
  const store = ctx.broker.store;
  if (name === null) {
    const t = topicById(store, topicId);
    if (t) return describeTopic(t, ctx);
    return { ...defaultMetadataResponseTopic(), errorCode: ErrorCode.UNKNOWN_TOPIC_ID, name: null, topicId };
  }
  const existing = store.topic(name);
  if (existing) return describeTopic(existing, ctx);
  if (store.damagedTopic(name) !== undefined) return { ...defaultMetadataResponseTopic(), errorCode: ErrorCode.KAFKA_STORAGE_ERROR, name, topicId: NIL_UUID };
  if (!allowCreate) return { ...defaultMetadataResponseTopic(), errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, name };
  try {
    const created = await store.createTopic(name, ctx.broker.options.defaultPartitions);
    ctx.broker.log.info(`created topic ${name} with ${created.partitions.length} partition(s) on first use`);
    return describeTopic(created, ctx);
  } catch (err) {
    if (err instanceof CoreError && err.code === "TOPIC_EXISTS") {
      // Another client's create of it is in flight (it takes several turns of the event loop):
      // wait for it rather than answer a non-retriable TOPIC_ALREADY_EXISTS (issue #7) — for a
      // while: a create of thousands of partitions takes seconds, and the retriable
      // LEADER_NOT_AVAILABLE below is what Kafka answers for a topic still being created.
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([store.settled(name), new Promise<void>((resolve) => (timer = setTimeout(resolve, CREATE_IN_FLIGHT_WAIT_MS)))]);
      clearTimeout(timer);
      const raced = store.topic(name);
      if (raced) return describeTopic(raced, ctx);
      return { ...defaultMetadataResponseTopic(), errorCode: ErrorCode.LEADER_NOT_AVAILABLE, name };
    }
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
  const host = ctx.broker.listener.host;
  if (host === "0.0.0.0" || host === "::" || host === "") return ctx.localAddress.replace(/^::ffff:/, "");
  return host;
}
