// One segment of a partition log: `<20-digit base offset>.log` holding RecordBatch v2 batches
// byte for byte (broker-assigned baseOffset), plus its `.index` and `.timeindex` (see indexes.ts).
//
// A segment is either ACTIVE (the last one: open read-write, appended with pwrite, read with
// pread) or SEALED (immutable: read through a read-only mapping, handed out as subarrays with no
// copy). Either way a read of RECYCLE_MIN_BYTES or more is a pread into a lent buffer
// (core/lent-buffers.ts): every page read through a mapping counts in the broker's resident
// memory until the mapping is collected, so a consumer catching up on 550 MB of sealed segments
// took the broker from 114 to 604 MiB. A sealed segment is never truncated — Bun dies (SIGBUS)
// touching a mapping past a truncated end — it is only unlinked whole, which leaves existing
// mappings valid.
//
// A batch is served only once its CRC-32C was checked by this process: on append (produce
// validation), by recovery's scan, or by the first read that touches it (`verified`). Bytes that
// fail are a DamagedRange: skipped by every walk, refused to readers, reported (issue #7).
import { assert } from "../assert.ts";
import * as be from "../bytes.ts";
import { crc32c } from "../batch/crc32c.ts";
import { RECYCLE_MIN_BYTES, lendBuffer } from "../lent-buffers.ts";
import {
  BATCH_HEADER_BYTES,
  BATCH_LENGTH_PREFIX_BYTES,
  CRC_START,
  OFF_BATCH_LENGTH,
  OFF_CRC,
  OFF_LAST_OFFSET_DELTA,
  OFF_MAGIC,
  OFF_MAX_TIMESTAMP,
  OFF_RECORD_COUNT,
} from "../batch/header.ts";
import { INDEX_INTERVAL_BYTES } from "../limits.ts";
import type { FileHandle, FileLayer } from "../fs.ts";
import { joinPath } from "../fs.ts";
import { OffsetIndex, TimeIndex } from "./indexes.ts";
import type { DamagedRange } from "./types.ts";

/** Relative offsets and positions are int32 on disk. */
export const RELATIVE_MAX = 0x7fffffff;

export function segmentName(baseOffset: number): string {
  return String(baseOffset).padStart(20, "0");
}

/** `00000000000000001234.log` → 1234; null for anything else. */
export function parseSegmentName(file: string, ext: string): number | null {
  if (!file.endsWith(ext)) return null;
  const stem = file.slice(0, -ext.length);
  if (!/^\d{20}$/.test(stem)) return null;
  const n = Number(stem);
  return Number.isSafeInteger(n) ? n : null;
}

/** The fields of a stored batch the log needs, read from its first 43 bytes. */
export interface BatchInfo {
  size: number;
  baseOffset: number;
  lastOffset: number;
  maxTimestamp: number;
  magic: number;
}

export function batchInfoAt(bytes: Uint8Array, pos: number): BatchInfo {
  const baseOffset = be.int64(bytes, pos);
  return {
    size: be.int32(bytes, pos + OFF_BATCH_LENGTH) + BATCH_LENGTH_PREFIX_BYTES,
    baseOffset,
    lastOffset: baseOffset + be.int32(bytes, pos + OFF_LAST_OFFSET_DELTA),
    maxTimestamp: be.int64(bytes, pos + OFF_MAX_TIMESTAMP),
    magic: be.int8(bytes, pos + OFF_MAGIC),
  };
}

/**
 * Why a header met on a walk is not a batch that continues the log (null: it is), CRC aside.
 * `gapsUpTo`: the cleaner's mark (cleaner-checkpoint.ts) — a batch whose baseOffset is at most this
 * may start above the expected offset (the batches between were cleaned away); -1: none may.
 */
