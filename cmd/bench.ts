// `streamctl bench produce|consume|e2e`: a load generator on our own Kafka client, for any
// Kafka-protocol broker. The load itself is in bench-load.ts, the histogram in bench-histogram.ts.
//
//   produce  N records of B bytes from P producers to a topic (created with --partitions if
//            missing), flat out or at --rate R; records/s, MB/s, ack latency percentiles.
//   consume  reads N records from the start of the topic, decoding each (it first tops the topic
//            up to N records, untimed, if it holds fewer); records/s, MB/s.
//   e2e      a consumer at the end of the topic while producers send N records (at --rate R,
//            default 5,000/s); ack latency and produce→consume latency, both from the intended
//            send time.
//
// The report is the command's output, so it goes to stdout (`--json`: one object); errors on
// stderr with the usual exit codes. Latencies are in milliseconds with microsecond resolution.
import { Command, Option } from "commander";
import { BATCH_BYTES_DEFAULT, LINGER_MS_DEFAULT } from "../net/client/constants.ts";
import type { Acks } from "../net/client/producer.ts";
import type { HistogramSummary } from "./bench-histogram.ts";
import { type PauseStats, startPauseMeter } from "./bench-pauses.ts";
import { consumeLoad, type ConsumeResult, ensureTopic, type LoadOptions, makeBenchClient, nowMs, offsetsAt, produceLoad, type ProduceResult } from "./bench-load.ts";
import { EARLIEST, LATEST } from "../net/client/client.ts";
import { brokerOption, checkTopic, describeFailure, formatCount, intFlag, plural, timeoutOption } from "./data-common.ts";
import { Stopper } from "./data-stop.ts";
import { type Io, RuntimeError, UsageError } from "./io.ts";
import { resolveClient } from "./client-options.ts";

type Mode = "produce" | "consume" | "e2e";

interface BenchFlags {
  broker?: string;
  topic: string;
  records?: string;
  recordSize: string;
  rate?: string;
  producers: string;
  partitions: string;
  acks: string;
  compression: string;
  lingerMs?: string;
  batchBytes?: string;
  warmup?: string;
  json?: boolean;
  /** false with --no-idempotence. */
  idempotence: boolean;
  timeout?: string;
}

/** e2e waits this long after the last send for the consumer to see the remaining records. */
const E2E_DRAIN_MS = 10_000;

export function benchCommand(io: Io): Command {
  const cmd = new Command("bench").description("load generator: records/s, MB/s, latency percentiles (any Kafka-protocol broker)");
  for (const mode of ["produce", "consume", "e2e"] as const) {
    const sub = new Command(mode)
      .description(
        mode === "produce"
          ? "send records, flat out or at --rate; ack latency"
          : mode === "consume"
            ? "read records from the start of the topic (topped up first if short)"
            : "produce at --rate while consuming; ack and produce→consume latency",
      )
      .addOption(brokerOption())
      .addOption(timeoutOption())
      .option("--topic <name>", "topic to use", "streamctl-bench")
      .option("--records <n>", `records to send or read (default ${mode === "e2e" ? "10 s at --rate" : "1000000"})`)
      .option("--record-size <bytes>", "value bytes per record (no key)", "100")
      .option("--rate <n>", mode === "e2e" ? "records per second (default 5000)" : "records per second, fixed-rate mode (default: flat out)")
      .option("--producers <n>", "producers, each with its own connection", "1")
      .option("--partitions <n>", "partitions, if the topic has to be created", "1")
      .addOption(new Option("--acks <acks>", "acknowledgement asked for").choices(["all", "1", "0", "-1"]).default("all"))
      .addOption(new Option("--compression <codec>", "batch compression").choices(["none", "zstd", "gzip", "lz4", "snappy"]).default("none"))
      .option("--linger-ms <ms>", `producer linger (default 0 with a rate, ${LINGER_MS_DEFAULT} flat out)`)
      .option("--batch-bytes <n>", `largest batch, uncompressed bytes (default ${BATCH_BYTES_DEFAULT})`)
      .option("--warmup <seconds>", "with a rate: run the same load this long first, not measured (JIT compilation, connections, the broker's first segment writes)")
      .option("--json", "print one JSON object instead of the text report")
      .option("--no-idempotence", "producers send plain batches (idempotence is on with --acks all when the broker supports it)")
      .action(async (flags: BenchFlags) => {
        await bench(io, mode, flags);
      });
    cmd.addCommand(sub);
  }
  return cmd;
}

