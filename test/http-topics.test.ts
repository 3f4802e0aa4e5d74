// Issue 6: the topics routes of the HTTP control plane, from a real HTTP client (fetch) against
// the compiled binary, with good and bad input. Every failure must be a 4xx with
// {"error":{"code","message"}}; the broker must answer /healthz afterwards.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type BrokerProcess, removeDir, startBroker } from "./harness.ts";
import { api, expectClientError, postJson } from "./http-helpers.ts";

let broker: BrokerProcess;
let http: string;

beforeAll(async () => {
  broker = await startBroker();
  http = broker.http;
});

afterAll(async () => {
  expect(await broker.stop()).toBe(0);
  removeDir(broker.dataDir);
});

describe("topics: good input", () => {
  test("healthz answers ok", async () => {
    const r = await api(http, "/healthz");
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ status: "ok" });
  });

  test("create, list, describe, alter, delete", async () => {
    const created = await postJson(http, "/v1/topics", { name: "orders", partitions: 3, configs: { "retention.ms": "86400000", "segment.bytes": 1048576 } });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({
      name: "orders",
      partitions: [0, 1, 2].map((partition) => ({ partition, start: 0, end: 0, bytes: 0, segments: 1 })),
      configs: { "retention.ms": "86400000", "segment.bytes": "1048576", "cleanup.policy": "delete" },
      overrides: { "retention.ms": "86400000", "segment.bytes": "1048576" },
    });
    expect(created.json.durability).toContain("fdatasync");

    const list = await api(http, "/v1/topics");
    expect(list.status).toBe(200);
    expect(list.json.topics).toContainEqual({ name: "orders", partitions: 3, records: 0, bytes: 0, segments: 3 });

    const described = await api(http, "/v1/topics/orders");
    expect(described.status).toBe(200);
    expect(Object.keys(described.json)).toEqual(expect.arrayContaining(["name", "partitions", "configs", "durability"]));
    expect(described.json.partitions[0]).toEqual({ partition: 0, start: 0, end: 0, bytes: 0, segments: 1 });

    const altered = await postJson(http, "/v1/topics/orders/configs", { "retention.ms": null, "cleanup.policy": "compact" }, "PATCH");
    expect(altered.status).toBe(200);
    expect(altered.json.configs["retention.ms"]).toBe("604800000");
    expect(altered.json.overrides).toEqual({ "segment.bytes": "1048576", "cleanup.policy": "compact" });

    const deleted = await api(http, "/v1/topics/orders", { method: "DELETE" });
    expect(deleted.status).toBe(200);
    expect(deleted.json).toEqual({ deleted: "orders" });
    expectClientError(await api(http, "/v1/topics/orders"), 404, "UNKNOWN_TOPIC");
  });

  test("partitions default to the broker's --default-partitions", async () => {
    const r = await postJson(http, "/v1/topics", { name: "defaulted" });
    expect(r.status).toBe(201);
    expect(r.json.partitions).toHaveLength(1);
  });

  test("of many concurrent identical creates exactly one succeeds", async () => {
    const results = await Promise.all(Array.from({ length: 25 }, () => postJson(http, "/v1/topics", { name: "raced", partitions: 4 })));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(24);
    for (const r of results.filter((r) => r.status === 409)) expectClientError(r, 409, "TOPIC_EXISTS");
    expect((await api(http, "/v1/topics/raced")).json.partitions).toHaveLength(4);
  });
});

