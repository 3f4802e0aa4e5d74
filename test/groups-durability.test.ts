// Committed offsets survive a kill -9 of the broker (issue #4): OffsetCommit is answered only
// after its batch is fdatasync'ed, and the offsets log (with its snapshot) is replayed at start.
// Group and topic deletions are durable the same way.
import { afterAll, expect, test } from "bun:test";
import { type Admin, Kafka, logLevel } from "kafkajs";
import { OffsetCommit, defaultOffsetCommitRequest } from "../net/protocol/messages/index.ts";
import { type BrokerProcess, removeDir, startBroker, tempDir } from "./harness.ts";
import { RawConnection } from "./raw-kafka.ts";

const dataDir = tempDir();
let broker: BrokerProcess | undefined;

afterAll(async () => {
  if (broker) expect(await broker.stop()).toBe(0);
  removeDir(dataDir);
});

async function withAdmin<T>(b: BrokerProcess, fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = new Kafka({ clientId: "groups-durability", brokers: [b.kafka], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect();
  }
}

/** A simple commit (generation -1, no member), as admin tools and kcat without -G send it. */
async function simpleCommit(conn: RawConnection, groupId: string, topic: string, offsets: number[]): Promise<void> {
  const res = await conn.request(OffsetCommit, 8, {
    ...defaultOffsetCommitRequest(),
    groupId,
    generationIdOrMemberEpoch: -1,
    topics: [{ name: topic, partitions: offsets.map((o, partition) => ({ partitionIndex: partition, committedOffset: BigInt(o), committedLeaderEpoch: -1, commitTimestamp: -1n, committedMetadata: null })) }],
  });
  for (const p of res.topics[0]!.partitions) expect(p.errorCode).toBe(0);
}

async function committed(admin: Admin, groupId: string, topic: string): Promise<string[]> {
  const [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return t!.partitions.sort((a, b) => a.partition - b.partition).map((p) => p.offset);
}

test("committed offsets, group deletes and topic deletes survive kill -9", async () => {
  broker = await startBroker({ dataDir });
  await withAdmin(broker, async (admin) => {
    await admin.createTopics({ topics: [{ topic: "dur-a", numPartitions: 3 }, { topic: "dur-b", numPartitions: 1 }] });
    const conn = await RawConnection.open(broker!.kafka);
    for (let round = 1; round <= 40; round++) {
      for (const groupId of ["g1", "g2", "g3"]) await simpleCommit(conn, groupId, "dur-a", [0, 1, 2].map((p) => round * 10 + p));
    }
    await simpleCommit(conn, "g1", "dur-b", [7]);
    conn.close();
    await admin.deleteGroups(["g2"]);
    expect(await committed(admin, "g1", "dur-a")).toEqual(["400", "401", "402"]);
  });
  await broker.kill9();

  broker = await startBroker({ dataDir });
  await withAdmin(broker, async (admin) => {
    expect(await committed(admin, "g1", "dur-a")).toEqual(["400", "401", "402"]);
    expect(await committed(admin, "g3", "dur-a")).toEqual(["400", "401", "402"]);
    expect(await committed(admin, "g1", "dur-b")).toEqual(["7"]);
    // g2 was deleted: nothing committed, and it is not listed.
    expect(await committed(admin, "g2", "dur-a")).toEqual(["-1", "-1", "-1"]);
    const { groups } = await admin.listGroups();
    expect(groups.map((g) => g.groupId).sort()).toEqual(["g1", "g3"]);
    // Deleting a topic drops every group's offsets of it, durably.
    await admin.deleteTopics({ topics: ["dur-b"] });
    await admin.createTopics({ topics: [{ topic: "dur-b", numPartitions: 1 }] });
    expect(await committed(admin, "g1", "dur-b")).toEqual(["-1"]);
  });
  await broker.kill9();

  broker = await startBroker({ dataDir });
  await withAdmin(broker, async (admin) => {
    expect(await committed(admin, "g1", "dur-a")).toEqual(["400", "401", "402"]);
    expect(await committed(admin, "g1", "dur-b")).toEqual(["-1"]);
  });
}, 60_000);
