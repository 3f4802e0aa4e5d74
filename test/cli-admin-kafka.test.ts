// Issue 22: the management commands (`topics`, `groups`, `metadata`, `offsets`, `top --once`)
// work over the Kafka protocol alone, against a broker whose HTTP door is off (`--http-listen
// none`), as they must against Kafka or Redpanda. What only streamctl's control plane knows (sizes,
// segments, durability) reads "-" / null. A control plane named explicitly that serves another
// broker is refused rather than mixed in.
//
// `topics alter` and `topics add-partitions` need IncrementalAlterConfigs/AlterConfigs and
// CreatePartitions; a broker that does not serve them yet gets one line naming the API (checked
// through ApiVersions, so the same test holds once they land).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type BrokerProcess, removeDir, startBroker, STREAMCTL_BIN, streamctl } from "./harness.ts";
import { commitOffsets, postJson } from "./http-helpers.ts";
import { RawConnection } from "./raw-kafka.ts";
import { ApiVersions } from "../net/protocol/messages/index.ts";

let broker: BrokerProcess;
let env: Record<string, string>;
let apiKeys: Set<number>;

beforeAll(async () => {
  broker = await startBroker({ args: ["--http-listen", "none"] });
  expect(broker.http).toBe("none");
  // STREAMCTL_HTTP empty: nothing named; the default control plane, if some other broker holds
  // it, must be recognised as another broker's and left out.
  env = { STREAMCTL_BROKER: broker.kafka, STREAMCTL_HTTP: "" };
  const conn = await RawConnection.open(broker.kafka);
  try {
    const res = await conn.request(ApiVersions, 3, { clientSoftwareName: "test", clientSoftwareVersion: "0" });
    apiKeys = new Set(res.apiKeys.map((k) => k.apiKey));
  } finally {
    conn.close();
  }
});

afterAll(async () => {
  expect(await broker.stop()).toBe(0);
  removeDir(broker.dataDir);
});

const run = (args: string[], extra: Record<string, string> = {}) => streamctl(args, { env: { ...env, ...extra } });

function expectOneLineFailure(r: { code: number; stdout: string; stderr: string }, code: number, text: string): void {
  expect({ code: r.code, stdout: r.stdout }).toEqual({ code, stdout: "" });
  const lines = r.stderr.trimEnd().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toStartWith("streamctl: ");
  expect(lines[0]).toContain(text);
}

