// Timers behind a seam, beside core/clock.ts: the group coordinator schedules session expiries,
// rebalance deadlines and the initial join delay through `Timers`, so unit tests move time by
// hand (`ManualTimers.advance`) and never sleep.
import { assert } from "../assert.ts";
import { type Clock, ManualClock, systemClock } from "../clock.ts";

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

interface Pending {
  id: number;
  at: number;
  fn: () => void;
}

/** Time that moves only on `advance`: due timers fire in deadline order (ties in creation order). */
export class ManualTimers implements Timers {
  readonly clock: ManualClock;
  private next = 1;
  private pending: Pending[] = [];

  constructor(clock = new ManualClock()) {
    this.clock = clock;
  }

  set(ms: number, fn: () => void): TimerHandle {
    const t = { id: this.next++, at: this.clock.now() + Math.max(0, ms), fn };
    this.pending.push(t);
    return { id: t.id };
  }

  clear(handle: TimerHandle | null): void {
    if (handle === null) return;
    this.pending = this.pending.filter((t) => t.id !== handle.id);
  }

  get count(): number {
    return this.pending.length;
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way (and any they set). */
  advance(ms: number): void {
    assert(ms >= 0, "manual time only moves forward");
    const target = this.clock.now() + ms;
    for (;;) {
      let due: Pending | null = null;
      for (const t of this.pending) {
        if (t.at <= target && (due === null || t.at < due.at || (t.at === due.at && t.id < due.id))) due = t;
      }
      if (due === null) break;
      this.pending = this.pending.filter((t) => t !== due);
      if (due.at > this.clock.now()) this.clock.set(due.at);
      due.fn();
    }
    this.clock.set(target);
  }
}
