// Log compaction end to end (issue #20, items 4 and 5): the compiled broker, kcat producing and
// consuming, `streamctl topics compact` asking for the pass over the control plane.
//
//   - COMPACTION_RECORDS records (default, in make test and make soak alike: the 1,000,000 of issue #20,
//     ~45 s on a loaded 2-core box) over 10,000 keys, produced with `kcat -P -K:` from a
//     generated file, then 100 tombstones (`-Z`: an empty value is null) and one last record in a
//     segment of its own (segment.ms=1 rolls it), so every record before it is in a sealed segment;
//   - while the pass runs, kcat consumers read the partition from the start again and again: each
//     sees offsets that only rise and every key's latest record;
//   - after it, exactly the latest record per key is left, at the offset it was produced at, with
//     its value (a deleted key's tombstone too); what the command printed adds up;
//   - delete.retention.ms after that first pass, a second one removes the tombstones;
//   - a record without a key is refused on the compacted topic (Kafka: INVALID_RECORD).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type BrokerProcess, kcat, removeDir, runProcess, startBroker, streamctl } from "./harness.ts";

const RECORDS = Number(process.env.COMPACTION_RECORDS ?? 1_000_000);
const KEYS = 10_000;
const TOMBSTONES = 100;
const TOPIC = "compacted";
const DELETE_RETENTION_MS = 3000;

let broker: BrokerProcess;

beforeAll(async () => {
  // A bound low enough that a pass lasts while consumers read, high enough for a quick test.
  // No background pass during the test (it would stamp the tombstones' horizon earlier): an hour.
  broker = await startBroker({ args: ["--log-cleaner-io-max-bytes-per-second", String(40 * 1024 * 1024), "--log-cleaner-backoff-ms", "3600000"] });
});

afterAll(async () => {
  expect(await broker.stop()).toBe(0);
  removeDir(broker.dataDir);
});

const key = (k: number) => `k${String(k).padStart(5, "0")}`;

interface Row {
  offset: number;
  key: string;
  /** -1: null (a tombstone). */
  valueLength: number;
  value: string;
}

/** Every record of the partition from the start, as kcat reads it. */
async function readAll(): Promise<Row[]> {
  const r = await kcat(broker.kafka, ["-C", "-t", TOPIC, "-p", "0", "-o", "beginning", "-e", "-f", "%o|%k|%S|%s\n", "-X", "fetch.message.max.bytes=4194304"], { timeoutMs: 120_000 });
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return r.stdout
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => {
      const [offset, k, len, ...rest] = l.split("|");
      return { offset: Number(offset), key: k!, valueLength: Number(len), value: rest.join("|") };
    });
}

function cli(args: string[]) {
  return streamctl([...args, "--broker", broker.kafka, "--http", broker.http], { timeoutMs: 120_000 });
}

