// Consumer-group figures (section "groups"), against the compiled broker (test/harness.ts):
// - rebalance time: three kafkajs consumers start together on an empty group until all three hold
//   disjoint assignments of one generation (initial rebalance delay 0, heartbeats every 100 ms);
// - death → reassignment: a consumer process is SIGKILLed (no LeaveGroup) until the other two
//   hold every partition; dominated by the session timeout (1000 ms here, the broker's minimum
//   lowered for the bench), so the row also gives the time beyond it;
// - a lone streamctl consumer (net/client Consumer) in a new group, from its first poll to its first
//   record, under Kafka's default group.initial.rebalance.delay.ms (3000): the consumer group
//   protocol (KIP-848, what it speaks to this broker) against the classic one (JoinGroup/SyncGroup);
// - commits per second under fsync=always: OffsetCommit v8 (one partition) from 1 connection
//   sending one at a time, and from 32 connections at once (their fdatasyncs are shared).
import { Kafka, logLevel } from "kafkajs";
import { KafkaClient } from "../net/client/client.ts";
import { Consumer } from "../net/client/consumer.ts";
import { OffsetCommit, defaultOffsetCommitRequest } from "../net/protocol/messages/index.ts";
import { BUN, LineChild, waitFor } from "../test/groups-helpers.ts";
import { REPO_ROOT, removeDir, startBroker } from "../test/harness.ts";
import { RawConnection } from "../test/raw-kafka.ts";
import type { BenchRow } from "./types.ts";

const SECTION = "groups";
const PARTITIONS = 6;
const SESSION_MS = 1000;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function threeJoin(kafka: Kafka, topic: string, group: string): Promise<number> {
  const assigned = new Map<number, { generation: number; partitions: number[] }>();
  const consumers = [0, 1, 2].map(() => kafka.consumer({ groupId: group, sessionTimeout: 6000, heartbeatInterval: 100, maxWaitTimeInMs: 100 }));
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  consumers.forEach((c, i) =>
    c.on(c.events.GROUP_JOIN, (e) => {
      const generation = (c as unknown as { consumerGroup?: { generationId?: number } }).consumerGroup?.generationId ?? -1;
      assigned.set(i, { generation, partitions: (e.payload.memberAssignment as Record<string, number[]>)[topic] ?? [] });
      const all = [...assigned.values()];
      if (all.length === 3 && new Set(all.map((a) => a.generation)).size === 1 && all.flatMap((a) => a.partitions).length === PARTITIONS) resolveDone();
    }),
  );
  await Promise.all(consumers.map((c) => c.connect().then(() => c.subscribe({ topic, fromBeginning: true }))));
  const t0 = performance.now();
  await Promise.all(consumers.map((c) => c.run({ eachMessage: async () => {} })));
  await done;
  const ms = performance.now() - t0;
  await Promise.all(consumers.map((c) => c.disconnect()));
  return ms;
}

async function deathToReassignment(broker: string, topic: string, group: string): Promise<number> {
  const cfg = { broker, group, topic, sessionTimeoutMs: SESSION_MS, heartbeatIntervalMs: 100, rebalanceTimeoutMs: 5000 };
  const kids = ["a", "b", "c"].map((n) => LineChild.spawn(n, [BUN, `${REPO_ROOT}/test/fixtures/kafkajs-group-consumer.ts`, JSON.stringify(cfg)]));
  const lastJoin = (c: LineChild) => c.json<{ event: string; partitions?: number[]; generationId?: number }>().filter((e) => e.event === "joined").at(-1);
  const split = (cs: LineChild[]) => {
    const joins = cs.map(lastJoin);
    return joins.every((j) => j !== undefined) && new Set(joins.map((j) => j!.generationId)).size === 1 && joins.flatMap((j) => j!.partitions!).length === PARTITIONS;
  };
  try {
    await waitFor("three members", kids, () => split(kids), { timeoutMs: 30_000 });
    const t0 = performance.now();
    kids[2]!.kill("SIGKILL");
    await waitFor("two members holding everything", kids, () => split(kids.slice(0, 2)), { timeoutMs: 30_000, pollMs: 20 });
    return performance.now() - t0;
  } finally {
    for (const k of kids) k.kill("SIGKILL");
    await Promise.all(kids.map((k) => k.exited));
  }
}

async function commitsPerSecond(broker: string, topic: string, connections: number, seconds: number): Promise<number> {
  const conns = await Promise.all(Array.from({ length: connections }, () => RawConnection.open(broker)));
  let commits = 0;
  const deadline = performance.now() + seconds * 1000;
  const t0 = performance.now();
  await Promise.all(
    conns.map(async (conn, i) => {
      for (let offset = 0; performance.now() < deadline; offset++) {
        await conn.request(OffsetCommit, 8, {
          ...defaultOffsetCommitRequest(),
          groupId: `bench-commit-${i}`,
          generationIdOrMemberEpoch: -1,
          topics: [{ name: topic, partitions: [{ partitionIndex: i % PARTITIONS, committedOffset: BigInt(offset), committedLeaderEpoch: -1, commitTimestamp: -1n, committedMetadata: null }] }],
        });
        commits++;
      }
    }),
  );
  const rate = commits / ((performance.now() - t0) / 1000);
  for (const c of conns) c.close();
  return Math.round(rate);
}

