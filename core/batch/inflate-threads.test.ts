import { expect, test } from "bun:test";
import * as zlib from "node:zlib";
import { inflateOffThread, inflateThreadCount } from "./inflate-threads.ts";

const plain = new Uint8Array(3 * 1024 * 1024).map((_, i) => (i * 31) & 0xff);

test("gzip and zstd inflate on worker threads; the caller's bytes stay whole, even a Buffer's view", async () => {
  // The compressed bytes as a view into a larger Buffer, as a batch sits inside its request.
  for (const [codec, packed] of [
    [1, zlib.gzipSync(plain)],
    [4, Bun.zstdCompressSync(plain)],
  ] as const) {
    const frame = Buffer.concat([Buffer.from("head"), packed, Buffer.from("tail")]);
    const view = frame.subarray(4, 4 + packed.length);
    const out = await inflateOffThread(codec, view, 64 * 1024 * 1024);
    expect(out.length).toBe(plain.length);
    expect(Buffer.compare(out, plain)).toBe(0);
    expect(frame.length).toBe(packed.length + 8); // not detached by the transfer
    expect(frame.subarray(0, 4).toString()).toBe("head");
    expect(Buffer.compare(view, packed)).toBe(0);
  }
  expect(inflateThreadCount()).toBeGreaterThanOrEqual(1);
  expect(inflateThreadCount()).toBeLessThanOrEqual(2);
});

test("past the cap: rejected as too large; damaged input: rejected with the codec's message; the thread goes on", async () => {
  const packed = Bun.zstdCompressSync(plain);
  const tooLarge = await inflateOffThread(4, packed, 1024 * 1024).catch((e) => e);
  expect(tooLarge).toBeInstanceOf(Error);
  expect(tooLarge.tooLarge).toBe(true);
  const damaged = zlib.gzipSync(plain);
  damaged.fill(0x55, 20, 60);
  const bad = await inflateOffThread(1, damaged, 64 * 1024 * 1024).catch((e) => e);
  expect(bad).toBeInstanceOf(Error);
  expect(bad.tooLarge).toBe(false);
  expect(bad.message.length).toBeGreaterThan(0);
  const again = await inflateOffThread(4, packed, 64 * 1024 * 1024);
  expect(again.length).toBe(plain.length);
});

test("two at once, each on its own thread, each gets its own answer", async () => {
  const a = new Uint8Array(2 * 1024 * 1024).fill(1);
  const b = new Uint8Array(1024 * 1024).fill(2);
  const [outA, outB] = await Promise.all([inflateOffThread(4, Bun.zstdCompressSync(a), 1 << 26), inflateOffThread(1, zlib.gzipSync(b), 1 << 26)]);
  expect(outA.length).toBe(a.length);
  expect(outA.every((x) => x === 1)).toBe(true);
  expect(outB.length).toBe(b.length);
  expect(outB.every((x) => x === 2)).toBe(true);
});
