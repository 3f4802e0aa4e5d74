import { describe, expect, test } from "bun:test";
import * as zlib from "node:zlib";
import fc from "fast-check";
import { CoreError } from "../errors.ts";
import { codecFromName, codecName, compress, decompress, gzipDeclaredBytes, zstdDeclaredBytes } from "./codecs.ts";
import { Codec } from "./header.ts";
import { prng, SEED, withSeed } from "../testing/seed.ts";

const CODECS = [Codec.None, Codec.Gzip, Codec.Snappy, Codec.Lz4, Codec.Zstd] as const;
const COMPRESSED = [Codec.Gzip, Codec.Snappy, Codec.Lz4, Codec.Zstd] as const;
const MiB = 1024 * 1024;

/** Calls `fn`; passes if it returns or throws a CoreError, fails on anything else. */
function typedOrOk(fn: () => unknown): CoreError | null {
  try {
    fn();
    return null;
  } catch (e) {
    if (!(e instanceof CoreError)) throw new Error(`untyped error: ${String(e)}`, { cause: e });
    return e;
  }
}

function codeOf(fn: () => unknown): string {
  const e = typedOrOk(fn);
  return e === null ? "ok" : e.code;
}

describe.each(CODECS.map((c) => [codecName(c), c] as const))("%s", (_name, codec) => {
  test("round trips random and repetitive bytes", () => {
    const data = fc.oneof(
      fc.uint8Array({ maxLength: 3000 }),
      fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 5000 })).map(([unit, times]) => {
        const out = new Uint8Array(unit.length * times);
        for (let i = 0; i < times; i++) out.set(unit, i * unit.length);
        return out;
      }),
    );
    fc.assert(
      fc.property(data, (input) => {
        const packed = compress(codec, input);
        expect(Buffer.compare(decompress(codec, packed), input)).toBe(0);
      }),
      { seed: SEED, numRuns: 150 },
    );
  });

  test("round trips empty, large and incompressible inputs", () => {
    withSeed(`${codecName(codec)} sizes`, (seed) => {
      const rand = prng(seed);
      const random = Uint8Array.from({ length: 300_000 }, () => (rand() * 256) | 0);
      for (const input of [new Uint8Array(0), new Uint8Array(1), new Uint8Array(2 * MiB), random]) {
        expect(Buffer.compare(decompress(codec, compress(codec, input)), input)).toBe(0);
      }
    });
  });

  test("output exactly at the cap is fine, one byte over is DECOMPRESSION_LIMIT", () => {
    const packed = compress(codec, new Uint8Array(5000).fill(7));
    expect(decompress(codec, packed, 5000).length).toBe(5000);
    expect(codeOf(() => decompress(codec, packed, 4999))).toBe("DECOMPRESSION_LIMIT");
  });
});

describe.each(COMPRESSED.map((c) => [codecName(c), c] as const))("%s on bad input", (_name, codec) => {
  test("truncated at every position: a CoreError or a shorter valid stream, never untyped", () => {
    const input = new TextEncoder().encode("the quick brown fox ".repeat(200));
    const packed = compress(codec, input);
    for (let cut = 0; cut < packed.length; cut++) typedOrOk(() => decompress(codec, packed.subarray(0, cut)));
  });

  test("random garbage and bit flips never throw untyped", () => {
    withSeed(`${codecName(codec)} garbage`, (seed) => {
      const rand = prng(seed);
      const packed = compress(codec, new TextEncoder().encode("hello kafka batch ".repeat(300)));
      for (let n = 0; n < 300; n++) {
        const garbage = Uint8Array.from({ length: (rand() * 200) | 0 }, () => (rand() * 256) | 0);
        typedOrOk(() => decompress(codec, garbage, MiB));
        const flipped = packed.slice();
        const at = (rand() * flipped.length) | 0;
        flipped[at]! ^= 1 << ((rand() * 8) | 0);
        typedOrOk(() => decompress(codec, flipped, MiB));
      }
    });
  });
});

