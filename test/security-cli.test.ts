// Our own CLI against a secured broker, as the compiled binary: data commands with TLS and SASL
// flags and with a profile (flags and environment over the profile, `profile show` printing no
// secret), `streamctl users` over an HTTPS control plane (--http-tls), the first start's admin
// (or the one-line refusal without STREAMCTL_ADMIN_PASSWORD), users kept across a restart and
// never on disk or in `ps` in plaintext; ACLs made with the profile's super user and enforced on
// both doors (bob by SASL on Kafka, by HTTP Basic on the HTTPS control plane). Issue #18.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { type BrokerProcess, removeDir, runProcess, startBroker, STREAMCTL_BIN, streamctl, tempDir } from "./harness.ts";
import { makeCerts, type TestCerts, tlsServeArgs } from "./tls-helpers.ts";

const ADMIN_PASSWORD = "cli-Admin-Pw-42";
const HTTP_TOKEN = "cli-http-token";
let certs: TestCerts;
let broker: BrokerProcess;
let home: string;
let env: Record<string, string>;
const at = (protocol: string) => broker.listeners.find((l) => l.protocol === protocol)!.address;

function serveArgs(): string[] {
  return ["--listener", "SASL_SSL://127.0.0.1:0", "--listener", "SASL_PLAINTEXT://127.0.0.1:0", ...tlsServeArgs(certs), "--http-tls"];
}

beforeAll(async () => {
  certs = await makeCerts();
  broker = await startBroker({ noDefaultListener: true, args: serveArgs(), env: { STREAMCTL_ADMIN_PASSWORD: ADMIN_PASSWORD, STREAMCTL_HTTP_TOKEN: HTTP_TOKEN } });
  home = tempDir("streamctl-cli-home-");
  // Profiles live here; nothing of the machine's own configuration leaks in.
  env = { XDG_CONFIG_HOME: join(home, "config"), HOME: home, STREAMCTL_PROFILE: "", STREAMCTL_PASSWORD: "", STREAMCTL_USER: "", STREAMCTL_BROKER: "", STREAMCTL_HTTP_TOKEN: HTTP_TOKEN };
  writeFileSync(join(home, "admin.pw"), `${ADMIN_PASSWORD}\n`);
  // The HTTPS control plane through a profile that trusts the test CA.
  const made = await streamctl(["profile", "create", "ops", "--http", `https://${broker.http}`, "--tls-ca", certs.ca, "--broker", at("SASL_SSL"), "--user", "admin", "--password-file", join(home, "admin.pw")], { env });
  expect(made.code).toBe(0);
});

afterAll(async () => {
  expect(await broker.stop()).toBe(0);
  removeDir(broker.dataDir);
  removeDir(certs.dir);
  removeDir(home);
});

const cli = (args: string[], opts: { input?: string; env?: Record<string, string> } = {}) => streamctl(args, { input: opts.input, env: { ...env, ...opts.env } });

