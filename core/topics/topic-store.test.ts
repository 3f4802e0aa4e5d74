// TopicStore against both file layers: validation table, concurrent creates, delete, configs,
// reload, clean-shutdown marker.
import { afterEach, describe, expect, test } from "bun:test";
import { AssertionError } from "../assert.ts";
import { ManualClock } from "../testing/manual-time.ts";
import { CoreError } from "../errors.ts";
import { MemoryFileLayer } from "../testing/memory-fs.ts";
import { PARTITIONS_PER_TOPIC_MAX } from "../limits.ts";
import { batchesIn, buildBatch } from "../testing/batch-bytes.ts";
import { type Env, LAYERS, MemoryLogger } from "../testing/log-harness.ts";
import { Topic, TopicStore } from "./topic-store.ts";

function open(env: Env, extra: Partial<Parameters<typeof TopicStore.open>[0]> = {}) {
  return TopicStore.open({ dataDir: env.root, fsync: "always", fs: env.fs, clock: new ManualClock(), logger: new MemoryLogger(), ...extra });
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "ok";
  } catch (e) {
    if (!(e instanceof CoreError)) throw e;
    return e.code;
  }
}

describe.each(LAYERS)("TopicStore on %s", (_name, makeEnv) => {
  let env: Env;
  afterEach(() => env?.cleanup());

  test.each([
    ["a", 1, {}, "ok"],
    ["with.dots_and-dashes.09", 3, {}, "ok"],
    ["x".repeat(249), 1, {}, "ok"],
    ["x".repeat(250), 1, {}, "INVALID_TOPIC"],
    ["", 1, {}, "INVALID_TOPIC"],
    [".", 1, {}, "INVALID_TOPIC"],
    ["..", 1, {}, "INVALID_TOPIC"],
    ["...", 1, {}, "ok"],
    ["a/b", 1, {}, "INVALID_TOPIC"],
    ["a b", 1, {}, "INVALID_TOPIC"],
    ["é", 1, {}, "INVALID_TOPIC"],
    ["ok", 0, {}, "INVALID_PARTITIONS"],
    ["ok", -1, {}, "INVALID_PARTITIONS"],
    ["ok", 1.5, {}, "INVALID_PARTITIONS"],
    ["ok", PARTITIONS_PER_TOPIC_MAX + 1, {}, "INVALID_PARTITIONS"],
    ["ok", 1, { "retention.ms": "-1" }, "ok"],
    ["ok", 1, { "retention.ms": "-2" }, "INVALID_CONFIG"],
    ["ok", 1, { "retention.ms": "soon" }, "INVALID_CONFIG"],
    ["ok", 1, { "segment.bytes": "13" }, "INVALID_CONFIG"],
    ["ok", 1, { "segment.bytes": "14" }, "ok"],
    ["ok", 1, { "segment.bytes": "2147483648" }, "INVALID_CONFIG"],
    ["ok", 1, { "segment.ms": "0" }, "INVALID_CONFIG"],
    ["ok", 1, { "cleanup.policy": "compact,delete" }, "ok"],
    ["ok", 1, { "cleanup.policy": "shred" }, "INVALID_CONFIG"],
    ["ok", 1, { "message.timestamp.type": "LogAppendTime" }, "ok"],
    ["ok", 1, { "message.timestamp.type": "logappendtime" }, "INVALID_CONFIG"],
    ["ok", 1, { "max.message.bytes": "-1" }, "INVALID_CONFIG"],
    ["ok", 1, { "no.such.key": "1" }, "INVALID_CONFIG"],
  ] as Array<[string, number, Record<string, string>, string]>)("create %j with %p partitions and %j → %s", async (name, partitions, configs, want) => {
    env = makeEnv();
    const store = await open(env);
    expect(await codeOf(store.createTopic(name, partitions, configs))).toBe(want);
    expect(store.topic(name) !== undefined).toBe(want === "ok");
    await store.close();
  });

  test("existing name → TOPIC_EXISTS; '.' vs '_' collision → INVALID_TOPIC", async () => {
    env = makeEnv();
    const store = await open(env);
    await store.createTopic("a.b", 1);
    expect(await codeOf(store.createTopic("a.b", 1))).toBe("TOPIC_EXISTS");
    expect(await codeOf(store.createTopic("a_b", 1))).toBe("INVALID_TOPIC");
    await store.close();
  });

  test("concurrent identical creates: exactly one succeeds", async () => {
    env = makeEnv();
    const store = await open(env);
    const codes = await Promise.all(Array.from({ length: 8 }, () => codeOf(store.createTopic("race", 2))));
    expect(codes.filter((c) => c === "ok").length).toBe(1);
    expect(codes.filter((c) => c === "TOPIC_EXISTS").length).toBe(7);
    await store.close();
  });

  test("metadata, ids, configs and data reload after close", async () => {
    env = makeEnv();
    const store = await open(env);
    const t = await store.createTopic("orders", 3, { "retention.ms": "1000", "cleanup.policy": "compact" });
    expect(t.topicId.length).toBe(16);
    expect(t.configs["retention.ms"]).toBe(1000);
    expect(t.configs["segment.bytes"]).toBe(1073741824);
    await t.partitions[1]!.append(buildBatch({ records: 3 }));
    await store.alterConfigs("orders", { "retention.ms": null, "segment.ms": "5000" });
    expect(store.describeConfigs("orders").filter((c) => !c.isDefault).map((c) => c.name).sort()).toEqual(["cleanup.policy", "segment.ms"]);
    await store.close();
    expect(env.fs.stat(`${env.root}/.clean-shutdown`)).not.toBeNull();

    const again = await open(env);
    expect(again.recoveryReport.clean).toBe(true);
    expect(env.fs.stat(`${env.root}/.clean-shutdown`)).toBeNull();
    const u = again.topic("orders")!;
    expect(u.topicIdString).toBe(t.topicIdString);
    expect(u.partitions.length).toBe(3);
    expect(u.configs["retention.ms"]).toBe(604800000);
    expect(u.configs["segment.ms"]).toBe(5000);
    expect(u.configs["cleanup.policy"]).toBe("compact");
    expect(u.partitions[1]!.endOffset).toBe(3);
    expect(batchesIn(u.partitions[1]!.read(0, 1000).chunks).length).toBe(1);
    await again.close();
  });

  test("alterConfigs validates everything before applying anything", async () => {
    env = makeEnv();
    const store = await open(env);
    await store.createTopic("t", 1);
    expect(await codeOf(store.alterConfigs("t", { "segment.ms": "10", "retention.ms": "x" }))).toBe("INVALID_CONFIG");
    expect(await codeOf(store.alterConfigs("t", { "bogus": null }))).toBe("INVALID_CONFIG");
    expect(await codeOf(store.alterConfigs("nope", {}))).toBe("UNKNOWN_TOPIC");
    expect(store.topic("t")!.configs["segment.ms"]).toBe(604800000);
    await store.close();
  });

  test("delete removes the topic at once and its files; the name is free again", async () => {
    env = makeEnv();
    const store = await open(env);
    await store.createTopic("gone", 2);
    const deleting = store.deleteTopic("gone");
    expect(store.topic("gone")).toBeUndefined();
    await deleting;
    expect(env.fs.readdir(`${env.root}/topics`)).toEqual([]);
    expect(await codeOf(store.deleteTopic("gone"))).toBe("UNKNOWN_TOPIC");
    const t = await store.createTopic("gone", 1);
    expect(t.partitions[0]!.endOffset).toBe(0);
    await store.close();
  });

  test("createPartitions grows a topic durably; never shrinks; validateOnly changes nothing (issue #21)", async () => {
    env = makeEnv();
    const store = await open(env);
    await store.createTopic("grow", 2, { "retention.ms": "1000" });
    expect(await codeOf(store.createPartitions("grow", 2))).toBe("INVALID_PARTITIONS");
    expect(await codeOf(store.createPartitions("grow", 1))).toBe("INVALID_PARTITIONS");
    expect(await codeOf(store.createPartitions("grow", PARTITIONS_PER_TOPIC_MAX + 1))).toBe("INVALID_PARTITIONS");
    expect(await codeOf(store.createPartitions("missing", 3))).toBe("UNKNOWN_TOPIC");
    await store.createPartitions("grow", 5, { validateOnly: true });
    expect(store.topic("grow")!.partitions.length).toBe(2);
    // A grow and a config change queued together: both land, in order.
    const [grown] = await Promise.all([store.createPartitions("grow", 4), store.alterConfigs("grow", { "segment.ms": "5000" })]);
    expect(grown.partitions.length).toBe(4);
    await grown.partitions[3]!.append(buildBatch({ records: 2 }));
    expect(grown.partitions[3]!.endOffset).toBe(2);
    expect(grown.partitions[3]!.config.retentionMs).toBe(1000);
    await store.close();
    const again = await open(env);
    const t = again.topic("grow")!;
    expect([t.partitions.length, t.overrides]).toEqual([4, { "retention.ms": "1000", "segment.ms": "5000" }]);
    expect(t.partitions[3]!.endOffset).toBe(2);
    await again.close();
  });

  test("a grow that did not reach topic.json leaves directories that are ignored, then replaced (issue #21)", async () => {
    env = makeEnv();
    const store = await open(env);
    await store.createTopic("half", 1);
    await store.close();
    // What a crash between the new partition's mkdir/open and the topic.json rewrite leaves.
    env.fs.mkdirp(`${env.root}/topics/half/1`);
    const file = env.fs.open(`${env.root}/topics/half/1/00000000000000000000.log`, { create: true });
    env.fs.pwrite(file, buildBatch({ records: 3 }), 0);
    env.fs.close(file);
    const again = await open(env);
    expect(again.topic("half")!.partitions.length).toBe(1);
    const grown = await again.createPartitions("half", 2);
    expect([grown.partitions[1]!.startOffset, grown.partitions[1]!.endOffset]).toEqual([0, 0]);
    await again.close();
  });

  test("unfinished creates and deletes are cleaned at open", async () => {
    env = makeEnv();
    const store = await open(env);
    await store.createTopic("keep", 1);
    await store.close();
    env.fs.mkdirp(`${env.root}/topics/half/0`); // no topic.json: create never committed
    env.fs.mkdirp(`${env.root}/topics/keep~deleted-123/0`);
    const again = await open(env);
    expect(again.topics().map((t) => t.name)).toEqual(["keep"]);
    expect(env.fs.readdir(`${env.root}/topics`)).toEqual(["keep"]);
    expect(again.recoveryReport.removed.length).toBe(2);
    await again.close();
  });

  test("unclean stop: no marker, partitions recovered, report says so", async () => {
    env = makeEnv();
    const store = await open(env);
    const t = await store.createTopic("t", 2);
    await t.partitions[0]!.append(buildBatch({ records: 2 }));
    // no close
    const again = await open(env);
    expect(again.recoveryReport.clean).toBe(false);
    expect(again.recoveryReport.partitions).toBe(2);
    expect(again.topic("t")!.partitions[0]!.endOffset).toBe(2);
    await again.close();
  });

  test("enforceRetention runs over every partition", async () => {
    env = makeEnv();
    const clock = new ManualClock(1_700_000_000_000);
    const store = await open(env, { clock });
    const t = await store.createTopic("r", 2, { "segment.bytes": "300", "retention.ms": "1000" });
    for (const log of t.partitions) for (let i = 0; i < 6; i++) await log.append(buildBatch({ records: 1, valueBytes: 100, timestamp: clock.now() }));
    const r = store.enforceRetention(clock.now() + 5000);
    expect(r.segmentsDeleted).toBeGreaterThan(2);
    for (const log of t.partitions) expect(log.segmentCount).toBe(1);
    await store.close();
  });
});

