// Benchmarks of issue #18, item 7 ("fair under abuse"), section "abuse": each abuse case at the
// issue's size against `bin/streamctl serve` with default flags, and, with BENCH_ABUSE_BEFORE_BIN
// set, against an older binary the same way (the "before" figures). Attacks: test/abuse-attacks.ts.
//
//   zstd bombs     one Produce of 1,000 zstd bombs (each ~2.6 KiB, 65 MiB of zeros): the longest
//                  another client (test/reliability-prober.ts, another process) waited, peak RSS;
//                  once with sizes declared (as zstd writes by default), once hidden (streamed)
//   gzip bombs     64 gzip bombs of 1 GiB of zeros (~1 MiB each) in one 64 MiB request: peak RSS;
//                  declared (ISIZE) and lying (ISIZE 0)
//   many records   one valid zstd batch of 900,000 records of 40 bytes (~0.95 MB sent, 44 MiB once
//                  inflated): appended; the longest another client waited while it was inflated
//   partial frames 16 connections each sending 95 MiB of a 100 MiB frame, then nothing: peak RSS
//   idle sockets   10,000 idle sockets from 127.0.0.2: how long until a new client from 127.0.0.1
//                  is served (tried every 100 ms for up to IDLE_WINDOW_S); then 10,000 from ten
//                  addresses (every slot of --max-connections)
// Measures only; asserts nothing.
//
//   BENCH=abuse make bench
//   BENCH_ABUSE_BEFORE_BIN=/tmp/streamctl-old bun run bench/abuse.ts
//   BENCH_ABUSE_ONLY=zstd,gzip bun run bench/abuse.ts          (only the cases naming these)
import * as zlib from "node:zlib";
import type { Socket } from "node:net";
import { batchOf, bombPayload, bombRequest, idleSockets, newClientServedAfter, openSocket, partialFrames, roundTrip, rssMiB, whileProbed } from "../test/abuse-attacks.ts";
import { removeDir, startBroker, STREAMCTL_BIN } from "../test/harness.ts";
import type { BenchRow } from "./types.ts";
import { Codec } from "../core/batch/header.ts";
import { encodeRecordBatch } from "../core/batch/record-batch.ts";

const SECTION = "abuse";
const MiB = 1024 * 1024;
const IDLE_WINDOW_S = 30;
const ROUNDS = 3;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function combine(runs: Figures[]): Figures {
  const ok = runs.filter((r) => r.waitMs !== undefined || r.servedAfterMs !== undefined);
  if (ok.length === 0) return {};
  if (ok[0]!.waitMs === undefined) return ok[0]!;
  return { waitMs: median(ok.map((r) => r.waitMs!)), p99Ms: median(ok.map((r) => r.p99Ms!)), peakMiB: Math.max(...ok.map((r) => r.peakMiB!)) };
}

interface Figures {
  waitMs?: number;
  p99Ms?: number;
  peakMiB?: number;
  servedAfterMs?: number | null;
  accepted?: number;
}

/** gzip of `bytes` zeros, streamed (1 GiB never in memory at once). */
async function gzipZeros(bytes: number, lying: boolean): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  const g = zlib.createGzip({ level: 9 });
  g.on("data", (d: Buffer) => chunks.push(d));
  const ended = new Promise((r) => g.on("end", r));
  const piece = new Uint8Array(MiB);
  for (let n = 0; n < bytes; n += MiB) if (!g.write(piece)) await new Promise((r) => g.once("drain", r));
  g.end();
  await ended;
  const out = new Uint8Array(Buffer.concat(chunks));
  if (lying) out.fill(0, out.length - 4);
  return out;
}

async function bombCase(bin: string, request: Uint8Array): Promise<Figures> {
  return withBin(bin, async (kafka, pid, http) => {
    await fetch(`http://${http}/v1/topics`, { method: "POST", body: JSON.stringify({ name: "bombed", partitions: 1 }) });
    const s = await openSocket(kafka);
    const probe = await whileProbed(kafka, async () => void (await roundTrip(s, request)));
    s.destroy();
    return { waitMs: Math.round(probe.maxMs), p99Ms: Math.round(probe.p99Ms), peakMiB: Math.round(rssMiB(pid).peak) };
  });
}

async function partialCase(bin: string): Promise<Figures> {
  return withBin(bin, async (kafka, pid) => {
    let sockets: Socket[] = [];
    const probe = await whileProbed(kafka, async () => {
      const attack = await partialFrames(kafka, 16, 100 * MiB, 95 * MiB);
      sockets = attack.sockets;
      await Promise.race([attack.sent, new Promise((r) => setTimeout(r, 20_000))]);
    });
    const peak = rssMiB(pid).peak;
    for (const s of sockets) s.destroy();
    return { waitMs: Math.round(probe.maxMs), p99Ms: Math.round(probe.p99Ms), peakMiB: Math.round(peak) };
  });
}

async function idleCase(bin: string, addresses: string[]): Promise<Figures> {
  return withBin(bin, async (kafka) => {
    const idle = await idleSockets(kafka, 10_000, addresses);
    await new Promise((r) => setTimeout(r, 500));
    const accepted = idle.sockets.filter((s) => !s.closed).length;
    const served = await newClientServedAfter(kafka, IDLE_WINDOW_S * 1000);
    for (const s of idle.sockets) s.destroy();
    return { servedAfterMs: served === null ? null : Math.round(served), accepted };
  });
}

/** A broker of `bin` with default flags. */
async function withBin<T>(bin: string, run: (kafka: string, pid: number, http: string) => Promise<T>): Promise<T> {
  const broker = await startBroker({ bin });
  try {
    return await run(broker.kafka, broker.proc.pid, broker.http);
  } finally {
    await broker.stop();
    removeDir(broker.dataDir);
  }
}

