// The pause meter's thread (bench-pauses.ts): sleeps 1 ms at a time and notes every wake-up that
// came 2 ms or more late (when it ended, epoch ms, and by how much), until told to stop.
//
// Messages: out null once running; in a SharedArrayBuffer of two Int32s, [0] set to 1 by the
// caller to stop, [1] the wake-ups so far (counted here); out one PauseSamples after the stop.
declare const self: Worker;

export interface PauseSamples {
  seconds: number;
  /** When each late wake-up ended, epoch ms (performance.timeOrigin + performance.now()). */
  ends: number[];
  /** How late each was, ms. */
  lates: number[];
}

const nowMs = (): number => performance.timeOrigin + performance.now();

self.onmessage = (e: MessageEvent<SharedArrayBuffer>) => {
  const state = new Int32Array(e.data);
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  const ends: number[] = [];
  const lates: number[] = [];
  const started = nowMs();
  let last = started;
  while (Atomics.load(state, 0) === 0) {
    Atomics.wait(sleeper, 0, 0, 1);
    Atomics.add(state, 1, 1);
    const now = nowMs();
    const late = now - last - 1;
    if (late >= 2) {
      ends.push(now);
      lates.push(late);
    }
    last = now;
  }
  const samples: PauseSamples = { seconds: (last - started) / 1000, ends, lates };
  self.postMessage(samples);
};
self.postMessage(null);
