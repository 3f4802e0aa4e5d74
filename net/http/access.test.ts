// The HTTP door's users, ACLs and browser defences (issue #18 item 5), in-process against the core:
// HTTP Basic checked against the SCRAM credentials, the bearer token as a super user, the same
// ACLs as the Kafka door on every route (403 JSON; 401 JSON with WWW-Authenticate), Host checked on
// a loopback door without a token, Origin on state-changing requests, CORS for a listed origin.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AclBinding } from "../../core/broker/auth.ts";
import { Broker } from "../../core/broker/broker.ts";
import { type DoorOptions, type HttpDoor, httpDoor } from "./server.ts";

let dir: string;
let broker: Broker;
const doors: HttpDoor[] = [];
const server = { timeout() {}, requestIP: () => ({ address: "::ffff:127.0.0.1" }) };

const allow = (principal: string, operation: AclBinding["operation"], resourceType: AclBinding["resourceType"], resourceName: string, patternType: AclBinding["patternType"] = "LITERAL"): AclBinding => ({
  resourceType,
  resourceName,
  patternType,
  principal,
  host: "*",
  operation,
  permission: "ALLOW",
});

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "streamctl-http-access-"));
  broker = await Broker.open(
    { dataDir: dir, fsync: { mode: "always" }, autoCreateTopics: false, defaultPartitions: 1, auth: { authorizationEnabled: true, superUsers: ["User:root"] } },
    { info() {}, warn() {}, error() {} },
  );
  await broker.auth.setPassword("alice", "alice-pw", { mode: "create", mechanisms: ["SCRAM-SHA-512"] });
  await broker.auth.setPassword("root", "root-pw", { mode: "create" });
  await broker.createTopic("orders", 1);
  await broker.createTopic("secret", 1);
  const results = await broker.auth.createAcls([allow("User:alice", "READ", "TOPIC", "orders"), allow("User:alice", "WRITE", "TOPIC", "logs-", "PREFIXED"), allow("User:ANONYMOUS", "DESCRIBE", "TOPIC", "orders")]);
  expect(results).toEqual([null, null, null]);
  await broker.createTopic("logs-app", 1);
});

afterEach(async () => {
  for (const d of doors.splice(0)) d.close();
  await broker.close();
  rmSync(dir, { recursive: true, force: true });
});

function door(options: DoorOptions = {}): HttpDoor {
  const d = httpDoor(broker, options);
  doors.push(d);
  return d;
}

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

