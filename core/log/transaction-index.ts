// Transactions as one partition sees them (KIP-98): the aborted transactions a read_committed
// reader must drop, and what holds the last stable offset (LSO) down.
//
// The last stable offset is the first offset of the oldest transaction still unstable here, or the
// high watermark when none is (Kafka's UnifiedLog.firstUnstableOffset): a transaction is unstable
// while it is open (ProducerState keeps the first offset of each open one) and, once its marker is
// written, until the high watermark passes the marker (`ending` below) — so a reader stopped at
// the LSO never holds records whose outcome it cannot learn from the same log.
//
// Aborted transactions, one entry per ABORT marker: [producerId, firstOffset, lastOffset = the
// marker's offset, lastStableOffset = the LSO right after the marker, ignoring the high watermark:
// the first offset of the oldest transaction still open, else the marker's offset + 1]. A fetch
// from offset F whose data ends before U is answered with every entry whose lastOffset ≥ F and
// firstOffset < U; the walk stops at the first entry whose lastStableOffset ≥ U, since every later
// abort belongs to a transaction that began at or after it (Kafka's collectAbortedTxns).
//
// On disk, per segment, the entries whose marker lies in it (Kafka's .txnindex, here checked JSON
// like every metadata file):
//
//   DATA/topics/<topic>/<partition>/<20-digit base offset>.txnindex
//   {"version":1,"aborted":[[producerId,firstOffset,lastOffset,lastStableOffset],…],"crc32c":"…"}
//
// A sealed segment's file is written (temp + fsync + rename) when it rolls, after its data is
// synced and before the producer snapshot at the new segment's base; the active segment's at a
// clean close. No file means no aborted transaction. At open, the entries are rebuilt from the
// files for offsets below the offset the producer state was loaded from (its snapshot) and, past
// it, from the markers the producer-state walk meets (producer-snapshots.ts), so after a crash the
// active segment's entries come from its control batches again. Reading a file (every input
// matches exactly one row):
//
// | # | <base>.txnindex                                  | entries taken                        |
// |---|--------------------------------------------------|--------------------------------------|
// | 1 | missing                                          | none                                 |
// | 2 | damaged (checksum, shape), warned                | none (a reader could then see the    |
// |   |                                                  |   aborted records of that segment)   |
// | 3 | good                                             | those whose marker lies in the       |
// |   |                                                  |   segment and below the walk's start |
//
// Row 3's filter drops what a truncation cut (cluster mode) before a later roll or close rewrote
// the file. Retention drops entries with their segments; a truncation drops those past its point.
import { assert } from "../assert.ts";
import { encodeCheckedJson, hasExactKeys, readCheckedJson } from "../checked-json.ts";
import type { FileLayer } from "../fs.ts";
import { fsErrorCode, writeFileAtomic } from "../fs.ts";
import type { Segment } from "./segment.ts";
import type { Logger } from "./types.ts";

export interface AbortedTxn {
  producerId: number;
  firstOffset: number;
  /** The ABORT marker's offset. */
  lastOffset: number;
  lastStableOffset: number;
}

export class TransactionIndex {
  /** By lastOffset, ascending (markers are written in offset order). */
  private aborted: AbortedTxn[];
  /** Ended transactions whose marker the high watermark has not passed yet. */
  private ending: Array<{ firstOffset: number; markerOffset: number }> = [];

  constructor(aborted: AbortedTxn[] = []) {
    this.aborted = aborted;
  }

  /** Aborted transactions known, in marker order (tests, the cleaner). */
  get all(): readonly AbortedTxn[] {
    return this.aborted;
  }

  /**
   * A marker written at `markerOffset` ended the transaction that began at `firstOffset`;
   * `openFirst` is the first offset of the oldest transaction still open (-1: none). A replayed
   * marker (recovery) is below the high watermark already: `ending` false.
   */
  noteMarker(producerId: number, firstOffset: number, markerOffset: number, commit: boolean, openFirst: number, ending = true): void {
    if (ending) this.ending.push({ firstOffset, markerOffset });
    if (commit) return;
    const last = this.aborted.at(-1);
    assert(last === undefined || last.lastOffset < markerOffset, "aborted transactions are noted in marker order");
    this.aborted.push({ producerId, firstOffset, lastOffset: markerOffset, lastStableOffset: openFirst >= 0 ? openFirst : markerOffset + 1 });
  }

  /** The last stable offset under high watermark `hwm`, given the oldest open transaction's first offset (-1: none). */
  lastStableOffset(hwm: number, openFirst: number): number {
    let lso = openFirst >= 0 && openFirst < hwm ? openFirst : hwm;
    if (this.ending.length > 0) {
      let kept = 0;
      for (const e of this.ending) {
        if (e.markerOffset < hwm) continue;
        this.ending[kept++] = e;
        if (e.firstOffset < lso) lso = e.firstOffset;
      }
      this.ending.length = kept;
    }
    return lso;
  }

