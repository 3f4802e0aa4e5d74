// Log compaction (cleanup.policy=compact, and compact,delete): one cleaning pass over one
// partition, as Kafka's LogCleaner does it. The broker's cleaner (core/broker/cleaning.ts) decides
// when; `streamctl topics compact` asks for a pass now.
//
// What a pass keeps: the latest record of every key in the cleaned part of the log, at its
// original offset. Offsets never change: a batch keeps its baseOffset and lastOffsetDelta with
// fewer records, a batch left with none is dropped, so the cleaned part skips offsets (the log
// accepts that up to the checkpoint's gapsUpTo, cleaner-checkpoint.ts). Also dropped: records
// without a key (Kafka does the same), records below the log start, aborted transactional data,
// and tombstones (null value) and transaction markers delete.retention.ms after their first
// cleaning (the delete horizon, KIP-534: attribute bit 6, baseTimestamp = horizon). The last batch
// of each idempotent producer the log keeps state for stays, empty if need be (Kafka's rule, so
// the producer state can always be rebuilt from the log). Transactions: cleaner-txn.ts.
//
// The cleanable part: sealed segments only (never the active one), below the high watermark and
// the first open transaction, and no segment whose largest timestamp is within
// min.compaction.lag.ms, nor a damaged one or any after it. The dirty part starts at the
// checkpoint's firstDirtyOffset. A pass runs when the dirty share of the cleanable bytes reaches
// min.cleanable.dirty.ratio, when the first dirty segment is older than max.compaction.lag.ms
// (such topics also roll at least that often, configs.ts), when a delete horizon kept by the
// last pass is due, or when forced.
//
// A pass:
//   1. TxnOutcomes: the headers from the log start to the high watermark (cleaner-txn.ts).
//   2. The offset map: key → latest offset over the dirty part, up to CLEANER_MAP_BYTES_MAX (a
//      larger dirty part is cleaned up to where the map filled: `mapEnd`).
//   3. gapsUpTo := the end of the last segment to rewrite, durably (before anything with a gap
//      can be on disk).
//   4. Every segment from the log's first to the one holding mapEnd − 1 is rewritten, in groups of
//      consecutive segments whose sizes add up to at most segment.bytes: for a group starting at
//      base X, the kept batches go to X.log.cleaned, which is fdatasync'ed, then swapped in
//      (PartitionLog.swapCleaned, synchronous up to its directory sync):
//        rename X.log.cleaned → X.log.swap     (the commit)
//        unlink X's indexes, every later segment of the group, X.log
//        rename X.log.swap → X.log; the in-memory segment list; fsync the directory; X's indexes
//      A group that changed meanwhile (retention, truncation, a close) is not swapped: its cleaned
//      file is deleted and the pass ends.
//   5. firstDirtyOffset := mapEnd, durably.
// A crash anywhere leaves the old segments or the new ones: X.log.cleaned is deleted at the next
// open, X.log.swap is completed (recovery.ts, rows 9 and 10), and the checkpoint's order makes
// every gap on disk lie below gapsUpTo.
//
// Readers during a pass: sealed segments are never truncated nor written; a swapped-out file is
// unlinked or renamed over, so what a fetch holds of its mapping stays valid (segment.ts). Every
// offset a reader gets still rises, and a key's latest record is never dropped: a record goes only
// when a later one of its key is in the log (or it is an expired tombstone or marker, or aborted).
import * as be from "../bytes.ts";
import { decompress } from "../batch/codecs.ts";
import {
  ATTR_CODEC_MASK,
  ATTR_DELETE_HORIZON,
  BATCH_HEADER_BYTES,
  type Codec,
  OFF_ATTRIBUTES,
  OFF_BASE_TIMESTAMP,
  OFF_PRODUCER_ID,
  OFF_RECORD_COUNT,
} from "../batch/header.ts";
import { type RecordSpans, type SpansScratch, rebuildBatch, recordSpans } from "../batch/record-spans.ts";
import type { FileLayer } from "../fs.ts";
import { CLEANER_MAP_BYTES_MAX, DECOMPRESSED_BYTES_MAX } from "../limits.ts";
import { type CleanerIo, CleanedWriter, type ReadBatch, SegmentReader } from "./cleaner-io.ts";
import { CleanedTxns, TxnOutcomes, type TxnView, controlType, isControl, isTransactional } from "./cleaner-txn.ts";
import type { CleanerView, PartitionLog } from "./partition-log.ts";
import { CLEANED_SUFFIX } from "./recovery.ts";
import { Segment, batchInfoAt, reclaimReleasedMappings } from "./segment.ts";

