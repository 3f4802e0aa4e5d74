// streamctl side by side with what a user would pick instead, on this machine, in one run (issue 8):
//   streamctl       bin/streamctl serve (fsync always: fdatasync before every ack, group commit),
//                   loaded by kcat (librdkafka, so the broker is measured apart from our client)
//                   and by `streamctl bench` (our client)
//   NATS JetStream  Debian nats-server -js, file storage; bench/peers/nats-client.ts (nats.js)
//   Redis Streams   Debian redis-server, appendonly yes + appendfsync always; redis-benchmark's
//                   pipelined XADD for produce, bench/peers/redis-client.ts (Bun.RedisClient) for
//                   consume and latency
//   disk            fio: 1 MiB sequential writes with fdatasync after each; 4 KiB writes + fdatasync
//                   for the latency of one sync
// Peers missing from the machine are installed with `apt-get install -y`; every server listens on
// 127.0.0.1 on a free port with a temporary directory and is stopped afterwards. Each system runs
// BENCH_RUNS (3) times, interleaved (each run starts with the next system), each on a fresh server; rows carry every run's figure and
// bench/run.ts prints medians and ranges. 100-byte records, BENCH_RECORDS (1,000,000) per run,
// each produce after BENCH_PRODUCE_WARMUP_RECORDS (200,000) of the same, unmeasured;
// latency at 5,000 records/s for BENCH_LATENCY_SECONDS (5), each latency phase after a `sync` so
// that no system pays for another's writeback: every system's ack latency with a producer alone,
// then streamctl's produce→consume (a producer and a consumer) in a phase of its own. Measures;
// asserts nothing.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { REPO_ROOT, startBroker, STREAMCTL_BIN } from "../test/harness.ts";
import { parsePrometheusText } from "../test/prometheus-text.ts";
import type { PauseStats } from "../cmd/bench-pauses.ts";
import type { BenchRow } from "./types.ts";

