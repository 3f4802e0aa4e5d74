import { describe, expect, test } from "bun:test";
import { giveBack, RECYCLE_MIN_BYTES, spareCapacities, takeReadBuffer } from "./read-buffers.ts";

describe("read buffers", () => {
  test("a buffer given back is lent again to a read that fits it, once; views never lent are refused", () => {
    // Sizes no other test in the process uses (spares are shared by every log of a process).
    const a = takeReadBuffer(37 * 1024 * 1024 + 5);
    expect(a.length).toBe(37 * 1024 * 1024 + 5);
    expect(a.buffer.byteLength).toBe(38 * 1024 * 1024); // capacity in 1 MiB steps
    a.fill(7);
    expect(giveBack(a.subarray(100, 200_000))).toBe(true); // any view of it will do
    expect(giveBack(a)).toBe(false); // once
    expect(spareCapacities()).toContain(38 * 1024 * 1024);
    const b = takeReadBuffer(37 * 1024 * 1024 + 900_000);
    expect(b.buffer).toBe(a.buffer);
    expect(b.length).toBe(37 * 1024 * 1024 + 900_000);
    expect(spareCapacities()).not.toContain(38 * 1024 * 1024);
    expect(giveBack(new Uint8Array(RECYCLE_MIN_BYTES))).toBe(false); // never lent
    expect(giveBack(b.subarray(0, 100))).toBe(false); // too small a view to look at
    expect(giveBack(b)).toBe(true);
  });

  test("at most four spares wait; a larger buffer given back replaces the smallest", () => {
    const lent = [41, 42, 43, 44, 45].map((mib) => takeReadBuffer(mib * 1024 * 1024));
    const before = spareCapacities().length;
    for (const v of lent) expect(giveBack(v)).toBe(true);
    const after = spareCapacities();
    expect(after.length).toBeLessThanOrEqual(4);
    expect(after.length).toBeGreaterThanOrEqual(Math.min(4, before));
    expect(after.slice(0, 4)).toEqual([45, 44, 43, 42].map((mib) => mib * 1024 * 1024));
  });
});