describe("users over the HTTPS control plane", () => {
  test("create, list, passwd, delete: a changed password logs in, the old one no longer does", async () => {
    const created = await cli(["users", "create", "bob", "--mechanism", "SCRAM-SHA-256"], { input: "bob-first\n" });
    expect(created.stderr).toBe("streamctl: created user bob: SCRAM-SHA-256 (4096)\n");
    const listed = await cli(["users", "list"]);
    expect(listed.stdout).toBe("USER   SUPER  CREDENTIALS\nadmin  yes    SCRAM-SHA-256 (4096), SCRAM-SHA-512 (4096)\nbob    no     SCRAM-SHA-256 (4096)\n");
    expect((await cli(["users", "create", "bob"], { input: "again\n" })).stderr).toContain("user bob already exists");

    // bob may write (and create) users-t: an ACL made with the ops profile's super user (issue #18 item 4).
    const granted = await cli(["acls", "create", "--allow-principal", "User:bob", "--operation", "Write", "--operation", "Create", "--topic", "users-t"]);
    expect(granted.code).toBe(0);
    const produce = (password: string) =>
      // The profile in use (ops) brings TLS and the CA; the flags and env bring another user.
      cli(["produce", "users-t", "--broker", at("SASL_SSL"), "--user", "bob", "--sasl-mechanism", "SCRAM-SHA-256"], { input: "x\n", env: { STREAMCTL_PASSWORD: password } });
    expect((await produce("bob-first")).code).toBe(0);
    expect((await cli(["users", "passwd", "bob", "--iterations", "8192"], { env: { STREAMCTL_NEW_PASSWORD: "bob-second" } })).code).toBe(0);
    const old = await produce("bob-first");
    expect(old.code).toBe(1);
    expect(old.stderr).toContain("Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256");
    expect((await produce("bob-second")).code).toBe(0);
    // No ACL lets bob write elsewhere: our CLI says what Kafka's code says.
    const elsewhere = await cli(["produce", "ops-only", "--broker", at("SASL_SSL"), "--user", "bob", "--sasl-mechanism", "SCRAM-SHA-256"], { input: "x\n", env: { STREAMCTL_PASSWORD: "bob-second" } });
    expect(elsewhere.code).toBe(1);
    expect(elsewhere.stderr).toContain("TOPIC_AUTHORIZATION_FAILED");

    // The HTTPS control plane takes bob by HTTP Basic, with the same ACLs: users-t is all he may
    // describe, and managing users is 403 JSON; a wrong password is 401 JSON with WWW-Authenticate.
    const https = async (path: string, password: string) => {
      const res = await fetch(`https://${broker.http}${path}`, { headers: { authorization: `Basic ${Buffer.from(`bob:${password}`).toString("base64")}` }, tls: { ca: readFileSync(certs.ca, "utf8") } } as RequestInit);
      return { status: res.status, auth: res.headers.get("www-authenticate"), body: (await res.json()) as any };
    };
    expect((await https("/v1/topics", "bob-second")).body.topics.map((t: { name: string }) => t.name)).toEqual(["users-t"]);
    const users = await https("/v1/users", "bob-second");
    expect([users.status, users.body]).toEqual([403, { error: { code: "NOT_AUTHORIZED", message: "User:bob may not DESCRIBE CLUSTER kafka-cluster" } }]);
    const wrong = await https("/v1/topics", "bob-first");
    expect([wrong.status, wrong.body.error.code]).toEqual([401, "UNAUTHORIZED"]);
    expect(wrong.auth).toContain("Basic");
    expect((await cli(["users", "delete", "bob"])).stderr).toBe("streamctl: deleted user bob\n");
    expect((await cli(["users", "delete", "bob"])).stderr).toContain("no user bob");
  });

  test("without a token, users cannot be listed or made anonymously (401); the profile's user by HTTP Basic can; such a control plane may listen off loopback", async () => {
    // Users authenticate it (a SASL listener turns authorization on): no token, no --insecure-listener needed on 0.0.0.0.
    const wide = await startBroker({ noDefaultListener: true, args: ["--listener", "SASL_PLAINTEXT://127.0.0.1:0", "--http-listen", "0.0.0.0:0"], env: { STREAMCTL_ADMIN_PASSWORD: ADMIN_PASSWORD, STREAMCTL_HTTP_TOKEN: "" } });
    const open = { ...wide, http: wide.http.replace(/^0\.0\.0\.0:/, "127.0.0.1:") };
    expect(wide.http).toStartWith("0.0.0.0:");
    try {
      // No profile, no user: an anonymous request.
      const anonymous = { STREAMCTL_HTTP_TOKEN: "", XDG_CONFIG_HOME: join(home, "none") };
      const r = await cli(["users", "create", "mallory", "--super-user", "--http", `http://${open.http}`], { input: "x\n", env: anonymous });
      expect(r.code).toBe(1);
      expect(r.stderr).toBe("streamctl: an anonymous request may not ALTER CLUSTER kafka-cluster: send credentials (HTTP Basic user and password, or the Bearer token)\n");
      expect((await cli(["users", "list", "--http", `http://${open.http}`], { env: anonymous })).code).toBe(1);
      // The ops profile's user (admin, a super user there too) is sent by HTTP Basic.
      const listed = await cli(["users", "list", "--http", `http://${open.http}`], { env: { STREAMCTL_HTTP_TOKEN: "" } });
      expect(listed.stdout).toContain("admin  yes");
      expect(listed.code).toBe(0);
    } finally {
      await open.stop();
      removeDir(open.dataDir);
    }
  });
});

