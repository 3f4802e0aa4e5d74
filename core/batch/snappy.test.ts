// Snappy: hand-assembled raw blocks (one per element kind, from the format description), the
// xerial layout the Java client writes, and raw blocks as librdkafka writes them.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { CoreError } from "../errors.ts";
import { snappyCompressRaw, snappyCompressXerial, snappyDecompress, snappyDecompressSteps } from "./snappy.ts";
import { SEED } from "../testing/seed.ts";

const MiB = 1024 * 1024;
const te = new TextEncoder();
const td = new TextDecoder();

function decode(bytes: number[]): string {
  return td.decode(snappyDecompress(Uint8Array.from(bytes), MiB));
}

function codeOf(bytes: number[]): string {
  try {
    snappyDecompress(Uint8Array.from(bytes), MiB);
    return "ok";
  } catch (e) {
    if (!(e instanceof CoreError)) throw e;
    return e.code;
  }
}

const abcd = [0x61, 0x62, 0x63, 0x64];

describe("raw block elements", () => {
  test("literal then 1-byte-offset copy (len 8, offset 4)", () => {
    expect(decode([12, 3 << 2, ...abcd, 1 | ((8 - 4) << 2), 4])).toBe("abcd".repeat(3));
  });

  test("2-byte-offset copy (len 8, offset 4)", () => {
    expect(decode([12, 3 << 2, ...abcd, 2 | ((8 - 1) << 2), 4, 0])).toBe("abcd".repeat(3));
  });

  test("4-byte-offset copy (len 4, offset 4)", () => {
    expect(decode([8, 3 << 2, ...abcd, 3 | ((4 - 1) << 2), 4, 0, 0, 0])).toBe("abcd".repeat(2));
  });

  test("literal with a 1-byte length extension (tag 60)", () => {
    const text = "x".repeat(100);
    expect(decode([100, 60 << 2, 99, ...te.encode(text)])).toBe(text);
  });

  test.each([
    ["copy offset 0", [8, 3 << 2, ...abcd, 1 | (0 << 2), 0]],
    ["copy offset before the output", [8, 3 << 2, ...abcd, 1 | (0 << 2), 9]],
    ["copy past the declared length", [6, 3 << 2, ...abcd, 1 | (0 << 2), 4]],
    ["literal past the input", [8, 7 << 2, ...abcd]],
    ["output shorter than the preamble", [9, 3 << 2, ...abcd, 1 | (0 << 2), 4]],
    ["empty input", []],
    ["preamble over 5 bytes", [0x80, 0x80, 0x80, 0x80, 0x80, 0x01]],
  ])("%s is CORRUPT_BATCH", (_name, bytes) => {
    expect(codeOf(bytes)).toBe("CORRUPT_BATCH");
  });
});

describe("framing", () => {
  test("xerial: magic, version 1, compatible 1, then [int32 BE length][raw block] of ≤ 32 KiB each", () => {
    const input = new Uint8Array(70_000).map((_, i) => i % 251);
    const framed = snappyCompressXerial(input);
    expect(Array.from(framed.subarray(0, 16))).toEqual([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0, 0, 0, 0, 1, 0, 0, 0, 1]);
    const view = new DataView(framed.buffer, framed.byteOffset, framed.byteLength);
    const chunkInputs: number[] = [];
    let pos = 16;
    while (pos < framed.length) {
      const size = view.getInt32(pos);
      const block = framed.subarray(pos + 4, pos + 4 + size);
      chunkInputs.push(snappyDecompress(block, MiB).length); // each chunk is a raw block on its own
      pos += 4 + size;
    }
    expect(pos).toBe(framed.length);
    expect(chunkInputs).toEqual([32768, 32768, 70_000 - 65536]);
  });

  test("xerial output of an empty input is longer than librdkafka's 20-byte framing threshold", () => {
    expect(snappyCompressXerial(new Uint8Array(0)).length).toBeGreaterThan(20);
    expect(snappyDecompress(snappyCompressXerial(new Uint8Array(0)), MiB).length).toBe(0);
  });

  test("raw blocks (what librdkafka writes) and xerial frames both decode", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 5000 }), fc.integer({ min: 1, max: 20 }), (unit, times) => {
        const input = new Uint8Array(unit.length * times);
        for (let i = 0; i < times; i++) input.set(unit, i * unit.length);
        expect(Buffer.compare(snappyDecompress(snappyCompressRaw(input), MiB), input)).toBe(0);
        expect(Buffer.compare(snappyDecompress(snappyCompressXerial(input), MiB), input)).toBe(0);
      }),
      { seed: SEED, numRuns: 200 },
    );
  });

  test("the compressor finds repeats (a 64 KiB run of one byte shrinks ~20x as google/snappy does)", () => {
    expect(snappyCompressRaw(new Uint8Array(65536)).length).toBeLessThan(65536 / 15);
  });
});

describe("in steps (decompress-ahead.ts slices large blocks)", () => {
  const outcome = (run: () => Uint8Array): string => {
    try {
      return Buffer.from(run()).toString("hex");
    } catch (e) {
      if (!(e instanceof CoreError)) throw e;
      return `${e.code}: ${e.message}`;
    }
  };
  const stepwise = (src: Uint8Array, step: number) => () => {
    const steps = snappyDecompressSteps(src, MiB, step);
    let yields = 0;
    for (;;) {
      const r = steps.next();
      if (r.done) return r.value;
      yields++;
      if (yields > 1 << 24) throw new Error("no progress");
    }
  };

  test("steps of any size give what one go gives, output or error, for good and damaged raw blocks and xerial frames", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), fc.integer({ min: 1, max: 30 }), fc.integer({ min: 16, max: 5000 }), fc.integer({ min: -1, max: 5000 }), (unit, times, step, damageAt) => {
        const input = new Uint8Array(unit.length * times);
        for (let i = 0; i < times; i++) input.set(unit, i * unit.length);
        for (const packed of [snappyCompressRaw(input), snappyCompressXerial(input)]) {
          if (damageAt >= 0 && packed.length > 0) packed[damageAt % packed.length]! ^= 0x5a;
          expect(outcome(stepwise(packed, step))).toBe(outcome(() => snappyDecompress(packed, MiB)));
        }
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  test("a large block yields about once per step", () => {
    const input = new Uint8Array(MiB).map((_, i) => i % 61);
    const steps = snappyDecompressSteps(snappyCompressRaw(input), MiB, 64 * 1024);
    let yields = 0;
    let r = steps.next();
    for (; !r.done; r = steps.next()) yields++;
    expect(Buffer.compare(r.value, input)).toBe(0);
    expect(yields).toBeGreaterThanOrEqual(15);
    expect(yields).toBeLessThanOrEqual(16);
  });
});