export async function run(): Promise<BenchRow[]> {
  const bins: Array<[string, string]> = [["after", STREAMCTL_BIN]];
  if (process.env.BENCH_ABUSE_BEFORE_BIN) bins.unshift(["before", process.env.BENCH_ABUSE_BEFORE_BIN]);
  const zstdDeclared = batchOf(4, await bombPayload("zstd", 65 * MiB, false));
  const zstdHidden = batchOf(4, await bombPayload("zstd", 65 * MiB, true));
  const gzipDeclared = batchOf(1, await gzipZeros(1024 * MiB, false));
  const gzipLying = batchOf(1, await gzipZeros(1024 * MiB, true));
  const value = new Uint8Array(40).fill(0x61);
  const manyRecords = encodeRecordBatch({ records: Array.from({ length: 900_000 }, () => ({ key: null, value })), codec: Codec.Zstd });
  const cases: Array<[string, (bin: string) => Promise<Figures>, string]> = [
    ["1,000 zstd bombs in one Produce, sizes declared", (bin) => bombCase(bin, bombRequest("bombed", zstdDeclared, 1000)), `${zstdDeclared.length} B each, 65 MiB of zeros`],
    ["1,000 zstd bombs in one Produce, sizes hidden", (bin) => bombCase(bin, bombRequest("bombed", zstdHidden, 1000)), `${zstdHidden.length} B each, streamed: no Frame_Content_Size`],
    ["64 gzip bombs in one Produce, sizes declared", (bin) => bombCase(bin, bombRequest("bombed", gzipDeclared, 64)), `${gzipDeclared.length} B each, 1 GiB of zeros`],
    ["64 gzip bombs in one Produce, sizes lying", (bin) => bombCase(bin, bombRequest("bombed", gzipLying, 64)), "the same with ISIZE 0"],
    ["one valid zstd batch of 900,000 records in one Produce", (bin) => bombCase(bin, bombRequest("bombed", manyRecords, 1)), `${manyRecords.length} B, 44 MiB of 40-byte records once inflated: appended`],
    ["16 connections holding 95 MiB of a 100 MiB frame", partialCase, "default --max-request-memory (256 MiB)"],
    ["10,000 idle sockets from one address", (bin) => idleCase(bin, ["127.0.0.2"]), "default --max-connections (10,000), --max-connections-per-ip (1,000)"],
    ["10,000 idle sockets from ten addresses", (bin) => idleCase(bin, Array.from({ length: 10 }, (_, i) => `127.0.0.${i + 2}`)), "every slot of --max-connections; default --first-request-timeout-ms (10 s)"],
  ];
  const rows: BenchRow[] = [];
  // BENCH_ABUSE_ONLY=zstd,gzip: only the cases whose name holds one of these words.
  const only = process.env.BENCH_ABUSE_ONLY?.split(",");
  for (const [name, measure, how] of cases) {
    if (only !== undefined && !only.some((word) => name.includes(word))) continue;
    const got: Record<string, Figures> = {};
    // The memory and waiting cases ROUNDS times, alternating binaries: single waits are noisy on
    // a shared machine. Kept: the median wait and p99, the highest peak.
    const rounds = how.includes("idle") || name.includes("idle") ? 1 : ROUNDS;
    const runs: Record<string, Figures[]> = {};
    for (let round = 0; round < rounds; round++) {
      for (const [label, bin] of round % 2 === 0 ? bins : [...bins].reverse()) {
        process.stderr.write(`  abuse: ${name} (${label}, round ${round + 1}) …\n`);
        (runs[label] ??= []).push(
          await measure(bin).catch((e) => {
            process.stderr.write(`  abuse: ${name} (${label}) failed: ${e}\n`);
            return {};
          }),
        );
      }
    }
    for (const [label, list] of Object.entries(runs)) got[label] = combine(list);
    const before = got.before;
    const after = got.after!;
    const was = (f: (x: Figures) => string) => (before ? `; before: ${f(before)}` : "");
    if (after.waitMs !== undefined) {
      rows.push({ section: SECTION, name: `${name}: longest wait of another client`, value: after.waitMs, unit: "ms", note: `${how}; ApiVersions one at a time from another process, median of ${ROUNDS} runs' longest (p99 ${after.p99Ms} ms)${was((x) => `${x.waitMs ?? "?"} ms (p99 ${x.p99Ms ?? "?"} ms)`)}` });
      rows.push({ section: SECTION, name: `${name}: broker peak RSS`, value: after.peakMiB!, unit: "MiB", note: `VmHWM, the highest of ${ROUNDS} runs${was((x) => `${x.peakMiB ?? "?"} MiB`)}` });
    } else {
      const served = (x: Figures) => (x.servedAfterMs === null || x.servedAfterMs === undefined ? `not within ${IDLE_WINDOW_S} s` : `${x.servedAfterMs} ms`);
      rows.push({ section: SECTION, name: `${name}: a new client from 127.0.0.1 served after`, value: after.servedAfterMs ?? IDLE_WINDOW_S * 1000, unit: "ms", note: `${how}; ${after.accepted} of the sockets still open after 0.5 s${after.servedAfterMs === null ? ` (not served within ${IDLE_WINDOW_S} s)` : ""}${was((x) => `${served(x)}, ${x.accepted} open`)}` });
    }
  }
  return rows;
}

if (import.meta.main) {
  for (const row of await run()) console.log(`${row.name.padEnd(70)} ${String(row.value).padStart(8)} ${row.unit}   (${row.note})`);
}
