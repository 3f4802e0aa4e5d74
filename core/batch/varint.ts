// Zigzag varints as Kafka records use them (DefaultRecord.java, ByteUtils.java), written without
// BigInt on the hot path.
//
//   zigzag(n)  = n >= 0 ? 2n : -2n - 1          (0→0, -1→1, 1→2, -2→3, …)
//   varint     = zigzag of an int32, 7 bits per byte, least significant group first,
//                high bit set on every byte but the last; at most 5 bytes
//   varlong    = zigzag of an int64, the same way; at most 10 bytes
//
// Numbers in JavaScript are doubles, so a varlong is exact while |n| ≤ 2^52 (its zigzag then fits
// in 2^53). Timestamp deltas of real clients are far inside that; values outside take a BigInt
// path so they are still encoded correctly (decoding returns the nearest double).

const TWO_31 = 2147483648;
const SAFE_ZIGZAG_MAX = 2 ** 52;

/** Bytes needed for `n` (an int32) as a zigzag varint. */
export function sizeOfVarint(n: number): number {
  const z = ((n << 1) ^ (n >> 31)) >>> 0;
  if (z < 0x80) return 1;
  if (z < 0x4000) return 2;
  if (z < 0x200000) return 3;
  if (z < 0x10000000) return 4;
  return 5;
}

/** Writes `n` (an int32) as a zigzag varint at `pos`; returns the position after it. */
export function writeVarint(buf: Uint8Array, pos: number, n: number): number {
  let z = ((n << 1) ^ (n >> 31)) >>> 0;
  while (z >= 0x80) {
    buf[pos++] = (z & 0x7f) | 0x80;
    z >>>= 7;
  }
  buf[pos++] = z;
  return pos;
}

/** Zigzag of an integer within ±2^52 as a non-negative double (exact). */
function zigzag(n: number): number {
  return n >= 0 ? n * 2 : -n * 2 - 1;
}

/** Bytes needed for `n` (an integer) as a zigzag varlong. */
export function sizeOfVarlong(n: number): number {
  if (n >= -0x40000000 && n < 0x40000000) return sizeOfVarint(n);
  if (Math.abs(n) > SAFE_ZIGZAG_MAX) return sizeOfVarlongBig(BigInt(n));
  let z = zigzag(n);
  let size = 1;
  while (z >= 0x80) {
    z = Math.floor(z / 128);
    size++;
  }
  return size;
}

/** Writes `n` (an integer) as a zigzag varlong at `pos`; returns the position after it. */
export function writeVarlong(buf: Uint8Array, pos: number, n: number): number {
  if (n >= -0x40000000 && n < 0x40000000) return writeVarint(buf, pos, n);
  if (Math.abs(n) > SAFE_ZIGZAG_MAX) return writeVarlongBig(buf, pos, BigInt(n));
  let z = zigzag(n);
  while (z >= TWO_31) {
    buf[pos++] = (z % 128) | 0x80;
    z = Math.floor(z / 128);
  }
  let small = z >>> 0;
  while (small >= 0x80) {
    buf[pos++] = (small & 0x7f) | 0x80;
    small >>>= 7;
  }
  buf[pos++] = small;
  return pos;
}

function zigzagBig(n: bigint): bigint {
  const x = BigInt.asIntN(64, n);
  return BigInt.asUintN(64, (x << 1n) ^ (x >> 63n));
}

function sizeOfVarlongBig(n: bigint): number {
  let z = zigzagBig(n);
  let size = 1;
  while (z >= 0x80n) {
    z >>= 7n;
    size++;
  }
  return size;
}

function writeVarlongBig(buf: Uint8Array, pos: number, n: bigint): number {
  let z = zigzagBig(n);
  while (z >= 0x80n) {
    buf[pos++] = Number(z & 0x7fn) | 0x80;
    z >>= 7n;
  }
  buf[pos++] = Number(z);
  return pos;
}

/** Undoes zigzag for a varlong whose unsigned value did not fit 2^53: decodes exactly as BigInt
 * from the bytes, then returns the nearest double. `start` is the first byte, `count` how many. */
export function varlongFromBytesBig(buf: Uint8Array, start: number, count: number): number {
  let z = 0n;
  for (let k = count - 1; k >= 0; k--) z = (z << 7n) | BigInt(buf[start + k]! & 0x7f);
  z = BigInt.asUintN(64, z);
  const n = (z >> 1n) ^ -(z & 1n);
  return Number(BigInt.asIntN(64, n));
}
