// The producer against a scripted broker: batching by size and linger, retries in order, and the
// rule that a retry which would reorder records fails them instead (producer.ts, "Ordering rule");
// against one that supports idempotence, the idempotent producer's retries (producer.ts,
// "Idempotence"; issue #20).
import { afterEach, describe, expect, test } from "bun:test";
import { Codec } from "../../core/batch/header.ts";
import { KafkaClient } from "./client.ts";
import { type ProduceRetry, Producer } from "./producer.ts";
import { ScriptedBroker, type ScriptedAnswer } from "../testing/scripted-broker.ts";

const utf8 = new TextEncoder();
const NOT_LEADER = 6;
const MESSAGE_TOO_LARGE = 10;
const OUT_OF_ORDER_SEQUENCE_NUMBER = 45;
let cleanup: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const c of cleanup) await c();
  cleanup = [];
});

interface SetupOptions {
  batchBytes?: number;
  lingerMs?: number;
  partitions?: number;
  retriesMax?: number;
  answerDelayMs?: number | ((n: number) => number);
  /** The broker supports InitProducerId and keeps producer sequences. */
  idempotentBroker?: boolean;
  idempotence?: boolean;
  acks?: -1 | 1;
  codec?: Codec;
  deliveryTimeoutMs?: number;
  onRetry?: (r: ProduceRetry) => void;
}

