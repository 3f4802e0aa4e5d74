// Transactions as the log cleaner (cleaner.ts) sees them, as Kafka's LogCleaner does (KIP-98):
//
// - The outcome of every transaction is read from the log itself: a transactional data batch
//   (attribute bit 4) opens a transaction of its producer until that producer's next control
//   batch (bit 5), whose one record's key is (version int16, type int16): 0 ABORT, 1 COMMIT.
//   TxnOutcomes walks the headers from the log start to the high watermark (a control batch's
//   record is read for its type) and knows which data batches were aborted, and where the first
//   transaction still open starts: nothing from there on is cleaned (the last stable offset).
// - Aborted data is removed by cleaning; it never enters the offset map.
// - A marker stays while its transaction may still have data in the log (CleanedTxns: a batch of
//   it was met by this pass); once none is, it is removed like a tombstone, delete.retention.ms
//   after its first such pass (the delete horizon, KIP-534).
import * as be from "../bytes.ts";
import { ATTR_CONTROL, ATTR_TRANSACTIONAL, BATCH_HEADER_BYTES, OFF_ATTRIBUTES, OFF_PRODUCER_ID } from "../batch/header.ts";
import { decodeRecordBatch } from "../batch/record-batch.ts";
import type { FileLayer } from "../fs.ts";
import type { CleanerIo } from "./cleaner-io.ts";
import { batchInfoAt } from "./segment.ts";

export const CONTROL_ABORT = 0;
export const CONTROL_COMMIT = 1;

/** The type of a control batch's marker (ABORT 0, COMMIT 1), or -1 when it cannot be read. */
export function controlType(batch: Uint8Array): number {
  try {
    const key = decodeRecordBatch(batch, { verifyCrc: false }).records[0]?.key;
    return key !== null && key !== undefined && key.length >= 4 ? be.int16(key, 2) : -1;
  } catch {
    return -1;
  }
}

export function isControl(batch: Uint8Array): boolean {
  return (be.int16(batch, OFF_ATTRIBUTES) & ATTR_CONTROL) !== 0;
}

export function isTransactional(batch: Uint8Array): boolean {
  return (be.int16(batch, OFF_ATTRIBUTES) & ATTR_TRANSACTIONAL) !== 0;
}

/** A file of the log to walk: [0, size) holds batches. */
export interface WalkedFile {
  path: string;
  size: number;
}

/**
 * What a pass needs to know of a log's transactions. TxnOutcomes reads it from the log itself; a
 * log that keeps a transaction index and a last stable offset (Kafka's .txnindex and LSO) can
 * answer it without the walk (CleanOptions.transactions, core/broker/cleaning.ts).
 */
export interface TxnView {
  /** Whether the log may hold transactional batches at all (false: every check is skipped). */
  readonly any: boolean;
  /** The first offset of the first transaction with no marker yet (the LSO); Infinity: none. */
  readonly firstOpenOffset: number;
  /** Whether the data batch of `producerId` starting at `offset` belongs to an aborted transaction. */
  isAborted(producerId: number, offset: number): boolean;
}

/** Aborted transactions and the first open one, from the log's headers. */
export class TxnOutcomes implements TxnView {
  /** Per producer: aborted transactions as [first offset, marker offset], in log order. */
  private readonly aborted = new Map<number, Array<[number, number]>>();
  /** The first offset of each producer's transaction with no marker yet. */
  private readonly open = new Map<number, number>();
  /** Whether any transactional batch was met (most logs have none: every check is then quick). */
  any = false;

  /** Walks `files` (oldest first) below `limit` (the high watermark). */
  static async read(fs: FileLayer, files: readonly WalkedFile[], limit: number, io: CleanerIo): Promise<TxnOutcomes> {
    const t = new TxnOutcomes();
    const buf = new Uint8Array(64 * 1024);
    for (const f of files) {
      const file = fs.open(f.path);
      try {
        let pos = 0;
        let bufStart = 0;
        let bufLength = 0;
        while (f.size - pos >= BATCH_HEADER_BYTES) {
          if (pos < bufStart || pos + BATCH_HEADER_BYTES > bufStart + bufLength) {
            const want = Math.min(buf.length, f.size - pos);
            await io.take(want);
            bufStart = pos;
            bufLength = fs.pread(file, buf.subarray(0, want), pos);
            if (bufLength < BATCH_HEADER_BYTES) break;
          }
          const at = pos - bufStart;
          const info = batchInfoAt(buf, at);
          if (info.size < BATCH_HEADER_BYTES || info.magic !== 2 || pos + info.size > f.size || info.baseOffset >= limit) break;
          const attributes = be.int16(buf, at + OFF_ATTRIBUTES);
          if (attributes & ATTR_TRANSACTIONAL) {
            t.any = true;
            const producerId = be.int64(buf, at + OFF_PRODUCER_ID);
            if (attributes & ATTR_CONTROL) {
              const whole = new Uint8Array(info.size);
              fs.pread(file, whole, pos);
              t.marker(producerId, controlType(whole), info.baseOffset);
            } else if (!t.open.has(producerId)) {
              t.open.set(producerId, info.baseOffset);
            }
          }
          pos += info.size;
        }
      } finally {
        fs.close(file);
      }
    }
    return t;
  }

  private marker(producerId: number, type: number, offset: number): void {
    const first = this.open.get(producerId);
    this.open.delete(producerId);
    if (first === undefined || type !== CONTROL_ABORT) return;
    let list = this.aborted.get(producerId);
    if (list === undefined) this.aborted.set(producerId, (list = []));
    list.push([first, offset]);
  }

  /** Whether the data batch of `producerId` at `offset` belongs to an aborted transaction. */
  isAborted(producerId: number, offset: number): boolean {
    const list = this.aborted.get(producerId);
    if (list === undefined) return false;
    let lo = 0;
    let hi = list.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const [first, marker] = list[mid]!;
      if (offset < first) hi = mid - 1;
      else if (offset > marker) lo = mid + 1;
      else return true;
    }
    return false;
  }

  /** Where the first transaction without a marker starts (Infinity: none): the last stable offset. */
  get firstOpenOffset(): number {
    let first = Infinity;
    for (const o of this.open.values()) first = Math.min(first, o);
    return first;
  }
}

/** What one pass has met of each transaction, for the markers' fate (Kafka's CleanedTransactionMetadata). */
export class CleanedTxns {
  /** Producers with a committed (or not aborted) transaction whose batches this pass met. */
  private readonly committed = new Set<number>();
  /** Producers with an aborted transaction whose batches this pass met (and removed). */
  private readonly aborted = new Set<number>();

  /** A transactional data batch met; returns whether it is aborted data (to be removed). */
  onData(producerId: number, offset: number, outcomes: TxnView): boolean {
    if (outcomes.isAborted(producerId, offset)) {
      this.aborted.add(producerId);
      return true;
    }
    this.committed.add(producerId);
    return false;
  }

  /** A marker met; returns whether its transaction may still have data in the log (keep it). */
  onMarker(producerId: number, type: number): boolean {
    if (type === CONTROL_ABORT) return this.aborted.delete(producerId);
    if (type === CONTROL_COMMIT) return this.committed.delete(producerId);
    return true; // an unknown marker is kept
  }
}
