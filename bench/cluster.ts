// Benchmarks of cluster mode (issue #19), section "cluster": etcd and three brokers on this
// machine (test/cluster-harness.ts), fsync always on every broker.
//   produce   `streamctl bench produce` into a topic of replication factor 3 (acks=all, so every
//             batch is on three disks) and into one of replication factor 1, alternating who goes
//             first, ROUNDS each
//   latency   `streamctl bench produce --rate 5000` into the RF 3 topic: ack p50 / p99
//   failover  SIGKILL of the leader of a 1-partition RF 3 topic while our idempotent producer
//             writes, FAILOVERS times: from the kill to the first acknowledgement after it
//             (lease TTL 2 s: the controller learns of the death when the lease expires)
//   catch-up  a follower's data dir wiped while the broker is down, then restarted: the time
//             until it is back in the ISR, for CATCHUP_BYTES of log
// Measures only; asserts nothing.
//
//   BENCH=cluster make bench                         (or: bun run bench/cluster.ts)
//   BENCH_CLUSTER_RECORDS=1000000 BENCH_CLUSTER_CATCHUP_MB=1024 …
import { rmSync } from "node:fs";
import { STREAMCTL_BIN, streamctl } from "../test/harness.ts";
import { TestCluster } from "../test/cluster-harness.ts";
import type { BenchRow } from "./types.ts";

const SECTION = "cluster";
const ROUNDS = 3;
const FAILOVERS = 10;

async function bench(args: string[]): Promise<{ recordsPerSec: number; ackLatencyMs?: { p50: number; p99: number } }> {
  const proc = Bun.spawn([STREAMCTL_BIN, "bench", ...args, "--json"], { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, NO_COLOR: "1" } });
  const [code, out, err] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  if (code !== 0) throw new Error(`streamctl bench ${args.join(" ")} exited ${code}: ${err.trim()}`);
  return JSON.parse(out) as { recordsPerSec: number; ackLatencyMs?: { p50: number; p99: number } };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function create(cluster: TestCluster, topic: string, partitions: number, rf: number): Promise<void> {
  const r = await streamctl(["topics", "create", topic, "--partitions", String(partitions), "--replication-factor", String(rf), "--broker", cluster.address(1)]);
  if (r.code !== 0) throw new Error(`create ${topic}: ${r.stderr}`);
  await cluster.waitFor(topic, (m) => m.every((p) => p.isr.length === rf), `${topic} in sync`);
}

/** Kill to first acknowledgement, with `streamctl produce` writing one record every 2 ms. */
async function failover(cluster: TestCluster, topic: string): Promise<number> {
  const meta = await cluster.waitFor(topic, (m) => m[0]!.isr.length === 3, "3 in sync");
  const leader = meta[0]!.leader;
  const producer = Bun.spawn([STREAMCTL_BIN, "produce", topic, "--broker", cluster.bootstrap, "--linger-ms", "0", "--delivery-timeout", "60000"], {
    stdin: "pipe",
    stdout: "ignore",
    stderr: "ignore",
  });
  let i = 0;
  const writer = setInterval(() => {
    producer.stdin.write(`f${i++}\n`);
    producer.stdin.flush();
  }, 2);
  await Bun.sleep(500);
  await cluster.kill9(leader);
  const killed = performance.now();
  const next = await cluster.waitFor(topic, (m) => m[0]!.leader !== leader && m[0]!.leader >= 0, "a new leader", 30_000);
  // The first acknowledgement: the new leader's end offset moves past where it was elected.
  const at = await endOffset(cluster, topic, next[0]!.leader);
  let ms = 0;
  for (;;) {
    if ((await endOffset(cluster, topic, next[0]!.leader)) > at) {
      ms = performance.now() - killed;
      break;
    }
    await Bun.sleep(5);
  }
  clearInterval(writer);
  producer.stdin.end();
  await producer.exited;
  await cluster.startBroker(leader);
  return ms;
}

async function endOffset(cluster: TestCluster, topic: string, id: number): Promise<number> {
  const res = await fetch(`http://${cluster.brokers.get(id)!.http}/v1/topics/${topic}`);
  const t = (await res.json()) as { partitions: Array<{ end: number }> };
  return t.partitions[0]!.end;
}

