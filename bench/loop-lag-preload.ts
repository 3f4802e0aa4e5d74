// Event-loop lag inside a broker, for profiling (bench/abuse-lag.ts preloads it into a broker run
// from source: `bun --preload bench/loop-lag-preload.ts cmd/streamctl.ts serve …`). A timer chain
// of 1 ms: each gap longer than expected is a time the loop did not turn. For each gap it also reads
// the main thread's /proc schedstat (ns on a CPU, ns runnable but waiting for one), so that a gap is
// split into "the broker's thread was busy" (our code: fixable) and "it waited for a CPU" (the
// machine: other processes). On SIGUSR2 it writes one JSON line to stderr and starts over.
import { openSync, readSync } from "node:fs";

const TICK_MS = 1;
/** Gaps over this are kept one by one (the slowest LONGEST_KEPT of them). */
const KEEP_OVER_MS = 20;
const LONGEST_KEPT = 12;

// Kept open and read from offset 0 each time (procfs regenerates it): ~10x cheaper than reopening.
const statFd = openSync(`/proc/self/task/${process.pid}/schedstat`, "r");
const statBuf = Buffer.alloc(128);

function schedstat(): [runNs: number, waitNs: number] {
  const n = readSync(statFd, statBuf, 0, statBuf.length, 0);
  const [run, wait] = statBuf.toString("latin1", 0, n).split(" ").map(Number);
  return [run!, wait!];
}

interface Gap {
  ms: number;
  runMs: number;
  waitMs: number;
}

let gaps: Gap[] = [];
let ticks = 0;
let over10 = 0;
let totalLagMs = 0;
let startedAt = performance.now();
let [run0, wait0] = schedstat();
let last = performance.now();
let [lastRun, lastWait] = [run0, wait0];

function tick(): void {
  const now = performance.now();
  const lag = now - last - TICK_MS;
  ticks++;
  if (lag > 10) over10++;
  if (lag > 0) totalLagMs += lag;
  // Read every tick (~10 µs): a gap's split covers that gap only.
  const [run, wait] = schedstat();
  if (lag > KEEP_OVER_MS) {
    gaps.push({ ms: Math.round(lag), runMs: Math.round((run - lastRun) / 1e6), waitMs: Math.round((wait - lastWait) / 1e6) });
    gaps.sort((a, b) => b.ms - a.ms);
    if (gaps.length > LONGEST_KEPT) gaps.length = LONGEST_KEPT;
  }
  [lastRun, lastWait] = [run, wait];
  last = performance.now();
  const t = setTimeout(tick, TICK_MS);
  (t as { unref?: () => void }).unref?.();
}

function report(): void {
  const [run, wait] = schedstat();
  const wallMs = performance.now() - startedAt;
  process.stderr.write(
    `loop-lag ${JSON.stringify({ wallMs: Math.round(wallMs), cpuMs: Math.round((run - run0) / 1e6), runqueueWaitMs: Math.round((wait - wait0) / 1e6), ticks, over10ms: over10, totalLagMs: Math.round(totalLagMs), longest: gaps })}\n`,
  );
  gaps = [];
  ticks = 0;
  over10 = 0;
  totalLagMs = 0;
  startedAt = performance.now();
  [run0, wait0] = schedstat();
}

process.on("SIGUSR2", report);
setTimeout(tick, TICK_MS);
