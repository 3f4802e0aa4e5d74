// One partition's log: the ordered segments of `DATA/topics/<topic>/<partition>/`, offsets,
// the high watermark, appends with group commit, zero-copy reads, rolls and retention.
//
// The order of async steps that must not interleave (everything else is synchronous):
//
// 1. append: wait while a roll runs → maybe start a roll and wait → WRITE (synchronous: assign
//    offsets, pwrite at the end of the active segment, note indexes) → under fsync `always`,
//    wait for the sync that covers it.
// 2. roll: sync the active segment up to its end (joining the group commit) → write and sync its
//    indexes → write the producer-state snapshot at its end (producer-snapshots.ts) → create the
//    next segment and sync the directory → switch (the old one is sealed and read through its
//    mapping from then on). No append writes between the first and last step.
// 3. sync (one per log at a time, started by the shared SyncScheduler): snapshot the active
//    segment's bookkeeping → fdatasync → mark it durable, move the high watermark, start the next
//    sync if anything was written meanwhile (the pipeline, durability.ts) → tell the waiters it
//    covers. On failure under `always`: forget and truncate every unsynced batch,
//    reject every waiter.
// 4. close: refuse new appends → wait for a running roll → sync everything → write the active
//    segment's indexes → write the producer-state snapshot at the end offset → release files.
//
// Idempotent producers: the log keeps its ProducerState (producer-state.ts) as of its end offset.
// WRITE checks an idempotent batch against it before assigning offsets (a retry is answered with
// its first offsets, once durable like any append; a gap or an old epoch is refused) and applies
// it after the pwrite; roll writes a snapshot at the new segment's base after syncing the old one;
// open rebuilds the state from the newest snapshot and the headers after it
// (producer-snapshots.ts); a failed sync that forgets the unsynced tail rebuilds it too, from the
// state kept at the last roll or open.
//
// Transactions (KIP-98): the producer state also keeps each producer's open transaction, and the
// log its TransactionIndex (transaction-index.ts: aborted transactions, and what holds the last
// stable offset down). WRITE checks a transaction marker (a control batch from the coordinator,
// appendMarker) against the producer's epoch instead of its sequences and, once written, closes
// the producer's transaction, noting it as aborted when it is. Roll writes the sealed segment's
// .txnindex before the producer snapshot; close writes the active one's; open rebuilds the index
// from those files and the markers after the snapshot.
import { assert } from "../assert.ts";
import { crc32c } from "../batch/crc32c.ts";
import { type Marker, readMarker } from "../batch/control.ts";
import {
  ATTR_CONTROL,
  ATTR_LOG_APPEND_TIME,
  ATTR_TRANSACTIONAL,
  BATCH_HEADER_BYTES,
  CRC_START,
  OFF_ATTRIBUTES,
  OFF_BASE_OFFSET,
  OFF_CRC,
  OFF_LAST_OFFSET_DELTA,
  OFF_LEADER_EPOCH,
  OFF_MAX_TIMESTAMP,
  OFF_BASE_SEQUENCE,
  OFF_PRODUCER_EPOCH,
  OFF_PRODUCER_ID,
  batchSizeAt,
} from "../batch/header.ts";
import * as be from "../bytes.ts";
import { decodeRecordBatch } from "../batch/record-batch.ts";
import { CoreError } from "../errors.ts";
import type { FileLayer } from "../fs.ts";
import { dirname, fsErrorCode, joinPath, writeFileAtomic } from "../fs.ts";
import { PRODUCER_EXPIRATION_MS, RUNWAY_BYTES, RUNWAY_INTERVAL_MS, SYNC_ON_LOOP_MAX_BYTES } from "../limits.ts";
import type { Syncable } from "./durability.ts";
import { type EpochEntry, LEADER_EPOCHS_FILE, LeaderEpochs } from "./leader-epochs.ts";
import { type LoadedProducers, deleteSnapshots, loadProducerState, walkProducerBatches, writeSnapshot } from "./producer-snapshots.ts";
import { type ProducerDescription, ProducerState, addSequence } from "./producer-state.ts";
import { type CleanerCheckpoint, GAPS_UNKNOWN, readCleanerCheckpoint, writeCleanerCheckpoint } from "./cleaner-checkpoint.ts";
import { CLEANED_SUFFIX, SWAP_SUFFIX, damageMessage, deleteSegmentFiles, loadSegments, writeIndexes } from "./recovery.ts";
import { type AbortedTxn, TransactionIndex, writeTxnIndex } from "./transaction-index.ts";
import { RELATIVE_MAX, Segment, batchInfoAt, findNextBatch, gapAllowed, headerProblem, newScratch, reclaimReleasedMappings } from "./segment.ts";
import { TailCache } from "./tail-cache.ts";
import type { DamagedRange, LogConfig, LogDeps, PartitionRecovery } from "./types.ts";

export interface AppendResult {
  baseOffset: number;
  lastOffset: number;
  /** The broker time stamped on the batch under LogAppendTime, else -1 (as Kafka's ProduceResponse). */
  logAppendTime: number;
  /** A retried idempotent batch answered with its first append's offsets; nothing was written. */
  duplicate: boolean;
}

export interface ReadResult {
  /** Whole batches, byte for byte as stored: views of the mapping for sealed segments. */
  chunks: Uint8Array[];
  bytes: number;
}

export interface SegmentInfo {
  baseOffset: number;
  /** One past the last offset held. */
  endOffset: number;
  sizeBytes: number;
  largestTimestamp: number;
  sealed: boolean;
}

/** A cleaning pass's view of a log (PartitionLog.cleanerView). */
export interface CleanerView {
  dir: string;
  config: LogConfig;
  /** Every segment but the active one, oldest first: immutable, read from their files. */
  sealed: readonly Segment[];
  activeBase: number;
  startOffset: number;
  highWatermark: number;
  checkpoint: CleanerCheckpoint;
  /** The last offset of each idempotent producer the log keeps state for: its batch stays. */
  producerLastOffsets: ReadonlySet<number>;
}

export interface RetentionResult {
  segmentsDeleted: number;
  bytesDeleted: number;
}

/**
 * Something waiting until every offset below `offset` is durable: a promise's settlers (append,
 * roll, close) or, on the produce hot path, the request itself (`appendThen`), so that an append
 * answered from there makes no promise, closure or result object of its own. `durable` and
 * `failed` are called synchronously from the sync's completion; they must not throw.
 */
export interface DurableWaiter {
  readonly offset: number;
  durable(): void;
  failed(e: unknown): void;
}

class PromiseWaiter implements DurableWaiter {
  constructor(
    readonly offset: number,
    private readonly resolve: () => void,
    private readonly reject: (e: unknown) => void,
  ) {}
  durable(): void {
    this.resolve();
  }
  failed(e: unknown): void {
    this.reject(e);
  }
}

/**
 * Where `appendThen` puts an append's outcome: the offsets once written, then `durable()` once
 * they are on disk under the fsync policy (at once under `interval` and `never`), or `failed()`
 * with the log's refusal or failure instead (nothing acknowledged).
 */
export interface AppendSink extends DurableWaiter {
  offset: number;
  baseOffset: number;
  lastOffset: number;
  logAppendTime: number;
  duplicate: boolean;
}

const LOG_START_FILE = "log-start-offset";

/**
 * The runway (fsync `always` only). An fdatasync after a write that grew the file must also
 * commit the new size and block allocation to the filesystem's journal; on ext4 that is what
 * makes one sync in a few hundred take 5–15 ms instead of 0.3, and at a steady rate every ack
 * queued behind a slow sync waits for it. Overwriting bytes already written needs no journal
 * commit, so the active segment keeps zeros written ahead of its end: RUNWAY_BYTES at a time,
 * when less than half is left, at most once per RUNWAY_INTERVAL_MS (at most 5 MiB/s of extra
 * writes; a producer faster than that outruns it and appends as before). The zeros are cut off
 * when the segment is sealed or closed, and by recovery after a crash (recovery.ts). The sizes
 * are in core/limits.ts.
 */
let runwayZeros: Uint8Array | null = null;

/** Told of each rise of a log's high watermark (PartitionLog.waitForHighWatermark). */
export interface HighWatermarkWaiter {
  highWatermarkMoved(): void;
}

