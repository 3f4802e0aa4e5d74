// Transactions with real clients against the binary (issue #20): kafkajs `producer.transaction()`
// with send + sendOffsets + commit, and abort; read_committed readers (kafkajs, kcat with
// isolation.level=read_committed, our consumer) see none of an aborted transaction and all of a
// committed one, in order; a zombie producer of an old epoch is fenced; our transactional producer
// (net/client) commits and aborts; and a broker SIGKILLed while a transaction of two partitions is
// being committed ends it whole or not at all once it restarts.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Kafka, logLevel } from "kafkajs";
import { Codec } from "../core/batch/header.ts";
import { seededRandom } from "../core/testing/seed.ts";
import { KafkaClient } from "../net/client/client.ts";
import { Consumer } from "../net/client/consumer.ts";
import { Producer } from "../net/client/producer.ts";
import { type BrokerProcess, kcat, removeDir, startBroker, tempDir } from "./harness.ts";

const utf8 = new TextEncoder();
const text = new TextDecoder();

let broker: BrokerProcess;
beforeAll(async () => {
  broker = await startBroker({ args: ["--group-initial-rebalance-delay-ms", "0"] });
});
afterAll(async () => {
  expect(await broker.stop()).toBe(0);
  removeDir(broker.dataDir);
});

function kafkajs(b = broker) {
  return new Kafka({ clientId: "txn-test", brokers: [b.kafka], logLevel: logLevel.NOTHING, retry: { retries: 5, initialRetryTime: 100 } });
}

function ourClient(b = broker): KafkaClient {
  const [host, port] = b.kafka.split(":");
  return new KafkaClient({ bootstrap: [{ host: host!, port: Number(port) }], clientId: "txn-test" });
}

async function createTopic(name: string, numPartitions: number): Promise<void> {
  const admin = kafkajs().admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: name, numPartitions }] });
  await admin.disconnect();
}

/** Values of one partition read to its end with kcat (read_committed unless told otherwise). */
async function kcatValues(topic: string, partition: number, isolation = "read_committed"): Promise<string[]> {
  const out = await kcat(broker.kafka, ["-C", "-t", topic, "-p", String(partition), "-o", "beginning", "-e", "-q", "-X", `isolation.level=${isolation}`, "-f", "%s\n"]);
  expect(out.code).toBe(0);
  return out.stdout.split("\n").filter((l) => l !== "");
}

/** Values our consumer reads from every partition of `topic` to its end, per partition. */
async function ourValues(topic: string, isolation: "read_committed" | "read_uncommitted", b = broker): Promise<Map<number, string[]>> {
  const client = ourClient(b);
  const consumer = new Consumer(client, { topics: [topic], stopAtEnd: true, isolation, maxWaitMs: 100 });
  const out = new Map<number, string[]>();
  try {
    for await (const r of consumer) out.set(r.partition, [...(out.get(r.partition) ?? []), text.decode(r.value!)]);
  } finally {
    await consumer.close();
    await client.close();
  }
  return out;
}

const range = (prefix: string, from: number, to: number) => Array.from({ length: to - from }, (_, i) => `${prefix}${from + i}`);

