// The producer against a scripted broker: batching by size and linger, retries in order, and the
// rule that a retry which would reorder records fails them instead (producer.ts, "Ordering rule").
import { afterEach, expect, test } from "bun:test";
import { Codec } from "../../core/batch/header.ts";
import { KafkaClient } from "./client.ts";
import { type ProduceRetry, Producer } from "./producer.ts";
import { ScriptedBroker } from "../testing/scripted-broker.ts";

const utf8 = new TextEncoder();
const NOT_LEADER = 6;
const MESSAGE_TOO_LARGE = 10;
let cleanup: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const c of cleanup) await c();
  cleanup = [];
});

async function setup(
  script: (n: number) => number,
  opts: { batchBytes?: number; lingerMs?: number; partitions?: number; retriesMax?: number; answerDelayMs?: number; deliveryTimeoutMs?: number; onRetry?: (r: ProduceRetry) => void } = {},
) {
  const broker = new ScriptedBroker("t", opts.partitions ?? 1, script, opts.answerDelayMs).start();
  const [host, port] = broker.address.split(":");
  const client = new KafkaClient({ bootstrap: [{ host: host!, port: Number(port) }] });
  const producer = new Producer(client, {
    codec: Codec.None,
    acks: -1,
    batchBytes: opts.batchBytes ?? 200,
    retriesMax: opts.retriesMax,
    lingerMs: opts.lingerMs ?? 1000,
    deliveryTimeoutMs: opts.deliveryTimeoutMs,
    onRetry: opts.onRetry,
  });
  cleanup.push(async () => {
    producer.close();
    await client.close();
    broker.stop();
  });
  await producer.prepare("t");
  return { broker, producer };
}

/** Appends `n` records of 17 bytes each: with batchBytes 200, ten per batch. */
function appendRecords(producer: Producer, n: number): string[] {
  const values = Array.from({ length: n }, (_, i) => `value-${String(i).padStart(4, "0")}`);
  for (const v of values) producer.append("t", 0, null, utf8.encode(v), null, 1_700_000_000_000);
  return values;
}

test("batches close at batchBytes; all go out pipelined before the first answer", async () => {
  const { broker, producer } = await setup(() => 0);
  const values = appendRecords(producer, 30);
  const summary = await producer.flush();
  expect(summary).toMatchObject({ acked: 30, failed: 0 });
  expect(broker.log).toEqual(values);
  expect(broker.produces.map((p) => p.values.length)).toEqual([10, 10, 10]);
  expect(broker.produces.map((p) => p.answeredBefore)).toEqual([0, 0, 0]);
});

test("linger: a partly full batch goes out after lingerMs without flush", async () => {
  const { broker, producer } = await setup(() => 0, { batchBytes: 1_000_000, lingerMs: 5 });
  appendRecords(producer, 3);
  while (broker.produces.length === 0) await new Promise((r) => setTimeout(r, 5));
  expect(broker.produces[0]!.values).toHaveLength(3);
  expect((await producer.flush()).acked).toBe(3);
});

test("linger 0: each turn's records go at once; while the window is full, later ones gather into one batch", async () => {
  const { broker, producer } = await setup(() => 0, { batchBytes: 1_000_000, lingerMs: 0, answerDelayMs: 200 });
  const values = Array.from({ length: 25 }, (_, i) => `v${i}`);
  for (const v of values) {
    producer.append("t", 0, null, utf8.encode(v), null, 0);
    await new Promise((r) => setImmediate(r));
  }
  expect(broker.produces.map((p) => p.values.length)).toEqual([1, 1, 1, 1, 1]);
  expect((await producer.flush()).acked).toBe(25);
  expect(broker.log).toEqual(values);
  // The 20 appended while five batches were unanswered went as one batch, not twenty.
  expect(broker.produces.map((p) => p.values.length)).toEqual([1, 1, 1, 1, 1, 20]);
});

test("a retriable error on every in-flight batch: all are resent in order, one at a time", async () => {
  const { broker, producer } = await setup((n) => (n <= 3 ? NOT_LEADER : 0));
  const values = appendRecords(producer, 30);
  const summary = await producer.flush();
  expect(summary).toMatchObject({ acked: 30, failed: 0 });
  expect(broker.log).toEqual(values);
  // Requests 4, 5, 6 are the retries: each sent only after the previous one was answered.
  expect(broker.produces.slice(3).map((p) => [p.values[0], p.answeredBefore])).toEqual([
    ["value-0000", 3],
    ["value-0010", 4],
    ["value-0020", 5],
  ]);
});

