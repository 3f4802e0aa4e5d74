// The Kafka door's SASL sessions driven in-process through dispatch(): the admission table of
// net/kafka/session.ts, logins with each mechanism and framing, re-login (KIP-368) and expiry,
// and a seeded fuzz of SASL frames that must never make the door throw, hang or log an error.
// Issue #18.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Broker } from "../../core/broker/broker.ts";
import { ScramClient } from "../../core/security/scram.ts";
import { prng, SEED, withSeedAsync } from "../../core/testing/seed.ts";
import type { ApiDescriptor } from "../protocol/api.ts";
import { ErrorCode } from "../protocol/errors.ts";
import { decodeResponseHeader, encodeRequestHeader } from "../protocol/header.ts";
import { ApiVersions, Metadata, SaslAuthenticate, SaslHandshake, defaultApiVersionsRequest, defaultMetadataRequest } from "../protocol/messages/index.ts";
import { Reader } from "../protocol/reader.ts";
import { Writer } from "../protocol/writer.ts";
import { dispatch, type ConnectionContext, type DispatchOutcome } from "./dispatch.ts";
import { CLOSE_CONNECTION, EncodedResponse } from "./handler.ts";
import { kafkaDoor } from "./server.ts";
import { type ListenerSecurity, Session } from "./session.ts";

const utf8 = new TextEncoder();
const SASL: ListenerSecurity = { protocol: "SASL_PLAINTEXT", saslMechanisms: ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"], sessionLifetimeMs: 0 };

let dir: string;
let broker: Broker;
let errors: string[];
let correlation = 1;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "streamctl-sasl-"));
  errors = [];
  broker = await Broker.open({ dataDir: dir, fsync: { mode: "always" }, autoCreateTopics: true, defaultPartitions: 1 }, { info() {}, warn() {}, error: (l) => errors.push(l) });
  await broker.auth.bootstrapAdmin("admin-pw");
  await broker.auth.setPassword("alice", "alice-pw", { mode: "create" });
});

afterEach(async () => {
  await broker.close();
  rmSync(dir, { recursive: true, force: true });
  expect(errors).toEqual([]);
});

function connection(security: ListenerSecurity = SASL): ConnectionContext & { session: Session } {
  const door = kafkaDoor(broker, { requestBytesMax: 100 << 20, maxConnections: 10, idleTimeoutMs: 60_000 }, { host: "127.0.0.1", port: 9092 }, security);
  return { broker, door, localAddress: "127.0.0.1", localPort: 9092, remoteAddress: "127.0.0.1", closed: new AbortController().signal, session: new Session(security) };
}

function frameOf<Req>(api: ApiDescriptor<Req, unknown, any, any>, version: number, body: Req): Uint8Array {
  const w = new Writer();
  const mark = w.reserveInt32();
  encodeRequestHeader(w, { apiKey: api.key, apiVersion: version, correlationId: correlation++, clientId: "sasl-test" });
  api.encodeRequest(w, version, body);
  w.patchInt32(mark, w.length - 4);
  return w.finish();
}

function rawFrame(token: Uint8Array): Uint8Array {
  const f = new Uint8Array(4 + token.length);
  new DataView(f.buffer).setInt32(0, token.length);
  f.set(token, 4);
  return f;
}

function outcomeOf(conn: ConnectionContext, frame: Uint8Array): Promise<DispatchOutcome> {
  return new Promise((resolve) => dispatch(frame, conn, { settle: resolve }));
}

/** The decoded answer and whether the door closes the connection after it. */
async function call<Req, Res>(conn: ConnectionContext, api: ApiDescriptor<Req, Res, any, any>, version: number, body: Req): Promise<{ res: Res; close: boolean } | "closed"> {
  const outcome = await outcomeOf(conn, frameOf(api, version, body));
  if (outcome === CLOSE_CONNECTION) return "closed";
  if (!(outcome instanceof EncodedResponse)) throw new Error(`no answer: ${String(outcome)}`);
  const bytes = Buffer.concat(Array.isArray(outcome.chunks) ? outcome.chunks : [outcome.chunks]);
  const r = new Reader(new Uint8Array(bytes), 4);
  decodeResponseHeader(r, api.key, version);
  return { res: api.decodeResponse(r, version), close: outcome.closeAfter };
}

async function answer<Req, Res>(conn: ConnectionContext, api: ApiDescriptor<Req, Res, any, any>, version: number, body: Req): Promise<Res> {
  const got = await call(conn, api, version, body);
  if (got === "closed") throw new Error(`${api.name}: connection closed`);
  return got.res;
}

