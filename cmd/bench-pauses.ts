// Did the machine itself stop while a fixed-rate bench ran? A thread that only sleeps, 1 ms at a
// time (bench-pauses-worker.ts), notes every wake-up that came 2 ms or more late: its CPU was
// taken from it, by the scheduler or by the hypervisor (a virtual machine paused whole). In the
// spirit of jHiccup. `streamctl bench produce|e2e --rate` report it beside their latencies, and
// `make bench` runs it beside every system's latency phase (the peers' clients import it too).
//
// Why (issue 8): on the 2-vCPU VM these figures were first taken on, with an fdatasync before
// every ack and both vCPUs busy, the VM is paused for 4–10 ms once in every 100 ms, at the same
// point of that period each time. A host CPU quota with a 100 ms period behaves so. Every ack
// waiting then waits the pause out, and p99 at 5,000/s is set by it, whatever the broker does.
// Scheduler delays fall anywhere in the period; a quota's pauses fall at one phase of it. So
// beside the paused time the meter gives `lockedShare`: the share of late wake-ups that ended
// within the busiest 10 ms window of the 100 ms period (about 0.1 when they are spread out, near
// 1 when a quota is throttling).

import type { PauseSamples } from "./bench-pauses-worker.ts";
import { startWorker } from "./start-worker.ts";

export interface PauseStats {
  seconds: number;
  /** Wake-ups 2 ms or more late, per second. */
  pausesPerSec: number;
  /** Their lateness summed, ms per second of the run. */
  pausedMsPerSec: number;
  worstMs: number;
  /**
   * Share of them ending within the busiest 10 ms window of a 100 ms period (see above); null
   * under LOCKED_SHARE_MIN_PAUSES of them, where a share says nothing (one pause is "100%").
   */
  lockedShare: number | null;
}

export const LOCKED_SHARE_MIN_PAUSES = 10;

export interface PauseMeter {
  /** How many times the meter's thread has woken so far (each after sleeping at least 1 ms). */
  wakeUps(): number;
  /** Ends the measurement and gives the figures. */
  stop(): Promise<PauseStats>;
}

/** Starts measuring once the meter's thread runs (not during its start-up). */
export async function startPauseMeter(): Promise<PauseMeter> {
  const thread = await startWorker(new URL("./bench-pauses-worker.ts", import.meta.url), "pause meter");
  // [0]: 1 = stop; [1]: wake-ups so far (bench-pauses-worker.ts).
  const state = new Int32Array(new SharedArrayBuffer(8));
  const result = new Promise<PauseSamples>((resolve, reject) => {
    thread.worker.onmessage = (e) => resolve(e.data);
    thread.worker.onerror = (e) => reject(new Error(`pause meter: ${e.message}`));
  });
  thread.worker.postMessage(state.buffer);
  return {
    wakeUps: () => Atomics.load(state, 1),
    async stop() {
      Atomics.store(state, 0, 1);
      const r = await result;
      thread.close();
      return pauseStats(r.seconds, r.ends, r.lates);
    },
  };
}

/** The figures from the late wake-ups' end times (epoch ms) and lateness (ms). */
export function pauseStats(seconds: number, ends: number[], lates: number[]): PauseStats {
  const perMs = new Array<number>(100).fill(0);
  for (const t of ends) perMs[Math.floor(((t % 100) + 100) % 100)]!++;
  let best = 0;
  for (let start = 0; start < 100; start++) {
    let n = 0;
    for (let k = 0; k < 10; k++) n += perMs[(start + k) % 100]!;
    best = Math.max(best, n);
  }
  // One pass, no Math.max(...lates): a long run under pauses has more of them than a call takes arguments.
  let total = 0;
  let worst = 0;
  for (const late of lates) {
    total += late;
    if (late > worst) worst = late;
  }
  return {
    seconds,
    pausesPerSec: seconds > 0 ? lates.length / seconds : 0,
    pausedMsPerSec: seconds > 0 ? total / seconds : 0,
    worstMs: worst,
    lockedShare: lates.length >= LOCKED_SHARE_MIN_PAUSES ? best / lates.length : null,
  };
}
