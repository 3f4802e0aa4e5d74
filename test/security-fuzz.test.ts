// The compiled broker's SASL and TLS listeners under hostile input over real sockets: a seeded fuzz
// of SASL frames (handshakes, tokens, raw v0 tokens, garbage) that must never crash the broker or
// let a request through without a login; a connection that never logs in is closed after 10 s,
// one that never finishes its TLS handshake too; a frame over 512 KiB before login is refused at
// its length. Issue #18.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ScramClient } from "../core/security/scram.ts";
import { prng, SEED, withSeedAsync } from "../core/testing/seed.ts";
import { encodeRequestHeader } from "../net/protocol/header.ts";
import { Metadata, SaslAuthenticate, SaslHandshake, defaultMetadataRequest } from "../net/protocol/messages/index.ts";
import { Writer } from "../net/protocol/writer.ts";
import { type BrokerProcess, removeDir, startBroker } from "./harness.ts";
import { RawConnection } from "./raw-kafka.ts";
import { makeCerts, type TestCerts, tlsServeArgs } from "./tls-helpers.ts";

const PASSWORD = "fuzz-admin-pw";
let certs: TestCerts;
let broker: BrokerProcess;
const at = (protocol: string) => broker.listeners.find((l) => l.protocol === protocol)!.address;
const utf8 = new TextEncoder();

beforeAll(async () => {
  certs = await makeCerts();
  broker = await startBroker({
    noDefaultListener: true,
    args: ["--listener", "SASL_PLAINTEXT://127.0.0.1:0", "--listener", "SASL_SSL://127.0.0.1:0", ...tlsServeArgs(certs)],
    env: { STREAMCTL_ADMIN_PASSWORD: PASSWORD },
  });
});

afterAll(async () => {
  expect(await broker.stop()).toBe(0);
  // Nothing a client sent made a handler fail.
  expect(broker.stderr()).not.toContain("error:");
  removeDir(broker.dataDir);
  removeDir(certs.dir);
});

function raw(bytes: Uint8Array): Uint8Array {
  const f = new Uint8Array(4 + bytes.length);
  new DataView(f.buffer).setInt32(0, bytes.length);
  f.set(bytes, 4);
  return f;
}

const METADATA_CORRELATION = 99;

function request(apiKey: number, version: number, body: (w: Writer) => void, correlationId = 7): Uint8Array {
  const w = new Writer();
  const mark = w.reserveInt32();
  encodeRequestHeader(w, { apiKey, apiVersion: version, correlationId, clientId: "fuzz" });
  body(w);
  w.patchInt32(mark, w.length - 4);
  return w.finish();
}

async function login(address: string, tls = false): Promise<RawConnection> {
  const conn = await RawConnection.open(address, tls ? { tls: { ca: await Bun.file(certs.ca).text() } } : {});
  expect((await conn.request(SaslHandshake, 1, { mechanism: "SCRAM-SHA-256" })).errorCode).toBe(0);
  const client = new ScramClient("SCRAM-SHA-256", "admin", PASSWORD);
  const first = await conn.request(SaslAuthenticate, 2, { authBytes: client.first() });
  const final = await conn.request(SaslAuthenticate, 2, { authBytes: client.final(first.authBytes) });
  expect(final.errorCode).toBe(0);
  client.verify(final.authBytes);
  return conn;
}

describe("hostile SASL clients", () => {
  test(`300 seeded connections of random SASL frames (SEED=${SEED}) never crash the broker or get served`, async () => {
    await withSeedAsync("SASL socket fuzz", async (seed) => {
      const rand = prng(seed);
      const bytes = (max: number) => Uint8Array.from({ length: Math.floor(rand() * max) }, () => Math.floor(rand() * 256));
      const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)]!;
      let served = 0;
      for (let i = 0; i < 300; i++) {
        const conn = await RawConnection.open(at("SASL_PLAINTEXT"));
        const version = rand() < 0.3 ? 0 : 1;
        const mechanism = pick(["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "NOPE", ""]);
        const frames: Uint8Array[] = [request(SaslHandshake.key, version, (w) => w.string(mechanism))];
        for (let n = Math.floor(rand() * 4); n > 0; n--) {
          const token = rand() < 0.5 ? bytes(200) : utf8.encode(pick(["n,,n=admin,r=x", "\0admin\0x", "c=biws,r=x,p=AAAA", "n,,n=,r="]));
          frames.push(version === 0 ? raw(token) : rand() < 0.2 ? raw(bytes(40)) : request(SaslAuthenticate.key, Math.floor(rand() * 3), (w) => (rand() < 0.5 ? w.bytesField(token) : w.compactBytes(token))));
        }
        frames.push(request(Metadata.key, 9, (w) => Metadata.encodeRequest(w, 9, { ...defaultMetadataRequest(), topics: null }), METADATA_CORRELATION));
        for (const f of frames) conn.sendRaw(f);
        // The last frame is a Metadata request: it must never be answered (no login happened).
        await Promise.race([conn.closed, Bun.sleep(300)]);
        if (conn.unsolicited.some((f) => f.length >= 8 && new DataView(f.buffer, f.byteOffset).getInt32(4) === METADATA_CORRELATION)) served++;
        conn.close();
      }
      expect(served).toBe(0);
    });
    // Still serving: a real login works on both listeners.
    (await login(at("SASL_PLAINTEXT"))).close();
    const tls = await login(at("SASL_SSL"), true);
    expect((await tls.request(Metadata, 9, { ...defaultMetadataRequest(), topics: null })).brokers).toHaveLength(1);
    tls.close();
  }, 120_000);
});

describe("limits before login", () => {
  test("a frame declared above 512 KiB before login closes the connection at once", async () => {
    const conn = await RawConnection.open(at("SASL_PLAINTEXT"));
    const head = new Uint8Array(4);
    new DataView(head.buffer).setInt32(0, 600 * 1024);
    conn.sendRaw(head);
    const closed = await Promise.race([conn.closed.then(() => true), Bun.sleep(3000).then(() => false)]);
    expect(closed).toBe(true);
  });

  test("a connection that never logs in, and a TLS connection that never says hello, are closed after 10 s", async () => {
    const idle = await RawConnection.open(at("SASL_PLAINTEXT"));
    const tcpToTls = await RawConnection.open(at("SASL_SSL")); // plain TCP: no ClientHello ever
    const started = performance.now();
    await Promise.all([idle.closed, tcpToTls.closed]);
    const waited = performance.now() - started;
    expect(waited).toBeGreaterThan(9_000);
    expect(waited).toBeLessThan(15_000);
  }, 30_000);
});