async function scramLogin(conn: ConnectionContext, user: string, password: string, mechanism: "SCRAM-SHA-256" | "SCRAM-SHA-512" = "SCRAM-SHA-512", version = 2) {
  expect((await answer(conn, SaslHandshake, 1, { mechanism })).errorCode).toBe(0);
  const client = new ScramClient(mechanism, user, password);
  const first = await answer(conn, SaslAuthenticate, version, { authBytes: client.first() });
  if (first.errorCode !== 0) return first;
  const final = await call(conn, SaslAuthenticate, version, { authBytes: client.final(first.authBytes) });
  if (final === "closed") throw new Error("closed");
  if (final.res.errorCode === 0) client.verify(final.res.authBytes);
  return { ...final.res, close: final.close };
}

const metadata = (conn: ConnectionContext) => call(conn, Metadata, 9, { ...defaultMetadataRequest(), topics: null });

describe("admission", () => {
  test("before a login: ApiVersions and SaslHandshake only; anything else closes", async () => {
    const conn = connection();
    expect((await answer(conn, ApiVersions, 3, { ...defaultApiVersionsRequest(), clientSoftwareName: "t", clientSoftwareVersion: "1" })).errorCode).toBe(0);
    expect(await metadata(conn)).toBe("closed");
    expect(await call(connection(), SaslAuthenticate, 1, { authBytes: new Uint8Array(0) })).toBe("closed");
  });

  test("after SaslHandshake v1: SaslAuthenticate only", async () => {
    const conn = connection();
    await answer(conn, SaslHandshake, 1, { mechanism: "PLAIN" });
    expect(await metadata(conn)).toBe("closed");
  });

  test("a PLAINTEXT listener serves everything and says ILLEGAL_SASL_STATE to SASL requests", async () => {
    const conn = connection({ protocol: "PLAINTEXT", saslMechanisms: [], sessionLifetimeMs: 0 });
    expect(await metadata(conn)).not.toBe("closed");
    expect((await answer(conn, SaslHandshake, 1, { mechanism: "PLAIN" })).errorCode).toBe(ErrorCode.ILLEGAL_SASL_STATE);
    expect((await answer(conn, SaslAuthenticate, 1, { authBytes: new Uint8Array(0) })).errorCode).toBe(ErrorCode.ILLEGAL_SASL_STATE);
  });
});

describe("login", () => {
  test.each(["SCRAM-SHA-256", "SCRAM-SHA-512"] as const)("%s over SaslAuthenticate v0, v1, v2", async (mechanism) => {
    for (const version of [0, 1, 2]) {
      const conn = connection();
      const res = await scramLogin(conn, "alice", "alice-pw", mechanism, version);
      expect(res.errorCode).toBe(0);
      expect(conn.session.principal).toEqual({ type: "User", name: "alice" });
      expect(await metadata(conn)).not.toBe("closed");
    }
  });

  test("PLAIN over SaslAuthenticate and raw (v0) tokens", async () => {
    const framed = connection();
    await answer(framed, SaslHandshake, 1, { mechanism: "PLAIN" });
    expect((await answer(framed, SaslAuthenticate, 2, { authBytes: utf8.encode("\0alice\0alice-pw") })).errorCode).toBe(0);
    const raw = connection();
    await answer(raw, SaslHandshake, 0, { mechanism: "PLAIN" });
    const out = await outcomeOf(raw, rawFrame(utf8.encode("alice\0alice\0alice-pw")));
    expect(out).toBeInstanceOf(EncodedResponse);
    expect((out as EncodedResponse).chunks).toEqual(new Uint8Array(4)); // an empty token: PLAIN has nothing to say
    expect(raw.session.principal.name).toBe("alice");
  });

  test("a wrong password: SASL_AUTHENTICATION_FAILED with Kafka's message, then the connection closes", async () => {
    const conn = connection();
    const res = await scramLogin(conn, "alice", "nope");
    expect(res).toMatchObject({ errorCode: ErrorCode.SASL_AUTHENTICATION_FAILED, errorMessage: "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512", close: true });
    const plain = connection();
    await answer(plain, SaslHandshake, 1, { mechanism: "PLAIN" });
    const failed = await call(plain, SaslAuthenticate, 1, { authBytes: utf8.encode("\0nobody\0x") });
    expect(failed).toMatchObject({ res: { errorCode: ErrorCode.SASL_AUTHENTICATION_FAILED, errorMessage: "Authentication failed: Invalid username or password" }, close: true });
  });
});

