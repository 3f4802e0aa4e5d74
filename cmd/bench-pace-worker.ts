// The pacing thread of RateTicker (bench-pace.ts): sleeps in Atomics.wait until each intended
// send time, then posts the tick's number, but only when the previous tick was taken (so a busy
// I/O thread gets one wake-up, not a queue of them). Its clock is epoch ms as
// performance.timeOrigin + performance.now(), which agrees with the calling thread's to within
// ~0.05 ms (measured); process.hrtime and Bun.nanoseconds do not: each thread counts from its own
// start (a worker's read 14 ms behind the main thread's).
//
// Messages: out 0 once running; in one PaceRequest; out i + 1 for tick i, then -count at the end.
// state[0]: 1 while a tick is posted and not yet taken (the caller sets it back to 0); state[1]: 1 = stop.
declare const self: Worker;

export interface PaceRequest {
  /** Tick 0's time, epoch ms. */
  startMs: number;
  intervalMs: number;
  count: number;
  /** Two Int32 flags, as above. */
  state: SharedArrayBuffer;
}

const nowMs = (): number => performance.timeOrigin + performance.now();

self.onmessage = (e: MessageEvent<PaceRequest>) => {
  const { startMs, intervalMs, count, state } = e.data;
  const flags = new Int32Array(state);
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  for (let i = 0; i < count && Atomics.load(flags, 1) === 0; i++) {
    const at = startMs + i * intervalMs;
    for (let left = at - nowMs(); left > 0; left = at - nowMs()) Atomics.wait(sleeper, 0, 0, left);
    if (Atomics.compareExchange(flags, 0, 0, 1) === 0) self.postMessage(i + 1);
  }
  self.postMessage(-count);
};
self.postMessage(0);
