import { describe, expect, test } from "bun:test";
import { RateTicker } from "./bench-pace.ts";

const epochMs = (): number => performance.timeOrigin + performance.now();
/** How far two threads' epoch clocks may disagree (measured: ~0.05 ms). */
const CLOCK_SKEW_MS = 0.5;

describe("RateTicker", () => {
  test("tick i comes no earlier than start + i/rate, in order, each one counted", async () => {
    const rate = 2000;
    const count = 200;
    const ticker = await RateTicker.start(rate, count);
    try {
      let last = 0;
      while (last < count) {
        const due = await ticker.next();
        const now = epochMs();
        expect(due).toBeGreaterThan(last);
        expect(due).toBeLessThanOrEqual(count);
        // tick `due` (1-based) was intended at startMs + (due - 1)/rate
        expect(now).toBeGreaterThanOrEqual(ticker.startMs + ((due - 1) * 1000) / rate - CLOCK_SKEW_MS);
        last = due;
      }
      // The run took about count/rate: it did not race ahead.
      expect(epochMs() - ticker.startMs).toBeGreaterThanOrEqual(((count - 1) * 1000) / rate - CLOCK_SKEW_MS);
    } finally {
      ticker.close();
    }
  });

  test("dueBy: each send whose intended time the clock reached, at least every tick posted, at most count", async () => {
    const rate = 1000;
    const count = 5;
    const ticker = await RateTicker.start(rate, count);
    try {
      const at = (i: number) => ticker.intendedMs(i);
      expect(at(0)).toBe(ticker.startMs);
      expect(at(3) - at(1)).toBeCloseTo(2000 / rate, 9);
      expect(ticker.dueBy(at(0) - 0.5)).toBe(0);
      expect(ticker.dueBy(at(0))).toBe(1);
      expect(ticker.dueBy(at(2) + 0.1)).toBe(3);
      expect(ticker.dueBy(at(count - 1) + 60_000)).toBe(count);
      // Ticks the worker posted count even where the caller's clock lags behind its own.
      let due = 0;
      while (due < 2) due = await ticker.next();
      expect(ticker.dueBy(at(0) - 0.5)).toBeGreaterThanOrEqual(due);
    } finally {
      ticker.close();
    }
  });

  test("next() after the last tick or after close() resolves instead of hanging", async () => {
    const ticker = await RateTicker.start(10_000, 3);
    let due = 0;
    for (let i = 0; i < 6; i++) due = await ticker.next();
    expect(due).toBe(3);
    ticker.close();
    await ticker.next();
    const closedEarly = await RateTicker.start(0.01, 2);
    expect(await closedEarly.next()).toBe(1);
    const pending = closedEarly.next(); // the second tick is 100 s away
    closedEarly.close();
    expect(await pending).toBe(1);
  });
});
