// DescribeUserScramCredentials and AlterUserScramCredentials through the Kafka door, in-process:
// a client-salted credential set over Kafka logs in, describe shows mechanisms and iterations
// only, Kafka's per-user error codes, and only super users may use either when authorization is
// on. Issue #18.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Broker } from "../../core/broker/broker.ts";
import { saltedPassword, ScramClient } from "../../core/security/scram.ts";
import type { ApiDescriptor } from "../protocol/api.ts";
import { ErrorCode } from "../protocol/errors.ts";
import { decodeResponseHeader, encodeRequestHeader } from "../protocol/header.ts";
import { AlterUserScramCredentials, DescribeUserScramCredentials, SaslAuthenticate, SaslHandshake } from "../protocol/messages/index.ts";
import { Reader } from "../protocol/reader.ts";
import { Writer } from "../protocol/writer.ts";
import { dispatch, type ConnectionContext } from "./dispatch.ts";
import { EncodedResponse } from "./handler.ts";
import { kafkaDoor } from "./server.ts";
import { type ListenerSecurity, Session } from "./session.ts";

const SASL: ListenerSecurity = { protocol: "SASL_PLAINTEXT", saslMechanisms: ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"], sessionLifetimeMs: 0 };
const salt = new TextEncoder().encode("client-chosen-salt");
let dir: string;
let broker: Broker;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "streamctl-scram-api-"));
  broker = await Broker.open({ dataDir: dir, fsync: { mode: "always" }, autoCreateTopics: true, defaultPartitions: 1, auth: { authorizationEnabled: true } }, { info() {}, warn() {}, error() {} });
  await broker.auth.bootstrapAdmin("admin-pw");
  await broker.auth.setPassword("bob", "bob-pw", { mode: "create" });
});

afterEach(async () => {
  await broker.close();
  rmSync(dir, { recursive: true, force: true });
});

async function call<Req, Res>(conn: ConnectionContext, api: ApiDescriptor<Req, Res, any, any>, version: number, body: Req): Promise<Res> {
  const w = new Writer();
  const mark = w.reserveInt32();
  encodeRequestHeader(w, { apiKey: api.key, apiVersion: version, correlationId: 1, clientId: "t" });
  api.encodeRequest(w, version, body);
  w.patchInt32(mark, w.length - 4);
  const outcome = await new Promise((resolve) => dispatch(w.finish(), conn, { settle: resolve }));
  if (!(outcome instanceof EncodedResponse)) throw new Error(`${api.name}: closed`);
  const bytes = Buffer.concat(Array.isArray(outcome.chunks) ? outcome.chunks : [outcome.chunks]);
  const r = new Reader(new Uint8Array(bytes), 4);
  decodeResponseHeader(r, api.key, version);
  return api.decodeResponse(r, version);
}

/** A connection logged in as `user` with SCRAM-SHA-256. */
async function loggedIn(user: string, password: string): Promise<ConnectionContext> {
  const door = kafkaDoor(broker, { requestBytesMax: 100 << 20, maxConnections: 10, idleTimeoutMs: 60_000 }, { host: "127.0.0.1", port: 9092 }, SASL);
  const conn = { broker, door, localAddress: "127.0.0.1", localPort: 9092, remoteAddress: "127.0.0.1", closed: new AbortController().signal, session: new Session(SASL) };
  await call(conn, SaslHandshake, 1, { mechanism: "SCRAM-SHA-256" });
  const client = new ScramClient("SCRAM-SHA-256", user, password);
  const first = await call(conn, SaslAuthenticate, 2, { authBytes: client.first() });
  if (first.errorCode !== 0) throw new Error(first.errorMessage ?? "login failed");
  const final = await call(conn, SaslAuthenticate, 2, { authBytes: client.final(first.authBytes) });
  if (final.errorCode !== 0) throw new Error(final.errorMessage ?? "login failed");
  return conn;
}

const upsert = (name: string, mechanism: number, password: string, iterations = 4096) => ({
  name,
  mechanism,
  iterations,
  salt,
  saltedPassword: saltedPassword(mechanism === 2 ? "SCRAM-SHA-512" : "SCRAM-SHA-256", password, salt, iterations),
});

describe("AlterUserScramCredentials and DescribeUserScramCredentials", () => {
  test("a super user sets a credential the client salted; the user logs in with it", async () => {
    const admin = await loggedIn("admin", "admin-pw");
    const res = await call(admin, AlterUserScramCredentials, 0, { deletions: [], upsertions: [upsert("carol", 1, "carol-pw", 8192)] });
    expect(res.results).toEqual([{ user: "carol", errorCode: 0, errorMessage: null }]);
    await loggedIn("carol", "carol-pw");
    await expect(loggedIn("carol", "other")).rejects.toThrow("invalid credentials");

    const described = await call(admin, DescribeUserScramCredentials, 0, { users: [{ name: "carol" }, { name: "nobody" }, { name: "bob" }, { name: "bob" }] });
    expect(described.errorCode).toBe(0);
    expect(described.results).toEqual([
      { user: "carol", errorCode: 0, errorMessage: null, credentialInfos: [{ mechanism: 1, iterations: 8192 }] },
      { user: "nobody", errorCode: ErrorCode.RESOURCE_NOT_FOUND, errorMessage: "Attempt to describe a user credential that does not exist: nobody", credentialInfos: [] },
      { user: "bob", errorCode: ErrorCode.DUPLICATE_RESOURCE, errorMessage: "Cannot describe SCRAM credentials for the same user twice in a single request: bob", credentialInfos: [] },
    ]);
    const all = await call(admin, DescribeUserScramCredentials, 0, { users: null });
    expect(all.results.map((r) => r.user)).toEqual(["admin", "bob", "carol"]);
  });

  test("per-user errors as Kafka's, and deleting the last credential removes the user", async () => {
    const admin = await loggedIn("admin", "admin-pw");
    const res = await call(admin, AlterUserScramCredentials, 0, {
      deletions: [{ name: "nobody", mechanism: 1 }, { name: "bob", mechanism: 1 }, { name: "bob", mechanism: 2 }],
      upsertions: [upsert("dan", 1, "x", 100), upsert("erin", 9, "x"), upsert("", 1, "x")],
    });
    expect(res.results.map((r) => [r.user, r.errorCode])).toEqual([
      ["nobody", ErrorCode.RESOURCE_NOT_FOUND],
      ["bob", 0],
      ["dan", ErrorCode.UNACCEPTABLE_CREDENTIAL],
      ["erin", ErrorCode.UNSUPPORTED_SASL_MECHANISM],
      ["", ErrorCode.UNACCEPTABLE_CREDENTIAL],
    ]);
    expect(broker.auth.user("bob")).toBeUndefined();
  });

  test("a user who is not a super user may do neither: CLUSTER_AUTHORIZATION_FAILED", async () => {
    const bob = await loggedIn("bob", "bob-pw");
    expect((await call(bob, DescribeUserScramCredentials, 0, { users: null })).errorCode).toBe(ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    const altered = await call(bob, AlterUserScramCredentials, 0, { deletions: [], upsertions: [upsert("bob", 1, "mine-now")] });
    expect(altered.results).toEqual([{ user: "bob", errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: "Cluster authorization failed." }]);
    await loggedIn("bob", "bob-pw");
  });
});