export function headerProblem(info: BatchInfo, position: number, limit: number, expectedOffset: number | null, gapsUpTo = -1): string | null {
  if (info.size < BATCH_HEADER_BYTES) return `batch length ${info.size - BATCH_LENGTH_PREFIX_BYTES} too small`;
  if (position + info.size > limit) return "batch length past the end of the segment";
  if (info.magic !== 2) return `magic ${info.magic}, not 2`;
  if (info.lastOffset < info.baseOffset) return "lastOffsetDelta negative";
  if (expectedOffset !== null && info.baseOffset !== expectedOffset && !gapAllowed(expectedOffset, info.baseOffset, gapsUpTo)) {
    return `baseOffset ${info.baseOffset}, expected ${expectedOffset}`;
  }
  return null;
}

/** Whether offsets [expected, next) may be missing: cleaned away, below the cleaner's mark. */
export function gapAllowed(expected: number, next: number, gapsUpTo: number): boolean {
  return next > expected && next <= gapsUpTo;
}

/**
 * The next position at or after `from` in `bytes` where a valid batch starts whose offsets lie in
 * (badOffset, maxEnd) — how recovery and reads step over a damaged range to the batches after it.
 * `badOffset` is the offset the bad batch being stepped over was to start at: that batch held it,
 * so a batch after it starts above it. A batch claiming `badOffset` itself can only be one whose
 * baseOffset was damaged (it lies outside the CRC: zeros over the end of the first batch of a log
 * and the next one's header make it claim 0); taking it would serve its records at the bad
 * batch's offsets, and report the bad batch as holding none (issue #7).
 */
export function findNextBatch(bytes: Uint8Array, from: number, badOffset: number, maxEnd: number): { position: number; baseOffset: number } | null {
  for (let pos = from; pos + BATCH_HEADER_BYTES <= bytes.length; pos++) {
    if (bytes[pos + OFF_MAGIC] !== 2) continue;
    const info = batchInfoAt(bytes, pos);
    if (info.baseOffset <= badOffset || info.lastOffset >= maxEnd || headerProblem(info, pos, bytes.length, null) !== null) continue;
    if (crc32c(bytes, pos + CRC_START, pos + info.size) !== be.uint32(bytes, pos + OFF_CRC)) continue;
    return { position: pos, baseOffset: info.baseOffset };
  }
  return null;
}

/** Sorted, merged byte ranges [start, end): what of a segment passed its CRC check. */
export class RangeSet {
  private starts: number[] = [];
  private ends: number[] = [];

  covers(start: number, end: number): boolean {
    const i = this.indexAtOrBefore(start);
    return i >= 0 && this.ends[i]! >= end;
  }

  add(start: number, end: number): void {
    const n = this.starts.length;
    if (n > 0 && this.ends[n - 1] === start) {
      this.ends[n - 1] = end; // the common case: appends and sequential reads
      return;
    }
    let i = this.indexAtOrBefore(start);
    if (i >= 0 && this.ends[i]! >= start) {
      this.ends[i] = Math.max(this.ends[i]!, end);
    } else {
      i++;
      this.starts.splice(i, 0, start);
      this.ends.splice(i, 0, end);
    }
    while (i + 1 < this.starts.length && this.starts[i + 1]! <= this.ends[i]!) {
      this.ends[i] = Math.max(this.ends[i]!, this.ends[i + 1]!);
      this.starts.splice(i + 1, 1);
      this.ends.splice(i + 1, 1);
    }
  }

  truncate(size: number): void {
    while (this.starts.length > 0 && this.starts.at(-1)! >= size) {
      this.starts.pop();
      this.ends.pop();
    }
    if (this.ends.length > 0 && this.ends.at(-1)! > size) this.ends[this.ends.length - 1] = size;
  }

  private indexAtOrBefore(pos: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.starts[mid]! <= pos) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }
}

/**
 * Why a stored batch is not valid, or null. `bytes` holds at least `remaining` bytes at `pos`
 * with `crc`, and the batch header at least without. Without `crc` (a walk of a segment trusted
 * from its indexes, recovery.ts), `recordCount = lastOffsetDelta + 1` stands in for the CRC over
 * the fields a walk relies on: produce validation stores no batch that breaks it.
 */
