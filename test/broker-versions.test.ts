// Every version of every API the broker advertises, exercised once against the live binary with
// requests built by the generated codec: the answer must parse completely at that version and
// say what the request asked for. Issue #3 ("every advertised version of every API is exercised").
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { encodeRecordBatch } from "../core/batch/record-batch.ts";
import {
  ApiVersions, CreateTopics, DeleteTopics, DescribeConfigs, Fetch, FindCoordinator, InitProducerId, ListOffsets, Metadata, Produce,
  defaultInitProducerIdRequest,
  defaultApiVersionsRequest, defaultCreateTopicsRequest, defaultCreateTopicsRequestCreatableTopic, defaultDeleteTopicsRequest,
  defaultDescribeConfigsRequest, defaultFetchRequest, defaultFetchRequestFetchPartition, defaultFetchRequestFetchTopic,
  defaultFindCoordinatorRequest, defaultListOffsetsRequest, defaultMetadataRequest, defaultProduceRequest,
} from "../net/protocol/messages/index.ts";
import { ErrorCode } from "../net/protocol/errors.ts";
import { type BrokerProcess, removeDir, startBroker } from "./harness.ts";
import { RawConnection } from "./raw-kafka.ts";

let broker: BrokerProcess;
let conn: RawConnection;
let topicId: Uint8Array;
const TOPIC = "versions";
const enc = new TextEncoder();

beforeAll(async () => {
  broker = await startBroker();
  conn = await RawConnection.open(broker.kafka);
  const md = await conn.request(Metadata, 12, { ...defaultMetadataRequest(), topics: [{ topicId: new Uint8Array(16), name: TOPIC }], allowAutoTopicCreation: true });
  expect(md.topics[0]!.errorCode).toBe(0);
  topicId = md.topics[0]!.topicId;
});

afterAll(async () => {
  conn.close();
  expect(await broker.stop()).toBe(0);
  removeDir(broker.dataDir);
});

async function advertised(): Promise<Map<number, [number, number]>> {
  const res = await conn.request(ApiVersions, 3, { ...defaultApiVersionsRequest(), clientSoftwareName: "raw", clientSoftwareVersion: "1" });
  expect(res.errorCode).toBe(0);
  return new Map(res.apiKeys.map((k) => [k.apiKey, [k.minVersion, k.maxVersion]]));
}

function versions(range: [number, number] | undefined): number[] {
  if (!range) return [];
  return Array.from({ length: range[1] - range[0] + 1 }, (_, i) => range[0] + i);
}

// Test cases are made before beforeAll runs: a short-lived broker tells which versions to cover.
const ranges = await (async () => {
  const b = await startBroker();
  const c = await RawConnection.open(b.kafka);
  const res = await c.request(ApiVersions, 3, { ...defaultApiVersionsRequest(), clientSoftwareName: "raw", clientSoftwareVersion: "1" });
  c.close();
  await b.stop();
  removeDir(b.dataDir);
  return new Map(res.apiKeys.map((k) => [k.apiKey, [k.minVersion, k.maxVersion] as [number, number]]));
})();

