// Opening a partition directory: find its segments, trust or rebuild their indexes, validate what
// may be torn, cut the torn tail, keep and report damage anywhere else (issue #7).
//
// Loading one segment (every input matches exactly one row):
//
// | clean marker | segment  | .index/.timeindex | how it is checked                                   |
// |--------------|----------|-------------------|-----------------------------------------------------|
// | yes          | any      | valid             | load indexes; walk headers after the last entry     |
// | no           | not last | valid             | load indexes; walk headers after the last entry     |
// | no           | last     | any               | check every batch, rebuild indexes                  |
// | any          | any      | missing/corrupt   | check every batch, rebuild indexes (and write them) |
//
// "Check" = length within the file, magic 2, CRC-32C, baseOffset equal to the expected next
// offset, offsets within the segment's int32 range. "Walk headers" = the same without the CRC,
// and recordCount = lastOffsetDelta + 1 in its place; a segment opened from its indexes is
// trusted like the batches its indexes cover, whose CRCs the first read checks (segment.ts). A
// walk that fails, or that ends a sealed segment anywhere but at the next segment's base,
// restarts as a full check of the segment (a 1 GiB segment's last batch of 1 MB checked at every
// boot was most of a boot's time with 10 GiB of data, issue #8). When a check stops at a bad batch at position P
// (every stop matches exactly one row; "after P" = a valid batch at Q > P whose offsets start above
// the offset the bad batch was to hold (see findNextBatch) and stay below the next segment's base):
//
// | # | segment                 | a valid batch after P | action                                                   |
// |---|-------------------------|-----------------------|----------------------------------------------------------|
// | 0 | last, > 16 zero bytes   | (none: all zeros)     | RUNWAY (partition-log.ts): truncate at P, not reported   |
// |   |   from P to the end (any|                       |                                                          |
// |   |   number under `always`)|                       |                                                          |
// | 1 | last, unclean stop      | (not looked for)      | TORN TAIL: truncate at P, report the cut                 |
// | 2 | last, clean stop        | no                    | TORN TAIL: truncate at P, report the cut                 |
// | 3 | last, clean stop        | yes, at Q             | DAMAGE: keep [P, Q), report it; check on from Q          |
// | 4 | not last                | yes, at Q             | DAMAGE: keep [P, Q), report it; check on from Q          |
// | 5 | not last                | no                    | DAMAGE: keep [P, end of file), report it; its offsets run |
// |   |                         |                       |   up to the next segment's base                          |
//
// Between two segments (every pair matches exactly one row):
//
// | # | next segment's base vs the end of the previous | action                                          |
// |---|------------------------------------------------|-------------------------------------------------|
// | 6 | equal                                          | continue                                        |
// | 7 | above (bytes or a whole segment lost)          | DAMAGE: the offsets in between, reported        |
// | 8 | below (overlap: not a continuation)            | CUT: delete it and every later segment, report  |
//
// Why the tail is cut and the middle is not: only the last segment can hold unsynced bytes
// (sealed segments were fdatasync'ed with their indexes before the next segment was created), so
// only there can a bad batch be a torn write of something never acknowledged; Kafka's LogLoader
// truncates there too. Anywhere else a bad batch is damage to acknowledged data: cutting it would
// silently drop every acknowledged batch after it. A damaged range is skipped by every walk of
// the log; reads of its offsets fail with STORAGE (KAFKA_STORAGE_ERROR); the segment's index
// files are removed instead of written, so every open checks it again and reports it again.
//
// Where the cleaner removed batches (core/log/cleaner.ts) offsets may be skipped: at or below the
// cleaner checkpoint's gapsUpTo (cleaner-checkpoint.ts) a batch may start above the expected
// offset, a sealed segment may end short of the next one's base, and row 7 does not apply; a
// cleaned batch may hold fewer records than lastOffsetDelta + 1 (the walk's recordCount check
// reads "at most" there). Above gapsUpTo every row holds as written.
//
// The cleaner's own files, settled before any segment is loaded (every file matches exactly one row):
//
// | #  | file          | what it means                        | action                                   |
// |----|---------------|--------------------------------------|------------------------------------------|
// | 9  | X.log.cleaned | a pass wrote (part of) a cleaned     | DELETED: not committed, the segments it  |
// |    |               |   segment and did not commit it      |   was to replace are all still there     |
// | 10 | X.log.swap    | committed (renamed from .cleaned     | COMPLETED: every segment whose base lies |
// |    |               |   after its fdatasync); the swap     |   in (X, the last offset in X.log.swap]  |
// |    |               |   may be done in part: some replaced |   is deleted, X's indexes and X.log too, |
// |    |               |   segments deleted, X.log gone, or   |   X.log.swap renamed to X.log, the dir   |
// |    |               |   X.log a second name of the swap    |   synced; X is then loaded like any      |
// |    |               |   (a rename cut short)               |   segment (indexes rebuilt)              |
//
// Row 10 may leave a replaced segment whose offsets all lie past the swap's last batch (the pass
// dropped every record in it): it holds the old, uncleaned records of those offsets — a log that
// is less clean, not a different one — and the offsets between are a gap below gapsUpTo. The
// cleaner's order that makes every crash one of these rows is written down in cleaner.ts.
//
// What recovery cannot see it cannot report: a last segment that ends exactly between two batches
// is whole as far as its bytes tell — the same file as one whose later batches were never written
// (a power loss before their sync) — so bytes lost there on a batch boundary are neither cut nor
// reported; the log ends where the file does.
import * as be from "../bytes.ts";
import { BATCH_HEADER_BYTES, BATCH_LENGTH_PREFIX_BYTES, OFF_BATCH_LENGTH, OFF_LAST_OFFSET_DELTA, OFF_MAGIC } from "../batch/header.ts";
import { CoreError } from "../errors.ts";
import type { FileHandle, FileLayer } from "../fs.ts";
import { fsErrorCode } from "../fs.ts";
import { OffsetIndex, TimeIndex } from "./indexes.ts";
import { GAPS_UNKNOWN } from "./cleaner-checkpoint.ts";
import { Segment, batchInfoAt, checkStoredBatch, findNextBatch, gapAllowed, parseSegmentName, segmentName, segmentPaths } from "./segment.ts";
import type { DamagedRange, LogDeps, PartitionRecovery, RecoveryCut } from "./types.ts";