describe("data commands with flags and with a profile", () => {
  test("flags: TLS + SCRAM-SHA-512 produce and consume; a wrong password is exit 1 with Kafka's message", async () => {
    const security = ["--broker", at("SASL_SSL"), "--tls-ca", certs.ca, "--user", "admin", "--password-file", join(home, "admin.pw")];
    const produced = await cli(["produce", "cli-flags", ...security, "--profile", "ops"], { input: "a\nb\nc\n" });
    expect(produced.code).toBe(0);
    const consumed = await cli(["consume", "cli-flags", ...security, "--until-end"]);
    expect(consumed.stdout).toBe("a\nb\nc\n");
    const wrong = await cli(["consume", "cli-flags", "--broker", at("SASL_SSL"), "--tls-ca", certs.ca, "--user", "admin", "--until-end"], { env: { STREAMCTL_PASSWORD: "nope" } });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toBe("streamctl: consume cli-flags: SASL SCRAM-SHA-512 login to " + at("SASL_SSL") + " as admin failed: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512\n");
    const noPassword = await cli(["consume", "cli-flags", "--broker", at("SASL_SSL"), "--tls", "--user", "admin"], { env: { XDG_CONFIG_HOME: join(home, "empty") } });
    expect(noPassword.code).toBe(2);
    expect(noPassword.stderr).toBe("streamctl: no password for user admin: set STREAMCTL_PASSWORD or --password-file FILE\n");
  });

  test("a profile: the data commands and the control plane use it; env and flags override it; show prints no secret", async () => {
    const penv = { ...env, XDG_CONFIG_HOME: join(home, "profiles-test") };
    const run = (args: string[], extra: Record<string, string> = {}, input?: string) => streamctl(args, { input, env: { ...penv, ...extra } });
    const created = await run(["profile", "create", "sec", "--broker", at("SASL_SSL"), "--http", `https://${broker.http}`, "--tls-ca", certs.ca, "--user", "admin", "--sasl-mechanism", "PLAIN", "--save-password"], { STREAMCTL_PASSWORD: ADMIN_PASSWORD });
    expect(created.stderr).toBe("streamctl: created profile sec and switched to it\n");
    const file = join(penv.XDG_CONFIG_HOME, "streamctl", "profiles", "sec.json");
    expect(statSync(file).mode & 0o777).toBe(0o600);

    expect((await run(["produce", "cli-profile"], {}, "p1\np2\n")).code).toBe(0);
    expect((await run(["consume", "cli-profile", "--until-end"])).stdout).toBe("p1\np2\n");
    expect((await run(["tail", "cli-profile", "-n", "1"])).stdout).toBe("p2\n");
    expect((await run(["topics", "list"])).stdout).toContain("cli-profile");

    // The environment's password beats the saved one; a flag beats the profile's mechanism.
    expect((await run(["consume", "cli-profile", "--until-end"], { STREAMCTL_PASSWORD: "wrong" })).code).toBe(1);
    expect((await run(["consume", "cli-profile", "--until-end", "--sasl-mechanism", "SCRAM-SHA-256"])).stdout).toBe("p1\np2\n");
    expect((await run(["consume", "cli-profile", "--until-end", "--broker", at("SASL_PLAINTEXT")])).code).toBe(1); // TLS to a plaintext port

    const shown = await run(["profile", "show"]);
    expect(shown.stdout).toBe(
      `name: sec (in use)\nbroker: ${at("SASL_SSL")}\nhttp: https://${broker.http}\ntls: true\ntlsCa: ${certs.ca}\nsaslMechanism: PLAIN\nuser: admin\npassword: (saved)\n`,
    );
    expect(shown.stdout).not.toContain(ADMIN_PASSWORD);

    expect((await run(["profile", "create", "other", "--broker", "127.0.0.1:1"])).code).toBe(0);
    expect((await run(["profile", "list"])).stdout).toBe(`* other\t127.0.0.1:1\n  sec\t${at("SASL_SSL")}\n`); // create switches to the new one
    expect((await run(["consume", "cli-profile", "--until-end"], { STREAMCTL_PROFILE: "sec" })).stdout).toBe("p1\np2\n");
    expect((await run(["profile", "use", "sec"])).code).toBe(0);
    expect((await run(["profile", "delete", "other"])).code).toBe(0);
    expect((await run(["consume", "cli-profile", "--profile", "gone"])).stderr).toBe("streamctl: no profile gone (see `streamctl profile list`)\n");
    expect((await run(["profile", "delete", "sec"])).code).toBe(0);
    expect((await run(["profile", "list"])).stdout).toBe("");
  });
});

