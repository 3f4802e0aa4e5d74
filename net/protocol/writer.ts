// Writer: the encoding half of the Kafka wire primitives (grammar in reader.ts). Hand-written
// (STYLE.md "By hand"), used by the generated codec under ./messages/ and by header.ts.
//
// Small writes go into one growable buffer through one reused DataView. Big payloads (fetch
// records straight from mmapped segment files) go through `rawChunk`, which does not copy them:
// the writer then holds a scatter list of chunks — slices of its own buffers interleaved with the
// caller's arrays — that `finishChunks()` hands to a vectored socket write. `finish()` joins them.
//
// Offsets called "mark" below are logical: bytes written since the writer started, counting
// raw chunks, so a length prefix reserved before a raw chunk can be patched after it.
//
// Encoding is our own code path, so misuse (a 15-byte uuid, an out-of-range int16) is a
// programmer error and throws a RangeError; decoding (reader.ts) never throws.

import * as be from "../../core/bytes.ts";

const utf8 = new TextEncoder();

/** Raw chunks shorter than this are copied: a separate chunk costs more than the copy. */
export const RAW_CHUNK_MIN_BYTES = 4096;

/** Bytes of the UTF-8 encoding of `s` (lone surrogates count as U+FFFD, 3 bytes, as TextEncoder writes them). */
export function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 2; // 4 bytes for 2 UTF-16 units
        i++;
      } else n += 2;
    } else n += 2;
  }
  return n;
}

/** Writes `s`, whose UTF-8 encoding is `n` bytes (utf8Length), at `buf[pos]`. */
export function putUtf8(buf: Uint8Array, pos: number, s: string, n: number): void {
  if (n === s.length) {
    for (let i = 0; i < n; i++) buf[pos + i] = s.charCodeAt(i);
  } else {
    utf8.encodeInto(s, buf.subarray(pos, pos + n));
  }
}

/** Writes an unsigned varint at `buf[pos]`; returns the position after it. */
export function putUvarint(buf: Uint8Array, pos: number, v: number): number {
  while (v >= 0x80) {
    buf[pos++] = (v & 0x7f) | 0x80;
    v = Math.floor(v / 128);
  }
  buf[pos++] = v;
  return pos;
}