const SCAN_BUFFER_BYTES = 8 * 1024 * 1024;
const SCAN_FIRST_BYTES = 64 * 1024;

/** Sequential reader over a file with one reusable buffer. */
class Scanner {
  buf: Uint8Array;
  private start = 0;
  private length = 0;
  constructor(
    private readonly fs: FileLayer,
    private readonly file: FileHandle,
    private readonly fileSize: number,
  ) {
    // Small at first, and no larger than the file: a boot makes one scanner per segment, and a
    // segment opened from its indexes reads only a header or two (8 MiB zeroed and read for each
    // of hundreds of partitions was most of a boot's time). A scan that reads on doubles it.
    this.buf = new Uint8Array(Math.min(SCAN_FIRST_BYTES, fileSize));
  }

  /** Makes [pos, pos+n) resident (n ≤ fileSize − pos); returns its index in `buf`. */
  ensure(pos: number, n: number): number {
    if (pos >= this.start && pos + n <= this.start + this.length) return pos - this.start;
    const onward = this.length > 0 && pos >= this.start;
    if (n > this.buf.length || (onward && this.buf.length < SCAN_BUFFER_BYTES && this.buf.length < this.fileSize)) {
      this.buf = new Uint8Array(Math.max(n, Math.min(this.buf.length * 2, SCAN_BUFFER_BYTES, this.fileSize)));
    }
    const want = Math.min(this.buf.length, this.fileSize - pos);
    this.length = this.fs.pread(this.file, this.buf.subarray(0, want), pos);
    this.start = pos;
    if (this.length < n) throw Object.assign(new Error(`short read at ${pos}`), { code: "EIO" });
    return 0;
  }
}

interface ScanStop {
  position: number;
  reason: string;
  /** lastOffset of the rejected batch when its header looked like the expected next one. */
  lastOffsetSeen: number | null;
}

