// ACLs against real clients (issue #18 item 4): a broker with a SASL listener (authorization on)
// and an anonymous PLAINTEXT listener beside it (principal User:ANONYMOUS). ACLs are made with
// `streamctl acls create` as the super user, over Kafka's CreateAcls; then kcat and kafkajs as
// alice: allowed to read but not write `orders` (TOPIC_AUTHORIZATION_FAILED on produce, reads fine),
// a PREFIXED ALLOW, a DENY over it, group ACLs, Metadata hiding what she may not describe.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Kafka, logLevel } from "kafkajs";
import { type BrokerProcess, kcat, removeDir, runProcess, startBroker, streamctl } from "./harness.ts";

const ADMIN_PASSWORD = "acl-Admin-Pw-1";
const ALICE_PASSWORD = "alice-Pw-2";
const OPS_PASSWORD = "ops-Pw-3";
const TOKEN = "acl-token";
let broker: BrokerProcess;
const sasl = () => broker.listeners.find((l) => l.protocol === "SASL_PLAINTEXT")!.address;
const adminEnv = { STREAMCTL_PASSWORD: ADMIN_PASSWORD, XDG_CONFIG_HOME: "/nonexistent", STREAMCTL_HTTP_TOKEN: TOKEN };

/** `streamctl acls …` (or any command) as the super user admin over the SASL listener. */
function asAdmin(args: string[]) {
  return streamctl([...args, "--broker", sasl(), "--user", "admin", "--sasl-mechanism", "SCRAM-SHA-512"], { env: adminEnv });
}

const aliceKcat = () => ["-X", "security.protocol=SASL_PLAINTEXT", "-X", "sasl.mechanisms=SCRAM-SHA-256", "-X", "sasl.username=alice", "-X", `sasl.password=${ALICE_PASSWORD}`];

/** kcat without -q, so that librdkafka's error lines reach stderr. */
function kcatLoud(args: string[], input?: string) {
  return runProcess(["kcat", "-b", sasl(), ...args], { input, timeoutMs: 30_000 });
}

beforeAll(async () => {
  broker = await startBroker({ args: ["--listener", "SASL_PLAINTEXT://127.0.0.1:0", "--super-users", "User:ops"], env: { STREAMCTL_ADMIN_PASSWORD: ADMIN_PASSWORD, STREAMCTL_HTTP_TOKEN: TOKEN } });
  for (const [user, password] of [["alice", ALICE_PASSWORD], ["ops", OPS_PASSWORD]]) {
    const made = await streamctl(["users", "create", user!, "--http", `http://${broker.http}`], { input: `${password}\n`, env: adminEnv });
    expect(made.code).toBe(0);
  }
  for (const t of ["orders", "logs-app", "logs-secret", "hidden"]) {
    const created = await asAdmin(["topics", "create", t, "--partitions", "1"]);
    expect(created.stderr + created.stdout).not.toContain("error");
    expect(created.code).toBe(0);
  }
  const seeded = await kcat(sasl(), ["-X", "security.protocol=SASL_PLAINTEXT", "-X", "sasl.mechanisms=SCRAM-SHA-512", "-X", "sasl.username=admin", "-X", `sasl.password=${ADMIN_PASSWORD}`, "-P", "-t", "orders"], { input: "o1\no2\no3\n" });
  expect(seeded.code).toBe(0);
  const grants = [
    ["--allow-principal", "User:alice", "--operation", "Read", "--topic", "orders"],
    ["--allow-principal", "User:alice", "--operation", "Write", "--operation", "Describe", "--topic", "logs-", "--resource-pattern-type", "prefixed"],
    ["--deny-principal", "User:alice", "--operation", "Write", "--topic", "logs-secret"],
    ["--allow-principal", "User:alice", "--operation", "Read", "--group", "app", "--group", "kjs-app"],
  ];
  for (const g of grants) {
    const r = await asAdmin(["acls", "create", ...g]);
    expect(r.stderr).toContain("created ACL");
    expect(r.code).toBe(0);
  }
});

afterAll(async () => {
  expect(await broker.stop()).toBe(0);
  removeDir(broker.dataDir);
});

