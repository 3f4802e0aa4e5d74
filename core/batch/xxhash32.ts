// xxHash32 for the LZ4 frame format (lz4-frame.ts): the frame descriptor's header checksum,
// optional block checksums and the optional content checksum. Bun's built-in (Bun.hash.xxHash32)
// does the work; this adds the `[start, end)` range form the frame code reads with. Our own
// TypeScript version, which it replaced, is xxhash32-reference.ts, the tests' oracle.

/** xxHash32 of `data[start, end)` with `seed`; unsigned 32-bit result. */
export function xxhash32(data: Uint8Array, start = 0, end = data.length, seed = 0): number {
  return Bun.hash.xxHash32(start === 0 && end === data.length ? data : data.subarray(start, end), seed);
}