/** What a pass did (or why it did not run), per partition. */
export interface CleanResult {
  /** A pass ran and swapped in what it cleaned. */
  cleaned: boolean;
  /** Why it ran, or why not. */
  reason: string;
  dirtyRatio: number;
  /** The checkpoint's firstDirtyOffset afterwards: the map covered offsets below it. */
  firstDirtyOffset: number;
  segmentsBefore: number;
  segmentsAfter: number;
  bytesBefore: number;
  bytesAfter: number;
  bytesRead: number;
  bytesWritten: number;
  recordsBefore: number;
  recordsAfter: number;
  /** Of the records removed: tombstones past their horizon, aborted transactional records, markers. */
  tombstonesRemoved: number;
  abortedRemoved: number;
  markersRemoved: number;
  batchesRemoved: number;
  /** The earliest delete horizon a kept batch carries (a pass is due then), or null. */
  nextHorizonMs: number | null;
  ms: number;
}

export interface CleanOptions {
  io: CleanerIo;
  /** The broker's clock, ms (horizons, compaction lags). */
  now: number;
  /** Run whatever the dirty ratio says. */
  force?: boolean;
  /** A delete horizon kept by an earlier pass is due. */
  horizonDue?: boolean;
  mapBytesMax?: number;
  /**
   * The log's transactions, when the log keeps them itself (a transaction index and a last stable
   * offset); without it the pass reads them from the log's batches (TxnOutcomes, cleaner-txn.ts).
   */
  transactions?: (log: PartitionLog) => TxnView | null;
}

/** The cleanable part of a log and its dirty share; no I/O. */
export interface CleanPlan {
  cleanable: Segment[];
  /** End offset of each cleanable segment (the next segment's base). */
  ends: number[];
  firstDirty: number;
  cleanBytes: number;
  dirtyBytes: number;
  ratio: number;
  maxLagDue: boolean;
}

/** The plan for a log whose last stable offset is `lso` (Infinity before transactions are read). */
export function planCleaning(view: CleanerView, now: number, lso = Infinity): CleanPlan {
  const { sealed, config } = view;
  const endOf = (i: number) => sealed[i + 1]?.baseOffset ?? view.activeBase;
  let bound = Math.min(view.activeBase, view.highWatermark, lso);
  const firstDirtyWanted = Math.max(view.checkpoint.firstDirtyOffset, view.startOffset);
  const minLag = config.minCompactionLagMs ?? 0;
  for (let i = 0; i < sealed.length; i++) {
    const seg = sealed[i]!;
    if (seg.damaged.length > 0) bound = Math.min(bound, seg.baseOffset);
    else if (minLag > 0 && endOf(i) > firstDirtyWanted && seg.maxTimestamp > now - minLag) bound = Math.min(bound, seg.baseOffset);
  }
  const cleanable: Segment[] = [];
  const ends: number[] = [];
  for (let i = 0; i < sealed.length && endOf(i) <= bound; i++) {
    cleanable.push(sealed[i]!);
    ends.push(endOf(i));
  }
  const cleanEnd = ends.at(-1) ?? 0;
  const firstDirty = Math.min(firstDirtyWanted, cleanEnd);
  let cleanBytes = 0;
  let dirtyBytes = 0;
  let maxLagDue = false;
  const maxLag = config.maxCompactionLagMs ?? Number.MAX_SAFE_INTEGER;
  for (let i = 0; i < cleanable.length; i++) {
    const seg = cleanable[i]!;
    if (ends[i]! <= firstDirty) {
      cleanBytes += seg.size;
      continue;
    }
    if (dirtyBytes === 0 && seg.size > 0 && seg.rollBaseTimestamp >= 0 && now - seg.rollBaseTimestamp > maxLag) maxLagDue = true;
    dirtyBytes += seg.size;
  }
  const total = cleanBytes + dirtyBytes;
  return { cleanable, ends, firstDirty, cleanBytes, dirtyBytes, ratio: total === 0 ? 0 : dirtyBytes / total, maxLagDue };
}

