// kcat 1.7.1 (librdkafka 2.0.2) balanced consumers (`-G`) against the broker (issue #4): two
// processes in one group split the partitions and together read every record exactly once.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Kafka, logLevel } from "kafkajs";
import { type BrokerProcess, kcat, removeDir, startBroker } from "./harness.ts";
import { LineChild, waitFor } from "./groups-helpers.ts";

const TOPIC = "groups-kcat";
const GROUP = "groups-kcat-g";
const PARTITIONS = 6;
const RECORDS = 3000;

let broker: BrokerProcess;
const children: LineChild[] = [];

beforeAll(async () => {
  broker = await startBroker({ args: ["--group-min-session-timeout-ms", "1000", "--group-initial-rebalance-delay-ms", "500"] });
});

afterAll(async () => {
  for (const c of children) c.kill();
  await Promise.all(children.map((c) => c.exited));
  expect(await broker.stop()).toBe(0);
  removeDir(broker.dataDir);
});

function balancedConsumer(name: string): LineChild {
  const c = LineChild.spawn(name, [
    "kcat", "-b", broker.kafka, "-G", GROUP, TOPIC, "-u", "-f", "%p|%o|%s\n",
    "-X", "auto.offset.reset=earliest", "-X", "session.timeout.ms=3000", "-X", "heartbeat.interval.ms=200",
  ]);
  children.push(c);
  return c;
}

/** Partitions in kcat's latest "% Group … rebalanced …: assigned: t [0], t [3]" line. */
function assigned(c: LineChild): number[] | null {
  const lines = c.stderr.split("\n").filter((l) => l.includes("rebalanced") && l.includes("assigned:"));
  const last = lines.at(-1);
  if (last === undefined) return null;
  return [...last.matchAll(/\[(\d+)\]/g)].map((m) => Number(m[1])).sort((a, b) => a - b);
}

test("two kcat -G consumers split six partitions and read every record once", async () => {
  const kafka = new Kafka({ clientId: "groups-kcat-test", brokers: [broker.kafka], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }] });
    const [a, b] = [balancedConsumer("a"), balancedConsumer("b")];
    await waitFor(
      "both kcat consumers to hold disjoint halves of the partitions",
      [a, b],
      async () => {
        const [pa, pb] = [assigned(a), assigned(b)];
        if (pa === null || pb === null || pa.length === 0 || pb.length === 0) return false;
        if ([...pa, ...pb].sort((x, y) => x - y).join() !== [...Array(PARTITIONS).keys()].join()) return false;
        const { groups } = await admin.describeGroups([GROUP]);
        return groups[0]!.state === "Stable" && groups[0]!.members.length === 2;
      },
      { timeoutMs: 30_000, describe: () => `a: ${a.stderr}\nb: ${b.stderr}` },
    );

    const lines = Array.from({ length: RECORDS }, (_, i) => `k${i}:v${i}`);
    const produced = await kcat(broker.kafka, ["-P", "-t", TOPIC, "-K", ":"], { input: `${lines.join("\n")}\n` });
    expect(produced.code).toBe(0);

    const rows = () => [a, b].flatMap((c) => c.lines.map((l) => ({ c, l })));
    await waitFor("every record consumed", [a, b], () => rows().length >= RECORDS, { describe: () => `${rows().length}/${RECORDS}` });
    const values = rows().map((r) => r.l.split("|")[2]!);
    expect(values.sort()).toEqual(lines.map((l) => l.split(":")[1]!).sort());
    // Each consumer read only the partitions it was assigned, and both did some of the work.
    for (const c of [a, b]) {
      const mine = new Set(assigned(c));
      expect(c.lines.length).toBeGreaterThan(0);
      for (const l of c.lines) expect(mine.has(Number(l.split("|")[0]))).toBe(true);
    }
    for (const c of [a, b]) c.kill("SIGTERM");
    await Promise.all([a.exited, b.exited]);
  } finally {
    await admin.disconnect();
  }
}, 60_000);
