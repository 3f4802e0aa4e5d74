// The consumer group protocol (KIP-848) with a real client: @platformatic/kafka 2.12.1 with
// groupProtocol "consumer" (ConsumerGroupHeartbeat, OffsetCommit/OffsetFetch v9), the one client
// installable here that speaks it (kafkajs does not; Debian's kcat is librdkafka 2.0.2, before
// KIP-848; @confluentinc/kafka-javascript downloads librdkafka at install, which cannot happen
// here). It runs in this test process under Bun. Checked (issue #21):
// - a lone member is assigned on its first heartbeat, with no group.initial.rebalance.delay.ms
//   (a classic kcat member waits it out: 3 s by default, as Kafka);
// - a second member: the first revokes half before the second gets them, and at no sampled moment
//   do the two hold one partition; every record is read; the group is Stable at one epoch;
// - ConsumerGroupDescribe and ListGroups v5 (group type "consumer") report it;
// - the first leaving: the second ends up with every partition.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Consumer, stringDeserializers } from "@platformatic/kafka";
import { ConsumerGroupDescribe, ListGroups } from "../net/protocol/messages/index.ts";
import { type BrokerProcess, kcat, removeDir, startBroker } from "./harness.ts";
import { RawConnection } from "./raw-kafka.ts";

const TOPIC = "kip848";
const PARTITIONS = 4;
let broker: BrokerProcess;

beforeAll(async () => {
  broker = await startBroker({ args: ["--group-consumer-heartbeat-interval-ms", "200", "--group-consumer-session-timeout-ms", "10000", "--default-partitions", String(PARTITIONS)] });
  const lines = Array.from({ length: 40 }, (_, i) => `v${i}`);
  expect((await kcat(broker.kafka, ["-P", "-t", TOPIC, "-p", "-1"], { input: `${lines.join("\n")}\n` })).code).toBe(0);
});

afterAll(async () => {
  expect(await broker.stop()).toBe(0);
  removeDir(broker.dataDir);
});

function member(name: string) {
  const consumer = new Consumer({
    groupId: "kip848-g",
    clientId: name,
    bootstrapBrokers: [broker.kafka],
    groupProtocol: "consumer",
    deserializers: stringDeserializers,
    // The client checks it against its (classic) session timeout default, 60 s.
    rebalanceTimeout: 60_000,
  });
  const values: string[] = [];
  return {
    consumer,
    values,
    partitions: (): number[] => (consumer.assignments ?? []).flatMap((a) => a.partitions).sort((a, b) => a - b),
    async start() {
      const stream = await consumer.consume({ topics: [TOPIC], mode: "committed", fallbackMode: "earliest", autocommit: 100 });
      stream.on("data", (m) => values.push(String(m.value)));
      return stream;
    },
  };
}

async function until(what: string, check: () => boolean, timeoutMs = 15_000, sample?: () => void): Promise<number> {
  const started = Date.now();
  while (!check()) {
    sample?.();
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
  return Date.now() - started;
}

test("@platformatic/kafka with groupProtocol=consumer: assigned at once, revoke-then-assign between two members, describe, leave (KIP-848)", async () => {
  const a = member("a");
  const started = Date.now();
  const streamA = await a.start();
  await until("a lone member to hold every partition", () => a.partitions().length === PARTITIONS);
  const waited = Date.now() - started;
  expect(waited).toBeLessThan(2500); // no initial rebalance delay (3000 ms for classic groups)
  await until("a to read every record", () => a.values.length === 40);

  const b = member("b");
  const streamB = await b.start();
  let overlap: string | null = null;
  const sample = () => {
    const pa = new Set(a.partitions());
    const both = b.partitions().filter((p) => pa.has(p));
    if (both.length > 0 && overlap === null) overlap = `a ${a.partitions()} b ${b.partitions()}`;
  };
  await until("the two members to split the partitions", () => a.partitions().length === 2 && b.partitions().length === 2, 15_000, sample);
  expect(overlap).toBeNull();
  expect([...a.partitions(), ...b.partitions()].sort()).toEqual([0, 1, 2, 3]);

  // More records: each lands with the member that owns its partition, once.
  expect((await kcat(broker.kafka, ["-P", "-t", TOPIC, "-p", "-1"], { input: Array.from({ length: 40 }, (_, i) => `w${i}`).join("\n") + "\n" })).code).toBe(0);
  await until("every new record read", () => [...a.values, ...b.values].filter((v) => v.startsWith("w")).length >= 40, 15_000, sample);
  expect(overlap).toBeNull();
  const all = [...a.values, ...b.values];
  expect(new Set(all.filter((v) => v.startsWith("w"))).size).toBe(40);
  expect(b.values.filter((v) => v.startsWith("v")).length).toBe(0); // a committed them before handing over

  const conn = await RawConnection.open(broker.kafka);
  try {
    const describe = () => conn.request(ConsumerGroupDescribe, 0, { groupIds: ["kip848-g", "nope"], includeAuthorizedOperations: false });
    let described = await describe();
    for (let i = 0; i < 50 && described.groups[0]!.groupState !== "Stable"; i++) {
      await Bun.sleep(100);
      described = await describe();
    }
    const g = described.groups[0]!;
    expect([g.errorCode, g.assignorName, g.members.length, g.groupEpoch, g.assignmentEpoch]).toEqual([0, "uniform", 2, 2, 2]);
    expect(g.members.map((m) => m.clientId).sort()).toEqual(["a", "b"]);
    expect(g.members.every((m) => m.memberEpoch === 2 && m.subscribedTopicNames.join() === TOPIC)).toBe(true);
    expect(g.members.flatMap((m) => m.assignment.topicPartitions.map((t) => t.topicName))).toEqual([TOPIC, TOPIC]);
    expect(described.groups[1]!.errorCode).toBe(69); // GROUP_ID_NOT_FOUND
    const listed = await conn.request(ListGroups, 5, { statesFilter: [], typesFilter: ["consumer"] });
    expect(listed.groups.map((x) => [x.groupId, x.groupType, x.groupState])).toEqual([["kip848-g", "consumer", "Stable"]]);
  } finally {
    conn.close();
  }

  await streamA.close();
  await a.consumer.close();
  await until("b to take every partition after a left", () => b.partitions().length === PARTITIONS);
  await streamB.close();
  await b.consumer.close();
  expect(broker.stderr()).toContain("consumer group kip848-g: member");
}, 60_000);

test("a lone classic kcat member waits group.initial.rebalance.delay.ms (3 s by default), as Kafka does", async () => {
  const started = Date.now();
  const r = await kcat(broker.kafka, ["-G", "classic-lone", TOPIC, "-c", "1", "-X", "auto.offset.reset=earliest"], { timeoutMs: 20_000 });
  expect(r.code).toBe(0);
  expect(Date.now() - started).toBeGreaterThanOrEqual(3000);
}, 30_000);
