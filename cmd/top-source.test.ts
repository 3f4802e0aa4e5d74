// top over the Kafka protocol (issue 22): rates come from the movement of end offsets and
// committed offsets between two refreshes; the first refresh has none, and what the Kafka protocol
// does not carry (sizes, rates out, uptime) is null.
import { expect, test } from "bun:test";
import type { ClusterMetadata, TopicMetadata } from "../net/client/admin.ts";
import type { GroupView } from "../net/client/admin-groups.ts";
import { KafkaStats } from "./top-source.ts";

test("records/s in, lag trend and commits/s from two refreshes a second apart", async () => {
  let clock = 1000;
  let ends = [10, 20];
  let committed = 5;
  const topic: TopicMetadata = { name: "t", topicId: null, internal: false, errorCode: 0, partitions: [0, 1].map((p) => ({ partition: p, leader: 0, leaderEpoch: 0, replicas: [0], isr: [0], offline: [], errorCode: 0 })) };
  const internal: TopicMetadata = { ...topic, name: "__consumer_offsets", internal: true };
  const admin = {
    metadata: async (): Promise<ClusterMetadata> => ({ clusterId: "k", controllerId: 1, brokers: [], topics: [topic, internal] }),
    offsetRanges: async () => new Map([["t", new Map(ends.map((end, p) => [p, { start: 0, end, lso: end }]))]]),
  };
  const group = (): GroupView => ({ group: "g", state: "Stable", protocolType: "consumer", protocol: "range", members: [], offsets: [{ topic: "t", partitions: [{ partition: 0, committed, end: ends[0]!, lag: ends[0]! - committed }] }], lag: ends[0]! - committed });
  const groups = { list: async () => [{ group: "g", state: "Stable", protocolType: "consumer" }], describe: async () => group() };
  const stats = new KafkaStats("127.0.0.1:9092", admin, groups, () => clock);

  const first = await stats.poll();
  expect(first.topics.map((t) => t.name)).toEqual(["t"]);
  expect(first.topics[0]).toMatchObject({ end: 30, records: 30, bytes: null, rates: { recordsIn: null, bytesIn: null, recordsOut: null, bytesOut: null } });
  expect(first.groups[0]).toMatchObject({ lag: 5, lagTrend: null, commitRate: null, lagSeconds: null });
  expect(first).toMatchObject({ uptimeMs: null, fsync: null, connections: null, diskBytes: null, windowMs: null });

  clock += 2000;
  ends = [110, 40];
  committed = 65;
  const second = await stats.poll();
  expect(second.topics[0]!.partitions.map((p) => p.recordsInPerSec)).toEqual([50, 10]);
  expect(second.topics[0]!.rates.recordsIn).toBe(60);
  expect(second.groups[0]).toMatchObject({ lag: 45, lagTrend: 20, commitRate: 30 });
  expect(second.windowMs).toBe(2000);
});
