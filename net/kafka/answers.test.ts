// Conformance of answers that were wrong rather than refused (issue #21): ListGroups' protocol type
// and filters, ListOffsets' special timestamps, and the authorized operations of Metadata,
// DescribeCluster and DescribeGroups. Each checks what Kafka 3.8 answers, in-process.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { encodeRecordBatch } from "../../core/batch/record-batch.ts";
import { ErrorCode } from "../protocol/errors.ts";
import {
  DescribeCluster,
  DescribeGroups,
  ListGroups,
  ListOffsets,
  Metadata,
  defaultDescribeClusterRequest,
  defaultDescribeGroupsRequest,
  defaultListGroupsRequest,
  defaultListOffsetsRequest,
  defaultMetadataRequest,
} from "../protocol/messages/index.ts";
import { commitOffsets, DoorHarness, joinAndSync, leaveGroup, NIL_UUID } from "../testing/kafka-door.ts";

const encoder = new TextEncoder();
const T0 = 1_700_000_000_000;

/** AclOperation bit fields (AclOperation.java codes) of everything each resource type supports. */
const TOPIC_OPERATIONS = [3, 4, 5, 6, 7, 8, 10, 11].reduce((a, c) => a | (1 << c), 0); // READ WRITE CREATE DELETE ALTER DESCRIBE DESCRIBE_CONFIGS ALTER_CONFIGS
const CLUSTER_OPERATIONS = [5, 7, 8, 9, 10, 11, 12].reduce((a, c) => a | (1 << c), 0); // CREATE ALTER DESCRIBE CLUSTER_ACTION DESCRIBE_CONFIGS ALTER_CONFIGS IDEMPOTENT_WRITE
const GROUP_OPERATIONS = [3, 6, 8].reduce((a, c) => a | (1 << c), 0); // READ DELETE DESCRIBE
const NOT_ASKED = -2147483648;

let h: DoorHarness;

beforeEach(async () => {
  h = await DoorHarness.open({ groups: { initialRebalanceDelayMs: 0 } });
});

afterEach(async () => {
  await h.close();
});

describe("ListGroups (issue #21)", () => {
  async function listGroups(version: number, statesFilter: string[] = [], typesFilter: string[] = []) {
    const res = await h.call(ListGroups, version, { ...defaultListGroupsRequest(), statesFilter, typesFilter });
    expect(res.errorCode).toBe(0);
    return res.groups.map((g) => [g.groupId, g.protocolType, ...(version >= 4 ? [g.groupState] : []), ...(version >= 5 ? [g.groupType] : [])]).sort();
  }

  test("an Empty consumer group keeps protocol type consumer; a group that only committed has none", async () => {
    await h.createTopic("t", 1);
    const member = await joinAndSync(h, "was-consuming", { t: [0] });
    expect(await commitOffsets(h, "was-consuming", member, { t: [[0, 5]] })).toEqual([0]);
    expect(await listGroups(4)).toEqual([["was-consuming", "consumer", "Stable"]]);
    await leaveGroup(h, member);
    expect(await commitOffsets(h, "simple", null, { t: [[0, 1]] })).toEqual([0]);
    for (const v of [0, 1, 2, 3]) {
      expect(await listGroups(v)).toEqual([
        ["simple", ""],
        ["was-consuming", "consumer"],
      ]);
    }
    expect(await listGroups(4)).toEqual([
      ["simple", "", "Empty"],
      ["was-consuming", "consumer", "Empty"],
    ]);
    const described = await h.call(DescribeGroups, 5, { ...defaultDescribeGroupsRequest(), groups: ["was-consuming"] });
    expect(described.groups.map((g) => [g.groupState, g.protocolType, g.members.length])).toEqual([["Empty", "consumer", 0]]);
  });

  test("states_filter (v4+, case-insensitive) and types_filter (v5: every group here is classic)", async () => {
    await h.createTopic("t", 1);
    await joinAndSync(h, "live", { t: [0] });
    const gone = await joinAndSync(h, "idle", { t: [0] });
    // With offsets, so that it outlives its members (a group with neither is forgotten here).
    expect(await commitOffsets(h, "idle", gone, { t: [[0, 3]] })).toEqual([0]);
    await leaveGroup(h, gone);
    expect(await listGroups(4, ["Stable"])).toEqual([["live", "consumer", "Stable"]]);
    expect(await listGroups(4, ["empty"])).toEqual([["idle", "consumer", "Empty"]]);
    expect(await listGroups(4, ["STABLE", "Empty"])).toEqual([
      ["idle", "consumer", "Empty"],
      ["live", "consumer", "Stable"],
    ]);
    expect(await listGroups(4, ["Dead"])).toEqual([]);
    expect(await listGroups(5, [], ["classic"])).toEqual([
      ["idle", "consumer", "Empty", "classic"],
      ["live", "consumer", "Stable", "classic"],
    ]);
    expect(await listGroups(5, [], ["Consumer"])).toEqual([]);
    expect(await listGroups(5, ["stable"], ["CLASSIC"])).toEqual([["live", "consumer", "Stable", "classic"]]);
  });
});

