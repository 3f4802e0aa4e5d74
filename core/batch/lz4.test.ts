// LZ4 block + frame: frames written by the reference lz4 CLI (v1.9.4, testdata/batches/lz4-frames)
// must decode, and our frames must be what the Java client writes and what lz4 itself reads.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { CoreError } from "../errors.ts";
import { lz4FixtureInput } from "../testing/lz4-fixture-input.ts";
import { lz4CompressFrame, lz4DecompressFrame, lz4DecompressFrameSteps } from "./lz4-frame.ts";
import { xxhash32 } from "./xxhash32.ts";
import { prng, withSeed } from "../testing/seed.ts";

const FRAMES_DIR = join(import.meta.dir, "../../testdata/batches/lz4-frames");
const MiB = 1024 * 1024;

describe("frames written by the lz4 CLI", () => {
  const input = lz4FixtureInput();
  const files = readdirSync(FRAMES_DIR).filter((f) => f.endsWith(".lz4"));

  test("the fixture folder has the variants the README lists", () => {
    expect(files.sort()).toEqual([
      "block-checksum-64k.lz4",
      "content-size-256k.lz4",
      "default.lz4",
      "hc-all-flags.lz4",
      "linked-64k.lz4",
      "no-content-checksum-64k.lz4",
      "small-300.lz4",
    ]);
  });

  test.each(files)("%s decodes to its input", async (file) => {
    const frame = new Uint8Array(await Bun.file(join(FRAMES_DIR, file)).arrayBuffer());
    const want = file === "small-300.lz4" ? input.subarray(0, 300) : input;
    expect(Buffer.compare(lz4DecompressFrame(frame, MiB), want)).toBe(0);
  });

  test("linked blocks really reach into the previous block (else the fixture proves nothing)", async () => {
    const frame = new Uint8Array(await Bun.file(join(FRAMES_DIR, "linked-64k.lz4")).arrayBuffer());
    expect(frame[4]! & 0x20).toBe(0); // B.Indep clear
    // Read as if independent: a match must then fall outside its window.
    const asIndependent = frame.slice();
    asIndependent[4]! |= 0x20;
    asIndependent[6] = (xxhash32(asIndependent, 4, 6) >>> 8) & 0xff;
    expect(() => lz4DecompressFrame(asIndependent, MiB)).toThrow(/outside the window/);
  });

  test.each([
    ["content checksum", "default.lz4", (f: Uint8Array) => f.length - 1],
    ["first block checksum", "block-checksum-64k.lz4", (f: Uint8Array) => 7 + 4 + (new DataView(f.buffer).getUint32(7, true) & 0x7fffffff)],
  ])("a flipped %s is CORRUPT_BATCH", async (_what, file, at) => {
    const frame = new Uint8Array(await Bun.file(join(FRAMES_DIR, file)).arrayBuffer());
    const bad = frame.slice();
    bad[at(frame)]! ^= 0x40;
    let err: unknown;
    try {
      lz4DecompressFrame(bad, MiB);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CoreError);
    expect((err as CoreError).code).toBe("CORRUPT_BATCH");
    expect((err as CoreError).message).toContain("checksum");
  });
});

describe("frames we write", () => {
  test("start with the header the Java client writes: FLG 0x60, BD 0x40, HC 0x82", () => {
    const frame = lz4CompressFrame(new TextEncoder().encode("hello"));
    expect(Array.from(frame.subarray(0, 7))).toEqual([0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0x82]);
    expect(Array.from(frame.subarray(frame.length - 4))).toEqual([0, 0, 0, 0]);
  });

  // Skipped where the machine has no lz4 binary (Debian package lz4).
  test.skipIf(Bun.which("lz4") === null)("the lz4 CLI decodes them", () => {
    withSeed("lz4 CLI reads our frames", (seed) => {
      const rand = prng(seed);
      const inputs = [lz4FixtureInput(), new Uint8Array(0), Uint8Array.from({ length: 150_000 }, () => (rand() * 256) | 0)];
      for (const input of inputs) {
        const out = Bun.spawnSync(["lz4", "-d", "-c"], { stdin: lz4CompressFrame(input) });
        expect(out.exitCode).toBe(0);
        expect(Buffer.compare(out.stdout, input)).toBe(0);
      }
    });
  });
});

describe("block edge cases", () => {
  test("overlapping matches (offset < length) replicate the pattern", () => {
    const input = new Uint8Array(1000);
    for (let i = 0; i < input.length; i++) input[i] = "abc".charCodeAt(i % 3);
    expect(Buffer.compare(lz4DecompressFrame(lz4CompressFrame(input), MiB), input)).toBe(0);
  });

  test("a match offset of 0 or before the output start is CORRUPT_BATCH", () => {
    // Frame: header, one block: token 0x10 ('x' literal) then offset 0 and token low bits.
    const header = [0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0x82];
    for (const offset of [0, 5]) {
      const block = [0x14, 0x78, offset, 0x00, 0x00];
      const frame = Uint8Array.from([...header, block.length, 0, 0, 0, ...block, 0, 0, 0, 0]);
      expect(() => lz4DecompressFrame(frame, MiB)).toThrow(CoreError);
    }
  });
});

describe("in steps (decompress-ahead.ts slices large frames)", () => {
  const outcome = (run: () => Uint8Array): string => {
    try {
      return Buffer.from(run()).toString("hex");
    } catch (e) {
      if (!(e instanceof CoreError)) throw e;
      return `${e.code}: ${e.message}`;
    }
  };
  const stepwise = (src: Uint8Array, step: number, max = MiB) => () => {
    const steps = lz4DecompressFrameSteps(src, max, step);
    for (;;) {
      const r = steps.next();
      if (r.done) return r.value;
    }
  };

  test("steps of any size give what one go gives, output or error, for good and damaged frames", () => {
    withSeed("lz4 steps", (seed) => {
      const rand = prng(seed);
      for (let run = 0; run < 200; run++) {
        const unit = new Uint8Array(1 + Math.floor(rand() * 3000)).map(() => Math.floor(rand() * (rand() < 0.5 ? 4 : 256)));
        const times = 1 + Math.floor(rand() * 60);
        const input = new Uint8Array(unit.length * times);
        for (let i = 0; i < times; i++) input.set(unit, i * unit.length);
        const frame = lz4CompressFrame(input);
        if (rand() < 0.5) frame[7 + Math.floor(rand() * (frame.length - 7))]! ^= 0x5a;
        const step = 16 + Math.floor(rand() * 5000);
        const max = rand() < 0.2 ? Math.floor(input.length / 2) : MiB;
        expect(outcome(stepwise(frame, step, max))).toBe(outcome(() => lz4DecompressFrame(frame, max)));
      }
    });
  });

  test("the CLI's frames (linked blocks, checksums, content size) decode the same in small steps", () => {
    for (const f of readdirSync(FRAMES_DIR).filter((n) => n.endsWith(".lz4"))) {
      const frame = new Uint8Array(readFileSync(join(FRAMES_DIR, f)));
      expect(outcome(stepwise(frame, 777, 16 * MiB))).toBe(outcome(() => lz4DecompressFrame(frame, 16 * MiB)));
    }
  });
});
