// The broker's log cleaner (issue #20, item 4): when and in what order partitions of compacted
// topics (cleanup.policy=compact, or compact,delete) are cleaned; the pass itself is
// core/log/cleaner.ts. As Kafka's LogCleaner with one cleaner thread:
//
//   - every CLEANER_CHECK_MS (Kafka's log.cleaner.backoff.ms) the partitions of compacted topics
//     are looked at, one at a time; a pass runs on each whose dirty ratio reached
//     min.cleanable.dirty.ratio, whose first dirty segment is older than max.compaction.lag.ms, or
//     whose earliest delete horizon (a tombstone or marker kept by an earlier pass) is due;
//   - `compact(topic)` (streamctl topics compact) runs a pass on each of the topic's partitions
//     now, whatever the ratio; it waits for a background pass in progress, never runs beside it;
//   - all passes share one I/O bound (serve --log-cleaner-io-max-bytes-per-second, Kafka's
//     log.cleaner.io.max.bytes.per.second; CLEANER_IO_BYTES_PER_S_DEFAULT) and at most half of the
//     broker's one thread (CLEANER_THREAD_SHARE: a slice of CLEANER_SLICE_MS, then as long at
//     rest), so produce and fetch keep their latency;
//   - stop() ends the pass in progress at its next read or write (its cleaned file is removed,
//     the log is as it was) and waits for it: the broker closes its logs after.
//
// A pass that fails on I/O is logged and the partition is tried again at the next check; a
// partition's log that is closed meanwhile (topic deleted) is skipped.
import { CLEANER_CHECK_MS, CLEANER_IO_BYTES_PER_S_DEFAULT, CLEANER_THREAD_SHARE } from "../limits.ts";
import type { Clock } from "../clock.ts";
import { CleanerIo, CleanerStopped } from "../log/cleaner-io.ts";
import { type CleanResult, cleanLog } from "../log/cleaner.ts";
import type { TxnView } from "../log/cleaner-txn.ts";
import type { PartitionLog } from "../log/partition-log.ts";
import type { Logger } from "../log/types.ts";
import type { Topic, TopicStore } from "../topics/topic-store.ts";

export interface CleanerConfig {
  /** Bytes per second read plus written by all passes; 0: unbounded. */
  ioBytesPerSecond?: number;
  /** Seconds between looks for dirty logs (tests: their own timers drive `runOnce`). */
  checkMs?: number;
  /** No background timer (tests, and `topics compact` only). */
  background?: boolean;
  /**
   * A log's transactions as it keeps them (aborted ranges, last stable offset), for the passes;
   * unset, each pass reads them from the log's batches (core/log/cleaner-txn.ts).
   */
  transactions?: (log: PartitionLog) => TxnView | null;
}

/** What `compact(topic)` did, per partition and in sum (what `streamctl topics compact` prints). */
export interface TopicCleanResult {
  topic: string;
  partitions: Array<{ partition: number } & CleanResult>;
  recordsRemoved: number;
  bytesRemoved: number;
  segmentsRemoved: number;
  bytesRead: number;
  bytesWritten: number;
  ms: number;
}

export class LogCleaner {
  readonly io: CleanerIo;
  private timer: ReturnType<typeof setInterval> | null = null;
  /** Passes run one at a time, in the order asked for. */
  private queue: Promise<unknown> = Promise.resolve();
  private roundQueued = false;
  /** The earliest delete horizon each log's last pass left (a pass is due then). */
  private readonly horizons = new WeakMap<PartitionLog, number>();
  private stopped = false;
  /** Totals since start (metrics, bench). */
  readonly totals = { passes: 0, bytesRead: 0, bytesWritten: 0, recordsRemoved: 0, ms: 0 };

  constructor(
    private readonly store: TopicStore,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly config: CleanerConfig = {},
  ) {
    this.io = new CleanerIo({ bytesPerSecond: config.ioBytesPerSecond ?? CLEANER_IO_BYTES_PER_S_DEFAULT, threadShare: CLEANER_THREAD_SHARE });
  }