export function checkStoredBatch(
  bytes: Uint8Array,
  pos: number,
  remaining: number,
  expectedOffset: number,
  segmentBase: number,
  crc = true,
  gapsUpTo = -1,
): string | null {
  if (remaining < BATCH_HEADER_BYTES) return "torn batch header";
  const size = be.int32(bytes, pos + OFF_BATCH_LENGTH) + BATCH_LENGTH_PREFIX_BYTES;
  if (size < BATCH_HEADER_BYTES) return `batch length ${size - BATCH_LENGTH_PREFIX_BYTES} too small`;
  if (size > remaining) return "torn batch (length past end of file)";
  if (be.int8(bytes, pos + OFF_MAGIC) !== 2) return `magic ${be.int8(bytes, pos + OFF_MAGIC)}, not 2`;
  if (crc && crc32c(bytes, pos + CRC_START, pos + size) !== be.uint32(bytes, pos + OFF_CRC)) return "CRC-32C mismatch";
  const base = be.int64(bytes, pos);
  const delta = be.int32(bytes, pos + OFF_LAST_OFFSET_DELTA);
  // A cleaned batch (at or below the cleaner's mark) keeps its lastOffsetDelta with fewer records.
  const count = be.int32(bytes, pos + OFF_RECORD_COUNT);
  if (!crc && (base <= gapsUpTo ? count < 0 || count > delta + 1 : count !== delta + 1)) return "recordCount does not match lastOffsetDelta";
  // Every batch starts where the previous one ended, except where the cleaner removed batches.
  if (base !== expectedOffset && !gapAllowed(expectedOffset, base, gapsUpTo)) return `baseOffset ${base}, expected ${expectedOffset}`;
  if (delta < 0) return `lastOffsetDelta ${delta} negative`;
  if (base + delta - segmentBase > RELATIVE_MAX) return "offset beyond the segment's int32 range";
  return null;
}

export interface SegmentPaths {
  log: string;
  index: string;
  timeIndex: string;
}

export function segmentPaths(dir: string, baseOffset: number): SegmentPaths {
  const stem = joinPath(dir, segmentName(baseOffset));
  return { log: `${stem}.log`, index: `${stem}.index`, timeIndex: `${stem}.timeindex` };
}

export interface SegmentState {
  size: number;
  nextOffset: number;
  bytesSinceIndexEntry: number;
  maxTimestamp: number;
  offsetOfMaxTimestamp: number;
  rollBaseTimestamp: number;
}

export class Segment {
  readonly paths: SegmentPaths;
  /** Open while active. */
  file: FileHandle | null = null;
  /** Set lazily once sealed. */
  private mapping: Uint8Array | null = null;
  /**
   * Bytes of valid batches. The file's size, except transiently during a failed write and, on
   * the active segment, the runway: zeros written ahead of `size` (see PartitionLog.extendRunway)
   * and cut off when the segment is sealed or closed.
   */
  size = 0;
  /** End of the runway written ahead of `size` (0, or anything ≤ size: none). */
  runwayEnd = 0;
  /** Bytes known to be on disk (fdatasync done). */
  durableSize = 0;
  /** One past the last offset held. */
  nextOffset: number;
  offsetIndex = new OffsetIndex();
  timeIndex = new TimeIndex();
  bytesSinceIndexEntry = 0;
  /** Largest batch maxTimestamp so far (-1: none) and the last offset of the first batch reaching it. */
  maxTimestamp = -1;
  offsetOfMaxTimestamp = -1;
  /** When segment.ms counts from: the first batch's timestamp, or its append time. */
  rollBaseTimestamp = -1;
  sealed = false;
  /** Bookkeeping at `durableSize`, for rollbackToDurable. */
  private durable: SegmentState;
  /** The in-memory indexes differ from the files (rebuilt, or the active segment's). */
  indexDirty = false;
  /** The .log grew past `size` after a failed write and must be cut back before the next one. */
  needsTruncate = false;
  /** Byte ranges holding no servable batch, in position order (see DamagedRange). */
  readonly damaged: DamagedRange[] = [];
  /** Byte ranges whose batches passed their CRC check in this process. */
  readonly verified = new RangeSet();
  /**
   * The log's cleaner mark (cleaner-checkpoint.ts): a batch of this segment whose baseOffset is at
   * most this may start above the previous batch's end, and the segment may end short of the next
   * segment's base when that base is at most this. -1: offsets are contiguous here.
   */
  gapsUpTo = -1;
  /**
   * The active segment's batches from the one holding its second-to-last index entry to its
   * end, in file order: a read near the tail (every caught-up consumer) finds its batch here
   * instead of walking up to INDEX_INTERVAL_BYTES of headers with a pread each. Two intervals,
   * not one: under fsync `always` the durable end lags the written one, so a consumer's next
   * batch is often just before the newest entry. Cleared when sealed.
   */
  private recentPositions: number[] = [];
  private recentInfos: BatchInfo[] = [];

