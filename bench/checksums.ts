// Checksums benchmark (section "core"), issue #17: our CRC-32C (slicing-by-16) against
// `@node-rs/crc32` and against crc32c() as callers call it, at sizes from a record header to a
// large batch; the crossover between them for arrays that already have an ArrayBuffer (views into
// a socket read or a segment) and for freshly allocated small ones (a batch builder's output);
// our xxHash32 against Bun.hash.xxHash32. Each figure is the best of a few rounds timed in CPU
// time after a warm-up, as ns per call and GB/s. Measures only; asserts nothing. About 30 s
// of CPU time (75 s of wall time at load 10 on 2 cores).
//
//   node_modules/.bin/bun run bench/checksums.ts       prints the tables as markdown
import type { BenchRow } from "./types.ts";
import { crc32c, crc32cNative, NATIVE_MIN_BYTES } from "../core/batch/crc32c.ts";
import { crc32cSlicing } from "../core/batch/crc32c-slicing.ts";
import { xxhash32 } from "../core/batch/xxhash32.ts";
import { xxhash32Reference } from "../core/batch/xxhash32-reference.ts";

const SECTION = "core";
const KiB = 1024;
const MiB = 1024 * KiB;
const ROUND_MS = 100;
const ROUNDS = 5;
/** Work between two readings of the CPU clock, ns: ~200 µs, so the ~2 µs reading adds ~1%. */
const BATCH_NS = 200_000;
const SIZES = [16, 64, 128, 256, KiB, 16 * KiB, MiB];
const CROSSOVER_SIZES = [128, 256, 512, 768, KiB, 1536, 2 * KiB];
/** An LZ4 frame's descriptor (2 B, the header checksum's input), small frames, a 64 KiB block, a large batch. */
const XXHASH_SIZES = [2, 16, 128, KiB, 64 * KiB, MiB];

let sink = 0;

/** The process's CPU time, ms (user + system). */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/**
 * Best ns per call of `fn` over ROUNDS rounds of ~ROUND_MS. Timed in CPU time of the process, not
 * wall time: on a shared 2-core box the others' load stretches wall time several-fold (a thread
 * that is not running is not hashing), CPU time much less. Reading it costs ~2 µs, so calls are
 * batched to ~BATCH_NS each between two readings.
 */
function nsPerCall(fn: () => number): number {
  let batch = 16;
  const warm = cpuMs();
  while (cpuMs() - warm < ROUND_MS / 4) {
    const t = performance.now();
    for (let k = 0; k < batch; k++) sink ^= fn();
    const ns = (performance.now() - t) * 1e6;
    if (ns < BATCH_NS) batch = Math.ceil((batch * BATCH_NS) / Math.max(ns, 1));
  }
  let best = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    let n = 0;
    const start = cpuMs();
    let elapsed = 0;
    do {
      for (let k = 0; k < batch; k++) sink ^= fn();
      n += batch;
      elapsed = cpuMs() - start;
    } while (elapsed < ROUND_MS);
    best = Math.min(best, (elapsed * 1e6) / n);
  }
  return best;
}

/** Deterministic bytes (an LCG's high bytes): every run measures the same input. */
function bytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = 12345;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

function label(n: number): string {
  return n >= MiB ? `${n / MiB} MiB` : n >= KiB ? `${n / KiB} KiB` : `${n} B`;
}

interface Cell {
  size: number;
  impl: string;
  ns: number;
}

function gbps(c: Cell): number {
  return c.size / c.ns;
}

/** Inputs at offset 1 of one larger buffer, so unaligned and already backed by an ArrayBuffer. */
function crcTable(): Cell[] {
  const buf = bytes(MiB + 64);
  const cells: Cell[] = [];
  for (const size of SIZES) {
    const view = buf.subarray(1, 1 + size);
    cells.push({ size, impl: "ours (slicing-by-16)", ns: nsPerCall(() => crc32cSlicing(buf, 1, 1 + size)) });
    if (crc32cNative) cells.push({ size, impl: "@node-rs/crc32", ns: nsPerCall(() => crc32cNative!(view, 0)) });
    cells.push({ size, impl: "crc32c() as called", ns: nsPerCall(() => crc32c(buf, 1, 1 + size)) });
  }
  return cells;
}