function loadOptions(io: Io, mode: Mode, flags: BenchFlags): LoadOptions {
  const rate = intFlag("--rate", flags.rate) ?? (mode === "e2e" ? 5000 : 0);
  if (mode === "e2e" && rate === 0) throw new UsageError("--rate: e2e needs a rate above 0");
  const producers = intFlag("--producers", flags.producers, { min: 1 })!;
  const recordBytes = intFlag("--record-size", flags.recordSize, { min: mode === "e2e" ? 8 : 1 })!;
  const { bootstrap, security } = resolveClient(io, flags);
  return {
    bootstrap,
    security,
    topic: checkTopic("--topic", flags.topic),
    records: intFlag("--records", flags.records, { min: 1 }) ?? (mode === "e2e" ? rate * 10 : 1_000_000),
    recordBytes,
    rate,
    producers,
    acks: flags.acks === "all" || flags.acks === "-1" ? -1 : flags.acks === "1" ? 1 : 0,
    compression: flags.compression,
    lingerMs: intFlag("--linger-ms", flags.lingerMs) ?? (rate > 0 ? 0 : LINGER_MS_DEFAULT),
    batchBytes: intFlag("--batch-bytes", flags.batchBytes, { min: 1 }) ?? BATCH_BYTES_DEFAULT,
    idempotence: flags.idempotence,
    timeoutMs: intFlag("--timeout", flags.timeout, { min: 1 }),
  };
}

export interface BenchReport {
  mode: Mode;
  /** Seconds of the same load run first and not measured (--warmup). */
  warmupSeconds: number;
  topic: string;
  partitions: number;
  producers: number;
  recordBytes: number;
  acks: string;
  compression: string;
  rate: number;
  records: number;
  failed: number;
  seconds: number;
  recordsPerSec: number;
  mbPerSec: number;
  /** Produce → acknowledgement, ms (absent for consume and acks=0). */
  ackLatencyMs?: HistogramSummary;
  /** Produce → consume, ms (e2e only). */
  e2eLatencyMs?: HistogramSummary;
  consumed?: number;
  /** With a rate: how late a sleeping thread's wake-ups came while the measured load ran
   * (cmd/bench-pauses.ts). The machine's own stalls, which every latency above includes. */
  machinePauses?: PauseStats;
  /** This process's CPU time (user + system, every thread: I/O, pacing, the pause meter, the JIT
   * and the collector) over the measured load, per record sent, µs. What the load generator costs
   * the machine it shares with the system under test. */
  clientCpuUsPerRecord?: number;
  errors: string[];
}