describe("ListOffsets special timestamps (issue #21)", () => {
  async function listOffset(topic: string, timestamp: bigint, version = 8) {
    const res = await h.call(ListOffsets, version, {
      ...defaultListOffsetsRequest(),
      replicaId: -1,
      isolationLevel: 0,
      topics: [{ name: topic, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp, maxNumOffsets: 1 }] }],
    });
    const p = res.topics[0]!.partitions[0]!;
    expect(p.errorCode).toBe(0);
    return [Number(p.offset), Number(p.timestamp)];
  }

  /** Records at offsets [base, base + n) with the given timestamps. */
  function batchWithTimestamps(timestamps: number[]): Uint8Array {
    return encodeRecordBatch({ records: timestamps.map((timestamp, i) => ({ value: encoder.encode(`r${i}`), timestamp })) });
  }

  test("MAX_TIMESTAMP (-3) is the record with the largest timestamp, not its batch's last offset", async () => {
    await h.createTopic("times", 1);
    // Offsets 0-29 at T0+i; offsets 30-66, the largest timestamp at offset 40, in the middle.
    await h.produce("times", 0, batchWithTimestamps(Array.from({ length: 30 }, (_, i) => T0 + i)));
    await h.produce("times", 0, batchWithTimestamps(Array.from({ length: 37 }, (_, i) => (i === 10 ? T0 + 10_000 : T0 + 100 + i))));
    // A later batch whose timestamps are all lower: the largest stays at offset 40.
    await h.produce("times", 0, batchWithTimestamps([T0 + 500, T0 + 9_999]));
    for (const v of [7, 8]) expect(await listOffset("times", -3n, v)).toEqual([40, T0 + 10_000]);
    // Equal largest timestamps: the first record carrying it (Kafka's offsetOfMaxTimestamp).
    await h.produce("times", 0, batchWithTimestamps([T0 + 10_000, T0 + 10_000]));
    expect(await listOffset("times", -3n)).toEqual([40, T0 + 10_000]);
    await h.produce("times", 0, batchWithTimestamps([T0 + 1, T0 + 20_000, T0 + 20_000]));
    expect(await listOffset("times", -3n)).toEqual([72, T0 + 20_000]);
    // It survives a restart (the segment's bookkeeping is rebuilt from the indexes and headers).
    await h.reopen({ groups: { initialRebalanceDelayMs: 0 } });
    expect(await listOffset("times", -3n)).toEqual([72, T0 + 20_000]);
  });

  test("MAX_TIMESTAMP under LogAppendTime: the first record of the first batch stamped last", async () => {
    await h.createTopic("stamped", 1, [{ name: "message.timestamp.type", value: "LogAppendTime" }]);
    const appended: Array<[number, number]> = [];
    for (let i = 0; i < 3; i++) {
      const r = await h.produce("stamped", 0, batchWithTimestamps([T0, T0 + 1, T0 + 2]));
      appended.push([Number(r.baseOffset), Number(r.logAppendTimeMs)]);
    }
    const latest = Math.max(...appended.map(([, t]) => t));
    expect(await listOffset("stamped", -3n)).toEqual(appended.find(([, t]) => t === latest)!);
  });

  test("an empty partition has no MAX_TIMESTAMP record: offset -1, timestamp -1", async () => {
    await h.createTopic("empty", 1);
    expect(await listOffset("empty", -3n)).toEqual([-1, -1]);
    expect(await listOffset("empty", -1n)).toEqual([0, -1]);
    expect(await listOffset("empty", -2n)).toEqual([0, -1]);
    expect(await listOffset("empty", -4n)).toEqual([0, -1]);
    expect(await listOffset("empty", BigInt(T0))).toEqual([-1, -1]);
  });

  test("LATEST (-1), EARLIEST (-2), EARLIEST_LOCAL (-4) carry no timestamp; -4 is the log start (nothing is tiered)", async () => {
    await h.createTopic("ends", 1);
    await h.produce("ends", 0, batchWithTimestamps(Array.from({ length: 10 }, (_, i) => T0 + i * 10)));
    await h.broker.partition("ends", 0).deleteRecordsBefore(4);
    expect(await listOffset("ends", -1n)).toEqual([10, -1]);
    expect(await listOffset("ends", -2n)).toEqual([4, -1]);
    expect(await listOffset("ends", -4n)).toEqual([4, -1]);
    // A time: the first record at or after it (never below the log start), with its timestamp.
    expect(await listOffset("ends", BigInt(T0 + 55))).toEqual([6, T0 + 60]);
    expect(await listOffset("ends", BigInt(T0))).toEqual([4, T0 + 40]);
    expect(await listOffset("ends", BigInt(T0 + 91))).toEqual([-1, -1]);
  });
});

