// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of Kafka RecordBatch v2.
//
// Slicing-by-16: one flat Int32Array of 16 × 256 entries (16 KiB, fits L1), the input read as
// little-endian 32-bit words through an Int32Array view over the aligned middle of the range.
// Measured on the project's CI box (AMD EPYC, Bun 1.4.5), 64 MiB buffer:
//   slicing-by-8, byte reads (the previous version)  ~1.4–1.5 GB/s
//   slicing-by-8, word reads                          ~1.8 GB/s
//   slicing-by-16, word reads (this file)             ~2.0–2.3 GB/s
// Word reads need a little-endian host; every platform Bun ships for is one, and the check below
// turns a surprise into an assertion instead of wrong checksums.
import { assert } from "../assert.ts";

const POLY = 0x82f63b78;
const SLICES = 16;
/**
 * Below this many bytes, bytes are read one at a time. The word view needs `data.buffer`, and a
 * small typed array asked for its buffer gets an ArrayBuffer of its own, which lengthens the next
 * garbage collection (core/bytes.ts): not worth it for the small batches of low-rate producers.
 */
const WORDS_MIN_BYTES = 4096;

assert(new Uint8Array(new Uint32Array([1]).buffer)[0] === 1, "crc32c word reads need a little-endian host");

const T = buildTable();

function buildTable(): Int32Array {
  const t = new Int32Array(256 * SLICES);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[n] = c;
  }
  // t[s*256 + n] = CRC of byte n followed by s zero bytes.
  for (let s = 1; s < SLICES; s++) {
    for (let n = 0; n < 256; n++) {
      const prev = t[(s - 1) * 256 + n]!;
      t[s * 256 + n] = (prev >>> 8) ^ t[prev & 0xff]!;
    }
  }
  return t;
}

/** CRC-32C of `data[start, end)`, continuing from `crc` (0 to begin). Returns an unsigned 32-bit value. */
export function crc32c(data: Uint8Array, start = 0, end = data.length, crc = 0): number {
  const t = T;
  let c = ~crc;
  let i = start;
  if (end - i >= WORDS_MIN_BYTES) {
    // Bytes up to the first 4-aligned address, then 16 bytes (4 words) per step.
    while (((data.byteOffset + i) & 3) !== 0) c = t[(c ^ data[i++]!) & 0xff]! ^ (c >>> 8);
    const steps = (end - i) >>> 4;
    const w = new Int32Array(data.buffer, data.byteOffset + i, steps * 4);
    for (let k = 0; k < w.length; k += 4) {
      const a = c ^ w[k]!;
      const b = w[k + 1]!;
      const d = w[k + 2]!;
      const e = w[k + 3]!;
      c =
        t[3840 + (a & 0xff)]! ^ t[3584 + ((a >>> 8) & 0xff)]! ^ t[3328 + ((a >>> 16) & 0xff)]! ^ t[3072 + (a >>> 24)]! ^
        t[2816 + (b & 0xff)]! ^ t[2560 + ((b >>> 8) & 0xff)]! ^ t[2304 + ((b >>> 16) & 0xff)]! ^ t[2048 + (b >>> 24)]! ^
        t[1792 + (d & 0xff)]! ^ t[1536 + ((d >>> 8) & 0xff)]! ^ t[1280 + ((d >>> 16) & 0xff)]! ^ t[1024 + (d >>> 24)]! ^
        t[768 + (e & 0xff)]! ^ t[512 + ((e >>> 8) & 0xff)]! ^ t[256 + ((e >>> 16) & 0xff)]! ^ t[e >>> 24]!;
    }
    i += steps * 16;
  }
  while (i < end) c = t[(c ^ data[i++]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}
