// Listeners, TLS and SASL against kcat (librdkafka 2.x with OpenSSL and SASL PLAIN/SCRAM) and a
// bare wire connection: produce, consume and consumer groups over SASL_SSL with each mechanism,
// SSL with a client certificate (principal User:<CN>), SASL_PLAINTEXT with PLAIN; a wrong password
// fails fast with Kafka's error; nothing but ApiVersions and SASL is served before a login; the v0
// unframed exchange. Certificates are made by openssl at test time. Issue #18.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ScramClient } from "../core/security/scram.ts";
import { ErrorCode } from "../net/protocol/errors.ts";
import { DescribeUserScramCredentials, Metadata, SaslAuthenticate, SaslHandshake, defaultMetadataRequest } from "../net/protocol/messages/index.ts";
import { type BrokerProcess, kcat, removeDir, runProcess, startBroker } from "./harness.ts";
import { RawConnection } from "./raw-kafka.ts";
import { makeCerts, type TestCerts, tlsServeArgs } from "./tls-helpers.ts";

const ADMIN_PASSWORD = "kcat-admin-Pw1";
let certs: TestCerts;
let broker: BrokerProcess;
const at = (protocol: string) => broker.listeners.find((l) => l.protocol === protocol)!.address;

beforeAll(async () => {
  certs = await makeCerts();
  broker = await startBroker({
    args: ["--listener", "SASL_SSL://127.0.0.1:0", "--listener", "SSL://127.0.0.1:0", "--listener", "SASL_PLAINTEXT://127.0.0.1:0", ...tlsServeArgs(certs, "required"), "--super-users", "User:alice"],
    env: { STREAMCTL_ADMIN_PASSWORD: ADMIN_PASSWORD },
  });
});

afterAll(async () => {
  expect(await broker.stop()).toBe(0);
  removeDir(broker.dataDir);
  removeDir(certs.dir);
});

function saslArgs(protocol: "SASL_SSL" | "SASL_PLAINTEXT", mechanism: string, password = ADMIN_PASSWORD): string[] {
  const args = ["-X", `security.protocol=${protocol}`, "-X", `sasl.mechanisms=${mechanism}`, "-X", "sasl.username=admin", "-X", `sasl.password=${password}`];
  if (protocol === "SASL_SSL") args.push("-X", `ssl.ca.location=${certs.ca}`);
  return args;
}

function sslArgs(cert = certs.clientCert, key = certs.clientKey): string[] {
  return ["-X", "security.protocol=SSL", "-X", `ssl.ca.location=${certs.ca}`, "-X", `ssl.certificate.location=${cert}`, "-X", `ssl.key.location=${key}`];
}

/** Produce 500 keyed records, read them back by partition and as a consumer group. */
async function roundTrip(address: string, security: string[], topic: string): Promise<void> {
  const lines = Array.from({ length: 500 }, (_, i) => `k${i % 7}:v${i}`);
  const produced = await kcat(address, [...security, "-P", "-t", topic, "-K", ":", "-z", "zstd"], { input: `${lines.join("\n")}\n` });
  expect(produced.stderr).toBe("");
  expect(produced.code).toBe(0);
  const consumed = await kcat(address, [...security, "-C", "-t", topic, "-o", "beginning", "-e", "-f", "%k:%s\n"]);
  expect(consumed.code).toBe(0);
  expect(consumed.stdout.trimEnd().split("\n")).toEqual(lines);
  const group = await kcat(address, [...security, "-G", `${topic}-group`, "-X", "auto.offset.reset=earliest", "-e", "-f", "%s\n", topic]);
  expect(group.code).toBe(0);
  expect(group.stdout.trimEnd().split("\n").sort()).toEqual(lines.map((l) => l.split(":")[1]!).sort());
}

describe("kcat over each protocol and mechanism", () => {
  test.each(["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"])("SASL_SSL with %s: produce, consume, group", async (mechanism) => {
    await roundTrip(at("SASL_SSL"), saslArgs("SASL_SSL", mechanism), `kcat-sasl-ssl-${mechanism.toLowerCase()}`);
  });

  test("SASL_PLAINTEXT with PLAIN: produce, consume, group", async () => {
    await roundTrip(at("SASL_PLAINTEXT"), saslArgs("SASL_PLAINTEXT", "PLAIN"), "kcat-sasl-plaintext");
  });

  test("SSL with a client certificate: produce, consume, group", async () => {
    await roundTrip(at("SSL"), sslArgs(), "kcat-ssl");
  });

  test("the PLAINTEXT listener beside them still works, and Metadata there names its own address", async () => {
    const meta = await kcat(broker.kafka, ["-L", "-J"]);
    expect(JSON.parse(meta.stdout).brokers).toEqual([{ id: 0, name: broker.kafka }]);
    const secure = await kcat(at("SASL_SSL"), [...saslArgs("SASL_SSL", "SCRAM-SHA-256"), "-L", "-J"]);
    expect(JSON.parse(secure.stdout).brokers).toEqual([{ id: 0, name: at("SASL_SSL") }]);
  });
});