/** Why a pass should run now, or null. */
export function cleaningReason(view: CleanerView, plan: CleanPlan, opts: Pick<CleanOptions, "force" | "horizonDue">): string | null {
  if (plan.cleanable.length === 0) return null;
  if (opts.force) return "asked for";
  const minRatio = view.config.minCleanableDirtyRatio ?? 0.5;
  if (plan.dirtyBytes > 0 && plan.ratio >= minRatio) return `dirty ratio ${plan.ratio.toFixed(2)} ≥ min.cleanable.dirty.ratio ${minRatio}`;
  if (plan.maxLagDue) return "max.compaction.lag.ms passed";
  if (opts.horizonDue) return "a delete horizon passed";
  return null;
}

function emptyResult(reason: string, plan: CleanPlan | null, view: CleanerView): CleanResult {
  return {
    cleaned: false,
    reason,
    dirtyRatio: plan?.ratio ?? 0,
    firstDirtyOffset: view.checkpoint.firstDirtyOffset,
    segmentsBefore: 0,
    segmentsAfter: 0,
    bytesBefore: 0,
    bytesAfter: 0,
    bytesRead: 0,
    bytesWritten: 0,
    recordsBefore: 0,
    recordsAfter: 0,
    tombstonesRemoved: 0,
    abortedRemoved: 0,
    markersRemoved: 0,
    batchesRemoved: 0,
    nextHorizonMs: null,
    ms: 0,
  };
}