async function bench(io: Io, mode: Mode, flags: BenchFlags): Promise<void> {
  const o = loadOptions(io, mode, flags);
  const warmup = flags.warmup === undefined ? 0 : Number(flags.warmup);
  if (!Number.isFinite(warmup) || warmup < 0) throw new UsageError(`--warmup: expected seconds ≥ 0, got '${flags.warmup}'`);
  if (warmup > 0 && o.rate === 0) throw new UsageError("--warmup: needs --rate (a warm-up is the same fixed-rate load, unmeasured)");
  const partitionsWanted = intFlag("--partitions", flags.partitions, { min: 1 })!;
  // SIGINT/SIGTERM: the load stops and the report covers what ran, within a second (exit 130/143).
  const stopper = new Stopper(io);
  const stop = () => stopper.requested;
  const client = makeBenchClient(o.bootstrap, o.timeoutMs, o.security);
  try {
    let partitions: number;
    try {
      partitions = await ensureTopic(client, o.topic, partitionsWanted);
    } catch (err) {
      throw describeFailure(err, `bench ${mode}: topic ${o.topic}`);
    }
    if (partitions !== partitionsWanted) io.stderr.write(`streamctl: topic ${o.topic} already has ${plural(partitions, "partition")}; using them\n`);
    let report: BenchReport;
    try {
      if (warmup > 0) {
        // The same load, fewer records, thrown away: later sends meet compiled code on both sides.
        const w = { ...o, records: Math.max(1, Math.round(o.rate * warmup)) };
        if (mode === "produce") await produceLoad(w, partitions, stop);
        else await e2eMode(client, w, partitions, stop);
      }
      const meter = o.rate > 0 && mode !== "consume" ? await startPauseMeter() : null;
      const cpuBefore = process.cpuUsage();
      if (mode === "produce") report = fromProduce(o, partitions, await produceLoad(o, partitions, stop));
      else if (mode === "consume") report = await consumeMode(io, client, o, partitions, stop);
      else report = await e2eMode(client, o, partitions, stop);
      report.warmupSeconds = warmup;
      const cpu = process.cpuUsage(cpuBefore);
      if (report.records > 0) report.clientCpuUsPerRecord = (cpu.user + cpu.system) / report.records;
      if (meter !== null) report.machinePauses = await meter.stop();
    } catch (err) {
      throw describeFailure(err, `bench ${mode}`);
    }
    io.stdout.write(flags.json ? `${JSON.stringify(report)}\n` : formatReport(report));
    if (report.failed > 0) throw new RuntimeError(`bench ${mode}: ${formatCount(report.failed)} records failed: ${report.errors.join("; ")}`);
    stopper.throwIfSignalled();
  } finally {
    stopper.dispose();
    await client.close();
  }
}

function base(o: LoadOptions, mode: Mode, partitions: number): Omit<BenchReport, "records" | "failed" | "seconds" | "recordsPerSec" | "mbPerSec" | "errors"> {
  return { mode, warmupSeconds: 0, topic: o.topic, partitions, producers: o.producers, recordBytes: o.recordBytes, acks: o.acks === -1 ? "all" : String(o.acks), compression: o.compression, rate: o.rate };
}

function fromProduce(o: LoadOptions, partitions: number, r: ProduceResult): BenchReport {
  return {
    ...base(o, "produce", partitions),
    records: r.acked,
    failed: r.failed,
    seconds: r.seconds,
    recordsPerSec: r.acked / r.seconds,
    mbPerSec: r.valueBytes / r.seconds / 1e6,
    ...(o.acks !== 0 ? { ackLatencyMs: toMs(r.latency.summary()) } : {}),
    errors: r.errors,
  };
}

async function consumeMode(io: Io, client: ReturnType<typeof makeBenchClient>, o: LoadOptions, partitions: number, stop: () => boolean): Promise<BenchReport> {
  const start = await offsetsAt(client, o.topic, partitions, EARLIEST);
  const end = await offsetsAt(client, o.topic, partitions, LATEST);
  let available = 0;
  for (const [p, e] of end) available += e - (start.get(p) ?? 0);
  if (available < o.records) {
    const missing = o.records - available;
    io.stderr.write(`streamctl: topic ${o.topic} holds ${formatCount(available)} records; producing ${formatCount(missing)} more first (not timed)\n`);
    const filled = await produceLoad({ ...o, records: missing, rate: 0, lingerMs: LINGER_MS_DEFAULT }, partitions, stop);
    if (filled.failed > 0) throw new RuntimeError(`filling ${o.topic}: ${formatCount(filled.failed)} records failed: ${filled.errors.join("; ")}`);
  }
  const r = await consumeLoad(client, o.topic, start, o.records, { stamped: false, maxWaitMs: 100, deadline: stop });
  return fromConsume(o, "consume", partitions, r, 0);
}

function fromConsume(o: LoadOptions, mode: Mode, partitions: number, r: ConsumeResult, failed: number): BenchReport {
  return {
    ...base(o, mode, partitions),
    records: r.records,
    failed,
    seconds: r.seconds,
    recordsPerSec: r.records / r.seconds,
    mbPerSec: r.valueBytes / r.seconds / 1e6,
    errors: [],
  };
}