test("kafkajs: send + sendOffsets + commit, and abort; kafkajs and kcat read_committed see the committed transactions only, in order", async () => {
  await createTopic("kjs-txn", 1);
  await createTopic("kjs-in", 1);
  const kafka = kafkajs();
  const producer = kafka.producer({ transactionalId: "kjs-tx", maxInFlightRequests: 1, idempotent: true });
  await producer.connect();
  const t1 = await producer.transaction();
  await t1.send({ topic: "kjs-txn", messages: range("c", 0, 5).map((value) => ({ value })) });
  await t1.sendOffsets({ consumerGroupId: "kjs-group", topics: [{ topic: "kjs-in", partitions: [{ partition: 0, offset: "5" }] }] });
  await t1.commit();
  const t2 = await producer.transaction();
  await t2.send({ topic: "kjs-txn", messages: range("a", 0, 5).map((value) => ({ value })) });
  await t2.sendOffsets({ consumerGroupId: "kjs-group", topics: [{ topic: "kjs-in", partitions: [{ partition: 0, offset: "10" }] }] });
  await t2.abort();
  const t3 = await producer.transaction();
  await t3.send({ topic: "kjs-txn", messages: range("c", 5, 10).map((value) => ({ value })) });
  await t3.commit();
  await producer.disconnect();
  const plain = kafka.producer();
  await plain.connect();
  await plain.send({ topic: "kjs-txn", messages: [{ value: "end" }] });
  await plain.disconnect();

  // The group's offset is the committed transaction's, not the aborted one's.
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchOffsets({ groupId: "kjs-group", topics: ["kjs-in"] });
  await admin.disconnect();
  expect(offsets[0]!.partitions[0]!.offset).toBe("5");

  const expected = [...range("c", 0, 10), "end"];
  expect(await kcatValues("kjs-txn", 0)).toEqual(expected);
  expect(await kcatValues("kjs-txn", 0, "read_uncommitted")).toEqual([...range("c", 0, 5), ...range("a", 0, 5), ...range("c", 5, 10), "end"]);

  const consumer = kafka.consumer({ groupId: "kjs-reader", readUncommitted: false, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic: "kjs-txn", fromBeginning: true });
  const seen: string[] = [];
  await new Promise<void>((resolve, reject) => {
    consumer
      .run({
        eachMessage: async ({ message }) => {
          seen.push(message.value!.toString());
          if (message.value!.toString() === "end") resolve();
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  expect(seen).toEqual(expected);
}, 60_000);

test("kafkajs: a zombie producer of an old epoch is fenced; its open transaction is aborted", async () => {
  await createTopic("zombie", 1);
  const kafka = kafkajs();
  const zombie = kafka.producer({ transactionalId: "zombie-tx", maxInFlightRequests: 1, idempotent: true, retry: { retries: 1 } });
  await zombie.connect();
  const zt = await zombie.transaction();
  await zt.send({ topic: "zombie", messages: [{ value: "z1" }] });
  const fresh = kafka.producer({ transactionalId: "zombie-tx", maxInFlightRequests: 1, idempotent: true });
  await fresh.connect();
  const ft = await fresh.transaction(); // InitProducerId with the id: the epoch goes up, the zombie's transaction is aborted
  await expect(zt.send({ topic: "zombie", messages: [{ value: "z2" }] })).rejects.toThrow();
  await expect(zt.commit()).rejects.toThrow();
  await ft.send({ topic: "zombie", messages: [{ value: "f1" }] });
  await ft.commit();
  await fresh.disconnect();
  await zombie.disconnect().catch(() => {});
  expect(await kcatValues("zombie", 0)).toEqual(["f1"]);
  expect(await kcatValues("zombie", 0, "read_uncommitted")).toEqual(["z1", "f1"]);
}, 60_000);

test("our client: a transactional producer commits and aborts across partitions; our consumer reads committed by default", async () => {
  await createTopic("ours-txn", 2);
  const client = ourClient();
  const producer = new Producer(client, { codec: Codec.Lz4, acks: -1, lingerMs: 0, transactionalId: "ours-tx" });
  try {
    await producer.prepare("ours-txn");
    const put = (prefix: string, n: number) => {
      for (let i = 0; i < n; i++) producer.append("ours-txn", i % 2, null, utf8.encode(`${prefix}${i}`), null, Date.now());
    };
    await producer.beginTransaction();
    put("c", 10);
    await producer.commitTransaction();
    await producer.beginTransaction();
    put("a", 10);
    await producer.flush();
    await producer.abortTransaction();
    await producer.beginTransaction();
    put("d", 4);
    expect((await producer.commitTransaction()).failed).toBe(0);
  } finally {
    producer.close();
    await client.close();
  }
  const committed = await ourValues("ours-txn", "read_committed");
  expect(committed.get(0)).toEqual(["c0", "c2", "c4", "c6", "c8", "d0", "d2"]);
  expect(committed.get(1)).toEqual(["c1", "c3", "c5", "c7", "c9", "d1", "d3"]);
  const all = await ourValues("ours-txn", "read_uncommitted");
  expect(all.get(0)).toEqual(["c0", "c2", "c4", "c6", "c8", "a0", "a2", "a4", "a6", "a8", "d0", "d2"]);
}, 60_000);

test("a broker SIGKILLed while a transaction of two partitions commits: after the restart it is there whole or not at all", async () => {
  const random = seededRandom(Number(process.env.TXN_CRASH_SEED ?? 20));
  const dataDir = tempDir("streamctl-txn-crash-");
  let b = await startBroker({ dataDir });
  // Restarts keep the port, so the producer's commit retries reach the restarted broker.
  const samePort = { dataDir, noDefaultListener: true, args: ["--kafka-listen", b.kafka] };
  const cycles = Number(process.env.TXN_CRASH_CYCLES ?? 6);
  const committedBeforeKill: number[] = [];
  const openAtKill: number[] = [];
  try {
    const admin = kafkajs(b).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: "crash-txn", numPartitions: 2 }] });
    await admin.disconnect();
    for (let cycle = 0; cycle < cycles; cycle++) {
      const client = ourClient(b);
      const producer = new Producer(client, { codec: Codec.None, acks: -1, lingerMs: 0, transactionalId: "crash-tx", retriesMax: 0, deliveryTimeoutMs: 5000 });
      await producer.prepare("crash-txn"); // aborts what the last cycle left open
      await producer.beginTransaction();
      for (let i = 0; i < 50; i++) producer.append("crash-txn", i % 2, null, utf8.encode(`k${cycle}-${i}`), null, Date.now());
      await producer.flush();
      if (random(3) === 0) {
        // Killed mid-transaction, before any EndTxn: the next producer of the id aborts it.
        await b.kill9();
        b = await startBroker(samePort);
        openAtKill.push(cycle);
      } else {
        let committed = false;
        const commit = producer.commitTransaction().then(
          () => void (committed = true),
          () => {},
        );
        await Bun.sleep(random(8)); // kill somewhere around the commit
        await b.kill9();
        b = await startBroker(samePort);
        await commit; // retried against the restarted broker: it commits, or fails if the transaction is gone
        if (committed) committedBeforeKill.push(cycle);
      }
      producer.close();
      await client.close();
    }
    // A last producer of the id: whatever the last cycle left open is aborted.
    const client = ourClient(b);
    const last = new Producer(client, { codec: Codec.None, acks: -1, transactionalId: "crash-tx" });
    await last.prepare("crash-txn");
    last.close();
    await client.close();
    const values = await ourValues("crash-txn", "read_committed", b);
    const outcome = (cycle: number) => {
      const inP0 = (values.get(0) ?? []).filter((v) => v.startsWith(`k${cycle}-`)).length;
      const inP1 = (values.get(1) ?? []).filter((v) => v.startsWith(`k${cycle}-`)).length;
      return `${cycle}: ${inP0 === 25 && inP1 === 25 ? "whole" : inP0 === 0 && inP1 === 0 ? "none" : `half (${inP0} + ${inP1})`}`;
    };
    const outcomes = Array.from({ length: cycles }, (_, c) => outcome(c));
    if (process.env.TXN_CRASH_VERBOSE) console.error(outcomes, committedBeforeKill, openAtKill);
    expect(outcomes.filter((o) => o.includes("half"))).toEqual([]);
    expect(committedBeforeKill.map(outcome)).toEqual(committedBeforeKill.map((c) => `${c}: whole`));
    expect(openAtKill.map(outcome)).toEqual(openAtKill.map((c) => `${c}: none`));
  } finally {
    await b.stop();
    removeDir(dataDir);
  }
}, 120_000);