const RECORDS = Number(process.env.BENCH_RECORDS ?? 1_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const RECORD_BYTES = 100;
const LATENCY_RATE = 5000;
const LATENCY_RECORDS = LATENCY_RATE * Number(process.env.BENCH_LATENCY_SECONDS ?? 5);
/** Seconds of the latency load each system gets first, unmeasured (JIT in Bun processes: ours, the peers' clients). */
const LATENCY_WARMUP_SECONDS = Number(process.env.BENCH_LATENCY_WARMUP_SECONDS ?? 3);
const LATENCY_WARMUP_RECORDS = Math.round(LATENCY_RATE * LATENCY_WARMUP_SECONDS);
/**
 * Records every system's producer sends first, unmeasured, into a topic or stream of their own,
 * with the same client and settings as the measured produce. A run is about a second long, and a
 * fresh Bun broker spends a good part of its first second compiling its hot paths: kcat against a
 * cold broker measured 0.9M records/s, against the same broker a moment later 1.2M. Native
 * servers do not need it, and get it all the same.
 */
const PRODUCE_WARMUP_RECORDS = Number(process.env.BENCH_PRODUCE_WARMUP_RECORDS ?? 200_000);
const STEP_TIMEOUT_MS = 180_000;
const BUN = process.execPath;

export const SECTION = "peers";

// ---------------------------------------------------------------- processes

/** Runs to completion; `discard` sends stdout to /dev/null (reading 100 MB through a pipe into
 * this process would measure the pipe, not the consumer). */
async function exec(argv: string[], opts: { stdin?: string; env?: Record<string, string>; discard?: boolean } = {}): Promise<{ out: string; secs: number; cpuMs: number }> {
  const started = performance.now();
  const proc = Bun.spawn(argv, { stdin: opts.stdin ? Bun.file(opts.stdin) : "ignore", stdout: opts.discard ? "ignore" : "pipe", stderr: "pipe", env: { ...process.env, NO_COLOR: "1", ...opts.env } });
  const timer = setTimeout(() => proc.kill("SIGKILL"), STEP_TIMEOUT_MS);
  const [out, err, code] = await Promise.all([proc.stdout ? new Response(proc.stdout as ReadableStream).text() : "", new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  const secs = (performance.now() - started) / 1000;
  if (code !== 0) throw new Error(`${argv.slice(0, 4).join(" ")}… exited ${code}: ${err.trim().slice(-500)}`);
  const cpu = proc.resourceUsage()?.cpuTime;
  return { out, secs, cpuMs: cpu ? Number(cpu.total) / 1000 : NaN };
}

function have(cmd: string): boolean {
  return Bun.which(cmd) !== null;
}

/** Installs Debian packages whose command is missing; false if that did not work. */
async function ensureInstalled(commands: Record<string, string>): Promise<boolean> {
  const missing = Object.entries(commands).filter(([cmd]) => !have(cmd)).map(([, pkg]) => pkg);
  if (missing.length === 0) return true;
  process.stderr.write(`  installing ${missing.join(" ")} (apt-get)\n`);
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  const install = () => exec(["apt-get", "install", "-y", "-qq", "--no-install-recommends", ...missing], { env });
  try {
    await install();
  } catch {
    try {
      await exec(["apt-get", "update", "-qq"], { env });
      await install();
    } catch (err) {
      process.stderr.write(`  could not install ${missing.join(" ")}: ${(err as Error).message}\n`);
    }
  }
  return Object.keys(commands).every(have);
}

function freePort(): number {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = s.port;
  s.stop(true);
  return port;
}

async function waitForPort(port: number, proc: Subprocess, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (proc.exitCode !== null) throw new Error(`${what} exited ${proc.exitCode} before listening`);
    try {
      const s = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
      s.end();
      return;
    } catch {
      await Bun.sleep(25);
    }
  }
  throw new Error(`${what} not listening on ${port} after 5 s`);
}

/** CPU time (user + system) a live process has used so far, in ms. */
function cpuMsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in clock ticks (USER_HZ 100)
}

/** JavaScriptCore's collections in a broker started with BUN_JSC_logGC=1: how many, and their pauses summed (ms). */
function collectionsIn(stderr: string): { count: number; pausedMs: number } {
  let count = 0;
  let pausedMs = 0;
  for (const m of stderr.matchAll(/=> \d+kb, p=([0-9.]+)ms/g)) {
    count++;
    pausedMs += Number(m[1]);
  }
  return { count, pausedMs };
}

/** Peak resident memory of a live process, in MiB (VmHWM). */
function peakRssMiB(pid: number): number {
  const m = readFileSync(`/proc/${pid}/status`, "utf8").match(/VmHWM:\s+(\d+) kB/);
  return m ? Number(m[1]) / 1024 : NaN;
}

interface Server {
  proc: Subprocess;
  port: number;
  dir: string;
}

async function startServer(what: string, argv: (port: number, dir: string) => string[]): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), `streamctl-bench-${what}-`));
  const port = freePort();
  const proc = Bun.spawn(argv(port, dir), { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
  await waitForPort(port, proc, what);
  return { proc, port, dir };
}

async function stopServer(s: Server): Promise<void> {
  s.proc.kill("SIGTERM");
  const exited = await Promise.race([s.proc.exited.then(() => true), Bun.sleep(10_000).then(() => false)]);
  if (!exited) s.proc.kill("SIGKILL");
  await s.proc.exited;
  rmSync(s.dir, { recursive: true, force: true });
}

// ---------------------------------------------------------------- the systems

type Figures = Record<string, number>;

function recordFile(dir: string, name: string, records: number): string {
  const path = join(dir, name);
  const line = (i: number) => `${String(i).padStart(12, "0")} ${"x".repeat(RECORD_BYTES - 13)}\n`;
  const parts: string[] = [];
  for (let i = 0; i < records; i++) parts.push(line(i));
  writeFileSync(path, parts.join(""));
  return path;
}

async function streamctlRun(file: string, warmFile: string): Promise<Figures> {
  // BUN_JSC_logGC: each collection of the broker's heap, with its pause, on stderr (counted below).
  const broker = await startBroker({ env: { BUN_JSC_logGC: "1" } });
  const f: Figures = {};
  try {
    const b = broker.kafka;
    const kcatP = (topic: string) => ["kcat", "-b", b, "-P", "-t", topic, "-p", "0", "-q", "-X", "acks=all", "-X", "linger.ms=5", "-X", "batch.num.messages=10000", "-X", "batch.size=1000000", "-z", "none"];
    if (PRODUCE_WARMUP_RECORDS > 0) await exec(kcatP("warm"), { stdin: warmFile });
    f.kcatProduce = RECORDS / (await exec(kcatP("kcat"), { stdin: file })).secs;
    const kcatC = ["kcat", "-b", b, "-C", "-t", "kcat", "-p", "0", "-o", "beginning", "-e", "-q", "-f", "%s\n", "-X", "fetch.wait.max.ms=5"];
    const brokerCpuBefore = cpuMsOf(broker.proc.pid);
    const kcatRun = await exec(kcatC, { discard: true });
    f.kcatConsume = RECORDS / kcatRun.secs;
    // Who sets the pace of a kcat consume: CPU per record in kcat and in the broker.
    f.kcatConsumeCpuUs = (kcatRun.cpuMs * 1000) / RECORDS;
    f.brokerKcatConsumeCpuUs = ((cpuMsOf(broker.proc.pid) - brokerCpuBefore) * 1000) / RECORDS;
    const bench = async (args: string[]) => JSON.parse((await exec([STREAMCTL_BIN, "bench", ...args, "--broker", b, "--json"])).out);
    f.ownProduce = (await bench(["produce", "--topic", "own", "--records", String(RECORDS), "--record-size", String(RECORD_BYTES)])).recordsPerSec;
    f.ownConsume = (await bench(["consume", "--topic", "own", "--records", String(RECORDS)])).recordsPerSec;
    await exec(["sync"]); // the same quiet disk for every system's latency phase
    const before = await brokerHistograms(broker.http);
    const gcBefore = collectionsIn(broker.stderr());
    // The ack latency: a producer alone at the fixed rate, as Redis's and NATS's runs are (a
    // consumer beside it is the next phase's work, not theirs).
    const paced = (mode: string, topic: string) => [STREAMCTL_BIN, "bench", mode, "--broker", b, "--json", "--topic", topic, "--records", String(LATENCY_RECORDS), "--rate", String(LATENCY_RATE), "--record-size", String(RECORD_BYTES), "--warmup", String(LATENCY_WARMUP_SECONDS)];
    const latStarted = performance.now();
    const lat = JSON.parse((await exec(paced("produce", "lat"))).out);
    const latSecs = (performance.now() - latStarted) / 1000;
    const gcAfter = collectionsIn(broker.stderr());
    // Collections over the whole phase (its warm-up included, at the same rate).
    f.brokerGcPerSec = (gcAfter.count - gcBefore.count) / latSecs;
    f.brokerGcPausedMsPerSec = (gcAfter.pausedMs - gcBefore.pausedMs) / latSecs;
    f.clientCpuUsPerRecord = lat.clientCpuUsPerRecord;
    Object.assign(f, pauseFigures(lat.machinePauses));
    const after = await brokerHistograms(broker.http);
    // Produce → consume: the same producer with a consumer at the end of the topic.
    await exec(["sync"]);
    const e2e = JSON.parse((await exec(paced("e2e", "e2e"))).out);
    f.e2eP50 = e2e.e2eLatencyMs.p50;
    f.e2eP99 = e2e.e2eLatencyMs.p99;
    f.e2eAckP99 = e2e.ackLatencyMs.p99;
    f.e2eClientCpuUsPerRecord = e2e.clientCpuUsPerRecord;
    f.e2ePausedMsPerSec = e2e.machinePauses.pausedMsPerSec;
    // Where an ack's time went, from the broker's own histograms over the latency phase (its warm-up included).
    f.fsyncP99 = histogramQuantile(after.fsync, before.fsync, 0.99);
    f.fsyncOver2 = fractionAbove(after.fsync, before.fsync, 0.002);
    f.produceP99 = histogramQuantile(after.produce, before.produce, 0.99);
    f.ackP50 = lat.ackLatencyMs.p50;
    f.ackP99 = lat.ackLatencyMs.p99;
    f.rss = peakRssMiB(broker.proc.pid);
  } finally {
    await broker.stop();
    rmSync(broker.dataDir, { recursive: true, force: true });
  }
  return f;
}

function pauseFigures(p: PauseStats): Figures {
  return { pausedMsPerSec: p.pausedMsPerSec, pauseLocked: p.lockedShare ?? NaN };
}

type Buckets = Array<[le: number, count: number]>;

/** The broker's fdatasync and Produce-request histograms (cumulative buckets, seconds). */
async function brokerHistograms(http: string): Promise<{ fsync: Buckets; produce: Buckets }> {
  const families = parsePrometheusText(await (await fetch(`http://${http}/metrics`)).text());
  const buckets = (family: string, labels: Record<string, string> = {}): Buckets =>
    (families.get(family)?.samples ?? [])
      .filter((s) => s.name === `${family}_bucket` && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
      .map((s) => [s.labels.le === "+Inf" ? Infinity : Number(s.labels.le), s.value]);
  return { fsync: buckets("streamctl_fsync_duration_seconds"), produce: buckets("streamctl_kafka_request_duration_seconds", { api: "Produce" }) };
}

/** The upper bound (ms) of the bucket holding quantile q of the observations between two scrapes. */
function histogramQuantile(after: Buckets, before: Buckets, q: number): number {
  const delta = after.map(([le, n], i) => [le, n - (before[i]?.[1] ?? 0)] as const);
  const total = delta.at(-1)?.[1] ?? 0;
  if (total === 0) return NaN;
  const hit = delta.find(([, n]) => n >= q * total);
  return hit === undefined || hit[0] === Infinity ? NaN : hit[0] * 1000;
}

/** Share of observations between two scrapes above `le` seconds (a bucket bound). */
function fractionAbove(after: Buckets, before: Buckets, le: number): number {
  const i = after.findIndex(([b]) => Math.abs(b - le) < 1e-12);
  const total = (after.at(-1)?.[1] ?? 0) - (before.at(-1)?.[1] ?? 0);
  if (i < 0 || total === 0) return NaN;
  return 1 - (after[i]![1] - (before[i]?.[1] ?? 0)) / total;
}

async function natsRun(): Promise<Figures> {
  const s = await startServer("nats", (port, dir) => ["nats-server", "-js", "-a", "127.0.0.1", "-p", String(port), "--store_dir", dir]);
  try {
    const r = JSON.parse((await exec([BUN, join(import.meta.dir, "peers", "nats-client.ts"), `127.0.0.1:${s.port}`, String(RECORDS), String(RECORD_BYTES), String(LATENCY_RATE), String(LATENCY_RECORDS), String(LATENCY_WARMUP_RECORDS), String(PRODUCE_WARMUP_RECORDS)])).out);
    return { produce: r.produce, consume: r.consume, ackP50: r.ackP50Ms, ackP99: r.ackP99Ms, ...pauseFigures(r.pauses), rss: peakRssMiB(s.proc.pid) };
  } finally {
    await stopServer(s);
  }
}

async function redisRun(): Promise<Figures> {
  const s = await startServer("redis", (port, dir) => ["redis-server", "--bind", "127.0.0.1", "--port", String(port), "--dir", dir, "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--protected-mode", "no"]);
  try {
    const value = "x".repeat(RECORD_BYTES);
    const xadd = (stream: string, n: number) => ["redis-benchmark", "-h", "127.0.0.1", "-p", String(s.port), "-n", String(n), "-c", "10", "-P", "100", "--csv", "XADD", stream, "*", "v", value];
    if (PRODUCE_WARMUP_RECORDS > 0) await exec(xadd("warm", PRODUCE_WARMUP_RECORDS));
    const out = (await exec(xadd("bench", RECORDS))).out;
    const produce = Number(out.trim().split("\n").at(-1)!.split(",")[1]!.replaceAll('"', ""));
    const r = JSON.parse((await exec([BUN, join(import.meta.dir, "peers", "redis-client.ts"), `redis://127.0.0.1:${s.port}`, "bench", String(RECORDS), String(RECORD_BYTES), String(LATENCY_RATE), String(LATENCY_RECORDS), String(LATENCY_WARMUP_RECORDS)])).out);
    return { produce, consume: r.consume, ackP50: r.ackP50Ms, ackP99: r.ackP99Ms, clientCpuUsPerRecord: r.clientCpuUsPerRecord, ...pauseFigures(r.pauses), rss: peakRssMiB(s.proc.pid) };
  } finally {
    await stopServer(s);
  }
}

const PACED_SYNCS = 2500;

async function diskRun(dir: string): Promise<Figures> {
  const file = join(dir, "fio.dat");
  try {
    if (have("fio")) {
      const fio = async (args: string[]) => JSON.parse((await exec(["fio", "--name=bench", `--filename=${file}`, "--ioengine=sync", "--fdatasync=1", "--output-format=json", ...args])).out).jobs[0];
      const seq = await fio(["--rw=write", "--bs=1M", "--size=512M"]);
      const sync = await fio(["--rw=write", "--bs=4k", "--size=64M", "--runtime=3", "--time_based"]);
      const pct = sync.sync.lat_ns.percentile;
      // Close to the latency phase's load on the disk: small writes, each followed by its
      // fdatasync, over blocks already written (what the broker's runway gives its syncs under
      // fsync always). At 5,000 records/s the broker's group commit makes 2,500–5,000 syncs/s;
      // one sync after another at a p50 of ~0.26 ms a disk like this one manages under 4,000/s,
      // so fio is paced at 2,500.
      const paced = await fio([
        "--rw=write", "--bs=200", "--size=16M", "--overwrite=1", `--rate_iops=${PACED_SYNCS}`, "--runtime=5", "--time_based", "--percentile_list=50:99:99.9",
      ]);
      const atRate = paced.sync.lat_ns.percentile;
      return {
        mbps: seq.write.bw_bytes / 1e6,
        syncP50: pct["50.000000"] / 1e6,
        syncP99: pct["99.000000"] / 1e6,
        pacedP50: atRate["50.000000"] / 1e6,
        pacedP99: atRate["99.000000"] / 1e6,
        pacedP999: atRate["99.900000"] / 1e6,
      };
    }
    const secs = (await exec(["dd", "if=/dev/zero", `of=${file}`, "bs=1M", "count=512", "oflag=dsync"])).secs;
    return { mbps: 512 * 1.048576 / secs };
  } finally {
    rmSync(file, { force: true });
  }
}

// ---------------------------------------------------------------- rows

function rows(name: string, runs: Figures[], key: string, unit: string, note: string): BenchRow[] {
  const values = runs.map((r) => r[key]).filter((v): v is number => v !== undefined && Number.isFinite(v));
  if (values.length === 0) return [];
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return [{ section: SECTION, name, value: median, unit, runs: values, note }];
}

/** What cmd/bench-pauses.ts saw during a system's measured latency phase. */
function pauseRows(system: string, runs: Figures[]): BenchRow[] {
  return [
    ...rows(`${system}: machine paused during the latency phase`, runs, "pausedMsPerSec", "ms per s", "cmd/bench-pauses.ts: a sleeping thread's wake-ups 2 ms or more late, lateness summed"),
    ...rows(`${system}: late wake-ups at one phase of 100 ms`, runs, "pauseLocked", "share", "share within the busiest 10 ms of a 100 ms period: ~0.1 when spread out (scheduling), near 1 when a host CPU quota throttles the VM; runs with fewer than 10 late wake-ups give none"),
  ];
}

export async function run(): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), "streamctl-bench-peers-"));
  const ok = {
    nats: await ensureInstalled({ "nats-server": "nats-server" }),
    redis: await ensureInstalled({ "redis-server": "redis-server", "redis-benchmark": "redis-tools" }),
    fio: await ensureInstalled({ fio: "fio" }),
    kcat: await ensureInstalled({ kcat: "kcat" }),
  };
  if (!existsSync(join(REPO_ROOT, "node_modules", "@nats-io", "jetstream"))) ok.nats = false;
  const file = recordFile(dir, "records.txt", RECORDS);
  const warmFile = recordFile(dir, "warm.txt", PRODUCE_WARMUP_RECORDS);
  const sc: Figures[] = [];
  const nats: Figures[] = [];
  const redis: Figures[] = [];
  const disk: Figures[] = [];
  try {
    // Each run starts with a different system, so that none always follows the same one (the
    // host may still be writing back what the one before wrote: fio's and our produce runs write
    // hundreds of MB).
    const systems: Array<[string, () => Promise<void>]> = [
      ["disk", async () => void disk.push(await diskRun(dir))],
      ["streamctl", async () => void sc.push(await streamctlRun(file, warmFile))],
      ...(ok.nats ? [["NATS", async () => void nats.push(await natsRun())] as [string, () => Promise<void>]] : []),
      ...(ok.redis ? [["Redis", async () => void redis.push(await redisRun())] as [string, () => Promise<void>]] : []),
    ];
    for (let i = 0; i < RUNS; i++) {
      const order = [...systems.slice(i % systems.length), ...systems.slice(0, i % systems.length)];
      process.stderr.write(`  run ${i + 1}/${RUNS}: ${order.map(([name]) => name).join(", ")}\n`);
      for (const [, measure] of order) {
        await measure();
        await exec(["sync"]);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const sync = "fdatasync before every ack (--fsync always, group commit)";
  return [
    ...rows("streamctl, kcat: produce", sc, "kcatProduce", "records/s", `${sync}; kcat -P -z none acks=all linger.ms=5 from a file`),
    ...rows("streamctl, kcat: consume", sc, "kcatConsume", "records/s", "kcat -C -e, every record formatted, to /dev/null"),
    ...rows("streamctl, streamctl bench: produce", sc, "ownProduce", "records/s", `${sync}; streamctl bench produce, acks=all, no compression`),
    ...rows("streamctl, streamctl bench: consume", sc, "ownConsume", "records/s", "streamctl bench consume, every record decoded"),
    ...rows("streamctl: ack latency p50 at 5,000/s", sc, "ackP50", "ms", `${sync}; streamctl bench produce --rate, a producer alone as in Redis's and NATS's runs, from intended send time`),
    ...rows("streamctl: ack latency p99 at 5,000/s", sc, "ackP99", "ms", `${sync}; streamctl bench produce --rate, a producer alone as in Redis's and NATS's runs, from intended send time`),
    ...rows("streamctl: produce→consume p50 at 5,000/s", sc, "e2eP50", "ms", "streamctl bench e2e: the same producer and a consumer at the end of the topic, next phase"),
    ...rows("streamctl: produce→consume p99 at 5,000/s", sc, "e2eP99", "ms", "streamctl bench e2e: the same producer and a consumer at the end of the topic, next phase"),
    ...rows("streamctl: ack latency p99 at 5,000/s with the consumer", sc, "e2eAckP99", "ms", "the acks of that bench e2e phase (goal: produce→consume p99 ≤ 2× it)"),
    ...rows("streamctl: machine paused during the produce→consume phase", sc, "e2ePausedMsPerSec", "ms per s", "cmd/bench-pauses.ts, as below"),
    ...rows("streamctl: broker fdatasync p99 during the latency phase", sc, "fsyncP99", "ms", "bucket bound from the broker's /metrics histogram (0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5 ms …)"),
    ...rows("streamctl: broker fdatasyncs over 2 ms during the latency phase", sc, "fsyncOver2", "share", "from /metrics; each such sync delays every ack waiting on it past the 2 ms goal"),
    ...rows("streamctl: broker Produce handling p99 during the latency phase", sc, "produceP99", "ms", "bucket bound from /metrics: request read → answer queued, the sync included"),
    ...rows("streamctl: broker peak RSS", sc, "rss", "MiB", "VmHWM over the whole run"),
    ...rows("streamctl: broker collections per second during the latency phase", sc, "brokerGcPerSec", "per s", "BUN_JSC_logGC=1 on the broker: JavaScriptCore's collections over the latency phase (its warm-up included)"),
    ...rows("streamctl: broker paused by collections during the latency phase", sc, "brokerGcPausedMsPerSec", "ms per s", "the same collections' pauses (logGC's p=), summed"),
    ...rows("streamctl bench produce: its own CPU per record at 5,000/s", sc, "clientCpuUsPerRecord", "µs", "the load generator's user + system time over the measured phase, every thread (I/O, pacing, pause meter, JIT, collector) ÷ records"),
    ...rows("streamctl bench e2e: its own CPU per record at 5,000/s", sc, "e2eClientCpuUsPerRecord", "µs", "the same with the consumer"),
    ...rows("streamctl, kcat consume: kcat's CPU per record", sc, "kcatConsumeCpuUs", "µs", "kcat -C -e, every record formatted, to /dev/null: user + system time ÷ records"),
    ...rows("streamctl, kcat consume: the broker's CPU per record", sc, "brokerKcatConsumeCpuUs", "µs", "the broker's user + system time during that consume ÷ records"),
    ...pauseRows("streamctl", sc),
    ...rows("NATS JetStream: produce", nats, "produce", "records/s", "no fsync per ack (JetStream syncs every 2 min by default); async publish, 1,000 unacked"),
    ...rows("NATS JetStream: consume", nats, "consume", "records/s", "nats.js ordered pull consumer"),
    ...rows("NATS JetStream: ack latency p50 at 5,000/s", nats, "ackP50", "ms", "from intended send time"),
    ...rows("NATS JetStream: ack latency p99 at 5,000/s", nats, "ackP99", "ms", "from intended send time"),
    ...pauseRows("NATS JetStream", nats),
    ...rows("NATS JetStream: server peak RSS", nats, "rss", "MiB", "VmHWM"),
    ...rows("Redis Streams: produce", redis, "produce", "records/s", "fsync before every reply (appendfsync always); redis-benchmark XADD -c 10 -P 100"),
    ...rows("Redis Streams: consume", redis, "consume", "records/s", "XRANGE COUNT 10000, Bun.RedisClient"),
    ...rows("Redis Streams: ack latency p50 at 5,000/s", redis, "ackP50", "ms", "XADD from intended send time, Bun.RedisClient"),
    ...rows("Redis Streams: ack latency p99 at 5,000/s", redis, "ackP99", "ms", "XADD from intended send time, Bun.RedisClient"),
    ...rows("Redis Streams: the load generator's CPU per record at 5,000/s", redis, "clientCpuUsPerRecord", "µs", "bench/peers/redis-client.ts (the same pacing and pause meter as ours) over the measured phase ÷ records"),
    ...pauseRows("Redis Streams", redis),
    ...rows("Redis Streams: server peak RSS", redis, "rss", "MiB", "VmHWM"),
    ...rows("disk: sequential write, 1 MiB + fdatasync each", disk, "mbps", "MB/s", ok.fio ? "fio --rw=write --bs=1M --fdatasync=1" : "dd bs=1M oflag=dsync"),
    ...rows("disk: fdatasync p50 (4 KiB writes)", disk, "syncP50", "ms", "fio --bs=4k --fdatasync=1"),
    ...rows("disk: fdatasync p99 (4 KiB writes)", disk, "syncP99", "ms", "fio --bs=4k --fdatasync=1"),
    ...rows("disk: fdatasync p50 at 2,500/s (200-byte overwrites)", disk, "pacedP50", "ms", "fio --bs=200 --overwrite=1 --rate_iops=2500 --fdatasync=1"),
    ...rows("disk: fdatasync p99 at 2,500/s (200-byte overwrites)", disk, "pacedP99", "ms", "fio --bs=200 --overwrite=1 --rate_iops=2500 --fdatasync=1"),
    ...rows("disk: fdatasync p99.9 at 2,500/s (200-byte overwrites)", disk, "pacedP999", "ms", "fio --bs=200 --overwrite=1 --rate_iops=2500 --fdatasync=1; a sync this slow holds every ack queued behind it"),
  ];
}

// ---------------------------------------------------------------- the comparison table

const fmtRate = (v: number) => Math.round(v).toLocaleString("en-US");
const fmtMs = (v: number) => v.toFixed(2);
/** A share that runs did not give (too few late wake-ups in every run) shows as "–". */
const fmtShare = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : "–");

/** The one table of issue 8: medians, ranges, durability and every ratio. */
export function report(all: BenchRow[]): string[] {
  const rs = all.filter((r) => r.section === SECTION);
  if (rs.length === 0) return [];
  const get = (name: string) => rs.find((r) => r.name === name);
  const cell = (name: string, fmt: (v: number) => string) => {
    const r = get(name);
    if (!r) return "–";
    const runs = r.runs ?? [r.value];
    return runs.length > 1 ? `${fmt(r.value)} (${fmt(Math.min(...runs))}–${fmt(Math.max(...runs))})` : fmt(r.value);
  };
  const v = (name: string) => get(name)?.value ?? NaN;
  const ratio = (a: number, b: number) => (Number.isFinite(a / b) ? `${(a / b).toFixed(2)}×` : "–");
  const mb = (recs: number) => (recs * RECORD_BYTES) / 1e6;
  const disk = v("disk: sequential write, 1 MiB + fdatasync each");
  const n = rs.find((r) => r.runs)?.runs?.length ?? 1;
  const systems: [string, string, string, string][] = [
    ["streamctl (kcat load)", "streamctl, kcat", "streamctl", "fsync before every ack"],
    ["streamctl (streamctl bench)", "streamctl, streamctl bench", "streamctl", "fsync before every ack"],
    ["NATS JetStream", "NATS JetStream", "NATS JetStream", "no fsync per ack (every 2 min)"],
    ["Redis Streams", "Redis Streams", "Redis Streams", "fsync before every reply"],
  ];
  const out = [
    `## Side by side (medians of ${n} runs, range in brackets)`,
    "",
    `${RECORD_BYTES}-byte records, ${RECORDS.toLocaleString("en-US")} per run, every server on 127.0.0.1 on this machine, started fresh for each run. Produce: after ${PRODUCE_WARMUP_RECORDS.toLocaleString("en-US")} records with the same client and settings, unmeasured, into another topic or stream (every system). Latency: ${LATENCY_RATE.toLocaleString("en-US")} records/s fixed rate for ${LATENCY_RECORDS / LATENCY_RATE} s, after ${LATENCY_WARMUP_SECONDS} s of the same load unmeasured (every system), from each record's intended send time.`,
    "",
    "| system (load) | durability | produce records/s | produce MB/s | consume records/s | ack p50 ms | ack p99 ms | machine paused, ms per s (share at one phase), medians | peak RSS MiB |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const [label, prefix, latPrefix, durability] of systems) {
    if (!get(`${prefix}: produce`)) continue;
    out.push(
      `| ${label} | ${durability} | ${cell(`${prefix}: produce`, fmtRate)} | ${(mb(v(`${prefix}: produce`))).toFixed(0)} | ${cell(`${prefix}: consume`, fmtRate)} | ${cell(`${latPrefix}: ack latency p50 at 5,000/s`, fmtMs)} | ${cell(`${latPrefix}: ack latency p99 at 5,000/s`, fmtMs)} | ${v(`${latPrefix}: machine paused during the latency phase`).toFixed(1)} (${fmtShare(v(`${latPrefix}: late wake-ups at one phase of 100 ms`))}) | ${cell(`${latPrefix === "streamctl" ? "streamctl: broker" : `${latPrefix}: server`} peak RSS`, (x) => x.toFixed(0))} |`,
    );
  }
  out.push(
    `| disk (fio) | fdatasync after each 1 MiB write | | ${cell("disk: sequential write, 1 MiB + fdatasync each", (x) => x.toFixed(0))} | | fdatasync ${cell("disk: fdatasync p50 (4 KiB writes)", (x) => x.toFixed(3))} | fdatasync ${cell("disk: fdatasync p99 (4 KiB writes)", (x) => x.toFixed(3))} | | |`,
  );
  if (get("disk: fdatasync p99 at 2,500/s (200-byte overwrites)")) {
    out.push(
      `| disk (fio) at ${PACED_SYNCS.toLocaleString("en-US")} syncs/s | fdatasync after each 200-byte overwrite | | | | fdatasync ${cell("disk: fdatasync p50 at 2,500/s (200-byte overwrites)", (x) => x.toFixed(3))} | fdatasync ${cell("disk: fdatasync p99 at 2,500/s (200-byte overwrites)", (x) => x.toFixed(3))}; p99.9 ${cell("disk: fdatasync p99.9 at 2,500/s (200-byte overwrites)", (x) => x.toFixed(2))} | | |`,
    );
  }
  out.push(
    "",
    `streamctl produce→consume latency at ${LATENCY_RATE.toLocaleString("en-US")}/s: p50 ${cell("streamctl: produce→consume p50 at 5,000/s", fmtMs)} ms, p99 ${cell("streamctl: produce→consume p99 at 5,000/s", fmtMs)} ms.`,
    "",
    "Ratios (of medians):",
    "",
    "| streamctl with | produce ÷ Redis | produce ÷ NATS | consume ÷ Redis | consume ÷ NATS | produce MB/s ÷ disk MB/s | Redis ack p99 ÷ ours | NATS ack p99 ÷ ours |",
    "|---|---:|---:|---:|---:|---:|---:|---:|",
  );
  for (const [label, prefix] of systems.slice(0, 2)) {
    const p = v(`${prefix}: produce`);
    const c = v(`${prefix}: consume`);
    const ours = v("streamctl: ack latency p99 at 5,000/s");
    out.push(
      `| ${label} | ${ratio(p, v("Redis Streams: produce"))} | ${ratio(p, v("NATS JetStream: produce"))} | ${ratio(c, v("Redis Streams: consume"))} | ${ratio(c, v("NATS JetStream: consume"))} | ${ratio(mb(p), disk)} | ${ratio(v("Redis Streams: ack latency p99 at 5,000/s"), ours)} | ${ratio(v("NATS JetStream: ack latency p99 at 5,000/s"), ours)} |`,
    );
  }
  out.push(
    "",
    "MB/s counts record values only (100 B each); the broker writes ~8% more (record framing, batch headers). The disk row is the drive's own ceiling for synced sequential writes; streamctl's group commit syncs larger chunks than 1 MiB under load, so it can come close to or pass that row.",
    "",
    "Machine paused: during each system's measured latency phase, a thread in its load generator that sleeps 1 ms at a time (cmd/bench-pauses.ts; `streamctl bench` prints the same) sums how late its wake-ups came, counting those 2 ms or more late. In brackets, the share of them that ended within one 10 ms window of a 100 ms period: about 0.1 when the delays are the scheduler's, near 1 when the hypervisor pauses the VM at a fixed point of each period (a host CPU quota). Every ack waiting during such a pause waits it out.",
    "",
  );
  return out;
}

if (import.meta.main) {
  const all = await run();
  console.log(report(all).join("\n"));
  // Every row too (what `make bench` puts in the peers section), for a run of this module alone.
  for (const r of all) console.log(`| ${r.name} | ${r.value.toPrecision(4)} | ${r.runs ? `${Math.min(...r.runs).toPrecision(4)}–${Math.max(...r.runs).toPrecision(4)}` : ""} | ${r.unit} |`);
}
