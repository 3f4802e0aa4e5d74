// The CLI's transactions (issue #20 item 5): `produce --transactional-id ID --txn-records N`
// commits every N records (the rest at the end of input); `consume` reads committed data by
// default (an open transaction's records wait, an aborted one's never show, markers never print)
// and `--isolation read_uncommitted` shows everything; `topics describe` shows the LSO beside the
// end (HW) while a transaction is open.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Kafka, logLevel } from "kafkajs";
import { type BrokerProcess, removeDir, startBroker, streamctl } from "./harness.ts";

let broker: BrokerProcess;
beforeAll(async () => {
  broker = await startBroker();
});
afterAll(async () => {
  expect(await broker.stop()).toBe(0);
  removeDir(broker.dataDir);
});

const run = (args: string[], input?: string) => streamctl([...args, "--broker", broker.kafka], { input });

test("produce --transactional-id commits every --txn-records records, and the rest at the end of input", async () => {
  const input = Array.from({ length: 7 }, (_, i) => `t${i}`).join("\n") + "\n";
  const r = await run(["produce", "cli-txn", "--transactional-id", "cli-tx", "--txn-records", "3"], input);
  expect(r.code).toBe(0);
  expect(r.stderr).toMatch(/^streamctl: 7 records committed in 3 transactions \(.*\) to cli-txn, 0 failed\n$/);
  const read = await run(["consume", "cli-txn", "--until-end"]);
  expect(read.stdout).toBe(input);
  // Three commit markers sit among the records (offsets 3, 7 and 9): the end is 10.
  const described = await run(["topics", "describe", "cli-txn", "--json", "--http", "none"]);
  expect(JSON.parse(described.stdout).partitions[0]).toMatchObject({ start: 0, end: 10, lso: 10 });
  // A whole file in one transaction (no --txn-records).
  const whole = await run(["produce", "cli-txn", "--transactional-id", "cli-tx"], "w0\nw1\n");
  expect(whole.stderr).toMatch(/2 records committed in 1 transaction /);
});

test("produce --transactional-id: usage errors exit 2 with one line", async () => {
  const noId = await run(["produce", "cli-txn", "--txn-records", "3"], "x\n");
  expect([noId.code, noId.stderr]).toEqual([2, "streamctl: --txn-records: applies to --transactional-id, which is not given\n"]);
  const acks = await run(["produce", "cli-txn", "--transactional-id", "x", "--acks", "1"], "x\n");
  expect([acks.code, acks.stderr]).toEqual([2, "streamctl: --transactional-id: needs --acks all (not 1)\n"]);
  const zero = await run(["produce", "cli-txn", "--transactional-id", "x", "--txn-records", "0"], "x\n");
  expect(zero.code).toBe(2);
});

test("consume: read_committed by default (open and aborted transactions hidden), --isolation read_uncommitted shows them; describe shows the LSO below the end", async () => {
  const kafka = new Kafka({ clientId: "cli-txn", brokers: [broker.kafka], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: "cli-iso", numPartitions: 1 }] });
  await admin.disconnect();
  expect((await run(["produce", "cli-iso"], "before\n")).code).toBe(0);
  const producer = kafka.producer({ transactionalId: "cli-iso-tx", maxInFlightRequests: 1, idempotent: true });
  await producer.connect();
  const aborted = await producer.transaction();
  await aborted.send({ topic: "cli-iso", messages: [{ value: "aborted" }] });
  await aborted.abort();
  const open = await producer.transaction();
  await open.send({ topic: "cli-iso", messages: [{ value: "open1" }, { value: "open2" }] });

  // offsets: 0 before, 1 aborted, 2 abort marker, 3-4 open (LSO 3)
  const described = await run(["topics", "describe", "cli-iso", "--http", "none"]);
  expect(described.stdout).toMatch(/PARTITION +START +END +LSO +RECORDS/);
  expect(described.stdout).toMatch(/\n +0 +0 +5 +3 +5 /);
  expect((await run(["consume", "cli-iso", "--until-end"])).stdout).toBe("before\n");
  expect((await run(["consume", "cli-iso", "--until-end", "--isolation", "read_uncommitted"])).stdout).toBe("before\naborted\nopen1\nopen2\n");
  const bad = await run(["consume", "cli-iso", "--until-end", "--isolation", "serializable"]);
  expect(bad.code).toBe(2);

  await open.commit();
  await producer.disconnect();
  expect((await run(["consume", "cli-iso", "--until-end"])).stdout).toBe("before\nopen1\nopen2\n");
  const json = await run(["consume", "cli-iso", "--until-end", "--json"]);
  expect(json.stdout.trim().split("\n").map((l) => JSON.parse(l).offset)).toEqual([0, 3, 4]); // markers never print
}, 60_000);
