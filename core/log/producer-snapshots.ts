// Producer-state snapshots of one partition and the rebuild of its ProducerState
// (producer-state.ts) at open, as Kafka's ProducerStateManager does: the latest snapshot at or
// below the recovered end offset, then the headers of the batches after it. Batches carry
// producerId, epoch and baseSequence in their header, so the log is the truth and a snapshot only
// saves the walk from the log start.
//
//   DATA/topics/<topic>/<partition>/<20-digit offset>.snapshot
//
// {"version":2,"offset":N,"producers":[{"producerId","epoch","lastTimestamp","lastSeenMs",
//  "batches":[[firstSequence,lastSequence,baseOffset,lastOffset],…],"txnFirstOffset",
//  "coordinatorEpoch"},…],"crc32c":"…"}
//
// Version 2 (issue #20, transactions) adds each producer's open transaction (its first offset, -1
// when none) and the coordinator epoch of its last marker, and allows a producer with no batches
// (only markers seen since its epoch began); version 1 files, written before, are read as producers
// with no open transaction.
//
// The state as of offset N (every batch below N applied, none at or above it), checksummed like
// every metadata file (core/checked-json.ts) and written by write-temp + fsync + rename + fsync
// dir. Written when a segment rolls (N = the new segment's base, after the old one was synced) and
// at a clean close (N = the end offset, after the last sync); the newest SNAPSHOTS_KEPT are kept
// (an older one is the fallback for a damaged newer one).
//
// Rebuilding at open (every snapshot file matches exactly one row, newest first; the first usable
// one ends the search):
//
// | # | snapshot file                                  | action                                     |
// |---|------------------------------------------------|--------------------------------------------|
// | 1 | offset above the recovered end offset          | DELETED before any append (the tail it     |
// |   |   (a tail cut by recovery, or lost)            |   describes is gone; a log that grows past |
// |   |                                                |   it again must not meet it); reported     |
// | 2 | unreadable, checksum mismatch, wrong shape     | DELETED, warned; the next older one is     |
// |   |                                                |   tried                                    |
// | 3 | good, offset ≤ end                             | USED: its state, then the headers of the   |
// |   |                                                |   batches from its offset to the end       |
// | 4 | (no usable file)                               | the headers of the last two segments at    |
// |   |                                                |   most, from the first whose newest        |
// |   |                                                |   timestamp is within                      |
// |   |                                                |   PRODUCER_EXPIRATION_MS (older ones hold  |
// |   |                                                |   only producers that have expired)        |
//
// Row 4 reads two segments at most, as Kafka does when it finds no snapshot: a data dir from before
// snapshots is not read whole at its first boot. A producer whose last batch lies further back is
// unknown, so its next batch is taken whatever its sequence; only a retry of a batch that old could
// be stored twice, and no retry is that old.
//
// The walk reads 61-byte headers through a small buffer (no CRCs, no record decoding): after a
// clean stop it is empty, after an unclean one it covers the active segment, which recovery has
// just checked. It skips damaged ranges; a header that does not continue the log (possible only in
// a segment recovery trusted from its indexes) ends the walk of that segment, warned. Snapshots
// whose offset lies below the log start (retention) stay usable: producer state outlives the
// segments that held its batches until it expires, as KIP-360 made Kafka do.
import * as be from "../bytes.ts";
import { readMarker } from "../batch/control.ts";
import {
  ATTR_CONTROL,
  ATTR_TRANSACTIONAL,
  BATCH_HEADER_BYTES,
  OFF_ATTRIBUTES,
  OFF_BASE_SEQUENCE,
  OFF_LAST_OFFSET_DELTA,
  OFF_MAX_TIMESTAMP,
  OFF_PRODUCER_EPOCH,
  OFF_PRODUCER_ID,
  batchSizeAt,
} from "../batch/header.ts";
import { encodeCheckedJson, hasExactKeys, readCheckedJson } from "../checked-json.ts";
import type { FileHandle, FileLayer } from "../fs.ts";
import { fsErrorCode, joinPath, writeFileAtomic } from "../fs.ts";
import { PRODUCER_EXPIRATION_MS, PRODUCER_SNAPSHOTS_KEPT } from "../limits.ts";
import { type ProducerEntry, ProducerState, RETAINED, addSequence, plausibleProducer } from "./producer-state.ts";
import { type Segment, parseSegmentName, segmentName } from "./segment.ts";
import { type AbortedTxn, TransactionIndex, readTxnIndexes } from "./transaction-index.ts";
import type { Logger } from "./types.ts";

