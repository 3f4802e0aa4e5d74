// Log compaction figures (section "compaction", issue #20): how fast the cleaner cleans, and what
// a cleaning pass does to produce latency beside it.
//
//   1. In process (core/log/cleaner.ts on the real disk): a log of BENCH_CLEAN_RECORDS records
//      (default 1,000,000; 100-byte values, 10,000 keys, batches of 1,000, 16 MiB segments) cleaned
//      by one pass, once with no I/O bound and once at the broker's default bound
//      (CLEANER_IO_BYTES_PER_S_DEFAULT); MB/s of log cleaned (the segments' bytes before the pass
//      over its duration) and of I/O (read plus written).
//   2. The compiled broker: two compacted topics filled with kcat (BENCH_CLEAN_BROKER_RECORDS
//      each, default 1,000,000); `streamctl bench produce --rate 2000` (acks=all, fsync always)
//      into a third topic for 5 s with no pass running, then while `streamctl topics compact`
//      cleans the first topic at the default bound, then (broker restarted with
//      --log-cleaner-io-max-bytes-per-second 0) while it cleans the second with no bound.
//      Ack p50/p99 of each run, and how long the pass took.
//
// The machine these figures come from is shared (2 cores, other work running): latencies are
// high in every row, the comparison between rows of one run is what they show.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { systemClock } from "../core/clock.ts";
import { NodeFileLayer } from "../core/fs.ts";
import { encodeRecordBatch } from "../core/batch/record-batch.ts";
import { CLEANER_IO_BYTES_PER_S_DEFAULT } from "../core/limits.ts";
import { CleanerIo } from "../core/log/cleaner-io.ts";
import { cleanLog } from "../core/log/cleaner.ts";
import { SyncScheduler } from "../core/log/durability.ts";
import { PartitionLog } from "../core/log/partition-log.ts";
import { DEFAULT_LOG_CONFIG, silentLogger } from "../core/log/types.ts";
import { startBroker } from "../test/harness.ts";
import type { BenchRow } from "./types.ts";

const SECTION = "compaction";
const MiB = 1024 * 1024;
const KEYS = 10_000;
const CLEAN_RECORDS = Number(process.env.BENCH_CLEAN_RECORDS ?? 1_000_000);
const BROKER_RECORDS = Number(process.env.BENCH_CLEAN_BROKER_RECORDS ?? 1_000_000);
const LAT_RATE = 2000;
const LAT_SECONDS = 5;

const enc = new TextEncoder();

async function filledLog(dir: string): Promise<{ log: PartitionLog; scheduler: SyncScheduler }> {
  const scheduler = new SyncScheduler({ mode: "never" });
  const log = await PartitionLog.open(dir, { ...DEFAULT_LOG_CONFIG, segmentBytes: 16 * MiB, compact: true, deleteEnabled: false, minCompactionLagMs: 0 }, { fs: new NodeFileLayer(), clock: systemClock, durability: scheduler, logger: silentLogger, clean: false });
  const value = enc.encode("v".repeat(100));
  for (let i = 0; i < CLEAN_RECORDS; i += 1000) {
    const records = Array.from({ length: Math.min(1000, CLEAN_RECORDS - i) }, (_, j) => ({ key: enc.encode(`key-${((i + j) * 7919) % KEYS}`), value }));
    await log.append(encodeRecordBatch({ records }));
  }
  return { log, scheduler };
}

async function inProcess(dir: string, bytesPerSecond: number): Promise<BenchRow[]> {
  const { log, scheduler } = await filledLog(dir);
  try {
    const started = performance.now();
    const cpu0 = process.cpuUsage();
    const load = loadavg()[0]!;
    const r = await cleanLog(log, { io: new CleanerIo({ bytesPerSecond }), now: Date.now(), force: true });
    const s = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const cpuS = (cpu.user + cpu.system) / 1e6;
    const bound = bytesPerSecond > 0 ? `at the default bound ${(bytesPerSecond / MiB).toFixed(0)} MiB/s read+written` : "no I/O bound";
    const note = `one pass over ${r.segmentsBefore} sealed 16 MiB segments (${(r.bytesBefore / MiB).toFixed(0)} MiB, ${r.recordsBefore.toLocaleString("en-US")} records → ${r.recordsAfter.toLocaleString("en-US")}) in ${s.toFixed(2)} s; ${((r.bytesRead + r.bytesWritten) / MiB / s).toFixed(0)} MiB/s read+written (${(r.bytesRead / MiB).toFixed(0)} MiB read: transactions walk, offset map, rewrite); ${cpuS.toFixed(2)} CPU s = ${(r.bytesBefore / 1e6 / cpuS).toFixed(0)} MB per CPU second; load average ${load.toFixed(1)} on ${cpus().length} cores`;
    return [{ section: SECTION, name: `cleaner throughput, in process, ${bound}`, value: Math.round((r.bytesBefore / 1e6 / s) * 10) / 10, unit: "MB/s cleaned", note }];
  } finally {
    await log.close();
    scheduler.close();
  }
}

