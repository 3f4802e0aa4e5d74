import { describe, expect, test } from "bun:test";
import { crc32c } from "./crc32c.ts";
import { prng, withSeed } from "../testing/seed.ts";

/** Bit-at-a-time reference: slow, obviously right. */
function crc32cBitwise(data: Uint8Array, start = 0, end = data.length): number {
  let c = ~0;
  for (let i = start; i < end; i++) {
    c ^= data[i]!;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return ~c >>> 0;
}

describe("crc32c", () => {
  // RFC 3720 (iSCSI) appendix B.4 vectors and the classic check value.
  test.each([
    ["123456789", new TextEncoder().encode("123456789"), 0xe3069283],
    ["32 zeros", new Uint8Array(32), 0x8a9136aa],
    ["32 x 0xff", new Uint8Array(32).fill(0xff), 0x62a8ab43],
    ["0..31", Uint8Array.from({ length: 32 }, (_, i) => i), 0x46dd794e],
    ["31..0", Uint8Array.from({ length: 32 }, (_, i) => 31 - i), 0x113fdb5c],
    ["empty", new Uint8Array(0), 0],
  ])("%s", (_name, data, want) => {
    expect(crc32c(data)).toBe(want);
  });

  test("matches the bitwise reference at every length, alignment and split", () => {
    withSeed("crc32c random ranges", (seed) => {
      const rand = prng(seed);
      const buf = new Uint8Array(4096 + 16);
      for (let i = 0; i < buf.length; i++) buf[i] = (rand() * 256) | 0;
      for (let n = 0; n < 300; n++) {
        const start = (rand() * 16) | 0;
        const len = n < 200 ? n : (rand() * 4096) | 0;
        const end = start + len;
        const want = crc32cBitwise(buf, start, end);
        expect(crc32c(buf, start, end)).toBe(want);
        // Subarray with an odd byteOffset: the word path must not assume alignment.
        expect(crc32c(buf.subarray(start, end))).toBe(want);
        // Continuing from a partial CRC gives the CRC of the whole.
        const mid = start + ((rand() * (len + 1)) | 0);
        expect(crc32c(buf, mid, end, crc32c(buf, start, mid))).toBe(want);
      }
    });
  });
});
