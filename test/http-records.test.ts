// Issue 6: records in and out over HTTP (lines and NDJSON), read back over HTTP and by kcat (an
// independent Kafka client), the SSE stream waking on a record posted after it connected, and the
// bad inputs of each.
import { DeleteTopics, defaultDeleteTopicsRequest } from "../net/protocol/messages/index.ts";
import { RawConnection } from "./raw-kafka.ts";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type BrokerProcess, kcat, removeDir, startBroker } from "./harness.ts";
import { api, expectClientError, postJson } from "./http-helpers.ts";

let broker: BrokerProcess;
let http: string;

function post(topic: string, body: string, type = "text/plain", query = "") {
  return api(http, `/v1/topics/${topic}/records${query}`, { method: "POST", body, headers: { "content-type": type } });
}

function ndjson(text: string): any[] {
  return text
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l));
}

beforeAll(async () => {
  broker = await startBroker();
  http = broker.http;
  for (const [name, partitions, configs] of [
    ["lines", 1, {}],
    ["keyed", 4, {}],
    ["small", 1, { "max.message.bytes": "1000" }],
    ["compacted", 1, { "cleanup.policy": "compact" }],
    ["bulk", 1, {}],
  ] as const) {
    expect((await postJson(http, "/v1/topics", { name, partitions, configs })).status).toBe(201);
  }
});

afterAll(async () => {
  expect(await broker.stop()).toBe(0);
  removeDir(broker.dataDir);
});

describe("records in and out", () => {
  test("plain lines become one record each, readable over HTTP and by kcat", async () => {
    const r = await post("lines", "first\nsecond\r\n\nfourth\n");
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ topic: "lines", records: 4, offsets: [{ partition: 0, baseOffset: 0, lastOffset: 3 }] });
    const out = await api(http, "/v1/topics/lines/records?partition=0&offset=0");
    expect(out.headers.get("content-type")).toBe("application/x-ndjson");
    const envelopes = ndjson(out.text);
    expect(envelopes.map((e) => e.value)).toEqual(["first", "second", "", "fourth"]);
    expect(Object.keys(envelopes[0])).toEqual(["topic", "partition", "offset", "timestamp", "key", "value", "headers"]);
    expect(envelopes[1]).toMatchObject({ topic: "lines", partition: 0, offset: 1, key: null, headers: [] });
    const k = await kcat(broker.kafka, ["-C", "-t", "lines", "-p", "0", "-o", "beginning", "-e", "-f", "%o:%s\n"]);
    expect(k.code).toBe(0);
    expect(k.stdout).toBe("0:first\n1:second\n2:\n3:fourth\n");
  });

  test("NDJSON keeps key, value, headers, timestamp and partition; keys hash like Kafka's partitioner", async () => {
    const lines = [
      { key: "k1", value: "v1", headers: [{ key: "source", value: "test" }, { key: "empty", value: null }, { key: "source", value: "again" }], timestamp: 1700000000000 },
      { key: null, value: null, partition: 3 },
      { topic: "ignored", offset: 99, key: "k1", value: "v2", headers: { h: "object form" }, timestamp: "2023-11-14T22:13:20Z" },
      { key: "bin", value: "AP8=", valueEncoding: "base64", partition: 3 },
    ];
    const r = await post("keyed", lines.map((l) => JSON.stringify(l)).join("\n"), "application/x-ndjson");
    expect(r.status).toBe(200);
    expect(r.json.records).toBe(4);
    // (murmur2("k1") & 0x7fffffff) % 4 = 1, where the Java client puts it (vectors: net/http/partitioner.test.ts)
    const keyedPartition = r.json.offsets.find((o: { partition: number }) => o.partition !== 3).partition;
    expect(keyedPartition).toBe(1);
    const all = (await Promise.all([0, 1, 2, 3].map((p) => api(http, `/v1/topics/keyed/records?partition=${p}`)))).flatMap((x) => ndjson(x.text));
    expect(all.filter((e) => e.key === "k1").map((e) => [e.partition, e.value])).toEqual([
      [keyedPartition, "v1"],
      [keyedPartition, "v2"],
    ]);
    expect(all.find((e) => e.value === "v1")).toMatchObject({
      timestamp: 1700000000000,
      headers: [{ key: "source", value: "test" }, { key: "empty", value: null }, { key: "source", value: "again" }],
    });
    expect(all.find((e) => e.value === "v2")).toMatchObject({ timestamp: 1700000000000, headers: [{ key: "h", value: "object form" }] });
    expect(all.find((e) => e.partition === 3 && e.key === null)).toMatchObject({ value: null });
    // Bytes that are not UTF-8 come back as base64, marked, exactly as consume --json prints them.
    expect(all.find((e) => e.key === "bin")).toEqual(expect.objectContaining({ value: "AP8=", valueEncoding: "base64" }));
    const k = await kcat(broker.kafka, ["-C", "-t", "keyed", "-p", String(keyedPartition), "-o", "beginning", "-e", "-f", "%k=%s %h\n"]);
    expect(k.stdout).toContain("k1=v1 source=test");
  });

  test("?partition= sends every record there; offset and limit page through", async () => {
    const body = Array.from({ length: 25 }, (_, i) => `r${i}`).join("\n");
    expect((await post("keyed", body, "text/plain", "?partition=2")).json.offsets).toEqual([{ partition: 2, baseOffset: expect.any(Number), lastOffset: expect.any(Number) }]);
    const first = await api(http, "/v1/topics/keyed/records?partition=2&limit=10");
    const page1 = ndjson(first.text);
    expect(page1).toHaveLength(10);
    const next = Number(first.headers.get("x-next-offset"));
    expect(next).toBe(page1[9].offset + 1);
    const second = ndjson((await api(http, `/v1/topics/keyed/records?partition=2&offset=${next}&limit=1000`)).text);
    expect(second[0].offset).toBe(next);
    const values = [...page1, ...second].map((e) => e.value).filter((v: string) => v.startsWith("r"));
    expect(values).toEqual(Array.from({ length: 25 }, (_, i) => `r${i}`));
    const atEnd = await api(http, `/v1/topics/keyed/records?partition=2&offset=${first.headers.get("x-high-watermark")}`);
    expect(atEnd.status).toBe(200);
    expect(atEnd.text).toBe("");
  });

  test("a page read in several 1 MiB steps holds every value as posted (read buffers go back between steps)", async () => {
    // 8,000 distinct lines of ~600 B: one GET of 8,000 reads ~5 MB from the log in 1 MiB steps,
    // each into a buffer lent and given back (core/lent-buffers.ts); a value that still pointed
    // into one would show the next step's bytes.
    const lines = Array.from({ length: 8000 }, (_, i) => `${i}:${String.fromCharCode(97 + (i % 26)).repeat(400 + ((i * 37) % 400))}`);
    expect((await post("bulk", lines.join("\n"))).status).toBe(200);
    const got = ndjson((await api(http, "/v1/topics/bulk/records?limit=8000")).text);
    expect(got.map((e) => e.value)).toEqual(lines);
  });

  test("large posts are cut into batches under max.message.bytes", async () => {
    const body = Array.from({ length: 50 }, (_, i) => `${i}`.padEnd(100, ".")).join("\n");
    const r = await post("small", body);
    expect(r.status).toBe(200);
    expect(r.json.offsets.length).toBeGreaterThan(5);
    expect(ndjson((await api(http, "/v1/topics/small/records?limit=100")).text)).toHaveLength(50);
  });
});

