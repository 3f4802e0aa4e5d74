import { describe, expect, test } from "bun:test";
import { PassThrough } from "node:stream";
import { defaultDataDir, resolveServeOptions } from "./serve.ts";
import { serveCommand } from "./serve.ts";
import { run } from "./streamctl.ts";
import type { Io } from "./io.ts";

function captureIo(env: Record<string, string> = {}): Io & { err: () => string } {
  const stderr = new PassThrough();
  let err = "";
  stderr.on("data", (c) => (err += c));
  return { stdin: new PassThrough(), stdout: new PassThrough(), stderr, env, err: () => err };
}

describe("serve options", () => {
  test.each([
    [{ STREAMCTL_DATA_DIR: "/data/s" }, "/data/s"],
    [{ XDG_DATA_HOME: "/x", HOME: "/home/u" }, "/x/streamctl"],
    [{ HOME: "/home/u" }, "/home/u/.local/share/streamctl"],
  ])("default data dir from %p is %s", (env, want) => {
    expect(defaultDataDir(env)).toBe(want);
  });

  test("defaults follow DESIGN.md", () => {
    const o = resolveServeOptions({}, { HOME: "/h" });
    expect(o.listeners.map((l) => [l.protocol, l.address])).toEqual([["PLAINTEXT", { host: "127.0.0.1", port: 9092 }]]);
    expect(o.http).toEqual({ host: "127.0.0.1", port: 8092 });
    expect(o.fsync).toEqual({ mode: "always" });
    expect(o.autoCreateTopics).toBe(true);
    expect(o.defaultPartitions).toBe(1);
  });

  test("listeners keep their order, each with its own advertised address and security (issue #18)", () => {
    const o = resolveServeOptions(
      {
        kafkaListen: "127.0.0.1:9092",
        listener: ["SASL_PLAINTEXT://0.0.0.0:9093", "PLAINTEXT://0.0.0.0:9094"],
        advertise: ["SASL_PLAINTEXT://broker.example:19093"],
        insecureListener: true,
        saslMechanisms: "SCRAM-SHA-512",
        saslSessionLifetimeMs: "3600000",
        superUsers: "User:ops;User:alice",
      },
      { HOME: "/h", STREAMCTL_ADMIN_PASSWORD: "pw" },
    );
    expect(o.listeners.map((l) => [l.protocol, l.address.host, l.address.port, l.advertise, l.security.saslMechanisms, l.security.sessionLifetimeMs])).toEqual([
      ["PLAINTEXT", "127.0.0.1", 9092, undefined, [], 0],
      ["SASL_PLAINTEXT", "0.0.0.0", 9093, { host: "broker.example", port: 19093 }, ["SCRAM-SHA-512"], 3_600_000],
      ["PLAINTEXT", "0.0.0.0", 9094, undefined, [], 0],
    ]);
    expect(o.authenticates).toBe(true);
    expect(o.superUsers).toEqual(["User:ops", "User:alice"]);
    expect(o.adminPassword).toBe("pw");
  });

  test("fair under abuse: --max-request-memory takes a size with a binary unit, the others whole numbers (issue #18)", () => {
    const d = resolveServeOptions({}, { HOME: "/h" });
    expect([d.maxRequestMemory, d.maxConnectionsPerIp, d.firstRequestTimeoutMs, d.requestBodyTimeoutMs]).toEqual([256 * 1024 * 1024, 1000, 10_000, 30_000]);
    const sizes = ["268435456", "256MiB", "256m", "1GiB", "2048k"].map((v) => resolveServeOptions({ maxRequestMemory: v }, { HOME: "/h" }).maxRequestMemory);
    expect(sizes).toEqual([256 * 1024 ** 2, 256 * 1024 ** 2, 256 * 1024 ** 2, 1024 ** 3, 2 * 1024 ** 2]);
    const o = resolveServeOptions({ maxConnectionsPerIp: "5", firstRequestTimeoutMs: "1500", requestBodyTimeoutMs: "2500" }, { HOME: "/h" });
    expect([o.maxConnectionsPerIp, o.firstRequestTimeoutMs, o.requestBodyTimeoutMs]).toEqual([5, 1500, 2500]);
    for (const [flags, says] of [
      [{ maxRequestMemory: "lots" }, "--max-request-memory: expected a size"],
      [{ maxRequestMemory: "1000" }, "at least 1MiB"],
      [{ maxConnectionsPerIp: "0" }, "--max-connections-per-ip: expected a positive integer"],
      [{ firstRequestTimeoutMs: "-1" }, "--first-request-timeout-ms"],
      [{ requestBodyTimeoutMs: "0" }, "--request-body-timeout-ms: expected a positive integer"],
    ] as const) {
      expect(() => resolveServeOptions(flags, { HOME: "/h" })).toThrow(says);
    }
  });

  test("a SASL listener off loopback needs no --insecure-listener", () => {
    expect(resolveServeOptions({ listener: ["SASL_PLAINTEXT://0.0.0.0:9093"] }, { HOME: "/h" }).authenticates).toBe(true);
  });

  test("an HTTP control plane off loopback is opened when it authenticates: a token, or users (a SASL listener turns authorization on), or --insecure-listener; refused otherwise (issue #18)", () => {
    const httpOf = (flags: Parameters<typeof resolveServeOptions>[0], env: Record<string, string> = {}) => resolveServeOptions({ httpListen: "0.0.0.0:8092", ...flags }, { HOME: "/h", ...env });
    expect(httpOf({}, { STREAMCTL_HTTP_TOKEN: "t" }).httpToken).toBe("t");
    const users = httpOf({ listener: ["SASL_PLAINTEXT://127.0.0.1:9093"] });
    expect([users.http, users.httpToken, users.authenticates]).toEqual([{ host: "0.0.0.0", port: 8092 }, undefined, true]);
    expect(httpOf({ insecureListener: true }).http).toEqual({ host: "0.0.0.0", port: 8092 });
    // A PLAINTEXT listener only: nobody is authenticated anywhere, so no Basic user is checked.
    expect(() => httpOf({})).toThrow("--http-listen 0.0.0.0:8092 is not on loopback and authenticates nobody");
    // Every loopback address needs nothing.
    expect(resolveServeOptions({ httpListen: "127.0.0.2:8092" }, { HOME: "/h" }).http).toEqual({ host: "127.0.0.2", port: 8092 });
  });

  test.each([
    [["--kafka-listen", "nonsense"], "--kafka-listen"],
    [["--kafka-listen", "127.0.0.1:70000"], "out of range"],
    [["--fsync", "sometimes"], "--fsync"],
    [["--default-partitions", "0"], "--default-partitions"],
    [["--http-listen", "0.0.0.0:8092"], "give it a token (--http-token-file FILE or STREAMCTL_HTTP_TOKEN) or users (a SASL listener: HTTP Basic and ACLs), or add --insecure-listener"],
    [["--config", "/nonexistent/streamctl.json"], "--config"],
    // Listeners and security (issue #18).
    [["--listener", "PLAINTEXT://0.0.0.0:9092"], "is not on loopback and authenticates nobody"],
    [["--kafka-listen", "0.0.0.0:9092"], "--insecure-listener"],
    [["--listener", "TLS://127.0.0.1:9093"], "unknown protocol TLS"],
    [["--listener", "127.0.0.1:9093"], "PROTOCOL://HOST:PORT"],
    [["--listener", "SASL_SSL://127.0.0.1:9093"], "needs --tls-cert FILE and --tls-key FILE"],
    [["--http-tls"], "--http-tls needs --tls-cert"],
    [["--listener", "SSL://127.0.0.1:9093", "--tls-cert", "/nonexistent.pem", "--tls-key", "/nonexistent.key"], "--tls-cert /nonexistent.pem: ENOENT"],
    [["--listener", "SASL_PLAINTEXT://127.0.0.1:9093", "--sasl-mechanisms", "GSSAPI"], "unknown mechanism GSSAPI"],
    [["--sasl-session-lifetime-ms", "1000"], "no SASL_PLAINTEXT or SASL_SSL listener"],
    [["--super-users", "alice"], "User:alice"],
    [["--kafka-listen", "127.0.0.1:9092", "--listener", "SASL_PLAINTEXT://127.0.0.1:9093", "--advertise", "h:1"], "say which"],
    [["--listener", "SASL_PLAINTEXT://127.0.0.1:9093", "--advertise", "SSL://h:1"], "no SSL listener"],
    [["--listener", "SASL_PLAINTEXT://127.0.0.1:9093", "--listener", "PLAINTEXT://127.0.0.1:9093"], "two listeners on 127.0.0.1:9093"],
    [["--http-token", "s3cret"], "would show the token in `ps`"],
    [["--http-host", "evil example"], "--http-host: expected a host name"],
    [["--http-cors-origin", "app.example"], "--http-cors-origin: expected an origin like https://app.example:8443"],
    [["--http-cors-origin", "https://app.example/path"], "--http-cors-origin"],
    [["--listener", "SASL_PLAINTEXT://127.0.0.1:9093", "--node-id", "1", "--cluster", "http://127.0.0.1:2379"], "--cluster needs a PLAINTEXT listener"],
    [["--kafka-listen", "127.0.0.1:9092", "--listener", "SASL_PLAINTEXT://127.0.0.1:9093", "--node-id", "1", "--cluster", "http://127.0.0.1:2379"], "one Kafka listener"],
  ])("serve %p is a usage error: exit 2, one line naming %s", async (args, mention) => {
    const io = captureIo({ HOME: "/tmp" });
    expect(await run(["serve", ...args], io, [serveCommand])).toBe(2);
    const lines = io.err().trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(mention);
  });
});
