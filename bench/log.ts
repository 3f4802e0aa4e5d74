// Storage engine benchmark (section "core"): the disk's own fdatasync'ed sequential write speed
// beside PartitionLog append throughput under fsync=always (group commit), reads of sealed
// segments (1 MiB reads: a pread into recycled buffers), and the recovery scan. Runs in a temp
// dir on the filesystem of $STREAMCTL_BENCH_DIR (default the OS temp dir); about 20–40 s.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { systemClock } from "../core/clock.ts";
import { giveBack } from "../core/lent-buffers.ts";
import { NodeFileLayer } from "../core/fs.ts";
import { SyncScheduler } from "../core/log/durability.ts";
import { PartitionLog } from "../core/log/partition-log.ts";
import { buildBatch } from "../core/testing/batch-bytes.ts";
import { DEFAULT_LOG_CONFIG, type LogConfig, silentLogger } from "../core/log/types.ts";
import type { BenchRow } from "./types.ts";

const MiB = 1024 * 1024;
const SECTION = "core";

function mbps(bytes: number, ms: number): number {
  return Math.round((bytes / MiB / (ms / 1000)) * 10) / 10;
}

async function diskWrite(dir: string, seconds: number): Promise<{ mbps: number; bytes: number }> {
  const fs = new NodeFileLayer();
  const file = fs.open(join(dir, "disk-speed.bin"), { create: true, truncate: true });
  const chunk = new Uint8Array(MiB).fill(0x5a);
  let pos = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    fs.pwrite(file, chunk, pos);
    await fs.fdatasync(file);
    pos += chunk.length;
  }
  const ms = performance.now() - t0;
  fs.close(file);
  fs.unlink(join(dir, "disk-speed.bin"));
  return { mbps: mbps(pos, ms), bytes: pos };
}

async function openLog(dir: string, config: Partial<LogConfig>, scheduler: SyncScheduler, clean = false): Promise<PartitionLog> {
  return PartitionLog.open(dir, { ...DEFAULT_LOG_CONFIG, ...config }, { fs: new NodeFileLayer(), clock: systemClock, durability: scheduler, logger: silentLogger, clean });
}

async function appendThroughput(dir: string, partitions: number, appendersPer: number, seconds: number) {
  const scheduler = new SyncScheduler({ mode: "always" });
  const logs = await Promise.all(Array.from({ length: partitions }, (_, p) => openLog(join(dir, `append-${partitions}`, String(p)), { segmentBytes: 64 * MiB }, scheduler)));
  const template = buildBatch({ records: 1000, valueBytes: 100 });
  let batches = 0;
  const deadline = performance.now() + seconds * 1000;
  const t0 = performance.now();
  await Promise.all(
    logs.flatMap((log) =>
      Array.from({ length: appendersPer }, async () => {
        // One buffer per appender: append rewrites its baseOffset in place just before the pwrite.
        const batch = template.slice();
        while (performance.now() < deadline) {
          await log.append(batch);
          batches++;
        }
      }),
    ),
  );
  const ms = performance.now() - t0;
  await Promise.all(logs.map((l) => l.close()));
  scheduler.close();
  return { recordsPerSec: Math.round((batches * 1000) / (ms / 1000)), mbps: mbps(batches * template.length, ms), ms };
}