describe("decompression bombs stop at the cap with a typed error and bounded memory", () => {
  const GiB = 1024 * MiB;
  const zeros16 = new Uint8Array(16 * MiB);

  /** 1 GiB of zeros as 64 concatenated members/frames of 16 MiB (gzip and zstd both allow that). */
  function concatenated(member: Uint8Array, times: number): Uint8Array {
    const out = new Uint8Array(member.length * times);
    for (let i = 0; i < times; i++) out.set(member, i * member.length);
    return out;
  }

  function expectCapped(codec: Codec, bomb: Uint8Array, expandsTo: number): void {
    expect(expandsTo).toBeGreaterThanOrEqual(GiB);
    const before = process.resourceUsage().maxRSS * 1024;
    const err = typedOrOk(() => decompress(codec, bomb));
    expect(err?.code).toBe("DECOMPRESSION_LIMIT");
    const grew = process.resourceUsage().maxRSS * 1024 - before;
    // The cap is 64 MiB; inflating the bomb would take 1 GiB.
    expect(grew).toBeLessThan(512 * MiB);
  }

  test("gzip: 1 GiB of zeros", () => {
    const bomb = concatenated(zlib.gzipSync(zeros16, { level: 9 }), 64);
    expect(Buffer.compare(zlib.gunzipSync(bomb.subarray(0, bomb.length / 64)), zeros16)).toBe(0);
    expectCapped(Codec.Gzip, bomb, 64 * zeros16.length);
  });

  test("zstd: 1 GiB of zeros", () => {
    const bomb = concatenated(Bun.zstdCompressSync(zeros16, { level: 19 }), 64);
    expectCapped(Codec.Zstd, bomb, 64 * zeros16.length);
  });

  test("lz4: 1 GiB of zeros as 16384 independent 64 KiB blocks", () => {
    // Take one compressed block of 64 KiB of zeros out of our own frame and repeat it.
    const one = compress(Codec.Lz4, new Uint8Array(64 * 1024));
    const blockLen = new DataView(one.buffer, one.byteOffset).getUint32(7, true);
    const block = one.subarray(7, 7 + 4 + blockLen);
    const blocks = 16384;
    const bomb = new Uint8Array(7 + blocks * block.length + 4);
    bomb.set(one.subarray(0, 7), 0);
    for (let i = 0; i < blocks; i++) bomb.set(block, 7 + i * block.length);
    expect(bomb.length).toBeLessThan(8 * MiB);
    expectCapped(Codec.Lz4, bomb, blocks * 64 * 1024);
  });

  test("snappy: a preamble claiming 1 GiB fails before allocating", () => {
    // varint(2^30) then a few bytes: the length alone must trip the cap.
    const bomb = Uint8Array.from([0x80, 0x80, 0x80, 0x80, 0x04, 0x00, 0x00]);
    expectCapped(Codec.Snappy, bomb, GiB);
  });

  test("snappy: xerial chunks adding up past the cap fail before allocating", () => {
    const one = compress(Codec.Snappy, new Uint8Array(32 * 1024));
    const chunk = one.subarray(16);
    const chunks = 32768; // × 32 KiB = 1 GiB
    const bomb = new Uint8Array(16 + chunks * chunk.length);
    bomb.set(one.subarray(0, 16), 0);
    for (let i = 0; i < chunks; i++) bomb.set(chunk, 16 + i * chunk.length);
    expectCapped(Codec.Snappy, bomb, chunks * 32 * 1024);
  });
});

describe("codec names", () => {
  test.each([
    ["none", Codec.None],
    ["gzip", Codec.Gzip],
    ["snappy", Codec.Snappy],
    ["lz4", Codec.Lz4],
    ["zstd", Codec.Zstd],
  ])("%s", (name, codec) => {
    expect(codecFromName(name)).toBe(codec);
    expect(codecName(codec)).toBe(name);
  });

  test("unknown names and codec numbers are UNSUPPORTED_COMPRESSION", () => {
    expect(codeOf(() => codecFromName("brotli"))).toBe("UNSUPPORTED_COMPRESSION");
    expect(codeOf(() => decompress(5 as Codec, new Uint8Array(3)))).toBe("UNSUPPORTED_COMPRESSION");
  });
});

describe("declared sizes (issue #18: a bomb that says its size is refused without inflating)", () => {
  test.each([0, 1, 255, 256, 300, 65_791, 65_792, 1 << 20, (1 << 20) * 100])("zstd and gzip of %d bytes declare it", (n) => {
    const data = new Uint8Array(n).fill(7);
    expect(zstdDeclaredBytes(Bun.zstdCompressSync(data))).toBe(n);
    expect(gzipDeclaredBytes(Bun.gzipSync(data))).toBe(n);
  });

  test("a bomb over the cap is DECOMPRESSION_LIMIT from its header alone; garbage declares nothing", () => {
    const bomb = Bun.zstdCompressSync(new Uint8Array(64 * 1024 * 1024 + 1));
    expect(() => decompress(Codec.Zstd, bomb, 1024)).toThrow(expect.objectContaining({ code: "DECOMPRESSION_LIMIT" }));
    expect(zstdDeclaredBytes(new Uint8Array(10))).toBe(-1);
    expect(gzipDeclaredBytes(new Uint8Array(10))).toBe(-1);
  });
});
