// kafkajs 2.2.4's admin client against the compiled broker (issue #21): the admin calls real tools
// make — createPartitions, deleteTopicRecords, alterConfigs, describeConfigs, listGroups,
// fetchTopicOffsetsByTimestamp — each checked through another client path (a producer, a consumer,
// kcat, a restart) rather than by its own answer alone.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ConfigResourceTypes, Kafka, logLevel } from "kafkajs";
import { type BrokerProcess, kcat, removeDir, startBroker } from "./harness.ts";

let broker: BrokerProcess;
let kafka: Kafka;

beforeAll(async () => {
  broker = await startBroker();
  kafka = new Kafka({ clientId: "streamctl-admin-test", brokers: [broker.kafka], logLevel: logLevel.NOTHING, retry: { retries: 2 } });
});

afterAll(async () => {
  expect(await broker.stop()).toBe(0);
  removeDir(broker.dataDir);
});

async function withAdmin<T>(fn: (admin: ReturnType<Kafka["admin"]>) => Promise<T>): Promise<T> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect();
  }
}

async function produce(topic: string, messages: Array<{ value: string; partition?: number; timestamp?: string }>): Promise<void> {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages });
  } finally {
    await producer.disconnect();
  }
}

describe("kafkajs admin (issue #21)", () => {
  test("createPartitions grows a topic; the new partition takes records kcat reads back; shrinking is refused", async () => {
    const topic = "kjs-grow";
    await withAdmin(async (admin) => {
      await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
      await admin.createPartitions({ topicPartitions: [{ topic, count: 3 }] });
      const meta = await admin.fetchTopicMetadata({ topics: [topic] });
      expect(meta.topics[0]!.partitions.map((p) => p.partitionId).sort()).toEqual([0, 1, 2]);
      await expect(admin.createPartitions({ topicPartitions: [{ topic, count: 2 }] })).rejects.toThrow(/partitions/i);
    });
    await produce(topic, [{ value: "in partition two", partition: 2 }]);
    const read = await kcat(broker.kafka, ["-C", "-t", topic, "-p", "2", "-o", "beginning", "-e"]);
    expect([read.code, read.stdout]).toEqual([0, "in partition two\n"]);
  });

  test("deleteTopicRecords moves the earliest offset; consumers start there", async () => {
    const topic = "kjs-delete-records";
    await withAdmin(async (admin) => {
      await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });
      await produce(topic, Array.from({ length: 10 }, (_, i) => ({ value: `r${i}`, partition: 0 })));
      await produce(topic, [{ value: "x", partition: 1 }, { value: "y", partition: 1 }]);
      // kafkajs looks leaders up in the metadata it holds, which predates the topic.
      await admin.fetchTopicMetadata({ topics: [topic] });
      await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: "6" }, { partition: 1, offset: "-1" }] });
      const offsets = (await admin.fetchTopicOffsets(topic)).sort((a, b) => a.partition - b.partition);
      expect(offsets.map((o) => [o.partition, o.low, o.high])).toEqual([
        [0, "6", "10"],
        [1, "2", "2"],
      ]);
      await expect(admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: "11" }] })).rejects.toThrow();
    });
    // A consumer from the beginning starts at the new log start (librdkafka skips the records of
    // the first batch below the offset it asked for).
    const read = await kcat(broker.kafka, ["-C", "-t", topic, "-p", "0", "-o", "beginning", "-e", "-f", "%o %s\n"]);
    expect([read.code, read.stdout]).toEqual([0, "6 r6\n7 r7\n8 r8\n9 r9\n"]);
  });

  test("alterConfigs replaces topic configs, as describeConfigs reads them back", async () => {
    const topic = "kjs-configs";
    await withAdmin(async (admin) => {
      await admin.createTopics({ topics: [{ topic, numPartitions: 1, configEntries: [{ name: "segment.ms", value: "60000" }] }] });
      await admin.alterConfigs({
        validateOnly: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: "retention.ms", value: "3600000" }, { name: "cleanup.policy", value: "compact" }] }],
      });
      const described = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }] });
      const entries = Object.fromEntries(described.resources[0]!.configEntries.map((e) => [e.configName, [e.configValue, e.isDefault]]));
      // The legacy AlterConfigs replaces the whole set: segment.ms, not named, is back to its default.
      expect(entries["retention.ms"]).toEqual(["3600000", false]);
      expect(entries["cleanup.policy"]).toEqual(["compact", false]);
      expect(entries["segment.ms"]).toEqual(["604800000", true]);
      await expect(
        admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: "retention.ms", value: "soon" }] }] }),
      ).rejects.toThrow();
      const only = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ["retention.ms"] }] });
      expect(only.resources[0]!.configEntries.map((e) => [e.configName, e.configValue])).toEqual([["retention.ms", "3600000"]]);
    });
  });

  test("listGroups reports a consumer group whose members left as protocol type consumer", async () => {
    const topic = "kjs-groups";
    const groupId = "kjs-empty-consumer-group";
    await withAdmin((admin) => admin.createTopics({ topics: [{ topic, numPartitions: 1 }] }));
    await produce(topic, [{ value: "one" }, { value: "two" }]);
    const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 500 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    let seen = 0;
    const done = new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async () => {
          if (++seen === 2) resolve();
        },
      });
    });
    await done;
    await consumer.disconnect(); // commits, then leaves: the group is Empty, with its offsets
    const listed = await withAdmin((admin) => admin.listGroups());
    expect(listed.groups.find((g) => g.groupId === groupId)).toEqual({ groupId, protocolType: "consumer" });
    const described = await withAdmin((admin) => admin.describeGroups([groupId]));
    expect([described.groups[0]!.state, described.groups[0]!.protocolType]).toEqual(["Empty", "consumer"]);
  });

  test("fetchTopicOffsetsByTimestamp: the first offset at or after the time in each partition, the end when none is", async () => {
    const topic = "kjs-times";
    const t0 = 1_700_000_000_000;
    await withAdmin((admin) => admin.createTopics({ topics: [{ topic, numPartitions: 2 }] }));
    await produce(topic, Array.from({ length: 10 }, (_, i) => ({ value: `a${i}`, partition: 0, timestamp: String(t0 + i * 1000) })));
    await produce(topic, Array.from({ length: 4 }, (_, i) => ({ value: `b${i}`, partition: 1, timestamp: String(t0 + i * 100) })));
    const at = await withAdmin((admin) => admin.fetchTopicOffsetsByTimestamp(topic, t0 + 4500));
    expect(at.sort((a, b) => a.partition - b.partition)).toEqual([
      { partition: 0, offset: "5" },
      { partition: 1, offset: "4" },
    ]);
    const start = await withAdmin((admin) => admin.fetchTopicOffsetsByTimestamp(topic, t0));
    expect(start.sort((a, b) => a.partition - b.partition).map((o) => o.offset)).toEqual(["0", "0"]);
  });
});