  constructor(
    readonly fs: FileLayer,
    readonly dir: string,
    readonly baseOffset: number,
  ) {
    this.paths = segmentPaths(dir, baseOffset);
    this.nextOffset = baseOffset;
    this.durable = this.snapshot();
  }

  /**
   * Records a batch stored at `position` in the indexes and counters (append and recovery alike).
   * `rollBase`: when segment.ms starts counting if this is the segment's first batch.
   * `checked`: its CRC was checked (else the first read checks it, see `verified`).
   */
  noteBatch(position: number, info: BatchInfo, rollBase: number, checked = true): void {
    assert(position === this.size, "batches are noted in file order");
    assert(info.baseOffset >= this.nextOffset, "offsets only rise");
    if (info.maxTimestamp > this.maxTimestamp) {
      this.maxTimestamp = info.maxTimestamp;
      this.offsetOfMaxTimestamp = info.lastOffset;
    }
    if (this.bytesSinceIndexEntry > INDEX_INTERVAL_BYTES) {
      // The recent batches keep from the entry before this one on (-1: none there, keep all).
      const older = this.recentPositions.indexOf(this.offsetIndex.lastPosition());
      this.offsetIndex.append(info.lastOffset - this.baseOffset, position);
      if (this.maxTimestamp >= 0) this.timeIndex.maybeAppend(this.maxTimestamp, this.offsetOfMaxTimestamp - this.baseOffset);
      this.bytesSinceIndexEntry = 0;
      if (older > 0) {
        this.recentPositions.splice(0, older);
        this.recentInfos.splice(0, older);
      }
    }
    if (!this.sealed) {
      this.recentPositions.push(position);
      this.recentInfos.push(info);
    }
    this.bytesSinceIndexEntry += info.size;
    if (this.size === 0) this.rollBaseTimestamp = rollBase;
    if (checked) this.verified.add(position, position + info.size);
    this.size += info.size;
    this.nextOffset = info.lastOffset + 1;
  }

  /** Records a damaged range at the current end during a scan (recovery): skipped from now on. */
  noteDamage(range: DamagedRange): void {
    assert(range.position === this.size && range.end >= range.position, "damage is noted in file order");
    assert(range.firstOffset === this.nextOffset && range.endOffset >= range.firstOffset, "damage continues the offsets");
    this.damaged.push(range);
    this.size = range.end;
    this.nextOffset = range.endOffset;
    // The first batch after the gap gets an index entry: lookups past it need not walk through it.
    this.bytesSinceIndexEntry = INDEX_INTERVAL_BYTES + 1;
  }

  /** Records damage found by a read, inside what the segment already holds. */
  noteDamageFound(range: DamagedRange): void {
    const i = this.damaged.findIndex((d) => d.position > range.position);
    if (i < 0) this.damaged.push(range);
    else this.damaged.splice(i, 0, range);
  }

  damageAtOffset(offset: number): DamagedRange | undefined {
    for (const d of this.damaged) if (offset >= d.firstOffset && offset < d.endOffset) return d;
    return undefined;
  }

  damageStartingAt(position: number): DamagedRange | undefined {
    for (const d of this.damaged) if (d.position === position && d.end > d.position) return d;
    return undefined;
  }