describe("the data commands of issue #22 with the security flags", () => {
  test("copy (here and into another address with --to-broker, reached with the same flags) and replay --to-topic over TLS + SCRAM", async () => {
    const security = ["--tls-ca", certs.ca, "--user", "admin", "--password-file", join(home, "admin.pw")];
    const here = ["--broker", at("SASL_SSL"), ...security];
    expect((await cli(["produce", "sec-copy-src", ...here], { input: "c1\nc2\nc3\n" })).code).toBe(0);
    const copied = await cli(["copy", "sec-copy-src", "sec-copy-dst", ...here]);
    expect(copied.code).toBe(0);
    expect((await cli(["consume", "sec-copy-dst", ...here, "--until-end"])).stdout).toBe("c1\nc2\nc3\n");
    // The certificate names localhost too: another bootstrap address for DST, the same flags.
    const elsewhere = `localhost:${at("SASL_SSL").split(":")[1]}`;
    expect((await cli(["copy", "sec-copy-src", "sec-copy-far", ...here, "--to-broker", elsewhere])).code).toBe(0);
    expect((await cli(["consume", "sec-copy-far", ...here, "--until-end"])).stdout).toBe("c1\nc2\nc3\n");
    expect((await cli(["replay", "sec-copy-src", "--from", "1", ...here, "--to-topic", "sec-replayed"])).code).toBe(0);
    expect((await cli(["consume", "sec-replayed", ...here, "--until-end"])).stdout).toBe("c2\nc3\n");
  });

  test("--timeout bounds a TLS handshake the broker never answers, naming it", async () => {
    const sockets: Array<{ end(): void }> = [];
    const silent = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { open: (s) => void sockets.push(s), data() {} } });
    try {
      const address = `127.0.0.1:${silent.port}`;
      const started = performance.now();
      const r = await cli(["consume", "t", "--broker", address, "--tls-ca", certs.ca, "--timeout", "1000"]);
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 1, stderr: expect.stringContaining(`broker ${address} did not accept a connection within 1000 ms`) });
      expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
      expect(performance.now() - started).toBeLessThan(1000 + 3000);
    } finally {
      for (const s of sockets) s.end();
      silent.stop(true);
    }
  });
});

describe("the HTTPS control plane's own refusals", () => {
  test("over TLS too, a method it does not serve is 405 JSON, not a closed connection", async () => {
    const [host, port] = [broker.http.slice(0, broker.http.lastIndexOf(":")), Number(broker.http.slice(broker.http.lastIndexOf(":") + 1))];
    const text = await new Promise<string>((resolve, reject) => {
      const socket = tlsConnect({ host, port, ca: readFileSync(certs.ca, "utf8"), servername: "localhost" }, () => socket.write("FOO /v1/topics HTTP/1.1\r\nHost: localhost\r\n\r\n"));
      let got = "";
      socket.on("data", (d: Buffer) => (got += d.toString("latin1")));
      socket.on("close", () => resolve(got));
      socket.on("error", reject);
    });
    expect(text).toStartWith("HTTP/1.1 405 ");
    expect(JSON.parse(text.slice(text.indexOf("\r\n\r\n") + 4)).error.code).toBe("METHOD_NOT_ALLOWED");
  });
});

