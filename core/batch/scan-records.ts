// The produce path's record walk without a single allocation: the same grammar and the same
// accept/reject decision as `readRecords` (record.ts) — a test checks the two agree on valid,
// truncated and bit-flipped input — but nothing is decoded into objects. It reports only what
// validate-produce.ts needs: whether the records are well formed and fill their section exactly,
// the records' largest timestamp (when all lie in a timestamp window) and the first keyless record.
//
//   record = length varint | attributes int8 | timestampDelta varlong | offsetDelta varint |
//            key (varint length, -1 = null) | value (same) | headerCount varint |
//            headers (keyLength varint ≥ 0, key, valueLength varint ≥ -1, value)
//
// Why: decoding a 1 MB batch of 100-byte records built ~10,000 record objects and ~20,000
// subarray views per Produce, which was the largest share of the broker's CPU under load after the
// CRC (BENCHMARKS.md, "What we changed"). Kafka walks the records too (LogValidator); this keeps
// that check exact and makes it cheap.
import { varlongFromBytesBig } from "./varint.ts";
import { RECORD_BYTES_MIN } from "./record.ts";

const SAFE = Number.MAX_SAFE_INTEGER;

export interface RecordScan {
  ok: boolean;
  /** Why not, when !ok. */
  reason: string;
  /** Where the scan stopped (the failing record's start when !ok). */
  pos: number;
  /** Largest record timestamp (baseTimestamp + delta), or -1 for an empty section. */
  maxTimestamp: number;
  /** Smallest, likewise. */
  minTimestamp: number;
  /** Index of the first record with a null key, or -1. */
  firstKeyless: number;
  /** Index of the first record whose timestamp is outside [earliest, latest], or -1. */
  firstOutOfWindow: number;
  outOfWindowTimestamp: number;
}

/** One result object, reused: read it before the next call. */
const result: RecordScan = { ok: true, reason: "", pos: 0, maxTimestamp: -1, minTimestamp: -1, firstKeyless: -1, firstOutOfWindow: -1, outOfWindowTimestamp: 0 };

// The walk is one function over local variables (JSC keeps them in registers; module-level
// cursor state made it as slow as the decoder it replaces). A varint is read inline when it fits
// one byte, the common case, and by `readVarint` otherwise. Failure is a reason string; the
// messages are readRecords's, word for word.

/** Cursor for the rare multi-byte varints: [value, next position] in a reused pair; position -1
 * with `varintError` set on failure. */
const pair = [0, 0];
let varintError = "";

function readVarint(buf: Uint8Array, pos: number, end: number): void {
  let u = 0;
  let shift = 0;
  for (;;) {
    if (pos >= end) return failPair("ran past the end reading a varint");
    const b = buf[pos++]!;
    u |= (b & 0x7f) << shift;
    if ((b & 0x80) === 0) break;
    shift += 7;
    if (shift > 28) return failPair("varint longer than 5 bytes");
  }
  pair[0] = (u >>> 1) ^ -(u & 1);
  pair[1] = pos;
}

function readVarlong(buf: Uint8Array, pos: number, end: number): void {
  const start = pos;
  let z = 0;
  let mul = 1;
  for (let count = 1; ; count++) {
    if (pos >= end) return failPair("ran past the end reading a varlong");
    const b = buf[pos++]!;
    z += (b & 0x7f) * mul;
    if ((b & 0x80) === 0) {
      pair[0] = z > SAFE ? varlongFromBytesBig(buf, start, count) : z % 2 === 0 ? z / 2 : -(z + 1) / 2;
      pair[1] = pos;
      return;
    }
    if (count === 10) return failPair("varlong longer than 10 bytes");
    mul *= 128;
  }
}

function failPair(why: string): void {
  varintError = why;
  pair[1] = -1;
}

/**
 * Walks exactly `count` records in `bytes[start, stop)` and requires them to fill it exactly.
 * Timestamps are `logAppendTime` when that is ≥ 0, else baseTimestamp + delta; `earliest`/`latest`
 * bound them (pass ±Infinity for no window).
 */
