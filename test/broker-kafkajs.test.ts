// kafkajs 2.2.4 (an independent Kafka client, pure JS) against the compiled broker. Issue #3.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { CompressionTypes, Kafka, logLevel } from "kafkajs";
import { type BrokerProcess, kcat, removeDir, startBroker } from "./harness.ts";

let broker: BrokerProcess;
let kafka: Kafka;

beforeAll(async () => {
  broker = await startBroker();
  kafka = new Kafka({ clientId: "streamctl-test", brokers: [broker.kafka], logLevel: logLevel.NOTHING, retry: { retries: 2 } });
});

afterAll(async () => {
  expect(await broker.stop()).toBe(0);
  removeDir(broker.dataDir);
});

describe("kafkajs admin", () => {
  test("createTopics, fetchTopicOffsets, deleteTopics", async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      expect(await admin.createTopics({ topics: [{ topic: "kjs-admin", numPartitions: 3 }], waitForLeaders: true })).toBe(true);
      // Creating it again reports "already exists" as false, not an error.
      expect(await admin.createTopics({ topics: [{ topic: "kjs-admin", numPartitions: 3 }] })).toBe(false);
      expect(await admin.listTopics()).toContain("kjs-admin");
      const offsets = await admin.fetchTopicOffsets("kjs-admin");
      expect(offsets.map((o) => o.partition).sort()).toEqual([0, 1, 2]);
      for (const o of offsets) expect([o.low, o.high, o.offset]).toEqual(["0", "0", "0"]);
      await expect(admin.createTopics({ topics: [{ topic: "bad/name", numPartitions: 1 }] })).rejects.toThrow();
      await admin.deleteTopics({ topics: ["kjs-admin"] });
      expect(await admin.listTopics()).not.toContain("kjs-admin");
    } finally {
      await admin.disconnect();
    }
  });
});

describe("kafkajs producer", () => {
  test.each([
    [-1, CompressionTypes.GZIP],
    [1, CompressionTypes.GZIP],
    [-1, CompressionTypes.None],
  ])("acks=%p codec=%p: offsets are assigned in order and kcat reads every record", async (acks, compression) => {
    const topic = `kjs-produce-${acks}-${compression}`;
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });
    await admin.disconnect();

    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const sent: string[] = [];
    let expectedOffset = 0;
    for (let b = 0; b < 10; b++) {
      const messages = Array.from({ length: 100 }, (_, i) => {
        const value = `m-${b}-${i}`;
        sent.push(value);
        return { key: `k${i % 3}`, value, headers: { h: `v${b}` }, partition: 1, timestamp: String(1_700_000_000_000 + b) };
      });
      const [meta] = await producer.send({ topic, acks, compression, messages });
      expect(meta!.errorCode).toBe(0);
      expect(meta!.partition).toBe(1);
      expect(meta!.baseOffset).toBe(String(expectedOffset));
      expectedOffset += 100;
    }
    await producer.disconnect();

    const out = await kcat(broker.kafka, ["-C", "-t", topic, "-p", "1", "-o", "beginning", "-e", "-f", "%k|%s|%h|%T\n"]);
    const rows = out.stdout.trimEnd().split("\n");
    expect(rows).toHaveLength(1000);
    rows.forEach((row, n) => {
      const b = Math.floor(n / 100);
      const i = n % 100;
      expect(row).toBe(`k${i % 3}|${sent[n]}|h=v${b}|${1_700_000_000_000 + b}`);
    });
  });
});
