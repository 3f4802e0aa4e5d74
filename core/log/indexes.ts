// The two sparse indexes of a segment, kept in memory while the segment is active and written
// whole (exact size, no preallocation, nothing to trim) when it is sealed or the log closes.
//
// `.index` — offset → position. 8-byte entries, big-endian, as Kafka's OffsetIndex:
//
// | off | size | field                                                        |
// |-----|------|--------------------------------------------------------------|
// |   0 |    4 | relative offset: the appended batch's LAST offset − segment base |
// |   4 |    4 | position: byte in the .log where that batch starts           |
//
// `.timeindex` — time → offset. 12-byte entries, big-endian, as Kafka's TimeIndex:
//
// | off | size | field                                                        |
// |-----|------|--------------------------------------------------------------|
// |   0 |    8 | max timestamp of the segment so far (ms)                     |
// |   8 |    4 | relative offset: last offset of the first batch reaching it  |
//
// When entries are added (LogSegment.append in Kafka, per batch): if more than
// INDEX_INTERVAL_BYTES were appended since the last entry, before counting this batch, add an
// offset entry for this batch and a time entry for the max timestamp so far — the latter only if
// it is larger than the last time entry's (timestamps strictly rise, relative offsets rise).
// The first batch (position 0) never gets an entry: a lookup that finds none starts at 0.
import { assert } from "../assert.ts";

export const OFFSET_ENTRY_BYTES = 8;
export const TIME_ENTRY_BYTES = 12;

export class OffsetIndex {
  private rel = new Int32Array(64);
  private pos = new Int32Array(64);
  count = 0;

  append(relOffset: number, position: number): void {
    if (this.count > 0) {
      assert(relOffset > this.rel[this.count - 1]!, "offset index: relative offsets only rise");
      assert(position > this.pos[this.count - 1]!, "offset index: positions only rise");
    }
    if (this.count === this.rel.length) {
      this.rel = grow(this.rel);
      this.pos = grow(this.pos);
    }
    this.rel[this.count] = relOffset;
    this.pos[this.count] = position;
    this.count++;
  }

  /** Position of the last entry whose relative offset ≤ `relOffset`, or 0. */
  lookup(relOffset: number): number {
    const i = lastAtMost(this.rel, this.count, relOffset);
    return i < 0 ? 0 : this.pos[i]!;
  }

  /** The last entry whose relative offset ≤ `relOffset`, or null. */
  lookupEntry(relOffset: number): { relOffset: number; position: number } | null {
    const i = lastAtMost(this.rel, this.count, relOffset);
    return i < 0 ? null : { relOffset: this.rel[i]!, position: this.pos[i]! };
  }

  lastRelOffset(): number {
    return this.count === 0 ? -1 : this.rel[this.count - 1]!;
  }

  lastPosition(): number {
    return this.count === 0 ? 0 : this.pos[this.count - 1]!;
  }

  /** Drops entries at or past `position` (used when the tail is rolled back). */
  truncateToPosition(position: number): void {
    while (this.count > 0 && this.pos[this.count - 1]! >= position) this.count--;
  }

  encode(): Uint8Array {
    const out = new Uint8Array(this.count * OFFSET_ENTRY_BYTES);
    const view = new DataView(out.buffer);
    for (let i = 0; i < this.count; i++) {
      view.setInt32(i * 8, this.rel[i]!);
      view.setInt32(i * 8 + 4, this.pos[i]!);
    }
    return out;
  }

  /** Parses an .index file; null when it is not a valid index of a log of `logSize` bytes. */
  static decode(bytes: Uint8Array, logSize: number): OffsetIndex | null {
    if (bytes.length % OFFSET_ENTRY_BYTES !== 0) return null;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const index = new OffsetIndex();
    let lastRel = -1;
    let lastPos = 0;
    for (let at = 0; at < bytes.length; at += OFFSET_ENTRY_BYTES) {
      const rel = view.getInt32(at);
      const pos = view.getInt32(at + 4);
      if (rel <= lastRel || pos <= lastPos || pos >= logSize) return null;
      index.append(rel, pos);
      lastRel = rel;
      lastPos = pos;
    }
    return index;
  }
}

export class TimeIndex {
  private ts = new Float64Array(64);
  private rel = new Int32Array(64);
  count = 0;

  /** Adds an entry if `timestamp` is larger than the last one's. */
  maybeAppend(timestamp: number, relOffset: number): void {
    if (this.count > 0 && timestamp <= this.ts[this.count - 1]!) return;
    if (this.count > 0) assert(relOffset > this.rel[this.count - 1]!, "time index: relative offsets only rise");
    if (this.count === this.ts.length) {
      this.ts = grow(this.ts);
      this.rel = grow(this.rel);
    }
    this.ts[this.count] = timestamp;
    this.rel[this.count] = relOffset;
    this.count++;
  }

  /** Relative offset of the last entry whose timestamp ≤ `timestamp`, or -1. */
  lookup(timestamp: number): number {
    const i = lastAtMost(this.ts, this.count, timestamp);
    return i < 0 ? -1 : this.rel[i]!;
  }

  lastRelOffset(): number {
    return this.count === 0 ? -1 : this.rel[this.count - 1]!;
  }

  lastTimestamp(): number {
    return this.count === 0 ? -1 : this.ts[this.count - 1]!;
  }

  truncateToRelOffset(relOffsetEnd: number): void {
    while (this.count > 0 && this.rel[this.count - 1]! >= relOffsetEnd) this.count--;
  }

  encode(): Uint8Array {
    const out = new Uint8Array(this.count * TIME_ENTRY_BYTES);
    const view = new DataView(out.buffer);
    for (let i = 0; i < this.count; i++) {
      view.setBigInt64(i * 12, BigInt(this.ts[i]!));
      view.setInt32(i * 12 + 8, this.rel[i]!);
    }
    return out;
  }

  /** Parses a .timeindex file; null when entries do not rise or point past `relOffsetEnd`. */
  static decode(bytes: Uint8Array, relOffsetEnd: number): TimeIndex | null {
    if (bytes.length % TIME_ENTRY_BYTES !== 0) return null;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const index = new TimeIndex();
    let lastTs = -Infinity;
    let lastRel = -1;
    for (let at = 0; at < bytes.length; at += TIME_ENTRY_BYTES) {
      const ts = Number(view.getBigInt64(at));
      const rel = view.getInt32(at + 8);
      if (ts <= lastTs || rel <= lastRel || rel >= relOffsetEnd) return null;
      index.maybeAppend(ts, rel);
      lastTs = ts;
      lastRel = rel;
    }
    return index;
  }
}

function grow<T extends Int32Array | Float64Array>(a: T): T {
  const b = new (a.constructor as new (n: number) => T)(a.length * 2);
  b.set(a);
  return b;
}

/** Index of the last element ≤ key among the first `count` (sorted ascending), or -1. */
function lastAtMost(a: Int32Array | Float64Array, count: number, key: number): number {
  let lo = 0;
  let hi = count - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! <= key) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}
