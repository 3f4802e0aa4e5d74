// The admin APIs of issue #21, in-process through the Kafka door, each at every version Kafka 3.8
// accepts: answers decode whole at that version and say what Kafka's would; effects are checked
// through other APIs (Metadata, Fetch, ListOffsets, OffsetFetch) and across a restart.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { ErrorCode } from "../protocol/errors.ts";
import { resolve } from "node:path";
import { encodeRecordBatch } from "../../core/batch/record-batch.ts";
import {
  AlterConfigs,
  CreatePartitions,
  DeleteRecords,
  DescribeConfigs,
  DescribeLogDirs,
  DescribeProducers,
  DescribeTopicPartitions,
  ElectLeaders,
  GetTelemetrySubscriptions,
  IncrementalAlterConfigs,
  InitProducerId,
  OffsetForLeaderEpoch,
  Fetch,
  ListOffsets,
  Metadata,
  OffsetDelete,
  OffsetFetch,
  defaultAlterConfigsRequest,
  defaultCreatePartitionsRequest,
  defaultDescribeConfigsRequest,
  defaultDescribeLogDirsRequest,
  defaultDescribeProducersRequest,
  defaultDescribeTopicPartitionsRequest,
  defaultElectLeadersRequest,
  defaultGetTelemetrySubscriptionsRequest,
  defaultInitProducerIdRequest,
  defaultOffsetForLeaderEpochRequest,
  defaultIncrementalAlterConfigsRequest,
  defaultDeleteRecordsRequest,
  defaultListOffsetsRequest,
  defaultMetadataRequest,
  defaultOffsetDeleteRequest,
  defaultOffsetFetchRequest,
} from "../protocol/messages/index.ts";
import { batchOf, commitOffsets, DoorHarness, fetchRequest, joinAndSync, valuesIn } from "../testing/kafka-door.ts";

let h: DoorHarness;
const GROUPS = { groups: { initialRebalanceDelayMs: 0 } };

beforeEach(async () => {
  h = await DoorHarness.open(GROUPS);
});

afterEach(async () => {
  await h.close();
});

async function partitionCount(topic: string): Promise<number> {
  const md = await h.call(Metadata, 12, { ...defaultMetadataRequest(), topics: [{ topicId: new Uint8Array(16), name: topic }], allowAutoTopicCreation: false });
  return md.topics[0]!.partitions.length;
}

async function earliest(topic: string, partition: number): Promise<number> {
  const res = await h.call(ListOffsets, 8, {
    ...defaultListOffsetsRequest(),
    replicaId: -1,
    topics: [{ name: topic, partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp: -2n, maxNumOffsets: 1 }] }],
  });
  return Number(res.topics[0]!.partitions[0]!.offset);
}