  /** The first damaged range starting at or after `position` (its start bounds a read window). */
  nextDamageStart(position: number): number {
    for (const d of this.damaged) if (d.position >= position) return d.position;
    return Infinity;
  }

  /** The bookkeeping now, taken when a sync starts; markDurable(it) when the sync is done. */
  snapshot(): SegmentState {
    return {
      size: this.size,
      nextOffset: this.nextOffset,
      bytesSinceIndexEntry: this.bytesSinceIndexEntry,
      maxTimestamp: this.maxTimestamp,
      offsetOfMaxTimestamp: this.offsetOfMaxTimestamp,
      rollBaseTimestamp: this.rollBaseTimestamp,
    };
  }

  markDurable(state: SegmentState): void {
    assert(state.size <= this.size, "the durable end is within the segment");
    if (state.size < this.durableSize) return;
    this.durableSize = state.size;
    this.durable = state;
  }

  /** Forgets every batch past the durable end (a failed sync); the caller truncates the file. */
  rollbackToDurable(): void {
    const d = this.durable;
    this.size = d.size;
    this.nextOffset = d.nextOffset;
    this.bytesSinceIndexEntry = d.bytesSinceIndexEntry;
    this.maxTimestamp = d.maxTimestamp;
    this.offsetOfMaxTimestamp = d.offsetOfMaxTimestamp;
    this.rollBaseTimestamp = d.rollBaseTimestamp;
    this.offsetIndex.truncateToPosition(this.size);
    this.timeIndex.truncateToRelOffset(this.nextOffset - this.baseOffset);
    this.verified.truncate(this.size);
    while (this.recentPositions.length > 0 && this.recentPositions.at(-1)! >= this.size) {
      this.recentPositions.pop();
      this.recentInfos.pop();
    }
  }

  /** Where the active segment's file ends: its batches, then the runway if any. */
  get fileEnd(): number {
    return Math.max(this.size, this.runwayEnd);
  }

  /**
   * Bytes [position, position+length): a pread into a lent buffer when large (either kind of
   * segment), else a view of the mapping when sealed, a pread copy when active.
   */
  bytes(position: number, length: number): Uint8Array {
    assert(position + length <= this.size, "read within the segment");
    const large = length >= RECYCLE_MIN_BYTES;
    if (this.sealed && !large) return this.map().subarray(position, position + length);
    const out = large ? lendBuffer(length) : new Uint8Array(length);
    const n = this.preadAt(out, position);
    assert(n === length, "segment shorter than its bookkeeping");
    return out;
  }

  /** pread from the segment's file; a sealed one, whose file is closed, is opened for it. */
  private preadAt(into: Uint8Array, position: number): number {
    if (!this.sealed) return this.fs.pread(this.file!, into, position);
    const file = this.fs.open(this.paths.log);
    try {
      return this.fs.pread(file, into, position);
    } finally {
      this.fs.close(file);
    }
  }

  /** The batch fields at `position`, which is a batch start below `size`. */
  infoAt(position: number, scratch: Uint8Array): BatchInfo {
    if (this.sealed) return batchInfoAt(this.map(), position);
    this.fs.pread(this.file!, scratch, position);
    return batchInfoAt(scratch, 0);
  }

  map(): Uint8Array {
    if (this.mapping === null || this.mapping.length < this.size) this.mapping = this.fs.map(this.paths.log);
    return this.mapping;
  }

  /** Turns the active segment immutable; the caller has synced it and written its indexes. */
  seal(): void {
    this.sealed = true;
    this.recentPositions = [];
    this.recentInfos = [];
    if (this.file !== null) {
      this.fs.close(this.file);
      this.file = null;
    }
  }

  /** Drops file handle and mapping (the mapping itself is unmapped when collected). */
  release(): void {
    if (this.file !== null) {
      this.fs.close(this.file);
      this.file = null;
    }
    this.mapping = null;
  }

