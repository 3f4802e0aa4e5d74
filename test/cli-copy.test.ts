// Copies that keep their shape (issue #22, "Copies"): `consume --json | produce --json` into a new
// topic, `replay --to-topic`, and `streamctl copy` within a cluster and between two, resumable. The
// compiled binary against compiled brokers, through real pipes.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type BrokerProcess, removeDir, runProcess, startBroker, STREAMCTL_BIN, streamctl } from "./harness.ts";

let broker: BrokerProcess;
let other: BrokerProcess;

beforeAll(async () => {
  [broker, other] = await Promise.all([startBroker(), startBroker()]);
});

afterAll(async () => {
  for (const b of [broker, other]) {
    expect(await b.stop()).toBe(0);
    removeDir(b.dataDir);
  }
});

const on = (b: BrokerProcess) => (args: string[], opts: { input?: string } = {}) => streamctl([...args, "--broker", b.kafka], { ...opts, timeoutMs: 60_000 });
const sc = (args: string[], opts: { input?: string } = {}) => on(broker)(args, opts);

async function createTopic(b: BrokerProcess, name: string, partitions: number): Promise<void> {
  const res = await fetch(`http://${b.http}/v1/topics`, { method: "POST", body: JSON.stringify({ name, partitions, configs: {} }) });
  expect(res.status).toBeLessThan(300);
}

async function partitionCount(b: BrokerProcess, name: string): Promise<number> {
  const res = await fetch(`http://${b.http}/v1/topics/${name}`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { partitions: unknown[] }).partitions.length;
}

/** Envelopes for `produce --json`: keys, headers, timestamps, a null value, spread over `partitions`. */
function records(n: number, partitions: number, tag: string): string {
  return (
    Array.from({ length: n }, (_, i) =>
      JSON.stringify({
        partition: (i * 7) % partitions,
        timestamp: 1_760_000_000_000 + i * 10,
        key: i % 4 === 0 ? null : `k${i % 13}`,
        value: i % 17 === 0 ? null : `${tag} ${i}`,
        headers: i % 3 === 0 ? [] : [{ key: "n", value: String(i) }],
      }),
    ).join("\n") + "\n"
  );
}

/** A topic's records, partition by partition, as `consume --json` prints them (topic name aside). */
async function contents(b: BrokerProcess, topic: string): Promise<Record<number, unknown[]>> {
  const r = await on(b)(["consume", topic, "--json", "--until-end"]);
  expect(r.code).toBe(0);
  const out: Record<number, unknown[]> = {};
  for (const line of r.stdout.split("\n").filter((l) => l !== "")) {
    const { topic: _t, ...rest } = JSON.parse(line) as { topic: string; partition: number; offset: number };
    (out[rest.partition] ??= []).push(rest);
  }
  for (const list of Object.values(out)) (list as { offset: number }[]).sort((a, b) => a.offset - b.offset);
  return out;
}