describe("authorized operations while there is no authorizer (issue #21)", () => {
  test("Metadata v8-v12: every topic operation when asked, every cluster operation in v8-v10; INT32_MIN when not asked", async () => {
    await h.createTopic("ops", 1);
    for (const v of [8, 9, 10, 11, 12]) {
      const ask = (include: boolean) =>
        h.call(Metadata, v, {
          ...defaultMetadataRequest(),
          topics: [{ topicId: NIL_UUID, name: "ops" }],
          allowAutoTopicCreation: false,
          includeClusterAuthorizedOperations: include,
          includeTopicAuthorizedOperations: include,
        });
      const asked = await ask(true);
      expect(asked.topics.map((t) => [t.name, t.topicAuthorizedOperations])).toEqual([["ops", TOPIC_OPERATIONS]]);
      if (v <= 10) expect(asked.clusterAuthorizedOperations).toBe(CLUSTER_OPERATIONS);
      const quiet = await ask(false);
      expect(quiet.topics[0]!.topicAuthorizedOperations).toBe(NOT_ASKED);
      if (v <= 10) expect(quiet.clusterAuthorizedOperations).toBe(NOT_ASKED);
    }
  });

  test("Metadata v10-v11 naming a topic by id only (a null name, allowed from v12): INVALID_REQUEST for every topic, not a closed connection", async () => {
    await h.createTopic("named", 1);
    for (const v of [10, 11]) {
      const res = await h.call(Metadata, v, { ...defaultMetadataRequest(), topics: [{ topicId: h.broker.topic("named")!.topicId, name: null }, { topicId: NIL_UUID, name: "named" }] });
      expect(res.topics.map((t) => [t.name, t.errorCode])).toEqual([
        ["", ErrorCode.INVALID_REQUEST],
        ["named", ErrorCode.INVALID_REQUEST],
      ]);
    }
    const v12 = await h.call(Metadata, 12, { ...defaultMetadataRequest(), topics: [{ topicId: h.broker.topic("named")!.topicId, name: null }] });
    expect(v12.topics.map((t) => [t.name, t.errorCode])).toEqual([["named", 0]]);
  });

  test("DescribeCluster v0-v1: this broker as controller, every cluster operation when asked", async () => {
    for (const v of [0, 1]) {
      const asked = await h.call(DescribeCluster, v, { ...defaultDescribeClusterRequest(), includeClusterAuthorizedOperations: true });
      expect(asked).toMatchObject({ errorCode: 0, clusterId: h.broker.clusterId, controllerId: 0, clusterAuthorizedOperations: CLUSTER_OPERATIONS });
      expect(asked.brokers.map((b) => [b.brokerId, b.host, b.port, b.rack])).toEqual([[0, "127.0.0.1", 9092, null]]);
      const quiet = await h.call(DescribeCluster, v, { ...defaultDescribeClusterRequest(), includeClusterAuthorizedOperations: false });
      expect(quiet.clusterAuthorizedOperations).toBe(NOT_ASKED);
    }
    const v1 = await h.call(DescribeCluster, 1, { ...defaultDescribeClusterRequest(), includeClusterAuthorizedOperations: false });
    expect(v1.endpointType).toBe(1);
  });

  test("DescribeCluster v1 asking for controllers or an unknown endpoint type (KIP-919)", async () => {
    const controllers = await h.call(DescribeCluster, 1, { ...defaultDescribeClusterRequest(), endpointType: 2 });
    expect(controllers.errorCode).toBe(ErrorCode.MISMATCHED_ENDPOINT_TYPE);
    const unknown = await h.call(DescribeCluster, 1, { ...defaultDescribeClusterRequest(), endpointType: 7 });
    expect(unknown.errorCode).toBe(ErrorCode.UNSUPPORTED_ENDPOINT_TYPE);
  });

  test("DescribeGroups v3+: every group operation when asked", async () => {
    await h.createTopic("t", 1);
    await joinAndSync(h, "g", { t: [0] });
    for (const v of [3, 4, 5]) {
      const asked = await h.call(DescribeGroups, v, { ...defaultDescribeGroupsRequest(), groups: ["g"], includeAuthorizedOperations: true });
      expect(asked.groups[0]!.authorizedOperations).toBe(GROUP_OPERATIONS);
      const quiet = await h.call(DescribeGroups, v, { ...defaultDescribeGroupsRequest(), groups: ["g"], includeAuthorizedOperations: false });
      expect(quiet.groups[0]!.authorizedOperations).toBe(NOT_ASKED);
    }
  });
});