  start(): void {
    if (this.config.background === false || this.timer !== null || this.stopped) return;
    this.timer = setInterval(() => void this.runOnce(), this.config.checkMs ?? CLEANER_CHECK_MS);
    (this.timer as { unref?: () => void }).unref?.();
  }

  /** Ends the pass in progress (at its next read or write) and waits for it; no pass runs after. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.io.stopped = true;
    await this.queue.catch(() => {});
  }

  /** One look at every compacted partition (a pass where one is due); resolves when done. */
  runOnce(): Promise<void> {
    if (this.roundQueued || this.stopped) return this.queue.then(() => {});
    this.roundQueued = true;
    return this.enqueue(async () => {
      this.roundQueued = false;
      for (const topic of this.store.topics()) {
        if (!isCompacted(topic)) continue;
        for (let p = 0; p < topic.partitions.length; p++) {
          if (this.stopped) return;
          await this.pass(topic, p, false);
        }
      }
    }).catch(() => {});
  }

  /** A pass on every partition of `topic` now, whatever their dirty ratio; CoreError from the store for a missing topic. */
  async compact(name: string): Promise<TopicCleanResult> {
    const topic = this.store.requireTopic(name);
    const started = performance.now();
    return this.enqueue(async () => {
      const out: TopicCleanResult = { topic: name, partitions: [], recordsRemoved: 0, bytesRemoved: 0, segmentsRemoved: 0, bytesRead: 0, bytesWritten: 0, ms: 0 };
      for (let p = 0; p < topic.partitions.length; p++) {
        const r = await this.pass(topic, p, true, true);
        if (r === null) continue;
        out.partitions.push({ partition: p, ...r });
        out.recordsRemoved += r.recordsBefore - r.recordsAfter;
        out.bytesRemoved += r.bytesBefore - r.bytesAfter;
        out.segmentsRemoved += r.segmentsBefore - r.segmentsAfter;
        out.bytesRead += r.bytesRead;
        out.bytesWritten += r.bytesWritten;
      }
      out.ms = Math.round(performance.now() - started);
      return out;
    });
  }

  private enqueue<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.catch(() => {}).then(task);
    this.queue = run;
    return run;
  }

  /** One partition: a pass when due (or `force`); null when the log is gone or the cleaner stopped. */
  private async pass(topic: Topic, partition: number, force: boolean, rethrow = false): Promise<CleanResult | null> {
    const log = topic.partitions[partition];
    if (log === undefined || log.isClosed || this.stopped) return null;
    const now = this.clock.now();
    const horizon = this.horizons.get(log);
    try {
      const r = await cleanLog(log, { io: this.io, now, force, horizonDue: horizon !== undefined && horizon <= now, transactions: this.config.transactions });
      if (r.cleaned) {
        if (r.nextHorizonMs !== null) this.horizons.set(log, r.nextHorizonMs);
        else this.horizons.delete(log);
        this.totals.passes++;
        this.totals.bytesRead += r.bytesRead;
        this.totals.bytesWritten += r.bytesWritten;
        this.totals.recordsRemoved += r.recordsBefore - r.recordsAfter;
        this.totals.ms += r.ms;
        this.logger.info(
          `cleaner: ${topic.name}/${partition}: ${r.reason}: ${r.recordsBefore - r.recordsAfter} record(s), ${r.bytesBefore - r.bytesAfter} bytes and ${r.segmentsBefore - r.segmentsAfter} segment(s) removed in ${r.ms} ms`,
        );
      }
      return r;
    } catch (e) {
      if (e instanceof CleanerStopped || log.isClosed) return null;
      this.logger.warn(`cleaner: ${topic.name}/${partition}: pass failed, tried again at the next check: ${(e as Error).message}`);
      if (rethrow) throw e;
      return null;
    }
  }
}

export function isCompacted(topic: Topic): boolean {
  return topic.configs["cleanup.policy"].split(",").includes("compact");
}