/** One cleaning pass over `log` (the steps at the top); throws CoreError/Error on I/O failure. */
export async function cleanLog(log: PartitionLog, opts: CleanOptions): Promise<CleanResult> {
  const started = performance.now();
  const fs = log.fileLayer();
  let view = log.cleanerView();
  let plan = planCleaning(view, opts.now);
  if (cleaningReason(view, plan, opts) === null) return emptyResult(plan.cleanable.length === 0 ? "nothing cleanable yet" : `dirty ratio ${plan.ratio.toFixed(2)}, below min.cleanable.dirty.ratio`, plan, view);
  const counted = countingIo(opts.io);
  // 1. Transactions, up to the high watermark; the plan again with the last stable offset.
  const files = [...view.sealed.map((s) => ({ path: s.paths.log, size: s.size })), log.activeFile()];
  const outcomes = opts.transactions?.(log) ?? (await TxnOutcomes.read(fs, files, view.highWatermark, counted.io));
  if (outcomes.any) plan = planCleaning(view, opts.now, outcomes.firstOpenOffset);
  const reason = cleaningReason(view, plan, opts);
  if (reason === null) return emptyResult("an open transaction holds the dirty part back", plan, view);
  // 2. The offset map.
  const map = await buildOffsetMap(fs, plan, outcomes, counted.io, opts.mapBytesMax ?? CLEANER_MAP_BYTES_MAX);
  // 3. Gaps may appear up to the end of the last segment rewritten.
  const rewrite: Segment[] = [];
  const rewriteEnds: number[] = [];
  for (let i = 0; i < plan.cleanable.length && plan.cleanable[i]!.baseOffset < map.end; i++) {
    rewrite.push(plan.cleanable[i]!);
    rewriteEnds.push(plan.ends[i]!);
  }
  const rewriteEnd = rewriteEnds.at(-1)!;
  await log.updateCheckpoint((c) => ({ ...c, gapsUpTo: Math.max(c.gapsUpTo, rewriteEnd) }));
  // 4. Rewrite, group by group.
  const result = emptyResult(reason, plan, view);
  const pass: Pass = { fs, io: counted.io, now: opts.now, view, map: map.keys, outcomes, txns: new CleanedTxns(), result, gapsUpTo: Math.max(view.checkpoint.gapsUpTo, rewriteEnd) };
  let complete = true;
  for (const group of groupSegments(rewrite, rewriteEnds, view.config.segmentBytes)) {
    result.segmentsBefore += group.length;
    for (const s of group) result.bytesBefore += s.size;
    const cleaned = await cleanGroup(pass, group, log.dir);
    if (!(await log.swapCleaned(group, cleaned))) {
      unlinkQuietly(fs, cleanedPath(group[0]!));
      complete = false;
      result.reason += "; stopped: the log changed under the pass";
      break;
    }
    result.segmentsAfter++;
    result.bytesAfter += cleaned.size;
  }
  // The replaced segments' disk space: one full collection for the pass, not one per swap (each stalls the broker).
  if (result.segmentsAfter > 0) reclaimReleasedMappings();
  // 5. What the map covered is clean now.
  if (complete) await log.updateCheckpoint((c) => ({ ...c, firstDirtyOffset: Math.max(map.end, c.firstDirtyOffset) }));
  view = log.cleanerView();
  result.cleaned = result.segmentsAfter > 0;
  result.firstDirtyOffset = view.checkpoint.firstDirtyOffset;
  result.bytesWritten = result.bytesAfter;
  result.bytesRead = counted.read() - result.bytesWritten;
  result.ms = Math.round(performance.now() - started);
  return result;
}

/** The io of a pass, counting what it takes (reads and writes alike). */
function countingIo(io: CleanerIo): { io: CleanerIo; read: () => number } {
  let bytes = 0;
  const counted = Object.create(io) as CleanerIo;
  counted.take = (n: number) => {
    bytes += n;
    return io.take(n);
  };
  counted.maybeYield = () => io.maybeYield();
  return { io: counted, read: () => bytes };
}

interface Pass {
  fs: FileLayer;
  io: CleanerIo;
  now: number;
  view: CleanerView;
  map: Map<string, number>;
  outcomes: TxnView;
  txns: CleanedTxns;
  result: CleanResult;
  gapsUpTo: number;
}

/** Key → latest offset over the dirty part, up to `bytesMax` of map; `end`: the first offset not covered. */
async function buildOffsetMap(fs: FileLayer, plan: CleanPlan, outcomes: TxnView, io: CleanerIo, bytesMax: number): Promise<{ keys: Map<string, number>; end: number }> {
  const keys = new Map<string, number>();
  let bytes = 0;
  const from = plan.firstDirty;
  for (let i = 0; i < plan.cleanable.length; i++) {
    if (plan.ends[i]! <= from) continue;
    const seg = plan.cleanable[i]!;
    const reader = new SegmentReader(fs, seg.paths.log, seg.size, io, 0, seg.gapsUpTo);
    try {
      for (let b = await reader.next(); b !== null; b = await reader.next()) {
        if (b.info.lastOffset < from || isControl(b.bytes)) continue;
        if (isTransactional(b.bytes) && outcomes.isAborted(be.int64(b.bytes, OFF_PRODUCER_ID), b.info.baseOffset)) continue;
        const records = sectionOf(b);
        if (records === null) throw new Error(`${seg.paths.log}: records of the batch at ${b.position} do not parse`);
        const { section, spans } = records;
        let added = 0;
        for (let r = 0; r < spans.count; r++) {
          const offset = b.info.baseOffset + spans.offsetDelta[r]!;
          if (offset < from || spans.keyLength[r]! < 0) continue;
          const key = keyString(section, spans, r);
          if (!keys.has(key)) added += key.length + 80;
          keys.set(key, offset);
        }
        bytes += added;
        // Full: what the map holds so far is all this pass cleans against (at least one batch).
        if (bytes >= bytesMax) return { keys, end: b.info.lastOffset + 1 };
        await io.maybeYield();
      }
    } finally {
      reader.close();
    }
  }
  return { keys, end: plan.ends.at(-1)! };
}