/** Bytes an unsigned varint takes. */
export function uvarintLength(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

export class Writer {
  private buf: Uint8Array;
  /** Write position in `buf`. */
  private pos = 0;
  /** `buf[0, flushed)` already belongs to `chunks`. */
  private flushed = 0;
  private chunks: Uint8Array[] = [];
  /** Total length of `chunks`. */
  private chunkedBytes = 0;
  /** `finishChunks()` handed out views of `buf`: never write over them again. */
  private shared = false;

  constructor(initialBytes = 1024) {
    this.buf = new Uint8Array(Math.max(16, initialBytes));
  }

  /** Logical length written so far (raw chunks included). */
  get length(): number {
    return this.chunkedBytes + this.pos - this.flushed;
  }

  /** Starts over. A buffer that chunks handed out may still reference is not reused. */
  reset(): void {
    if (this.chunks.length > 0 || this.shared) {
      this.shared = false;
      this.buf = new Uint8Array(this.buf.length);
    }
    this.pos = 0;
    this.flushed = 0;
    this.chunks = [];
    this.chunkedBytes = 0;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const live = this.pos - this.flushed;
    let size = this.buf.length * 2;
    while (size < live + n) size *= 2;
    const next = new Uint8Array(size);
    // Bytes before `flushed` stay in the old buffer, referenced by `chunks`.
    next.set(this.buf.subarray(this.flushed, this.pos));
    this.buf = next;
    this.pos = live;
    this.flushed = 0;
  }

  int8(v: number): void {
    this.ensure(1);
    be.setInt8(this.buf, this.pos++, v);
  }
  int16(v: number): void {
    this.ensure(2);
    be.setInt16(this.buf, this.pos, v);
    this.pos += 2;
  }
  uint16(v: number): void {
    this.ensure(2);
    be.setInt16(this.buf, this.pos, v);
    this.pos += 2;
  }
  int32(v: number): void {
    this.ensure(4);
    be.setInt32(this.buf, this.pos, v);
    this.pos += 4;
  }
  uint32(v: number): void {
    this.ensure(4);
    be.setInt32(this.buf, this.pos, v);
    this.pos += 4;
  }
  int64(v: bigint): void {
    this.ensure(8);
    be.setBigInt64(this.buf, this.pos, v);
    this.pos += 8;
  }
  float64(v: number): void {
    this.ensure(8);
    be.setFloat64(this.buf, this.pos, v);
    this.pos += 8;
  }
  boolean(v: boolean): void {
    this.ensure(1);
    this.buf[this.pos++] = v ? 1 : 0;
  }
  uuid(v: Uint8Array): void {
    if (v.length !== 16) throw new RangeError(`uuid must be 16 bytes, got ${v.length}`);
    this.ensure(16);
    this.buf.set(v, this.pos);
    this.pos += 16;
  }

  uvarint(v: number): void {
    if (!(v >= 0 && v <= 0xffffffff) || !Number.isInteger(v)) throw new RangeError(`unsigned varint out of range: ${v}`);
    this.ensure(5);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
  }
  varint(v: number): void {
    this.uvarint(((v << 1) ^ (v >> 31)) >>> 0);
  }
  varlong(v: bigint): void {
    let u = BigInt.asUintN(64, (v << 1n) ^ (v >> 63n));
    this.ensure(10);
    while (u >= 0x80n) {
      this.buf[this.pos++] = Number(u & 0x7fn) | 0x80;
      u >>= 7n;
    }
    this.buf[this.pos++] = Number(u);
  }

  /** Raw bytes, copied into the buffer. */
  raw(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /**
   * Raw bytes kept by reference as their own chunk (no copy) when large. The caller must not
   * change `b` until the writer's output has been sent.
   */
  rawChunk(b: Uint8Array): void {
    if (b.length < RAW_CHUNK_MIN_BYTES) return this.raw(b);
    if (this.pos > this.flushed) {
      const own = this.buf.subarray(this.flushed, this.pos);
      this.chunks.push(own);
      this.chunkedBytes += own.length;
      this.flushed = this.pos;
    }
    this.chunks.push(b);
    this.chunkedBytes += b.length;
  }

  private utf8(s: string, n: number): void {
    this.ensure(n);
    putUtf8(this.buf, this.pos, s, n);
    this.pos += n;
  }

  string(s: string): void {
    const n = utf8Length(s);
    if (n > 0x7fff) throw new RangeError(`string longer than 32767 bytes (${n})`);
    this.int16(n);
    this.utf8(s, n);
  }
  nullableString(s: string | null): void {
    if (s === null) return this.int16(-1);
    this.string(s);
  }
  compactString(s: string): void {
    const n = utf8Length(s);
    this.uvarint(n + 1);
    this.utf8(s, n);
  }
  compactNullableString(s: string | null): void {
    if (s === null) return this.uvarint(0);
    this.compactString(s);
  }

  bytesField(b: Uint8Array): void {
    this.int32(b.length);
    this.rawChunk(b);
  }
  nullableBytes(b: Uint8Array | null): void {
    if (b === null) return this.int32(-1);
    this.bytesField(b);
  }
  compactBytes(b: Uint8Array): void {
    this.uvarint(b.length + 1);
    this.rawChunk(b);
  }
  compactNullableBytes(b: Uint8Array | null): void {
    if (b === null) return this.uvarint(0);
    this.compactBytes(b);
  }

  /** Records (a record set) given as one array or as a scatter list, each big part kept as a chunk. */
  records(r: Uint8Array | Uint8Array[] | null, compact: boolean): void {
    if (r === null) return compact ? this.uvarint(0) : this.int32(-1);
    if (!Array.isArray(r)) return compact ? this.compactBytes(r) : this.bytesField(r);
    let n = 0;
    for (const part of r) n += part.length;
    if (compact) this.uvarint(n + 1);
    else this.int32(n);
    for (const part of r) this.rawChunk(part);
  }

  /** Reserves 4 bytes for an int32 written later with `patchInt32`; returns their mark. */
  reserveInt32(): number {
    const mark = this.length;
    this.int32(0);
    return mark;
  }

  /** Writes an int32 at a mark returned by `reserveInt32`, even if raw chunks followed it. */
  patchInt32(mark: number, v: number): void {
    if (mark >= this.chunkedBytes) {
      be.setInt32(this.buf, this.flushed + mark - this.chunkedBytes, v);
      return;
    }
    // The slot was flushed into a chunk: find that chunk (a view of one of our own buffers).
    let at = 0;
    for (const c of this.chunks) {
      if (mark < at + c.length) {
        if (mark + 4 > at + c.length) throw new RangeError("patchInt32: slot straddles chunks");
        be.setInt32(c, mark - at, v);
        return;
      }
      at += c.length;
    }
    throw new RangeError(`patchInt32: mark ${mark} beyond the written bytes`);
  }

  /** Starts a region whose length is later inserted before it as an unsigned varint. */
  beginSized(): number {
    return this.length;
  }

  /**
   * Inserts the unsigned-varint length of everything written since `mark` (from `beginSized`) in
   * front of it. Used for tagged fields, which are small and never carry raw chunks.
   */
  endSized(mark: number): void {
    if (mark < this.chunkedBytes) throw new RangeError("endSized: a raw chunk was written inside a sized region");
    const start = this.flushed + mark - this.chunkedBytes;
    const n = this.pos - start;
    const k = uvarintLength(n);
    this.ensure(k);
    const s = this.flushed + mark - this.chunkedBytes; // ensure() may have moved the live bytes
    this.buf.copyWithin(s + k, s, this.pos);
    // The k bytes at s are free now: write the varint there directly (no ensure(): a growth
    // here would keep only the bytes before the cursor).
    let at = s;
    let x = n;
    while (x >= 0x80) {
      this.buf[at++] = (x & 0x7f) | 0x80;
      x = Math.floor(x / 128);
    }
    this.buf[at] = x;
    this.pos += k;
  }

  /** One contiguous copy of everything written. */
  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    out.set(this.buf.subarray(this.flushed, this.pos), at);
    return out;
  }

  /**
   * The scatter list: views of this writer's buffers and the caller's raw chunks, in order, none
   * copied. Call `reset()` (or drop the writer) before writing again.
   */
  finishChunks(): Uint8Array[] {
    const out = this.chunks.slice();
    this.shared = true;
    if (this.pos > this.flushed) out.push(this.buf.subarray(this.flushed, this.pos));
    return out;
  }
}