  /** Whether nothing can hold the LSO below the high watermark apart from open transactions. */
  get settled(): boolean {
    return this.ending.length === 0;
  }

  /** The aborted transactions a fetch from `from` whose data ends before `upper` must be told about. */
  abortedBetween(from: number, upper: number): AbortedTxn[] {
    const out: AbortedTxn[] = [];
    for (let i = this.firstEndingAtOrAfter(from); i < this.aborted.length; i++) {
      const a = this.aborted[i]!;
      if (a.firstOffset < upper) out.push(a);
      if (a.lastStableOffset >= upper) break;
    }
    return out;
  }

  /** Entries whose marker lies in [from, to): what a segment's file holds. */
  entriesIn(from: number, to: number): AbortedTxn[] {
    const out: AbortedTxn[] = [];
    for (let i = this.firstEndingAtOrAfter(from); i < this.aborted.length && this.aborted[i]!.lastOffset < to; i++) out.push(this.aborted[i]!);
    return out;
  }

  /** Forgets entries whose marker lies below `offset` (retention deleted their segments). */
  dropBelow(offset: number): void {
    const i = this.firstEndingAtOrAfter(offset);
    if (i > 0) this.aborted = this.aborted.slice(i);
  }

  /** Forgets everything from `offset` on (a truncation, or unsynced data forgotten). */
  dropFrom(offset: number): void {
    this.aborted.length = this.firstEndingAtOrAfter(offset);
    this.ending = this.ending.filter((e) => e.markerOffset < offset);
  }

  private firstEndingAtOrAfter(offset: number): number {
    let lo = 0;
    let hi = this.aborted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.aborted[mid]!.lastOffset < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

export function txnIndexPath(seg: { paths: { log: string } }): string {
  return `${seg.paths.log.slice(0, -".log".length)}.txnindex`;
}

/** Writes a segment's entries (atomically, synced), or removes its file when there are none. */
export async function writeTxnIndex(fs: FileLayer, seg: Segment, entries: readonly AbortedTxn[]): Promise<void> {
  const path = txnIndexPath(seg);
  if (entries.length === 0) {
    if (fs.stat(path) !== null) fs.unlink(path);
    return;
  }
  const aborted = entries.map((a) => [a.producerId, a.firstOffset, a.lastOffset, a.lastStableOffset]);
  await writeFileAtomic(fs, path, encodeCheckedJson({ version: 1, aborted }));
}

/** The entries of every segment's file below `below` (rows 1–3 above), in marker order. */
export function readTxnIndexes(fs: FileLayer, segments: readonly Segment[], below: number, logger: Logger, where: string): AbortedTxn[] {
  const out: AbortedTxn[] = [];
  for (const seg of segments) {
    if (seg.baseOffset >= below) break;
    const path = txnIndexPath(seg);
    let bytes: Uint8Array;
    try {
      if (fs.stat(path) === null) continue; // row 1
      bytes = fs.readFile(path);
    } catch (e) {
      logger.warn(`recovery: ${where}: cannot read ${path} (${fsErrorCode(e) ?? String(e)}): its aborted transactions are unknown`);
      continue;
    }
    const entries = decodeTxnIndex(bytes);
    if (typeof entries === "string") {
      logger.warn(`recovery: ${where}: ${path} is damaged (${entries}): its aborted transactions are unknown`); // row 2
      continue;
    }
    const end = Math.min(below, seg.nextOffset);
    for (const a of entries) if (a.lastOffset >= seg.baseOffset && a.lastOffset < end && (out.length === 0 || out.at(-1)!.lastOffset < a.lastOffset)) out.push(a); // row 3
  }
  return out;
}

function decodeTxnIndex(bytes: Uint8Array): AbortedTxn[] | string {
  const read = readCheckedJson(bytes);
  if (!read.ok) return read.reason;
  const v = read.value;
  if (!hasExactKeys(v, ["version", "aborted"]) || v.version !== 1 || !Array.isArray(v.aborted)) return "wrong shape";
  const out: AbortedTxn[] = [];
  for (const e of v.aborted as unknown[]) {
    if (!Array.isArray(e) || e.length !== 4 || !e.every((n) => Number.isSafeInteger(n) && (n as number) >= 0)) return "an entry is not 4 offsets";
    const [producerId, firstOffset, lastOffset, lastStableOffset] = e as number[];
    if (firstOffset! > lastOffset!) return `entry [${e.join(",")}] ends before it begins`;
    out.push({ producerId: producerId!, firstOffset: firstOffset!, lastOffset: lastOffset!, lastStableOffset: lastStableOffset! });
  }
  return out;
}