async function readThroughput(dir: string): Promise<{ gbps: number; bytes: number }> {
  const scheduler = new SyncScheduler({ mode: "never" });
  const log = await openLog(join(dir, "read"), { segmentBytes: 64 * MiB }, scheduler);
  const batch = buildBatch({ records: 1000, valueBytes: 100 });
  while (log.sizeBytes < 512 * MiB) await log.append(batch);
  // 64 MiB segments: all but the last are sealed. 1 MiB reads are a pread into a lent buffer,
  // given back after use as the broker's connection does once a response went out
  const end = log.endOffset;
  let bytes = 0;
  let sink = 0;
  const t0 = performance.now();
  for (let pass = 0; pass < 3; pass++) {
    let offset = 0;
    while (offset < end) {
      const r = log.read(offset, MiB);
      if (r.bytes === 0) break;
      for (const c of r.chunks) {
        for (let i = 0; i < c.length; i += 4096) sink += c[i]!; // touch every page
        const view = new DataView(c.buffer, c.byteOffset, c.byteLength);
        let pos = 0;
        while (pos < c.length) {
          offset = Number(view.getBigInt64(pos)) + view.getInt32(pos + 23) + 1;
          pos += view.getInt32(pos + 8) + 12;
        }
        giveBack(c);
      }
      bytes += r.bytes;
    }
  }
  const ms = performance.now() - t0;
  await log.close();
  scheduler.close();
  if (sink < 0) console.log(sink);
  return { gbps: Math.round((bytes / 1e9 / (ms / 1000)) * 100) / 100, bytes };
}

async function recoveryScan(dir: string): Promise<{ mbps: number; bytes: number }> {
  const scheduler = new SyncScheduler({ mode: "never" });
  const path = join(dir, "recover");
  const log = await openLog(path, { segmentBytes: 1024 * MiB }, scheduler);
  const batch = buildBatch({ records: 1000, valueBytes: 100 });
  while (log.sizeBytes < 256 * MiB) await log.append(batch);
  // no close: reopen as after a crash, so the whole active segment is validated (CRC-32C of every byte)
  const t0 = performance.now();
  const again = await openLog(path, { segmentBytes: 1024 * MiB }, scheduler, false);
  const ms = performance.now() - t0;
  const bytes = again.recovery.bytesScanned;
  await again.close();
  await log.close().catch(() => {});
  scheduler.close();
  return { mbps: mbps(bytes, ms), bytes };
}

export async function run(): Promise<BenchRow[]> {
  const base = process.env.STREAMCTL_BENCH_DIR ?? tmpdir();
  const dir = mkdtempSync(join(base, "streamctl-bench-log-"));
  try {
    const disk = await diskWrite(dir, 3);
    const one = await appendThroughput(dir, 1, 8, 4);
    const four = await appendThroughput(dir, 4, 4, 4);
    const read = await readThroughput(dir);
    const rec = await recoveryScan(dir);
    const where = `temp dir under ${base}`;
    return [
      { section: SECTION, name: "disk sequential write, 1 MiB pwrite + fdatasync each", value: disk.mbps, unit: "MB/s", note: `in-process, ${where}` },
      { section: SECTION, name: "append, fsync=always, 1 partition × 8 appenders", value: one.mbps, unit: "MB/s", note: `${Math.round((one.mbps / disk.mbps) * 100)}% of disk; batches of 1,000 × 100-byte records` },
      { section: SECTION, name: "append, fsync=always, 1 partition × 8 appenders", value: one.recordsPerSec, unit: "records/s" },
      { section: SECTION, name: "append, fsync=always, 4 partitions × 4 appenders", value: four.mbps, unit: "MB/s", note: `${Math.round((four.mbps / disk.mbps) * 100)}% of disk; one shared sync scheduler` },
      { section: SECTION, name: "append, fsync=always, 4 partitions × 4 appenders", value: four.recordsPerSec, unit: "records/s" },
      { section: SECTION, name: "read sealed segments, 1 MiB reads (pread into recycled buffers)", value: read.gbps, unit: "GB/s", note: `${Math.round(read.bytes / MiB)} MiB read (page cache warm), every page touched` },
      { section: SECTION, name: "recovery scan (lengths + CRC-32C), unclean reopen", value: rec.mbps, unit: "MB/s", note: `${Math.round(rec.bytes / MiB)} MiB active segment` },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  for (const row of await run()) console.log(`${row.name}: ${row.value} ${row.unit}${row.note ? ` (${row.note})` : ""}`);
}
