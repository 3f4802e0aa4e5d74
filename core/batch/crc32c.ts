// CRC-32C (Castagnoli), the checksum of Kafka RecordBatch v2 and of our metadata files: the one
// entry point every caller uses. It hands inputs of NATIVE_MIN_BYTES and more to `@node-rs/crc32`
// (Rust, SSE4.2/PCLMULQDQ, a prebuilt N-API module per platform, embedded by `bun build
// --compile` and loaded from a temporary file at start) and smaller ones to our slicing-by-16
// (crc32c-slicing.ts), which is also used everywhere when the native module cannot load (a
// platform without a prebuilt binary, a temporary directory mounted noexec).
//
// Where the crossover sits, measured on the project's CI box (AMD EPYC, 2 shared cores, Bun 1.4.5;
// `bun run bench/checksums.ts`, best CPU time of three runs): a call into the N-API module costs
// ~160 ns before it reads a byte, and slicing-by-16 does ~2.2–2.3 GB/s, so on a view into a larger
// buffer ours is faster up to 512 B and native from 768 B. N-API also asks a typed array for its
// ArrayBuffer, and a small one (JavaScriptCore keeps arrays under ~1 KB without one) then gets an
// ArrayBuffer of its own, ~100–300 ns more per call in allocation and garbage collection
// (core/bytes.ts); a batch builder's freshly allocated output is such an array, and there the two
// are level at 1 KiB and native is ahead from 1.5 KiB. From 1 KiB up native wins or ties: 2.6x ours
// at 16 KiB, 3x at 1 MiB (~7 GB/s; the 12–15 GB/s were not reached on this box).

import { crc32cSlicing } from "./crc32c-slicing.ts";

/** `@node-rs/crc32`'s crc32c: the CRC of all of `input`, continuing from `initialState`. */
type NativeCrc32c = (input: Uint8Array, initialState?: number) => number;

/** Inputs this long and longer go to the native module (see above). */
export const NATIVE_MIN_BYTES = 1024;

/** The native CRC-32C, or null where it did not load (then every input goes to crc32cSlicing). */
export const crc32cNative: NativeCrc32c | null = loadNative();

function loadNative(): NativeCrc32c | null {
  try {
    // require, not import: a module that fails to load must leave us on the fallback, not fail
    // every command at start. The package's loader throws when it finds no binary for the platform.
    const { crc32c } = require("@node-rs/crc32") as { crc32c: NativeCrc32c };
    // The check value of the CRC-32C catalogue: a binary that loads but computes something else
    // must not be trusted with every batch.
    return crc32c(new TextEncoder().encode("123456789"), 0) === 0xe3069283 ? crc32c : null;
  } catch {
    return null;
  }
}

/** CRC-32C of `data[start, end)`, continuing from `crc` (0 to begin). Returns an unsigned 32-bit value. */
export function crc32c(data: Uint8Array, start = 0, end = data.length, crc = 0): number {
  if (crc32cNative !== null && end - start >= NATIVE_MIN_BYTES) {
    return crc32cNative(start === 0 && end === data.length ? data : data.subarray(start, end), crc);
  }
  return crc32cSlicing(data, start, end, crc);
}