test("fsync policy strings are parsed; a bad one is INVALID_CONFIG", async () => {
  const fs = new MemoryFileLayer();
  const s = await TopicStore.open({ dataDir: "/d", fs, fsync: "interval=50" });
  expect(s.fsyncPolicy).toEqual({ mode: "interval", ms: 50 });
  await s.close();
  expect(await codeOf(TopicStore.open({ dataDir: "/d", fs, fsync: "sometimes" }))).toBe("INVALID_CONFIG");
});

test("a config write queued when its topic is deleted does not land in the topic created again (issue #7)", async () => {
  // Found by core/power-loss.test.ts: the second alter's topic.json write started after the delete
  // and wrote the deleted topic's id, partition count and configs into the new topic's directory,
  // so the next open brought the deleted topic back over the new one.
  const fs = new MemoryFileLayer();
  const store = await TopicStore.open({ dataDir: "/d", fs, fsync: "always" });
  await store.createTopic("t", 3, { "segment.bytes": "1000" });
  let slow = true;
  fs.disk.syncTurns = () => (slow ? ((slow = false), 10) : 1); // the first alter's fdatasync
  const first = store.alterConfigs("t", { "segment.bytes": "2000" }).catch(() => "failed");
  const second = store.alterConfigs("t", { "segment.bytes": "3000" }).catch(() => "failed");
  await new Promise<void>((r) => setImmediate(r));
  await store.deleteTopic("t");
  const again = await store.createTopic("t", 1);
  await Promise.all([first, second]);
  await store.close();
  const reopened = await TopicStore.open({ dataDir: "/d", fs, fsync: "always" });
  const t = reopened.topic("t")!;
  expect([t.topicIdString, t.partitions.length, t.overrides]).toEqual([again.topicIdString, 1, {}]);
  await reopened.close();
});