describe("topics over the Kafka protocol, HTTP door off", () => {
  test("create, list, describe: offsets and configs from Kafka, sizes unknown", async () => {
    expect(await run(["topics", "create", "orders", "--partitions", "3", "--config", "retention.ms=86400000"])).toMatchObject({ code: 0, stdout: "", stderr: "created topic orders with 3 partitions\n" });
    const produced = await streamctl(["produce", "orders", "--partition", "1"], { input: "alpha\nbeta\ngamma\n", env });
    expect(produced.code).toBe(0);

    const list = await run(["topics", "list"]);
    expect(list).toMatchObject({ code: 0, stderr: "" });
    expect(list.stdout).toMatchInlineSnapshot(`
      "TOPIC   PARTITIONS  RECORDS  SIZE
      orders           3        3     -
      "
    `);
    expect(JSON.parse((await run(["topics", "list", "--json"])).stdout)).toEqual({ topics: [{ name: "orders", partitions: 3, records: 3, bytes: null, segments: null }], damaged: [] });

    const described = await run(["topic", "describe", "orders"]);
    expect(described.code).toBe(0);
    expect(described.stdout.replace(/id {10}\S+/, "id          <uuid>")).toMatchInlineSnapshot(`
      "topic       orders
      id          <uuid>

      PARTITION  START  END  LSO  RECORDS  SIZE  SEGMENTS
              0      0    0    0        0     -         -
              1      0    3    3        3     -         -
              2      0    0    0        0     -         -

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
    const doc = JSON.parse((await run(["topics", "describe", "orders", "--json"])).stdout);
    expect(doc).toMatchObject({ name: "orders", overrides: { "retention.ms": "86400000" }, partitions: [{ partition: 0, bytes: null, leader: 0, replicas: [0], isr: [0] }, { partition: 1, end: 3 }, { partition: 2 }] });
    expect(doc.topicId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(doc.durability).toBeUndefined();
  });

  test("alter and add-partitions, or one line naming the API the broker lacks", async () => {
    const alter = await run(["topics", "alter", "orders", "--set", "cleanup.policy=compact", "--reset", "retention.ms"]);
    if (apiKeys.has(44) || apiKeys.has(33)) {
      expect(alter).toMatchObject({ code: 0, stderr: "altered 2 configs of topic orders\n" });
      expect(alter.stdout).toMatch(/^cleanup\.policy +compact +topic$/m);
      expect(alter.stdout).toMatch(/^retention\.ms +604800000 +default$/m);
    } else {
      expectOneLineFailure(alter, 1, "supports neither IncrementalAlterConfigs (44) nor AlterConfigs (33)");
    }
    const added = await run(["topics", "add-partitions", "orders", "2"]);
    if (apiKeys.has(37)) {
      expect(added).toMatchObject({ code: 0, stderr: "topic orders now has 5 partitions (was 3)\n" });
      expect((await run(["topics", "add-partitions", "orders", "2"])).code).toBe(0);
    } else {
      expectOneLineFailure(added, 1, "CreatePartitions");
    }
  });

  test.each([
    [["topics", "describe", "missing"], 1, "topic 'missing' does not exist"],
    [["topics", "delete", "missing"], 1, "topic 'missing' does not exist"],
    [["topics", "alter", "missing", "--set", "retention.ms=1"], 1, "topic 'missing' does not exist"],
    [["topics", "add-partitions", "missing", "1"], 1, "topic 'missing' does not exist"],
    [["topics", "create", "orders"], 1, "topic 'orders' already exists"],
    [["topics", "add-partitions", "orders", "0"], 2, "positive integer"],
    [["topics", "list", "-X", "client.idd=x"], 2, "did you mean client.id?"],
    [["topics", "list", "-X", "request.timeout.ms=soon"], 2, "-X request.timeout.ms: expected a positive integer"],
    [["topics", "list", "-X", "nonsense"], 2, "expected key=value"],
    [["topics", "list", "--broker", "127.0.0.1:1"], 1, "broker 127.0.0.1:1"],
    [["topics", "list", "--http", "nowhere at all"], 2, "--http"],
  ])("%j exits %i with one line", async (args, code, text) => {
    expectOneLineFailure(await run(args as string[]), code as number, text as string);
  });

  test("-X client.id and bootstrap.servers are used", async () => {
    expect((await run(["topics", "list", "-X", "client.id=admin-tool", "-X", "request.timeout.ms=5000"])).code).toBe(0);
    const viaX = await streamctl(["topics", "list", "-X", `bootstrap.servers=${broker.kafka}`], { env: { STREAMCTL_BROKER: "127.0.0.1:1", STREAMCTL_HTTP: "" } });
    expect(viaX.code).toBe(0);
    expect(viaX.stdout).toContain("orders");
  });

  test("delete, and create --if-not-exists / delete --if-exists", async () => {
    expect((await run(["topics", "create", "scratch"])).code).toBe(0);
    expect((await run(["topics", "create", "scratch", "--if-not-exists"])).stderr).toBe("topic scratch exists already (1 partition)\n");
    expect(await run(["topics", "delete", "scratch"])).toMatchObject({ code: 0, stdout: "", stderr: "deleted topic scratch\n" });
    expect((await run(["topics", "delete", "scratch", "--if-exists"])).code).toBe(0);
  });
});

describe("metadata and offsets", () => {
  test("metadata lists the broker, the controller and each partition's leader", async () => {
    const r = await run(["metadata"]);
    expect(r.code).toBe(0);
    expect(r.stdout.replace(/127\.0\.0\.1:\d+/, "127.0.0.1:PORT").replace(/^orders .*\n/gm, (l) => (/^orders\s+[0-2]\s/.test(l) ? l : ""))).toMatchInlineSnapshot(`
      "cluster     streamctl
      controller  0
      1 broker, 1 topic

      BROKER  ADDRESS          RACK
           0  127.0.0.1:PORT     -

      TOPIC   PARTITION  LEADER  REPLICAS  ISR  ERROR
      orders          0       0         0    0      -
      orders          1       0         0    0      -
      orders          2       0         0    0      -
      "
    `);
    const doc = JSON.parse((await run(["metadata", "orders", "--json"])).stdout);
    expect(doc).toMatchObject({ clusterId: "streamctl", controllerId: 0, brokers: [{ nodeId: 0, host: "127.0.0.1", port: Number(broker.kafka.split(":")[1]) }], topics: [{ name: "orders", internal: false }] });
    expect(doc.topics[0].partitions[0]).toEqual({ partition: 0, leader: 0, leaderEpoch: expect.any(Number), replicas: [0], isr: [0], offline: [], error: null });
    expectOneLineFailure(await run(["metadata", "ghost"]), 1, "topic 'ghost' does not exist");
  });

  test("offsets: start and end per partition, and the offset at a time", async () => {
    const r = await run(["offsets", "orders"]);
    expect(r.code).toBe(0);
    expect(r.stdout.split("\n").slice(0, 4).join("\n")).toMatchInlineSnapshot(`
      "TOPIC   PARTITION  START  END  RECORDS
      orders          0      0    0        0
      orders          1      0    3        3
      orders          2      0    0        0"
    `);
    const past = JSON.parse((await run(["offsets", "orders", "--at", "@-1h", "--json"])).stdout);
    expect(past.topics[0].partitions.slice(0, 3)).toEqual([
      { partition: 0, start: 0, end: 0, offset: null },
      { partition: 1, start: 0, end: 3, offset: 0 },
      { partition: 2, start: 0, end: 0, offset: null },
    ]);
    const future = JSON.parse((await run(["offsets", "orders", "--at", "+1h", "--json"])).stdout);
    expect(future.topics[0].partitions[1]).toEqual({ partition: 1, start: 0, end: 3, offset: null });
    expectOneLineFailure(await run(["offsets", "ghost"]), 1, "topic 'ghost' does not exist");
    expectOneLineFailure(await run(["offsets", "orders", "--at", "yesterday"]), 2, "--at");
  });
});

describe("groups over the Kafka protocol, HTTP door off", () => {
  beforeAll(async () => {
    expect((await run(["topics", "create", "events", "--partitions", "2"])).code).toBe(0);
    for (const p of [0, 1]) {
      const input = Array.from({ length: 10 }, (_, i) => `e${i}`).join("\n");
      expect((await streamctl(["produce", "events", "--partition", String(p)], { input, env })).code).toBe(0);
    }
    await commitOffsets(broker.kafka, "audit", "events", { 0: 4, 1: 10 });
  });

  test("list, describe, reset-offsets with undo, delete", async () => {
    expect((await run(["groups", "list"])).stdout).toMatchInlineSnapshot(`
      "GROUP  STATE  MEMBERS  LAG
      audit  Empty        0    6
      "
    `);
    expect((await run(["group", "describe", "audit"])).stdout).toMatchInlineSnapshot(`
      "group     audit
      state     Empty
      members   0
      lag       6

      TOPIC   PARTITION  COMMITTED  END  LAG
      events          0          4   10    6
      events          1         10   10    0
      "
    `);
    const dry = await run(["groups", "reset-offsets", "audit", "--to", "earliest"]);
    expect(dry).toMatchObject({ code: 0, stderr: "dry run: nothing changed; add --execute to apply\n" });
    expect(dry.stdout).toContain("events          1       10    0");
    const save = `${broker.dataDir}/../undo-${process.pid}.json`;
    const done = await run(["groups", "reset-offsets", "audit", "--topic", "events:0", "--to", "8", "--execute", "--save", save]);
    expect(done.code).toBe(0);
    expect(JSON.parse((await run(["groups", "describe", "audit", "--json"])).stdout)).toMatchObject({ group: "audit", lag: 2 });
    expect((await run(["groups", "reset-offsets", "audit", "--undo", save, "--execute", "--save", `${save}.2`])).code).toBe(0);
    expect(JSON.parse((await run(["groups", "describe", "audit", "--json"])).stdout)).toMatchObject({ lag: 6 });
    removeDir(save);
    removeDir(`${save}.2`);
    expect(await run(["groups", "delete", "audit"])).toMatchObject({ code: 0, stderr: "deleted group audit\n" });
    expect((await run(["groups", "list"])).stderr).toBe("no consumer groups yet\n");
    expectOneLineFailure(await run(["groups", "describe", "audit"]), 1, "group 'audit' does not exist");
  });

  test("top --once draws from Kafka: what only streamctl knows is left out", async () => {
    const r = await run(["top", "--once"]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]).toBe(`streamctl top  ${broker.kafka}  topics 2  records 23  groups 0`);
    expect(lines[2]!.split(/\s{2,}/)).toEqual(["TOPIC", "PARTS", "REC/S IN", "MB/S IN", "REC/S OUT", "MB/S OUT", "END", "SIZE"]);
    expect(lines.find((l) => l.startsWith("events "))!.trim().split(/\s+/)).toEqual(["events", "2", "-", "-", "-", "-", "20", "-"]);
  });
});

describe("a broker that never answers", () => {
  test("fails within request.timeout.ms naming the broker, and SIGTERM ends the command at once", async () => {
    const silent = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    try {
      const address = `127.0.0.1:${silent.port}`;
      const started = performance.now();
      const r = await streamctl(["topics", "list", "-X", "request.timeout.ms=1000"], { env: { STREAMCTL_BROKER: address, STREAMCTL_HTTP: "" } });
      expect(performance.now() - started).toBeLessThan(5000);
      expectOneLineFailure(r, 1, `broker ${address}: `);
      expect(r.stderr).toContain("no answer within 1000 ms (request.timeout.ms)");

      const proc = Bun.spawn([STREAMCTL_BIN, "groups", "list"], { env: { ...process.env, STREAMCTL_BROKER: address, STREAMCTL_HTTP: "" }, stdout: "pipe", stderr: "pipe" });
      await Bun.sleep(500); // let it connect and wait; the signal is what is tested
      const signalled = performance.now();
      proc.kill("SIGTERM");
      expect(await proc.exited).toBe(143);
      expect(performance.now() - signalled).toBeLessThan(1000);
    } finally {
      silent.stop(true);
    }
  });
});

describe("a control plane must serve the broker it is shown with", () => {
  test("STREAMCTL_HTTP of another broker is refused; HOST:PORT as the ready line prints it is accepted", async () => {
    const other = await startBroker();
    try {
      expect((await postJson(other.http, "/v1/topics", { name: "orders", partitions: 1 })).status).toBe(201);
      expectOneLineFailure(await run(["topics", "describe", "orders"], { STREAMCTL_HTTP: other.http }), 1, "serves another broker");
      // The other broker with its own control plane, named as HOST:PORT: sizes and durability join in.
      const own = await streamctl(["topics", "describe", "orders"], { env: { STREAMCTL_BROKER: other.kafka, STREAMCTL_HTTP: other.http } });
      expect(own.code).toBe(0);
      expect(own.stdout).toContain("durability  fsync=always");
      expect(own.stdout).toMatch(/ {8}0 {6}0 {4}0 {4}0 {8}0 {3}0 B {9}1\n/);
    } finally {
      expect(await other.stop()).toBe(0);
      removeDir(other.dataDir);
    }
  });
});