async function spawnRun(argv: string[], input?: string): Promise<{ out: string; ms: number }> {
  const started = performance.now();
  const proc = Bun.spawn(argv, { stdin: input === undefined ? "ignore" : new Blob([input]), stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`${argv.join(" ")} exited ${code}: ${err}`);
  return { out, ms: performance.now() - started };
}

type Latency = { p50: number; p99: number; max: number };

async function produceLatency(bin: string, broker: string): Promise<Latency> {
  const { out } = await spawnRun([bin, "bench", "produce", "--broker", broker, "--topic", "latency", "--rate", String(LAT_RATE), "--records", String(LAT_RATE * LAT_SECONDS), "--json"]);
  const j = JSON.parse(out) as { ackLatencyMs: Latency };
  return j.ackLatencyMs;
}

export async function run(): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), "streamctl-bench-compaction-"));
  const rows: BenchRow[] = [];
  try {
    rows.push(...(await inProcess(join(dir, "unbounded"), 0)));
    rows.push(...(await inProcess(join(dir, "bounded"), CLEANER_IO_BYTES_PER_S_DEFAULT)));

    const bin = process.env.STREAMCTL_BIN ?? join(import.meta.dir, "..", "bin", "streamctl");
    const data = join(dir, "data");
    const lines: string[] = [];
    for (let i = 0; i < BROKER_RECORDS; i++) lines.push(`key-${(i * 7919) % KEYS}:${String(i).padStart(12, "0")} ${"x".repeat(86)}`);
    const file = `${lines.join("\n")}\n`;
    writeFileSync(join(dir, "records.txt"), file);
    let broker = await startBroker({ dataDir: data, args: ["--log-cleaner-backoff-ms", "3600000"] });
    const cli = (args: string[]) => spawnRun([bin, ...args, "--broker", broker.kafka, "--http", broker.http]);
    try {
      for (const t of ["bulk-a", "bulk-b"]) {
        await cli(["topics", "create", t, "--partitions", "1", "--config", "cleanup.policy=compact", "--config", "segment.bytes=16777216"]);
        await spawnRun(["kcat", "-b", broker.kafka, "-P", "-t", t, "-p", "0", "-q", "-K", ":", "-X", "linger.ms=20", "-X", "batch.num.messages=10000", "-X", "batch.size=1000000"], file);
        // Everything in sealed segments: a last record rolls a segment of its own.
        await cli(["topics", "alter", t, "--set", "segment.ms=1"]);
        await spawnRun(["kcat", "-b", broker.kafka, "-P", "-t", t, "-p", "0", "-q", "-K", ":"], "last:1\n");
      }
      await produceLatency(bin, broker.kafka); // warm-up: connections, JIT, the topic's first segment
      const idle = await produceLatency(bin, broker.kafka);
      const during = async (topic: string): Promise<{ lat: Latency; passMs: number; removed: string }> => {
        const pass = cli(["topics", "compact", topic, "--json"]);
        const lat = await produceLatency(bin, broker.kafka);
        const { out, ms } = await pass;
        const doc = JSON.parse(out) as { bytesRemoved: number; bytesRead: number; bytesWritten: number; ms: number };
        return { lat, passMs: doc.ms, removed: `pass ${(doc.ms / 1000).toFixed(1)} s (request ${(ms / 1000).toFixed(1)} s), ${(doc.bytesRemoved / MiB).toFixed(0)} MiB removed, ${((doc.bytesRead + doc.bytesWritten) / MiB / (doc.ms / 1000)).toFixed(0)} MiB/s read+written` };
      };
      const bounded = await during("bulk-a");
      await broker.stop();
      broker = await startBroker({ dataDir: data, args: ["--log-cleaner-backoff-ms", "3600000", "--log-cleaner-io-max-bytes-per-second", "0"] });
      await produceLatency(bin, broker.kafka);
      const unbounded = await during("bulk-b");
      const how = `load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores; streamctl bench produce --rate ${LAT_RATE} --records ${LAT_RATE * LAT_SECONDS} (acks=all, fsync always, 100 B) into another topic of the same broker`;
      const load = `the pass cleans ${BROKER_RECORDS.toLocaleString("en-US")} kcat records (~${Math.round((BROKER_RECORDS * 110) / MiB)} MiB, 10,000 keys)`;
      for (const [name, lat, extra] of [
        ["no pass running", idle, ""],
        [`during a pass at the default bound (${(CLEANER_IO_BYTES_PER_S_DEFAULT / MiB).toFixed(0)} MiB/s)`, bounded.lat, `; ${load}: ${bounded.removed}`],
        ["during a pass with no I/O bound", unbounded.lat, `; ${load}: ${unbounded.removed}`],
      ] as const) {
        rows.push({ section: SECTION, name: `produce ack p50, ${name}`, value: lat.p50, unit: "ms", note: `${how}${extra}` });
        rows.push({ section: SECTION, name: `produce ack p99, ${name}`, value: lat.p99, unit: "ms", note: `max ${lat.max} ms; a loaded 2-core machine shared with other work: compare rows, not machines` });
      }
    } finally {
      await broker.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

if (import.meta.main) console.log(await run());