/**
 * Checks and notes batches from `from` to the end of the file; returns where it had to stop, if
 * anywhere. `headersOnly`: the segment is trusted (opened from its indexes), so the batches past
 * its last index entry are walked by their headers like the rest of it (checkStoredBatch without
 * its CRC); their CRCs are checked by the first read, as for every batch before them (segment.ts,
 * `verified`).
 */
function scanInto(seg: Segment, scanner: Scanner, from: number, fileSize: number, expected: number, now: number, headersOnly = false): ScanStop | null {
  let pos = from;
  while (pos < fileSize) {
    const remaining = fileSize - pos;
    if (remaining < BATCH_HEADER_BYTES) return { position: pos, reason: "torn batch header", lastOffsetSeen: null };
    let at = scanner.ensure(pos, BATCH_HEADER_BYTES);
    const size = be.int32(scanner.buf, at + OFF_BATCH_LENGTH) + BATCH_LENGTH_PREFIX_BYTES;
    const plausible = be.int64(scanner.buf, at) === expected;
    const lastSeen = plausible ? expected + be.int32(scanner.buf, at + OFF_LAST_OFFSET_DELTA) : null;
    if (!headersOnly && size >= BATCH_HEADER_BYTES && size <= remaining) at = scanner.ensure(pos, size);
    const reason = checkStoredBatch(scanner.buf, at, remaining, expected, seg.baseOffset, !headersOnly, seg.gapsUpTo);
    if (reason !== null) return { position: pos, reason, lastOffsetSeen: lastSeen !== null && lastSeen >= expected ? lastSeen : null };
    const info = batchInfoAt(scanner.buf, at);
    seg.noteBatch(pos, info, info.maxTimestamp >= 0 ? info.maxTimestamp : now, !headersOnly);
    expected = info.lastOffset + 1;
    pos += size;
  }
  return null;
}

/** Walks headers only (no CRC) for the largest plausible last offset, for the report. */
function lastOffsetByHeaders(bytes: Uint8Array, minOffset: number): number | null {
  let pos = 0;
  let last: number | null = null;
  let expected = minOffset;
  while (bytes.length - pos >= BATCH_HEADER_BYTES) {
    const info = batchInfoAt(bytes, pos);
    if (info.size < BATCH_HEADER_BYTES || info.size > bytes.length - pos || info.baseOffset < expected || info.lastOffset < info.baseOffset) break;
    last = info.lastOffset;
    expected = info.lastOffset + 1;
    pos += info.size;
  }
  return last;
}

/** lastOffsetByHeaders over a file, a header at a time (a swap may be as large as a segment). */
function lastOffsetInFile(fs: FileLayer, path: string, minOffset: number): number | null {
  const file = fs.open(path);
  try {
    const size = fs.size(file);
    const header = new Uint8Array(BATCH_HEADER_BYTES);
    let pos = 0;
    let last: number | null = null;
    let expected = minOffset;
    while (size - pos >= BATCH_HEADER_BYTES && fs.pread(file, header, pos) === BATCH_HEADER_BYTES) {
      const info = batchInfoAt(header, 0);
      if (info.size < BATCH_HEADER_BYTES || info.size > size - pos || info.baseOffset < expected || info.lastOffset < info.baseOffset) break;
      last = info.lastOffset;
      expected = info.lastOffset + 1;
      pos += info.size;
    }
    return last;
  } finally {
    fs.close(file);
  }
}

function storageError(message: string, e: unknown, ctx: LogDeps, file: string): CoreError {
  if (e instanceof CoreError) return e;
  return new CoreError("STORAGE", `${message}: ${fsErrorCode(e) ?? String(e)}`, { topic: ctx.topic, partition: ctx.partition, file }, { cause: e });
}

export interface LoadedLog {
  segments: Segment[];
  report: PartitionRecovery;
}

/**
 * Opens (creating if needed) the segments of the partition in `dir`. `gapsUpTo`: the cleaner
 * checkpoint's (cleaner-checkpoint.ts; -1 for a log never cleaned).
 */
