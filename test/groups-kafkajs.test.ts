// Consumer groups with kafkajs 2.2.4 (issue #4): three consumer processes share a 6-partition
// topic, one is SIGKILLed without leaving and the others take over its partitions after its
// session timeout, and a restarted group resumes exactly after its committed offsets. Each
// consumer is a child process (test/fixtures/kafkajs-group-consumer.ts) so it can die for real.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Kafka, logLevel } from "kafkajs";
import { type BrokerProcess, REPO_ROOT, removeDir, startBroker } from "./harness.ts";
import { BUN, LineChild, waitFor } from "./groups-helpers.ts";

const TOPIC = "groups-kjs";
const GROUP = "groups-kjs-g";
const PARTITIONS = 6;
const PER_PARTITION = 50;
const SESSION_TIMEOUT_MS = 3000;

let broker: BrokerProcess;
let kafka: Kafka;
const children: LineChild[] = [];

type Event = { event: string; partition?: number; offset?: number; value?: string; partitions?: number[]; generationId?: number };

beforeAll(async () => {
  broker = await startBroker({ args: ["--group-min-session-timeout-ms", "1000", "--group-initial-rebalance-delay-ms", "500"] });
  kafka = new Kafka({ clientId: "groups-test", brokers: [broker.kafka], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }] });
  await admin.disconnect();
});

afterAll(async () => {
  for (const c of children) c.kill();
  await Promise.all(children.map((c) => c.exited));
  expect(await broker.stop()).toBe(0);
  removeDir(broker.dataDir);
});

function consumer(name: string): LineChild {
  const cfg = { broker: broker.kafka, group: GROUP, topic: TOPIC, sessionTimeoutMs: SESSION_TIMEOUT_MS, heartbeatIntervalMs: 200, rebalanceTimeoutMs: 10_000 };
  const c = LineChild.spawn(name, [BUN, `${REPO_ROOT}/test/fixtures/kafkajs-group-consumer.ts`, JSON.stringify(cfg)]);
  children.push(c);
  return c;
}

/** Produces PER_PARTITION records to every partition, values "<round>-<p>-<i>"; returns them. */
async function produceRound(round: string): Promise<string[]> {
  const producer = kafka.producer();
  await producer.connect();
  const values: string[] = [];
  const messages = [];
  for (let p = 0; p < PARTITIONS; p++) {
    for (let i = 0; i < PER_PARTITION; i++) {
      const value = `${round}-${p}-${i}`;
      values.push(value);
      messages.push({ partition: p, value });
    }
  }
  await producer.send({ topic: TOPIC, messages, acks: -1 });
  await producer.disconnect();
  return values;
}

const events = (c: LineChild) => c.json<Event>();
const lastJoin = (c: LineChild) => events(c).filter((e) => e.event === "joined").at(-1);
const records = (c: LineChild) => events(c).filter((e) => e.event === "record");
const values = (cs: LineChild[]) => cs.flatMap((c) => records(c).map((r) => r.value!));

/** The group is Stable with these members, their latest assignments split all partitions. */
async function waitForSplit(cs: LineChild[], others: LineChild[] = []): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await waitFor(
      `${cs.length} members to split ${PARTITIONS} partitions`,
      [...cs, ...others],
      async () => {
        const joins = cs.map(lastJoin);
        if (joins.some((j) => j === undefined)) return false;
        if (new Set(joins.map((j) => j!.generationId)).size !== 1) return false;
        const all = joins.flatMap((j) => j!.partitions!).sort((a, b) => a - b);
        if (all.join() !== [...Array(PARTITIONS).keys()].join()) return false;
        const { groups } = await admin.describeGroups([GROUP]);
        return groups[0]!.state === "Stable" && groups[0]!.members.length === cs.length;
      },
      { timeoutMs: 30_000, describe: () => cs.map((c) => `${c.name}: ${JSON.stringify(lastJoin(c))} ${c.stderr}`).join("; ") },
    );
  } finally {
    await admin.disconnect();
  }
}

test("three kafkajs consumers share partitions, survive a SIGKILL, and resume after committed offsets", async () => {
  const [a, b, c] = [consumer("a"), consumer("b"), consumer("c")];
  await waitForSplit([a, b, c]);
  for (const x of [a, b, c]) expect(lastJoin(x)!.partitions!.length).toBe(2);

  // 1. Every record exactly once, each from the consumer that owns its partition.
  const round1 = await produceRound("r1");
  await waitFor("round 1 consumed", [a, b, c], () => values([a, b, c]).length >= round1.length, { describe: () => `${values([a, b, c]).length}/${round1.length}` });
  expect(values([a, b, c]).sort()).toEqual([...round1].sort());
  for (const x of [a, b, c]) {
    const owned = new Set(lastJoin(x)!.partitions);
    for (const r of records(x)) expect(owned.has(r.partition!)).toBe(true);
  }

  // 2. SIGKILL c (no LeaveGroup): after its session timeout a and b split all six partitions.
  const cPartitions = lastJoin(c)!.partitions!;
  c.kill("SIGKILL");
  await c.exited;
  await waitForSplit([a, b], [c]);
  const round2 = await produceRound("r2");
  await waitFor("round 2 consumed", [a, b], () => round2.every((v) => values([a, b]).includes(v)), {
    describe: () => `${round2.filter((v) => !values([a, b]).includes(v)).length} missing`,
  });
  // Nothing skipped; re-reads only of records c had read but maybe not committed (its partitions).
  const seen = values([a, b, c]);
  for (const v of [...round1, ...round2]) expect(seen).toContain(v);
  const counts = new Map<string, number>();
  for (const v of seen) counts.set(v, (counts.get(v) ?? 0) + 1);
  for (const [v, n] of counts) {
    if (n > 1) {
      expect(v.startsWith("r1-")).toBe(true);
      expect(cPartitions).toContain(Number(v.split("-")[1]));
    }
  }
  for (const v of round2) expect(counts.get(v)).toBe(1);

  // 3. Stop a and b cleanly (commit + LeaveGroup): the committed offsets are the end offsets.
  a.kill("SIGTERM");
  b.kill("SIGTERM");
  expect(await a.exited).toBe(0);
  expect(await b.exited).toBe(0);
  const admin = kafka.admin();
  await admin.connect();
  try {
    const committed = await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] });
    const byPartition = committed[0]!.partitions.map((p) => ({ partition: p.partition, offset: p.offset })).sort((x, y) => x.partition - y.partition);
    expect(byPartition).toEqual([...Array(PARTITIONS).keys()].map((partition) => ({ partition, offset: String(2 * PER_PARTITION) })));
    const { groups } = await admin.describeGroups([GROUP]);
    expect(groups[0]!.state).toBe("Empty");
  } finally {
    await admin.disconnect();
  }

  // 4. New records, then the group restarts: it reads exactly those, nothing before them.
  const round3 = await produceRound("r3");
  const d = consumer("d");
  await waitFor("round 3 consumed", [d], () => records(d).length >= round3.length, { describe: () => `${records(d).length}/${round3.length} ${d.stderr}` });
  expect(values([d]).sort()).toEqual([...round3].sort());
  for (const r of records(d)) expect(r.offset!).toBeGreaterThanOrEqual(2 * PER_PARTITION);
  d.kill("SIGTERM");
  expect(await d.exited).toBe(0);
}, 120_000);
