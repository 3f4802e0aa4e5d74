import { describe, expect, test } from "bun:test";
import { pauseStats, startPauseMeter } from "./bench-pauses.ts";

describe("pauseStats", () => {
  test("pauses at one phase of a 100 ms period are all counted as locked", () => {
    // Ten pauses of 6 ms, each ending 57 ms into a period, one period in every ten.
    const ends = Array.from({ length: 10 }, (_, i) => 1_700_000_000_057 + i * 1000);
    const stats = pauseStats(10, ends, new Array(10).fill(6));
    expect(stats.pausesPerSec).toBe(1);
    expect(stats.pausedMsPerSec).toBe(6);
    expect(stats.worstMs).toBe(6);
    expect(stats.lockedShare).toBe(1);
  });

  test("pauses spread over the period give a share near a tenth", () => {
    const ends = Array.from({ length: 100 }, (_, i) => 1_700_000_000_000 + i * 1001 + 0.5);
    const lates = Array.from({ length: 100 }, (_, i) => 2 + (i % 3));
    const stats = pauseStats(100, ends, lates);
    expect(stats.lockedShare).toBeCloseTo(0.1, 5);
    expect(stats.worstMs).toBe(4);
    expect(stats.pausedMsPerSec).toBeCloseTo(lates.reduce((a, b) => a + b, 0) / 100, 9);
  });

  test("no pauses: zeros, not NaN, and no share", () => {
    expect(pauseStats(5, [], [])).toEqual({ seconds: 5, pausesPerSec: 0, pausedMsPerSec: 0, worstMs: 0, lockedShare: null });
  });

  test("more late wake-ups than a call takes arguments: still a worst and a sum", () => {
    const n = 2_000_000;
    const lates = new Array<number>(n).fill(2);
    lates[n - 1] = 9;
    const stats = pauseStats(n / 1000, new Array<number>(n).fill(1_700_000_000_057), lates);
    expect(stats.worstMs).toBe(9);
    expect(stats.pausedMsPerSec).toBeCloseTo(((n - 1) * 2 + 9) / (n / 1000), 6);
  });

  test("a share needs ten late wake-ups: nine at one phase give none", () => {
    const ends = Array.from({ length: 9 }, (_, i) => 1_700_000_000_057 + i * 100);
    const nine = pauseStats(1, ends, new Array(9).fill(3));
    expect(nine.lockedShare).toBeNull();
    expect(nine.pausesPerSec).toBe(9);
    expect(pauseStats(1, [...ends, 1_700_000_001_057], new Array(10).fill(3)).lockedShare).toBe(1);
  });
});

test("the meter runs on its own thread while the caller is busy, until stop()", async () => {
  const meter = await startPauseMeter();
  // Spinning until the meter has woken 20 times: the event loop cannot turn meanwhile, so only a
  // thread of its own can be counting. (It waited for a fixed 50 ms before and expected 45 ms
  // measured: on a loaded machine the thread started its count late, and about half the runs failed.)
  const WAKE_UPS = 20;
  // A bound so that a meter which never counts fails the test instead of hanging it.
  const giveUpAt = performance.now() + 10_000;
  while (meter.wakeUps() < WAKE_UPS && performance.now() < giveUpAt) {
    // spin
  }
  const stats = await meter.stop();
  // Each wake-up follows a sleep of 1 ms (half of that allowed for the timer's granularity).
  expect(stats.seconds).toBeGreaterThanOrEqual((WAKE_UPS * 0.5) / 1000);
  expect(meter.wakeUps()).toBeGreaterThanOrEqual(WAKE_UPS);
  expect(Number.isFinite(stats.pausedMsPerSec)).toBe(true);
});