export class PartitionLog implements Syncable {
  private segments: Segment[];
  private start: number;
  private hwm: number;
  /** Offsets below this are on disk. */
  private durableOffset: number;
  private syncing = false;
  /** The sync in flight: its segment and the bookkeeping it covers (see syncDone). */
  private syncSeg: Segment | null = null;
  private syncState: ReturnType<Segment["snapshot"]> | null = null;
  /** The one completion callback of this log's syncs (FileLayer.fdatasyncThen): no closure per sync. */
  private readonly syncDone = (e: unknown): void => {
    const seg = this.syncSeg!;
    const state = this.syncState!;
    this.syncSeg = null;
    this.syncState = null;
    if (e !== null && e !== undefined) this.syncFailed(seg, e);
    else this.synced(seg, state);
  };
  /** A sync run on the event loop, or one that threw as it started, reports through these (no closure per sync). */
  private loopSyncError: unknown = null;
  private readonly loopSyncDone = (): void => {
    const e = this.loopSyncError;
    this.loopSyncError = null;
    this.syncDone(e);
  };
  private waiters: DurableWaiter[] = [];
  /** The other waiters array: `synced` swaps the two instead of making one per sync. */
  private spareWaiters: DurableWaiter[] = [];
  private rolling: Promise<void> | null = null;
  private closed = false;
  private readonly listeners = new Set<(highWatermark: number) => void>();
  private readonly hwWaiters = new Set<HighWatermarkWaiter>();
  private readonly durableListeners = new Set<(durableEnd: number) => void>();
  private readonly scratch = newScratch();
  /** The active segment's latest batches in memory (tail-cache.ts); null without a budget. */
  private readonly tail: TailCache | null;
  private runwayExtendedAt = -Infinity;
  /** The leader epoch stamped on appended batches (cluster mode moves it; single node: 0). */
  private epoch: number;
  /** Cluster mode: the replication layer moves the high watermark (the ISR's smallest durable
   * end), not this log's own syncs. */
  private externalHighWatermark = false;
  private truncating = false;
  /** Idempotent producers as of the end offset. */
  private producerState: ProducerState;
  /** The state as of an offset at or below the durable end (last open or roll), to rebuild from. */
  private producerAnchor: { offset: number; state: ProducerState };
  /** A failed sync forgot batches the state had applied: rebuild before the next check. */
  private producersStale = false;
  /** Aborted transactions and ending ones (transaction-index.ts), as of the end offset. */
  private txns: TransactionIndex;
  /** The cleaner's checkpoint as on disk (cleaner-checkpoint.ts); its writes run one at a time. */
  private checkpoint: CleanerCheckpoint;
  private checkpointWrite: Promise<void> = Promise.resolve();
  /** A cleaned segment being swapped in (swapCleaned): truncation, restart and close wait for it,
   * retention skips a turn. */
  private swapping: Promise<void> | null = null;

  private constructor(
    readonly dir: string,
    private cfg: LogConfig,
    private readonly deps: LogDeps,
    segments: Segment[],
    startOffset: number,
    readonly recovery: PartitionRecovery,
    private readonly epochs: LeaderEpochs,
    producers: LoadedProducers,
    checkpoint: CleanerCheckpoint,
  ) {
    this.segments = segments;
    this.checkpoint = checkpoint;
    this.producerState = producers.state;
    const end = this.active.nextOffset;
    this.start = Math.min(Math.max(startOffset, segments[0]!.baseOffset), end);
    this.hwm = end;
    this.durableOffset = end;
    this.epoch = epochs.latest;
    this.producerAnchor = { offset: end, state: producers.state.clone() };
    this.txns = new TransactionIndex(producers.aborted);
    this.tail = deps.tailCache !== undefined ? new TailCache(deps.tailCache) : null;
    deps.durability.register(this);
  }

  /** Opens or creates the log in `dir`, recovering it as recovery.ts describes. */
  static async open(dir: string, config: LogConfig, deps: LogDeps): Promise<PartitionLog> {
    const { fs } = deps;
    try {
      if (fs.stat(dir) === null) {
        fs.mkdirp(dir);
        await fs.fsyncDir(dirname(dir));
      }
    } catch (e) {
      throw storageError("cannot create partition directory", e, deps, dir);
    }
    const persistedStart = readLogStart(fs, dir);
    const checkpoint = readCleanerCheckpoint(fs, dir, (line) => deps.logger.warn(line));
    // Row 1 on a compacted topic: no checkpoint may also be one lost with the gaps still there
    // (restored from a copy, removed by hand): gaps are accepted in its sealed segments, as in row 3.
    if (checkpoint.gapsUpTo === -1 && config.compact === true) checkpoint.gapsUpTo = GAPS_UNKNOWN;
    const { segments, report } = await loadSegments(dir, deps, persistedStart, checkpoint.gapsUpTo);
    if (checkpoint.gapsUpTo === GAPS_UNKNOWN) {
      // A damaged checkpoint (its row 3): every sealed segment was loaded accepting gaps; from now
      // on the mark is the last segment's base, written at the first cleaning pass.
      checkpoint.gapsUpTo = segments.at(-1)!.baseOffset;
      for (const seg of segments) seg.gapsUpTo = checkpoint.gapsUpTo;
    }
    const epochs = LeaderEpochs.load(fs, dir, (line) => deps.logger.warn(line));
    let producers: LoadedProducers;
    try {
      // Epochs that began past what recovery kept never wrote a batch that survived.
      await epochs.truncateFromEnd(segments.at(-1)!.nextOffset + 1);
      const where = deps.topic !== undefined ? `${deps.topic}/${deps.partition}` : dir;
      producers = await loadProducerState(fs, dir, segments, segments.at(-1)!.nextOffset, deps.clock.now(), deps.logger, where);
    } catch (e) {
      for (const seg of segments) seg.release();
      throw storageError("cannot rebuild the producer state or the leader epochs", e, deps, dir);
    }
    return new PartitionLog(dir, config, deps, segments, persistedStart, report, epochs, producers, checkpoint);
  }

  get config(): LogConfig {
    return this.cfg;
  }
  setConfig(config: LogConfig): void {
    this.cfg = config;
  }
  get startOffset(): number {
    return this.start;
  }
  /** The next offset to assign. */
  get endOffset(): number {
    return this.active.nextOffset;
  }
  /** End of what readers may see: durable data under `always`, else everything written. */
  get highWatermark(): number {
    return this.hwm;
  }
  get sizeBytes(): number {
    let n = 0;
    for (const s of this.segments) n += s.size;
    return n;
  }
  get segmentCount(): number {
    return this.segments.length;
  }
  /** Closed (or failed to restart): no more appends, reads or syncs. */
  get isClosed(): boolean {
    return this.closed;
  }
  segmentInfos(): SegmentInfo[] {
    return this.segments.map((s) => ({
      baseOffset: s.baseOffset,
      endOffset: s.nextOffset,
      sizeBytes: s.size,
      largestTimestamp: s.maxTimestamp,
      sealed: s.sealed,
    }));
  }

