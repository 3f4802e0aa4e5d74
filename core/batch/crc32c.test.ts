import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { crc32c, crc32cNative, NATIVE_MIN_BYTES } from "./crc32c.ts";
import { crc32cSlicing } from "./crc32c-slicing.ts";
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

function randomBytes(rand: () => number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (rand() * 256) | 0;
  return out;
}

// RFC 3720 (iSCSI) appendix B.4 vectors and the classic check value.
const VECTORS: [string, Uint8Array, number][] = [
  ["123456789", new TextEncoder().encode("123456789"), 0xe3069283],
  ["32 zeros", new Uint8Array(32), 0x8a9136aa],
  ["32 x 0xff", new Uint8Array(32).fill(0xff), 0x62a8ab43],
  ["0..31", Uint8Array.from({ length: 32 }, (_, i) => i), 0x46dd794e],
  ["31..0", Uint8Array.from({ length: 32 }, (_, i) => 31 - i), 0x113fdb5c],
  ["empty", new Uint8Array(0), 0],
];

/** Where the platform has a prebuilt `@node-rs/crc32` binary that our lockfile installs. */
const NATIVE_PLATFORMS = ["linux-x64", "linux-arm64", "darwin-x64", "darwin-arm64", "win32-x64"];
const platform = `${process.platform}-${process.arch}`;

describe("crc32cSlicing (ours, the oracle)", () => {
  test.each(VECTORS)("%s", (_name, data, want) => {
    expect(crc32cSlicing(data)).toBe(want);
  });

  test("matches the bitwise reference at every length, alignment and split", () => {
    withSeed("crc32cSlicing random ranges", (seed) => {
      const rand = prng(seed);
      const buf = randomBytes(rand, 4096 + 16);
      for (let n = 0; n < 300; n++) {
        const start = (rand() * 16) | 0;
        const len = n < 200 ? n : (rand() * 4096) | 0;
        const end = start + len;
        const want = crc32cBitwise(buf, start, end);
        expect(crc32cSlicing(buf, start, end)).toBe(want);
        // Subarray with an odd byteOffset: nothing may assume alignment.
        expect(crc32cSlicing(buf.subarray(start, end))).toBe(want);
        // Continuing from a partial CRC gives the CRC of the whole.
        const mid = start + ((rand() * (len + 1)) | 0);
        expect(crc32cSlicing(buf, mid, end, crc32cSlicing(buf, start, mid))).toBe(want);
      }
    });
  });
});

describe("crc32c (native from NATIVE_MIN_BYTES where it loaded)", () => {
  test.skipIf(!NATIVE_PLATFORMS.includes(platform))(`the native module loads on ${platform} (else every CRC runs at a third of the speed, silently)`, () => {
    expect(crc32cNative).not.toBeNull();
  });

  test.each(VECTORS)("%s", (_name, data, want) => {
    expect(crc32c(data)).toBe(want);
    if (crc32cNative) expect(crc32cNative(data, 0)).toBe(want);
  });

  test("equals ours on random inputs of many sizes, as ranges, as views with a byteOffset, and continued", () => {
    withSeed("crc32c against crc32cSlicing", (seed) => {
      const rand = prng(seed);
      const buf = randomBytes(rand, (1 << 20) + 64);
      const sizes = [0, 1, 15, 16, 17, 63, 64, 255, 256, NATIVE_MIN_BYTES - 1, NATIVE_MIN_BYTES, NATIVE_MIN_BYTES + 1, 4095, 4096, 65536, 1 << 20];
      for (let n = 0; n < 200; n++) sizes.push((rand() * (n < 100 ? 2 * NATIVE_MIN_BYTES : 65536)) | 0);
      for (const size of sizes) {
        const start = (rand() * 64) | 0;
        const end = start + size;
        const want = crc32cSlicing(buf, start, end);
        expect(crc32c(buf, start, end)).toBe(want);
        // A view whose byteOffset is not 0: the native side must read from the view's start.
        const view = buf.subarray(start, end);
        expect(crc32c(view)).toBe(want);
        if (crc32cNative) expect(crc32cNative(view, 0)).toBe(want);
        // A copy of its own (byteOffset 0, no shared buffer).
        expect(crc32c(view.slice())).toBe(want);
        const mid = start + ((rand() * (size + 1)) | 0);
        expect(crc32c(buf, mid, end, crc32c(buf, start, mid))).toBe(want);
        if (crc32cNative) expect(crc32cNative(buf.subarray(mid, end), crc32cSlicing(buf, start, mid))).toBe(want);
      }
    });
  });

  test("falls back to ours when the native module cannot load", async () => {
    // The package's loader takes NAPI_RS_NATIVE_LIBRARY_PATH as the only place to look, so a path
    // that does not exist makes it throw as it would on a platform without a binary.
    const script = [
      `import { crc32c, crc32cNative } from ${JSON.stringify(join(import.meta.dir, "crc32c.ts"))};`,
      "const data = new Uint8Array(100000).map((_, i) => (i * 31) & 0xff);",
      "console.log(JSON.stringify({ loaded: crc32cNative !== null, check: crc32c(new TextEncoder().encode('123456789')), big: crc32c(data, 7) }));",
    ].join("\n");
    const run = (env: Record<string, string>) =>
      Bun.spawn([process.execPath, "-e", script], { env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
    const data = new Uint8Array(100000).map((_, i) => (i * 31) & 0xff);
    const child = run({ NAPI_RS_NATIVE_LIBRARY_PATH: "/nonexistent/crc32.node" });
    const [out, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
    expect({ code, err }).toEqual({ code: 0, err: "" });
    expect(JSON.parse(out)).toEqual({ loaded: false, check: 0xe3069283, big: crc32cSlicing(data, 7) });
  });
});