const EXT = ".snapshot";
const WALK_BUFFER_BYTES = 64 * 1024;
const PRODUCER_FIELDS_V1 = ["producerId", "epoch", "lastTimestamp", "lastSeenMs", "batches"] as const;
const PRODUCER_FIELDS = [...PRODUCER_FIELDS_V1, "txnFirstOffset", "coordinatorEpoch"] as const;

export function snapshotPath(dir: string, offset: number): string {
  return joinPath(dir, `${segmentName(offset)}${EXT}`);
}

/** Offsets of the snapshot files in `dir`, ascending. */
export function listSnapshots(fs: FileLayer, dir: string): number[] {
  return fs
    .readdir(dir)
    .map((n) => parseSegmentName(n, EXT))
    .filter((o): o is number => o !== null)
    .sort((a, b) => a - b);
}

export function encodeSnapshot(offset: number, state: ProducerState): Uint8Array {
  const producers = [...state.entries()].map((e) => ({
    producerId: e.producerId,
    epoch: e.epoch,
    lastTimestamp: e.lastTimestamp,
    lastSeenMs: e.lastSeenMs,
    batches: e.batches.map((b) => [b.firstSequence, b.lastSequence, b.baseOffset, b.lastOffset]),
    txnFirstOffset: e.txnFirstOffset,
    coordinatorEpoch: e.coordinatorEpoch,
  }));
  return encodeCheckedJson({ version: 2, offset, producers });
}

/** The state a snapshot file holds, or why it cannot be trusted. */
export function decodeSnapshot(bytes: Uint8Array, offset: number): ProducerState | { reason: string } {
  const read = readCheckedJson(bytes);
  if (!read.ok) return { reason: read.reason };
  if (!read.checked) return { reason: "no checksum" };
  const v = read.value;
  if (!hasExactKeys(v, ["version", "offset", "producers"])) return { reason: `fields ${JSON.stringify(Object.keys(v))}` };
  if (v.version !== 1 && v.version !== 2) return { reason: `version ${JSON.stringify(v.version)}, not 1 or 2` };
  if (v.offset !== offset) return { reason: `offset ${JSON.stringify(v.offset)} in a file named for ${offset}` };
  if (!Array.isArray(v.producers)) return { reason: "producers is not an array" };
  const state = new ProducerState();
  for (const p of v.producers as unknown[]) {
    const entry = producerEntry(p, offset, v.version);
    if (typeof entry === "string") return { reason: entry };
    if (state.entry(entry.producerId) !== undefined) return { reason: `producer ${entry.producerId} twice` };
    state.restore(entry);
  }
  return state;
}

const isInt = (x: unknown, min: number, max = Number.MAX_SAFE_INTEGER): x is number => Number.isSafeInteger(x) && (x as number) >= min && (x as number) <= max;

/** One producer of a snapshot as of `offset`, or what is wrong with it. */
function producerEntry(p: unknown, offset: number, version: number): ProducerEntry | string {
  if (typeof p !== "object" || p === null || Array.isArray(p)) return "a producer is not an object";
  const o = p as Record<string, unknown>;
  if (!hasExactKeys(o, version === 1 ? PRODUCER_FIELDS_V1 : PRODUCER_FIELDS)) return `producer fields ${JSON.stringify(Object.keys(o))}`;
  const { producerId, epoch, lastTimestamp, lastSeenMs, batches } = o;
  const txnFirstOffset = version === 1 ? -1 : o.txnFirstOffset;
  const coordinatorEpoch = version === 1 ? -1 : o.coordinatorEpoch;
  if (!isInt(producerId, 0) || !isInt(epoch, 0, 0x7fff) || !isInt(lastTimestamp, -1) || !isInt(lastSeenMs, 0)) return `producer ${JSON.stringify(producerId)}: bad id, epoch or times`;
  if (!isInt(txnFirstOffset, -1, offset - 1) || !isInt(coordinatorEpoch, -1, 0x7fffffff)) return `producer ${producerId}: bad open transaction or coordinator epoch`;
  const fewest = version === 1 ? 1 : 0;
  if (!Array.isArray(batches) || batches.length < fewest || batches.length > RETAINED) return `producer ${producerId}: ${Array.isArray(batches) ? batches.length : "no"} batches`;
  const out: ProducerEntry = { producerId, epoch, lastTimestamp, lastSeenMs, batches: [], txnFirstOffset, coordinatorEpoch };
  let after = -1;
  for (const b of batches as unknown[]) {
    if (!Array.isArray(b) || b.length !== 4) return `producer ${producerId}: a batch is not 4 numbers`;
    const [firstSequence, lastSequence, baseOffset, lastOffset] = b as unknown[];
    if (!isInt(firstSequence, 0, 0x7fffffff) || !isInt(lastSequence, 0, 0x7fffffff) || !isInt(baseOffset, 0) || !isInt(lastOffset, 0)) return `producer ${producerId}: bad batch numbers`;
    // Offsets rise, end below the snapshot's offset, and the sequences span the offsets.
    if (baseOffset <= after || lastOffset < baseOffset || lastOffset >= offset || addSequence(firstSequence, lastOffset - baseOffset) !== lastSequence) {
      return `producer ${producerId}: batch [${b.join(",")}] does not fit`;
    }
    after = lastOffset;
    out.batches.push({ firstSequence, lastSequence, baseOffset, lastOffset });
  }
  return out;
}