  /**
   * Position of the batch holding `offset`, found by the index then a forward walk of headers
   * that steps over damaged ranges and checks every header it meets: `problem` names the first
   * one that does not continue the log (the caller records the damage there).
   */
  positionOf(
    offset: number,
    limit: number,
    scratch: Uint8Array,
    fromStart = false,
  ): { position: number; info: BatchInfo; problem: null } | { position: number; expected: number | null; problem: string } | null {
    if (!fromStart && this.damaged.length === 0) {
      const recent = this.recentAt(offset, limit);
      if (recent !== null) return recent;
    }
    const entry = fromStart ? null : this.offsetIndex.lookupEntry(offset - this.baseOffset);
    let position = entry?.position ?? 0;
    let expected: number | null = position === 0 ? this.baseOffset : null;
    if (entry !== null && position < limit && limit - position >= BATCH_HEADER_BYTES && this.damageStartingAt(position) === undefined) {
      // The entry must name the batch that starts there; a damaged .index must not skip offsets.
      const info = this.infoAt(position, scratch);
      if (headerProblem(info, position, limit, null) === null && info.lastOffset !== this.baseOffset + entry.relOffset) {
        return this.positionOf(offset, limit, scratch, true);
      }
    }
    while (position < limit) {
      const d = this.damageStartingAt(position);
      if (d !== undefined) {
        position = d.end;
        expected = d.endOffset;
        continue;
      }
      if (limit - position < BATCH_HEADER_BYTES) return { position, expected, problem: "torn batch header" };
      const info = this.infoAt(position, scratch);
      const problem = headerProblem(info, position, limit, expected, this.gapsUpTo);
      if (problem !== null) return { position, expected, problem };
      if (info.lastOffset >= offset) return { position, info, problem: null };
      expected = info.lastOffset + 1;
      position += info.size;
    }
    return null;
  }

  /** positionOf from the recent batches, when they hold `offset` whole below `limit`. */
  private recentAt(offset: number, limit: number): { position: number; info: BatchInfo; problem: null } | null {
    const infos = this.recentInfos;
    const n = infos.length;
    if (n === 0 || offset < infos[0]!.baseOffset || offset > infos[n - 1]!.lastOffset) return null;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (infos[mid]!.lastOffset >= offset) hi = mid;
      else lo = mid + 1;
    }
    const info = infos[lo]!;
    const position = this.recentPositions[lo]!;
    if (position + info.size > limit) return null;
    return { position, info, problem: null };
  }

  /** The segment's largest timestamp, for retention.ms (Kafka: largestTimestamp). */
  largestTimestamp(): number {
    return this.maxTimestamp;
  }
}

/**
 * Gives back the disk space of unlinked segments now. A sealed segment is read through a mapping,
 * and an unlinked file's blocks stay allocated while any mapping of it lives; Bun unmaps only when
 * the collector finalizes the buffer, which may be never on an idle broker — a topic delete or
 * retention on a full disk freed nothing until then (issue #7). After dropping segments (their
 * mappings released), a synchronous full collection unmaps them, and one more a second later
 * catches views that a fetch in flight still held. Costs milliseconds; runs only when segments
 * were deleted.
 */
export function reclaimReleasedMappings(): void {
  const bun = (globalThis as { Bun?: { gc(force: boolean): void } }).Bun;
  if (bun === undefined) return;
  // Coalesced: a retention pass over many partitions, or a delete of a topic with many, collects
  // once now and once later, not twice per partition (each full collection stalls the broker).
  if (!reclaimNow) {
    reclaimNow = true;
    queueMicrotask(() => {
      reclaimNow = false;
      bun.gc(true);
    });
  }
  if (reclaimLater === null) {
    reclaimLater = setTimeout(() => {
      reclaimLater = null;
      bun.gc(true);
    }, 1000);
    reclaimLater.unref?.();
  }
}

let reclaimNow = false;
let reclaimLater: ReturnType<typeof setTimeout> | null = null;

/** Header scratch for infoAt on the active segment. */
export function newScratch(): Uint8Array {
  return new Uint8Array(OFF_MAX_TIMESTAMP + 8);
}