test(`${RECORDS.toLocaleString("en")} records over ${KEYS.toLocaleString("en")} keys: cleaning keeps exactly the latest per key at its offset, consumers see a consistent log meanwhile, tombstones go after delete.retention.ms`, async () => {
  const created = await cli(["topics", "create", TOPIC, "--partitions", "1", "--config", "cleanup.policy=compact", "--config", "segment.bytes=1048576", "--config", `delete.retention.ms=${DELETE_RETENTION_MS}`]);
  expect(created.stderr).toBe(`created topic ${TOPIC} with 1 partition\n`);

  // The oracle: each key's latest (offset, value); offsets are given in produce order from 0.
  const latest = new Map<string, { offset: number; value: string | null }>();
  const lines: string[] = [];
  for (let i = 0; i < RECORDS; i++) {
    const k = key((i * 7919) % KEYS);
    const v = `v${i}-${"x".repeat(i % 40)}`;
    lines.push(`${k}:${v}`);
    latest.set(k, { offset: i, value: v });
  }
  const produced = await kcat(broker.kafka, ["-P", "-t", TOPIC, "-p", "0", "-K", ":", "-X", "linger.ms=20", "-X", "batch.num.messages=10000", "-X", "batch.size=1000000"], { input: `${lines.join("\n")}\n`, timeoutMs: 180_000 });
  expect(produced.stderr).toBe("");
  expect(produced.code).toBe(0);
  const tombstones: string[] = [];
  for (let t = 0; t < TOMBSTONES; t++) {
    tombstones.push(`${key(t * 97)}:`);
    latest.set(key(t * 97), { offset: RECORDS + t, value: null });
  }
  expect((await kcat(broker.kafka, ["-P", "-t", TOPIC, "-p", "0", "-K", ":", "-Z"], { input: `${tombstones.join("\n")}\n` })).code).toBe(0);
  // The last record rolls a segment of its own: everything before it is cleanable.
  expect((await cli(["topics", "alter", TOPIC, "--set", "segment.ms=1"])).code).toBe(0);
  expect((await kcat(broker.kafka, ["-P", "-t", TOPIC, "-p", "0", "-K", ":"], { input: "zz-last:end\n" })).code).toBe(0);
  latest.set("zz-last", { offset: RECORDS + TOMBSTONES, value: "end" });

  // A key-less record is refused (and nothing of it stored).
  const keyless = await runProcess(["kcat", "-b", broker.kafka, "-P", "-t", TOPIC, "-p", "0"], { input: "no key\n" });
  expect(keyless.stderr).toContain("Delivery failed for message: Broker: Broker failed to validate record"); // INVALID_RECORD (87)
  expect(keyless.code).toBe(1);

  // The pass, with consumers reading the whole partition again and again while it runs.
  let done = false;
  const pass = cli(["topics", "compact", TOPIC]).finally(() => (done = true));
  let readsDuring = 0;
  while (!done) {
    const rows = await readAll();
    const seen = new Map<string, Row>();
    for (let i = 0; i < rows.length; i++) {
      if (i > 0 && rows[i]!.offset <= rows[i - 1]!.offset) throw new Error(`read ${readsDuring}: offset ${rows[i]!.offset} after ${rows[i - 1]!.offset}`);
      seen.set(rows[i]!.key, rows[i]!);
    }
    for (const [k, l] of latest) {
      const s = seen.get(k);
      if (s === undefined || s.offset !== l.offset) throw new Error(`read ${readsDuring}: the latest record of ${k} (offset ${l.offset}) is not the last one read (${s?.offset}); ${rows.length} rows read, the last at ${rows.at(-1)?.offset}`);
    }
    readsDuring++;
  }
  const compacted = await pass;
  expect(compacted.code).toBe(0);
  expect(readsDuring).toBeGreaterThan(0);

  // Exactly the latest record per key, at its original offset, with its value.
  const after = await readAll();
  expect(after).toHaveLength(latest.size);
  for (const row of after) {
    const l = latest.get(row.key);
    if (l === undefined || l.offset !== row.offset || (l.value === null ? row.valueLength !== -1 : row.value !== l.value)) {
      throw new Error(`offset ${row.offset}: ${row.key}=${row.value} (${row.valueLength}) is not the latest of its key (${l?.offset}: ${l?.value})`);
    }
  }
  expect(after.filter((r) => r.valueLength === -1)).toHaveLength(TOMBSTONES);
  // What the command printed: the records removed, and the table's before/after.
  const total = RECORDS + TOMBSTONES + 1;
  const m = /^compacted topic compacted: removed ([\d,]+) records?, .* and (\d+) segments? in \d+ ms\n$/.exec(compacted.stderr);
  expect(m).not.toBeNull();
  expect(Number(m![1]!.replaceAll(",", ""))).toBe(total - latest.size);
  expect(Number(m![2])).toBeGreaterThanOrEqual(0);
  expect(compacted.stdout).toMatch(/^PARTITION +RECORDS BEFORE +RECORDS AFTER +SIZE BEFORE +SIZE AFTER +SEGMENTS BEFORE +SEGMENTS AFTER +TOMBSTONES REMOVED/);
  const firstPassEnded = Date.now();

  // The topic's record as the control plane describes it: the offsets did not move.
  const described = JSON.parse((await cli(["topics", "describe", TOPIC, "--json"])).stdout) as { partitions: Array<{ start: number; end: number }> };
  expect(described.partitions[0]).toMatchObject({ start: 0, end: total });

  // delete.retention.ms after the first pass: the tombstones and the records they deleted are gone.
  await Bun.sleep(Math.max(0, firstPassEnded + DELETE_RETENTION_MS + 100 - Date.now()));
  const second = await cli(["topics", "compact", TOPIC, "--json"]);
  expect(second.code).toBe(0);
  const doc = JSON.parse(second.stdout) as { recordsRemoved: number; partitions: Array<{ tombstonesRemoved: number }> };
  expect(doc.partitions[0]!.tombstonesRemoved).toBe(TOMBSTONES);
  const final = await readAll();
  expect(final).toHaveLength(latest.size - TOMBSTONES);
  expect(final.some((r) => r.valueLength === -1)).toBe(false);
  for (const row of final) expect(latest.get(row.key)!.offset).toBe(row.offset);

  // A topic without compact is not cleaned on request.
  expect((await cli(["topics", "create", "plain", "--partitions", "1"])).code).toBe(0);
  const refused = await cli(["topics", "compact", "plain"]);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toContain("cleanup.policy=delete");
}, 300_000);

test("the background cleaner cleans a compacted topic once its dirty ratio reaches min.cleanable.dirty.ratio (--log-cleaner-backoff-ms 100)", async () => {
  const bg = await startBroker({ args: ["--log-cleaner-backoff-ms", "100"] });
  try {
    const run = (args: string[]) => streamctl([...args, "--broker", bg.kafka, "--http", bg.http]);
    expect((await run(["topics", "create", "bg", "--partitions", "1", "--config", "cleanup.policy=compact,delete", "--config", "segment.bytes=65536"])).code).toBe(0);
    const latest = new Map<string, number>();
    const lines: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      lines.push(`key${i % 50}:value ${i}`);
      latest.set(`key${i % 50}`, i);
    }
    expect((await kcat(bg.kafka, ["-P", "-t", "bg", "-p", "0", "-K", ":"], { input: `${lines.join("\n")}\n` })).code).toBe(0);
    // Passes run as segments fill and as the dirty part grows back to half the log; once the
    // producer stopped, one covers every sealed segment. Read until the log shrank (60 s at most).
    const read = async () => (await kcat(bg.kafka, ["-C", "-t", "bg", "-p", "0", "-o", "beginning", "-e", "-f", "%o %k\n"])).stdout.trimEnd().split("\n").map((l) => l.split(" ")) as Array<[string, string]>;
    let rows = await read();
    for (let i = 0; i < 300 && rows.length >= lines.length / 2; i++) {
      await Bun.sleep(200);
      rows = await read();
    }
    expect(bg.stderr()).toMatch(/cleaner: bg\/0: dirty ratio \S+ ≥ min\.cleanable\.dirty\.ratio 0\.5: \d+ record/);
    expect(rows.length).toBeLessThan(lines.length / 2);
    for (let i = 1; i < rows.length; i++) expect(Number(rows[i]![0])).toBeGreaterThan(Number(rows[i - 1]![0]));
    const last = new Map(rows.map(([o, k]) => [k, Number(o)]));
    for (const [k, o] of latest) expect(last.get(k)).toBe(o);
  } finally {
    expect(await bg.stop()).toBe(0);
    removeDir(bg.dataDir);
  }
}, 120_000);