describe("records: bad input", () => {
  test.each([
    ["an unknown topic", "missing", "x", "text/plain", "", 404, "UNKNOWN_TOPIC"],
    ["an illegal topic name", "a%20b", "x", "text/plain", "", 400, "INVALID_TOPIC"],
    ["a partition that does not exist", "lines", "x", "text/plain", "?partition=7", 404, "UNKNOWN_PARTITION"],
    ["a negative partition", "lines", "x", "text/plain", "?partition=-1", 400, "BAD_REQUEST"],
    ["an empty body", "lines", "", "text/plain", "", 400, "INVALID_RECORD"],
    ["a line that is not JSON", "lines", '{"value":"a"}\n{oops', "application/x-ndjson", "", 400, "INVALID_JSON"],
    ["an unknown envelope field", "lines", '{"value":"a","colour":"red"}', "application/x-ndjson", "", 400, "UNKNOWN_FIELD"],
    ["a non-string value", "lines", '{"value":7}', "application/x-ndjson", "", 400, "BAD_REQUEST"],
    ["a bad timestamp", "lines", '{"value":"a","timestamp":"noon"}', "application/x-ndjson", "", 400, "INVALID_TIMESTAMP"],
    ["a header that is not a string", "lines", '{"value":"a","headers":{"h":1}}', "application/x-ndjson", "", 400, "BAD_REQUEST"],
    ["a header without a key", "lines", '{"value":"a","headers":[{"value":"x"}]}', "application/x-ndjson", "", 400, "BAD_REQUEST"],
    ["a value that is not base64", "lines", '{"value":"%%%","valueEncoding":"base64"}', "application/x-ndjson", "", 400, "BAD_REQUEST"],
    ["an unknown encoding", "lines", '{"value":"a","valueEncoding":"hex"}', "application/x-ndjson", "", 400, "BAD_REQUEST"],
    ["an envelope partition out of range", "lines", '{"value":"a","partition":5}', "application/x-ndjson", "", 404, "UNKNOWN_PARTITION"],
    ["an unsupported content type", "lines", "x", "image/png", "", 415, "UNSUPPORTED_MEDIA_TYPE"],
    ["a record over max.message.bytes", "small", "y".repeat(2000), "text/plain", "", 413, "MESSAGE_TOO_LARGE"],
    ["a keyless record on a compacted topic", "compacted", "no key", "text/plain", "", 400, "INVALID_RECORD"],
    ["bytes that are not UTF-8", "lines", "\udc80", "text/plain", "", 200, undefined],
  ])("POST with %s", async (_, topic, body, type, query, status, code) => {
    const before = (await api(http, "/v1/topics/lines")).json.partitions[0].end;
    const r = await post(topic, body, type, query);
    if (status === 200) return expect(r.status).toBe(200); // fetch encodes a lone surrogate as U+FFFD: valid UTF-8
    expectClientError(r, status, code);
    expect((await api(http, "/v1/topics/lines")).json.partitions[0].end).toBe(before); // nothing appended
  });

  test("a body over the records cap is 413 before it is read", async () => {
    const r = await api(http, "/v1/topics/lines/records", { method: "POST", body: new Uint8Array(33 * 1024 * 1024), headers: { "content-type": "text/plain" } });
    expectClientError(r, 413, "PAYLOAD_TOO_LARGE");
  });

  test.each([
    ["an offset past the end", "?offset=1000000", 416, "OFFSET_OUT_OF_RANGE"],
    ["a non-numeric offset", "?offset=soon", 400, "BAD_REQUEST"],
    ["limit 0", "?limit=0", 400, "BAD_REQUEST"],
    ["an absurd limit", "?limit=100000000", 400, "BAD_REQUEST"],
    ["a partition that does not exist", "?partition=9", 404, "UNKNOWN_PARTITION"],
  ])("GET with %s", async (_, query, status, code) => {
    expectClientError(await api(http, `/v1/topics/lines/records${query}`), status, code);
  });
});

