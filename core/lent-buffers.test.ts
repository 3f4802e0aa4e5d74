import { describe, expect, test } from "bun:test";
import { giveBack, lendBuffer, LentBuffers, lendSpare, RECYCLE_MIN_BYTES, spareCapacities } from "./lent-buffers.ts";

describe("lent buffers", () => {
  test("a buffer given back is lent again to a read that fits it, once; views never lent are refused", () => {
    // Sizes no other test in the process uses (spares are shared by every log of a process).
    const a = lendBuffer(37 * 1024 * 1024 + 5);
    expect(a.length).toBe(37 * 1024 * 1024 + 5);
    expect(a.buffer.byteLength).toBe(38 * 1024 * 1024); // capacity in 1 MiB steps
    a.fill(7);
    expect(giveBack(a.subarray(100, 200_000))).toBe(true); // any view of it will do
    expect(giveBack(a)).toBe(false); // once
    expect(spareCapacities()).toContain(38 * 1024 * 1024);
    const b = lendBuffer(37 * 1024 * 1024 + 900_000);
    expect(b.buffer).toBe(a.buffer);
    expect(b.length).toBe(37 * 1024 * 1024 + 900_000);
    expect(spareCapacities()).not.toContain(38 * 1024 * 1024);
    expect(giveBack(new Uint8Array(RECYCLE_MIN_BYTES))).toBe(false); // never lent
    expect(giveBack(b.subarray(0, 100))).toBe(false); // too small a view to look at
    expect(giveBack(b)).toBe(true);
  });

  test("at most six spares wait; a larger buffer given back replaces the smallest", () => {
    const lent = [41, 42, 43, 44, 45, 46, 47].map((mib) => lendBuffer(mib * 1024 * 1024));
    for (const v of lent) expect(giveBack(v)).toBe(true);
    expect(spareCapacities()).toEqual([47, 46, 45, 44, 43, 42].map((mib) => mib * 1024 * 1024));
  });

  test("lendSpare lends only what waits: null when no spare is large enough", () => {
    const big = spareCapacities()[0]!;
    expect(lendSpare(big + 1)).toBeNull();
    const v = lendSpare(big - 10)!;
    expect(v.length).toBe(big - 10);
    expect(v.buffer.byteLength).toBe(big);
    expect(spareCapacities()).not.toContain(big);
    expect(giveBack(v)).toBe(true);
    expect(spareCapacities()[0]).toBe(big);
  });

  test("a pool of its own (a client connection's): two spares, and views under its floor are not looked at", () => {
    const pool = new LentBuffers(2, 64 * 1024);
    const a = pool.lend(3 * 1024 * 1024);
    expect(pool.giveBack(a.subarray(0, 60 * 1024))).toBe(false); // under the floor: ignored
    expect(pool.giveBack(a)).toBe(true);
    const views = [1, 2, 4].map((mib) => pool.lend(mib * 1024 * 1024)); // the first fits in a's buffer
    expect(views[0]!.buffer).toBe(a.buffer);
    for (const v of views) expect(pool.giveBack(v)).toBe(true); // 3, 2, then 4 replaces 2
    expect(pool.spareCapacities()).toEqual([4, 3].map((mib) => mib * 1024 * 1024));
  });
});