/** ms from a lone member's first poll to its first record (a new group each time). */
async function loneFirstRecord(addr: string, topic: string, group: string, protocol: "consumer" | "classic"): Promise<number> {
  const [host, port] = addr.split(":");
  const client = new KafkaClient({ bootstrap: [{ host: host!, port: Number(port) }], clientId: "bench-lone" });
  const consumer = new Consumer(client, { topics: [topic], group: { id: group, protocol }, maxWaitMs: 100 });
  try {
    const t0 = performance.now();
    for (;;) {
      const chunks = await consumer.poll();
      if (chunks === null) throw new Error("the consumer ended before a record");
      if (chunks.some((c) => c.batches.length > 0)) return performance.now() - t0;
    }
  } finally {
    await consumer.close();
    await client.close();
  }
}

async function loneMembers(): Promise<BenchRow[]> {
  // Kafka's default initial rebalance delay (3000 ms), which only classic groups have.
  const broker = await startBroker();
  try {
    const kafka = new Kafka({ clientId: "bench-lone", brokers: [broker.kafka], logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: "bench-lone", messages: [{ value: "one" }] });
    await producer.disconnect();
    const rows: BenchRow[] = [];
    for (const protocol of ["consumer", "classic"] as const) {
      const runs: number[] = [];
      for (let i = 0; i < 3; i++) runs.push(await loneFirstRecord(broker.kafka, "bench-lone", `bench-lone-${protocol}-${i}`, protocol));
      rows.push({
        section: SECTION,
        name: `lone member, first poll → first record (${protocol === "consumer" ? "KIP-848" : "classic"})`,
        value: Math.round(median(runs)),
        unit: "ms",
        note: `median of 3; net/client Consumer, a new group each run, group.initial.rebalance.delay.ms 3000 (Kafka's default; classic groups only); runs ${runs.map((x) => x.toFixed(0)).join("/")} ms`,
      });
    }
    return rows;
  } finally {
    await broker.stop();
    removeDir(broker.dataDir);
  }
}

export async function run(): Promise<BenchRow[]> {
  const broker = await startBroker({ args: ["--group-min-session-timeout-ms", String(SESSION_MS), "--group-initial-rebalance-delay-ms", "0"] });
  const rows: BenchRow[] = [];
  try {
    const kafka = new Kafka({ clientId: "bench-groups", brokers: [broker.kafka], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: "bench-groups", numPartitions: PARTITIONS }] });
    await admin.disconnect();

    const joins: number[] = [];
    for (let i = 0; i < 3; i++) joins.push(await threeJoin(kafka, "bench-groups", `bench-join-${i}`));
    rows.push({ section: SECTION, name: "rebalance: 3 kafkajs members join an empty group", value: Math.round(median(joins)), unit: "ms", note: `median of 3; ${PARTITIONS} partitions, initial rebalance delay 0 (Kafka's default 3000 adds up to that), heartbeat 100 ms; runs ${joins.map((x) => x.toFixed(0)).join("/")} ms` });

    const deaths: number[] = [];
    for (let i = 0; i < 3; i++) deaths.push(await deathToReassignment(broker.kafka, "bench-groups", `bench-death-${i}`));
    const death = median(deaths);
    rows.push({ section: SECTION, name: "member SIGKILLed → survivors hold all partitions", value: Math.round(death), unit: "ms", note: `median of 3; session timeout ${SESSION_MS} ms, heartbeat 100 ms, kafkajs consumer processes; beyond the session timeout: ${Math.round(death - SESSION_MS)} ms` });

    rows.push({ section: SECTION, name: "OffsetCommit/s, 1 connection, one at a time", value: await commitsPerSecond(broker.kafka, "bench-groups", 1, 3), unit: "commits/s", note: "fsync=always: each answered after its fdatasync; OffsetCommit v8, 1 partition, generation -1" });
    rows.push({ section: SECTION, name: "OffsetCommit/s, 32 connections", value: await commitsPerSecond(broker.kafka, "bench-groups", 32, 3), unit: "commits/s", note: "fsync=always, group commit shares fdatasyncs; 32 groups, 1 partition each" });
  } finally {
    await broker.stop();
    removeDir(broker.dataDir);
  }
  rows.push(...(await loneMembers()));
  return rows;
}

if (import.meta.main) {
  for (const r of await run()) console.log(`${r.name}: ${r.value} ${r.unit}  (${r.note})`);
}
