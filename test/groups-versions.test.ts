// Every version of every group API over the wire (issue #4): a member's whole life — JoinGroup
// (with the MEMBER_ID_REQUIRED step from v4), SyncGroup, Heartbeat, OffsetCommit, OffsetFetch,
// DescribeGroups, ListGroups, LeaveGroup, DeleteGroups — once per version index, each API at
// min(index, its max), against the compiled broker, with responses that must decode whole.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { ErrorCode } from "../net/protocol/errors.ts";
import {
  ApiVersions,
  CreateTopics,
  DeleteGroups,
  DescribeGroups,
  Heartbeat,
  JoinGroup,
  LeaveGroup,
  ListGroups,
  OffsetCommit,
  OffsetFetch,
  SyncGroup,
  defaultApiVersionsRequest,
  defaultCreateTopicsRequest,
  defaultDeleteGroupsRequest,
  defaultDescribeGroupsRequest,
  defaultHeartbeatRequest,
  defaultJoinGroupRequest,
  defaultLeaveGroupRequest,
  defaultListGroupsRequest,
  defaultOffsetCommitRequest,
  defaultOffsetFetchRequest,
  defaultSyncGroupRequest,
} from "../net/protocol/messages/index.ts";
import { type BrokerProcess, removeDir, startBroker } from "./harness.ts";
import { RawConnection } from "./raw-kafka.ts";

const TOPIC = "groups-versions";
let broker: BrokerProcess;
let conn: RawConnection;

