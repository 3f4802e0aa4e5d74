// kafkajs 2.2.4 (pure JS, node:tls) against the broker's secured listeners: produce, a consumer
// group and admin over SASL_SSL with PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512, over SSL with a client
// certificate, over SASL_PLAINTEXT; a wrong password fails fast with SASL_AUTHENTICATION_FAILED.
// Issue #18.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { Kafka, type KafkaConfig, logLevel, type SASLOptions } from "kafkajs";
import { type BrokerProcess, removeDir, startBroker, streamctl } from "./harness.ts";
import { makeCerts, type TestCerts, tlsServeArgs } from "./tls-helpers.ts";

let certs: TestCerts;
let broker: BrokerProcess;
const at = (protocol: string) => broker.listeners.find((l) => l.protocol === protocol)!.address;

beforeAll(async () => {
  certs = await makeCerts();
  broker = await startBroker({
    noDefaultListener: true,
    args: ["--listener", "SASL_SSL://127.0.0.1:0", "--listener", "SSL://127.0.0.1:0", "--listener", "SASL_PLAINTEXT://127.0.0.1:0", ...tlsServeArgs(certs, "required")],
    env: { STREAMCTL_ADMIN_PASSWORD: "kjs-admin-pw", STREAMCTL_HTTP_TOKEN: "kjs-token" },
  });
  // A user of our own, made the way an operator would: `streamctl users create`.
  const made = await streamctl(["users", "create", "kjs", "--http", `http://${broker.http}`], { input: "kjs-Secret-1\n", env: { STREAMCTL_HTTP_TOKEN: "kjs-token", XDG_CONFIG_HOME: "/nonexistent" } });
  expect(made.stderr).toContain("created user kjs");
  expect(made.code).toBe(0);
  // kjs and the client certificate's User:alice may do anything to kjs-* topics and groups (ACLs,
  // issue #18 item 4), granted as an operator would: `streamctl acls create` as the super user.
  const granted = await streamctl(
    ["acls", "create", "--allow-principal", "User:kjs", "--allow-principal", "User:alice", "--operation", "All", "--topic", "kjs-", "--group", "kjs-", "--resource-pattern-type", "prefixed", "--broker", at("SASL_PLAINTEXT"), "--user", "admin", "--sasl-mechanism", "SCRAM-SHA-512"],
    { env: { STREAMCTL_PASSWORD: "kjs-admin-pw", XDG_CONFIG_HOME: "/nonexistent" } },
  );
  expect(granted.stderr).toContain("created ACL: ALLOW User:kjs ALL on TOPIC kjs-* (PREFIXED) from *");
  expect(granted.code).toBe(0);
});

afterAll(async () => {
  expect(await broker.stop()).toBe(0);
  removeDir(broker.dataDir);
  removeDir(certs.dir);
});

function ssl(clientCert = false): KafkaConfig["ssl"] {
  const ca = [readFileSync(certs.ca, "utf8")];
  return clientCert ? { ca, cert: readFileSync(certs.clientCert, "utf8"), key: readFileSync(certs.clientKey, "utf8") } : { ca };
}

function client(address: string, config: Pick<KafkaConfig, "ssl" | "sasl">): Kafka {
  return new Kafka({ clientId: "kjs-security", brokers: [address], logLevel: logLevel.NOTHING, retry: { retries: 1 }, connectionTimeout: 5000, ...config });
}

/** 50 records through a producer, back through a consumer group; the topic listed by admin. */
async function roundTrip(kafka: Kafka, topic: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });
  expect(await admin.listTopics()).toContain(topic);
  await admin.disconnect();

  const producer = kafka.producer();
  await producer.connect();
  const sent = Array.from({ length: 50 }, (_, i) => `${topic}-${i}`);
  await producer.send({ topic, messages: sent.map((value, i) => ({ key: `k${i % 5}`, value })) });
  await producer.disconnect();

  const consumer = kafka.consumer({ groupId: `${topic}-group`, sessionTimeout: 10_000, rebalanceTimeout: 10_000 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const got: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${got.length} of ${sent.length} records in 30 s`)), 30_000);
    consumer
      .run({
        eachMessage: async ({ message }) => {
          got.push(message.value!.toString());
          if (got.length === sent.length) {
            clearTimeout(timer);
            resolve();
          }
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  expect(got.sort()).toEqual([...sent].sort());
}

describe("kafkajs over each protocol and mechanism", () => {
  test.each([
    ["plain", "PLAIN"],
    ["scram-sha-256", "SCRAM-SHA-256"],
    ["scram-sha-512", "SCRAM-SHA-512"],
  ] as const)("SASL_SSL with %s: admin, producer, consumer group", async (mechanism) => {
    const sasl = { mechanism, username: "kjs", password: "kjs-Secret-1" } as SASLOptions;
    await roundTrip(client(at("SASL_SSL"), { ssl: ssl(), sasl }), `kjs-sasl-ssl-${mechanism}`);
  });

  test("SSL with a client certificate: admin, producer, consumer group", async () => {
    await roundTrip(client(at("SSL"), { ssl: ssl(true) }), "kjs-ssl");
  });

  test("SASL_PLAINTEXT with SCRAM-SHA-512 as the first-start admin", async () => {
    await roundTrip(client(at("SASL_PLAINTEXT"), { sasl: { mechanism: "scram-sha-512", username: "admin", password: "kjs-admin-pw" } }), "kjs-sasl-plaintext");
  });
});

describe("refusals", () => {
  test.each([
    ["plain", "SASL PLAIN authentication failed: Authentication failed: Invalid username or password"],
    ["scram-sha-256", "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256"],
    ["scram-sha-512", "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512"],
  ] as const)("a wrong password with %s fails fast with SASL_AUTHENTICATION_FAILED's message", async (mechanism, message) => {
    const producer = client(at("SASL_SSL"), { ssl: ssl(), sasl: { mechanism, username: "kjs", password: "wrong" } as SASLOptions }).producer();
    const started = performance.now();
    const err = await producer.connect().then(
      () => null,
      (e: Error) => e,
    );
    expect(err).not.toBeNull();
    expect(err!.name).toBe("KafkaJSSASLAuthenticationError");
    // kafkajs raises the broker's error_message of SASL_AUTHENTICATION_FAILED (Kafka's wording).
    expect(err!.message).toContain(message);
    expect(performance.now() - started).toBeLessThan(5000);
  });

  test("SSL without a client certificate is refused", async () => {
    const admin = client(at("SSL"), { ssl: ssl(false) }).admin();
    await expect(admin.connect()).rejects.toThrow();
  });
});
