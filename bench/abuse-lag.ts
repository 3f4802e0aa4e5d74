// Profiling the large-frame abuse case (issue #18, item 7): why another client waits while frames
// of ~100 MiB stream into the broker. Runs a broker from source with bench/loop-lag-preload.ts
// (event-loop gaps, each split into CPU time of the broker's thread and time it waited for a CPU),
// optionally under Bun's CPU profiler, and one case of test/abuse-attacks.ts while the prober
// (test/reliability-prober.ts, another process) sends ApiVersions one at a time:
//
//   partial16  16 connections each sending 95 MiB of a 100 MiB frame, then nothing
//   stream1    one connection sending 95 MiB of a 100 MiB frame
//   zstd       one Produce of 1,000 zstd bombs (65 MiB of zeros each, sizes declared)
//   records    one Produce of one zstd batch of 900,000 records of 40 bytes (44 MiB inflated,
//              1 MB on the wire, under max.message.bytes): valid, inflated and appended
//
//   bun bench/abuse-lag.ts partial16 [--cpu-prof DIR]
//   BUN_JSC_logGC=1 ABUSE_LAG_STDERR=/tmp/broker.log bun bench/abuse-lag.ts partial16
//
// Prints the prober's waits and the broker's own account of its loop; measures only.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Socket } from "node:net";
import { batchOf, bombPayload, bombRequest, openSocket, partialFrames, roundTrip, whileProbed } from "../test/abuse-attacks.ts";
import { REPO_ROOT } from "../test/harness.ts";
import { Codec } from "../core/batch/header.ts";
import { encodeRecordBatch } from "../core/batch/record-batch.ts";

const MiB = 1024 * 1024;
const which = process.argv[2] ?? "partial16";
const profDir = process.argv[3] === "--cpu-prof" ? process.argv[4] : undefined;
const connections = which === "stream1" ? 1 : 16;

const dataDir = mkdtempSync(join(tmpdir(), "streamctl-abuse-lag-"));
const proc = Bun.spawn(
  [
    process.execPath,
    "--preload",
    join(REPO_ROOT, "bench/loop-lag-preload.ts"),
    ...(profDir ? ["--cpu-prof-md", `--cpu-prof-dir=${profDir}`] : []),
    join(REPO_ROOT, "cmd/streamctl.ts"),
    "serve",
    "--data-dir",
    dataDir,
    "--kafka-listen",
    "127.0.0.1:0",
    "--http-listen",
    "127.0.0.1:0",
  ],
  { stdin: "ignore", stdout: "ignore", stderr: "pipe", cwd: REPO_ROOT },
);
let err = "";
const waiters: Array<() => void> = [];
void (async () => {
  const decoder = new TextDecoder();
  for await (const chunk of proc.stderr) {
    err += decoder.decode(chunk, { stream: true });
    for (const w of waiters.splice(0)) w();
  }
})();
async function until<T>(find: () => T | null): Promise<T> {
  for (;;) {
    const found = find();
    if (found !== null) return found;
    if (proc.exitCode !== null) throw new Error(`the broker exited: ${err}`);
    await new Promise<void>((r) => waiters.push(r));
  }
}
const kafka = await until(() => /ready kafka=(\S+)/.exec(err)?.[1] ?? null);

// The broker's account starts here, not at its start (loading the modules is one long gap).
let mark = err.length;
proc.kill("SIGUSR2");
await until(() => (err.slice(mark).includes("loop-lag ") ? true : null));
let sockets: Socket[] = [];
const value = new Uint8Array(40).fill(0x61);
const bombs =
  which === "zstd"
    ? bombRequest("bombed", batchOf(4, await bombPayload("zstd", 65 * MiB, false)), 1000)
    : which === "records"
      ? bombRequest("bombed", encodeRecordBatch({ records: Array.from({ length: 900_000 }, () => ({ key: null, value })), codec: Codec.Zstd }), 1)
      : null;
const probe = await whileProbed(kafka, async () => {
  if (bombs !== null) {
    const s = await openSocket(kafka);
    sockets = [s];
    await roundTrip(s, bombs);
    return;
  }
  const attack = await partialFrames(kafka, connections, 100 * MiB, 95 * MiB);
  sockets = attack.sockets;
  await Promise.race([attack.sent, new Promise((r) => setTimeout(r, 20_000))]);
});
mark = err.length;
proc.kill("SIGUSR2");
const lag = await until(() => /loop-lag (\{.*\})\n/.exec(err.slice(mark))?.[1] ?? null);
for (const s of sockets) s.destroy();
proc.kill("SIGTERM");
await proc.exited;
rmSync(dataDir, { recursive: true, force: true });
// The broker's whole stderr (e.g. with BUN_JSC_logGC=1: its GC pauses), when asked for.
if (process.env.ABUSE_LAG_STDERR) writeFileSync(process.env.ABUSE_LAG_STDERR, err);
const longest = [...probe.latencies].sort((a, b) => b - a).slice(0, 5).map(Math.round);
console.log(JSON.stringify({ case: which, probes: probe.latencies.length, failures: probe.failures, maxMs: Math.round(probe.maxMs), p99Ms: Math.round(probe.p99Ms), longest, broker: JSON.parse(lag) }));
