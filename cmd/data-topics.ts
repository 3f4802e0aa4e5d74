// Topics the writing commands (produce, replay --to-topic, copy) write into: created on first use
// the way the broker allows, and — when the records carry their partitions — with enough
// partitions to keep every record in the partition it came from (issue #22: a copy of a
// 3-partition topic into a new one failed at the first record of partition 1).
//
// Creating: Metadata without auto-creation first. An unknown topic is then created only where the
// broker creates topics on first use (its auto.create.topics.enable, read with DescribeConfigs), so
// a broker that says otherwise is told at once (`serve --no-auto-create`, or a Kafka with
// auto-creation off: it used to take 17.6 s of retries to say so):
//   - with a chosen partition count: CreateTopics;
//   - without one, or when the broker does not tell its setting: Metadata with auto-creation, as
//     any Kafka producer does (the broker's default partition count).
// Growing (a record for a partition past the end of a topic this command created): CreatePartitions
// where the broker has it; otherwise the record fails, as before.
import type { KafkaClient } from "../net/client/client.ts";
import { KafkaClientError, kafkaError } from "../net/client/errors.ts";
import { UnsupportedApiError } from "../net/client/versions.ts";
import { ErrorCode } from "../net/protocol/errors.ts";
import { CreatePartitions, CreateTopics, DescribeConfigs } from "../net/protocol/messages/index.ts";

const RESOURCE_BROKER = 4;
/** How long the broker may take to create a topic or partitions before it answers. */
const CREATE_TIMEOUT_MS = 10_000;

export interface WritableTopic {
  partitions: number;
  /** This call created it (so growing it keeps a copy's shape, and changes no one else's topic). */
  created: boolean;
}

/** The topic's partition count, creating it if missing (see the top); `partitions` null: the broker's default. */
export async function topicForWriting(client: KafkaClient, topic: string, partitions: number | null): Promise<WritableTopic> {
  try {
    return { partitions: (await client.topic(topic, { autoCreate: false })).partitions.length, created: false };
  } catch (err) {
    if (!(err instanceof KafkaClientError) || err.code !== ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) throw err;
  }
  const allowed = await autoCreateAllowed(client);
  if (allowed === false) throw new KafkaClientError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${topic} does not exist, and the broker does not create topics on first use`);
  if (allowed === null || partitions === null) {
    const info = await client.topic(topic, { autoCreate: true });
    return { partitions: info.partitions.length, created: true };
  }
  const count = Math.max(1, partitions!);
  const meta = await client.refreshMetadata([], false);
  const conn = meta.controllerId >= 0 ? await client.nodeConnection(meta.controllerId) : await client.anyConnection();
  const res = await conn.request(CreateTopics, {
    topics: [{ name: topic, numPartitions: count, replicationFactor: -1, assignments: [], configs: [] }],
    timeoutMs: CREATE_TIMEOUT_MS,
    validateOnly: false,
  });
  const r = res.topics[0];
  const code = r?.errorCode ?? 0;
  if (code !== 0 && code !== ErrorCode.TOPIC_ALREADY_EXISTS) throw kafkaError(code, `create topic ${topic}`, r?.errorMessage);
  const info = await client.topic(topic, { autoCreate: false, refresh: true });
  return { partitions: info.partitions.length, created: code === 0 };
}

/**
 * Whether the cluster creates topics on first use: the controller's auto.create.topics.enable. Null
 * when it does not say (no DescribeConfigs, not authorized, not listed).
 */
async function autoCreateAllowed(client: KafkaClient): Promise<boolean | null> {
  try {
    const meta = await client.refreshMetadata([], false);
    const nodeId = meta.controllerId >= 0 ? meta.controllerId : (meta.brokers[0]?.nodeId ?? -1);
    if (nodeId < 0) return null;
    const conn = await client.nodeConnection(nodeId);
    if (!conn.supports(DescribeConfigs)) return null;
    const res = await conn.request(DescribeConfigs, {
      resources: [{ resourceType: RESOURCE_BROKER, resourceName: String(nodeId), configurationKeys: ["auto.create.topics.enable"] }],
      includeSynonyms: false,
      includeDocumentation: false,
    });
    const result = res.results[0];
    if (result === undefined || result.errorCode !== 0) return null;
    const value = result.configs.find((c) => c.name === "auto.create.topics.enable")?.value;
    return value === "true" ? true : value === "false" ? false : null;
  } catch (err) {
    if (err instanceof KafkaClientError || err instanceof UnsupportedApiError) return null;
    throw err;
  }
}

/**
 * Grows `topic` to `count` partitions with CreatePartitions. False when the broker cannot (no such
 * API); throws what the broker says otherwise.
 */
export async function growTopic(client: KafkaClient, topic: string, count: number): Promise<boolean> {
  const meta = await client.refreshMetadata([], false);
  const conn = meta.controllerId >= 0 ? await client.nodeConnection(meta.controllerId) : await client.anyConnection();
  if (!conn.supports(CreatePartitions)) return false;
  const res = await conn.request(CreatePartitions, {
    topics: [{ name: topic, count, assignments: null }],
    timeoutMs: CREATE_TIMEOUT_MS,
    validateOnly: false,
  });
  const r = res.results[0];
  const code = r?.errorCode ?? 0;
  if (code !== 0) throw kafkaError(code, `add partitions to ${topic}`, r?.errorMessage);
  await client.topic(topic, { autoCreate: false, refresh: true });
  return true;
}
