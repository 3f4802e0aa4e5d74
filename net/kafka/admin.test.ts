// The admin APIs of issue #21, in-process through the Kafka door, each at every version Kafka 3.8
// accepts: answers decode whole at that version and say what Kafka's would; effects are checked
// through other APIs (Metadata, Fetch, ListOffsets, OffsetFetch) and across a restart.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { ErrorCode } from "../protocol/errors.ts";
import {
  CreatePartitions,
  DeleteRecords,
  Fetch,
  ListOffsets,
  Metadata,
  OffsetDelete,
  OffsetFetch,
  defaultCreatePartitionsRequest,
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
