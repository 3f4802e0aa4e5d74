// The read loop that consume, tail -f and replay share: resolve start (and stop) offsets per
// partition, then fetch → walk records → filter → print (or hand to a callback) until the count is
// reached, every partition hit its stop offset, stdout closed, or the user interrupted.
//
// Order of one iteration (nothing else interleaves with it):
//   1. fetcher.poll()            — awaits the next response; the following fetch is already sent
//   2. walk its batches          — synchronous: records rendered into the output buffer
//   3. sink.flush(); ready()     — one stdout write per ~256 KiB; waits while stdout is full
//   4. onProgress(positions)     — the group member records what may be committed
import type { KafkaClient } from "../net/client/client.ts";
import { EARLIEST, LATEST } from "../net/client/client.ts";
import { Fetcher } from "../net/client/fetcher.ts";
import { walkBatch, type RecordView } from "../net/client/record-walker.ts";
import type { Position } from "./data-time.ts";

/** partition → offset for `pos` (beginning, end, an offset, or the first offset at/after a time). */
export async function resolvePositions(client: KafkaClient, topic: string, partitions: number[], pos: Position): Promise<Map<number, number>> {
  if (pos.kind === "offset") return new Map(partitions.map((p) => [p, pos.offset]));
  const ts = pos.kind === "beginning" ? EARLIEST : pos.kind === "end" ? LATEST : pos.ms;
  const found = await client.listOffsets(topic, new Map(partitions.map((p) => [p, ts])));
  if (pos.kind !== "time") return found;
  // No record at or after the time: start at the end (nothing to read yet).
  const missing = partitions.filter((p) => (found.get(p) ?? -1) < 0);
  if (missing.length > 0) {
    const ends = await client.listOffsets(topic, new Map(missing.map((p) => [p, LATEST])));
    for (const p of missing) found.set(p, ends.get(p)!);
  }
  return found;
}

export interface ReadLoopOptions {
  client: KafkaClient;
  topic: string;
  starts: Map<number, number>;
  /** Exclusive stop offset per partition (absent: follow forever). */
  stops?: Map<number, number>;
  /** Called per record that passes; return false to stop everything. */
  onRecord: (partition: number, r: RecordView) => boolean;
  /** After each response was processed (flush output here). */
  afterChunk?: () => Promise<void>;
  /** Checked between responses: true ends the loop. */
  shouldStop: () => boolean;
  /** Offsets fully processed per partition, after each response (for commits). */
  onPositions?: (processed: Map<number, number>) => void | Promise<void>;
  onReset?: (partition: number, from: number, to: number) => void;
  fetcher?: Fetcher;
}

/** Runs until done; resolves to the processed position (next offset) per partition. */
export async function readLoop(o: ReadLoopOptions): Promise<Map<number, number>> {
  const fetcher = o.fetcher ?? new Fetcher(o.client, o.topic, { onReset: o.onReset });
  const stops = o.stops ?? new Map<number, number>();
  fetcher.assign(o.starts, stops);
  const processed = new Map(o.starts);
  let stopAll = false;
  try {
    while (!stopAll && !o.shouldStop()) {
      const chunks = await fetcher.poll();
      if (chunks === null) break;
      for (const chunk of chunks) {
        const stop = stops.get(chunk.partition) ?? Infinity;
        const partition = chunk.partition;
        let from = chunk.fetchOffset;
        for (const b of chunk.batches) {
          const completed = walkBatch(b.bytes, b.baseOffset, from, (r) => {
            if (r.offset >= stop) return false;
            processed.set(partition, r.offset + 1);
            if (!o.onRecord(partition, r)) {
              stopAll = true;
              return false;
            }
          });
          if (stopAll || !completed) break;
          from = 0;
        }
        if (stopAll) break;
        // Past the whole chunk (control batches and records skipped count as processed).
        const next = Math.min(fetcher.position(partition) ?? 0, stop);
        if (next > (processed.get(partition) ?? 0)) processed.set(partition, next);
      }
      await o.afterChunk?.();
      await o.onPositions?.(processed);
    }
  } finally {
    fetcher.close();
  }
  return processed;
}