async function e2eMode(client: ReturnType<typeof makeBenchClient>, o: LoadOptions, partitions: number, stop: () => boolean): Promise<BenchReport> {
  const from = await offsetsAt(client, o.topic, partitions, LATEST);
  let producedAt = Infinity;
  const consuming = consumeLoad(client, o.topic, from, o.records, { stamped: true, maxWaitMs: 100, deadline: () => stop() || nowMs() > producedAt + E2E_DRAIN_MS });
  const produced = await produceLoad(o, partitions, stop);
  producedAt = nowMs();
  const consumed = await consuming;
  return {
    ...fromProduce(o, partitions, produced),
    mode: "e2e",
    consumed: consumed.records,
    ...(o.acks !== 0 ? { ackLatencyMs: toMs(produced.latency.summary()) } : {}),
    e2eLatencyMs: toMs(consumed.latency.summary()),
  };
}

/** Histogram values are microseconds; reports are milliseconds. */
function toMs(s: HistogramSummary): HistogramSummary {
  const ms = (v: number) => Math.round(v) / 1000;
  return { count: s.count, min: ms(s.min), mean: ms(s.mean), p50: ms(s.p50), p90: ms(s.p90), p99: ms(s.p99), p999: ms(s.p999), max: ms(s.max) };
}

export function formatReport(r: BenchReport): string {
  // A consume reads what is there (topped up first if short): the producer settings say nothing about it.
  const header =
    r.mode === "consume"
      ? `bench consume: ${plural(r.records, "record")} of ${r.recordBytes} B from ${r.topic} (${plural(r.partitions, "partition")})`
      : `bench ${r.mode}: ${plural(r.records, "record")} of ${r.recordBytes} B to ${r.topic} (${plural(r.partitions, "partition")}, ${plural(r.producers, "producer")}, acks=${r.acks}, compression=${r.compression}${r.rate > 0 ? `, fixed rate ${formatCount(r.rate)}/s` : ", flat out"}${r.warmupSeconds > 0 ? `, after ${r.warmupSeconds} s of the same load unmeasured` : ""})`;
  const lines = [
    header,
    `  throughput  ${formatCount(Math.round(r.recordsPerSec))} records/s, ${r.mbPerSec.toFixed(1)} MB/s, ${r.seconds.toFixed(2)} s`,
  ];
  const lat = (name: string, s: HistogramSummary) =>
    `  ${name} ms  p50 ${s.p50.toFixed(3)}  p90 ${s.p90.toFixed(3)}  p99 ${s.p99.toFixed(3)}  p99.9 ${s.p999.toFixed(3)}  max ${s.max.toFixed(3)}  (${formatCount(s.count)} samples${r.rate > 0 ? ", from intended send time" : ", from append"})`;
  if (r.ackLatencyMs) lines.push(lat("ack latency", r.ackLatencyMs));
  if (r.e2eLatencyMs) lines.push(lat("produce→consume", r.e2eLatencyMs));
  if (r.machinePauses) {
    const p = r.machinePauses;
    lines.push(
      `  machine paused  ${p.pausedMsPerSec.toFixed(1)} ms per s (${p.pausesPerSec.toFixed(1)} wake-ups/s of a sleeping thread 2 ms or more late, worst ${p.worstMs.toFixed(1)} ms${p.lockedShare !== null ? `; ${Math.round(p.lockedShare * 100)}% of them at one point of a 100 ms period` : ""})`,
    );
  }
  if (r.clientCpuUsPerRecord !== undefined) lines.push(`  this client's CPU  ${r.clientCpuUsPerRecord.toFixed(1)} µs per record (user + system, all its threads)`);
  if (r.consumed !== undefined && r.consumed < r.records) lines.push(`  consumer saw ${formatCount(r.consumed)} of ${formatCount(r.records)} records`);
  return `${lines.join("\n")}\n`;
}