describe("topic store assertions (issue #17): a broken invariant is an AssertionError, never a CoreError", () => {
  const openMemory = () => TopicStore.open({ dataDir: "/d", fs: new MemoryFileLayer(), fsync: "always" });
  /** The store's bookkeeping of a topic, as a bug would leave it (only a test reaches it). */
  const bookOf = (store: TopicStore, topic: Topic) =>
    (store as unknown as { books: WeakMap<Topic, { partitions: number; metaQueued: number; metaSettled: number }> }).books.get(topic)!;

  test("a topic has a legal name, a 16-byte id and 1..max partitions", async () => {
    const store = await openMemory();
    const t = await store.createTopic("t", 2);
    expect(() => new Topic("a/b", t.topicId, t.partitions, t.configs, {})).toThrow(AssertionError);
    expect(() => new Topic("t2", new Uint8Array(15), t.partitions, t.configs, {})).toThrow(AssertionError);
    expect(() => new Topic("t2", t.topicId, [], t.configs, {})).toThrow(AssertionError);
    await store.close();
  });

  test("a name is published once", async () => {
    const store = await openMemory();
    const t = await store.createTopic("t", 1);
    expect(() => (store as unknown as { publish(t: Topic): void }).publish(t)).toThrow("published once");
    await store.close();
  });

  test("topic.json never shrinks a topic, and its rewrites run in queue order", async () => {
    const store = await openMemory();
    const t = await store.createTopic("t", 3);
    bookOf(store, t).partitions = 4;
    await expect(store.alterConfigs("t", { "retention.ms": "1000" })).rejects.toThrow("shrink from 4 to 3 partitions");
    bookOf(store, t).partitions = 3;
    bookOf(store, t).metaSettled = 7;
    await expect(store.alterConfigs("t", { "retention.ms": "1000" })).rejects.toThrow(AssertionError);
    await store.close();
  });

  test("a deleted topic's logs are closed before its directory goes", async () => {
    const store = await openMemory();
    const t = await store.createTopic("t", 2);
    t.partitions[1]!.close = async () => {}; // a close that forgets to close
    await expect(store.deleteTopic("t")).rejects.toThrow("is open while the topic is deleted");
    await store.close();
  });

  test("bad names, counts and configs from a client stay CoreErrors", async () => {
    const store = await openMemory();
    for (const [name, partitions, configs] of [
      ["a/b", 1, {}],
      ["ok", 0, {}],
      ["ok", 1, { "segment.ms": "0" }],
    ] as Array<[string, number, Record<string, string>]>) {
      await expect(store.createTopic(name, partitions, configs)).rejects.toBeInstanceOf(CoreError);
    }
    await expect(store.alterConfigs("missing", {})).rejects.toBeInstanceOf(CoreError);
    await expect(store.deleteTopic("missing")).rejects.toBeInstanceOf(CoreError);
    await store.close();
  });
});
