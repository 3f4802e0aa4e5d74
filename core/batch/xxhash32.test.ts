import { describe, expect, test } from "bun:test";
import { xxhash32 } from "./xxhash32.ts";
import { xxhash32Reference } from "./xxhash32-reference.ts";
import { prng, withSeed } from "../testing/seed.ts";

const te = new TextEncoder();
const PRIME32_1 = 0x9e3779b1;

/**
 * The xxHash project's sanity buffer: byte i is the top byte of a 64-bit generator that starts at
 * PRIME32_1 and is multiplied by 11400714785074694797 after each byte (mod 2^64).
 */
function sanityBuffer(n: number): Uint8Array {
  const out = new Uint8Array(n);
  let g = BigInt(PRIME32_1);
  for (let i = 0; i < n; i++) {
    out[i] = Number(g >> 56n);
    g = BigInt.asUintN(64, g * 11400714785074694797n);
  }
  return out;
}

// Reference values: the xxHash project's own sanity checks (XXH32 over a prefix of the sanity
// buffer, seeds 0 and PRIME32_1) and `xxhsum -H0` on short strings.
const SANITY = sanityBuffer(222);
const VECTORS: { input: string; data: Uint8Array; seed: number; want: number }[] = [
  { input: '""', data: te.encode(""), seed: 0, want: 0x02cc5d05 },
  { input: '""', data: te.encode(""), seed: 1, want: 0x0b2cb792 },
  { input: '"a"', data: te.encode("a"), seed: 0, want: 0x550d7456 },
  { input: '"abc"', data: te.encode("abc"), seed: 0, want: 0x32d153ff },
  { input: '"Nobody inspects the spammish repetition"', data: te.encode("Nobody inspects the spammish repetition"), seed: 0, want: 0xe2293b2f },
  { input: "sanity[0, 0)", data: SANITY.subarray(0, 0), seed: PRIME32_1, want: 0x36b78ae7 },
  { input: "sanity[0, 1)", data: SANITY.subarray(0, 1), seed: 0, want: 0xcf65b03e },
  { input: "sanity[0, 1)", data: SANITY.subarray(0, 1), seed: PRIME32_1, want: 0xb4545aa4 },
  { input: "sanity[0, 14)", data: SANITY.subarray(0, 14), seed: 0, want: 0x1208e7e2 },
  { input: "sanity[0, 14)", data: SANITY.subarray(0, 14), seed: PRIME32_1, want: 0x6af1d1fe },
  { input: "sanity[0, 222)", data: SANITY, seed: 0, want: 0x5bd11dbd },
  { input: "sanity[0, 222)", data: SANITY, seed: PRIME32_1, want: 0x58803c5f },
];

describe.each([
  ["xxhash32 (Bun.hash.xxHash32)", xxhash32],
  ["xxhash32Reference (ours, the oracle)", xxhash32Reference],
] as const)("%s", (_name, hash) => {
  test.each(VECTORS)("$input, seed $seed", ({ data, seed, want }) => {
    expect(hash(data, 0, data.length, seed)).toBe(want);
  });

  test("range arguments hash the same bytes as a copy", () => {
    const data = te.encode("xx The quick brown fox jumps over the lazy dog yy");
    expect(hash(data, 3, data.length - 3)).toBe(hash(data.slice(3, data.length - 3)));
  });
});

test("Bun.hash.xxHash32 equals ours on random inputs, ranges, views with a byteOffset and seeds (issue #17)", () => {
  withSeed("xxhash32 against xxhash32Reference", (seed) => {
    const rand = prng(seed);
    const buf = new Uint8Array(300_000);
    for (let i = 0; i < buf.length; i++) buf[i] = (rand() * 256) | 0;
    for (let n = 0; n < 400; n++) {
      const size = n < 100 ? n : n < 350 ? (rand() * 5000) | 0 : (rand() * 290_000) | 0;
      const start = (rand() * 64) | 0;
      const end = start + size;
      // Seeds across the whole unsigned range: past 2^31 they must not be taken as negative.
      const hashSeed = n % 3 === 0 ? 0 : Math.floor(rand() * 2 ** 32);
      const want = xxhash32Reference(buf, start, end, hashSeed);
      expect(xxhash32(buf, start, end, hashSeed)).toBe(want);
      expect(xxhash32(buf.subarray(start, end), 0, size, hashSeed)).toBe(want);
      expect(Bun.hash.xxHash32(buf.subarray(start, end), hashSeed)).toBe(want);
    }
  });
});