/** Consecutive segments whose sizes add up to at most `segmentBytes` (one segment at least), and
 * whose offsets fit one segment's int32 range. */
function groupSegments(segs: Segment[], ends: number[], segmentBytes: number): Segment[][] {
  const groups: Segment[][] = [];
  let group: Segment[] = [];
  let bytes = 0;
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i]!;
    const first = group[0];
    if (first !== undefined && (bytes + seg.size > segmentBytes || ends[i]! - first.baseOffset > 0x7fffffff)) {
      groups.push(group);
      group = [];
      bytes = 0;
    }
    group.push(seg);
    bytes += seg.size;
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

function cleanedPath(x: Segment): string {
  return `${x.paths.log.slice(0, -".log".length)}${CLEANED_SUFFIX}`;
}

function unlinkQuietly(fs: FileLayer, path: string): void {
  try {
    fs.unlink(path);
  } catch {
    // the next open removes it (recovery.ts, row 9)
  }
}

/** Writes the kept batches of `group` to its X.log.cleaned (synced) and returns the segment they make. */
async function cleanGroup(pass: Pass, group: Segment[], dir: string): Promise<Segment> {
  const { fs, io } = pass;
  const x = group[0]!;
  const writer = new CleanedWriter(fs, cleanedPath(x), io);
  const out = new Segment(fs, dir, x.baseOffset);
  out.gapsUpTo = pass.gapsUpTo;
  try {
    for (const seg of group) {
      const reader = new SegmentReader(fs, seg.paths.log, seg.size, io, 0, seg.gapsUpTo);
      try {
        for (let b = await reader.next(); b !== null; b = await reader.next()) {
          const kept = cleanBatch(pass, b);
          if (kept === null) {
            pass.result.batchesRemoved++;
            continue;
          }
          const info = batchInfoAt(kept, 0);
          pass.result.recordsAfter += be.int32(kept, OFF_RECORD_COUNT);
          if (be.int16(kept, OFF_ATTRIBUTES) & ATTR_DELETE_HORIZON) {
            const horizon = be.int64(kept, OFF_BASE_TIMESTAMP);
            pass.result.nextHorizonMs = pass.result.nextHorizonMs === null ? horizon : Math.min(pass.result.nextHorizonMs, horizon);
          }
          out.noteBatch(writer.size, info, info.maxTimestamp, true);
          await writer.write(kept);
          await io.maybeYield();
        }
      } finally {
        reader.close();
      }
    }
    await writer.finish();
  } catch (e) {
    writer.close();
    unlinkQuietly(fs, writer.path);
    throw e;
  }
  writer.close();
  return out;
}

/**
 * The batch `b` as the cleaned segment keeps it: itself (a view: written before the next read),
 * rebuilt with fewer records or a delete horizon, or null (dropped).
 */
