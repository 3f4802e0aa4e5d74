// gzip and zstd inflated on worker threads (core/batch/inflate-worker.ts), for the batches that
// decompress-ahead.ts takes off the main thread: up to DECOMPRESS_OFF_THREAD_MAX threads, started
// when first needed (~0.1 s each) and kept; each inflates one batch at a time. The caller keeps
// to that many at once (decompress-ahead.ts's slots). A thread that dies fails its batch and is
// replaced by the next call.
import { DECOMPRESS_OFF_THREAD_MAX } from "../limits.ts";

interface Job {
  resolve(out: Uint8Array): void;
  reject(err: Error): void;
}

interface Thread {
  worker: Worker;
  ready: Promise<void>;
  job: Job | null;
}

const threads: Thread[] = [];
let nextId = 0;

function startThread(): Thread {
  const worker = new Worker(new URL("./inflate-worker.ts", import.meta.url));
  worker.unref(); // idle threads never keep the process alive
  let started!: () => void;
  const thread: Thread = { worker, ready: new Promise<void>((r) => (started = r)), job: null };
  worker.onmessage = (e: MessageEvent) => {
    if (e.data === "ready") return started();
    const job = thread.job;
    thread.job = null;
    if (job === null) return;
    const m = e.data as { out?: ArrayBuffer; offset: number; length: number; error?: string; tooLarge?: boolean };
    if (m.out !== undefined) job.resolve(new Uint8Array(m.out, m.offset, m.length));
    else job.reject(Object.assign(new Error(m.error), { tooLarge: m.tooLarge === true }));
  };
  worker.onerror = (e: ErrorEvent) => {
    const i = threads.indexOf(thread);
    if (i >= 0) threads.splice(i, 1);
    worker.terminate();
    started();
    thread.job?.reject(new Error(`the inflating thread failed: ${e.message}`));
    thread.job = null;
  };
  threads.push(thread);
  return thread;
}

/**
 * Inflates `data` (gzip or zstd) to at most `maxBytes` on a worker thread. Rejects with an Error
 * whose `tooLarge` is true past maxBytes, else with the codec's message. `data` is copied first
 * (the request's bytes stay whole: they are appended as they came).
 */
export async function inflateOffThread(codec: 1 | 4, data: Uint8Array, maxBytes: number): Promise<Uint8Array> {
  const thread = threads.find((t) => t.job === null) ?? (threads.length < DECOMPRESS_OFF_THREAD_MAX ? startThread() : null);
  if (thread === null) throw new Error(`more than ${DECOMPRESS_OFF_THREAD_MAX} batches inflating at once`);
  const job: Job = { resolve: () => {}, reject: () => {} };
  thread.job = job; // taken before the first await: no other call picks this thread
  const done = new Promise<Uint8Array>((resolve, reject) => {
    job.resolve = resolve;
    job.reject = reject;
  });
  await thread.ready;
  if (thread.job !== job) return done; // died while starting: done is rejected
  // A copy of its own to transfer (a Buffer's slice() would share, and transferring it would
  // detach the request's bytes).
  const copy = new Uint8Array(data.length);
  copy.set(data);
  thread.worker.postMessage({ id: nextId++, codec, data: copy, max: maxBytes }, [copy.buffer]);
  return done;
}

/** Threads started so far (tests). */
export function inflateThreadCount(): number {
  return threads.length;
}
