// Big-endian integers read from and written to a Uint8Array directly, without a DataView.
//
// Why not DataView: a DataView needs the array's ArrayBuffer, and asking a small typed array
// (every socket read Bun hands us, every `new Uint8Array(n)` of up to ~1 KB) for `.buffer` makes
// JavaScriptCore give it an ArrayBuffer of its own. Every such ArrayBuffer that dies lengthens the
// next young-generation collection: with BUN_JSC_logGC=1, a loop allocating small buffers paused
// 0.2–0.3 ms per collection, the same loop touching `.buffer` 0.9–1.5 ms — and the broker touched
// it several times per request. So everything on the request path (the protocol reader and
// writer, batch headers on produce, fetch and in the client) reads and writes bytes here.
// DataView stays where a buffer lives long (recovery's scan buffer, index files, compression).
//
// 64-bit values come in two forms: as numbers (offsets, timestamps, producer ids: exact within
// ±2^53), and as bigints through one shared 8-byte scratch whose DataView is made once.

const TWO_32 = 4294967296;
const scratch = new Uint8Array(8);
const scratchView = new DataView(scratch.buffer);

export function int8(b: Uint8Array, p: number): number {
  return (b[p]! << 24) >> 24;
}

export function int16(b: Uint8Array, p: number): number {
  return (((b[p]! << 8) | b[p + 1]!) << 16) >> 16;
}

export function uint16(b: Uint8Array, p: number): number {
  return (b[p]! << 8) | b[p + 1]!;
}

export function int32(b: Uint8Array, p: number): number {
  return (b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!;
}

export function uint32(b: Uint8Array, p: number): number {
  return int32(b, p) >>> 0;
}

/** A big-endian int64 as a number: exact within ±2^53, beyond that the nearest double. */
export function int64(b: Uint8Array, p: number): number {
  return int32(b, p) * TWO_32 + uint32(b, p + 4);
}

export function bigInt64(b: Uint8Array, p: number): bigint {
  for (let i = 0; i < 8; i++) scratch[i] = b[p + i]!;
  return scratchView.getBigInt64(0);
}

export function float64(b: Uint8Array, p: number): number {
  for (let i = 0; i < 8; i++) scratch[i] = b[p + i]!;
  return scratchView.getFloat64(0);
}

/** Little-endian float64 (the bench's timestamps inside record values). */
export function float64LE(b: Uint8Array, p: number): number {
  for (let i = 0; i < 8; i++) scratch[i] = b[p + i]!;
  return scratchView.getFloat64(0, true);
}

export function setInt8(b: Uint8Array, p: number, v: number): void {
  b[p] = v;
}

export function setInt16(b: Uint8Array, p: number, v: number): void {
  b[p] = v >>> 8;
  b[p + 1] = v;
}

export function setInt32(b: Uint8Array, p: number, v: number): void {
  b[p] = v >>> 24;
  b[p + 1] = v >>> 16;
  b[p + 2] = v >>> 8;
  b[p + 3] = v;
}

/** Writes `v`, an integer within ±2^53, as a big-endian int64. */
export function setInt64(b: Uint8Array, p: number, v: number): void {
  const hi = Math.floor(v / TWO_32);
  setInt32(b, p, hi);
  setInt32(b, p + 4, v - hi * TWO_32);
}

export function setBigInt64(b: Uint8Array, p: number, v: bigint): void {
  scratchView.setBigInt64(0, v);
  b.set(scratch, p);
}

export function setFloat64(b: Uint8Array, p: number, v: number): void {
  scratchView.setFloat64(0, v);
  b.set(scratch, p);
}

/** Little-endian float64 (the bench's timestamps inside record values). */
export function setFloat64LE(b: Uint8Array, p: number, v: number): void {
  scratchView.setFloat64(0, v, true);
  b.set(scratch, p);
}