describe("streamctl acls", () => {
  test("list shows what was made, filtered by resource and pattern; a non-super user may not list or create", async () => {
    const all = await asAdmin(["acls", "list", "--json"]);
    expect(all.code).toBe(0);
    expect(JSON.parse(all.stdout).acls).toHaveLength(6);
    const match = await asAdmin(["acls", "list", "--topic", "logs-secret", "--resource-pattern-type", "match"]);
    expect(match.stdout).toBe(
      [
        "RESOURCE  NAME         PATTERN   PRINCIPAL   HOST  OPERATION  PERMISSION",
        "TOPIC     logs-        PREFIXED  User:alice  *     DESCRIBE   ALLOW     ",
        "TOPIC     logs-        PREFIXED  User:alice  *     WRITE      ALLOW     ",
        "TOPIC     logs-secret  LITERAL   User:alice  *     WRITE      DENY      ",
        "",
      ].join("\n").replace(/ +\n/g, "\n"),
    );
    const asAlice = await streamctl(["acls", "list", "--broker", sasl(), "--user", "alice", "--sasl-mechanism", "SCRAM-SHA-256"], { env: { STREAMCTL_PASSWORD: ALICE_PASSWORD, XDG_CONFIG_HOME: "/nonexistent" } });
    expect(asAlice.code).toBe(1);
    expect(asAlice.stderr).toContain("CLUSTER_AUTHORIZATION_FAILED (31)");
    const create = await streamctl(["acls", "create", "--allow-principal", "User:alice", "--operation", "All", "--cluster", "--broker", sasl(), "--user", "alice", "--sasl-mechanism", "SCRAM-SHA-256"], { env: { STREAMCTL_PASSWORD: ALICE_PASSWORD, XDG_CONFIG_HOME: "/nonexistent" } });
    expect(create.code).toBe(1);
    expect(create.stderr).toContain("CLUSTER_AUTHORIZATION_FAILED (31)");
    expect((await asAdmin(["acls", "create", "--allow-principal", "User:alice", "--operation", "Fly", "--topic", "x"])).code).toBe(2);
  });

  test("delete removes what matches and says what; a broker without authorization answers SECURITY_DISABLED", async () => {
    expect((await asAdmin(["acls", "create", "--allow-principal", "User:temp", "--operation", "Read", "--topic", "t1", "--topic", "t2"])).code).toBe(0);
    const deleted = await asAdmin(["acls", "delete", "--principal", "User:temp"]);
    expect(deleted.stderr).toBe("streamctl: deleted 2 ACLs\n");
    expect(deleted.stdout).toContain("User:temp");
    const open = await startBroker();
    try {
      const r = await streamctl(["acls", "list", "--broker", open.kafka], { env: { XDG_CONFIG_HOME: "/nonexistent" } });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("SECURITY_DISABLED (54)");
    } finally {
      await open.stop();
      removeDir(open.dataDir);
    }
  });
});

describe("super users", () => {
  test("a --super-users principal (ops, stored as an ordinary user) may do anything without an ACL", async () => {
    const asOps = (args: string[]) => streamctl([...args, "--broker", sasl(), "--user", "ops", "--sasl-mechanism", "SCRAM-SHA-256"], { env: { STREAMCTL_PASSWORD: OPS_PASSWORD, XDG_CONFIG_HOME: "/nonexistent" } });
    const listed = await asOps(["acls", "list", "--principal", "User:ops"]);
    expect(listed.stderr).toBe("no ACLs match\n");
    expect(listed.code).toBe(0);
    const topics = await kcat(sasl(), ["-X", "security.protocol=SASL_PLAINTEXT", "-X", "sasl.mechanisms=SCRAM-SHA-256", "-X", "sasl.username=ops", "-X", `sasl.password=${OPS_PASSWORD}`, "-L", "-J"]);
    expect(JSON.parse(topics.stdout).topics.map((t: { topic: string }) => t.topic)).toContain("hidden");
    const created = await asOps(["topics", "create", "ops-made", "--partitions", "1"]);
    expect(created.code).toBe(0);
  });
});