export function scanRecords(buf: Uint8Array, start: number, stop: number, count: number, baseTimestamp: number, logAppendTime: number, earliest: number, latest: number): RecordScan {
  const r = beginScan(start);
  if (count < 0 || count * RECORD_BYTES_MIN > stop - start) return failed(`recordCount ${count} cannot fit in ${stop - start} bytes`, stop);
  if (!walkRecords(buf, stop, 0, count, baseTimestamp, logAppendTime, earliest, latest)) return r;
  return endScan(stop, count);
}

/**
 * The same walk in parts (a large batch checked a few ms per turn of the event loop,
 * decompress-ahead.ts): `begin`, then `part` until it says the walk is over, and the result is
 * what scanRecords would have returned. Only one walk at a time: the result object is shared.
 */
export class RecordScanInParts {
  private done = 0;
  constructor(
    private readonly buf: Uint8Array,
    start: number,
    private readonly stop: number,
    private readonly count: number,
    private readonly baseTimestamp: number,
  ) {
    this.pos = start;
    this.state = { maxTimestamp: -1, minTimestamp: -1, firstKeyless: -1 };
    if (count < 0 || count * RECORD_BYTES_MIN > stop - start) this.failure = [`recordCount ${count} cannot fit in ${stop - start} bytes`, stop];
  }
  private pos: number;
  private readonly state: { maxTimestamp: number; minTimestamp: number; firstKeyless: number };
  private failure: [string, number] | null = null;

  /** Walks up to `records` more; true when the walk is over (`outcome` then tells). */
  part(records: number): boolean {
    if (this.failure !== null || this.done === this.count) return true;
    const r = beginScan(this.pos);
    r.maxTimestamp = this.state.maxTimestamp;
    r.minTimestamp = this.state.minTimestamp;
    r.firstKeyless = this.state.firstKeyless;
    const last = Math.min(this.count, this.done + records);
    if (!walkRecords(this.buf, this.stop, this.done, last, this.baseTimestamp, -1, -Infinity, Infinity)) {
      this.failure = [r.reason, r.pos];
      return true;
    }
    this.done = last;
    this.pos = r.pos;
    this.state.maxTimestamp = r.maxTimestamp;
    this.state.minTimestamp = r.minTimestamp;
    this.state.firstKeyless = r.firstKeyless;
    return this.done === this.count;
  }

  /** The walk's result, as scanRecords(buf, start, stop, count, baseTimestamp, -1, ±Infinity) gives it. */
  outcome(): RecordScan {
    const r = beginScan(this.pos);
    if (this.failure !== null) return failed(this.failure[0], this.failure[1]);
    r.maxTimestamp = this.state.maxTimestamp;
    r.minTimestamp = this.state.minTimestamp;
    r.firstKeyless = this.state.firstKeyless;
    return endScan(this.stop, this.count);
  }
}

function beginScan(pos: number): RecordScan {
  const r = result;
  r.maxTimestamp = -1;
  r.minTimestamp = -1;
  r.firstKeyless = -1;
  r.firstOutOfWindow = -1;
  r.ok = false;
  r.pos = pos;
  return r;
}

function endScan(stop: number, count: number): RecordScan {
  const r = result;
  if (r.pos !== stop) return failed(`${stop - r.pos} bytes left after ${count} records`, stop);
  r.ok = true;
  r.reason = "";
  return r;
}

