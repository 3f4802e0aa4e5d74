// Fixed-rate pacing for load generators, without spinning a core.
//
// At 5,000 records/s the gap between sends is 0.2 ms, below what timers can wait: Bun clamps
// `setTimeout` to about 1 ms and `Bun.sleep` of a fraction of a millisecond returns at once, so a
// loop of them spins one core at 100%. On a 2-core machine that core is taken from the broker and
// the kernel's I/O threads under test, and the broker's answers wait for CPU time (measured:
// Produce handling p99 5–25 ms while every fdatasync took under 3 ms). So short waits block the
// thread in `Atomics.wait` (a futex with a timeout, ~0.1 ms overshoot) in slices of at most
// SLICE_MS, letting I/O callbacks run between slices: an answer that arrives during a slice is
// seen at most one slice late, which can only make the measured latency larger, never smaller.
const gate = new Int32Array(new SharedArrayBuffer(4));
const SLICE_MS = 0.1;
/** Waits of at least this long sleep on a timer first (timers are ~1 ms coarse). */
const TIMER_MIN_MS = 2;

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Resolves at `at` (a `performance.now()` time) or soon after; I/O callbacks keep running. */
export async function waitUntil(at: number): Promise<void> {
  for (;;) {
    // A turn first: what the caller just did (a producer sealing its batch on the next turn, the
    // write of a request) happens now, not after the caller has slept.
    await nextTurn();
    const left = at - performance.now();
    if (left <= 0) break;
    if (left >= TIMER_MIN_MS) await Bun.sleep(left - 1.5);
    else Atomics.wait(gate, 0, 0, Math.min(left, SLICE_MS));
  }
}
