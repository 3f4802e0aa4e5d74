// Starts a worker thread from one of its own entry files (cmd/*-worker.ts) and waits until it
// runs. The bench's pacing thread (bench-pace.ts) and its pause meter (bench-pauses.ts) start this
// way. The entry must post one message once it is running.
//
// In the compiled binary each worker entry is bundled beside cmd/streamctl.ts (scripts/build.ts
// lists them as entrypoints; Bun then resolves `new Worker` of the file's URL inside the binary),
// so no file needs to exist beside the executable. From source the URL is the file itself.

export interface StartedWorker {
  readonly worker: Worker;
  /** Stops the thread. */
  close(): void;
}

/**
 * Starts the worker at `entry` (a URL made with `new URL("./x-worker.ts", import.meta.url)`) and
 * resolves once its first message arrived: a worker takes ~0.1 s to start, which must not fall
 * inside whatever the caller measures next. `what` names it in errors.
 */
export async function startWorker(entry: URL, what: string): Promise<StartedWorker> {
  const worker = new Worker(entry);
  try {
    await new Promise<void>((resolve, reject) => {
      worker.onmessage = () => resolve();
      worker.onerror = (e) => reject(new Error(`${what}: ${e.message}`));
    });
  } catch (e) {
    worker.terminate();
    throw e;
  }
  worker.onmessage = null;
  worker.onerror = null;
  return {
    worker,
    close() {
      worker.terminate();
    },
  };
}
