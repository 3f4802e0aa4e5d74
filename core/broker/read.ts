// Reading, whichever door asks (a Kafka Fetch, an HTTP page or stream, a follower later):
//
//   read         an offset outside [log start, high watermark] → OFFSET_OUT_OF_RANGE; at the high
//                watermark, nothing; else the log's raw batch bytes from the batch holding the
//                offset (whole batches within maxBytes; the first one whole however large unless
//                minOneBatch is false), counted as bytes and records out. Only offsets below the high watermark are served: the high watermark is the
//                end of durable data. Under read_committed (KIP-98) only offsets below the last
//                stable offset are (an offset between it and the high watermark reads nothing),
//                with the aborted transactions the batches read overlap, for the reader to drop.
//   waitForData  sleeps until any of the given partitions' high watermark moves, a timeout, the
//                caller's signal or the broker's shutdown: no polling.
import { BATCH_HEADER_BYTES, OFF_LAST_OFFSET_DELTA, batchSizeAt } from "../batch/header.ts";
import * as be from "../bytes.ts";
import { CoreError } from "../errors.ts";
import type { PartitionLog } from "../log/partition-log.ts";
import type { AbortedTxn } from "../log/transaction-index.ts";
import type { Topic } from "../topics/topic-store.ts";
import type { BrokerMetrics } from "./metrics.ts";

const NO_CHUNKS: Uint8Array[] = [];
const NO_ABORTED: AbortedTxn[] = [];

/** Kafka's isolation levels (Fetch, ListOffsets): read_committed stops at the last stable offset. */
export type Isolation = "read_uncommitted" | "read_committed";

export interface PartitionRead {
  /** Whole batches as they are on disk (lent buffers or views: see core/lent-buffers.ts). */
  chunks: Uint8Array[];
  bytes: number;
  /** The high watermark, last stable offset and log start when the read was made. */
  highWatermark: number;
  lastStableOffset: number;
  startOffset: number;
  /** read_committed: the aborted transactions the batches overlap (empty otherwise). */
  aborted: readonly AbortedTxn[];
}

export function readPartition(metrics: BrokerMetrics, topic: Topic, log: PartitionLog, offset: number, maxBytes: number, minOneBatch = true, isolation: Isolation = "read_uncommitted"): PartitionRead {
  const highWatermark = log.highWatermark;
  const lastStableOffset = log.lastStableOffset;
  const startOffset = log.startOffset;
  if (offset < startOffset || offset > highWatermark) {
    throw new CoreError("OFFSET_OUT_OF_RANGE", `offset ${offset} is outside [${startOffset}, ${highWatermark}]`, { topic: topic.name, partition: topic.partitions.indexOf(log) });
  }
  const committed = isolation === "read_committed";
  const limit = committed ? lastStableOffset : highWatermark;
  if (offset >= limit) return { chunks: NO_CHUNKS, bytes: 0, highWatermark, lastStableOffset, startOffset, aborted: NO_ABORTED };
  const read = minOneBatch ? log.read(offset, Math.max(1, maxBytes), true, limit) : log.read(offset, Math.max(0, maxBytes), false, limit);
  const stats = metrics.topic(topic.name);
  stats.bytesOut += read.bytes;
  const walked = walk(read.chunks);
  stats.recordsOut += walked.records;
  const aborted = committed && read.bytes > 0 ? log.abortedTransactions(offset, walked.end) : NO_ABORTED;
  return { chunks: read.chunks, bytes: read.bytes, highWatermark, lastStableOffset, startOffset, aborted };
}

/** Records in whole batches and the offset after the last (from their headers: no per-record work). */
function walk(chunks: Uint8Array[]): { records: number; end: number } {
  let records = 0;
  let end = -1;
  for (const c of chunks) {
    for (let pos = 0; pos + BATCH_HEADER_BYTES <= c.length; ) {
      const size = batchSizeAt(c, pos);
      if (size < BATCH_HEADER_BYTES || pos + size > c.length) break;
      const delta = be.int32(c, pos + OFF_LAST_OFFSET_DELTA);
      records += delta + 1;
      end = be.int64(c, pos) + delta + 1;
      pos += size;
    }
  }
  return { records, end };
}

/** Why waitForData resolved. */
export type WaitOutcome = "data" | "timeout" | "stopped";

const ONCE = { once: true };

export function waitForData(logs: readonly PartitionLog[], timeoutMs: number, shutdown: AbortSignal, signal?: AbortSignal): Promise<WaitOutcome> {
  if (shutdown.aborted || signal?.aborted) return Promise.resolve("stopped");
  return new Promise((resolve) => {
    const unsubscribers: Array<() => void> = [];
    const finish = (outcome: WaitOutcome) => {
      clearTimeout(timer);
      for (const u of unsubscribers) u();
      signal?.removeEventListener("abort", stopped);
      shutdown.removeEventListener("abort", stopped);
      resolve(outcome);
    };
    const stopped = () => finish("stopped");
    const timer = setTimeout(() => finish("timeout"), Math.max(0, timeoutMs));
    const moved = () => finish("data");
    for (const log of logs) unsubscribers.push(log.onHighWatermark(moved));
    signal?.addEventListener("abort", stopped, ONCE);
    shutdown.addEventListener("abort", stopped, ONCE);
  });
}
