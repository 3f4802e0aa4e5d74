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
