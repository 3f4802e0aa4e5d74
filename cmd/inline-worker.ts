// A worker thread from source text held in the binary: `bun build --compile` leaves no file beside
// it to point `new Worker` at. The bench's pacing thread (bench-pace.ts) and its pause meter
// (bench-pauses.ts) start this way. The source must post one message once it is running.

export interface InlineWorker {
  readonly worker: Worker;
  /** Stops the thread and frees its source's URL. */
  close(): void;
}

/**
 * Starts `source` and resolves once its first message arrived: a worker takes ~0.1 s to start,
 * which must not fall inside whatever the caller measures next. `what` names it in errors.
 */
export async function startInlineWorker(source: string, what: string): Promise<InlineWorker> {
  const url = URL.createObjectURL(new Blob([source], { type: "application/javascript" }));
  const worker = new Worker(url);
  try {
    await new Promise<void>((resolve, reject) => {
      worker.onmessage = () => resolve();
      worker.onerror = (e) => reject(new Error(`${what}: ${e.message}`));
    });
  } catch (e) {
    worker.terminate();
    URL.revokeObjectURL(url);
    throw e;
  }
  worker.onmessage = null;
  worker.onerror = null;
  return {
    worker,
    close() {
      worker.terminate();
      URL.revokeObjectURL(url);
    },
  };
}
