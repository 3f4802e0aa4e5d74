// `streamctl bench produce|consume|e2e` against a live broker (issue 8): small runs that check the
// reports add up — counts, partitions, latency samples — never how fast anything was.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type BrokerProcess, removeDir, startBroker, streamctl } from "./harness.ts";

let broker: BrokerProcess;
beforeAll(async () => {
  broker = await startBroker();
});
afterAll(async () => {
  await broker.stop();
  removeDir(broker.dataDir);
});

const bench = async (args: string[]) => {
  const r = await streamctl(["bench", ...args, "--broker", broker.kafka, "--json"]);
  if (r.code !== 0) throw new Error(`bench ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout);
};

describe("streamctl bench", () => {
  test("produce flat out: every record acknowledged, one ack latency sample each", async () => {
    const r = await bench(["produce", "--topic", "b-produce", "--records", "3000", "--record-size", "50"]);
    expect(r).toMatchObject({ mode: "produce", records: 3000, failed: 0, partitions: 1, recordBytes: 50, acks: "all", compression: "none", rate: 0 });
    expect(r.ackLatencyMs.count).toBe(3000);
    expect(r.ackLatencyMs.p50).toBeLessThanOrEqual(r.ackLatencyMs.p99);
    expect(r.ackLatencyMs.p99).toBeLessThanOrEqual(r.ackLatencyMs.max);
  });

  test("produce with partitions, producers, compression and a rate", async () => {
    const r = await bench(["produce", "--topic", "b-multi", "--records", "600", "--partitions", "3", "--producers", "2", "--compression", "zstd", "--rate", "3000"]);
    expect(r).toMatchObject({ records: 600, failed: 0, partitions: 3, producers: 2, compression: "zstd", rate: 3000 });
    expect(r.ackLatencyMs.count).toBe(600);
    const end = await streamctl(["consume", "b-multi", "--broker", broker.kafka, "--from", "beginning", "--until-end", "--format", "%p\n"]);
    expect(new Set(end.stdout.trim().split("\n"))).toEqual(new Set(["0", "1", "2"]));
  });

  test("consume tops the topic up, then reads exactly N records", async () => {
    await bench(["produce", "--topic", "b-consume", "--records", "1000"]);
    const r = await bench(["consume", "--topic", "b-consume", "--records", "2500"]);
    expect(r).toMatchObject({ mode: "consume", records: 2500, failed: 0 });
    expect(r.ackLatencyMs).toBeUndefined();
  });

  test("e2e: the consumer sees every record, one produce→consume sample each", async () => {
    const r = await bench(["e2e", "--topic", "b-e2e", "--records", "400", "--rate", "2000"]);
    expect(r).toMatchObject({ mode: "e2e", records: 400, consumed: 400, failed: 0 });
    expect(r.e2eLatencyMs.count).toBe(400);
    expect(r.ackLatencyMs.count).toBe(400);
    // The machine's own stalls over the measured load (0.2 s at 2,000/s): a thread slept all along.
    expect(r.machinePauses.seconds).toBeGreaterThan(0.1);
    expect(r.machinePauses.pausedMsPerSec).toBeGreaterThanOrEqual(0);
    expect(r.machinePauses.lockedShare === null || r.machinePauses.lockedShare <= 1).toBe(true);
  });

  test("--warmup runs the same load first and leaves it out of the figures", async () => {
    const r = await bench(["e2e", "--topic", "b-warm", "--records", "300", "--rate", "3000", "--warmup", "0.1"]);
    expect(r).toMatchObject({ mode: "e2e", records: 300, consumed: 300, failed: 0, warmupSeconds: 0.1 });
    expect([r.ackLatencyMs.count, r.e2eLatencyMs.count]).toEqual([300, 300]);
    // The warm-up's 300 records (0.1 s at 3,000/s) are in the topic too: 600 in all.
    const end = await streamctl(["consume", "b-warm", "--broker", broker.kafka, "--from", "beginning", "--until-end", "--format", "%o\n"]);
    expect(end.stdout.trim().split("\n").length).toBe(600);
    const p = await bench(["produce", "--topic", "b-warm-p", "--records", "200", "--rate", "4000", "--warmup", "0.05"]);
    expect(p).toMatchObject({ records: 200, warmupSeconds: 0.05 });
    expect(p.ackLatencyMs.count).toBe(200);
    const flatOut = await streamctl(["bench", "produce", "--warmup", "1", "--broker", broker.kafka]);
    expect(flatOut.code).toBe(2);
    expect(flatOut.stderr).toContain("--warmup");
  });

  test("text report and usage errors", async () => {
    const text = await streamctl(["bench", "produce", "--topic", "b-text", "--records", "10", "--broker", broker.kafka]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain("records/s");
    expect(text.stdout).toContain("ack latency ms");
    // Plural forms (issue #22): "1 partition", not "1 partition(s)".
    expect(text.stdout).toMatch(/^bench produce: 10 records of 100 B to b-text \(1 partition, 1 producer, acks=all, compression=none, flat out\)\n/);
    expect(text.stdout).not.toContain("machine paused");
    const paced = await streamctl(["bench", "produce", "--topic", "b-text", "--records", "200", "--rate", "2000", "--broker", broker.kafka]);
    expect(paced.code).toBe(0);
    expect(paced.stdout).toMatch(/\n  machine paused  \d+\.\d ms per s \(\d+\.\d wake-ups\/s of a sleeping thread 2 ms or more late, worst \d+\.\d ms/);
    // What the load generator itself costs, per record (issue #23): a positive figure.
    const cpu = /\n  this client's CPU  (\d+\.\d) µs per record/.exec(paced.stdout);
    expect(Number(cpu?.[1])).toBeGreaterThan(0);
    const read = await streamctl(["bench", "consume", "--topic", "b-text", "--records", "10", "--broker", broker.kafka]);
    expect(read.code).toBe(0);
    expect(read.stdout).toMatch(/^bench consume: 10 records of 100 B from b-text \(1 partition\)\n  throughput  [\d,]+ records\/s/);
    const bad = await streamctl(["bench", "e2e", "--rate", "0", "--broker", broker.kafka]);
    expect(bad.code).toBe(2);
    const badTopic = await streamctl(["bench", "produce", "--topic", "no/slash", "--broker", broker.kafka]);
    expect(badTopic.code).toBe(2);
  });
});