describe("consume --json | produce --json", () => {
  test("into a topic it creates: the copy has the source's partitions and equals it partition by partition (issue #22)", async () => {
    await createTopic(broker, "shape-src", 3);
    expect((await sc(["produce", "shape-src", "--json"], { input: records(300, 3, "shape") })).code).toBe(0);
    const r = await runProcess(["bash", "-c", `set -o pipefail; '${STREAMCTL_BIN}' consume shape-src --json --until-end --broker ${broker.kafka} | '${STREAMCTL_BIN}' produce shape-dst --json --broker ${broker.kafka}`], {
      env: { NO_COLOR: "1" },
      timeoutMs: 60_000,
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^streamctl: 300 records acknowledged .* to shape-dst, 0 failed\n$/);
    expect(await partitionCount(broker, "shape-dst")).toBe(3);
    const src = await contents(broker, "shape-src");
    expect(Object.keys(src)).toEqual(["0", "1", "2"]);
    expect(await contents(broker, "shape-dst")).toEqual(src);
  });
});

describe("replay --to-topic", () => {
  test("into a new topic keeps every record's partition; into one with another count, partitions by key and says so", async () => {
    await createTopic(broker, "replay-shape", 3);
    expect((await sc(["produce", "replay-shape", "--json"], { input: records(90, 3, "r") })).code).toBe(0);
    const kept = await sc(["replay", "replay-shape", "--from", "beginning", "--to-topic", "replay-kept"]);
    expect(kept).toMatchObject({ code: 0, stdout: "", stderr: "streamctl: replayed 90 of 90 records from replay-shape into replay-kept\n" });
    expect(await partitionCount(broker, "replay-kept")).toBe(3);
    expect(await contents(broker, "replay-kept")).toEqual(await contents(broker, "replay-shape"));

    await createTopic(broker, "replay-one", 1);
    const merged = await sc(["replay", "replay-shape", "--from", "0", "--to-topic", "replay-one"]);
    expect(merged.code).toBe(0);
    expect(merged.stderr).toBe(
      "streamctl: replay-shape has 3 partitions, replay-one 1: records go to replay-one's partitions by key, not by number\n" +
        "streamctl: replayed 90 of 90 records from replay-shape into replay-one\n",
    );
  });
});

describe("copy", () => {
  test("stops at --to, then resumes from its group's offsets: the copy equals the source partition by partition, nothing twice (issue #22)", async () => {
    await createTopic(broker, "orders", 3);
    expect((await sc(["produce", "orders", "--json"], { input: records(240, 3, "order") })).code).toBe(0);

    const first = await sc(["copy", "orders", "orders-copy", "--to", "30"]);
    expect(first).toMatchObject({ code: 0, stdout: "" });
    expect(first.stderr).toBe("streamctl: copied 90 records from orders to orders-copy; offsets committed to group streamctl-copy.orders.orders-copy\n");
    expect(await partitionCount(broker, "orders-copy")).toBe(3);

    const second = await sc(["copy", "orders", "orders-copy"]);
    expect(second.code).toBe(0);
    expect(second.stderr).toBe(
      "streamctl: resuming where group streamctl-copy.orders.orders-copy stopped: orders [0, 1, 2]\n" +
        "streamctl: copied 150 records from orders to orders-copy; offsets committed to group streamctl-copy.orders.orders-copy\n",
    );
    expect(await contents(broker, "orders-copy")).toEqual(await contents(broker, "orders"));

    // Nothing new: nothing copied, nothing twice.
    const third = await sc(["copy", "orders", "orders-copy"]);
    expect(third.stderr).toMatch(/copied 0 records/);
    expect(await contents(broker, "orders-copy")).toEqual(await contents(broker, "orders"));
  });

  test("--to-broker copies into another cluster, keeping keys, headers, timestamps and partitions; --where picks records", async () => {
    await createTopic(broker, "events", 3);
    expect((await sc(["produce", "events", "--json"], { input: records(120, 3, "event") })).code).toBe(0);
    const r = await sc(["copy", "events", "events", "--to-broker", other.kafka]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(`streamctl: copied 120 records from events to events; offsets committed to group streamctl-copy.events.events@${other.kafka}\n`);
    expect(await partitionCount(other, "events")).toBe(3);
    expect(await contents(other, "events")).toEqual(await contents(broker, "events"));

    const some = await sc(["copy", "events", "events-k1", "--to-broker", other.kafka, "--where", "key=k1", "--where", "header:n~^1"]);
    expect(some.code).toBe(0);
    expect(some.stderr).toMatch(/copied \d+ records? from events to events-k1 \(\d+ left out by --where\)/);
    const want = Object.values(await contents(broker, "events"))
      .flat()
      .filter((x) => {
        const rec = x as { key: string | null; headers: { key: string; value: string }[] };
        return rec.key === "k1" && rec.headers.some((h) => h.key === "n" && h.value.startsWith("1"));
      });
    const got = Object.values(await contents(other, "events-k1")).flat();
    expect(got.map((x) => (x as { value: string }).value).sort()).toEqual(want.map((x) => (x as { value: string }).value).sort());
    expect(got.length).toBeGreaterThan(0);
  });

  test("a copy into a topic of another partition count goes by key, and says so", async () => {
    await createTopic(broker, "wide", 3);
    await createTopic(broker, "narrow", 2);
    expect((await sc(["produce", "wide", "--json"], { input: records(30, 3, "w") })).code).toBe(0);
    const r = await sc(["copy", "wide", "narrow"]);
    expect(r.code).toBe(0);
    expect(r.stderr.split("\n")[0]).toBe("streamctl: wide has 3 partitions, narrow 2: records go to narrow's partitions by key, not by number");
    expect(Object.values(await contents(broker, "narrow")).flat()).toHaveLength(30);
  });
});
