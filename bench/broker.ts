// Broker figures with librdkafka (kcat) as the load, so the broker is measured apart from our
// own client: produce throughput (100-byte records, acks=all, fsync always), fetch throughput,
// and produce→consume latency at a fixed 10,000 records/s. Issue #3.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBroker } from "../test/harness.ts";
import type { BenchRow } from "./types.ts";

const RECORDS = Number(process.env.BENCH_BROKER_RECORDS ?? 1_000_000);
const RECORD_BYTES = 100;
const LATENCY_RATE = 10_000;
const LATENCY_SECONDS = Number(process.env.BENCH_LATENCY_SECONDS ?? 10);

function recordFile(dir: string): string {
  const line = (i: number) => `${String(i).padStart(12, "0")} ${"x".repeat(RECORD_BYTES - 14)}\n`;
  const parts: string[] = [];
  for (let i = 0; i < RECORDS; i++) parts.push(line(i));
  const path = join(dir, "records.txt");
  writeFileSync(path, parts.join(""));
  return path;
}

async function timed(argv: string[], stdinPath?: string, input?: string): Promise<number> {
  const started = performance.now();
  const stdin = stdinPath ? Bun.file(stdinPath) : input !== undefined ? new Blob([input]) : "ignore";
  const proc = Bun.spawn(argv, { stdin, stdout: "ignore", stderr: "pipe" });
  const [code, err] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
  if (code !== 0) throw new Error(`${argv.join(" ")} exited ${code}: ${err}`);
  return (performance.now() - started) / 1000;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function latency(broker: string, topic: string): Promise<number[]> {
  // The topic must exist before a librdkafka consumer asks for it (consumers don't auto-create).
  await timed(["kcat", "-b", broker, "-P", "-t", topic, "-p", "0", "-q"], undefined, "created\n");
  const consumer = Bun.spawn(["kcat", "-b", broker, "-C", "-t", topic, "-p", "0", "-o", "end", "-u", "-q", "-f", "%T %s\n", "-X", "fetch.wait.max.ms=100"], { stdout: "pipe", stderr: "ignore" });
  const producer = Bun.spawn(["kcat", "-b", broker, "-P", "-t", topic, "-p", "0", "-X", "acks=all", "-X", "linger.ms=0", "-q"], { stdin: "pipe", stderr: "ignore" });
  // Let both connect and the consumer position itself at the end: wait for one record through.
  const latencies: number[] = [];
  const decoder = new TextDecoder();
  let buffered = "";
  let seen = 0;
  const total = LATENCY_RATE * LATENCY_SECONDS;
  const reading = (async () => {
    for await (const chunk of consumer.stdout) {
      const now = Date.now();
      buffered += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const [ts, value] = buffered.slice(0, nl).split(" ");
        buffered = buffered.slice(nl + 1);
        seen++;
        if (value?.startsWith("r")) latencies.push(now - Number(ts));
        if (latencies.length >= total) return;
      }
    }
  })();
  // The consumer positions itself at the end asynchronously: send warm-up records until one arrives.
  while (seen === 0) {
    producer.stdin.write("warmup\n");
    producer.stdin.flush();
    await Bun.sleep(50);
  }
  const started = performance.now();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * LATENCY_RATE));
    let batch = "";
    for (; sent < due; sent++) batch += `r${sent}\n`;
    if (batch) {
      producer.stdin.write(batch);
      producer.stdin.flush();
    }
    await Bun.sleep(1);
  }
  await Promise.race([reading, Bun.sleep(10_000)]);
  producer.stdin.end();
  consumer.kill();
  await producer.exited;
  return latencies.sort((a, b) => a - b);
}

export async function run(): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), "streamctl-bench-"));
  const file = recordFile(dir);
  const broker = await startBroker({ dataDir: join(dir, "data") });
  const rows: BenchRow[] = [];
  const mb = (RECORDS * RECORD_BYTES) / 1e6;
  try {
    const kcatP = ["kcat", "-b", broker.kafka, "-P", "-t", "bench-produce", "-p", "0", "-q", "-X", "acks=all", "-X", "linger.ms=5", "-X", "batch.num.messages=10000", "-X", "batch.size=1000000", "-z", "none"];
    const pt = await timed(kcatP, file);
    rows.push({ section: "broker", name: "produce, kcat -P, 1 partition, acks=all, fsync always", value: RECORDS / pt, unit: "records/s", note: `${RECORDS.toLocaleString("en-US")} × ${RECORD_BYTES} B in ${pt.toFixed(2)} s = ${(mb / pt).toFixed(0)} MB/s (end to end, kcat reading a file)` });
    // fetch.wait.max.ms only matters once caught up: without it the run would end with kcat's
    // 500 ms long poll at the end of the partition (as against Kafka), which is not throughput.
    const consumeArgs = ["kcat", "-b", broker.kafka, "-C", "-t", "bench-produce", "-p", "0", "-o", "beginning", "-e", "-q", "-f", "%s\n", "-X", "fetch.wait.max.ms=5"];
    const ct = await timed(consumeArgs);
    rows.push({ section: "broker", name: "fetch, kcat -C -e, 1 partition", value: RECORDS / ct, unit: "records/s", note: `${(mb / ct).toFixed(0)} MB/s; kcat formats every record to /dev/null, so a floor for the broker; fetch.wait.max.ms=5` });
    const lat = await latency(broker.kafka, "bench-latency");
    if (lat.length > 0) {
      const note = `kcat -P (linger.ms=0, acks=all) → broker (fsync always) → kcat -C -u; ${lat.length.toLocaleString("en-US")} records at ${LATENCY_RATE}/s, CreateTime to arrival (ms resolution)`;
      rows.push({ section: "broker", name: "produce→consume latency p50 at 10,000 records/s", value: percentile(lat, 50), unit: "ms", note });
      rows.push({ section: "broker", name: "produce→consume latency p99 at 10,000 records/s", value: percentile(lat, 99), unit: "ms", note });
      rows.push({ section: "broker", name: "produce→consume latency max at 10,000 records/s", value: lat[lat.length - 1]!, unit: "ms", note });
    }
  } finally {
    await broker.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

if (import.meta.main) console.log(await run());
