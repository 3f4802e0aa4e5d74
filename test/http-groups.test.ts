// Issue 6: the groups routes of the control plane against the binary's coordinator. Offsets are
// committed over the Kafka protocol (a simple OffsetCommit, as admin tools send) and a live member
// is a kafkajs consumer, so lag, reset and delete are checked against what a client did.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Kafka, logLevel } from "kafkajs";
import { type BrokerProcess, removeDir, startBroker } from "./harness.ts";
import { api, commitOffsets, expectClientError, postJson } from "./http-helpers.ts";

let broker: BrokerProcess;
let http: string;
let kafka: Kafka;

beforeAll(async () => {
  broker = await startBroker({ args: ["--group-initial-rebalance-delay-ms", "0"] });
  http = broker.http;
  kafka = new Kafka({ brokers: [broker.kafka], logLevel: logLevel.NOTHING, retry: { retries: 2 } });
  expect((await postJson(http, "/v1/topics", { name: "orders", partitions: 2 })).status).toBe(201);
  for (const [p, n] of [[0, 100], [1, 50]]) {
    const body = Array.from({ length: n! }, (_, i) => `o${i}`).join("\n");
    expect((await api(http, `/v1/topics/orders/records?partition=${p}`, { method: "POST", body })).status).toBe(200);
  }
  await commitOffsets(broker.kafka, "billing", "orders", { 0: 40, 1: 50 });
});

afterAll(async () => {
  expect(await broker.stop()).toBe(0);
  removeDir(broker.dataDir);
});

describe("groups", () => {
  test("list and describe show committed offsets, end offsets and lag", async () => {
    const list = await api(http, "/v1/groups");
    expect(list.json.groups).toContainEqual({ group: "billing", state: "Empty", protocolType: expect.any(String), members: 0, lag: 60 });
    const d = await api(http, "/v1/groups/billing");
    expect(d.status).toBe(200);
    expect(d.json).toMatchObject({
      group: "billing",
      state: "Empty",
      members: [],
      lag: 60,
      offsets: [{ topic: "orders", partitions: [{ partition: 0, committed: 40, end: 100, lag: 60 }, { partition: 1, committed: 50, end: 50, lag: 0 }] }],
    });
  });

  test("reset is a dry run unless execute, and reports the previous offsets", async () => {
    const dry = await postJson(http, "/v1/groups/billing/offsets", { topic: "orders", to: "earliest" });
    expect(dry.status).toBe(200);
    expect(dry.json).toEqual({
      group: "billing",
      execute: false,
      offsets: [
        { topic: "orders", partition: 0, previous: 40, offset: 0 },
        { topic: "orders", partition: 1, previous: 50, offset: 0 },
      ],
    });
    expect((await api(http, "/v1/groups/billing")).json.lag).toBe(60);
    const done = await postJson(http, "/v1/groups/billing/offsets", { topics: [{ topic: "orders", partitions: [0] }], to: { offset: 10 }, execute: true });
    expect(done.json.offsets).toEqual([{ topic: "orders", partition: 0, previous: 40, offset: 10 }]);
    expect((await api(http, "/v1/groups/billing")).json.lag).toBe(90);
    const latest = await postJson(http, "/v1/groups/billing/offsets", { to: "latest", execute: true });
    expect(latest.json.offsets.map((o: { offset: number }) => o.offset)).toEqual([100, 50]);
    const byTime = await postJson(http, "/v1/groups/billing/offsets", { topic: "orders", to: { timestamp: 0 } });
    expect(byTime.json.offsets.map((o: { offset: number }) => o.offset)).toEqual([0, 0]);
    const undo = await postJson(http, "/v1/groups/billing/offsets", { offsets: [{ topic: "orders", partition: 0, offset: 40 }], execute: true });
    expect(undo.status).toBe(200);
    expect((await api(http, "/v1/groups/billing")).json.offsets[0].partitions[0].committed).toBe(40);
  });

  test.each([
    ["no target", { topic: "orders" }, 400, "BAD_REQUEST"],
    ["a bad target", { topic: "orders", to: "yesterday" }, 400, "BAD_REQUEST"],
    ["a negative offset", { topic: "orders", to: { offset: -1 } }, 400, "BAD_REQUEST"],
    ["an unknown field", { topic: "orders", to: "earliest", dryRun: true }, 400, "UNKNOWN_FIELD"],
    ["an unknown topic", { topic: "nope", to: "earliest" }, 404, "UNKNOWN_TOPIC"],
    ["an unknown partition", { topics: [{ topic: "orders", partitions: [9] }], to: "earliest" }, 404, "UNKNOWN_PARTITION"],
    ["offsets and to together", { offsets: [{ topic: "orders", partition: 0, offset: 1 }], to: "earliest" }, 400, "BAD_REQUEST"],
    ["malformed offsets", { offsets: [{ topic: "orders", partition: "0", offset: 1 }] }, 400, "BAD_REQUEST"],
    ["execute not a boolean", { topic: "orders", to: "earliest", execute: "yes" }, 400, "BAD_REQUEST"],
    ["malformed JSON", "{", 400, "INVALID_JSON"],
  ])("reset with %s", async (_, body, status, code) => {
    expectClientError(await postJson(http, "/v1/groups/billing/offsets", body), status, code);
  });

  test("unknown groups are 404", async () => {
    expectClientError(await api(http, "/v1/groups/nobody"), 404, "GROUP_ID_NOT_FOUND");
    expectClientError(await api(http, "/v1/groups/nobody", { method: "DELETE" }), 404, "GROUP_ID_NOT_FOUND");
  });

  test("a group with a live member can be neither reset nor deleted", async () => {
    const consumer = kafka.consumer({ groupId: "live", sessionTimeout: 10000, heartbeatInterval: 500 });
    const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
    await consumer.connect();
    await consumer.subscribe({ topic: "orders", fromBeginning: true });
    await consumer.run({ eachMessage: async () => {} });
    await joined;
    try {
      const d = await api(http, "/v1/groups/live");
      expect(d.json.members).toHaveLength(1);
      expect(d.json.members[0].assignment).toEqual([{ topic: "orders", partitions: [0, 1] }]);
      expectClientError(await postJson(http, "/v1/groups/live/offsets", { topic: "orders", to: "earliest", execute: true }), 409, "NON_EMPTY_GROUP");
      expectClientError(await api(http, "/v1/groups/live", { method: "DELETE" }), 409, "NON_EMPTY_GROUP");
    } finally {
      await consumer.disconnect();
    }
  });

  test("an empty group is deleted with its offsets", async () => {
    const deleted = await api(http, "/v1/groups/billing", { method: "DELETE" });
    expect(deleted.json).toEqual({ deleted: "billing" });
    expectClientError(await api(http, "/v1/groups/billing"), 404, "GROUP_ID_NOT_FOUND");
    expect((await api(http, "/v1/groups")).json.groups.map((g: { group: string }) => g.group)).not.toContain("billing");
  });
});