/**
 * Writes the snapshot of `state` as of `offset` (atomically, synced) and deletes all but the
 * newest PRODUCER_SNAPSHOTS_KEPT. Throws the file layer's error if the write fails; a failed
 * delete is left for the next one.
 */
export async function writeSnapshot(fs: FileLayer, dir: string, offset: number, state: ProducerState): Promise<void> {
  await writeFileAtomic(fs, snapshotPath(dir, offset), encodeSnapshot(offset, state));
  const all = listSnapshots(fs, dir);
  for (const old of all.slice(0, Math.max(0, all.length - PRODUCER_SNAPSHOTS_KEPT))) {
    try {
      fs.unlink(snapshotPath(dir, old));
    } catch {
      // a leftover older snapshot is harmless: newer ones are preferred
    }
  }
}

/** Removes every snapshot file (a log that restarts at a new offset, restartAt). */
export function deleteSnapshots(fs: FileLayer, dir: string): void {
  for (const offset of listSnapshots(fs, dir)) {
    try {
      fs.unlink(snapshotPath(dir, offset));
    } catch (e) {
      if (fsErrorCode(e) !== "ENOENT") throw e;
    }
  }
}

export interface LoadedProducers {
  state: ProducerState;
  /** Aborted transactions below the end offset (transaction-index.ts): the files below `from`, the walk past it. */
  aborted: AbortedTxn[];
  /** The offset the state was loaded or started at, before the walk (the rebuild anchor). */
  from: number;
  snapshotUsed: boolean;
  batchesWalked: number;
}

/**
 * The producer state as of `endOffset` (rows 1–4 above). Deletes snapshots past the end and
 * damaged ones, and syncs the directory before returning when it did.
 */
export async function loadProducerState(fs: FileLayer, dir: string, segments: readonly Segment[], endOffset: number, now: number, logger: Logger, where: string): Promise<LoadedProducers> {
  const offsets = listSnapshots(fs, dir);
  let removed = false;
  let state: ProducerState | null = null;
  let from = -1;
  for (let i = offsets.length - 1; i >= 0 && state === null; i--) {
    const offset = offsets[i]!;
    const path = snapshotPath(dir, offset);
    if (offset > endOffset) {
      logger.info(`recovery: ${where}: producer snapshot ${path} is past the end offset ${endOffset}: deleted`); // row 1
    } else {
      let read: ProducerState | { reason: string };
      try {
        read = decodeSnapshot(fs.readFile(path), offset);
      } catch (e) {
        read = { reason: `cannot read it: ${fsErrorCode(e) ?? String(e)}` };
      }
      if (read instanceof ProducerState) {
        state = read; // row 3
        from = offset;
        break;
      }
      logger.warn(`recovery: ${where}: producer snapshot ${path} is damaged (${read.reason}): deleted, rebuilding from the log`); // row 2
    }
    fs.unlink(path);
    removed = true;
  }
  if (removed) await fs.fsyncDir(dir);
  const snapshotUsed = state !== null;
  if (state === null) {
    // Row 4: the last two segments, and of them only those that may hold a producer that has not expired.
    state = new ProducerState();
    const recent = segments.find((s) => s.maxTimestamp < 0 || now - s.maxTimestamp < PRODUCER_EXPIRATION_MS);
    from = Math.max(recent?.baseOffset ?? endOffset, segments[Math.max(0, segments.length - 2)]!.baseOffset);
  }
  const txns = new TransactionIndex(readTxnIndexes(fs, segments, from, logger, where));
  const batchesWalked = walkProducerBatches(fs, segments, from, state, now, logger, where, txns);
  state.expire(now, PRODUCER_EXPIRATION_MS);
  return { state, aborted: [...txns.all], from, snapshotUsed, batchesWalked };
}

