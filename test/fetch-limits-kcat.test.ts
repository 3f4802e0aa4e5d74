// kcat (librdkafka 2.0.2) consuming with a small fetch.max.bytes from partitions of large batches
// (issue #21). librdkafka refuses any answer larger than receive.message.max.bytes: when a Fetch
// answer went past max_bytes (a later partition's first batch added whole on top of the limit), it
// logged "Invalid response size", dropped the connection and fetched the same thing again forever.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type BrokerProcess, kcat, removeDir, startBroker, storedBatches } from "./harness.ts";
import { postJson } from "./http-helpers.ts";

let broker: BrokerProcess;

beforeAll(async () => {
  broker = await startBroker();
});

afterAll(async () => {
  expect(await broker.stop()).toBe(0);
  removeDir(broker.dataDir);
});

const PARTITIONS = 4;
const RECORDS = 1500; // per partition, ~1 kB each: ~300 kB batches, five per partition

test("kcat reads every record of four partitions of ~300 kB batches with fetch.max.bytes=500000", async () => {
  const topic = "fetch-max-bytes";
  expect((await postJson(broker.http, "/v1/topics", { name: topic, partitions: PARTITIONS })).status).toBe(201);
  // Incompressible-looking values, deterministic: a line per record, its partition and index first.
  let seed = 21;
  const noise = (n: number) => {
    let s = "";
    for (let i = 0; i < n; i++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      s += String.fromCharCode(97 + (seed % 26));
    }
    return s;
  };
  for (let p = 0; p < PARTITIONS; p++) {
    const lines = Array.from({ length: RECORDS }, (_, i) => `p${p}-${i}-${noise(1000)}`);
    const produced = await kcat(broker.kafka, ["-P", "-t", topic, "-p", String(p), "-X", "linger.ms=1000", "-X", "batch.size=300000", "-X", "batch.num.messages=100000"], {
      input: lines.join("\n") + "\n",
    });
    expect([produced.code, produced.stderr]).toEqual([0, ""]);
  }
  // The premise: several batches per partition of a few hundred records (~300 kB), each smaller
  // than fetch.max.bytes, two of them larger.
  const sizes = storedBatches(broker.dataDir, topic, 1).map(([, count]) => count);
  expect(sizes.length).toBeGreaterThan(2);
  expect(Math.max(...sizes)).toBeGreaterThan(200);

  const consumed = await kcat(
    broker.kafka,
    ["-C", "-t", topic, "-o", "beginning", "-e", "-f", "%p %s\n", "-X", "fetch.max.bytes=500000", "-X", "message.max.bytes=400000", "-X", "receive.message.max.bytes=500512"],
    { timeoutMs: 30_000 },
  );
  expect(consumed.stderr).not.toContain("Invalid response size");
  expect(consumed.code).toBe(0);
  const byPartition = new Map<string, string[]>();
  for (const line of consumed.stdout.trimEnd().split("\n")) {
    const [p, value] = line.split(" ") as [string, string];
    byPartition.set(p, [...(byPartition.get(p) ?? []), value.split("-").slice(0, 2).join("-")]);
  }
  for (let p = 0; p < PARTITIONS; p++) {
    expect(byPartition.get(String(p))).toEqual(Array.from({ length: RECORDS }, (_, i) => `p${p}-${i}`));
  }
}, 60_000); // 6 MB through kcat twice: about 3 s here, 5.6 s at load average 14