describe("CreatePartitions (key 37)", () => {
  const ask = (v: number, topics: Array<{ name: string; count: number; assignments?: Array<{ brokerIds: number[] }> | null }>, validateOnly = false) =>
    h.call(CreatePartitions, v, { ...defaultCreatePartitionsRequest(), timeoutMs: 5000, validateOnly, topics: topics.map((t) => ({ assignments: null, ...t })) });

  test.each([0, 1, 2, 3])("v%i: grows a topic durably; the new partitions take records", async (v) => {
    await h.createTopic("grow", 1);
    const res = await ask(v, [{ name: "grow", count: 3 }]);
    expect(res.results).toEqual([{ name: "grow", errorCode: 0, errorMessage: null }]);
    expect(await partitionCount("grow")).toBe(3);
    expect((await h.produce("grow", 2, batchOf(["in the new partition"]))).errorCode).toBe(0);
    await h.reopen(GROUPS);
    expect(await partitionCount("grow")).toBe(3);
    const fetched = await h.call(Fetch, 12, fetchRequest({ grow: [{ partition: 2, offset: 0 }] }));
    expect(valuesIn(fetched.responses[0]!.partitions[0]!.records)).toEqual(["in the new partition"]);
  });

  test("refusals per topic: shrink or same count, unknown topic, a topic twice, bad assignments; validate_only changes nothing", async () => {
    await h.createTopic("t", 2);
    await h.createTopic("u", 1);
    const res = await ask(3, [
      { name: "t", count: 1 },
      { name: "u", count: 1 },
      { name: "missing", count: 4 },
      { name: "twice", count: 2 },
      { name: "twice", count: 3 },
    ]);
    expect(res.results.map((r) => [r.name, r.errorCode])).toEqual([
      ["t", ErrorCode.INVALID_PARTITIONS],
      ["u", ErrorCode.INVALID_PARTITIONS],
      ["missing", ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      ["twice", ErrorCode.INVALID_REQUEST],
      ["twice", ErrorCode.INVALID_REQUEST],
    ]);
    expect(res.results[0]!.errorMessage).toContain("higher than the requested 1");
    const assigned = await ask(3, [{ name: "t", count: 4, assignments: [{ brokerIds: [0] }] }]);
    expect(assigned.results[0]!.errorCode).toBe(ErrorCode.INVALID_REPLICA_ASSIGNMENT);
    const otherBroker = await ask(3, [{ name: "t", count: 3, assignments: [{ brokerIds: [7] }] }]);
    expect(otherBroker.results[0]!.errorCode).toBe(ErrorCode.INVALID_REPLICA_ASSIGNMENT);
    const dry = await ask(3, [{ name: "t", count: 5 }], true);
    expect(dry.results[0]!.errorCode).toBe(0);
    expect(await partitionCount("t")).toBe(2);
    const good = await ask(3, [{ name: "t", count: 4, assignments: [{ brokerIds: [0] }, { brokerIds: [0] }] }]);
    expect(good.results[0]!.errorCode).toBe(0);
    expect(await partitionCount("t")).toBe(4);
  });
});

describe("DeleteRecords (key 21)", () => {
  const del = (v: number, topic: string, partitions: Array<[number, number]>) =>
    h.call(DeleteRecords, v, { ...defaultDeleteRecordsRequest(), timeoutMs: 5000, topics: [{ name: topic, partitions: partitions.map(([partitionIndex, offset]) => ({ partitionIndex, offset: BigInt(offset) })) }] });

  test.each([0, 1, 2])("v%i: the log start moves, Fetch and ListOffsets EARLIEST follow, and it survives a restart", async (v) => {
    await h.createTopic("old", 2);
    for (let i = 0; i < 5; i++) await h.produce("old", 0, batchOf([`a${i}`, `b${i}`]));
    await h.produce("old", 1, batchOf(["x", "y"]));
    const res = await del(v, "old", [
      [0, 5],
      [1, -1],
    ]);
    expect(res.topics[0]!.partitions.map((p) => [p.partitionIndex, p.errorCode, Number(p.lowWatermark)])).toEqual([
      [0, 0, 5],
      [1, 0, 2],
    ]);
    expect(await earliest("old", 0)).toBe(5);
    const below = await h.call(Fetch, 12, fetchRequest({ old: [{ partition: 0, offset: 4 }] }));
    expect(below.responses[0]!.partitions[0]!.errorCode).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
    const from = await h.call(Fetch, 12, fetchRequest({ old: [{ partition: 0, offset: 5 }] }));
    expect(from.responses[0]!.partitions[0]!.logStartOffset).toBe(5n);
    // A fetch from the start gets the batch holding it: records before the start ride along, as in Kafka.
    expect(valuesIn(from.responses[0]!.partitions[0]!.records)).toEqual(["a2", "b2", "a3", "b3", "a4", "b4"]);
    await h.reopen(GROUPS);
    expect(await earliest("old", 0)).toBe(5);
    expect(await earliest("old", 1)).toBe(2);
    // Deleting below the start changes nothing and answers the start.
    const again = await del(v, "old", [[0, 3]]);
    expect(Number(again.topics[0]!.partitions[0]!.lowWatermark)).toBe(5);
  });

  test("beyond the high watermark, below -1, unknown partitions, compact-only topics are refused per partition", async () => {
    await h.createTopic("short", 1);
    await h.createTopic("kept", 1, [{ name: "cleanup.policy", value: "compact" }]);
    await h.produce("short", 0, batchOf(["1", "2", "3"]));
    const res = await del(2, "short", [
      [0, 4],
      [0, -2],
      [9, 0],
    ]);
    expect(res.topics[0]!.partitions.map((p) => [p.errorCode, Number(p.lowWatermark)])).toEqual([
      [ErrorCode.OFFSET_OUT_OF_RANGE, -1],
      [ErrorCode.OFFSET_OUT_OF_RANGE, -1],
      [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1],
    ]);
    expect((await del(2, "nowhere", [[0, 0]])).topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect((await del(2, "kept", [[0, 0]])).topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.POLICY_VIOLATION);
    expect(await earliest("short", 0)).toBe(0);
    expect((await del(2, "short", [[0, 3]])).topics[0]!.partitions[0]).toMatchObject({ errorCode: 0, lowWatermark: 3n });
  });
});

describe("OffsetDelete (key 47)", () => {
  const del = (groupId: string, topics: Record<string, number[]>) =>
    h.call(OffsetDelete, 0, { ...defaultOffsetDeleteRequest(), groupId, topics: Object.entries(topics).map(([name, ps]) => ({ name, partitions: ps.map((partitionIndex) => ({ partitionIndex })) })) });
  const committed = async (groupId: string, topic: string, partitions: number[]) => {
    const res = await h.call(OffsetFetch, 7, { ...defaultOffsetFetchRequest(), groupId, topics: [{ name: topic, partitionIndexes: partitions }], requireStable: false });
    return res.topics[0]!.partitions.map((p) => Number(p.committedOffset));
  };

  test("a consumer group with members loses offsets of topics it does not subscribe to, keeps the others", async () => {
    await h.createTopic("read", 2);
    await h.createTopic("old", 2);
    const member = await joinAndSync(h, "g", { read: [0, 1] });
    expect(await commitOffsets(h, "g", member, { read: [[0, 5]], old: [[0, 7], [1, 8]] })).toEqual([0, 0, 0]);
    const res = await del("g", { read: [0], old: [0, 1], gone: [0] });
    expect(res.errorCode).toBe(0);
    expect(res.topics.map((t) => [t.name, t.partitions.map((p) => [p.partitionIndex, p.errorCode])])).toEqual([
      ["read", [[0, ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC]]],
      ["old", [[0, 0], [1, 0]]],
      ["gone", [[0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]],
    ]);
    expect(await committed("g", "old", [0, 1])).toEqual([-1, -1]);
    expect(await committed("g", "read", [0])).toEqual([5]);
    await h.reopen(GROUPS);
    expect(await committed("g", "old", [0, 1])).toEqual([-1, -1]);
    expect(await committed("g", "read", [0])).toEqual([5]);
  });

  test("an Empty group loses every partition named; unknown groups are GROUP_ID_NOT_FOUND", async () => {
    await h.createTopic("t", 1);
    expect(await commitOffsets(h, "simple", null, { t: [[0, 3]] })).toEqual([0]);
    expect((await del("simple", { t: [0] })).topics[0]!.partitions[0]!.errorCode).toBe(0);
    expect(await committed("simple", "t", [0])).toEqual([-1]);
    const unknown = await del("never", { t: [0] });
    expect([unknown.errorCode, unknown.topics]).toEqual([ErrorCode.GROUP_ID_NOT_FOUND, []]);
    expect((await del("", { t: [0] })).errorCode).toBe(ErrorCode.INVALID_GROUP_ID);
  });
});

describe("AlterConfigs (key 33) and IncrementalAlterConfigs (key 44)", () => {
  const TOPIC = 2;
  const BROKER = 4;
  const BROKER_LOGGER = 8;
  const [SET, DELETE, APPEND, SUBTRACT] = [0, 1, 2, 3];

  async function overrides(topic: string): Promise<Record<string, string>> {
    const res = await h.call(DescribeConfigs, 4, { ...defaultDescribeConfigsRequest(), resources: [{ resourceType: TOPIC, resourceName: topic, configurationKeys: null }], includeSynonyms: false, includeDocumentation: false });
    return Object.fromEntries(res.results[0]!.configs.filter((c) => c.configSource === 1).map((c) => [c.name, c.value ?? ""]));
  }
  const legacy = (v: number, resources: Array<{ resourceType: number; resourceName: string; configs: Record<string, string | null> }>, validateOnly = false) =>
    h.call(AlterConfigs, v, {
      ...defaultAlterConfigsRequest(),
      validateOnly,
      resources: resources.map((r) => ({ ...r, configs: Object.entries(r.configs).map(([name, value]) => ({ name, value })) })),
    });
  const incremental = (v: number, resources: Array<{ resourceType: number; resourceName: string; configs: Array<[string, number, string | null]> }>, validateOnly = false) =>
    h.call(IncrementalAlterConfigs, v, {
      ...defaultIncrementalAlterConfigsRequest(),
      validateOnly,
      resources: resources.map((r) => ({ ...r, configs: r.configs.map(([name, configOperation, value]) => ({ name, configOperation, value })) })),
    });
  const codes = (res: { responses: Array<{ resourceName: string; errorCode: number }> }) => res.responses.map((r) => [r.resourceName, r.errorCode]);

  test.each([0, 1, 2])("AlterConfigs v%i replaces the whole set of overrides, durably", async (v) => {
    await h.createTopic("t", 1, [{ name: "retention.ms", value: "1000" }, { name: "segment.ms", value: "2000" }]);
    const res = await legacy(v, [{ resourceType: TOPIC, resourceName: "t", configs: { "retention.ms": "5000", "cleanup.policy": "compact" } }]);
    expect(res.responses).toEqual([{ errorCode: 0, errorMessage: null, resourceType: TOPIC, resourceName: "t" }]);
    expect(await overrides("t")).toEqual({ "retention.ms": "5000", "cleanup.policy": "compact" });
    await h.reopen(GROUPS);
    expect(await overrides("t")).toEqual({ "retention.ms": "5000", "cleanup.policy": "compact" });
    expect(h.broker.topic("t")!.partitions[0]!.config.retentionMs).toBe(5000);
  });

  test.each([0, 1])("IncrementalAlterConfigs v%i: SET, DELETE, APPEND and SUBTRACT", async (v) => {
    await h.createTopic("t", 1, [{ name: "retention.ms", value: "1000" }, { name: "segment.ms", value: "2000" }]);
    const res = await incremental(v, [{ resourceType: TOPIC, resourceName: "t", configs: [["retention.ms", SET, "7000"], ["segment.ms", DELETE, null], ["cleanup.policy", APPEND, "compact"]] }]);
    expect(codes(res)).toEqual([["t", 0]]);
    // APPEND starts from the current value (the default, delete) and adds what is not there.
    expect(await overrides("t")).toEqual({ "retention.ms": "7000", "cleanup.policy": "compact,delete" });
    expect(codes(await incremental(v, [{ resourceType: TOPIC, resourceName: "t", configs: [["cleanup.policy", SUBTRACT, "delete"]] }]))).toEqual([["t", 0]]);
    expect(await overrides("t")).toEqual({ "retention.ms": "7000", "cleanup.policy": "compact" });
    await h.reopen(GROUPS);
    expect(await overrides("t")).toEqual({ "retention.ms": "7000", "cleanup.policy": "compact" });
  });

  test("validate_only, bad values, unknown keys and topics, list operations on non-lists: nothing changes", async () => {
    await h.createTopic("t", 1, [{ name: "retention.ms", value: "1000" }]);
    expect(codes(await incremental(1, [{ resourceType: TOPIC, resourceName: "t", configs: [["retention.ms", SET, "9"]] }], true))).toEqual([["t", 0]]);
    expect(codes(await legacy(2, [{ resourceType: TOPIC, resourceName: "t", configs: {} }], true))).toEqual([["t", 0]]);
    const bad = await incremental(1, [
      { resourceType: TOPIC, resourceName: "t", configs: [["retention.ms", SET, "soon"]] },
      { resourceType: TOPIC, resourceName: "missing", configs: [["retention.ms", SET, "1"]] },
    ]);
    expect(codes(bad)).toEqual([
      ["t", ErrorCode.INVALID_CONFIG],
      ["missing", ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
    ]);
    expect(bad.responses[1]!.errorMessage).toBe("The topic 'missing' does not exist.");
    const notList = await incremental(1, [{ resourceType: TOPIC, resourceName: "t", configs: [["retention.ms", APPEND, "5"]] }]);
    expect([notList.responses[0]!.errorCode, notList.responses[0]!.errorMessage]).toEqual([ErrorCode.INVALID_CONFIG, "Can't APPEND to key retention.ms because its type is not LIST."]);
    expect(codes(await incremental(1, [{ resourceType: TOPIC, resourceName: "t", configs: [["no.such.config", SET, "1"]] }]))).toEqual([["t", ErrorCode.INVALID_CONFIG]]);
    expect(codes(await legacy(0, [{ resourceType: TOPIC, resourceName: "t", configs: { "segment.bytes": "1" } }]))).toEqual([["t", ErrorCode.INVALID_CONFIG]]);
    expect(await overrides("t")).toEqual({ "retention.ms": "1000" });
  });

  test("malformed resources: twice in a request, a key twice, null values, unknown operations and types", async () => {
    await h.createTopic("t", 1);
    const twice = await incremental(1, [
      { resourceType: TOPIC, resourceName: "t", configs: [] },
      { resourceType: TOPIC, resourceName: "t", configs: [] },
    ]);
    expect(twice.responses.map((r) => [r.errorCode, r.errorMessage])).toEqual([
      [ErrorCode.INVALID_REQUEST, "Each resource must appear at most once."],
      [ErrorCode.INVALID_REQUEST, "Each resource must appear at most once."],
    ]);
    const cases: Array<[Array<[string, number, string | null]>, string]> = [
      [[["retention.ms", SET, "1"], ["retention.ms", SET, "2"]], "Error due to duplicate config keys"],
      [[["retention.ms", SET, null]], "Null value not supported for : retention.ms"],
      [[["retention.ms", 9, "1"]], "Unknown operations type 9"],
    ];
    for (const [configs, message] of cases) {
      const res = await incremental(1, [{ resourceType: TOPIC, resourceName: "t", configs }]);
      expect([res.responses[0]!.errorCode, res.responses[0]!.errorMessage]).toEqual([ErrorCode.INVALID_REQUEST, message]);
    }
    expect(codes(await legacy(1, [{ resourceType: TOPIC, resourceName: "t", configs: { "retention.ms": null } }]))).toEqual([["t", ErrorCode.INVALID_REQUEST]]);
    expect(codes(await incremental(1, [{ resourceType: 3, resourceName: "g", configs: [] }]))).toEqual([["g", ErrorCode.INVALID_REQUEST]]);
    expect(codes(await legacy(1, [{ resourceType: BROKER_LOGGER, resourceName: "0", configs: {} }]))).toEqual([["0", ErrorCode.INVALID_REQUEST]]);
  });

  test("broker resources: no dynamic broker configs here, answered as Kafka answers its read-only ones", async () => {
    const res = await incremental(1, [
      { resourceType: BROKER, resourceName: "0", configs: [["log.retention.ms", SET, "1000"], ["num.io.threads", SET, "4"]] },
      { resourceType: BROKER, resourceName: "", configs: [] },
      { resourceType: BROKER, resourceName: "7", configs: [] },
      { resourceType: BROKER_LOGGER, resourceName: "0", configs: [["kafka.server", SET, "DEBUG"]] },
      { resourceType: BROKER_LOGGER, resourceName: "x", configs: [] },
    ]);
    expect(res.responses.map((r) => [r.resourceType, r.resourceName, r.errorCode, r.errorMessage])).toEqual([
      [BROKER, "0", ErrorCode.INVALID_REQUEST, "Cannot update these configs dynamically: Set(log.retention.ms, num.io.threads)"],
      [BROKER, "", 0, null],
      [BROKER, "7", ErrorCode.INVALID_REQUEST, "Unexpected broker id, expected 0, but received 7"],
      [BROKER_LOGGER, "0", ErrorCode.INVALID_CONFIG, "Logger kafka.server does not exist!"],
      [BROKER_LOGGER, "x", ErrorCode.INVALID_REQUEST, "Node id must be an integer, but it is: x"],
    ]);
    const old = await legacy(0, [{ resourceType: BROKER, resourceName: "", configs: { "message.max.bytes": "10" } }]);
    expect(old.responses[0]!.errorCode).toBe(ErrorCode.INVALID_REQUEST);
  });
});

describe("OffsetForLeaderEpoch (key 23)", () => {
  const ask = (v: number, topic: string, partitions: Array<[number, number, number]>) =>
    h.call(OffsetForLeaderEpoch, v, {
      ...defaultOffsetForLeaderEpochRequest(),
      replicaId: -1,
      topics: [{ topic, partitions: partitions.map(([partition, leaderEpoch, currentLeaderEpoch]) => ({ partition, leaderEpoch, currentLeaderEpoch })) }],
    });

  test.each([0, 1, 2, 3, 4])("v%i: epoch 0 ends at the log end; other epochs as Kafka's epoch cache answers", async (v) => {
    await h.createTopic("e", 2);
    await h.produce("e", 0, batchOf(["a", "b", "c"]));
    await h.broker.partition("e", 0).deleteRecordsBefore(1);
    const res = await ask(v, "e", [
      [0, 0, -1],
      [1, 0, -1],
      [0, -1, -1],
      [0, 3, -1],
      [0, -7, -1],
      [5, 0, -1],
    ]);
    const got = res.topics[0]!.partitions.map((p) => [p.partition, p.errorCode, v >= 1 ? p.leaderEpoch : "-", Number(p.endOffset)]);
    const e = (epoch: number) => (v >= 1 ? epoch : "-");
    expect(got).toEqual([
      [0, 0, e(0), 3],
      [1, 0, e(0), 0],
      [0, 0, e(-1), -1],
      [0, 0, e(-1), -1],
      [0, 0, e(-7), 1],
      [5, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, e(-1), -1],
    ]);
  });

  test("v2+: a current leader epoch other than 0 is fenced (older) or unknown (newer)", async () => {
    await h.createTopic("e", 1);
    const res = await ask(4, "e", [
      [0, 0, 0],
      [0, 0, 1],
      [0, 0, -3],
    ]);
    expect(res.topics[0]!.partitions.map((p) => p.errorCode)).toEqual([0, ErrorCode.UNKNOWN_LEADER_EPOCH, ErrorCode.FENCED_LEADER_EPOCH]);
    expect((await ask(4, "nowhere", [[0, 0, -1]])).topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });
});

describe("DescribeLogDirs (key 35)", () => {
  test.each([0, 1, 2, 3, 4])("v%i: one dir, the data dir, with every partition's size", async (v) => {
    await h.createTopic("a", 2);
    await h.createTopic("b", 1);
    await h.produce("a", 1, batchOf(["x".repeat(100)]));
    const all = await h.call(DescribeLogDirs, v, { ...defaultDescribeLogDirsRequest(), topics: null });
    expect(all.results.length).toBe(1);
    const dir = all.results[0]!;
    expect([dir.errorCode, dir.logDir]).toEqual([0, resolve(h.dir)]);
    const sizes = Object.fromEntries(dir.topics.flatMap((t) => t.partitions.map((p) => [`${t.name}/${p.partitionIndex}`, [Number(p.partitionSize), Number(p.offsetLag), p.isFutureKey]])));
    expect(sizes).toEqual({ "a/0": [0, 0, false], "a/1": [h.broker.partition("a", 1).sizeBytes, 0, false], "b/0": [0, 0, false] });
    expect(sizes["a/1"]![0]).toBeGreaterThan(100);
    if (v >= 4) {
      expect(Number(dir.totalBytes)).toBeGreaterThan(0);
      expect(Number(dir.usableBytes)).toBeGreaterThan(0);
    }
    const some = await h.call(DescribeLogDirs, v, { ...defaultDescribeLogDirsRequest(), topics: [{ topic: "a", partitions: [1, 7] }] });
    // Kafka lists every topic of the dir, each with only the partitions asked for.
    expect(some.results[0]!.topics.map((t) => [t.name, t.partitions.map((p) => p.partitionIndex)]).sort()).toEqual([
      ["a", [1]],
      ["b", []],
    ]);
  });
});

describe("ElectLeaders (key 43)", () => {
  test.each([0, 1, 2])("v%i: every partition already has its preferred leader: ELECTION_NOT_NEEDED; all partitions: no results", async (v) => {
    await h.createTopic("t", 2);
    const named = await h.call(ElectLeaders, v, { ...defaultElectLeadersRequest(), electionType: 0, timeoutMs: 5000, topicPartitions: [{ topic: "t", partitions: [0, 1, 9] }, { topic: "nowhere", partitions: [0] }] });
    if (v >= 1) expect(named.errorCode).toBe(0);
    expect(named.replicaElectionResults.map((r) => [r.topic, r.partitionResult.map((p) => [p.partitionId, p.errorCode])])).toEqual([
      ["t", [[0, ErrorCode.ELECTION_NOT_NEEDED], [1, ErrorCode.ELECTION_NOT_NEEDED], [9, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]],
      ["nowhere", [[0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]],
    ]);
    const all = await h.call(ElectLeaders, v, { ...defaultElectLeadersRequest(), electionType: 1, timeoutMs: 5000, topicPartitions: null });
    expect(all.replicaElectionResults).toEqual([]);
  });

  test("v1+: an unknown election type is INVALID_REQUEST", async () => {
    await h.createTopic("t", 1);
    const res = await h.call(ElectLeaders, 2, { ...defaultElectLeadersRequest(), electionType: 5, timeoutMs: 5000, topicPartitions: [{ topic: "t", partitions: [0] }] });
    expect([res.errorCode, res.replicaElectionResults[0]!.partitionResult[0]!.errorCode]).toEqual([ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST]);
  });
});

describe("DescribeProducers (key 61)", () => {
  test("v0: the idempotent producers of a partition with their epoch, last sequence and timestamp", async () => {
    await h.createTopic("p", 2);
    const init = await h.call(InitProducerId, 4, { ...defaultInitProducerIdRequest(), transactionalId: null, transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 });
    const producerId = Number(init.producerId);
    const t0 = 1_700_000_000_000;
    const batch = (baseSequence: number, n: number) => encodeRecordBatch({ records: Array.from({ length: n }, (_, i) => ({ value: new Uint8Array([i]), timestamp: t0 + baseSequence + i })), producerId, producerEpoch: init.producerEpoch, baseSequence });
    expect((await h.produce("p", 0, batch(0, 3))).errorCode).toBe(0);
    expect((await h.produce("p", 0, batch(3, 2))).errorCode).toBe(0);
    await h.produce("p", 1, batchOf(["not idempotent"]));
    const res = await h.call(DescribeProducers, 0, { ...defaultDescribeProducersRequest(), topics: [{ name: "p", partitionIndexes: [0, 1, 4] }, { name: "nowhere", partitionIndexes: [0] }] });
    const [p0, p1, p4] = res.topics[0]!.partitions;
    expect(p0!.activeProducers).toEqual([{ producerId: BigInt(producerId), producerEpoch: init.producerEpoch, lastSequence: 4, lastTimestamp: BigInt(t0 + 4), coordinatorEpoch: -1, currentTxnStartOffset: -1n }]);
    expect([p1!.errorCode, p1!.activeProducers]).toEqual([0, []]);
    expect(p4!.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect(res.topics[1]!.partitions[0]!.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });
});

describe("GetTelemetrySubscriptions (key 71)", () => {
  test("v0: no subscription — no metrics requested; a zero client instance id gets a new one", async () => {
    const fresh = await h.call(GetTelemetrySubscriptions, 0, { ...defaultGetTelemetrySubscriptionsRequest(), clientInstanceId: new Uint8Array(16) });
    expect(fresh).toMatchObject({ errorCode: 0, requestedMetrics: [], pushIntervalMs: 300_000, deltaTemporality: true });
    expect(fresh.clientInstanceId.some((b) => b !== 0)).toBe(true);
    const known = new Uint8Array(16).fill(7);
    const again = await h.call(GetTelemetrySubscriptions, 0, { ...defaultGetTelemetrySubscriptionsRequest(), clientInstanceId: known });
    expect(again.clientInstanceId).toEqual(known);
  });
});

describe("DescribeTopicPartitions (key 75)", () => {
  const TOPIC_OPERATIONS = [3, 4, 5, 6, 7, 8, 10, 11].reduce((a, c) => a | (1 << c), 0);
  const ask = (topics: string[], limit: number, cursor: { topicName: string; partitionIndex: number } | null = null) =>
    h.call(DescribeTopicPartitions, 0, { ...defaultDescribeTopicPartitionsRequest(), topics: topics.map((name) => ({ name })), responsePartitionLimit: limit, cursor });
  const pages = (res: Awaited<ReturnType<typeof ask>>) => res.topics.map((t) => [t.name, t.errorCode, t.partitions.map((p) => p.partitionIndex)]);

  test("v0: every topic in name order with its partitions, leader, epoch and replicas", async () => {
    await h.createTopic("b", 2);
    await h.createTopic("a", 1);
    const res = await ask([], 2000);
    expect(pages(res)).toEqual([
      ["a", 0, [0]],
      ["b", 0, [0, 1]],
    ]);
    expect(res.nextCursor).toBeNull();
    const p = res.topics[1]!.partitions[1]!;
    expect(p).toEqual({ errorCode: 0, partitionIndex: 1, leaderId: 0, leaderEpoch: 0, replicaNodes: [0], isrNodes: [0], eligibleLeaderReplicas: [], lastKnownElr: [], offlineReplicas: [] });
    expect(res.topics[1]!.topicId).toEqual(h.broker.topic("b")!.topicId);
    expect(res.topics[1]!.topicAuthorizedOperations).toBe(TOPIC_OPERATIONS);
  });

  test("paging: a topic cut short ends the page at its next partition, a topic not reached at its partition 0", async () => {
    await h.createTopic("a", 3);
    await h.createTopic("b", 2);
    await h.createTopic("c", 1);
    const first = await ask([], 2);
    expect([pages(first), first.nextCursor]).toEqual([[["a", 0, [0, 1]]], { topicName: "a", partitionIndex: 2 }]);
    const second = await ask([], 3, first.nextCursor);
    expect([pages(second), second.nextCursor]).toEqual([[["a", 0, [2]], ["b", 0, [0, 1]]], { topicName: "c", partitionIndex: 0 }]);
    const third = await ask([], 3, second.nextCursor);
    expect([pages(third), third.nextCursor]).toEqual([[["c", 0, [0]]], null]);
  });

  test("named topics: unknown and illegal names answered, the cursor's topic must be named", async () => {
    await h.createTopic("a", 1);
    const res = await ask(["zz", "a", "bad/name", "a"], 10);
    expect(pages(res)).toEqual([
      ["a", 0, [0]],
      ["bad/name", ErrorCode.INVALID_TOPIC_EXCEPTION, []],
      ["zz", ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, []],
    ]);
    const wrongCursor = await ask(["a"], 10, { topicName: "b", partitionIndex: 0 });
    expect(pages(wrongCursor)).toEqual([["a", ErrorCode.INVALID_REQUEST, []]]);
  });
});

describe("topic configs through the Kafka APIs (issue #21)", () => {
  test("CreateTopics with the configs tools commonly set succeeds; DescribeConfigs lists every topic config with its source", async () => {
    const configs = [
      { name: "compression.type", value: "zstd" },
      { name: "delete.retention.ms", value: "3600000" },
      { name: "min.cleanable.dirty.ratio", value: "0.2" },
      { name: "min.insync.replicas", value: "1" },
      { name: "message.timestamp.difference.max.ms", value: "86400000" },
      { name: "unclean.leader.election.enable", value: "false" },
    ];
    const created = await h.createTopic("tooling", 1, configs);
    expect([created.errorCode, created.errorMessage]).toEqual([0, null]);
    const res = await h.call(DescribeConfigs, 4, { ...defaultDescribeConfigsRequest(), resources: [{ resourceType: 2, resourceName: "tooling", configurationKeys: null }], includeSynonyms: false, includeDocumentation: false });
    const described = res.results[0]!.configs;
    expect(described.length).toBe(34);
    const byName = Object.fromEntries(described.map((c) => [c.name, [c.value, c.configSource]]));
    for (const c of configs) expect(byName[c.name]).toEqual([c.value, 1]);
    expect(byName["flush.ms"]).toEqual(["9223372036854775807", 5]);
    const bad = await h.createTopic("bad-configs", 1, [{ name: "min.insync.replicas", value: "0" }]);
    expect(bad.errorCode).toBe(ErrorCode.INVALID_CONFIG);
    expect(bad.errorMessage).toContain("min.insync.replicas");
  });
});