/**
 * Applies to `state` every idempotent or transactional batch of `segments` from offset `from` on
 * (headers only, and the record of each transaction marker), noting aborted transactions in
 * `txns`; returns how many batches it read.
 */
export function walkProducerBatches(fs: FileLayer, segments: readonly Segment[], from: number, state: ProducerState, now: number, logger: Logger, where: string, txns: TransactionIndex | null = null): number {
  let walked = 0;
  const buf = new Uint8Array(WALK_BUFFER_BYTES);
  for (const seg of segments) {
    if (seg.nextOffset <= from || seg.size === 0) continue;
    const own = seg.file === null;
    const file: FileHandle = seg.file ?? fs.open(seg.paths.log);
    try {
      walked += walkSegment(fs, file, seg, from, state, buf, now, logger, where, txns);
    } finally {
      if (own) fs.close(file);
    }
  }
  return walked;
}

function walkSegment(fs: FileLayer, file: FileHandle, seg: Segment, from: number, state: ProducerState, buf: Uint8Array, now: number, logger: Logger, where: string, txns: TransactionIndex | null): number {
  let walked = 0;
  let position = from > seg.baseOffset ? seg.offsetIndex.lookup(from - seg.baseOffset) : 0;
  let bufStart = 0;
  let bufLength = 0;
  let lastSize = 0;
  while (position < seg.size) {
    const damaged = seg.damageStartingAt(position);
    if (damaged !== undefined) {
      position = damaged.end;
      continue;
    }
    if (seg.size - position < BATCH_HEADER_BYTES) break;
    if (position < bufStart || position + BATCH_HEADER_BYTES > bufStart + bufLength) {
      // Batches larger than the buffer: one header per read, not a buffer full of records.
      const want = lastSize >= buf.length ? BATCH_HEADER_BYTES : Math.min(buf.length, seg.size - position);
      bufStart = position;
      bufLength = fs.pread(file, buf.subarray(0, want), position);
      if (bufLength < BATCH_HEADER_BYTES) break;
    }
    const at = position - bufStart;
    const size = batchSizeAt(buf, at);
    const baseOffset = be.int64(buf, at);
    const lastOffset = baseOffset + be.int32(buf, at + OFF_LAST_OFFSET_DELTA);
    if (size < BATCH_HEADER_BYTES || position + size > seg.size || lastOffset < baseOffset || baseOffset < seg.baseOffset) {
      logger.warn(`recovery: ${where}: producer state walk stopped at ${seg.paths.log} position ${position}: not a batch header`);
      break;
    }
    walked++;
    if (baseOffset >= from) {
      const producerId = be.int64(buf, at + OFF_PRODUCER_ID);
      const epoch = be.int16(buf, at + OFF_PRODUCER_EPOCH);
      const firstSequence = be.int32(buf, at + OFF_BASE_SEQUENCE);
      const attributes = be.int16(buf, at + OFF_ATTRIBUTES);
      if (attributes & ATTR_CONTROL) {
        if (producerId >= 0) {
          // A marker's record follows its header: read the (small) batch whole when the buffer lacks it.
          const whole = at + size <= bufLength ? buf.subarray(at, at + size) : readWhole(fs, file, position, size);
          const marker = whole === null ? null : readMarker(whole);
          if (marker !== null) {
            const first = state.applyMarker(producerId, epoch, marker.coordinatorEpoch, baseOffset, be.int64(buf, at + OFF_MAX_TIMESTAMP), now);
            txns?.noteMarker(producerId, first, baseOffset, marker.commit, state.firstOpenOffset(), false);
          }
        }
      } else if (plausibleProducer(producerId, epoch, firstSequence)) {
        const lastSequence = addSequence(firstSequence, lastOffset - baseOffset);
        state.apply(producerId, epoch, firstSequence, lastSequence, baseOffset, lastOffset, be.int64(buf, at + OFF_MAX_TIMESTAMP), now, (attributes & ATTR_TRANSACTIONAL) !== 0);
      }
    }
    position += size;
    lastSize = size;
  }
  return walked;
}

/** A control batch read on its own (they are a few dozen bytes); null when it cannot be. */
function readWhole(fs: FileLayer, file: FileHandle, position: number, size: number): Uint8Array | null {
  if (size > 4096) return null;
  const bytes = new Uint8Array(size);
  return fs.pread(file, bytes, position) === size ? bytes : null;
}
