// compression.type on a real broker with a real client (issue #21 item 2): kcat (librdkafka)
// producing lz4 and uncompressed batches into a topic whose compression.type is gzip; the batches
// on disk are gzip, kcat reads back exactly what it wrote, and the config is no longer reported as
// having no effect.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type BrokerProcess, kcat, removeDir, startBroker, storedBatches, streamctl } from "./harness.ts";
import { api } from "./http-helpers.ts";

const GZIP = 1;
let broker: BrokerProcess;

beforeAll(async () => {
  broker = await startBroker();
});

afterAll(async () => {
  expect(await broker.stop()).toBe(0);
  removeDir(broker.dataDir);
});

test("kcat producing lz4 and uncompressed into a compression.type=gzip topic: stored as gzip, read back the same", async () => {
  const topic = "gz-topic";
  const env = { STREAMCTL_BROKER: broker.kafka, STREAMCTL_HTTP: broker.http };
  const created = await streamctl(["topics", "create", topic, "--partitions", "1", "--config", "compression.type=gzip"], { env });
  expect(created.code).toBe(0);

  const lz4Lines = Array.from({ length: 200 }, (_, i) => `k${i}\tlz4 value ${i} ${"x".repeat(i % 37)}`);
  const plainLines = Array.from({ length: 50 }, (_, i) => `p${i}\tplain value ${i}`);
  const lz4 = await kcat(broker.kafka, ["-P", "-t", topic, "-p", "0", "-z", "lz4", "-K", "\t", "-X", "linger.ms=200"], { input: lz4Lines.join("\n") + "\n" });
  expect([lz4.code, lz4.stderr]).toEqual([0, ""]);
  const plain = await kcat(broker.kafka, ["-P", "-t", topic, "-p", "0", "-K", "\t", "-H", "h1=v1", "-X", "linger.ms=200"], { input: plainLines.join("\n") + "\n" });
  expect([plain.code, plain.stderr]).toEqual([0, ""]);

  // What is on disk: every batch gzip, all 250 records in them.
  const batches = storedBatches(broker.dataDir, topic);
  expect(batches.length).toBeGreaterThan(0);
  expect(batches.map(([codec]) => codec)).toEqual(batches.map(() => GZIP));
  expect(batches.reduce((n, [, count]) => n + count, 0)).toBe(250);

  const consumed = await kcat(broker.kafka, ["-C", "-t", topic, "-o", "beginning", "-e", "-f", "%k\t%s\t%h\n"], { timeoutMs: 30_000 });
  expect(consumed.code).toBe(0);
  const lines = consumed.stdout.trimEnd().split("\n");
  expect(lines.map((l) => l.split("\t").slice(0, 2).join("\t"))).toEqual([...lz4Lines, ...plainLines]);
  expect(lines.slice(200).every((l) => l.endsWith("\th1=v1"))).toBe(true);

  // The config acts now: the control plane no longer lists it among those without effect, and
  // `topics describe` shows it set on the topic.
  const doc = await api(broker.http, `/v1/topics/${topic}`);
  expect(doc.json.noEffect).toEqual([]);
  expect(doc.json.configs["compression.type"]).toBe("gzip");
  const described = await streamctl(["topics", "describe", topic, "--json"], { env });
  expect(described.code).toBe(0);
  const d = JSON.parse(described.stdout);
  expect([d.configs["compression.type"], d.overrides["compression.type"]]).toEqual(["gzip", "gzip"]);
}, 60_000);
