// Fixed-rate pacing for load generators, without spinning a core and without blocking the thread
// that does the I/O.
//
// At 5,000 records/s the gap between sends is 0.2 ms, below what timers can wait: Bun clamps
// `setTimeout` to about 1 ms and `Bun.sleep` of a fraction of a millisecond returns at once, so a
// loop of them spins one core at 100% (on a 2-core machine, a core taken from the broker under
// test). Blocking in `Atomics.wait` does not spin, but it blocks the event loop: an answer that
// arrives meanwhile is seen only when the wait ends, and the measured latency grows by it.
//
// So the waiting happens on another thread. `RateTicker` starts a worker (bench-pace-worker.ts)
// that sleeps in `Atomics.wait` until each intended send time and then posts a message; the I/O
// thread sits in its event loop (epoll), is woken by the message or by a socket, and never blocks.
// A tick is posted only when the previous one was taken (a shared flag), so a busy I/O thread gets
// one wake-up, not a queue of them; the caller sends everything due by the clock when it wakes.
//
// Measured with a bare Kafka client sending one-record Produce requests at 5,000/s to a broker
// with --fsync never: ack p50 0.30 ms with `Atomics.wait` slices on the I/O thread, 0.15–0.19 ms
// with the ticker (the same client in C, blocking threads: 0.15 ms).

import type { PaceRequest } from "./bench-pace-worker.ts";
import { type StartedWorker, startWorker } from "./start-worker.ts";

const epochMs = (): number => performance.timeOrigin + performance.now();

/**
 * Wakes the caller at `startMs + i / rate` for i = 0, 1, … (epoch ms as performance.timeOrigin +
 * performance.now() on the calling thread), `count` times. `start()` resolves once the worker is
 * running (a worker takes ~100 ms to start, which must not count against the first records) with
 * `startMs` a moment ahead.
 *
 * `next()` resolves at the next tick (or at once if one is waiting) with how many ticks are due.
 * After the last tick it resolves at once, so a caller loops on its own count:
 *
 *     while (sent < count) {
 *       for (const due = ticker.dueBy(now()); sent < due; sent++) send(ticker.intendedMs(sent));
 *       if (sent < count) await ticker.next();
 *     }
 */
export class RateTicker {
  private readonly state = new Int32Array(new SharedArrayBuffer(8));
  /** The pending `next()`'s resolve. */
  private waiter: ((ticks: number) => void) | null = null;
  private ready = false;
  private ended = false;
  private ticks = 0;
  /** The first tick's time, epoch ms (performance.timeOrigin + performance.now()). */
  startMs = 0;

  private constructor(
    private readonly thread: StartedWorker,
    readonly rate: number,
    readonly count: number,
  ) {}

  static async start(rate: number, count: number): Promise<RateTicker> {
    const thread = await startWorker(new URL("./bench-pace-worker.ts", import.meta.url), "pacing worker");
    const ticker = new RateTicker(thread, rate, count);
    thread.worker.onmessage = (e: MessageEvent<number>) => ticker.onTick(e.data);
    ticker.startMs = epochMs() + 1;
    const request: PaceRequest = { startMs: ticker.startMs, intervalMs: 1000 / rate, count, state: ticker.state.buffer };
    thread.worker.postMessage(request);
    return ticker;
  }

  private onTick(n: number): void {
    if (n < 0) {
      this.ended = true;
      this.ticks = -n;
    } else {
      this.ticks = n;
      Atomics.store(this.state, 0, 0);
    }
    this.ready = true;
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    if (w === null) return;
    this.waiter = null;
    this.ready = false;
    w(this.ticks);
  }

  /**
   * How many sends are due by `nowMs` (epoch ms, the clock of `startMs`), at most `count`: every
   * one whose intended time the caller's clock has reached, and at least every tick the worker
   * posted, even if the caller's clock, a few hundredths of a millisecond off the worker's, does
   * not show the last of them due yet.
   */
  dueBy(nowMs: number): number {
    const byClock = Math.floor(((nowMs - this.startMs) / 1000) * this.rate) + 1;
    return Math.min(this.count, Math.max(this.ticks, byClock));
  }

  /** When send `i` (from 0) is intended, epoch ms. */
  intendedMs(i: number): number {
    return this.startMs + (i * 1000) / this.rate;
  }

  next(): Promise<number> {
    if (this.ready || this.ended) {
      this.ready = false;
      return Promise.resolve(this.ticks);
    }
    return new Promise((resolve) => (this.waiter = resolve));
  }

  close(): void {
    Atomics.store(this.state, 1, 1);
    this.ended = true;
    this.thread.close();
    this.wake();
  }
}