describe("refusals", () => {
  test.each([
    ["SCRAM-SHA-512", "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512"],
    ["PLAIN", "Authentication failed: Invalid username or password"],
  ])("a wrong password with %s fails fast with SASL_AUTHENTICATION_FAILED and Kafka's message", async (mechanism, message) => {
    const started = performance.now();
    // Not through kcat(): its -q would hide librdkafka's error line.
    const r = await runProcess(["kcat", "-b", at("SASL_SSL"), ...saslArgs("SASL_SSL", mechanism, "wrong"), "-L", "-m", "5"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`SASL authentication error: ${message}`);
    // librdkafka says how long the login took to fail: one round trip, not a timeout. (kcat
    // itself then retries until -m runs out.)
    const ms = Number(/after (\d+)ms in state AUTH_REQ/.exec(r.stderr)?.[1]);
    expect(ms).toBeLessThan(1000);
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  test("SSL without a client certificate, or with one from an unknown CA, is refused", async () => {
    const bare = await kcat(at("SSL"), ["-X", "security.protocol=SSL", "-X", `ssl.ca.location=${certs.ca}`, "-L", "-m", "3"]);
    expect(bare.code).not.toBe(0);
    const stranger = await kcat(at("SSL"), [...sslArgs(certs.strangerCert, certs.strangerKey), "-L", "-m", "3"]);
    expect(stranger.code).not.toBe(0);
  });

  test("before a login only ApiVersions and SaslHandshake are served: Metadata closes the connection", async () => {
    const conn = await RawConnection.open(at("SASL_PLAINTEXT"));
    await expect(conn.request(Metadata, 9, { ...defaultMetadataRequest(), topics: null })).rejects.toThrow("connection closed");
    expect(conn.isClosed).toBe(true);
    // After the handshake, only SaslAuthenticate.
    const again = await RawConnection.open(at("SASL_PLAINTEXT"));
    expect((await again.request(SaslHandshake, 1, { mechanism: "SCRAM-SHA-256" })).errorCode).toBe(0);
    await expect(again.request(Metadata, 9, { ...defaultMetadataRequest(), topics: null })).rejects.toThrow("connection closed");
  });

  test("an unsupported mechanism is answered with the offered ones, then the connection closes", async () => {
    const conn = await RawConnection.open(at("SASL_PLAINTEXT"));
    const res = await conn.request(SaslHandshake, 1, { mechanism: "GSSAPI" });
    expect(res).toEqual({ errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, mechanisms: ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] });
    await conn.closed;
  });
});

describe("principals", () => {
  test("a client certificate's CN is the principal: User:alice (a --super-users entry) may describe users, an anonymous SASL-less PLAINTEXT client may not", async () => {
    const alice = await RawConnection.open(at("SSL"), { tls: { ca: await Bun.file(certs.ca).text(), cert: await Bun.file(certs.clientCert).text(), key: await Bun.file(certs.clientKey).text() } });
    const described = await alice.request(DescribeUserScramCredentials, 0, { users: null });
    expect(described.errorCode).toBe(0);
    expect(described.results.map((r) => r.user)).toEqual(["admin"]);
    alice.close();
    const anonymous = await RawConnection.open(broker.kafka);
    expect((await anonymous.request(DescribeUserScramCredentials, 0, { users: null })).errorCode).toBe(ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    anonymous.close();
  });
});

describe("SaslHandshake v0: the unframed exchange", () => {
  test("SCRAM-SHA-256 tokens travel as bare length-prefixed frames, then requests are served", async () => {
    const conn = await RawConnection.open(at("SASL_PLAINTEXT"));
    expect((await conn.request(SaslHandshake, 0, { mechanism: "SCRAM-SHA-256" })).errorCode).toBe(0);
    const client = new ScramClient("SCRAM-SHA-256", "admin", ADMIN_PASSWORD);
    const token = (bytes: Uint8Array) => {
      const frame = new Uint8Array(4 + bytes.length);
      new DataView(frame.buffer).setInt32(0, bytes.length);
      frame.set(bytes, 4);
      return frame;
    };
    conn.sendRaw(token(client.first()));
    const serverFirst = await conn.nextUnsolicited();
    conn.sendRaw(token(client.final(serverFirst!.subarray(4))));
    const serverFinal = await conn.nextUnsolicited();
    expect(() => client.verify(serverFinal!.subarray(4))).not.toThrow();
    const meta = await conn.request(Metadata, 9, { ...defaultMetadataRequest(), topics: null });
    expect(meta.brokers).toHaveLength(1);
    // Logged in: another SaslAuthenticate is ILLEGAL_SASL_STATE, as Kafka answers it.
    expect((await conn.request(SaslAuthenticate, 1, { authBytes: new Uint8Array(0) })).errorCode).toBe(ErrorCode.ILLEGAL_SASL_STATE);
    conn.close();
  });

  test("a wrong PLAIN password in a raw token closes the connection", async () => {
    const conn = await RawConnection.open(at("SASL_PLAINTEXT"));
    expect((await conn.request(SaslHandshake, 0, { mechanism: "PLAIN" })).errorCode).toBe(0);
    const bytes = new TextEncoder().encode("\0admin\0wrong");
    const frame = new Uint8Array(4 + bytes.length);
    new DataView(frame.buffer).setInt32(0, bytes.length);
    frame.set(bytes, 4);
    conn.sendRaw(frame);
    expect(await conn.nextUnsolicited()).toBeNull();
  });
});
