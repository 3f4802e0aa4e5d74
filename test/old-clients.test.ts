// Clients from before Kafka 0.11 (issue #21): they produce message sets (magic 0/1) with Produce
// v0-2 and read them with Fetch v0-3. kafka-python (Debian's python3-kafka, 2.0.2) pinned to
// api_version (0,10) uses Produce v2 / Fetch v2 and magic 1, pinned to (0,9) Produce v1 / Fetch v1
// and magic 0; kcat with api.version.request=false and broker.version.fallback=0.9.0 does the
// same as the latter. Every record must arrive once, with its key, value and timestamp.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { type BrokerProcess, kcat, removeDir, runProcess, startBroker, storedBatches } from "./harness.ts";
import { postJson } from "./http-helpers.ts";

/** A Python with the kafka module: Debian's package lives beside /usr/bin/python3 (a pyenv shim may come first on PATH). */
const PYTHON = ["/usr/bin/python3", "python3"].find((p) => !p.startsWith("/") || existsSync(p))!;

const SCRIPT = `
import sys, json
from kafka import KafkaProducer, KafkaConsumer
mode, broker, topic, api, n, extra = sys.argv[1], sys.argv[2], sys.argv[3], tuple(int(x) for x in sys.argv[4].split('.')), int(sys.argv[5]), sys.argv[6]
if mode == 'produce':
    p = KafkaProducer(bootstrap_servers=broker, api_version=api, compression_type=None if extra == 'none' else extra, linger_ms=20, acks='all')
    futures = [p.send(topic, key=b'k%d' % i, value=b'v%d' % i, partition=i % 2, timestamp_ms=(1700000000000 + i) if api >= (0, 10) else None) for i in range(n)]
    for f in futures:
        md = f.get(timeout=30)
        print(json.dumps({'partition': md.partition, 'offset': md.offset}))
    p.close()
else:
    group = None if extra == 'none' else extra
    c = KafkaConsumer(bootstrap_servers=broker, api_version=api, group_id=group, auto_offset_reset='earliest', enable_auto_commit=False, consumer_timeout_ms=15000)
    c.subscribe([topic])
    got = 0
    for m in c:
        print(json.dumps({'partition': m.partition, 'offset': m.offset, 'key': None if m.key is None else m.key.decode(), 'value': m.value.decode(), 'timestamp': m.timestamp, 'type': m.timestamp_type}))
        got += 1
        if got >= n:
            break
    if group is not None:
        c.commit()
    c.close()
`;

interface Consumed {
  partition: number;
  offset: number;
  key: string | null;
  value: string;
  timestamp: number;
  type: number;
}

