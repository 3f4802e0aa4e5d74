// Benchmarks for core/batch (section "core"): CRC-32C throughput, RecordBatch encode/decode rates
// for 1,000 × 100-byte records per batch in every codec, and each codec's raw compress and
// decompress throughput. Each figure is the best of a few timed rounds of ~250 ms after a warm-up,
// on deterministic data. Measures only; asserts nothing. Runs in well under 30 s.
import type { BenchRow } from "./types.ts";
import { codecName, compress, decompress } from "../core/batch/codecs.ts";
import { crc32c, crc32cNative, NATIVE_MIN_BYTES } from "../core/batch/crc32c.ts";
import { Codec } from "../core/batch/header.ts";
import { decodeRecordBatch, encodeRecordBatch } from "../core/batch/record-batch.ts";
import type { RecordInput } from "../core/batch/record.ts";

const SECTION = "core";
const MiB = 1024 * 1024;
const ROUND_MS = 250;
const ROUNDS = 3;
const CODECS = [Codec.None, Codec.Gzip, Codec.Snappy, Codec.Lz4, Codec.Zstd] as const;

/** Runs `fn` repeatedly for ~ROUND_MS per round; returns the best rate of `units` per second. */
function rate(units: number, fn: () => void): number {
  fn(); // warm-up
  let best = 0;
  for (let r = 0; r < ROUNDS; r++) {
    let n = 0;
    const start = performance.now();
    let elapsed = 0;
    do {
      fn();
      n++;
      elapsed = performance.now() - start;
    } while (elapsed < ROUND_MS);
    best = Math.max(best, (n * units) / (elapsed / 1000));
  }
  return best;
}

/** Deterministic pseudo-random generator (LCG) so every run measures the same bytes. */
function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x;
  };
}

/** Log-line-like text: what compresses like real payloads (JSON with varying numbers and ids). */
function payload(bytes: number, seed: number): Uint8Array {
  const next = lcg(seed);
  const levels = ["INFO", "WARN", "DEBUG", "ERROR"];
  const parts: string[] = [];
  let size = 0;
  while (size < bytes) {
    const line = `{"ts":${1_700_000_000_000 + (next() % 100000)},"level":"${levels[next() % 4]}","user":"u${next() % 5000}","latencyMs":${next() % 900},"path":"/api/v1/items/${next() % 100000}"}\n`;
    parts.push(line);
    size += line.length;
  }
  return new TextEncoder().encode(parts.join("")).subarray(0, bytes);
}

function records1000(): RecordInput[] {
  const text = payload(100 * 1000, 7);
  const next = lcg(11);
  return Array.from({ length: 1000 }, (_, i) => ({
    key: new TextEncoder().encode(`key-${next() % 1000}`),
    value: text.subarray(i * 100, (i + 1) * 100),
    headers: [],
    timestamp: 1_700_000_000_000 + i,
  }));
}

export async function run(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];

  const big = payload(64 * MiB, 1);
  const crcRate = rate(big.length, () => crc32c(big));
  rows.push({ section: SECTION, name: "CRC-32C, 64 MiB buffer", value: round(crcRate / 1e6), unit: "MB/s", note: crc32cNative ? `crc32c(): @node-rs/crc32 from ${NATIVE_MIN_BYTES} B (bench/checksums.ts has every size)` : "crc32c(): slicing-by-16 (@node-rs/crc32 did not load)" });

  const recs = records1000();
  for (const codec of CODECS) {
    const bytes = encodeRecordBatch({ records: recs, codec, now: 0 });
    const enc = rate(recs.length, () => encodeRecordBatch({ records: recs, codec, now: 0 }));
    const dec = rate(recs.length, () => decodeRecordBatch(bytes));
    const note = `1,000 × 100-byte records per batch, ${bytes.length} bytes encoded`;
    rows.push({ section: SECTION, name: `RecordBatch encode, ${codecName(codec)}`, value: round(enc), unit: "records/s", note });
    rows.push({ section: SECTION, name: `RecordBatch decode, ${codecName(codec)}`, value: round(dec), unit: "records/s", note: `${note}, CRC checked` });
  }

  const data = payload(4 * MiB, 3);
  for (const codec of CODECS.filter((c) => c !== Codec.None)) {
    const packed = compress(codec, data);
    const ratio = (data.length / packed.length).toFixed(1);
    const c = rate(data.length, () => compress(codec, data));
    const d = rate(data.length, () => decompress(codec, packed));
    const note = `4 MiB of JSON log lines, ratio ${ratio}:1; MB of uncompressed data per second`;
    rows.push({ section: SECTION, name: `${codecName(codec)} compress`, value: round(c / 1e6), unit: "MB/s", note });
    rows.push({ section: SECTION, name: `${codecName(codec)} decompress`, value: round(d / 1e6), unit: "MB/s", note: `${note}; output capped at 64 MiB` });
  }
  return rows;
}

function round(x: number): number {
  return x >= 100 ? Math.round(x) : Math.round(x * 10) / 10;
}

if (import.meta.main) {
  const start = performance.now();
  for (const row of await run()) console.log(`${row.name.padEnd(34)} ${String(row.value).padStart(12)} ${row.unit.padEnd(10)} ${row.note ?? ""}`);
  console.error(`(${((performance.now() - start) / 1000).toFixed(1)} s)`);
}