async function setup(script: (n: number) => ScriptedAnswer, opts: SetupOptions = {}) {
  const broker = new ScriptedBroker("t", opts.partitions ?? 1, script, opts.answerDelayMs, opts.idempotentBroker ?? false).start();
  const [host, port] = broker.address.split(":");
  const client = new KafkaClient({ bootstrap: [{ host: host!, port: Number(port) }] });
  const producer = new Producer(client, {
    codec: opts.codec ?? Codec.None,
    acks: opts.acks ?? -1,
    batchBytes: opts.batchBytes ?? 200,
    retriesMax: opts.retriesMax,
    lingerMs: opts.lingerMs ?? 1000,
    idempotence: opts.idempotence,
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

describe("idempotent producer (issue #20)", () => {
  const idem = (script: (n: number) => ScriptedAnswer, opts: SetupOptions = {}) => setup(script, { ...opts, idempotentBroker: true });

  test("on by default: a producer id from InitProducerId, each batch stamped with it, epoch 0 and the partition's next sequence", async () => {
    const { broker, producer } = await idem(() => 0, { partitions: 2 });
    const values = appendRecords(producer, 30);
    for (let i = 0; i < 5; i++) producer.append("t", 1, null, utf8.encode(`p1-${i}`), null, 0);
    expect(await producer.flush()).toMatchObject({ acked: 35, failed: 0 });
    expect(producer.idempotent).toBe(true);
    expect(broker.log.filter((v) => v.startsWith("value"))).toEqual(values);
    const stamps = broker.produces.flatMap((p) => p.stamps).sort((a, b) => a[2] - b[2]);
    // Partition 1 counts its own sequences from 0.
    expect(stamps).toEqual([
      [1000, 0, 0],
      [1000, 0, 0],
      [1000, 0, 10],
      [1000, 0, 20],
    ]);
  });

  test("an answer lost after the write, a later batch acknowledged: the retry is answered as a duplicate; every record once, in order, none failed", async () => {
    const { broker, producer } = await idem((n) => (n === 1 ? { code: NOT_LEADER, written: true } : 0));
    const values = appendRecords(producer, 30);
    expect(await producer.flush()).toMatchObject({ acked: 30, failed: 0 });
    expect(broker.log).toEqual(values);
    expect(broker.produces.map((p) => p.values[0])).toEqual(["value-0000", "value-0010", "value-0020", "value-0000"]);
  });

  test("every in-flight batch written but answered with an error: resent in order, stored once", async () => {
    const { broker, producer } = await idem((n) => (n <= 3 ? { code: NOT_LEADER, written: true } : 0));
    const values = appendRecords(producer, 30);
    expect(await producer.flush()).toMatchObject({ acked: 30, failed: 0 });
    expect(broker.log).toEqual(values);
    expect(broker.produces.slice(3).map((p) => [p.values[0], p.answeredBefore, p.stamps[0]])).toEqual([
      ["value-0000", 3, [1000, 0, 0]],
      ["value-0010", 4, [1000, 0, 10]],
      ["value-0020", 5, [1000, 0, 20]],
    ]);
  });

  test("OUT_OF_ORDER_SEQUENCE_NUMBER on the first unanswered batch: a new epoch, every unacknowledged batch resent from sequence 0, in order", async () => {
    const { broker, producer } = await idem((n) => (n === 1 ? OUT_OF_ORDER_SEQUENCE_NUMBER : 0));
    const values = appendRecords(producer, 30);
    expect(await producer.flush()).toMatchObject({ acked: 30, failed: 0 });
    expect(broker.log).toEqual(values);
    // Batches 2 and 3 were out of order behind batch 1 (the broker said so itself); then epoch 1,
    // asked of the broker with the current id and epoch (KIP-360).
    expect(broker.initRequests).toEqual([
      [-1, -1],
      [1000, 0],
    ]);
    expect(broker.produces.map((p) => p.stamps[0])).toEqual([
      [1000, 0, 0],
      [1000, 0, 10],
      [1000, 0, 20],
      [1000, 1, 0],
      [1000, 1, 10],
      [1000, 1, 20],
    ]);
  });

  test("a batch that fails for good leaves a gap: the batches after it go under a new epoch, nothing else fails", async () => {
    const { broker, producer } = await idem((n) => (n === 2 ? MESSAGE_TOO_LARGE : 0));
    const values = appendRecords(producer, 30);
    expect(await producer.flush()).toMatchObject({ acked: 20, failed: 10 });
    expect(broker.log).toEqual([...values.slice(0, 10), ...values.slice(20)]);
    expect(broker.produces.at(-1)!.stamps[0]).toEqual([1000, 1, 0]);
  });

  test("the batch behind one that failed for good is answered out of order and resent without a retry reported (issue #22's onRetry)", async () => {
    const retries: ProduceRetry[] = [];
    const { broker, producer } = await idem((n) => (n === 2 ? MESSAGE_TOO_LARGE : 0), { onRetry: (r) => void retries.push(r) });
    appendRecords(producer, 30);
    expect(await producer.flush()).toMatchObject({ acked: 20, failed: 10 });
    expect(broker.produces.length).toBe(4); // the third batch twice: out of order, then under epoch 1
    expect(retries).toEqual([]);
  });

  test("zstd batches compressed off the thread are stamped too, and restamped when an epoch bump caught them compressing", async () => {
    const { broker, producer } = await idem((n) => (n === 1 ? OUT_OF_ORDER_SEQUENCE_NUMBER : 0), { codec: Codec.Zstd, lingerMs: 0 });
    const values = appendRecords(producer, 30);
    expect(await producer.flush()).toMatchObject({ acked: 30, failed: 0 });
    expect(broker.log).toEqual(values);
    expect(broker.produces.at(-1)!.stamps[0]![1]).toBe(1);
  });

  test.each([
    ["a broker without InitProducerId", { idempotentBroker: false }],
    ["idempotence: false", { idempotence: false }],
    ["acks=1", { acks: 1 as const }],
  ])("plain batches with %s", async (_name, opts) => {
    const { broker, producer } = await setup(() => 0, { idempotentBroker: true, ...opts });
    appendRecords(producer, 10);
    expect(await producer.flush()).toMatchObject({ acked: 10, failed: 0 });
    expect(producer.idempotent).toBe(false);
    expect(broker.produces[0]!.stamps).toEqual([[-1, -1, -1]]);
  });
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

describe("delivery timeout with idempotence (issues #20, #22)", () => {
  const idem = (script: (n: number) => ScriptedAnswer, opts: SetupOptions = {}) => setup(script, { ...opts, idempotentBroker: true });

  test("a batch that expires while retried leaves a gap: the next batch goes under a new epoch from sequence 0, never out of order", async () => {
    let failing = true;
    const retries: ProduceRetry[] = [];
    const { broker, producer } = await idem(() => (failing ? NOT_LEADER : 0), { retriesMax: Infinity, deliveryTimeoutMs: 400, onRetry: (r) => void retries.push(r) });
    appendRecords(producer, 10);
    const first = await producer.flush();
    expect(first).toMatchObject({ acked: 0, failed: 10 });
    expect(first.errors[0]).toMatch(/delivery timeout of 400 ms/);
    expect(retries.length).toBeGreaterThanOrEqual(1);
    failing = false;
    const sentBefore = broker.produces.length;
    for (let i = 0; i < 10; i++) producer.append("t", 0, null, utf8.encode(`after-${i}`), null, 0);
    expect(await producer.flush()).toMatchObject({ acked: 10, failed: 10 });
    expect(broker.log).toEqual(Array.from({ length: 10 }, (_, i) => `after-${i}`));
    expect(broker.initRequests).toEqual([
      [-1, -1],
      [1000, 0],
    ]);
    // One send, stamped with the new epoch and sequence 0: the broker never saw a gap.
    expect(broker.produces.slice(sentBefore).map((p) => p.stamps[0])).toEqual([[1000, 1, 0]]);
  });

  test("a batch that expires in flight may have been written: the bump waits for its answer, which is not counted, then the next batch goes under a new epoch", async () => {
    const { broker, producer } = await idem(() => 0, { deliveryTimeoutMs: 600, answerDelayMs: (n) => (n === 1 ? 1_200 : 1) });
    const values = appendRecords(producer, 10);
    const started = performance.now();
    const first = await producer.flush();
    expect(first).toMatchObject({ acked: 0, failed: 10 });
    expect(first.errors[0]).toMatch(/still unanswered: it may have been written$/);
    expect(performance.now() - started).toBeLessThan(1_100); // not waiting for the answer
    // The next records come 1 s in: they wait for the late answer (at 1.2 s) within their own timeout.
    await Bun.sleep(1_000 - (performance.now() - started));
    for (let i = 0; i < 10; i++) producer.append("t", 0, null, utf8.encode(`after-${i}`), null, 0);
    expect(await producer.flush()).toMatchObject({ acked: 10, failed: 10 });
    // The first batch was written after all (its late success changes no count); the second one
    // was sent only once the first had answered, under epoch 1 from sequence 0.
    expect(broker.log).toEqual([...values, ...Array.from({ length: 10 }, (_, i) => `after-${i}`)]);
    expect(broker.produces.map((p) => [p.answeredBefore, p.stamps[0]])).toEqual([
      [0, [1000, 0, 0]],
      [1, [1000, 1, 0]],
    ]);
  });
});

test("set-aside batches are resent in the order their records were appended, whatever order their failures came in", () => {
  // Two in-flight batches of a partition failed, the later one's failure handled first: resent
  // (and after a new epoch restamped) in that order, they would be stored swapped.
  const client = new KafkaClient({ bootstrap: [{ host: "127.0.0.1", port: 9 }] });
  const producer = new Producer(client, { acks: -1, codec: Codec.None });
  const batch = (firstRecord: number) => ({ firstRecord, attempts: 1 });
  const q = { setAside: [batch(7), batch(3)], sealed: [batch(9)], notBefore: 0 };
  (producer as unknown as { requeueSetAside(q: unknown): void }).requeueSetAside(q);
  expect(q.sealed.map((b) => b.firstRecord)).toEqual([3, 7, 9]);
  expect(q.setAside).toEqual([]);
  producer.close();
  void client.close();
});