function send(d: HttpDoor, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Response> {
  return d.fetch(new Request(`http://127.0.0.1:8092${path}`, { method, headers: { host: "127.0.0.1:8092", ...headers }, body }), server);
}

async function error(res: Response, status: number): Promise<{ code: string; message: string }> {
  expect(res.headers.get("content-type") ?? "").toContain("application/json");
  const body = (await res.json()) as { error: { code: string; message: string } };
  expect([res.status, body.error.code]).toEqual([status, body.error.code]);
  return body.error;
}

describe("credentials", () => {
  test("HTTP Basic is checked against the SCRAM credentials: a wrong password or unknown user is 401 JSON with WWW-Authenticate", async () => {
    const d = door();
    const ok = await send(d, "GET", "/v1/topics/orders", { authorization: basic("alice", "alice-pw") });
    expect(ok.status).toBe(200);
    for (const auth of [basic("alice", "wrong"), basic("nobody", "alice-pw"), "Basic !!!", "Digest x", "Bearer nope"]) {
      const res = await send(d, "GET", "/v1/topics/orders", { authorization: auth });
      expect((await error(res, 401)).code).toBe("UNAUTHORIZED");
      expect(res.headers.get("www-authenticate")).toContain('Basic realm="streamctl"');
    }
    // A new password: the old one no longer works (it was remembered once it matched).
    await broker.auth.setPassword("alice", "new-pw", { mode: "change" });
    await error(await send(d, "GET", "/v1/topics/orders", { authorization: basic("alice", "alice-pw") }), 401);
    expect((await send(d, "GET", "/v1/topics/orders", { authorization: basic("alice", "new-pw") })).status).toBe(200);
  });

  test("with a token, a request without credentials is 401; the token is a super user; Basic users still get their ACLs", async () => {
    const d = door({ token: "op-token" });
    const none = await send(d, "GET", "/v1/topics");
    expect((await error(none, 401)).message).toContain("credentials required");
    expect(none.headers.get("www-authenticate")).toContain("Bearer");
    expect((await send(d, "DELETE", "/v1/topics/secret", { authorization: "Bearer op-token" })).status).toBe(200);
    expect((await error(await send(d, "DELETE", "/v1/topics/orders", { authorization: basic("alice", "alice-pw") }), 403)).message).toBe("User:alice may not DELETE TOPIC orders");
  });
});

describe("the same ACLs as the Kafka door", () => {
  test("alice reads orders but may not write it (403 JSON); a PREFIXED ALLOW lets her write logs-app", async () => {
    const d = door();
    const as = { authorization: basic("alice", "alice-pw") };
    expect((await send(d, "GET", "/v1/topics/orders/records?partition=0&offset=0", as)).status).toBe(200);
    const denied = await error(await send(d, "POST", "/v1/topics/orders/records", { ...as, "content-type": "text/plain" }, "x\n"), 403);
    expect(denied).toEqual({ code: "NOT_AUTHORIZED", message: "User:alice may not WRITE TOPIC orders" });
    expect((await send(d, "POST", "/v1/topics/logs-app/records", { ...as, "content-type": "text/plain" }, "x\n")).status).toBe(200);
    expect(broker.topic("logs-app")!.partitions[0]!.highWatermark).toBe(1);
    expect(broker.topic("orders")!.partitions[0]!.highWatermark).toBe(0);
  });

  test("lists hide what the caller may not describe; the cluster's routes need the cluster's ACLs; a super user by Basic may do anything", async () => {
    const d = door();
    const names = async (auth: Record<string, string>) => ((await (await send(d, "GET", "/v1/topics", auth)).json()) as { topics: Array<{ name: string }> }).topics.map((t) => t.name);
    expect(await names({ authorization: basic("alice", "alice-pw") })).toEqual(["logs-app", "orders"]);
    expect(await names({})).toEqual(["orders"]);
    expect(await names({ authorization: basic("root", "root-pw") })).toEqual(["logs-app", "orders", "secret"]);
    await error(await send(d, "GET", "/v1/stats", { authorization: basic("alice", "alice-pw") }), 403);
    await error(await send(d, "GET", "/v1/users", { authorization: basic("alice", "alice-pw") }), 403);
    expect((await send(d, "GET", "/v1/users", { authorization: basic("root", "root-pw") })).status).toBe(200);
    const created = await send(d, "POST", "/v1/topics", { authorization: basic("alice", "alice-pw"), "content-type": "application/json" }, JSON.stringify({ name: "mine" }));
    expect((await error(created, 403)).message).toBe("User:alice may not CREATE TOPIC mine");
    expect((await send(d, "GET", "/healthz")).status).toBe(200);
  });

  test("a topic's configs are shown only to a caller who may DESCRIBE_CONFIGS it", async () => {
    const d = door();
    const view = async () => (await (await send(d, "GET", "/v1/topics/orders", { authorization: basic("alice", "alice-pw") })).json()) as { configs: Record<string, string>; partitions: unknown[] };
    const hidden = await view();
    expect([hidden.configs, hidden.partitions.length]).toEqual([{}, 1]);
    await broker.auth.createAcls([allow("User:alice", "DESCRIBE_CONFIGS", "TOPIC", "orders")]);
    expect((await view()).configs["retention.ms"]).toBe("604800000");
  });

  test("an anonymous request the ACLs refuse is 401 (credentials may help), with WWW-Authenticate", async () => {
    const d = door();
    const res = await send(d, "DELETE", "/v1/topics/orders");
    expect((await error(res, 401)).message).toContain("an anonymous request may not DELETE TOPIC orders");
    expect(res.headers.get("www-authenticate")).toContain("Basic");
  });
});

describe("browsers", () => {
  test("a loopback door without a token refuses a Host that is not loopback or --http-host (DNS rebinding)", async () => {
    const d = door({ listenHost: "127.0.0.1", allowedHosts: ["broker.internal"] });
    const evil = await send(d, "GET", "/v1/topics", { host: "evil.example" });
    expect((await error(evil, 421)).code).toBe("MISDIRECTED_REQUEST");
    await error(await send(d, "GET", "/v1/topics", { host: "evil.example:8092" }), 421);
    await error(await send(d, "GET", "/v1/topics", { host: "127.0.0.1.evil.example" }), 421);
    for (const host of ["localhost", "localhost:8092", "127.0.0.1", "127.3.2.1:80", "[::1]", "[::1]:8092", "broker.internal", "BROKER.internal:8092"]) {
      expect([host, (await send(d, "GET", "/v1/topics", { host })).status]).toEqual([host, 200]);
    }
    // With a token every request needs credentials: Host is not checked.
    expect((await send(door({ listenHost: "127.0.0.1", token: "t" }), "GET", "/v1/topics", { host: "proxy.example", authorization: "Bearer t" })).status).toBe(200);
  });

  test("a cross-origin POST is refused; the door's own origin and a --http-cors-origin one are accepted", async () => {
    const d = door({ listenHost: "127.0.0.1", corsOrigins: ["https://app.example"] });
    const post = (origin: string) => send(d, "POST", "/v1/topics/orders/records", { origin, "content-type": "text/plain" }, "x\n");
    await broker.auth.createAcls([allow("User:ANONYMOUS", "WRITE", "TOPIC", "orders")]);
    const cross = await post("http://evil.example");
    expect((await error(cross, 403)).code).toBe("CROSS_ORIGIN");
    await error(await post("null"), 403);
    expect(broker.topic("orders")!.partitions[0]!.highWatermark).toBe(0);
    expect((await post("http://127.0.0.1:8092")).status).toBe(200);
    const listed = await post("https://app.example");
    expect(listed.status).toBe(200);
    expect(listed.headers.get("access-control-allow-origin")).toBe("https://app.example");
    expect(broker.topic("orders")!.partitions[0]!.highWatermark).toBe(2);
    // A GET from another origin is served (no state changes) but carries no CORS header: the browser hides it.
    const read = await send(d, "GET", "/v1/topics/orders", { origin: "http://evil.example" });
    expect(read.status).toBe(200);
    expect(read.headers.get("access-control-allow-origin")).toBeNull();
  });

  test("CORS preflight is answered only for a listed origin", async () => {
    const d = door({ corsOrigins: ["https://app.example"] });
    const preflight = (origin: string) => send(d, "OPTIONS", "/v1/topics", { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type" });
    const ok = await preflight("https://app.example");
    expect(ok.status).toBe(204);
    expect(ok.headers.get("access-control-allow-origin")).toBe("https://app.example");
    expect(ok.headers.get("access-control-allow-methods")).toContain("POST");
    expect((await error(await preflight("https://other.example"), 403)).code).toBe("CROSS_ORIGIN");
  });
});