  /** Calls `listener` each time the high watermark rises; returns the unsubscribe function. */
  onHighWatermark(listener: (highWatermark: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** `waiter.highWatermarkMoved()` at each rise until `stopWaiting(waiter)`: onHighWatermark
   * without a closure each (a consumer's parked fetch, net/kafka/fast-fetch.ts). */
  waitForHighWatermark(waiter: HighWatermarkWaiter): void {
    this.hwWaiters.add(waiter);
  }

  stopWaiting(waiter: HighWatermarkWaiter): void {
    this.hwWaiters.delete(waiter);
  }

  private get active(): Segment {
    return this.segments[this.segments.length - 1]!;
  }

  private ctx(extra: { file?: string; position?: number; offset?: number } = {}) {
    return { topic: this.deps.topic, partition: this.deps.partition, ...extra };
  }

  private checkOpen(): void {
    if (this.closed) throw new CoreError("CLOSED", "partition log is closed", this.ctx({ file: this.dir }));
  }

  // --- append ---------------------------------------------------------------------------------

  /**
   * Appends one validated RecordBatch v2, assigning offsets by rewriting its baseOffset (and
   * partitionLeaderEpoch := 0; under LogAppendTime also maxTimestamp, the attribute bit and the
   * CRC) in place. Resolves once the batch is durable under the fsync policy.
   */
  async append(batch: Uint8Array): Promise<AppendResult> {
    this.checkOpen();
    assert(batch.length >= BATCH_HEADER_BYTES, "append takes a whole, validated batch");
    for (;;) {
      if (this.rolling !== null) {
        await this.rolling;
        this.checkOpen();
        continue;
      }
      if (this.shouldRoll(batch)) {
        this.rolling = this.roll().finally(() => {
          this.rolling = null;
        });
        continue;
      }
      break;
    }
    const result = this.write(batch);
    if (this.deps.durability.syncsEachAppend) await this.waitDurable(result.lastOffset + 1);
    return result;
  }

  /**
   * `append` without a promise (the produce hot path): the batch is written during this call when
   * no roll is due or running (else `append` runs and fills `sink` when it settles), then `sink`
   * is told once it is durable, or why it failed. Throws only what `append` throws before writing
   * (a closed log); refusals of the write itself go to `sink.failed`.
   */
  appendThen(batch: Uint8Array, sink: AppendSink): void {
    this.checkOpen();
    assert(batch.length >= BATCH_HEADER_BYTES, "append takes a whole, validated batch");
    if (this.rolling !== null || this.shouldRoll(batch)) {
      this.appendThenAfterRoll(batch, sink);
      return;
    }
    try {
      this.writeInto(batch, false, sink);
    } catch (e) {
      sink.failed(e);
      return;
    }
    sink.offset = sink.lastOffset + 1;
    if (!this.deps.durability.syncsEachAppend || this.durableOffset >= sink.offset) {
      sink.durable();
      return;
    }
    this.waiters.push(sink);
    this.deps.durability.request(this);
  }

  /** appendThen's rare case, a roll first, through `append` (its own method: a closure in
   * appendThen would make JavaScriptCore give every call a scope object for `sink`). */
  private appendThenAfterRoll(batch: Uint8Array, sink: AppendSink): void {
    this.append(batch).then(
      (r) => {
        sink.baseOffset = r.baseOffset;
        sink.lastOffset = r.lastOffset;
        sink.logAppendTime = r.logAppendTime;
        sink.duplicate = r.duplicate;
        sink.durable();
      },
      (e) => sink.failed(e),
    );
  }

  private shouldRoll(batch: Uint8Array): boolean {
    const seg = this.active;
    if (seg.size === 0) return false;
    const lastRel = seg.nextOffset + be.int32(batch, OFF_LAST_OFFSET_DELTA) - seg.baseOffset;
    return (
      seg.size + batch.length > this.cfg.segmentBytes ||
      seg.size + batch.length > RELATIVE_MAX ||
      lastRel > RELATIVE_MAX ||
      this.deps.clock.now() - seg.rollBaseTimestamp >= this.cfg.segmentMs
    );
  }

  /** The synchronous part of an append: nothing else runs between the offset and the write. */
  private write(batch: Uint8Array, replica = false): AppendResult {
    const result: AppendResult = { baseOffset: -1, lastOffset: -1, logAppendTime: -1, duplicate: false };
    this.writeInto(batch, replica, result);
    return result;
  }

  /** `write`, its answer put into `out` (no object of its own). */
  private writeInto(batch: Uint8Array, replica: boolean, out: AppendResult): void {
    const seg = this.active;
    const now = this.deps.clock.now();
    const producerId = be.int64(batch, OFF_PRODUCER_ID);
    const marker = be.int16(batch, OFF_ATTRIBUTES) & ATTR_CONTROL ? readMarker(batch) : null;
    // A follower's batch was checked by its leader: applied below, never refused here.
    if (producerId >= 0 && !replica) {
      if (marker !== null) this.checkMarker(batch, producerId, marker);
      else {
        const duplicate = this.checkProducer(batch, producerId);
        if (duplicate !== null) {
          out.baseOffset = duplicate.baseOffset;
          out.lastOffset = duplicate.lastOffset;
          out.logAppendTime = -1;
          out.duplicate = true;
          return;
        }
      }
    }
    // A follower's batch may start past the end where its leader's cleaner removed batches.
    const baseOffset = replica ? be.int64(batch, OFF_BASE_OFFSET) : seg.nextOffset;
    const lastOffset = baseOffset + be.int32(batch, OFF_LAST_OFFSET_DELTA);
    assert(lastOffset >= baseOffset, "lastOffsetDelta is not negative");
    assert(!this.truncating, "nothing is appended while the log is truncated");
    let logAppendTime = -1;
    if (replica) {
      // A follower keeps the leader's offsets, epoch and timestamps byte for byte.
      assert(baseOffset >= seg.nextOffset, "a replicated batch continues the log");
    } else {
      be.setInt64(batch, OFF_BASE_OFFSET, baseOffset);
      be.setInt32(batch, OFF_LEADER_EPOCH, this.epoch);
    }
    if (!replica && this.cfg.timestampType === "LogAppendTime") {
      const attributes = be.int16(batch, OFF_ATTRIBUTES);
      if (attributes & ATTR_LOG_APPEND_TIME) {
        // The caller stamped it already (and fixed the CRC): keep its time.
        logAppendTime = be.int64(batch, OFF_MAX_TIMESTAMP);
      } else {
        logAppendTime = now;
        be.setInt16(batch, OFF_ATTRIBUTES, attributes | ATTR_LOG_APPEND_TIME);
        be.setInt64(batch, OFF_MAX_TIMESTAMP, now);
        be.setInt32(batch, OFF_CRC, crc32c(batch, CRC_START, batch.length));
      }
    }
    const position = seg.size;
    try {
      if (seg.needsTruncate) {
        this.deps.fs.truncate(seg.file!, position);
        seg.needsTruncate = false;
        seg.runwayEnd = 0;
      }
      this.deps.fs.pwrite(seg.file!, batch, position);
    } catch (e) {
      // Part of the batch may be in the file: cut it so nothing partial stays past the end.
      try {
        this.deps.fs.truncate(seg.file!, position);
        seg.runwayEnd = 0;
      } catch {
        seg.needsTruncate = true;
      }
      throw storageError("append failed", e, this.deps, seg.paths.log, position);
    }
    const info = batchInfoAt(batch, 0);
    seg.noteBatch(position, info, now);
    seg.indexDirty = true;
    if (producerId >= 0) {
      const epoch = be.int16(batch, OFF_PRODUCER_EPOCH);
      if (marker !== null) {
        const first = this.producerState.applyMarker(producerId, epoch, marker.coordinatorEpoch, baseOffset, info.maxTimestamp, now);
        this.txns.noteMarker(producerId, first, baseOffset, marker.commit, this.producerState.firstOpenOffset());
      } else if ((be.int16(batch, OFF_ATTRIBUTES) & ATTR_CONTROL) === 0) {
        const firstSequence = be.int32(batch, OFF_BASE_SEQUENCE);
        const lastSequence = addSequence(firstSequence, lastOffset - baseOffset);
        const transactional = (be.int16(batch, OFF_ATTRIBUTES) & ATTR_TRANSACTIONAL) !== 0;
        this.producerState.apply(producerId, epoch, firstSequence, lastSequence, baseOffset, lastOffset, info.maxTimestamp, now, transactional);
      }
    }
    if (this.deps.durability.syncsEachAppend) this.extendRunway(seg, now);
    else if (!this.externalHighWatermark) this.raiseHighWatermark(seg.nextOffset);
    else if (this.durableListeners.size > 0) queueMicrotask(() => this.notifyDurable());
    // A follower's batches were checked by its leader, not here: read back through the CRC check.
    if (this.tail !== null) {
      if (replica) this.tail.clear();
      else this.tail.add(batch, baseOffset, lastOffset);
    }
    out.baseOffset = baseOffset;
    out.lastOffset = lastOffset;
    out.logAppendTime = logAppendTime;
    out.duplicate = false;
  }

  /**
   * An idempotent batch against the producer state (producer-state.ts): the first answer of a
   * retried batch, null to append, or a refusal thrown as CoreError before anything is written.
   */
  private checkProducer(batch: Uint8Array, producerId: number): AppendResult | null {
    const state = this.currentProducers();
    const epoch = be.int16(batch, OFF_PRODUCER_EPOCH);
    const firstSequence = be.int32(batch, OFF_BASE_SEQUENCE);
    const transactional = (be.int16(batch, OFF_ATTRIBUTES) & ATTR_TRANSACTIONAL) !== 0;
    const verdict = state.check(producerId, epoch, firstSequence, be.int32(batch, OFF_LAST_OFFSET_DELTA) + 1, transactional);
    switch (verdict.kind) {
      case "not-transactional":
        throw new CoreError("INVALID_TXN_STATE", `producer ${producerId} sent a batch outside its transaction open since offset ${verdict.txnFirstOffset}`, this.ctx());
      case "append":
        return null;
      case "duplicate":
        return { baseOffset: verdict.baseOffset, lastOffset: verdict.lastOffset, logAppendTime: -1, duplicate: true };
      case "fenced":
        throw new CoreError("PRODUCER_FENCED", `producer ${producerId} epoch ${epoch} is older than ${verdict.currentEpoch}`, this.ctx());
      case "out-of-order":
        throw new CoreError("OUT_OF_ORDER_SEQUENCE", `producer ${producerId} epoch ${epoch}: sequence ${firstSequence}, expected ${verdict.expected}`, this.ctx());
    }
  }

  /** A marker against the producer state (the marker table of producer-state.ts); throws a refusal. */
  private checkMarker(batch: Uint8Array, producerId: number, marker: Marker): void {
    const epoch = be.int16(batch, OFF_PRODUCER_EPOCH);
    const verdict = this.currentProducers().checkMarker(producerId, epoch, marker.coordinatorEpoch);
    if (verdict.kind === "fenced") throw new CoreError("PRODUCER_FENCED", `marker for producer ${producerId} epoch ${epoch}, older than ${verdict.currentEpoch}`, this.ctx());
    if (verdict.kind === "coordinator-fenced") {
      throw new CoreError("COORDINATOR_FENCED", `marker of coordinator epoch ${marker.coordinatorEpoch}, older than ${verdict.coordinatorEpoch}`, this.ctx());
    }
  }

  /** The producer state, rebuilt first if a failed sync made it stale (throws STORAGE if it cannot be). */
  private currentProducers(): ProducerState {
    if (this.producersStale) {
      const { offset, state } = this.producerAnchor;
      const rebuilt = state.clone();
      try {
        this.txns.dropFrom(offset);
        walkProducerBatches(this.deps.fs, this.segments, offset, rebuilt, this.deps.clock.now(), this.deps.logger, this.dir, this.txns);
      } catch (e) {
        throw storageError("cannot rebuild the producer state", e, this.deps, this.active.paths.log);
      }
      this.producerState = rebuilt;
      this.producersStale = false;
    }
    return this.producerState;
  }

  /** The idempotent producers this partition knows (DescribeProducers). */
  producers(): ProducerDescription[] {
    this.checkOpen();
    return this.currentProducers().describe();
  }

  // --- transactions ---------------------------------------------------------------------------

  /**
   * Appends a transaction marker (a control batch, core/batch/control.ts) for `producerId`: checked
   * against its epoch, never its sequences; closes its open transaction here. Resolves once durable.
   */
  appendMarker(batch: Uint8Array): Promise<AppendResult> {
    assert(readMarker(batch) !== null, "appendMarker takes a control batch with a marker");
    return this.append(batch);
  }

  /**
   * The last stable offset: the first offset of the oldest transaction not yet known committed or
   * aborted below the high watermark, else the high watermark (transaction-index.ts).
   */
  get lastStableOffset(): number {
    if (this.producerState.openTransactions === 0 && this.txns.settled && !this.producersStale) return this.hwm;
    return this.txns.lastStableOffset(this.hwm, this.currentProducers().firstOpenOffset());
  }

  /** Aborted transactions a read_committed fetch from `from` whose data ends before `upper` must drop. */
  abortedTransactions(from: number, upper: number): AbortedTxn[] {
    this.checkOpen();
    return this.txns.abortedBetween(from, upper);
  }

  /** Forgets producers idle for PRODUCER_EXPIRATION_MS (the broker's retention timer); returns how many. */
  expireProducers(now: number = this.deps.clock.now()): number {
    if (this.closed || this.producersStale) return 0;
    return this.producerState.expire(now, PRODUCER_EXPIRATION_MS);
  }

  /** Writes the next stretch of runway when it runs short (see RUNWAY_BYTES); never fails an append. */
  private extendRunway(seg: Segment, now: number): void {
    const bytes = this.deps.runwayBytes ?? RUNWAY_BYTES;
    if (seg.fileEnd - seg.size >= bytes / 2 || now - this.runwayExtendedAt < RUNWAY_INTERVAL_MS) return;
    const from = seg.fileEnd;
    const length = Math.min(bytes, this.cfg.segmentBytes - from);
    if (length <= 0) return;
    this.runwayExtendedAt = now;
    if (runwayZeros === null || runwayZeros.length < length) runwayZeros = new Uint8Array(Math.max(length, RUNWAY_BYTES));
    // Whatever part of it reached the file (even on ENOSPC) is zeros past `size`: cut at seal.
    seg.runwayEnd = from + length;
    try {
      this.deps.fs.pwrite(seg.file!, runwayZeros.subarray(0, length), from);
    } catch (e) {
      this.deps.logger.warn(`${this.dir}: cannot write ahead of the log (${fsErrorCode(e) ?? String(e)}); appending without`);
    }
  }

  /** Cuts the runway off the active segment's file and syncs the new size (before seal and close). */
  private async cutRunway(seg: Segment): Promise<void> {
    if (seg.runwayEnd <= seg.size) return;
    this.deps.fs.truncate(seg.file!, seg.size);
    seg.runwayEnd = 0;
    await this.deps.fs.fdatasync(seg.file!);
  }

  // --- durability -----------------------------------------------------------------------------

  /** Resolves when every offset below `offset` is on disk; joins the next sync of this log. */
  private waitDurable(offset: number): Promise<void> {
    if (this.durableOffset >= offset) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.waiters.push(new PromiseWaiter(offset, resolve, reject));
      this.deps.durability.request(this);
    });
  }

  /**
   * Called by the scheduler: one fdatasync covering everything written so far. `alone`: no other
   * log syncs in this round, so a small sync may run on the event loop (SYNC_ON_LOOP_MAX_BYTES);
   * its completion still comes later, in a microtask, as the pool's does.
   */
  startSync(alone = false): void {
    if (this.syncing || this.waiters.length === 0) return;
    const seg = this.active;
    const state = seg.snapshot();
    this.syncing = true;
    this.syncSeg = seg;
    this.syncState = state;
    const fs = this.deps.fs;
    try {
      if (alone && fs.fdatasyncSync !== undefined && state.size - seg.durableSize <= SYNC_ON_LOOP_MAX_BYTES) {
        let error: unknown = null;
        try {
          fs.fdatasyncSync(seg.file!);
        } catch (e) {
          error = e ?? new Error("fdatasync failed");
        }
        this.loopSyncError = error;
        queueMicrotask(this.loopSyncDone);
      } else if (fs.fdatasyncThen !== undefined) fs.fdatasyncThen(seg.file!, this.syncDone);
      else fs.fdatasync(seg.file!).then(() => this.syncDone(null), this.syncDone);
    } catch (e) {
      this.loopSyncError = e ?? new Error("fdatasync failed");
      queueMicrotask(this.loopSyncDone);
    }
  }

  syncInBackground(): void {
    if (this.closed || this.durableOffset >= this.endOffset) return;
    this.waitDurable(this.endOffset).catch((e) => this.deps.logger.error(`background sync failed: ${String(e)}`));
  }

  private synced(seg: Segment, state: ReturnType<Segment["snapshot"]>): void {
    this.syncing = false;
    seg.markDurable(state);
    if (state.nextOffset > this.durableOffset) this.durableOffset = state.nextOffset;
    if (this.deps.durability.syncsEachAppend && !this.externalHighWatermark) this.raiseHighWatermark(this.durableOffset);
    if (this.durableListeners.size > 0) this.notifyDurable();
    // The two arrays swap: a sync per ack at a steady rate makes no array. Waiters told below may
    // append again (a connection's next request): those join `this.waiters`, not `waiters`.
    const waiters = this.waiters;
    const still = this.spareWaiters;
    for (let i = 0; i < waiters.length; i++) {
      const w = waiters[i]!;
      if (w.offset > this.durableOffset) still.push(w);
    }
    this.waiters = still;
    // The pipeline: whatever was written while that sync ran gets the next one, started now, not
    // a turn of the event loop later (an ack waits for at most one sync that began after its write).
    if (still.length > 0) this.startSync();
    for (let i = 0; i < waiters.length; i++) {
      const w = waiters[i]!;
      if (w.offset <= this.durableOffset) this.tell(w, null);
    }
    waiters.length = 0;
    this.spareWaiters = waiters;
  }

  /** Settles one waiter (durable when `error` is null); a waiter that throws is a bug, logged. */
  private tell(w: DurableWaiter, error: unknown): void {
    try {
      if (error === null) w.durable();
      else w.failed(error);
    } catch (e) {
      this.deps.logger.error(`durability waiter threw: ${String(e)}`);
    }
  }

  private syncFailed(seg: Segment, e: unknown): void {
    this.syncing = false;
    const error = storageError("sync failed", e, this.deps, seg.paths.log);
    if (this.deps.durability.syncsEachAppend && seg === this.active) {
      // Nothing unsynced was acknowledged or visible: forget it, on disk too, and in the producer
      // state (rebuilt before its next use).
      seg.rollbackToDurable();
      this.tail?.clear();
      this.producersStale = true;
      try {
        this.deps.fs.truncate(seg.file!, seg.size);
        seg.runwayEnd = 0;
      } catch {
        seg.needsTruncate = true;
      }
    }
    this.deps.logger.error(error.message);
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) this.tell(w, error);
  }