beforeAll(async () => {
  broker = await startBroker({ args: ["--group-initial-rebalance-delay-ms", "0"] });
  conn = await RawConnection.open(broker.kafka);
  const created = await conn.request(CreateTopics, 3, {
    ...defaultCreateTopicsRequest(),
    topics: [{ name: TOPIC, numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 5000,
  });
  expect(created.topics[0]!.errorCode).toBe(0);
});

afterAll(async () => {
  conn.close();
  expect(await broker.stop()).toBe(0);
  removeDir(broker.dataDir);
});

test("ApiVersions advertises the whole Kafka 3.8 range of every group API", async () => {
  const res = await conn.request(ApiVersions, 3, { ...defaultApiVersionsRequest(), clientSoftwareName: "t", clientSoftwareVersion: "1" });
  const range = (key: number) => res.apiKeys.find((k) => k.apiKey === key);
  for (const api of [OffsetCommit, OffsetFetch, JoinGroup, Heartbeat, LeaveGroup, SyncGroup, DescribeGroups, ListGroups, DeleteGroups]) {
    expect({ name: api.name, ...range(api.key) }).toEqual({ name: api.name, apiKey: api.key, minVersion: api.minVersion, maxVersion: api.maxVersion });
  }
});

test.each([...Array(10).keys()])("a member's life with every group API at version index %i", async (i) => {
  const v = (api: { maxVersion: number }) => Math.min(i, api.maxVersion);
  const groupId = `versions-${i}`;
  const protocols = [{ name: "range", metadata: new Uint8Array([0, 1, 2]) }];
  const join = (memberId: string) =>
    conn.request(JoinGroup, v(JoinGroup), { ...defaultJoinGroupRequest(), groupId, sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId, protocolType: "consumer", protocols });
  let joined = await join("");
  if (v(JoinGroup) >= 4) {
    expect(joined.errorCode).toBe(ErrorCode.MEMBER_ID_REQUIRED);
    joined = await join(joined.memberId);
  }
  expect(joined.errorCode).toBe(0);
  const memberId = joined.memberId;
  expect([joined.generationId, joined.leader, joined.members.map((m) => m.memberId), joined.protocolName]).toEqual([1, memberId, [memberId], "range"]);
  expect([...joined.members[0]!.metadata]).toEqual([0, 1, 2]);

  const sync = await conn.request(SyncGroup, v(SyncGroup), {
    ...defaultSyncGroupRequest(), groupId, generationId: 1, memberId,
    protocolType: "consumer", protocolName: "range", assignments: [{ memberId, assignment: new Uint8Array([9, 8]) }],
  });
  expect([sync.errorCode, [...sync.assignment]]).toEqual([0, [9, 8]]);
  if (v(SyncGroup) >= 5) expect([sync.protocolType, sync.protocolName]).toEqual(["consumer", "range"]);

  const hb = await conn.request(Heartbeat, v(Heartbeat), { ...defaultHeartbeatRequest(), groupId, generationId: 1, memberId });
  expect(hb.errorCode).toBe(0);
  const staleHb = await conn.request(Heartbeat, v(Heartbeat), { ...defaultHeartbeatRequest(), groupId, generationId: 0, memberId });
  expect(staleHb.errorCode).toBe(ErrorCode.ILLEGAL_GENERATION);

  // v0 has no member or generation: a simple commit, refused while the group has members.
  const commit = await conn.request(OffsetCommit, v(OffsetCommit), {
    ...defaultOffsetCommitRequest(), groupId, generationIdOrMemberEpoch: 1, memberId,
    topics: [{ name: TOPIC, partitions: [{ partitionIndex: 1, committedOffset: 33n, committedLeaderEpoch: 4, commitTimestamp: -1n, committedMetadata: "md" }] }],
  });
  const committedOk = v(OffsetCommit) >= 1;
  expect(commit.topics[0]!.partitions[0]!.errorCode).toBe(committedOk ? 0 : ErrorCode.UNKNOWN_MEMBER_ID);

  const fv = v(OffsetFetch);
  const fetched = await conn.request(OffsetFetch, fv, {
    ...defaultOffsetFetchRequest(), groupId, topics: [{ name: TOPIC, partitionIndexes: [0, 1] }],
    groups: [{ groupId, memberId: null, memberEpoch: -1, topics: [{ name: TOPIC, partitionIndexes: [0, 1] }] }],
  });
  const parts = fv >= 8 ? fetched.groups[0]!.topics[0]!.partitions : fetched.topics[0]!.partitions;
  expect(parts.map((p) => [p.partitionIndex, Number(p.committedOffset), p.errorCode])).toEqual([[0, -1, 0], [1, committedOk ? 33 : -1, 0]]);
  if (committedOk) expect(parts[1]!.metadata).toBe("md");
  if (fv >= 5 && v(OffsetCommit) >= 6) expect(parts[1]!.committedLeaderEpoch).toBe(4);

  const described = await conn.request(DescribeGroups, v(DescribeGroups), { ...defaultDescribeGroupsRequest(), groups: [groupId], includeAuthorizedOperations: true });
  const d = described.groups[0]!;
  expect([d.errorCode, d.groupState, d.protocolType, d.protocolData, d.members.map((m) => m.memberId)]).toEqual([0, "Stable", "consumer", "range", [memberId]]);
  expect([...d.members[0]!.memberAssignment]).toEqual([9, 8]);

  const listed = await conn.request(ListGroups, v(ListGroups), { ...defaultListGroupsRequest(), statesFilter: ["stable"], typesFilter: [] });
  expect(listed.groups.find((g) => g.groupId === groupId)?.protocolType).toBe("consumer");
  if (v(ListGroups) >= 4) expect(listed.groups.find((g) => g.groupId === groupId)?.groupState).toBe("Stable");

  const lv = v(LeaveGroup);
  const left = await conn.request(LeaveGroup, lv, { ...defaultLeaveGroupRequest(), groupId, memberId, members: [{ memberId, groupInstanceId: null, reason: "test" }] });
  expect(left.errorCode).toBe(0);
  if (lv >= 3) expect(left.members.map((m) => [m.memberId, m.errorCode])).toEqual([[memberId, 0]]);

  // Empty now: deletable when it kept offsets; without any it is already gone.
  const deleted = await conn.request(DeleteGroups, v(DeleteGroups), { ...defaultDeleteGroupsRequest(), groupsNames: [groupId] });
  expect(deleted.results[0]!.errorCode).toBe(committedOk ? 0 : ErrorCode.GROUP_ID_NOT_FOUND);
});

test("JoinGroup long poll: a second member's join waits until the first rejoins", async () => {
  const groupId = "versions-longpoll";
  const protocols = [{ name: "range", metadata: new Uint8Array(0) }];
  const other = await RawConnection.open(broker.kafka);
  try {
    const join = (c: RawConnection, memberId: string) =>
      c.request(JoinGroup, 3, { ...defaultJoinGroupRequest(), groupId, sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId, protocolType: "consumer", protocols });
    const a = await join(conn, "");
    expect([a.errorCode, a.generationId]).toEqual([0, 1]);
    const pendingB = join(other, "");
    // a learns about the rebalance from its heartbeat, rejoins, and both get generation 2.
    // (b's JoinGroup travels on another connection: heartbeat until the broker has seen it.)
    let hb = 0;
    for (let tries = 0; tries < 1000 && hb !== ErrorCode.REBALANCE_IN_PROGRESS; tries++) {
      hb = (await conn.request(Heartbeat, 3, { ...defaultHeartbeatRequest(), groupId, generationId: 1, memberId: a.memberId })).errorCode;
      expect([0, ErrorCode.REBALANCE_IN_PROGRESS]).toContain(hb);
    }
    expect(hb).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    const [a2, b] = await Promise.all([join(conn, a.memberId), pendingB]);
    expect([a2.errorCode, a2.generationId, a2.members.length, b.errorCode, b.generationId, b.members.length]).toEqual([0, 2, 2, 0, 2, 0]);
  } finally {
    other.close();
  }
});