export async function loadSegments(dir: string, deps: LogDeps, logStartOffset: number, gapsUpTo = -1): Promise<LoadedLog> {
  const { fs } = deps;
  const report: PartitionRecovery = { dir, topic: deps.topic, partition: deps.partition, segmentsScanned: 0, bytesScanned: 0, indexesRebuilt: [], cuts: [], damaged: [] };
  let names: string[];
  try {
    names = fs.readdir(dir);
    if (names.some((n) => n.endsWith(CLEANED_SUFFIX) || n.endsWith(SWAP_SUFFIX))) {
      await settleCleanerFiles(fs, dir, names, deps, report);
      names = fs.readdir(dir);
    }
  } catch (e) {
    throw storageError("cannot list partition directory or settle the cleaner's files", e, deps, dir);
  }
  const bases = names.map((n) => parseSegmentName(n, ".log")).filter((b): b is number => b !== null).sort((a, b) => a - b);
  removeLeftovers(fs, dir, names, new Set(bases));

  if (bases.length === 0) {
    const seg = new Segment(fs, dir, logStartOffset);
    try {
      seg.file = fs.open(seg.paths.log, { create: true });
      await fs.fsyncDir(dir);
    } catch (e) {
      throw storageError("cannot create segment", e, deps, seg.paths.log);
    }
    seg.markDurable(seg.snapshot());
    return { segments: [seg], report };
  }

  const segments: Segment[] = [];
  for (let i = 0; i < bases.length; i++) {
    const base = bases[i]!;
    const isLast = i === bases.length - 1;
    const prev = segments.at(-1);
    if (prev !== undefined && base < prev.nextOffset) {
      // Row 8: overlaps the previous segment, not a continuation of the log.
      const reason = `segment base ${base} below the previous segment's end ${prev.nextOffset}`;
      await cut(new Segment(fs, dir, base), 0, reason, null, bases.slice(i + 1), deps, report, true);
      break;
    }
    if (prev !== undefined && base > prev.nextOffset && !gapAllowed(prev.nextOffset, base, prev.gapsUpTo)) {
      // Row 7: offsets lost between two segments.
      noteDamage(prev, { position: prev.size, end: prev.size, firstOffset: prev.nextOffset, endOffset: base, reason: "offsets missing before the next segment" }, deps, report);
    }
    let loaded: { seg: Segment; stop: ScanStop | null; scanner: Scanner; fileSize: number };
    try {
      // A damaged checkpoint: gaps anywhere in a sealed segment, none in the last (cleaner-checkpoint.ts, row 3).
      const gaps = gapsUpTo !== GAPS_UNKNOWN ? gapsUpTo : isLast ? -1 : bases[i + 1]!;
      loaded = await loadOne(base, deps, dir, report, !deps.clean && isLast, isLast ? null : bases[i + 1]!, gaps);
    } catch (e) {
      throw storageError("cannot read segment", e, deps, segmentPaths(dir, base).log);
    }
    segments.push(loaded.seg);
    if (loaded.stop === null) continue;
    let wasCut: boolean;
    try {
      wasCut = await settleStops(loaded, isLast, isLast ? Infinity : bases[i + 1]!, deps, report);
    } catch (e) {
      throw storageError("cannot read segment", e, deps, segmentPaths(dir, base).log);
    }
    if (wasCut) break;
  }
  await finishLoad(segments, deps, report);
  return { segments, report };
}

/**
 * Rows 0–5: what to do where a check stopped, until the segment is checked to its end. Returns
 * true when the tail was cut.
 */
