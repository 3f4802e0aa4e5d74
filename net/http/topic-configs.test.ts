// The control plane's topic view and the topic configs of issue #21 (item 2): every Kafka 3.8 topic
// config is accepted with Kafka's validation, and the view marks the ones a topic sets that this
// broker does not act on. In-process, as net/http/door.test.ts drives the HTTP door.
import { afterEach, beforeEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Broker } from "../../core/broker/broker.ts";
import { type HttpDoor, httpDoor } from "./server.ts";

let dir: string;
let broker: Broker;
let door: HttpDoor;
const server = { timeout() {} };

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "streamctl-http-configs-"));
  broker = await Broker.open({ dataDir: dir, fsync: { mode: "always" }, autoCreateTopics: true, defaultPartitions: 1 }, { info() {}, warn() {}, error() {} });
  door = httpDoor(broker);
});

afterEach(async () => {
  door.close();
  await broker.close();
  rmSync(dir, { recursive: true, force: true });
});

async function send(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const init: RequestInit = { method };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { "content-type": "application/json" };
  }
  const res = await door.fetch(new Request(`http://127.0.0.1:8092${path}`, init), server);
  return { status: res.status, json: await res.json() };
}

test("a topic created with configs valid in Kafka but inert here says which ones have no effect", async () => {
  const created = await send("POST", "/v1/topics", { name: "t", partitions: 1, configs: { "compression.type": "gzip", "compression.gzip.level": "5", "retention.ms": "60000", "min.insync.replicas": "2" } });
  expect(created.status).toBe(201);
  // compression.type acts (batches are recompressed on append); the codec's level does not.
  expect(created.json.noEffect).toEqual(["compression.gzip.level"]);
  expect(created.json.configs["retention.ms"]).toBe("60000");
  // The configs the broker acts on, and every one the topic sets.
  expect(Object.keys(created.json.configs)).toEqual([
    "retention.ms", "retention.bytes", "segment.bytes", "segment.ms", "cleanup.policy", "max.message.bytes", "message.timestamp.type",
    "compression.gzip.level", "compression.type", "delete.retention.ms", "max.compaction.lag.ms", "message.downconversion.enable", "min.cleanable.dirty.ratio", "min.compaction.lag.ms",
    "min.insync.replicas", "unclean.leader.election.enable",
  ]);
  const altered = await send("PATCH", "/v1/topics/t/configs", { "min.insync.replicas": null, preallocate: "true" });
  expect(altered.status).toBe(200);
  expect(altered.json.noEffect).toEqual(["compression.gzip.level", "preallocate"]);
  expect((await send("GET", "/v1/topics/t")).json.noEffect).toEqual(["compression.gzip.level", "preallocate"]);
});

test("a value Kafka refuses is a 400 INVALID_CONFIG naming the key", async () => {
  const res = await send("POST", "/v1/topics", { name: "u", configs: { "compression.zstd.level": "99" } });
  expect([res.status, res.json.error.code]).toEqual([400, "INVALID_CONFIG"]);
  expect(res.json.error.message).toContain("compression.zstd.level");
});
