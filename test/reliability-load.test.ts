// Issue #7, item 7: load. 10,000 idle connections (memory per connection, clean refusal above
// --max-connections); a consumer that sends fetches and never reads does not grow the broker's
// memory (its connection stops being read once OUTPUT_BYTES_HIGH of responses wait: this measures
// that Bun's socket.pause() really stops reading); while it is stuck, other clients keep being
// served: their 1 MiB fetches' p99 stays under PROBE_P99_MS (a bound on progress, not a speed check:
// a stuck broker takes seconds; 1,000 ms by default so a loaded 2-core CI machine passes — 229 ms
// was seen at load average 18 — and `make soak` holds the quiet machine's 50 ms). The file-descriptor limit is raised with prlimit
// for this process (the broker inherits it) when it is too low.
import { afterEach, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import * as net from "node:net";
import { encodeRecordBatch } from "../core/batch/record-batch.ts";
import {
  Fetch, Metadata, Produce, ApiVersions,
  defaultApiVersionsRequest, defaultMetadataRequest, defaultFetchRequest, defaultFetchRequestFetchPartition, defaultFetchRequestFetchTopic, defaultProduceRequest,
} from "../net/protocol/messages/index.ts";
import { encodeRequestHeader } from "../net/protocol/header.ts";
import { Writer } from "../net/protocol/writer.ts";
import { type BrokerProcess, removeDir, startBroker } from "./harness.ts";
import { RawConnection } from "./raw-kafka.ts";

const IDLE = 10_000;
let broker: BrokerProcess | undefined;
const P99_MS = Number(process.env.PROBE_P99_MS ?? 1000);
export const loadFigures = { idleConnections: 0, bytesPerConnection: 0, refusedAboveCap: false, nonReaderRssGrowthMiB: 0, othersFetchP99Ms: 0 };

afterEach(async () => {
  if (broker && broker.proc.exitCode === null) await broker.stop();
  if (broker) removeDir(broker.dataDir);
  broker = undefined;
  const out = process.env.RELIABILITY_FIGURES;
  if (out) await Bun.write(`${out}.load.json`, JSON.stringify(loadFigures));
});

function rssBytes(pid: number): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) * 1024;
}

