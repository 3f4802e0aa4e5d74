// Time that moves only when a test says so: `ManualClock` for the `Clock` seam (core/clock.ts) and
// `ManualTimers` for the `Timers` seam (core/groups/timers.ts), whose clock it advances as due
// timers fire. Test doubles: production code never imports them.
import { assert } from "../assert.ts";
import type { Clock } from "../clock.ts";
import type { TimerHandle, Timers } from "../groups/timers.ts";

/** A clock that moves only when told to. */
export class ManualClock implements Clock {
  constructor(private ms = 1_700_000_000_000) {}
  now(): number {
    return this.ms;
  }
  set(ms: number): void {
    this.ms = ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
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
