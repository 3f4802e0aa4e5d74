// Issue 6: `streamctl topics …` and `streamctl groups …` (the compiled binary as a child) against a
// live broker: tables for people, --json for scripts, exit 1 with one line for a missing topic or
// group, exit 2 with one line for usage mistakes.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrokerProcess, removeDir, startBroker, streamctl } from "./harness.ts";
import { api, commitOffsets } from "./http-helpers.ts";

let broker: BrokerProcess;
let env: Record<string, string>;

beforeAll(async () => {
  broker = await startBroker();
  env = { STREAMCTL_HTTP: `http://${broker.http}`, STREAMCTL_BROKER: broker.kafka };
});

afterAll(async () => {
  expect(await broker.stop()).toBe(0);
  removeDir(broker.dataDir);
});

const run = (args: string[]) => streamctl(args, { env });

function expectOneLineFailure(r: { code: number; stdout: string; stderr: string }, code: number, text: string): void {
  expect({ code: r.code, stdout: r.stdout }).toEqual({ code, stdout: "" });
  const lines = r.stderr.trimEnd().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toStartWith("streamctl: ");
  expect(lines[0]).toContain(text);
}

describe("streamctl topics", () => {
  test("a new user's first steps: list (empty), create, list, describe", async () => {
    const empty = await run(["topics", "list"]);
    expect(empty).toMatchObject({ code: 0, stdout: "" });
    expect(empty.stderr).toContain("streamctl topics create");

    const created = await run(["topics", "create", "orders", "--partitions", "3", "--config", "retention.ms=86400000"]);
    expect(created).toMatchObject({ code: 0, stdout: "", stderr: "created topic orders with 3 partitions\n" });
    const body = ["alpha", "beta", "gamma"].join("\n");
    expect((await api(broker.http, "/v1/topics/orders/records?partition=1", { method: "POST", body })).status).toBe(200);

    const list = await run(["topics", "list"]);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatchInlineSnapshot(`
      "TOPIC   PARTITIONS  RECORDS  SIZE
      orders           3        3  96 B
      "
    `);

    const described = await run(["topics", "describe", "orders"]);
    expect(described.code).toBe(0);
    expect(described.stdout.replace(/id {10}\S+/, "id          <uuid>")).toMatchInlineSnapshot(`
      "topic       orders
      id          <uuid>
      durability  fsync=always: a write is acknowledged only after the fdatasync that covers it (group commit); acknowledged records survive a crash or power loss

      PARTITION  START  END  LSO  RECORDS  SIZE  SEGMENTS
              0      0    0    0        0   0 B         1
              1      0    3    3        3  96 B         1
              2      0    0    0        0   0 B         1

      CONFIG                                   VALUE                SOURCE
      retention.ms                             86400000             topic
      retention.bytes                          -1                   default
      segment.bytes                            1073741824           default
      segment.ms                               604800000            default
      cleanup.policy                           delete               default
      max.message.bytes                        1048588              default
      message.timestamp.type                   CreateTime           default
      compression.gzip.level                   -1                   default
      compression.lz4.level                    9                    default
      compression.type                         producer             default
      compression.zstd.level                   3                    default
      delete.retention.ms                      86400000             default
      file.delete.delay.ms                     60000                default
      flush.messages                           9223372036854775807  default
      flush.ms                                 9223372036854775807  default
      follower.replication.throttled.replicas                       default
      index.interval.bytes                     4096                 default
      leader.replication.throttled.replicas                         default
      local.retention.bytes                    -2                   default
      local.retention.ms                       -2                   default
      max.compaction.lag.ms                    9223372036854775807  default
      message.downconversion.enable            true                 default
      message.format.version                   3.0-IV1              default
      message.timestamp.after.max.ms           9223372036854775807  default
      message.timestamp.before.max.ms          9223372036854775807  default
      message.timestamp.difference.max.ms      9223372036854775807  default
      min.cleanable.dirty.ratio                0.5                  default
      min.compaction.lag.ms                    0                    default
      min.insync.replicas                      1                    default
      preallocate                              false                default
      remote.storage.enable                    false                default
      segment.index.bytes                      10485760             default
      segment.jitter.ms                        0                    default
      unclean.leader.election.enable           false                default
      "
    `);
  });

  test("--json prints the control plane's document", async () => {
    const r = await run(["topics", "describe", "orders", "--json"]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ name: "orders", partitions: [{ partition: 0 }, { partition: 1, end: 3 }, { partition: 2 }] });
    const list = JSON.parse((await run(["topics", "list", "--json"])).stdout);
    expect(list.topics.map((t: { name: string }) => t.name)).toContain("orders");
  });

  test("alter sets and resets configs", async () => {
    const r = await run(["topics", "alter", "orders", "--set", "cleanup.policy=compact", "--reset", "retention.ms"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("altered 2 configs of topic orders\n");
    expect(r.stdout).toMatch(/cleanup\.policy +compact +topic/);
    expect(r.stdout).toMatch(/retention\.ms +604800000 +default/);
  });

  test("a config Kafka accepts but streamctl does not act on is marked so; one it applies is not", async () => {
    expect((await run(["topics", "create", "inert", "--config", "preallocate=true", "--config", "compression.type=gzip"])).code).toBe(0);
    const r = await run(["topics", "describe", "inert"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\npreallocate +true +topic, no effect here\n/);
    expect(r.stdout).toMatch(/\ncompression\.type +gzip +topic\n/);
    expect(JSON.parse((await run(["topics", "describe", "inert", "--json"])).stdout).noEffect).toEqual(["preallocate"]);
    expect((await run(["topics", "delete", "inert"])).code).toBe(0);
  });

  test("create --if-not-exists and delete --if-exists are quiet about what is already so", async () => {
    expect((await run(["topics", "create", "orders", "--if-not-exists"])).code).toBe(0);
    expect((await run(["topics", "delete", "ghost", "--if-exists"])).code).toBe(0);
  });

  test("delete removes the topic", async () => {
    expect(await run(["topics", "create", "scratch"])).toMatchObject({ code: 0 });
    expect(await run(["topics", "delete", "scratch"])).toMatchObject({ code: 0, stderr: "deleted topic scratch\n" });
    expectOneLineFailure(await run(["topics", "describe", "scratch"]), 1, "topic 'scratch' does not exist");
  });

  test.each([
    [["topics", "describe", "missing"], 1, "topic 'missing' does not exist"],
    [["topics", "delete", "missing"], 1, "topic 'missing' does not exist"],
    [["topics", "alter", "missing", "--set", "retention.ms=1"], 1, "topic 'missing' does not exist"],
    [["topics", "create", "orders"], 1, "already exists"],
    [["topics", "alter", "orders", "--set", "retention.hours=1"], 1, "unknown topic config"],
    [["topics", "create"], 2, "missing required argument"],
    [["topics", "create", "a b"], 2, "outside [a-zA-Z0-9._-]"],
    [["topics", "create", "x", "--partitions", "zero"], 2, "--partitions"],
    [["topics", "create", "x", "--config", "retention.ms"], 2, "KEY=VALUE"],
    [["topics", "alter", "orders"], 2, "nothing to change"],
    [["topics", "frobnicate"], 2, "unknown command"],
    [["topics", "list", "--bogus"], 2, "unknown option"],
    [["topics", "list", "--http", "not a url"], 2, "--http"],
    [["topics", "list", "--http", "http://127.0.0.1:1"], 1, "cannot reach the control plane"],
  ])("%j exits %i with one line", async (args, code, text) => {
    expectOneLineFailure(await run(args), code, text);
  });
});

describe("streamctl groups", () => {
  beforeAll(async () => {
    expect((await run(["topics", "create", "events", "--partitions", "2"])).code).toBe(0);
    for (const p of [0, 1]) {
      const body = Array.from({ length: 10 }, (_, i) => `e${i}`).join("\n");
      expect((await api(broker.http, `/v1/topics/events/records?partition=${p}`, { method: "POST", body })).status).toBe(200);
    }
    await commitOffsets(broker.kafka, "audit", "events", { 0: 4, 1: 10 });
  });

  test("list and describe", async () => {
    expect((await run(["groups", "list"])).stdout).toMatchInlineSnapshot(`
      "GROUP  STATE  MEMBERS  LAG
      audit  Empty        0    6
      "
    `);
    expect((await run(["groups", "describe", "audit"])).stdout).toMatchInlineSnapshot(`
      "group     audit
      state     Empty
      members   0
      lag       6

      TOPIC   PARTITION  COMMITTED  END  LAG
      events          0          4   10    6
      events          1         10   10    0
      "
    `);
    expect(JSON.parse((await run(["groups", "describe", "audit", "--json"])).stdout)).toMatchObject({ group: "audit", lag: 6 });
  });

  test("reset-offsets: dry run, --execute with a saved file, --undo restores", async () => {
    const dry = await run(["groups", "reset-offsets", "audit", "--to", "earliest"]);
    expect(dry).toMatchObject({ code: 0, stderr: "dry run: nothing changed; add --execute to apply\n" });
    expect(dry.stdout).toMatchInlineSnapshot(`
      "TOPIC   PARTITION  CURRENT  NEW
      events          0        4    0
      events          1       10    0
      "
    `);
    expect((await api(broker.http, "/v1/groups/audit")).json.lag).toBe(6);

    const dir = mkdtempSync(join(tmpdir(), "streamctl-undo-"));
    const save = join(dir, "undo.json");
    const done = await run(["groups", "reset-offsets", "audit", "--topic", "events:0", "--to", "8", "--execute", "--save", save]);
    expect(done.code).toBe(0);
    expect(done.stderr).toContain(`previous offsets saved to ${save}`);
    expect(JSON.parse(readFileSync(save, "utf8"))).toMatchObject({ group: "audit", offsets: [{ topic: "events", partition: 0, offset: 4 }] });
    expect((await api(broker.http, "/v1/groups/audit")).json.lag).toBe(2);

    const undoDry = await run(["groups", "reset-offsets", "audit", "--undo", save]);
    expect(undoDry.stdout).toContain("events          0        8    4");
    expect((await api(broker.http, "/v1/groups/audit")).json.lag).toBe(2);
    const undo = await run(["groups", "reset-offsets", "audit", "--undo", save, "--execute", "--save", join(dir, "undo2.json")]);
    expect(undo.code).toBe(0);
    expect((await api(broker.http, "/v1/groups/audit")).json.lag).toBe(6);

    const json = JSON.parse((await run(["groups", "reset-offsets", "audit", "--to", "@0", "--json"])).stdout);
    expect(json).toMatchObject({ group: "audit", execute: false, offsets: [{ offset: 0 }, { offset: 0 }] });
    removeDir(dir);
  });

  test.each([
    [["groups", "describe", "nobody"], 1, "group 'nobody' does not exist"],
    [["groups", "delete", "nobody"], 1, "group 'nobody' does not exist"],
    [["groups", "reset-offsets", "audit"], 2, "exactly one of --to"],
    [["groups", "reset-offsets", "audit", "--to", "yesterday"], 2, "--to"],
    [["groups", "reset-offsets", "audit", "--to", "earliest", "--undo", "f"], 2, "exactly one of --to"],
    [["groups", "reset-offsets", "audit", "--undo", "/nonexistent/undo.json"], 2, "--undo"],
    [["groups", "reset-offsets", "audit", "--topic", "events:x", "--to", "0"], 2, "--topic"],
    [["groups", "reset-offsets", "audit", "--topic", "nope", "--to", "0"], 1, "topic 'nope' does not exist"],
  ])("%j exits %i with one line", async (args, code, text) => {
    expectOneLineFailure(await run(args), code, text);
  });

  test("delete removes an empty group", async () => {
    expect(await run(["groups", "delete", "audit"])).toMatchObject({ code: 0, stdout: "", stderr: "deleted group audit\n" });
    expect((await run(["groups", "list"])).stderr).toBe("no consumer groups yet\n");
  });
});