test("a transient error on one batch while a later one succeeded: failed, never reordered", async () => {
  const { broker, producer } = await setup((n) => (n === 1 ? NOT_LEADER : 0));
  const values = appendRecords(producer, 30);
  const summary = await producer.flush();
  expect(summary.acked).toBe(20);
  expect(summary.failed).toBe(10);
  expect(summary.errors[0]).toMatch(/not retried: a later batch of the partition was already written/);
  expect(broker.log).toEqual(values.slice(10));
});

test("a non-retriable error fails that batch only", async () => {
  const { broker, producer } = await setup((n) => (n === 2 ? MESSAGE_TOO_LARGE : 0));
  const values = appendRecords(producer, 30);
  const summary = await producer.flush();
  expect(summary).toMatchObject({ acked: 20, failed: 10 });
  expect(summary.errors).toEqual(["produce to t/0: MESSAGE_TOO_LARGE (10)"]);
  expect(broker.log).toEqual([...values.slice(0, 10), ...values.slice(20)]);
});

test("retries give up after the attempt limit and report the count", async () => {
  const { producer } = await setup(() => NOT_LEADER, { retriesMax: 3 });
  appendRecords(producer, 5);
  const summary = await producer.flush();
  expect(summary).toMatchObject({ acked: 0, failed: 5 });
  expect(summary.errors[0]).toMatch(/NOT_LEADER_OR_FOLLOWER \(6\) \(after 3 attempts\)/);
});

test("keyed records go to murmur2 partitions; keyless ones stick to one partition per batch", async () => {
  const { broker, producer } = await setup(() => 0, { partitions: 4, batchBytes: 1_000_000 });
  for (let i = 0; i < 8; i++) producer.append("t", -1, utf8.encode(`k${i % 2}`), utf8.encode(`keyed${i}`), null, 0);
  for (let i = 0; i < 5; i++) producer.append("t", -1, null, utf8.encode(`free${i}`), null, 0);
  await producer.flush();
  const all = broker.produces.flatMap((p) => p.values);
  expect(all.sort()).toEqual([...Array.from({ length: 8 }, (_, i) => `keyed${i}`), ...Array.from({ length: 5 }, (_, i) => `free${i}`)].sort());
});

test("delivery timeout: a partition that keeps failing retriably is reported at each retry, then fails at the timeout, not at an attempt limit (issue #22)", async () => {
  const retries: ProduceRetry[] = [];
  const { producer } = await setup(() => NOT_LEADER, { retriesMax: Infinity, deliveryTimeoutMs: 600, onRetry: (r) => void retries.push(r) });
  appendRecords(producer, 10);
  const started = performance.now();
  const summary = await producer.flush();
  expect(summary).toMatchObject({ acked: 0, failed: 10 });
  expect(summary.errors[0]).toMatch(/^produce to t\/0: not acknowledged within the delivery timeout of 600 ms \(\d+ attempts; last error: produce to t\/0: NOT_LEADER_OR_FOLLOWER \(6\)\)$/);
  expect(performance.now() - started).toBeLessThan(600 + 1000); // the timeout and one backoff at most
  expect(retries.length).toBeGreaterThanOrEqual(2);
  expect(retries.map((r) => r.attempt)).toEqual(retries.map((_, i) => i + 1));
  expect(retries[0]).toMatchObject({ topic: "t", partition: 0, records: 10 });
});

test("delivery timeout: a batch whose answer does not come fails at the timeout without waiting for it (issue #22)", async () => {
  const { producer } = await setup(() => 0, { deliveryTimeoutMs: 300, answerDelayMs: 5_000 });
  appendRecords(producer, 10);
  const started = performance.now();
  const summary = await producer.flush();
  expect(summary).toMatchObject({ acked: 0, failed: 10 });
  expect(summary.errors[0]).toMatch(/delivery timeout of 300 ms .*still unanswered: it may have been written$/);
  expect(performance.now() - started).toBeLessThan(3_000);
});