describe("every advertised version answers in its own format", () => {

  test("librdkafka's feature probes are inside the advertised ranges", async () => {
    const r = await advertised();
    const has = (key: number, v: number) => r.has(key) && r.get(key)![0] <= v && v <= r.get(key)![1];
    expect(has(Produce.key, 0) && has(Produce.key, 3) && has(Produce.key, 7)).toBe(true);
    expect(has(Fetch.key, 0) && has(Fetch.key, 4) && has(Fetch.key, 10)).toBe(true);
    expect(has(FindCoordinator.key, 0)).toBe(true);
    expect(has(ApiVersions.key, 0) && has(ApiVersions.key, 3)).toBe(true);
  });

  test.each(versions(ranges.get(ApiVersions.key)))("ApiVersions v%d", async (v) => {
    const res = await conn.request(ApiVersions, v, { ...defaultApiVersionsRequest(), clientSoftwareName: "raw", clientSoftwareVersion: "1" });
    expect(res.errorCode).toBe(0);
    expect(res.apiKeys.find((k) => k.apiKey === Produce.key)).toBeDefined();
  });

  test.each(versions(ranges.get(Metadata.key)))("Metadata v%d", async (v) => {
    const res = await conn.request(Metadata, v, { ...defaultMetadataRequest(), topics: [{ topicId: new Uint8Array(16), name: TOPIC }] });
    expect(res.brokers).toHaveLength(1);
    expect(res.topics[0]!.name).toBe(TOPIC);
    expect(res.topics[0]!.partitions[0]!.leaderId).toBe(res.brokers[0]!.nodeId);
  });

  test.each(versions(ranges.get(Produce.key)))("Produce v%d", async (v) => {
    const records = encodeRecordBatch({ records: [{ key: enc.encode(`v${v}`), value: enc.encode(`produced at v${v}`) }] });
    const res = await conn.request(Produce, v, {
      ...defaultProduceRequest(),
      acks: -1,
      timeoutMs: 5000,
      topicData: [{ name: TOPIC, partitionData: [{ index: 0, records }] }],
    });
    const p = res.responses[0]!.partitionResponses[0]!;
    expect(p.errorCode).toBe(0);
    expect(p.baseOffset).toBeGreaterThanOrEqual(0n);
  });

  test.each(versions(ranges.get(Fetch.key)))("Fetch v%d", async (v) => {
    const res = await conn.request(Fetch, v, {
      ...defaultFetchRequest(),
      maxWaitMs: 0,
      minBytes: 0,
      topics: [{ ...defaultFetchRequestFetchTopic(), topic: TOPIC, topicId, partitions: [{ ...defaultFetchRequestFetchPartition(), partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }] }],
    });
    const p = res.responses[0]!.partitions[0]!;
    expect(p.errorCode).toBe(0);
    expect(p.highWatermark).toBeGreaterThan(0n);
    expect(p.records?.length ?? 0).toBeGreaterThan(0);
  });

  test.each(versions(ranges.get(ListOffsets.key)))("ListOffsets v%d", async (v) => {
    const res = await conn.request(ListOffsets, v, {
      ...defaultListOffsetsRequest(),
      replicaId: -1,
      topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n, maxNumOffsets: 1 }] }],
    });
    const p = res.topics[0]!.partitions[0]!;
    expect(p.errorCode).toBe(0);
    if (v === 0) expect(p.oldStyleOffsets[0]).toBeGreaterThan(0n);
    else expect(p.offset).toBeGreaterThan(0n);
  });

  test.each(versions(ranges.get(CreateTopics.key)))("CreateTopics v%d, then DescribeConfigs and DeleteTopics", async (v) => {
    const name = `created-v${v}`;
    const res = await conn.request(CreateTopics, v, {
      ...defaultCreateTopicsRequest(),
      timeoutMs: 5000,
      topics: [{ ...defaultCreateTopicsRequestCreatableTopic(), name, numPartitions: 2, replicationFactor: 1, configs: [{ name: "retention.ms", value: "3600000" }] }],
    });
    expect(res.topics[0]!.errorCode).toBe(0);
    const again = await conn.request(CreateTopics, v, {
      ...defaultCreateTopicsRequest(),
      topics: [{ ...defaultCreateTopicsRequestCreatableTopic(), name, numPartitions: 2, replicationFactor: 1 }],
    });
    expect(again.topics[0]!.errorCode).toBe(ErrorCode.TOPIC_ALREADY_EXISTS);
  });

  test.each(versions(ranges.get(DescribeConfigs.key)))("DescribeConfigs v%d", async (v) => {
    const res = await conn.request(DescribeConfigs, v, {
      ...defaultDescribeConfigsRequest(),
      resources: [{ resourceType: 2, resourceName: TOPIC, configurationKeys: null }],
    });
    expect(res.results[0]!.errorCode).toBe(0);
    const retention = res.results[0]!.configs.find((c) => c.name === "retention.ms");
    expect(retention?.value).toBe("604800000");
  });

  test.each(versions(ranges.get(DeleteTopics.key)))("DeleteTopics v%d", async (v) => {
    const name = `deleted-v${v}`;
    await conn.request(CreateTopics, 3, { ...defaultCreateTopicsRequest(), topics: [{ ...defaultCreateTopicsRequestCreatableTopic(), name, numPartitions: 1, replicationFactor: 1 }] });
    const res = await conn.request(DeleteTopics, v, {
      ...defaultDeleteTopicsRequest(),
      timeoutMs: 5000,
      topicNames: [name],
      topics: [{ name, topicId: new Uint8Array(16) }],
    });
    expect(res.responses[0]!.errorCode).toBe(0);
  });

  test.each(versions(ranges.get(FindCoordinator.key)))("FindCoordinator v%d", async (v) => {
    const res = await conn.request(FindCoordinator, v, { ...defaultFindCoordinatorRequest(), key: "g", keyType: 0, coordinatorKeys: ["g"] });
    if (v >= 4) expect(res.coordinators[0]!.errorCode).toBe(0);
    else expect(res.errorCode).toBe(0);
  });

  test.each(versions(ranges.get(InitProducerId.key)))("InitProducerId v%d", async (v) => {
    const res = await conn.request(InitProducerId, v, { ...defaultInitProducerIdRequest(), transactionalId: null, transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 });
    expect(res.errorCode).toBe(0);
    expect(res.producerId).toBeGreaterThanOrEqual(0n);
  });
});

describe("bad versions and APIs are answered as Kafka does", () => {
  test("ApiVersions at an unknown version: v0 answer with error 35 and our ApiVersions range", async () => {
    const c = await RawConnection.open(broker.kafka);
    // Header v2 (as a newer client writes it), then a body we cannot know: it must not matter.
    const frame = new Uint8Array([0, 0, 0, 17, 0, 18, 0, 99, 0, 0, 0, 7, 0, 4, 0x61, 0x62, 0x63, 0x64, 0, 0x42, 0x42]);
    const answer = await c.roundTripRaw(7, frame);
    expect(answer).not.toBeNull();
    const dv = new DataView(answer!.buffer, answer!.byteOffset);
    expect(dv.getInt32(4)).toBe(7); // correlation id
    expect(dv.getInt16(8)).toBe(ErrorCode.UNSUPPORTED_VERSION);
    expect(dv.getInt32(10)).toBe(1); // one api key
    expect([dv.getInt16(14), dv.getInt16(16), dv.getInt16(18)]).toEqual([18, 0, 3]);
    c.close();
  });

  test("an unknown API key closes the connection", async () => {
    const c = await RawConnection.open(broker.kafka);
    const answer = await c.roundTripRaw(9, new Uint8Array([0, 0, 0, 10, 0x03, 0xe7, 0, 0, 0, 0, 0, 9, 0xff, 0xff]));
    expect(answer).toBeNull();
    expect(c.isClosed).toBe(true);
  });

  test("Fetch v17 (above what we serve) closes the connection", async () => {
    const c = await RawConnection.open(broker.kafka);
    const answer = await c.roundTripRaw(11, new Uint8Array([0, 0, 0, 10, 0, 1, 0, 17, 0, 0, 0, 11, 0xff, 0xff]));
    expect(answer).toBeNull();
    c.close();
  });
});