  private raiseHighWatermark(offset: number): void {
    if (offset <= this.hwm) return;
    this.hwm = offset;
    for (const listener of this.listeners) {
      try {
        listener(offset);
      } catch (e) {
        this.deps.logger.error(`high watermark listener threw: ${String(e)}`);
      }
    }
    if (this.hwWaiters.size === 0) return;
    for (const waiter of this.hwWaiters) {
      try {
        waiter.highWatermarkMoved();
      } catch (e) {
        this.deps.logger.error(`high watermark waiter threw: ${String(e)}`);
      }
    }
  }

  // --- roll -----------------------------------------------------------------------------------

  private async roll(): Promise<void> {
    const { fs } = this.deps;
    const old = this.active;
    await this.waitDurable(old.nextOffset);
    let seg: Segment | null = null;
    try {
      await this.cutRunway(old);
      await writeIndexes(fs, old);
      await writeTxnIndex(fs, old, this.txns.entriesIn(old.baseOffset, old.nextOffset));
      // No append writes during a roll: the state is as of old.nextOffset, which is synced.
      await this.snapshotProducers(old.nextOffset);
      seg = new Segment(fs, this.dir, old.nextOffset);
      seg.gapsUpTo = this.checkpoint.gapsUpTo;
      seg.file = fs.open(seg.paths.log, { create: true, truncate: true });
      await fs.fsyncDir(this.dir);
    } catch (e) {
      if (seg?.file) {
        try {
          fs.close(seg.file);
          fs.unlink(seg.paths.log);
        } catch {
          // recovery ignores an empty trailing segment's absence or presence alike
        }
      }
      throw storageError("segment roll failed", e, this.deps, seg?.paths.log ?? old.paths.log);
    }
    seg.markDurable(seg.snapshot());
    this.segments.push(seg);
    old.seal();
    this.tail?.clear(); // only the active segment's batches: sealed ones are read from their files
    this.runwayExtendedAt = -Infinity; // the new segment gets its runway at its first append
  }

