// The admin APIs of issue #21, in-process through the Kafka door, each at every version Kafka 3.8
// accepts: answers decode whole at that version and say what Kafka's would; effects are checked
// through other APIs (Metadata, Fetch, ListOffsets, OffsetFetch) and across a restart.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { ErrorCode } from "../protocol/errors.ts";
import {
  AlterConfigs,
  CreatePartitions,
  DeleteRecords,
  DescribeConfigs,
  IncrementalAlterConfigs,
  Fetch,
  ListOffsets,
  Metadata,
  OffsetDelete,
  OffsetFetch,
  defaultAlterConfigsRequest,
  defaultCreatePartitionsRequest,
  defaultDescribeConfigsRequest,
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