describe("topics: bad input gets 4xx and the error shape", () => {
  test.each([
    ["malformed JSON", "{nope", 400, "INVALID_JSON"],
    ["a JSON array", "[]", 400, "INVALID_JSON"],
    ["a JSON string", '"orders"', 400, "INVALID_JSON"],
    ["an empty body", "", 400, "INVALID_JSON"],
    ["an unknown field", { name: "t1", replicas: 3 }, 400, "UNKNOWN_FIELD"],
    ["no name", { partitions: 1 }, 400, "INVALID_TOPIC"],
    ["a numeric name", { name: 7 }, 400, "INVALID_TOPIC"],
    ["an empty name", { name: "" }, 400, "INVALID_TOPIC"],
    ["name '.'", { name: "." }, 400, "INVALID_TOPIC"],
    ["name '..'", { name: ".." }, 400, "INVALID_TOPIC"],
    ["a space in the name", { name: "a b" }, 400, "INVALID_TOPIC"],
    ["a slash in the name", { name: "a/b" }, 400, "INVALID_TOPIC"],
    ["a 250-character name", { name: "x".repeat(250) }, 400, "INVALID_TOPIC"],
    ["partitions 0", { name: "t2", partitions: 0 }, 400, "INVALID_PARTITIONS"],
    ["partitions -1", { name: "t2", partitions: -1 }, 400, "INVALID_PARTITIONS"],
    ["partitions 1.5", { name: "t2", partitions: 1.5 }, 400, "INVALID_PARTITIONS"],
    ["partitions as a string", { name: "t2", partitions: "3" }, 400, "INVALID_PARTITIONS"],
    ["absurd partitions", { name: "t2", partitions: 1e9 }, 400, "INVALID_PARTITIONS"],
    ["huge partitions", { name: "t2", partitions: 1e300 }, 400, "INVALID_PARTITIONS"],
    ["configs not an object", { name: "t3", configs: ["retention.ms"] }, 400, "BAD_REQUEST"],
    ["an unknown config", { name: "t3", configs: { "retention.hours": "1" } }, 400, "INVALID_CONFIG"],
    ["a bad config value", { name: "t3", configs: { "retention.ms": "soon" } }, 400, "INVALID_CONFIG"],
    ["a config value of the wrong type", { name: "t3", configs: { "retention.ms": true } }, 400, "INVALID_CONFIG"],
  ])("POST /v1/topics with %s", async (_, body, status, code) => {
    expectClientError(await postJson(http, "/v1/topics", body), status, code);
  });

  test("nothing was created by the bad requests", async () => {
    const names = (await api(http, "/v1/topics")).json.topics.map((t: { name: string }) => t.name);
    for (const n of ["t1", "t2", "t3"]) expect(names).not.toContain(n);
  });

  test("an existing topic is 409", async () => {
    expect((await postJson(http, "/v1/topics", { name: "dup" })).status).toBe(201);
    expectClientError(await postJson(http, "/v1/topics", { name: "dup", partitions: 2 }), 409, "TOPIC_EXISTS");
  });

  test.each([
    ["GET", "/v1/topics/missing", 404, "UNKNOWN_TOPIC"],
    ["DELETE", "/v1/topics/missing", 404, "UNKNOWN_TOPIC"],
    ["PATCH", "/v1/topics/missing/configs", 404, "UNKNOWN_TOPIC"],
    ["GET", "/v1/topics/a%20b", 400, "INVALID_TOPIC"],
    ["GET", "/v1/topics/%E0%A4%A", 400, "BAD_REQUEST"],
    ["PUT", "/v1/topics", 405, "METHOD_NOT_ALLOWED"],
    ["GET", "/v1/nothing", 404, "NOT_FOUND"],
    ["GET", "/v1/topics/dup/extra/segments", 404, "NOT_FOUND"],
  ])("%s %s", async (method, path, status, code) => {
    const r = await api(http, path, { method, body: method === "PATCH" ? "{}" : undefined });
    expectClientError(r, status, code);
    if (status === 405) expect(r.headers.get("allow")).toBe("GET, POST");
  });

  test.each([
    ["an unknown config", { "retention.hours": "1" }, "INVALID_CONFIG"],
    ["a bad value", { "cleanup.policy": "sometimes" }, "INVALID_CONFIG"],
    ["a non-object", "[1]", "INVALID_JSON"],
    ["malformed JSON", "{", "INVALID_JSON"],
  ])("PATCH configs with %s", async (_, body, code) => {
    expectClientError(await postJson(http, "/v1/topics/dup/configs", body, "PATCH"), 400, code);
    expect((await api(http, "/v1/topics/dup")).json.overrides).toEqual({});
  });

  test("a body over the cap is 413, with and without Content-Length", async () => {
    const big = JSON.stringify({ name: "big", configs: { "retention.ms": "1".repeat(200_000) } });
    expectClientError(await postJson(http, "/v1/topics", big), 413, "PAYLOAD_TOO_LARGE");
    const chunks = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < 100; i++) c.enqueue(new TextEncoder().encode(" ".repeat(1024)));
        c.close();
      },
    });
    const streamed = await api(http, "/v1/topics", { method: "POST", body: chunks, headers: { "content-type": "application/json" } });
    expectClientError(streamed, 413, "PAYLOAD_TOO_LARGE");
  });

  test("seeded garbage bodies never get a 5xx, and the broker stays up", async () => {
    const seed = Number(process.env.SEED ?? Date.now() % 100000);
    let state = seed;
    const rand = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const pieces = ['{"name":', '"x"', "1e999", "null", "{", "}", "[", "]", ",", '"partitions":', "-0", '"configs":{', "\u0000", "\\u12", "true", '"\u00e9\ud800"'];
    const routes: Array<[string, string]> = [["POST", "/v1/topics"], ["PATCH", "/v1/topics/dup/configs"], ["POST", "/v1/groups/g/offsets"], ["POST", "/v1/topics/dup/records"]];
    for (let i = 0; i < 200; i++) {
      const body = Array.from({ length: 1 + Math.floor(rand() * 8) }, () => pieces[Math.floor(rand() * pieces.length)]).join("");
      const [method, path] = routes[i % routes.length]!;
      const type = rand() < 0.5 ? "application/json" : "application/x-ndjson";
      const r = await api(http, path, { method, body, headers: { "content-type": type } });
      if (r.status >= 500) throw new Error(`SEED=${seed}: ${method} ${path} with ${JSON.stringify(body)} → ${r.status} ${r.text}`);
      if (r.status >= 400) expect(r.json?.error?.code, `SEED=${seed} ${JSON.stringify(body)}`).toEqual(expect.any(String));
    }
    expect((await api(http, "/healthz")).status).toBe(200);
  });
});

describe("bearer token", () => {
  test("every request without the token gets 401", async () => {
    const secured = await startBroker({ env: { STREAMCTL_HTTP_TOKEN: "s3cret" } });
    try {
      for (const path of ["/healthz", "/v1/topics", "/v1/stats", "/metrics", "/v1/groups", "/nowhere"]) {
        expectClientError(await api(secured.http, path), 401, "UNAUTHORIZED");
        expectClientError(await api(secured.http, path, { headers: { authorization: "Bearer wrong" } }), 401, "UNAUTHORIZED");
      }
      const ok = await postJson(secured.http, "/v1/topics", { name: "t" });
      expect(ok.status).toBe(401);
      const authed = await api(secured.http, "/v1/topics", { method: "POST", body: JSON.stringify({ name: "t" }), headers: { authorization: "Bearer s3cret" } });
      expect(authed.status).toBe(201);
    } finally {
      await secured.stop();
      removeDir(secured.dataDir);
    }
  });
});
