// The HTTP door driven in-process against the broker core: Requests go to the door's fetch
// function as Bun.serve would hand them over. No socket, no spawned binary; the core runs on a
// temp dir.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Broker } from "../../core/broker/broker.ts";
import { encodeRecordBatch } from "../../core/batch/record-batch.ts";
import { type HttpDoor, httpDoor } from "./server.ts";

let dir: string;
let broker: Broker;
let door: HttpDoor;
const server = { timeout() {} };

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "streamctl-http-door-"));
  broker = await Broker.open({ dataDir: dir, fsync: { mode: "always" }, autoCreateTopics: true, defaultPartitions: 1 }, { info() {}, warn() {}, error() {} });
  door = httpDoor(broker);
});

afterEach(async () => {
  door.close();
  await broker.close();
  rmSync(dir, { recursive: true, force: true });
});

function request(method: string, path: string, body?: string, contentType = "application/json"): Promise<Response> {
  const init: RequestInit = { method };
  if (body !== undefined) {
    init.body = body;
    init.headers = { "content-type": contentType };
  }
  return door.fetch(new Request(`http://127.0.0.1:8092${path}`, init), server);
}

async function json(res: Response, status: number): Promise<any> {
  expect(res.headers.get("content-type") ?? "").toContain("json");
  const body = await res.json();
  expect([res.status, body]).toEqual([status, body]);
  return body;
}

describe("HTTP door in-process", () => {
  test("a topic created over HTTP is the core's, and one created in the core is listed", async () => {
    const created = await json(await request("POST", "/v1/topics", JSON.stringify({ name: "orders", partitions: 3 })), 201);
    expect(created.partitions).toHaveLength(3);
    expect(broker.topic("orders")?.partitions.length).toBe(3);
    await broker.createTopic("audit", 2);
    const list = await json(await request("GET", "/v1/topics"), 200);
    expect(list.topics.map((t: { name: string; partitions: number }) => [t.name, t.partitions])).toEqual([
      ["audit", 2],
      ["orders", 3],
    ]);
    expect((await json(await request("POST", "/v1/topics", JSON.stringify({ name: "orders" })), 409)).error.code).toBe("TOPIC_EXISTS");
  });

  test("records posted over HTTP go through the core's append and read back as NDJSON", async () => {
    await broker.createTopic("lines", 1);
    const posted = await json(await request("POST", "/v1/topics/lines/records", "one\ntwo\n", "text/plain"), 200);
    expect(posted.offsets).toEqual([{ partition: 0, baseOffset: 0, lastOffset: 1 }]);
    expect(broker.topic("lines")!.partitions[0]!.highWatermark).toBe(2);
    expect(broker.metrics.topic("lines").recordsIn).toBe(2);
    const res = await request("GET", "/v1/topics/lines/records?partition=0&offset=1");
    expect(res.status).toBe(200);
    expect(res.headers.get("x-next-offset")).toBe("2");
    const lines = (await res.text()).trimEnd().split("\n").map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.offset, l.value])).toEqual([[1, "two"]]);
  });

  test("the HTTP door sees what the Kafka door's path appended (one core)", async () => {
    await broker.createTopic("shared", 1);
    const appending = broker.append("shared", 0, encodeRecordBatch({ records: [{ value: new TextEncoder().encode("from-kafka") }] }), { allowZstd: true });
    await appending.result;
    const res = await request("GET", "/v1/topics/shared/records");
    expect(JSON.parse((await res.text()).trim()).value).toBe("from-kafka");
  });

  test("a batch refused by the core appends nothing of the request", async () => {
    await broker.createTopic("compacted", 1, { "cleanup.policy": "compact" });
    const body = [JSON.stringify({ key: "k", value: "kept?" }), JSON.stringify({ value: "no key" })].join("\n");
    const res = await json(await request("POST", "/v1/topics/compacted/records?partition=0", body, "application/x-ndjson"), 400);
    expect(res.error.code).toBe("INVALID_RECORD");
    expect(broker.topic("compacted")!.partitions[0]!.endOffset).toBe(0);
  });

  test("core errors become JSON errors with their status", async () => {
    await broker.createTopic("small", 1);
    expect((await json(await request("GET", "/v1/topics/small/records?partition=4"), 404)).error.code).toBe("UNKNOWN_PARTITION");
    expect((await json(await request("GET", "/v1/topics/small/records?offset=9"), 416)).error.code).toBe("OFFSET_OUT_OF_RANGE");
    expect((await json(await request("GET", "/v1/topics/nope"), 404)).error.code).toBe("UNKNOWN_TOPIC");
    expect((await json(await request("GET", "/v1/topics/bad%20name"), 400)).error.code).toBe("INVALID_TOPIC");
    expect((await json(await request("PUT", "/v1/topics"), 405)).error.code).toBe("METHOD_NOT_ALLOWED");
  });

  test("a stream gets old records, then new ones as they are appended, and ends when the topic is deleted", async () => {
    await broker.createTopic("feed", 1);
    await json(await request("POST", "/v1/topics/feed/records", "old\n", "text/plain"), 200);
    const res = await request("GET", "/v1/topics/feed/stream?from=beginning");
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const reader = res.body!.getReader();
    let text = "";
    const until = async (pattern: RegExp) => {
      while (!pattern.test(text)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended before ${pattern}: ${text}`);
        text += new TextDecoder().decode(value);
      }
    };
    await until(/"value":"old"/);
    await json(await request("POST", "/v1/topics/feed/records", "new\n", "text/plain"), 200);
    await until(/"value":"new"/);
    await broker.deleteTopic("feed");
    await until(/event: end\ndata: \{"reason":"topic deleted"\}/);
    expect((await reader.read()).done).toBe(true);
  });
});