describe("kcat as alice", () => {
  test("READ but not WRITE on orders: produce fails with TOPIC_AUTHORIZATION_FAILED, consume reads every record", async () => {
    const produced = await kcatLoud([...aliceKcat(), "-P", "-t", "orders"], "nope\n");
    expect(produced.code).not.toBe(0);
    expect(produced.stderr).toContain("Topic authorization failed");
    const consumed = await kcat(sasl(), [...aliceKcat(), "-C", "-t", "orders", "-o", "beginning", "-e", "-f", "%s\n"]);
    expect(consumed.code).toBe(0);
    expect(consumed.stdout).toBe("o1\no2\no3\n");
  });

  test("a PREFIXED ALLOW lets her write logs-app; a DENY wins over it on logs-secret", async () => {
    const ok = await kcatLoud([...aliceKcat(), "-P", "-t", "logs-app"], "line\n");
    expect(ok.stderr).not.toContain("authorization failed");
    expect(ok.code).toBe(0);
    const denied = await kcatLoud([...aliceKcat(), "-P", "-t", "logs-secret"], "line\n");
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain("Topic authorization failed");
  });

  test("group ACLs: READ on group app lets her consume in it; group other is GROUP_AUTHORIZATION_FAILED", async () => {
    const inApp = await kcat(sasl(), [...aliceKcat(), "-G", "app", "-X", "auto.offset.reset=earliest", "-e", "-f", "%s\n", "orders"]);
    expect(inApp.code).toBe(0);
    expect(inApp.stdout).toBe("o1\no2\no3\n");
    const other = await runProcess(["kcat", "-b", sasl(), ...aliceKcat(), "-G", "other", "-X", "auto.offset.reset=earliest", "-e", "orders"], { timeoutMs: 15_000 });
    expect(other.code).not.toBe(0);
    expect(other.stderr).toContain("Group authorization failed");
  });

  test("Metadata hides the topics she may not describe; the anonymous PLAINTEXT listener sees none and writes nothing", async () => {
    const listed = await kcat(sasl(), [...aliceKcat(), "-L", "-J"]);
    expect(JSON.parse(listed.stdout).topics.map((t: { topic: string }) => t.topic).sort()).toEqual(["logs-app", "logs-secret", "orders"]);
    const anonymous = await kcat(broker.kafka, ["-L", "-J"]);
    expect(JSON.parse(anonymous.stdout).topics).toEqual([]);
    const write = await runProcess(["kcat", "-b", broker.kafka, "-P", "-t", "orders"], { input: "x\n", timeoutMs: 30_000 });
    expect(write.code).not.toBe(0);
    expect(write.stderr).toContain("Topic authorization failed");
  });
});

describe("kafkajs as alice", () => {
  const kafka = () =>
    new Kafka({ clientId: "acl-kjs", brokers: [sasl()], logLevel: logLevel.NOTHING, retry: { retries: 0 }, sasl: { mechanism: "scram-sha-512", username: "alice", password: ALICE_PASSWORD } });

  test("produce to orders is TOPIC_AUTHORIZATION_FAILED; a consumer in a group she may READ reads it; group other is refused", async () => {
    const producer = kafka().producer();
    await producer.connect();
    const err = await producer.send({ topic: "orders", messages: [{ value: "no" }] }).then(
      () => null,
      (e: Error & { type?: string }) => e,
    );
    expect(err?.type ?? err?.message).toContain("TOPIC_AUTHORIZATION_FAILED");
    await producer.send({ topic: "logs-app", messages: [{ value: "yes" }] });
    await producer.disconnect();

    const consumer = kafka().consumer({ groupId: "kjs-app", sessionTimeout: 10_000 });
    await consumer.connect();
    await consumer.subscribe({ topic: "orders", fromBeginning: true });
    const got: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${got.length} records`)), 30_000);
      consumer
        .run({
          eachMessage: async ({ message }) => {
            got.push(message.value!.toString());
            if (got.length === 3) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
    await consumer.disconnect();
    expect(got).toEqual(["o1", "o2", "o3"]);

    // kafkajs turns FindCoordinator's GROUP_AUTHORIZATION_FAILED into "Failed to find group
    // coordinator"; the broker's code is in its debug log.
    const logged: string[] = [];
    const logCreator = () => (entry: { log: unknown }) => void logged.push(JSON.stringify(entry.log));
    const stranger = new Kafka({ clientId: "acl-kjs", brokers: [sasl()], logLevel: logLevel.DEBUG, logCreator, retry: { retries: 0 }, sasl: { mechanism: "scram-sha-512", username: "alice", password: ALICE_PASSWORD } }).consumer({ groupId: "other", sessionTimeout: 10_000, retry: { retries: 0 } });
    await stranger.connect();
    await stranger.subscribe({ topic: "orders", fromBeginning: true });
    const refused = await new Promise<Error>((resolve) => {
      stranger.on(stranger.events.CRASH, (e) => resolve(e.payload.error));
      void stranger.run({ eachMessage: async () => {} }).catch(resolve);
    });
    expect(refused.message).toContain("group coordinator");
    expect(logged.join("\n")).toContain("GROUP_AUTHORIZATION_FAILED");
    await stranger.disconnect();
  });

  test("admin.listTopics shows only the describable topics", async () => {
    const admin = kafka().admin();
    await admin.connect();
    expect((await admin.listTopics()).sort()).toEqual(["logs-app", "logs-secret", "orders"]);
    await admin.disconnect();
  });
});