describe("session lifetime and re-login (KIP-368)", () => {
  const LIFETIME: ListenerSecurity = { ...SASL, sessionLifetimeMs: 60_000 };

  test("v1+ tells the lifetime; a re-login as the same user renews it; another user or mechanism is refused", async () => {
    const conn = connection(LIFETIME);
    const res = await scramLogin(conn, "alice", "alice-pw");
    expect(res.sessionLifetimeMs).toBe(60_000n);
    const firstExpiry = conn.session.expiresAtMs;
    await Bun.sleep(5);
    expect((await scramLogin(conn, "alice", "alice-pw")).errorCode).toBe(0);
    expect(conn.session.expiresAtMs).toBeGreaterThan(firstExpiry);

    const other = await scramLogin(conn, "admin", "admin-pw");
    expect(other).toMatchObject({ errorCode: ErrorCode.SASL_AUTHENTICATION_FAILED, errorMessage: "Cannot change principals during re-authentication from User:alice: User:admin", close: true });

    const conn2 = connection(LIFETIME);
    await scramLogin(conn2, "alice", "alice-pw", "SCRAM-SHA-512");
    const switched = await scramLogin(conn2, "alice", "alice-pw", "SCRAM-SHA-256");
    expect(switched.errorCode).toBe(ErrorCode.SASL_AUTHENTICATION_FAILED);
    expect(switched.errorMessage).toContain("not supported for re-authentication of mechanism 'SCRAM-SHA-512'");
  });

  test("an expired session is closed at its next request, unless that request is a re-login", async () => {
    const conn = connection(LIFETIME);
    await scramLogin(conn, "alice", "alice-pw");
    conn.session.expiresAtMs = Date.now() - 1;
    expect((await scramLogin(conn, "alice", "alice-pw")).errorCode).toBe(0);
    expect(await metadata(conn)).not.toBe("closed");
    conn.session.expiresAtMs = Date.now() - 1;
    expect(await metadata(conn)).toBe("closed");
  });

  test("with no lifetime configured, session_lifetime_ms is 0 and sessions never expire", async () => {
    const conn = connection();
    expect((await scramLogin(conn, "alice", "alice-pw")).sessionLifetimeMs).toBe(0n);
    expect(conn.session.expiresAtMs).toBe(0);
  });
});

describe("seeded fuzz of SASL frames", () => {
  function randomBytes(rand: () => number, max: number): Uint8Array {
    const n = Math.floor(rand() * max);
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = Math.floor(rand() * 256);
    return b;
  }

  /** A token that is mostly well formed, with one thing wrong. */
  function nearToken(rand: () => number): Uint8Array {
    const shapes = [
      "n,,n=alice,r=abc",
      "n,,n=alice,r=abc,m=1",
      "y,,n=al=2Cice,r=\x7f",
      "c=biws,r=abc,p=AAAA",
      "\0alice\0alice-pw",
      "alice\0\0",
      "n,a=alice,n=alice,r=",
      "",
    ];
    const s = utf8.encode(shapes[Math.floor(rand() * shapes.length)]!);
    if (s.length > 0 && rand() < 0.5) s[Math.floor(rand() * s.length)] = Math.floor(rand() * 256);
    return s;
  }

  test(`2,000 random exchanges (SEED=${SEED}) never throw, hang or log an error, and a good login still works after`, async () => {
    await withSeedAsync("SASL fuzz", async (seed) => {
      const rand = prng(seed);
      const mechanisms = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "GSSAPI", "", "scram-sha-256"];
      for (let i = 0; i < 2000; i++) {
        const conn = connection();
        const version = rand() < 0.3 ? 0 : 1;
        const mechanism = mechanisms[Math.floor(rand() * mechanisms.length)]!;
        const hs = await call(conn, SaslHandshake, version, { mechanism });
        if (hs === "closed" || hs.close) continue;
        for (let step = 0; step < 3; step++) {
          const token = rand() < 0.5 ? randomBytes(rand, 300) : nearToken(rand);
          const frame = version === 0 ? rawFrame(token) : rand() < 0.1 ? randomBytes(rand, 64) : frameOf(SaslAuthenticate, Math.floor(rand() * 3), { authBytes: token });
          const outcome = await Promise.race([outcomeOf(conn, frame), Bun.sleep(5000).then(() => "hung" as const)]);
          expect(outcome).not.toBe("hung");
          if (outcome === CLOSE_CONNECTION || (outcome instanceof EncodedResponse && outcome.closeAfter)) break;
        }
        // Whatever came before, nothing but a real login opens the door (a near-token may be
        // alice's own PLAIN message).
        const served = (await metadata(conn)) !== "closed";
        expect(served).toBe(conn.session.phase === "done");
        if (served) expect(conn.session.principal).toEqual({ type: "User", name: "alice" });
      }
      const conn = connection();
      expect((await scramLogin(conn, "alice", "alice-pw")).errorCode).toBe(0);
    });
  }, 120_000);
});