export async function run(): Promise<BenchRow[]> {
  const records = Number(process.env.BENCH_CLUSTER_RECORDS ?? 1_000_000);
  const catchupMb = Number(process.env.BENCH_CLUSTER_CATCHUP_MB ?? 1024);
  const cluster = await TestCluster.start({ brokers: 3 });
  const rows: BenchRow[] = [];
  try {
    await create(cluster, "rf3", 3, 3);
    await create(cluster, "rf1", 3, 1);
    const rf3: number[] = [];
    const rf1: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const order: Array<["rf3" | "rf1", number[]]> = round % 2 === 0 ? [["rf3", rf3], ["rf1", rf1]] : [["rf1", rf1], ["rf3", rf3]];
      for (const [topic, into] of order) into.push((await bench(["produce", "--topic", topic, "--records", String(records), "--record-size", "100", "--broker", cluster.bootstrap])).recordsPerSec);
    }
    const ratio = rf3.map((v, i) => v / rf1[i]!);
    rows.push(
      { section: SECTION, name: "produce, RF 3, acks=all", value: median(rf3), runs: rf3, unit: "records/s", note: `streamctl bench produce --records ${records} --record-size 100, 3 partitions, fsync always on every broker` },
      { section: SECTION, name: "produce, RF 1", value: median(rf1), runs: rf1, unit: "records/s", note: "the same, into a topic of replication factor 1, interleaved" },
      { section: SECTION, name: "RF 3 / RF 1", value: median(ratio), runs: ratio, unit: "ratio", note: "goal ≥ 0.4" },
    );
    const lat = await bench(["produce", "--topic", "rf3", "--rate", "5000", "--records", "50000", "--broker", cluster.bootstrap]);
    rows.push(
      { section: SECTION, name: "ack p50 at 5,000/s, RF 3", value: lat.ackLatencyMs?.p50 ?? NaN, unit: "ms", note: "streamctl bench produce --rate 5000 --records 50000, acks=all" },
      { section: SECTION, name: "ack p99 at 5,000/s, RF 3", value: lat.ackLatencyMs?.p99 ?? NaN, unit: "ms", note: "the same run" },
    );
    await create(cluster, "fo", 1, 3);
    const kills: number[] = [];
    for (let k = 0; k < FAILOVERS; k++) kills.push(await failover(cluster, "fo"));
    rows.push(
      { section: SECTION, name: "failover, kill to first ack (median)", value: median(kills), runs: kills, unit: "ms", note: `SIGKILL of the leader, ${FAILOVERS} times; lease TTL 2 s` },
      { section: SECTION, name: "failover, kill to first ack (max)", value: Math.max(...kills), unit: "ms", note: "goal ≤ 3,000" },
    );
    // Catch-up: fill a 1-partition RF 3 topic, wipe a follower, time its return to the ISR.
    await create(cluster, "big", 1, 3);
    const n = Math.round((catchupMb * 1024 * 1024) / 1000);
    await bench(["produce", "--topic", "big", "--records", String(n), "--record-size", "1000", "--broker", cluster.bootstrap]);
    const meta = await cluster.waitFor("big", (m) => m[0]!.isr.length === 3, "big in sync", 300_000);
    const follower = meta[0]!.replicas.find((id) => id !== meta[0]!.leader)!;
    await cluster.kill9(follower);
    rmSync(`${cluster.dataDir(follower)}/topics`, { recursive: true, force: true });
    const started = performance.now();
    await cluster.startBroker(follower);
    await cluster.waitFor("big", (m) => m[0]!.isr.length === 3, "the wiped follower back in the ISR", 900_000);
    const catchupS = (performance.now() - started) / 1000;
    rows.push({ section: SECTION, name: `wiped follower catches up ${catchupMb} MiB`, value: catchupS, unit: "s", note: `${(catchupMb / catchupS).toFixed(0)} MiB/s; from its restart to its return to the ISR` });
  } finally {
    await cluster.stop();
  }
  return rows;
}

if (import.meta.main) {
  for (const r of await run()) console.log(`${r.name}: ${r.value} ${r.unit}${r.runs ? ` (${r.runs.map((v) => v.toFixed(2)).join(", ")})` : ""}`);
}