function cleanBatch(pass: Pass, b: ReadBatch): Uint8Array | null {
  const { info, bytes } = b;
  const { result, view, now } = pass;
  const count = be.int32(bytes, OFF_RECORD_COUNT);
  result.recordsBefore += count;
  const producerId = be.int64(bytes, OFF_PRODUCER_ID);
  // Kafka keeps a producer's last data batch (lastDataOffset), never for a marker.
  const producerLast = producerId >= 0 && !isControl(bytes) && view.producerLastOffsets.has(info.lastOffset);
  const horizon = be.int16(bytes, OFF_ATTRIBUTES) & ATTR_DELETE_HORIZON ? be.int64(bytes, OFF_BASE_TIMESTAMP) : null;
  const retentionMs = view.config.deleteRetentionMs ?? 24 * 3600 * 1000;
  if (isControl(bytes)) {
    // Kept while its transaction may have data in the log; then until its horizon passes.
    if (pass.txns.onMarker(producerId, controlType(bytes))) return bytes;
    if (horizon === null) {
      const records = sectionOf(b);
      if (records === null) return bytes;
      return rebuildBatch(bytes, records.section, records.spans, new Uint8Array(records.spans.count).fill(1), { deleteHorizonMs: now + retentionMs });
    }
    if (horizon > now) return bytes;
    result.markersRemoved += count;
    return null;
  }
  if (isTransactional(bytes) && pass.txns.onData(producerId, info.baseOffset, pass.outcomes)) {
    result.abortedRemoved += count;
    return producerLast ? emptyOf(bytes) : null;
  }
  if (info.lastOffset < view.startOffset) return producerLast ? emptyOf(bytes) : null;
  const records = sectionOf(b);
  if (records === null) throw new Error(`records of the batch at offset ${info.baseOffset} do not parse`);
  const { section, spans } = records;
  const keep = new Uint8Array(spans.count);
  let kept = 0;
  let needsHorizon = false;
  for (let r = 0; r < spans.count; r++) {
    const offset = info.baseOffset + spans.offsetDelta[r]!;
    if (offset < view.startOffset || spans.keyLength[r]! < 0) continue;
    const latest = pass.map.get(keyString(section, spans, r));
    if (latest !== undefined && offset < latest) continue;
    if (spans.valueLength[r]! < 0) {
      if (horizon !== null && horizon <= now) {
        result.tombstonesRemoved++;
        continue;
      }
      if (horizon === null) needsHorizon = true;
    }
    keep[r] = 1;
    kept++;
  }
  if (kept === spans.count && !needsHorizon) return bytes;
  if (kept === 0 && !producerLast) return null;
  return rebuildBatch(bytes, section, spans, keep, needsHorizon ? { deleteHorizonMs: now + retentionMs } : {});
}

/** A batch's header as an empty batch (its producer's last, kept for the producer state). */
function emptyOf(bytes: Uint8Array): Uint8Array {
  const header = bytes.subarray(0, BATCH_HEADER_BYTES);
  return rebuildBatch(header, new Uint8Array(0), { count: 0 } as RecordSpans, new Uint8Array(0));
}

/** The batch's records, decompressed, and their spans; null when they do not parse. */
function sectionOf(b: ReadBatch): { section: Uint8Array; spans: RecordSpans } | null {
  const codec = (be.int16(b.bytes, OFF_ATTRIBUTES) & ATTR_CODEC_MASK) as Codec;
  const count = be.int32(b.bytes, OFF_RECORD_COUNT);
  if (codec === 0) {
    const spans = recordSpans(b.bytes, BATCH_HEADER_BYTES, b.bytes.length, count, SCRATCH);
    return spans === null ? null : { section: b.bytes, spans };
  }
  const section = decompress(codec, b.bytes.subarray(BATCH_HEADER_BYTES), DECOMPRESSED_BYTES_MAX);
  const spans = recordSpans(section, 0, section.length, count, SCRATCH);
  return spans === null ? null : { section, spans };
}

/**
 * The spans of the batch being looked at: every use of them ends before the pass's next await, and
 * passes of one process share it (they never interleave within a batch).
 */
const SCRATCH: SpansScratch = { spans: null };

/** A key's bytes as a string, one char per byte: exact, and a cheap Map key. */
function keyString(section: Uint8Array, spans: RecordSpans, r: number): string {
  const at = spans.keyAt[r]!;
  const length = spans.keyLength[r]!;
  if (length > 64) return Buffer.from(section.buffer, section.byteOffset + at, length).toString("latin1");
  // Short keys (most): no Buffer object per key.
  let key = "";
  for (let i = at; i < at + length; i++) key += String.fromCharCode(section[i]!);
  return key;
}
