import { describe, expect, test } from "bun:test";
import { bucketIndex, bucketRange, Histogram, HISTOGRAM_MAX_VALUE } from "./bench-histogram.ts";

describe("bench histogram buckets", () => {
  test("small values are exact, larger ones within 1/1024", () => {
    for (const v of [0, 1, 2047, 2048, 2049, 4095, 4096, 1_000_000, 123_456_789, HISTOGRAM_MAX_VALUE]) {
      const [lo, hi] = bucketRange(bucketIndex(v));
      expect(lo).toBeLessThanOrEqual(v);
      expect(hi).toBeGreaterThanOrEqual(v);
      if (v < 2048) expect(hi).toBe(lo);
      else expect((hi - lo + 1) / lo).toBeLessThanOrEqual(1 / 1024);
    }
  });

  test("indexes are contiguous and ranges tile the line", () => {
    let prevHi = -1;
    for (let i = 0; i < 6000; i++) {
      const [lo, hi] = bucketRange(i);
      expect(lo).toBe(prevHi + 1);
      expect(bucketIndex(lo)).toBe(i);
      expect(bucketIndex(hi)).toBe(i);
      prevHi = hi;
    }
  });
});

describe("Histogram", () => {
  test("percentiles of 1..10000 are within 0.1%", () => {
    const h = new Histogram();
    for (let v = 1; v <= 10_000; v++) h.record(v);
    const s = h.summary();
    expect(s.count).toBe(10_000);
    expect(s.min).toBe(1);
    expect(s.max).toBe(10_000);
    expect(s.mean).toBeCloseTo(5000.5, 6);
    for (const [p, want] of [[50, 5000], [90, 9000], [99, 9900], [99.9, 9990]] as const) {
      const got = h.percentile(p);
      expect(got).toBeGreaterThanOrEqual(want);
      expect(got).toBeLessThanOrEqual(want * 1.001 + 1);
    }
    expect(h.percentile(100)).toBe(10_000);
    expect(h.percentile(0)).toBe(1);
  });

  test("an outlier shows only from the percentile it belongs to", () => {
    const h = new Histogram();
    h.record(1000, 999);
    h.record(5_000_000);
    expect(h.percentile(99.9)).toBe(1000);
    expect(h.percentile(99.95)).toBe(5_000_000);
    expect(h.max).toBe(5_000_000);
  });

  test("negative, fractional and huge values are clamped, empty is all zero", () => {
    const h = new Histogram();
    expect(h.summary()).toEqual({ count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 });
    h.record(-5);
    h.record(2.9);
    h.record(2 ** 60);
    expect(h.min).toBe(0);
    expect(h.percentile(50)).toBe(2);
    expect(h.max).toBe(HISTOGRAM_MAX_VALUE);
  });

  test("merge equals recording everything in one", () => {
    const a = new Histogram();
    const b = new Histogram();
    const all = new Histogram();
    for (let i = 0; i < 5000; i++) {
      const v = (i * 7919) % 100_003;
      (i % 2 ? a : b).record(v);
      all.record(v);
    }
    a.merge(b);
    expect(a.summary()).toEqual(all.summary());
  });
});