async function settleStops(
  loaded: { seg: Segment; stop: ScanStop | null; scanner: Scanner; fileSize: number },
  isLast: boolean,
  nextBase: number,
  deps: LogDeps,
  report: PartitionRecovery,
): Promise<boolean> {
  const { seg, scanner, fileSize } = loaded;
  let stop = loaded.stop;
  let bytes: Uint8Array | null = null;
  while (stop !== null) {
    if (isLast && zerosTo(scanner, stop.position, fileSize, keepsRunway(deps))) {
      // The runway the log writes ahead of itself under fsync `always` (partition-log.ts): zeros
      // to the end of the file, no batch in them, not a cut. Ends the log like a clean end.
      try {
        deps.fs.truncate(seg.file!, stop.position);
        await deps.fs.fdatasync(seg.file!);
      } catch (e) {
        throw storageError("recovery could not cut the runway", e, deps, seg.paths.log);
      }
      return true;
    }
    const expected = seg.nextOffset;
    const mayBeTorn = isLast && !deps.clean; // row 1
    let next: { position: number; baseOffset: number } | null = null;
    if (!mayBeTorn) {
      bytes ??= deps.fs.map(seg.paths.log);
      next = findNextBatch(bytes, stop.position + 1, expected, nextBase);
    }
    if (mayBeTorn || (isLast && next === null)) {
      // Rows 1 and 2. The mapping is dropped untouched: nothing reads it past the cut.
      bytes = null;
      await cut(seg, stop.position, stop.reason, stop.lastOffsetSeen, [], deps, report, false);
      return true;
    }
    // Rows 3, 4, 5.
    const end = next?.position ?? fileSize;
    const endOffset = next?.baseOffset ?? Math.max(expected, nextBase);
    noteDamage(seg, { position: stop.position, end, firstOffset: expected, endOffset, reason: stop.reason }, deps, report);
    if (next === null) return false;
    stop = scanInto(seg, scanner, next.position, fileSize, next.baseOffset, deps.clock.now());
    report.bytesScanned += (stop?.position ?? fileSize) - next.position;
  }
  return false;
}

/**
 * Whether [from, end) of `file` is runway: only zero bytes, and more of them than a torn header
 * could hold (a batch's first bytes are its baseOffset, length and leader epoch, which can be
 * zeros, but byte OFF_MAGIC is 2). A batch whose bytes never reached the disk at all reads as
 * zeros too; it was never acknowledged, and is dropped unreported like the runway. Read through
 * the segment's scanner (its buffer, no second one).
 *
 * `anyLength`: the log keeps a runway, so a crash can leave any prefix of a runway write, even a
 * few bytes. Fewer zeros than a header are then either that or a torn header of a batch that was
 * never acknowledged (every ack waits for its batch's sync); neither is a loss to report.
 */
function zerosTo(scanner: Scanner, from: number, end: number, anyLength: boolean): boolean {
  if (end <= from || (!anyLength && end - from <= OFF_MAGIC)) return false;
  for (let pos = from; pos < end; ) {
    const n = Math.min(scanner.buf.length, end - pos);
    const at = scanner.ensure(pos, n);
    for (let i = at; i < at + n; i++) if (scanner.buf[i] !== 0) return false;
    pos += n;
  }
  return true;
}

/** Whether this log writes a runway (partition-log.ts: fsync `always`, runwayBytes not 0). */
function keepsRunway(deps: LogDeps): boolean {
  return deps.durability.syncsEachAppend && deps.runwayBytes !== 0;
}

/** Keeps a damaged range in `seg` (skipped, never served) and reports it. */
function noteDamage(seg: Segment, range: Omit<DamagedRange, "file" | "topic" | "partition">, deps: LogDeps, report: PartitionRecovery): void {
  const full: DamagedRange = { topic: deps.topic, partition: deps.partition, file: seg.paths.log, ...range };
  seg.noteDamage(full);
  seg.indexDirty = true;
  report.damaged.push(full);
  deps.logger.warn(damageMessage(full, deps, "recovery"));
}

export function damageMessage(d: DamagedRange, deps: LogDeps, by: string): string {
  const where = deps.topic !== undefined ? `${deps.topic}/${deps.partition}` : d.file;
  const offsets = d.endOffset > d.firstOffset ? `offsets ${d.firstOffset} to ${d.endOffset - 1} unreadable` : "no offsets in it";
  return `${by}: ${where}: damaged range kept at ${d.file} bytes ${d.position}..${d.end} (${d.reason}); ${offsets}; later batches stay readable`;
}