async function python(args: string[]): Promise<string[]> {
  const r = await runProcess([PYTHON, "-c", SCRIPT, ...args], { timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`kafka-python ${args.join(" ")} exited ${r.code} (install python3-kafka):\n${r.stderr}`);
  return r.stdout.trim().split("\n").filter((l) => l !== "");
}

const consumedOf = (lines: string[]) => lines.map((l) => JSON.parse(l) as Consumed).sort((a, b) => a.partition - b.partition || a.offset - b.offset);

let broker: BrokerProcess;

beforeAll(async () => {
  broker = await startBroker({ args: ["--group-initial-rebalance-delay-ms", "0"] });
});

afterAll(async () => {
  expect(await broker.stop()).toBe(0);
  removeDir(broker.dataDir);
});

describe("kafka-python with api_version (0,10): Produce v2 and Fetch v2, message format v1", () => {
  test("produces uncompressed and gzip sets, then a consumer group reads every record once with its timestamp", async () => {
    expect((await postJson(broker.http, "/v1/topics", { name: "py10", partitions: 2 })).status).toBe(201);
    const acked = [...(await python(["produce", broker.kafka, "py10", "0.10", "20", "none"])), ...(await python(["produce", broker.kafka, "py10", "0.10", "20", "gzip"]))];
    expect(acked.length).toBe(40);
    // Stored as v2 batches in the producer's codec: the first set uncompressed, the second gzip.
    expect(new Set(storedBatches(broker.dataDir, "py10", 0).map(([codec]) => codec))).toEqual(new Set([0, 1]));
    // A modern consumer sees the same records with the producer's timestamps.
    const modern = await kcat(broker.kafka, ["-C", "-t", "py10", "-p", "0", "-o", "beginning", "-e", "-f", "%o %k %s %T\n"]);
    expect(modern.stdout.trim().split("\n").slice(0, 2)).toEqual(["0 k0 v0 1700000000000", "1 k2 v2 1700000000002"]);

    const got = consumedOf(await python(["consume", broker.kafka, "py10", "0.10", "40", "old-group"]));
    expect(got.length).toBe(40);
    const expected = [0, 1].flatMap((partition) =>
      [0, 1].flatMap((round) =>
        Array.from({ length: 10 }, (_, j) => {
          const i = partition + 2 * j;
          return { partition, offset: round * 10 + j, key: `k${i}`, value: `v${i}`, timestamp: 1700000000000 + i, type: 0 };
        }),
      ),
    );
    expect(got).toEqual(expected);
  }, 90_000);

  test("reads gzip and uncompressed v2 batches a modern client wrote (down-converted to magic 1)", async () => {
    expect((await postJson(broker.http, "/v1/topics", { name: "modern", partitions: 1 })).status).toBe(201);
    const lines = Array.from({ length: 30 }, (_, i) => `m${i}`);
    expect((await kcat(broker.kafka, ["-P", "-t", "modern", "-z", "gzip"], { input: lines.slice(0, 20).join("\n") + "\n" })).code).toBe(0);
    expect((await kcat(broker.kafka, ["-P", "-t", "modern"], { input: lines.slice(20).join("\n") + "\n" })).code).toBe(0);
    const got = consumedOf(await python(["consume", broker.kafka, "modern", "0.10", "30", "none"]));
    expect(got.map((m) => [m.offset, m.value])).toEqual(lines.map((v, i) => [i, v]));
    expect(got.every((m) => m.timestamp > 1_600_000_000_000 && m.type === 0)).toBe(true);
  }, 60_000);
});

describe("message format v0: kafka-python at (0,9) and kcat falling back to 0.9.0", () => {
  test("kafka-python (0,9): Produce v1 / Fetch v1; magic 0 has no timestamps, stored as -1", async () => {
    expect((await postJson(broker.http, "/v1/topics", { name: "py09", partitions: 2 })).status).toBe(201);
    expect((await python(["produce", broker.kafka, "py09", "0.9", "10", "gzip"])).length).toBe(10);
    const got = consumedOf(await python(["consume", broker.kafka, "py09", "0.9", "10", "none"]));
    expect(got.map((m) => [m.partition, m.offset, m.key, m.value])).toEqual(
      [0, 1].flatMap((partition) => Array.from({ length: 5 }, (_, j) => [partition, j, `k${partition + 2 * j}`, `v${partition + 2 * j}`])),
    );
    const modern = await kcat(broker.kafka, ["-C", "-t", "py09", "-p", "1", "-o", "beginning", "-e", "-f", "%o %T\n"]);
    expect(modern.stdout.trim().split("\n")).toEqual(["0 -1", "1 -1", "2 -1", "3 -1", "4 -1"]);
  }, 60_000);

  test("kcat -X api.version.request=false -X broker.version.fallback=0.9.0 produces (gzip) and consumes", async () => {
    const old = ["-X", "api.version.request=false", "-X", "broker.version.fallback=0.9.0"];
    expect((await postJson(broker.http, "/v1/topics", { name: "kcat09", partitions: 1 })).status).toBe(201);
    const lines = Array.from({ length: 50 }, (_, i) => `line ${i}`);
    const produced = await kcat(broker.kafka, [...old, "-P", "-t", "kcat09", "-z", "gzip"], { input: lines.join("\n") + "\n" });
    expect(produced.code).toBe(0);
    // Stored as v2 batches, gzip as sent (librdkafka sends a set uncompressed when gzip would not
    // make it smaller, so a short last set may be plain).
    const stored = storedBatches(broker.dataDir, "kcat09");
    expect(stored.reduce((n, [, records]) => n + records, 0)).toBe(50);
    expect(stored.some(([codec]) => codec === 1)).toBe(true);
    const consumed = await kcat(broker.kafka, [...old, "-C", "-t", "kcat09", "-o", "beginning", "-e", "-f", "%o %s\n"]);
    expect(consumed.code).toBe(0);
    expect(consumed.stdout.trim().split("\n")).toEqual(lines.map((l, i) => `${i} ${l}`));
  }, 60_000);
});
