// xxHash32 (Cyan4973/xxHash doc/xxhash_spec.md) in TypeScript, from the specification. Not used in
// production since issue #17 (xxhash32.ts calls the runtime's built-in Bun.hash.xxHash32, which
// agreed with this one on every input tried): kept as the independent oracle the tests hold Bun's
// against, and for bench/checksums.ts.
//
//   acc1..4 = seed + P1 + P2, seed + P2, seed, seed - P1   (only when len ≥ 16)
//   each 16-byte stripe: acc_i = rotl(acc_i + lane_i * P2, 13) * P1     (lanes little-endian u32)
//   acc = len ≥ 16 ? rotl(acc1,1) + rotl(acc2,7) + rotl(acc3,12) + rotl(acc4,18) : seed + P5
//   acc += len
//   remaining 4-byte words: acc = rotl(acc + w * P3, 17) * P4
//   remaining bytes:        acc = rotl(acc + b * P5, 11) * P1
//   avalanche: acc ^= acc >>> 15; acc *= P2; acc ^= acc >>> 13; acc *= P3; acc ^= acc >>> 16
// All arithmetic is mod 2^32 (Math.imul and `| 0`).

const P1 = 0x9e3779b1 | 0;
const P2 = 0x85ebca77 | 0;
const P3 = 0xc2b2ae3d | 0;
const P4 = 0x27d4eb2f | 0;
const P5 = 0x165667b1 | 0;

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function u32le(b: Uint8Array, i: number): number {
  return b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24);
}

/** xxHash32 of `data[start, end)` with `seed`; unsigned 32-bit result. */
export function xxhash32Reference(data: Uint8Array, start = 0, end = data.length, seed = 0): number {
  const len = end - start;
  let i = start;
  let acc: number;
  if (len >= 16) {
    let a1 = (seed + P1 + P2) | 0;
    let a2 = (seed + P2) | 0;
    let a3 = seed | 0;
    let a4 = (seed - P1) | 0;
    const limit = end - 16;
    while (i <= limit) {
      a1 = Math.imul(rotl((a1 + Math.imul(u32le(data, i), P2)) | 0, 13), P1);
      a2 = Math.imul(rotl((a2 + Math.imul(u32le(data, i + 4), P2)) | 0, 13), P1);
      a3 = Math.imul(rotl((a3 + Math.imul(u32le(data, i + 8), P2)) | 0, 13), P1);
      a4 = Math.imul(rotl((a4 + Math.imul(u32le(data, i + 12), P2)) | 0, 13), P1);
      i += 16;
    }
    acc = (rotl(a1, 1) + rotl(a2, 7) + rotl(a3, 12) + rotl(a4, 18)) | 0;
  } else {
    acc = (seed + P5) | 0;
  }
  acc = (acc + len) | 0;
  while (i + 4 <= end) {
    acc = Math.imul(rotl((acc + Math.imul(u32le(data, i), P3)) | 0, 17), P4);
    i += 4;
  }
  while (i < end) {
    acc = Math.imul(rotl((acc + Math.imul(data[i]!, P5)) | 0, 11), P1);
    i++;
  }
  acc ^= acc >>> 15;
  acc = Math.imul(acc, P2);
  acc ^= acc >>> 13;
  acc = Math.imul(acc, P3);
  acc ^= acc >>> 16;
  return acc >>> 0;
}
