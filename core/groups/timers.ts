// Timers behind a seam, beside core/clock.ts: the group coordinator schedules session expiries,
// rebalance deadlines and the initial join delay through `Timers`, so unit tests move time by
// hand (`ManualTimers.advance`, core/testing/manual-time.ts) and never sleep.
import { type Clock, systemClock } from "../clock.ts";

export interface TimerHandle {
  readonly id: number;
}

export interface Timers {
  readonly clock: Clock;
  /** Calls `fn` once, `ms` from now. */
  set(ms: number, fn: () => void): TimerHandle;
  clear(handle: TimerHandle | null): void;
}

/** Real time: setTimeout, unref'd so a pending group timer never keeps a process alive. */
export function systemTimers(): Timers {
  let next = 1;
  const live = new Map<number, ReturnType<typeof setTimeout>>();
  return {
    clock: systemClock,
    set(ms, fn) {
      const id = next++;
      const t = setTimeout(() => {
        live.delete(id);
        fn();
      }, Math.max(0, ms));
      (t as { unref?: () => void }).unref?.();
      live.set(id, t);
      return { id };
    },
    clear(handle) {
      if (handle === null) return;
      const t = live.get(handle.id);
      if (t !== undefined) clearTimeout(t);
      live.delete(handle.id);
    },
  };
}