/**
 * Ours against native as crc32c() would call it, for the two kinds of input: a view into a larger
 * buffer (subarray made per call, as crc32c() does), and an array allocated per call, in both
 * columns, so the difference is what native adds to it (N-API gives it an ArrayBuffer of its own).
 */
function crossoverTable(): Cell[] {
  const buf = bytes(4 * KiB);
  const cells: Cell[] = [];
  if (!crc32cNative) return cells;
  const native = crc32cNative;
  for (const size of CROSSOVER_SIZES) {
    cells.push({ size, impl: "view: ours", ns: nsPerCall(() => crc32cSlicing(buf, 1, 1 + size)) });
    cells.push({ size, impl: "view: native", ns: nsPerCall(() => native(buf.subarray(1, 1 + size), 0)) });
    let i = 0;
    const fresh = (): Uint8Array => {
      const a = new Uint8Array(size);
      a[0] = i++;
      a[size - 1] = i >>> 8;
      return a;
    };
    cells.push({ size, impl: "fresh array: ours", ns: nsPerCall(() => crc32cSlicing(fresh())) });
    cells.push({ size, impl: "fresh array: native", ns: nsPerCall(() => native(fresh(), 0)) });
  }
  return cells;
}

/** xxHash32 as the LZ4 frame code calls it, on inputs at offset 1 of a larger buffer. */
function xxhashTable(): Cell[] {
  const buf = bytes(MiB + 64);
  const cells: Cell[] = [];
  for (const size of XXHASH_SIZES) {
    cells.push({ size, impl: "ours (TypeScript, replaced)", ns: nsPerCall(() => xxhash32Reference(buf, 1, 1 + size)) });
    cells.push({ size, impl: "xxhash32() = Bun.hash.xxHash32", ns: nsPerCall(() => xxhash32(buf, 1, 1 + size)) });
  }
  return cells;
}

function rows(what: string, cells: Cell[], note: string): BenchRow[] {
  return cells.map((c) => ({
    section: SECTION,
    name: `${what}, ${label(c.size)}: ${c.impl}`,
    value: Math.round(gbps(c) * 1000),
    unit: "MB/s",
    note: `${c.ns.toFixed(0)} ns per call; ${note}`,
  }));
}

export async function run(): Promise<BenchRow[]> {
  const note = `crc32c() hands ${NATIVE_MIN_BYTES} B and more to ${crc32cNative ? "@node-rs/crc32" : "nothing (native module not loaded)"}`;
  return [
    ...rows("CRC-32C", crcTable(), note),
    ...rows("CRC-32C crossover", crossoverTable(), "bench/checksums.ts"),
    ...rows("xxHash32", xxhashTable(), "the LZ4 frame checksums"),
  ];
}

/** Markdown: one row per size, one column per implementation, "ns (GB/s)". */
function markdown(cells: Cell[]): string[] {
  const impls = [...new Set(cells.map((c) => c.impl))];
  const sizes = [...new Set(cells.map((c) => c.size))];
  const out = [`| size | ${impls.join(" | ")} |`, `|---:|${impls.map(() => "---:|").join("")}`];
  for (const size of sizes) {
    const row = impls.map((impl) => {
      const c = cells.find((x) => x.size === size && x.impl === impl);
      return c ? `${c.ns < 10_000 ? c.ns.toFixed(0) + " ns" : (c.ns / 1000).toFixed(1) + " µs"} (${gbps(c).toFixed(2)} GB/s)` : "–";
    });
    out.push(`| ${label(size)} | ${row.join(" | ")} |`);
  }
  return out;
}

if (import.meta.main) {
  const started = performance.now();
  console.log(`CRC-32C, input at offset 1 of a larger buffer; crc32c() hands ${NATIVE_MIN_BYTES} B and more to native (${crc32cNative ? "loaded" : "NOT loaded"})\n`);
  console.log(markdown(crcTable()).join("\n"));
  console.log("\nCRC-32C crossover: a view made per call, and an array allocated per call\n");
  console.log(markdown(crossoverTable()).join("\n"));
  console.log("\nxxHash32 (LZ4 frame checksums), input at offset 1 of a larger buffer\n");
  console.log(markdown(xxhashTable()).join("\n"));
  console.error(`(${((performance.now() - started) / 1000).toFixed(1)} s, sink ${sink})`);
}