/** Loads one segment: via its indexes when allowed and valid, else by a full scan. */
async function loadOne(
  base: number,
  deps: LogDeps,
  dir: string,
  report: PartitionRecovery,
  mustScan: boolean,
  nextBase: number | null,
  gapsUpTo: number,
): Promise<{ seg: Segment; stop: ScanStop | null; scanner: Scanner; fileSize: number }> {
  const { fs } = deps;
  const now = deps.clock.now();
  const path = segmentPaths(dir, base).log;
  const file = fs.open(path);
  const fileSize = fs.size(file);
  const scanner = new Scanner(fs, file, fileSize);
  if (!mustScan) {
    const seg = new Segment(fs, dir, base);
    seg.gapsUpTo = gapsUpTo;
    seg.file = file;
    const from = loadIndexes(seg, fs, fileSize, scanner, now);
    if (from !== null) {
      const stop = scanInto(seg, scanner, from, fileSize, seg.nextOffset, now, true);
      report.bytesScanned += (stop?.position ?? fileSize) - from;
      const timeOk = seg.timeIndex.count === 0 || seg.timeIndex.lastRelOffset() < seg.nextOffset - seg.baseOffset;
      // A sealed segment's batches end where the next segment begins; one that does not is
      // checked whole (its CRCs find the damage, or rows 7 and 8 hold with a checked segment).
      const continued = nextBase === null || seg.nextOffset === nextBase || gapAllowed(seg.nextOffset, nextBase, gapsUpTo);
      if (stop === null && timeOk && continued) return { seg, stop, scanner, fileSize };
    }
    // Lost or corrupt indexes, a bad header in a segment we trusted, or one that does not reach
    // the next segment: start over with a full scan.
  }
  const seg = new Segment(fs, dir, base);
  seg.gapsUpTo = gapsUpTo;
  seg.file = file;
  const stop = scanInto(seg, scanner, 0, fileSize, base, now);
  report.segmentsScanned++;
  report.bytesScanned += stop?.position ?? fileSize;
  report.indexesRebuilt.push(seg.paths.index, seg.paths.timeIndex);
  seg.indexDirty = true;
  return { seg, stop, scanner, fileSize };
}

/**
 * Reads a segment's index files into `seg` and positions it at the last indexed batch; returns
 * that position, or null when the indexes are missing or do not match the log.
 */
function loadIndexes(seg: Segment, fs: FileLayer, fileSize: number, scanner: Scanner, now: number): number | null {
  if (fs.stat(seg.paths.index) === null || fs.stat(seg.paths.timeIndex) === null) return null;
  const offsetIndex = OffsetIndex.decode(fs.readFile(seg.paths.index), fileSize);
  const timeIndex = TimeIndex.decode(fs.readFile(seg.paths.timeIndex), 0x7fffffff);
  if (offsetIndex === null || timeIndex === null) return null;
  const from = offsetIndex.lastPosition();
  if (offsetIndex.count > 0) {
    // The last entry must name the batch that starts at its position.
    if (fileSize - from < BATCH_HEADER_BYTES) return null;
    const info = batchInfoAt(scanner.buf, scanner.ensure(from, BATCH_HEADER_BYTES));
    if (info.lastOffset !== seg.baseOffset + offsetIndex.lastRelOffset() || info.baseOffset < seg.baseOffset) return null;
    seg.nextOffset = info.baseOffset;
  }
  if (fileSize >= BATCH_HEADER_BYTES) {
    const first = batchInfoAt(scanner.buf, scanner.ensure(0, BATCH_HEADER_BYTES));
    seg.rollBaseTimestamp = first.maxTimestamp >= 0 ? first.maxTimestamp : now;
  }
  seg.offsetIndex = offsetIndex;
  seg.timeIndex = timeIndex;
  seg.size = from;
  seg.bytesSinceIndexEntry = 0;
  if (timeIndex.count > 0) {
    seg.maxTimestamp = timeIndex.lastTimestamp();
    seg.offsetOfMaxTimestamp = seg.baseOffset + timeIndex.lastRelOffset();
  }
  return from;
}