describe("SSE stream", () => {
  test("receives a record posted after it connected", async () => {
    const res = await fetch(`http://${http}/v1/topics/keyed/stream`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toStartWith("text/event-stream");
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    /** The next whole SSE event (blank-line separated), skipping comments. */
    const nextEvent = async (): Promise<{ event?: string; id?: string; data?: string }> => {
      for (;;) {
        const end = buffer.indexOf("\n\n");
        if (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const ev: Record<string, string> = {};
          for (const line of block.split("\n")) {
            if (line.startsWith(":")) continue;
            const i = line.indexOf(":");
            ev[line.slice(0, i)] = line.slice(i + 1).trimStart();
          }
          if (Object.keys(ev).length > 0 && !("retry" in ev && Object.keys(ev).length === 1)) return ev;
          continue;
        }
        const { value, done } = await reader.read();
        if (done) throw new Error("stream ended");
        buffer += decoder.decode(value, { stream: true });
      }
    };
    const ready = await nextEvent();
    expect(ready.event).toBe("ready");
    expect(JSON.parse(ready.data!).partitions).toHaveLength(4);
    expect((await post("keyed", JSON.stringify({ key: "live", value: "hello sse" }), "application/x-ndjson")).status).toBe(200);
    const record = await nextEvent();
    expect(record.event).toBeUndefined(); // a plain message: EventSource.onmessage gets it
    const envelope = JSON.parse(record.data!);
    expect(envelope).toMatchObject({ topic: "keyed", key: "live", value: "hello sse" });
    expect(record.id).toBe(`${envelope.partition}:${envelope.offset}`);
    await reader.cancel();
  });

  test("from=beginning replays, and deleting the topic ends the stream", async () => {
    expect((await postJson(http, "/v1/topics", { name: "ephemeral" })).status).toBe(201);
    await post("ephemeral", "one\ntwo\n");
    const res = await fetch(`http://${http}/v1/topics/ephemeral/stream?from=beginning`);
    const text = res.body!.pipeThrough(new TextDecoderStream());
    const reader = text.getReader();
    let seen = "";
    while (!seen.includes('"value":"two"')) seen += (await reader.read()).value ?? "";
    expect(seen).toContain('"value":"one"');
    expect((await api(http, "/v1/topics/ephemeral", { method: "DELETE" })).status).toBe(200);
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += value;
    }
    expect(seen).toEndWith('event: end\ndata: {"reason":"topic deleted"}\n\n');
  });

  test("a delete over the Kafka protocol ends the stream at once too", async () => {
    expect((await postJson(http, "/v1/topics", { name: "ephemeral-kafka" })).status).toBe(201);
    const res = await fetch(`http://${http}/v1/topics/ephemeral-kafka/stream`);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let seen = "";
    while (!seen.includes("event: ready")) seen += (await reader.read()).value ?? "";
    const c = await RawConnection.open(broker.kafka);
    const del = await c.request(DeleteTopics, 4, { ...defaultDeleteTopicsRequest(), timeoutMs: 5000, topicNames: ["ephemeral-kafka"] });
    expect(del.responses[0]!.errorCode).toBe(0);
    c.close();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += value;
    }
    expect(seen).toEndWith('event: end\ndata: {"reason":"topic deleted"}\n\n');
  });

  test.each([
    ["an unknown topic", "/v1/topics/missing/stream", 404],
    ["a bad from", "/v1/topics/lines/stream?from=yesterday", 400],
    ["a partition that does not exist", "/v1/topics/lines/stream?partition=3", 404],
  ])("%s", async (_, path, status) => {
    expectClientError(await api(http, path), status);
  });
});