/** Records `first` … `last - 1` from result.pos (updated as it goes); false after failed(). */
function walkRecords(buf: Uint8Array, end: number, first: number, last: number, baseTimestamp: number, logAppendTime: number, earliest: number, latest: number): boolean {
  const r = result;
  let pos = r.pos;
  for (let i = first; i < last; i++) {
    const recordStart = pos;
    // length
    let length: number;
    if (pos < end && buf[pos]! < 0x80) {
      const u = buf[pos++]!;
      length = (u >>> 1) ^ -(u & 1);
    } else {
      readVarint(buf, pos, end);
      if (pair[1]! < 0) return !failed(varintError, end);
      length = pair[0]!;
      pos = pair[1]!;
    }
    if (length < RECORD_BYTES_MIN - 1 || length > end - pos) return !failed(`record length ${length} at byte ${recordStart} with ${end - pos} bytes left`, end);
    const bodyEnd = pos + length;
    const why = walkBody(buf, pos + 1, bodyEnd); // pos + 1: past attributes (length ≥ 6, so present)
    if (why !== null) {
      const message = why === FIELDS_SHORT ? `record at byte ${recordStart} declares ${length} bytes but its fields take ${scratch.fieldsEnd - pos}` : why;
      return !failed(message, recordStart);
    }
    pos = bodyEnd;
    if (scratch.keyLength === -1 && r.firstKeyless < 0) r.firstKeyless = i;
    const ts = logAppendTime >= 0 ? logAppendTime : baseTimestamp + scratch.timestampDelta;
    if (i === 0 || ts > r.maxTimestamp) r.maxTimestamp = ts;
    if (i === 0 || ts < r.minTimestamp) r.minTimestamp = ts;
    if ((ts < earliest || ts > latest) && r.firstOutOfWindow < 0) {
      r.firstOutOfWindow = i;
      r.outOfWindowTimestamp = ts;
    }
  }
  r.pos = pos;
  return true;
}

function failed(why: string, at: number): RecordScan {
  result.ok = false;
  result.reason = why;
  result.pos = at;
  return result;
}

/** What walkBody found in the record it walked. */
const scratch = { timestampDelta: 0, keyLength: 0, fieldsEnd: 0 };
/** walkBody's answer when the fields end before the record's declared length. */
const FIELDS_SHORT = "fields short";

/**
 * The record's fields after attributes, in `buf[pos, end)` (end = the record's declared end);
 * null when they are well formed and fill it exactly, else why not.
 */
function walkBody(buf: Uint8Array, pos: number, end: number): string | null {
  // timestampDelta varlong
  if (pos < end && buf[pos]! < 0x80) {
    const z = buf[pos++]!;
    scratch.timestampDelta = z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  } else {
    readVarlong(buf, pos, end);
    if (pair[1]! < 0) return varintError;
    scratch.timestampDelta = pair[0]!;
    pos = pair[1]!;
  }
  // offsetDelta varint
  if (pos < end && buf[pos]! < 0x80) pos++;
  else {
    readVarint(buf, pos, end);
    if (pair[1]! < 0) return varintError;
    pos = pair[1]!;
  }
  // key, value: nullable bytes
  for (let field = 0; field < 2; field++) {
    let len: number;
    if (pos < end && buf[pos]! < 0x80) {
      const u = buf[pos++]!;
      len = (u >>> 1) ^ -(u & 1);
    } else {
      readVarint(buf, pos, end);
      if (pair[1]! < 0) return varintError;
      len = pair[0]!;
      pos = pair[1]!;
    }
    if (len < -1) return `negative length ${len}`;
    if (len > end - pos) return `length ${len} but ${end - pos} bytes left`;
    if (len > 0) pos += len;
    if (field === 0) scratch.keyLength = len;
  }
  // headers
  readVarint(buf, pos, end);
  if (pair[1]! < 0) return varintError;
  const headerCount = pair[0]!;
  pos = pair[1]!;
  if (headerCount < 0 || headerCount * 2 > end - pos) return `header count ${headerCount} with ${end - pos} bytes left`;
  for (let h = 0; h < headerCount; h++) {
    readVarint(buf, pos, end);
    if (pair[1]! < 0) return varintError;
    const kl = pair[0]!;
    pos = pair[1]!;
    if (kl < 0) return `string length ${kl}`;
    if (kl > end - pos) return `string length ${kl} but ${end - pos} bytes left`;
    pos += kl;
    readVarint(buf, pos, end);
    if (pair[1]! < 0) return varintError;
    const vl = pair[0]!;
    pos = pair[1]!;
    if (vl < -1) return `negative length ${vl}`;
    if (vl > end - pos) return `length ${vl} but ${end - pos} bytes left`;
    if (vl > 0) pos += vl;
  }
  scratch.fieldsEnd = pos;
  return pos === end ? null : FIELDS_SHORT;
}