/** Truncates `seg` at `position` and deletes the later segments, recording the loss. */
async function cut(
  seg: Segment,
  position: number,
  reason: string,
  lastOffsetSeen: number | null,
  laterBases: number[],
  deps: LogDeps,
  report: PartitionRecovery,
  wholeSegment: boolean,
): Promise<void> {
  const { fs } = deps;
  let bytesCut = 0;
  let lastOffsetLost = lastOffsetSeen;
  const deleted: string[] = [];
  const firstOffsetLost = wholeSegment ? seg.baseOffset : seg.nextOffset;
  try {
    if (wholeSegment) {
      bytesCut += fs.stat(seg.paths.log)?.size ?? 0;
      deleteSegmentFiles(fs, seg.dir, seg.baseOffset);
      deleted.push(seg.paths.log);
    } else {
      const file = seg.file ?? fs.open(seg.paths.log);
      seg.file = file;
      bytesCut += fs.size(file) - position;
      fs.truncate(file, position);
      await fs.fdatasync(file);
      seg.indexDirty = true;
    }
    for (const base of laterBases) {
      const paths = segmentPaths(seg.dir, base);
      const bytes = fs.readFile(paths.log);
      bytesCut += bytes.length;
      const last = lastOffsetByHeaders(bytes, base);
      if (last !== null && (lastOffsetLost === null || last > lastOffsetLost)) lastOffsetLost = last;
      deleteSegmentFiles(fs, seg.dir, base);
      deleted.push(paths.log);
    }
    await fs.fsyncDir(seg.dir);
  } catch (e) {
    throw storageError("recovery could not cut the log", e, deps, seg.paths.log);
  }
  const entry: RecoveryCut = {
    topic: deps.topic,
    partition: deps.partition,
    file: seg.paths.log,
    position,
    bytesCut,
    firstOffsetLost,
    lastOffsetLost,
    reason,
    segmentsDeleted: deleted,
  };
  report.cuts.push(entry);
  const where = deps.topic !== undefined ? `${deps.topic}/${deps.partition}` : seg.dir;
  deps.logger.warn(
    `recovery: ${where}: cut ${bytesCut} bytes at ${seg.paths.log} position ${position} (${reason}); ` +
      `offsets from ${firstOffsetLost}${lastOffsetLost !== null ? ` to ${lastOffsetLost}` : ""} lost` +
      (deleted.length > 0 ? `; deleted ${deleted.length} later segment(s)` : ""),
  );
}

export function deleteSegmentFiles(fs: FileLayer, dir: string, base: number): void {
  const paths = segmentPaths(dir, base);
  // .txnindex: the segment's aborted transactions (transaction-index.ts).
  for (const p of [paths.log, paths.index, paths.timeIndex, `${paths.log.slice(0, -".log".length)}.txnindex`]) {
    try {
      fs.unlink(p);
    } catch (e) {
      if (fsErrorCode(e) !== "ENOENT") throw e;
    }
  }
}

/** A cleaning pass's files (cleaner.ts): X.log.cleaned while it writes, X.log.swap once committed. */
export const CLEANED_SUFFIX = ".log.cleaned";
export const SWAP_SUFFIX = ".log.swap";

/** Rows 9 and 10: deletes uncommitted cleaned segments, completes committed swaps. */
async function settleCleanerFiles(fs: FileLayer, dir: string, names: string[], deps: LogDeps, report: PartitionRecovery): Promise<void> {
  const where = deps.topic !== undefined ? `${deps.topic}/${deps.partition}` : dir;
  const bases = names.map((n) => parseSegmentName(n, ".log")).filter((b): b is number => b !== null);
  for (const name of names) {
    const x = parseSegmentName(name, SWAP_SUFFIX);
    if (x === null) continue;
    // Row 10. The swap was synced whole before its rename: its headers are all there.
    const swap = `${dir}/${name}`;
    const last = lastOffsetInFile(fs, swap, x);
    const replaced = bases.filter((b) => b > x && last !== null && b <= last);
    for (const b of replaced) deleteSegmentFiles(fs, dir, b);
    deleteSegmentFiles(fs, dir, x);
    fs.rename(swap, segmentPaths(dir, x).log);
    report.cleanerSwapsCompleted = [...(report.cleanerSwapsCompleted ?? []), segmentPaths(dir, x).log];
    deps.logger.warn(`recovery: ${where}: completed a cleaning pass cut short: ${name} is now ${segmentName(x)}.log${replaced.length > 0 ? `, replacing ${replaced.length} more segment(s)` : ""}`);
  }
  for (const name of names) {
    if (!name.endsWith(CLEANED_SUFFIX) || parseSegmentName(name, CLEANED_SUFFIX) === null) continue;
    // Row 9.
    fs.unlink(`${dir}/${name}`);
    report.cleanerFilesRemoved = [...(report.cleanerFilesRemoved ?? []), `${dir}/${name}`];
    deps.logger.info(`recovery: ${where}: removed ${name}, a cleaning pass that did not finish (the segments it was to replace are intact)`);
  }
  await fs.fsyncDir(dir);
}