  /** Writes the producer-state snapshot as of `offset` (the end offset, synced) and keeps it as the anchor. */
  private async snapshotProducers(offset: number): Promise<void> {
    assert(offset === this.endOffset && offset <= this.durableOffset, "a producer snapshot is taken at the synced end");
    const state = this.currentProducers();
    state.expire(this.deps.clock.now(), PRODUCER_EXPIRATION_MS);
    const anchor = state.clone();
    await writeSnapshot(this.deps.fs, this.dir, offset, anchor);
    this.producerAnchor = { offset, state: anchor };
  }

  // --- read -----------------------------------------------------------------------------------

  private visibleEnd(seg: Segment): number {
    if (seg.sealed) return seg.size;
    return this.deps.durability.syncsEachAppend ? seg.durableSize : seg.size;
  }

  private segmentIndexFor(offset: number): number {
    let lo = 0;
    let hi = this.segments.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.segments[mid]!.baseOffset <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /**
   * Whole batches from the one holding `offset`, at most `maxBytes` except that the first batch
   * is returned whole however large (KIP-74) — unless `minOneBatch` is false: then only whole
   * batches that fit in `maxBytes`, possibly none (what Kafka's LogSegment.read does once a fetch
   * already holds data). Never past `limit` (the high watermark for consumers; a follower in
   * cluster mode reads up to the durable end, `durableEndOffset`), never across a damaged range
   * (offsets in one fail with STORAGE; a read stops before one, so offsets are never skipped
   * silently). Every batch handed out passed its CRC check in this process.
   */
  read(offset: number, maxBytes: number, minOneBatch = true, limit = this.hwm): ReadResult {
    this.checkOpen();
    assert(limit <= this.durableOffset || !this.deps.durability.syncsEachAppend, "reads stop at durable data");
    if (offset < this.start || offset > limit) {
      throw new CoreError("OFFSET_OUT_OF_RANGE", `offset outside [${this.start}, ${limit}]`, this.ctx({ offset }));
    }
    if (offset === limit) return { chunks: [], bytes: 0 };
    if (this.tail !== null) {
      const cached = this.tail.read(offset, maxBytes, minOneBatch, limit);
      if (cached !== null) return cached;
    }
    const chunks: Uint8Array[] = [];
    let bytes = 0;
    let expected = -1;
    for (let i = this.segmentIndexFor(offset); i < this.segments.length; i++) {
      const seg = this.segments[i]!;
      const visible = this.visibleEnd(seg);
      let position = 0;
      let firstSize = 0;
      if (chunks.length === 0) {
        const damaged = seg.damageAtOffset(offset);
        if (damaged !== undefined) throw this.damagedError(damaged, offset);
        let found = seg.positionOf(offset, visible, this.scratch);
        // A bad header at an index entry: walk from the segment's start to learn its offsets.
        if (found?.problem && found.expected === null) found = seg.positionOf(offset, visible, this.scratch, true);
        if (found === null) continue;
        if (found.problem !== null) {
          if (!this.damageFound(i, found.position, found.expected ?? seg.baseOffset, found.problem)) throw this.unreadable(seg, found.position, offset, found.problem);
          return this.read(offset, maxBytes, minOneBatch, limit); // one damaged range more each time: terminates
        }
        if (!minOneBatch && found.info.size > maxBytes) return { chunks, bytes };
        position = found.position;
        firstSize = found.info.size;
        expected = found.info.baseOffset;
      } else if (seg.baseOffset !== expected && !gapAllowed(expected, seg.baseOffset, this.segments[i - 1]!.gapsUpTo)) {
        break;
      }
      const end = Math.min(visible, seg.nextDamageStart(position));
      if (position >= end) break;
      const budget = Math.max(maxBytes - bytes, firstSize);
      const window = seg.bytes(position, Math.min(end - position, budget));
      const served = this.servable(i, position, window, expected, end, limit);
      if (served.length === 0) {
        if (chunks.length === 0) {
          if (served.damaged) return this.read(offset, maxBytes, minOneBatch, limit);
          throw this.unreadable(seg, position, offset, "no whole batch where one should start");
        }
        break;
      }
      chunks.push(served.length === window.length ? window : window.subarray(0, served.length));
      bytes += served.length;
      expected = served.nextOffset;
      if (position + served.length < visible || expected >= limit) break;
    }
    return { chunks, bytes };
  }

  /**
   * The longest prefix of `window` (at `position` of segment `i`) made of whole batches that
   * continue the log from `expected` and pass their CRC check (once per batch per process).
   * A batch that fails is recorded as damage (`damaged`).
   */
  private servable(i: number, position: number, window: Uint8Array, expected: number, end: number, limit: number): { length: number; nextOffset: number; damaged: boolean } {
    const seg = this.segments[i]!;
    let pos = 0;
    let verifiedFrom = -1;
    let damaged = false;
    while (window.length - pos >= BATCH_HEADER_BYTES && expected < limit) {
      const at = position + pos;
      const info = batchInfoAt(window, pos);
      const problem = headerProblem(info, at, end, expected, seg.gapsUpTo);
      if (problem !== null) {
        damaged = this.damageFound(i, at, expected, problem);
        break;
      }
      if (pos + info.size > window.length) break;
      if (!seg.verified.covers(at, at + info.size)) {
        if (crc32c(window, pos + CRC_START, pos + info.size) !== be.uint32(window, pos + OFF_CRC)) {
          damaged = this.damageFound(i, at, expected, "CRC-32C mismatch");
          break;
        }
        if (verifiedFrom < 0) verifiedFrom = at;
      } else if (verifiedFrom >= 0) {
        seg.verified.add(verifiedFrom, at);
        verifiedFrom = -1;
      }
      expected = info.lastOffset + 1;
      pos += info.size;
    }
    if (verifiedFrom >= 0) seg.verified.add(verifiedFrom, position + pos);
    return { length: pos, nextOffset: expected, damaged };
  }

  /**
   * Damage met by a read in segment `i` (near `position`): the segment is checked from its start
   * to find the first bad batch exactly (a bad length met on a walk lands past it), the range up
   * to the next valid batch is recorded and logged, and the segment's indexes are dropped so the
   * next open checks and reports it too. Returns false when nothing new was recorded.
   */
  private damageFound(i: number, position: number, expected: number, reason: string): boolean {
    const seg = this.segments[i]!;
    const maxEnd = this.segments[i + 1]?.baseOffset ?? seg.nextOffset;
    const all = seg.sealed ? seg.map().subarray(0, seg.size) : seg.bytes(0, seg.size);
    const first = firstBadBatch(seg, all) ?? { position, expected, reason };
    if (seg.damaged.some((d) => d.position === first.position && d.end > d.position)) return false;
    const limit = Math.min(seg.size, seg.nextDamageStart(first.position + 1));
    const next = findNextBatch(all.subarray(0, limit), first.position + 1, first.expected, maxEnd);
    const following = seg.damaged.find((d) => d.position === limit);
    const range: DamagedRange = {
      topic: this.deps.topic,
      partition: this.deps.partition,
      file: seg.paths.log,
      position: first.position,
      end: next?.position ?? limit,
      firstOffset: first.expected,
      endOffset: next?.baseOffset ?? following?.firstOffset ?? maxEnd,
      reason: first.reason,
    };
    seg.noteDamageFound(range);
    this.deps.logger.error(damageMessage(range, this.deps, "read"));
    seg.indexDirty = true;
    if (seg.sealed) {
      writeIndexes(this.deps.fs, seg).catch((e) => this.deps.logger.error(`cannot drop the indexes of ${seg.paths.log}: ${String(e)}`));
    }
    return true;
  }

  private unreadable(seg: Segment, position: number, offset: number, reason: string): CoreError {
    return new CoreError("STORAGE", `unreadable batch (${reason})`, this.ctx({ file: seg.paths.log, position, offset }));
  }

  private damagedError(d: DamagedRange, offset: number): CoreError {
    return new CoreError(
      "STORAGE",
      `offsets ${d.firstOffset} to ${d.endOffset - 1} are in a damaged range (${d.reason}) at bytes ${d.position}..${d.end}`,
      this.ctx({ file: d.file, position: d.position, offset }),
    );
  }

  /** Every damaged range known now (found by recovery or by reads). */
  damagedRanges(): DamagedRange[] {
    return this.segments.flatMap((s) => s.damaged);
  }

  /** First batch whose max timestamp ≥ `timestamp` (Kafka's ListOffsets semantics, per batch). */
  offsetForTimestamp(timestamp: number): { offset: number; timestamp: number } | null {
    this.checkOpen();
    for (const seg of this.segments) {
      if (seg.maxTimestamp < timestamp || seg.nextOffset <= this.start) continue;
      const visible = this.visibleEnd(seg);
      const rel = seg.timeIndex.lookup(timestamp);
      let position = rel < 0 ? 0 : seg.offsetIndex.lookup(rel);
      while (position < visible) {
        const damaged = seg.damageStartingAt(position);
        if (damaged !== undefined) {
          position = damaged.end;
          continue;
        }
        if (visible - position < BATCH_HEADER_BYTES) break;
        const info = seg.infoAt(position, this.scratch);
        if (headerProblem(info, position, visible, null) !== null) break;
        if (info.maxTimestamp >= timestamp && info.lastOffset >= this.start) {
          return this.firstRecordAtOrAfter(info.baseOffset, timestamp) ?? { offset: Math.max(info.baseOffset, this.start), timestamp: info.maxTimestamp };
        }
        position += info.size;
      }
    }
    return null;
  }

  /**
   * Inside the batch at `baseOffset` (whose maxTimestamp is ≥ `timestamp`), the first record at or
   * after `timestamp`, as Kafka answers ListOffsets: a record, not its batch's start. Under
   * LogAppendTime every record carries the batch's time, so the batch start is right. Null when
   * the batch cannot be decoded here (the caller falls back to the batch start).
   */
  private firstRecordAtOrAfter(baseOffset: number, timestamp: number): { offset: number; timestamp: number } | null {
    let decoded;
    try {
      const first = this.read(Math.max(baseOffset, this.start), 1).chunks[0];
      if (!first) return null;
      decoded = decodeRecordBatch(first.subarray(0, batchSizeAt(first, 0)));
    } catch {
      return null;
    }
    const logAppendTime = (decoded.header.attributes & ATTR_LOG_APPEND_TIME) !== 0;
    for (const r of decoded.records) {
      const ts = logAppendTime ? decoded.header.maxTimestamp : r.timestamp;
      if (ts >= timestamp && r.offset >= this.start) return { offset: r.offset, timestamp: ts };
    }
    return null;
  }

  /**
   * The record with the largest timestamp (ListOffsets MAX_TIMESTAMP, KIP-734), as Kafka 3.8's
   * UnifiedLog.fetchOffsetByTimestamp finds it: the segment with the largest timestamp (the first
   * of equals), in it the first batch reaching that timestamp (the segment's bookkeeping names its
   * last offset), in that batch the first record carrying it (every record under LogAppendTime).
   * Null when the log holds no timestamp, or the record is not below the high watermark yet.
   */
  maxTimestampOffset(): { offset: number; timestamp: number } | null {
    this.checkOpen();
    let best: Segment | null = null;
    for (const seg of this.segments) {
      if (seg.nextOffset <= this.start || seg.maxTimestamp < 0) continue;
      if (best === null || seg.maxTimestamp > best.maxTimestamp) best = seg;
    }
    if (best === null || best.offsetOfMaxTimestamp >= this.hwm) return null;
    const batch = this.batchHolding(best, best.offsetOfMaxTimestamp);
    if (batch === null) return null;
    let decoded;
    try {
      decoded = decodeRecordBatch(batch);
    } catch {
      return null;
    }
    const { maxTimestamp, attributes } = decoded.header;
    if (attributes & ATTR_LOG_APPEND_TIME) return { offset: decoded.header.baseOffset, timestamp: maxTimestamp };
    const record = decoded.records.find((r) => r.timestamp === maxTimestamp);
    return record === undefined ? null : { offset: record.offset, timestamp: maxTimestamp };
  }

  /**
   * The stored batch of `seg` holding `offset` (which may lie below the log start: DeleteRecords
   * moves the start inside a segment), CRC-checked; null when it is damaged or cannot be found.
   */
  private batchHolding(seg: Segment, offset: number): Uint8Array | null {
    const visible = this.visibleEnd(seg);
    const found = seg.positionOf(offset, visible, this.scratch);
    if (found === null || found.problem !== null || seg.damageAtOffset(offset) !== undefined) return null;
    const bytes = seg.bytes(found.position, found.info.size);
    return crc32c(bytes, CRC_START, bytes.length) === be.uint32(bytes, OFF_CRC) ? bytes : null;
  }

  // --- retention ------------------------------------------------------------------------------

  /** Deletes whole sealed segments past retention.ms (by largest timestamp) or retention.bytes. */
  enforceRetention(now: number = this.deps.clock.now()): RetentionResult {
    const result: RetentionResult = { segmentsDeleted: 0, bytesDeleted: 0 };
    // cleanup.policy=compact alone keeps every segment (Kafka: retention applies with delete only);
    // a swap of cleaned segments in flight holds retention off until the next check.
    if (this.closed || this.cfg.deleteEnabled === false || this.swapping !== null) return result;
    const { retentionMs, retentionBytes } = this.cfg;
    let excess = retentionBytes >= 0 ? this.sizeBytes - retentionBytes : -1;
    while (this.segments.length > 1) {
      const seg = this.segments[0]!;
      const expired = retentionMs >= 0 && seg.maxTimestamp >= 0 && now - seg.maxTimestamp > retentionMs;
      const oversize = excess >= 0 && excess - seg.size >= 0;
      if (!expired && !oversize) break;
      excess -= seg.size;
      result.segmentsDeleted++;
      result.bytesDeleted += seg.size;
      this.dropOldestSegment();
    }
    if (result.segmentsDeleted > 0) reclaimReleasedMappings();
    return result;
  }

  /** Advances the start offset (DeleteRecords); `offset` ≤ high watermark. Returns the new start. */
  async deleteRecordsBefore(offset: number): Promise<number> {
    this.checkOpen();
    if (offset > this.hwm || offset < 0) {
      throw new CoreError("OFFSET_OUT_OF_RANGE", `delete-records offset above high watermark ${this.hwm}`, this.ctx({ offset }));
    }
    if (offset <= this.start) return this.start;
    this.start = offset;
    try {
      await writeFileAtomic(this.deps.fs, joinPath(this.dir, LOG_START_FILE), new TextEncoder().encode(`${offset}\n`));
    } catch (e) {
      throw storageError("cannot persist log start offset", e, this.deps, joinPath(this.dir, LOG_START_FILE));
    }
    while (this.swapping !== null) await this.swapping;
    let dropped = 0;
    while (this.segments.length > 1 && this.segments[0]!.nextOffset <= offset) {
      this.dropOldestSegment();
      dropped++;
    }
    if (dropped > 0) reclaimReleasedMappings();
    return this.start;
  }

  /**
   * Empties the log and continues it from `offset`, above its end, so that the next append gets
   * `offset`: for a log whose records below `offset` are kept elsewhere while its own unsynced tail
   * was lost (the committed-offsets log after a power loss under interval or never: its snapshot,
   * synced, covers offsets the log no longer holds). Runs before any append. Order, crash-safe
   * because calling it again after a reboot redoes what is left: persist the log start offset →
   * unlink every segment, newest first → sync the directory → create the segment at `offset` →
   * sync the directory. A crash part-way leaves a contiguous log still ending below `offset`, or
   * no segment at all (the next open creates one at the persisted start). On failure the log is
   * closed.
   */
  async restartAt(offset: number): Promise<void> {
    this.checkOpen();
    assert(offset > this.endOffset, "a log restarts above its end");
    assert(this.rolling === null && !this.syncing && this.waiters.length === 0, "a log restarts before any append");
    assert(this.swapping === null, "a log restarts before any cleaning");
    this.tail?.clear();
    const { fs } = this.deps;
    const startPath = joinPath(this.dir, LOG_START_FILE);
    const seg = new Segment(fs, this.dir, offset);
    try {
      deleteSnapshots(fs, this.dir);
      await writeFileAtomic(fs, startPath, new TextEncoder().encode(`${offset}\n`));
      for (const old of this.segments.toReversed()) {
        old.release();
        deleteSegmentFiles(fs, this.dir, old.baseOffset);
      }
      await fs.fsyncDir(this.dir);
      seg.file = fs.open(seg.paths.log, { create: true, truncate: true });
      await fs.fsyncDir(this.dir);
    } catch (e) {
      this.closed = true;
      this.deps.durability.unregister(this);
      for (const old of this.segments) old.release();
      seg.release();
      throw storageError("cannot restart the log", e, this.deps, seg.paths.log);
    }
    seg.markDurable(seg.snapshot());
    this.segments = [seg];
    this.start = offset;
    this.durableOffset = offset;
    this.producerState = new ProducerState();
    this.producerAnchor = { offset, state: new ProducerState() };
    this.producersStale = false;
    this.txns = new TransactionIndex();
    this.raiseHighWatermark(offset);
    reclaimReleasedMappings();
  }

  private dropOldestSegment(): void {
    const seg = this.segments.shift()!;
    assert(seg.sealed, "only sealed segments are deleted");
    seg.release();
    try {
      deleteSegmentFiles(this.deps.fs, this.dir, seg.baseOffset);
    } catch (e) {
      // The segment is out of the log already; a leftover file is found and removed at open.
      this.deps.logger.warn(`cannot delete ${seg.paths.log}: ${fsErrorCode(e) ?? String(e)}`);
    }
    if (this.start < this.segments[0]!.baseOffset) this.start = this.segments[0]!.baseOffset;
    this.txns.dropBelow(this.segments[0]!.baseOffset);
  }

  // --- replication (cluster mode) ------------------------------------------------------------
  //
  // A leader appends as above, stamping its epoch (beginEpoch records where the epoch starts
  // first); a follower appends the leader's batches as they are (appendReplica). Either way the
  // replication layer, not the log's own syncs, moves the high watermark once it owns it
  // (useExternalHighWatermark): a leader's to the smallest durable end in the ISR, a follower's
  // to what the leader says. A replica whose suffix diverged from the new leader's log cuts it
  // (truncateTo), found through the leader epochs (endOffsetForEpoch, KIP-101/279).

  /** What this replica holds for sure: on disk under fsync `always`, else written. A follower
   * reports it as its fetch offset, so the leader counts only what each replica has synced. */
  get durableEndOffset(): number {
    return this.deps.durability.syncsEachAppend ? this.durableOffset : this.endOffset;
  }

  /** The epoch stamped on batches appended now. */
  get leaderEpoch(): number {
    return this.epoch;
  }

  /** Where each leader epoch began ([epoch, start offset], oldest first). */
  leaderEpochs(): readonly EpochEntry[] {
    return this.epochs.all;
  }

  /** OffsetForLeaderEpoch: the largest epoch ≤ `epoch` this log knows and where it ends. */
  endOffsetForEpoch(epoch: number): { epoch: number; endOffset: number } {
    return this.epochs.endOffsetFor(epoch, this.endOffset, this.start);
  }

  /** The epoch of the batch holding `offset` (-1 below every known epoch). */
  epochAt(offset: number): number {
    return this.epochs.epochAt(offset);
  }

  /** Calls `listener` each time the durable end rises (the leader's share of the high
   * watermark); returns the unsubscribe function. */
  onDurable(listener: (durableEnd: number) => void): () => void {
    this.durableListeners.add(listener);
    return () => this.durableListeners.delete(listener);
  }

  private notifyDurable(): void {
    const end = this.durableEndOffset;
    for (const listener of this.durableListeners) {
      try {
        listener(end);
      } catch (e) {
        this.deps.logger.error(`durable-end listener threw: ${String(e)}`);
      }
    }
  }

  /** From now on only advanceHighWatermark moves the high watermark. */
  useExternalHighWatermark(): void {
    this.externalHighWatermark = true;
  }

  /** Raises the high watermark to `offset`, never past this replica's durable end. */
  advanceHighWatermark(offset: number): void {
    assert(this.externalHighWatermark, "the replication layer owns the high watermark");
    this.raiseHighWatermark(Math.min(offset, this.durableEndOffset));
  }

  /** Leads from now on under `epoch` (≥ the current one): recorded at the log end, durably, before
   * any batch of it is written. */
  async beginEpoch(epoch: number): Promise<void> {
    this.checkOpen();
    assert(epoch >= this.epoch, "leader epochs only rise");
    while (this.rolling !== null) await this.rolling.catch(() => {});
    await this.epochs.assign(epoch, this.endOffset);
    this.epoch = epoch;
  }

  /**
   * Appends one batch fetched from the leader, keeping its offsets, epoch and timestamps; its
   * base offset must be this log's end. A batch of a newer epoch records the epoch first.
   * Resolves once it is durable under the fsync policy.
   */
  async appendReplica(batch: Uint8Array): Promise<AppendResult> {
    this.checkOpen();
    assert(batch.length >= BATCH_HEADER_BYTES, "appendReplica takes a whole, validated batch");
    const batchEpoch = be.int32(batch, OFF_LEADER_EPOCH);
    if (batchEpoch > this.epoch) {
      await this.epochs.assign(batchEpoch, be.int64(batch, OFF_BASE_OFFSET));
      this.epoch = batchEpoch;
    }
    const base = be.int64(batch, OFF_BASE_OFFSET);
    // A compacted topic's leader skips offsets it cleaned away (Kafka's followers take any batch at
    // or past their end): the gap is made acceptable on disk before it is written. Elsewhere a
    // replicated batch must continue the log.
    if (this.cfg.compact === true && base > this.endOffset && base > this.checkpoint.gapsUpTo) await this.updateCheckpoint((c) => ({ ...c, gapsUpTo: Math.max(c.gapsUpTo, base) }));
    for (;;) {
      if (this.rolling !== null) {
        await this.rolling;
        this.checkOpen();
        continue;
      }
      if (this.shouldRoll(batch)) {
        this.rolling = this.roll().finally(() => {
          this.rolling = null;
        });
        continue;
      }
      break;
    }
    if (base !== this.endOffset && !gapAllowed(this.endOffset, base, this.active.gapsUpTo)) {
      throw new CoreError("INVALID_RECORD", `replicated batch at ${base} does not continue the log at ${this.endOffset}`, this.ctx());
    }
    const result = this.write(batch, true);
    if (this.deps.durability.syncsEachAppend) await this.waitDurable(result.lastOffset + 1);
    return result;
  }

  /**
   * Removes every batch from the one holding `offset` on (a follower's diverged suffix), durably:
   * later segments are deleted, the segment holding `offset` is cut (a sealed one, which readers
   * may have mapped, is rewritten to a new file and renamed over it, never truncated in place),
   * leader epochs past the new end are dropped, and the segments are loaded again. The high
   * watermark comes down to the new end if it was above. No append may run meanwhile.
   */
  async truncateTo(offset: number): Promise<void> {
    this.checkOpen();
    if (offset >= this.endOffset) return;
    assert(offset >= this.segments[0]!.baseOffset, "truncation keeps the log's first segment");
    this.truncating = true;
    this.tail?.clear();
    try {
      while (this.rolling !== null) await this.rolling.catch(() => {});
      while (this.swapping !== null) await this.swapping;
      await this.waitDurable(this.endOffset);
      assert(!this.syncing && this.waiters.length === 0, "no sync runs while the log is truncated");
      const { fs } = this.deps;
      const i = this.segmentIndexFor(Math.max(offset, this.segments[0]!.baseOffset));
      const seg = this.segments[i]!;
      const found = offset <= seg.baseOffset ? null : seg.positionOf(offset, seg.size, this.scratch, true);
      const cutAt = found === null ? 0 : found.position;
      for (const later of this.segments.slice(i + 1).reverse()) {
        later.release();
        deleteSegmentFiles(fs, this.dir, later.baseOffset);
      }
      if (cutAt === 0 && i > 0) {
        seg.release();
        deleteSegmentFiles(fs, this.dir, seg.baseOffset);
      } else if (seg.sealed) {
        await rewritePrefix(fs, seg, cutAt);
      } else {
        seg.release();
        const file = fs.open(seg.paths.log);
        try {
          fs.truncate(file, cutAt);
          await fs.fdatasync(file);
        } finally {
          fs.close(file);
        }
        for (const p of [seg.paths.index, seg.paths.timeIndex]) if (fs.stat(p) !== null) fs.unlink(p);
      }
      await fs.fsyncDir(this.dir);
      for (const s of this.segments) s.release();
      const reloaded = await loadSegments(this.dir, { ...this.deps, clean: true }, this.start, this.checkpoint.gapsUpTo);
      this.segments = reloaded.segments;
      const end = this.active.nextOffset;
      await this.epochs.truncateFromEnd(end + 1);
      // What is appended from here on is dirty, whatever the cleaner saw before.
      if (this.checkpoint.firstDirtyOffset > end) await this.updateCheckpoint((c) => ({ ...c, firstDirtyOffset: end }));
      // Producers' sequences as of the new end (snapshots past it are dropped by the load).
      const where = this.deps.topic !== undefined ? `${this.deps.topic}/${this.deps.partition}` : this.dir;
      const producers = await loadProducerState(fs, this.dir, this.segments, end, this.deps.clock.now(), this.deps.logger, where);
      this.producerState = producers.state;
      this.producerAnchor = { offset: end, state: producers.state.clone() };
      this.producersStale = false;
      this.txns = new TransactionIndex(producers.aborted);
      this.epoch = this.epochs.latest;
      this.durableOffset = end;
      if (this.hwm > end) this.hwm = end;
      if (this.start > end) this.start = end;
      this.runwayExtendedAt = -Infinity;
      reclaimReleasedMappings();
    } catch (e) {
      this.closed = true;
      this.deps.durability.unregister(this);
      for (const s of this.segments) s.release();
      throw storageError("truncation failed", e, this.deps, this.dir);
    } finally {
      this.truncating = false;
    }
  }

  // --- cleaning (core/log/cleaner.ts) --------------------------------------------------------
  //
  // The cleaner reads sealed segments, which never change, from their files; it writes a cleaned
  // segment beside them and swaps it in here. It never waits for nor holds the append path: the
  // active segment is never cleaned, and the swap is synchronous up to its directory sync.

  fileLayer(): FileLayer {
    return this.deps.fs;
  }

  /** The active segment's file and how much of it readers may see (the cleaner's walk of transactions). */
  activeFile(): { path: string; size: number } {
    return { path: this.active.paths.log, size: this.visibleEnd(this.active) };
  }

  /** What a cleaning pass needs to plan one: sealed segments (oldest first) and the bounds. */
  cleanerView(): CleanerView {
    this.checkOpen();
    const lastOffsets = new Set<number>();
    if (!this.producersStale) for (const e of this.producerState.entries()) lastOffsets.add(e.batches.at(-1)!.lastOffset);
    return {
      dir: this.dir,
      config: this.cfg,
      sealed: this.segments.slice(0, -1),
      activeBase: this.active.baseOffset,
      startOffset: this.start,
      highWatermark: this.hwm,
      checkpoint: { ...this.checkpoint },
      producerLastOffsets: lastOffsets,
    };
  }

  /**
   * Updates the cleaner checkpoint durably (cleaner-checkpoint.ts); updates run one at a time, each
   * on the checkpoint as the previous one left it. gapsUpTo only rises.
   */
  updateCheckpoint(change: (c: CleanerCheckpoint) => CleanerCheckpoint): Promise<void> {
    const run = this.checkpointWrite
      .catch(() => {})
      .then(async () => {
        this.checkOpen();
        const next = change(this.checkpoint);
        next.gapsUpTo = Math.max(next.gapsUpTo, this.checkpoint.gapsUpTo);
        if (next.gapsUpTo === this.checkpoint.gapsUpTo && next.firstDirtyOffset === this.checkpoint.firstDirtyOffset) return;
        try {
          await writeCleanerCheckpoint(this.deps.fs, this.dir, next);
        } catch (e) {
          throw storageError("cannot write the cleaner checkpoint", e, this.deps, this.dir);
        }
        this.checkpoint = next;
        for (const seg of this.segments) seg.gapsUpTo = Math.max(seg.gapsUpTo, next.gapsUpTo);
      });
    this.checkpointWrite = run;
    return run;
  }

  /**
   * Swaps `cleaned` (a synced `X.log.cleaned` with its batches noted, X the base of `group`'s
   * first segment) in for `group`, consecutive sealed segments of this log: the order and why it
   * is crash-safe are in cleaner.ts. Returns false with nothing changed when the group is no longer
   * in the log as it was (retention, truncation, a close); the caller deletes the cleaned file then.
   */
  async swapCleaned(group: readonly Segment[], cleaned: Segment): Promise<boolean> {
    if (this.closed || this.truncating || this.swapping !== null) return false;
    const i = this.segments.indexOf(group[0]!);
    if (i < 0 || i + group.length >= this.segments.length || group.some((g, k) => this.segments[i + k] !== g)) return false;
    const x = group[0]!;
    const end = this.segments[i + group.length]!.baseOffset;
    assert(cleaned.baseOffset === x.baseOffset && cleaned.nextOffset <= end, "a cleaned segment replaces its group's offsets");
    assert(end <= this.checkpoint.gapsUpTo, "the gaps of a cleaned segment are accepted on disk before it is swapped in");
    const { fs } = this.deps;
    const stem = x.paths.log.slice(0, -".log".length);
    let release!: () => void;
    this.swapping = new Promise((resolve) => (release = resolve));
    try {
      fs.rename(`${stem}${CLEANED_SUFFIX}`, `${stem}${SWAP_SUFFIX}`); // the commit
    } catch (e) {
      this.swapping = null;
      release();
      throw storageError("cannot commit a cleaned segment", e, this.deps, `${stem}${CLEANED_SUFFIX}`);
    }
    try {
      for (const p of [x.paths.index, x.paths.timeIndex]) unlinkIfPresent(fs, p);
      for (const later of group.slice(1)) deleteSegmentFiles(fs, this.dir, later.baseOffset);
      unlinkIfPresent(fs, x.paths.log);
      fs.rename(`${stem}${SWAP_SUFFIX}`, x.paths.log);
      cleaned.markDurable(cleaned.snapshot());
      cleaned.seal();
      cleaned.gapsUpTo = this.checkpoint.gapsUpTo;
      this.segments.splice(i, group.length, cleaned);
      // Their mappings go at the pass's end (cleaner.ts: one collection per pass).
      for (const g of group) g.release();
      await fs.fsyncDir(this.dir);
      await writeIndexes(fs, cleaned);
      return true;
    } catch (e) {
      // Committed on disk, not in memory: recovery completes the swap (recovery.ts, row 10).
      this.closed = true;
      this.deps.durability.unregister(this);
      for (const s of this.segments) s.release();
      throw storageError("a cleaned segment's swap failed; the next open completes it", e, this.deps, x.paths.log);
    } finally {
      this.swapping = null;
      release();
    }
  }

  // --- close ----------------------------------------------------------------------------------

  /** Syncs everything, writes the active segment's indexes and releases files. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.tail?.clear(); // reads are refused from here on: its chunks go back to the budget
    while (this.rolling !== null) await this.rolling.catch(() => {});
    while (this.swapping !== null) await this.swapping;
    try {
      await this.waitDurable(this.endOffset);
      const active = this.active;
      await this.cutRunway(active);
      if (active.indexDirty) await writeIndexes(this.deps.fs, active);
      await writeTxnIndex(this.deps.fs, active, this.txns.entriesIn(active.baseOffset, active.nextOffset));
      await this.snapshotProducers(this.endOffset);
    } catch (e) {
      throw storageError("close failed", e, this.deps, this.active.paths.log);
    } finally {
      this.deps.durability.unregister(this);
      for (const seg of this.segments) seg.release();
      this.listeners.clear();
      this.hwWaiters.clear();
    }
  }
}

/** The first batch of `seg` (whose bytes are `all`) that fails its checks, skipping known damage. */
function firstBadBatch(seg: Segment, all: Uint8Array): { position: number; expected: number; reason: string } | null {
  let position = 0;
  let expected = seg.baseOffset;
  while (position < all.length) {
    const damaged = seg.damageStartingAt(position);
    if (damaged !== undefined) {
      position = damaged.end;
      expected = damaged.endOffset;
      continue;
    }
    if (all.length - position < BATCH_HEADER_BYTES) return { position, expected, reason: "torn batch header" };
    const info = batchInfoAt(all, position);
    const problem = headerProblem(info, position, all.length, expected, seg.gapsUpTo);
    if (problem !== null) return { position, expected, reason: problem };
    if (!seg.verified.covers(position, position + info.size)) {
      if (crc32c(all, position + CRC_START, position + info.size) !== be.uint32(all, position + OFF_CRC)) return { position, expected, reason: "CRC-32C mismatch" };
      seg.verified.add(position, position + info.size);
    }
    expected = info.lastOffset + 1;
    position += info.size;
  }
  return null;
}

/** Replaces a sealed segment's file by its first `size` bytes, written to a temp file, synced and
 * renamed over it: a mapping of the old file stays valid for whoever still reads it. */
async function rewritePrefix(fs: FileLayer, seg: Segment, size: number): Promise<void> {
  const tmp = `${seg.paths.log}.tmp`;
  const out = fs.open(tmp, { create: true, truncate: true });
  try {
    const step = 1024 * 1024;
    for (let pos = 0; pos < size; pos += step) fs.pwrite(out, seg.bytes(pos, Math.min(step, size - pos)), pos);
    await fs.fdatasync(out);
  } finally {
    fs.close(out);
  }
  fs.rename(tmp, seg.paths.log);
  for (const p of [seg.paths.index, seg.paths.timeIndex]) if (fs.stat(p) !== null) fs.unlink(p);
  seg.release();
}

function unlinkIfPresent(fs: FileLayer, path: string): void {
  try {
    fs.unlink(path);
  } catch (e) {
    if (fsErrorCode(e) !== "ENOENT") throw e;
  }
}

function readLogStart(fs: FileLayer, dir: string): number {
  try {
    const path = joinPath(dir, LOG_START_FILE);
    if (fs.stat(path) === null) return 0;
    const n = Number(new TextDecoder().decode(fs.readFile(path)).trim());
    return Number.isSafeInteger(n) && n >= 0 ? n : 0;
  } catch {
    return 0;
  }
}

function storageError(message: string, e: unknown, deps: LogDeps, file: string, position?: number): CoreError {
  if (e instanceof CoreError) return e;
  const code = fsErrorCode(e);
  return new CoreError(
    "STORAGE",
    `${message}: ${code ?? (e instanceof Error ? e.message : String(e))}`,
    { topic: deps.topic, partition: deps.partition, file, position },
    { cause: e },
  );
}
