// Golden frames for the admin APIs of issue #21 at every version, from an encoder that is not ours:
// @platformatic/kafka (a devDependency) has one module per API version. This sends one ordinary
// request of each through scripts/capture-proxy.ts (started with --prefix platformatic), which
// writes the frames; testdata/frames/README.md says how they were made.
//
//   bun run scripts/capture-platformatic.ts --broker 127.0.0.1:<proxy port> --http 127.0.0.1:<http port>
//
// The broker needs a topic `golden-admin` with 2 partitions and a record in partition 0, and a group
// `golden-group` that committed an offset of it (the script makes them over HTTP and Kafka).
import { parseArgs } from "node:util";
import * as pk from "@platformatic/kafka";

const { values } = parseArgs({ options: { broker: { type: "string" }, http: { type: "string" } } });
const [host, port] = values.broker!.split(":") as [string, string];

const connection = new (pk as any).Connection("golden-platformatic");
await new Promise<void>((resolve, reject) => connection.connect(host, Number(port), (err: unknown) => (err ? reject(err) : resolve())));

const apis = pk as any;
async function call(name: string, version: number, ...args: unknown[]): Promise<void> {
  const mod = apis[`${name}V${version}`];
  if (!mod?.api) throw new Error(`no ${name}V${version} in @platformatic/kafka`);
  try {
    await mod.api.async(connection, ...args);
  } catch (err) {
    // An error answer is still a golden frame; only a transport failure is not.
    if (!(err instanceof Error) || !("response" in err)) console.error(`${name} v${version}: ${(err as Error)?.message ?? err}`);
  }
}

const TOPIC = 2; // ConfigResource type TOPIC
const topic = "golden-admin";
await fetch(`http://${values.http}/v1/topics`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: topic, partitions: 2 }) });
await fetch(`http://${values.http}/v1/topics/${topic}/records?partition=0`, { method: "POST", body: "a\nb\nc\n" });

for (const v of [0, 1, 2, 3]) await call("createPartitions", v, [{ name: topic, count: 2, assignments: [] }], 5000, true);
for (const v of [0, 1, 2]) await call("alterConfigs", v, [{ resourceType: TOPIC, resourceName: topic, configs: [{ name: "retention.ms", value: "3600000" }] }], true);
for (const v of [0, 1]) await call("incrementalAlterConfigs", v, [{ resourceType: TOPIC, resourceName: topic, configs: [{ name: "retention.ms", configOperation: 0, value: "7200000" }] }], true);
for (const v of [0, 1, 2, 3, 4]) await call("describeConfigs", v, [{ resourceType: TOPIC, resourceName: topic, configurationKeys: ["retention.ms", "cleanup.policy"] }], v >= 1, v >= 3);
for (const v of [0, 1, 2]) await call("deleteRecords", v, [{ name: topic, partitions: [{ partitionIndex: 1, offset: 0n }] }], 5000);
for (const v of [0, 1, 2, 3, 4]) await call("describeLogDirs", v, [{ name: topic, partitions: [0, 1] }]);
for (const v of [0, 1, 2, 3, 4]) await call("offsetForLeaderEpoch", v, -1, [{ name: topic, partitions: [{ partitionIndex: 0, currentLeaderEpoch: 0, leaderEpoch: 0 }] }]);
for (const v of [0, 1]) await call("describeCluster", v, true, 1);
await call("describeTopicPartitions", 0, [{ name: topic }], 100, null);
await call("describeProducers", 0, [{ name: topic, partitionIndexes: [0] }]);
await call("getTelemetrySubscriptions", 0, "00000000-0000-0000-0000-000000000000");
await call("offsetDelete", 0, "golden-group", [{ name: topic, partitions: [{ partitionIndex: 0 }] }]);
for (const v of [0, 1, 2, 3, 4, 5]) await call("listGroups", v, v >= 4 ? ["Empty", "Stable"] : [], v >= 5 ? ["classic"] : []);
await call("consumerGroupHeartbeat", 0, "golden-848", "", 0, null, null, 30000, [topic], null, "uniform", []);
await call("consumerGroupDescribe", 0, ["golden-848"], true);

await new Promise<void>((resolve) => connection.close(() => resolve()));