/** Temp files and index files whose .log is gone (a crash during deletion). */
function removeLeftovers(fs: FileLayer, dir: string, names: string[], bases: Set<number>): void {
  for (const name of names) {
    const orphanIndex = [".index", ".timeindex", ".txnindex"].some((ext) => {
      const b = parseSegmentName(name, ext);
      return b !== null && !bases.has(b);
    });
    if (orphanIndex || (name.endsWith(".tmp") && /^\d{20}\./.test(name))) {
      try {
        fs.unlink(`${dir}/${name}`);
      } catch {
        // best effort: a leftover is harmless
      }
    }
  }
}

/** Sealed segments get rebuilt indexes written; the last one stays active with its file open. */
async function finishLoad(segments: Segment[], deps: LogDeps, report: PartitionRecovery): Promise<void> {
  const { fs } = deps;
  const active = segments.at(-1)!;
  for (const seg of segments) {
    try {
      if (seg !== active) {
        if (seg.indexDirty) await writeIndexes(fs, seg);
        seg.markDurable(seg.snapshot());
        seg.seal();
      }
    } catch (e) {
      throw storageError("cannot write rebuilt index", e, deps, seg.paths.index);
    }
  }
  try {
    active.file ??= fs.open(active.paths.log);
    // What was validated may sit only in the page cache (a process crash): make it durable.
    await fs.fdatasync(active.file);
  } catch (e) {
    throw storageError("cannot sync active segment", e, deps, active.paths.log);
  }
  active.markDurable(active.snapshot());
  if (report.segmentsScanned > 0 || report.cuts.length > 0 || report.damaged.length > 0) {
    // Per partition, so detail: the topic store sums every partition up in one line, and cuts and
    // damage are warned about where they are found.
    const line = `recovery: ${deps.topic !== undefined ? `${deps.topic}/${deps.partition}` : report.dir}: scanned ${report.bytesScanned} bytes in ${report.segmentsScanned} segment(s), ${report.cuts.length} cut(s), ${report.damaged.length} damaged range(s) kept`;
    if (deps.logger.debug) deps.logger.debug(line);
    else deps.logger.info(line);
  }
}

/** Writes both index files whole and syncs them (sealing, clean close, rebuilt indexes). */
export async function writeIndexes(fs: FileLayer, seg: Segment): Promise<void> {
  if (seg.damaged.length > 0) {
    // No index for a damaged segment: the next open checks it whole and reports the damage again.
    for (const path of [seg.paths.index, seg.paths.timeIndex]) {
      try {
        fs.unlink(path);
      } catch (e) {
        if (fsErrorCode(e) !== "ENOENT") throw e;
      }
    }
    await fs.fsyncDir(seg.dir);
    seg.indexDirty = false;
    return;
  }
  for (const [path, bytes] of [
    [seg.paths.index, seg.offsetIndex.encode()],
    [seg.paths.timeIndex, seg.timeIndex.encode()],
  ] as const) {
    const file = fs.open(path, { create: true });
    try {
      fs.pwrite(file, bytes, 0);
      fs.truncate(file, bytes.length);
      await fs.fdatasync(file);
    } finally {
      fs.close(file);
    }
  }
  seg.indexDirty = false;
}
