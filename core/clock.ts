// Time behind a seam: the log asks the clock for "now" (segment.ms rolls, retention.ms, LogAppendTime),
// so tests drive time by hand instead of sleeping (`ManualClock`, core/testing/manual-time.ts).

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