describe("first start, restarts and secrets", () => {
  test("a SASL listener with no users and no STREAMCTL_ADMIN_PASSWORD: exit 2 and one line", async () => {
    const dir = tempDir();
    const r = await runProcess([STREAMCTL_BIN, "serve", "--data-dir", dir, "--listener", "SASL_PLAINTEXT://127.0.0.1:0", "--http-listen", "127.0.0.1:0"], { env: { STREAMCTL_ADMIN_PASSWORD: "" } });
    expect(r.code).toBe(2);
    const lines = r.stderr.trimEnd().split("\n");
    expect(lines[lines.length - 1]).toBe("streamctl: a SASL listener needs users and there are none yet: set STREAMCTL_ADMIN_PASSWORD to create the super user admin on this first start");
    expect(lines.filter((l) => !l.includes("recovery:"))).toHaveLength(1);
    expect(existsSync(join(dir, "users.json"))).toBe(false);
    removeDir(dir);
  });

  test.each([
    [["--listener", "PLAINTEXT://0.0.0.0:0"], "listener 0.0.0.0:0 is not on loopback and authenticates nobody"],
    [["--kafka-listen", "0.0.0.0:0"], "--insecure-listener"],
    [["--http-listen", "0.0.0.0:0"], "--http-listen 0.0.0.0:0 is not on loopback and authenticates nobody"],
    [["--http-token", "s3cret"], "--http-token would show the token in `ps`"],
  ])("serve %p is refused: exit 2, one line", async (args, message) => {
    const r = await runProcess([STREAMCTL_BIN, "serve", "--data-dir", tempDir(), ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain(message);
  });

  test("users and ACLs outlive a restart; no password is on disk or in ps", async () => {
    // The admin password is in this broker's environment, not its command line.
    const cmdline = readFileSync(`/proc/${broker.proc.pid}/cmdline`, "utf8");
    expect(cmdline).not.toContain(ADMIN_PASSWORD);
    expect((await cli(["users", "create", "carol", "--profile", "ops"], { input: "carol-Pw-9\n" })).code).toBe(0);
    // Her ACL must outlive the restart too (DATA/acls.json).
    expect((await cli(["acls", "create", "--allow-principal", "User:carol", "--operation", "Write", "--operation", "Create", "--topic", "restart-t", "--profile", "ops"])).code).toBe(0);

    const dataDir = broker.dataDir;
    expect(await broker.stop()).toBe(0);
    for (const file of walk(dataDir)) {
      const bytes = readFileSync(file);
      for (const secret of [ADMIN_PASSWORD, "carol-Pw-9"]) {
        expect(bytes.includes(Buffer.from(secret))).toBe(false);
        expect(bytes.includes(Buffer.from(Buffer.from(secret).toString("base64")))).toBe(false);
      }
    }
    // Restarted without STREAMCTL_ADMIN_PASSWORD: the users are there.
    broker = await startBroker({ dataDir, noDefaultListener: true, args: serveArgs(), env: { STREAMCTL_ADMIN_PASSWORD: "", STREAMCTL_HTTP_TOKEN: HTTP_TOKEN } });
    const r = await cli(["produce", "restart-t", "--broker", at("SASL_SSL"), "--user", "carol"], { input: "after restart\n", env: { STREAMCTL_PASSWORD: "carol-Pw-9" } });
    expect(r.code).toBe(0);
    expect((await cli(["users", "list", "--http", `https://${broker.http}`, "--json"])).stdout).toContain('"name":"carol"');
  });
});

function* walk(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* walk(path);
    else yield path;
  }
}