function raiseFdLimit(want: number): void {
  const soft = Number(Bun.spawnSync(["sh", "-c", "ulimit -n"]).stdout.toString().trim());
  if (soft >= want) return;
  const r = Bun.spawnSync(["prlimit", "--pid", String(process.pid), `--nofile=${want}:${want}`], { stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`need ${want} file descriptors, have ${soft}; prlimit: ${r.stderr}`);
}

async function stats(b: BrokerProcess): Promise<{ open: number; refused: number }> {
  const res = await fetch(`http://${b.http}/v1/stats`);
  return ((await res.json()) as { connections: { open: number; refused: number } }).connections;
}

async function waitFor(what: string, cond: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test(`${IDLE} idle connections: bounded memory per connection, a clean refusal above --max-connections`, async () => {
  raiseFdLimit(IDLE + 1000); // per process: the clients here, the broker's own in its process
  // All from 127.0.0.1, and idle on purpose: the per-address cap and the first-request timeout
  // (issue #18, test/reliability-abuse.test.ts) are lifted so that this measures memory per connection.
  broker = await startBroker({ args: ["--max-connections", String(IDLE), "--max-connections-per-ip", String(IDLE + 10), "--first-request-timeout-ms", "600000"] });
  const warm = await RawConnection.open(broker.kafka);
  await warm.request(ApiVersions, 3, { ...defaultApiVersionsRequest(), clientSoftwareName: "t", clientSoftwareVersion: "1" });
  warm.close();
  await waitFor("warm connection closed", async () => (await stats(broker!)).open === 0);
  const before = rssBytes(broker.proc.pid);
  const conns: RawConnection[] = [];
  for (let i = 0; i < IDLE; i += 500) conns.push(...(await Promise.all(Array.from({ length: 500 }, () => RawConnection.open(broker!.kafka)))));
  await waitFor(`${IDLE} connections open`, async () => (await stats(broker!)).open === IDLE);
  const after = rssBytes(broker.proc.pid);
  loadFigures.idleConnections = IDLE;
  loadFigures.bytesPerConnection = Math.round((after - before) / IDLE);
  expect(conns.every((c) => !c.isClosed)).toBe(true);
  expect(loadFigures.bytesPerConnection).toBeLessThan(64 * 1024); // the stated bound: < 64 KiB each
  // One more is refused cleanly: closed at once, counted, nobody else disturbed.
  const extra = await RawConnection.open(broker.kafka).catch(() => null);
  if (extra) await extra.closed;
  await waitFor("refusal counted", async () => (await stats(broker!)).refused === 1);
  loadFigures.refusedAboveCap = true;
  expect(conns.every((c) => !c.isClosed)).toBe(true);
  // The idle ones still work.
  const res = await conns[IDLE - 1]!.request(ApiVersions, 3, { ...defaultApiVersionsRequest(), clientSoftwareName: "t", clientSoftwareVersion: "1" });
  expect(res.errorCode).toBe(0);
  for (const c of conns) c.close();
}, 180_000);

function fetchFrame(correlationId: number, topic: string, maxBytes: number): Uint8Array {
  const w = new Writer();
  const mark = w.reserveInt32();
  encodeRequestHeader(w, { apiKey: Fetch.key, apiVersion: 11, correlationId, clientId: "never-reads" });
  Fetch.encodeRequest(w, 11, {
    ...defaultFetchRequest(),
    maxWaitMs: 0,
    minBytes: 1,
    maxBytes,
    topics: [{ ...defaultFetchRequestFetchTopic(), topic, partitions: [{ ...defaultFetchRequestFetchPartition(), partition: 0, fetchOffset: 0n, partitionMaxBytes: maxBytes }] }],
  });
  w.patchInt32(mark, w.length - 4);
  return w.finish();
}

test("a consumer that never reads does not grow the broker's memory, and does not slow the others", async () => {
  broker = await startBroker();
  const c = await RawConnection.open(broker.kafka);
  const created = await fetch(`http://${broker.http}/v1/topics`, { method: "POST", body: JSON.stringify({ name: "big", partitions: 1 }) });
  expect(created.status).toBe(201);
  for (let i = 0; i < 8; i++) {
    const res = await c.request(Produce, 7, { ...defaultProduceRequest(), acks: -1, timeoutMs: 5000, topicData: [{ name: "big", partitionData: [{ index: 0, records: encodeRecordBatch({ records: [{ value: new Uint8Array(900 * 1024).fill(i) }] }) }] }] });
    expect(res.responses[0]!.partitionResponses[0]!.errorCode).toBe(0);
  }
  const before = rssBytes(broker.proc.pid);
  // The non-reader: asks for ~7 MiB per fetch, 2,000 times (14 GB of answers), and never reads.
  const [host, port] = broker.kafka.split(":") as [string, string];
  const sock = net.connect({ host, port: Number(port) });
  await new Promise<void>((r) => sock.once("connect", () => r()));
  sock.pause();
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, rssBytes(broker!.proc.pid))), 20);
  for (let i = 0; i < 2000; i++) sock.write(fetchFrame(i, "big", 8 << 20));
  // The event to wait for: the broker has served it up to its 32 MiB output cap (some of it
  // in kernel buffers), so its connection's output queue is full and reading is paused.
  const bytesOut = async () => {
    const res = await fetch(`http://${broker!.http}/v1/stats`);
    return ((await res.json()) as { topics: Array<{ name: string; bytesOut: number }> }).topics.find((t) => t.name === "big")!.bytesOut;
  };
  await waitFor("the non-reader's output queue filling", async () => (await bytesOut()) >= 32 << 20);

  // Meanwhile another client fetches 1 MiB at a time: p99 under P99_MS.
  const latencies: number[] = [];
  const other = await RawConnection.open(broker.kafka);
  for (let i = 0; i < 200; i++) {
    const t0 = performance.now();
    const res = await other.request(Fetch, 11, {
      ...defaultFetchRequest(),
      maxWaitMs: 0,
      minBytes: 1,
      maxBytes: 1 << 20,
      topics: [{ ...defaultFetchRequestFetchTopic(), topic: "big", partitions: [{ ...defaultFetchRequestFetchPartition(), partition: 0, fetchOffset: BigInt(i % 8), partitionMaxBytes: 1 << 20 }] }],
    });
    latencies.push(performance.now() - t0);
    expect(res.responses[0]!.partitions[0]!.errorCode).toBe(0);
  }
  clearInterval(sampler);
  // Reading really stopped: of 2,000 fetches (~14 GB of answers) only what fits the output cap and
  // the kernel buffers was ever read and answered.
  const served = await bytesOut();
  expect(served).toBeLessThan(512 << 20);
  latencies.sort((a, b) => a - b);
  const p99 = latencies[Math.floor(latencies.length * 0.99)]!;
  loadFigures.othersFetchP99Ms = Math.round(p99 * 10) / 10;
  loadFigures.nonReaderRssGrowthMiB = Math.round((peak - before) / (1 << 20));
  // Bounded by the 32 MiB output cap of one connection plus what one batch of reads in flight
  // holds; unbounded reading would have queued gigabytes.
  expect(loadFigures.nonReaderRssGrowthMiB).toBeLessThan(160);
  expect(p99).toBeLessThan(P99_MS);
  sock.destroy();
  other.close();
  c.close();
}, 120_000);

test("concurrent first use of one topic from many clients: every Metadata answer is the topic, none TOPIC_ALREADY_EXISTS (issue #7 regression)", async () => {
  // A create now yields between chunks of partitions, so the race window is wide on purpose here.
  broker = await startBroker({ args: ["--default-partitions", "64"] });
  const conns = await Promise.all(Array.from({ length: 20 }, () => RawConnection.open(broker!.kafka)));
  const answers = await Promise.all(
    conns.map((c) => c.request(Metadata, 4, { ...defaultMetadataRequest(), topics: [{ topicId: new Uint8Array(16), name: "first-use" }], allowAutoTopicCreation: true })),
  );
  expect(answers.map((a) => [a.topics[0]!.errorCode, a.topics[0]!.partitions.length])).toEqual(answers.map(() => [0, 64]));
  for (const c of conns) c.close();
});
