// Reader: the decoding half of the Kafka wire primitives. Hand-written (STYLE.md "By hand"), used by
// the generated codec under ./messages/ and by header.ts.
//
// Failure is sticky (as franz-go's kbin.Reader): the first read past the end, or the first length
// or count that cannot fit in the bytes left (or exceeds `maxLength`), sets `error` to a message,
// moves the cursor to the end and makes every later read return a zero value. Callers decode a
// whole message and check `r.error` once. Nothing here throws on bad input and nothing allocates
// more than the bytes that are actually there.
//
// Wire grammar (Kafka protocol guide "Protocol Primitive Types", KIP-482 for the compact forms):
//   int8 int16 int32 int64     big-endian two's complement, 1/2/4/8 bytes
//   uint16 uint32              big-endian unsigned, 2/4 bytes
//   float64                    IEEE 754 binary64, big-endian
//   boolean                    one byte, 0 = false, anything else = true
//   uuid                       16 bytes
//   unsigned_varint            LEB128: 7 bits per byte, low group first, high bit = more (≤5 bytes)
//   varint / varlong           zigzag ((n << 1) ^ (n >> 31|63)) then LEB128 (≤5 / ≤10 bytes)
//   string                     int16 length N ≥ 0, then N bytes of UTF-8
//   nullable_string            int16 length N, N = -1 is null
//   compact_string             unsigned_varint N+1, then N bytes (compact_nullable: 0 = null)
//   bytes / nullable_bytes     int32 length N (-1 = null), then N bytes
//   compact_bytes              unsigned_varint N+1 (0 = null), then N bytes
//   array                      int32 count N (-1 = null), then N elements
//   compact_array              unsigned_varint N+1 (0 = null), then N elements
//   tagged_fields              unsigned_varint count, then per field: unsigned_varint tag,
//                              unsigned_varint size, size bytes

import * as be from "../../core/bytes.ts";

const utf8 = new TextDecoder("utf-8");
const EMPTY = new Uint8Array(0);

/**
 * Short strings dominate (topic names, client ids, group ids, config keys) and the same few arrive
 * in every request, so the last string seen for each hash slot is kept and handed out again when
 * the bytes match: decoding a 15-character client id by hand made 15 strings, ~0.5 KB of garbage
 * per request. A direct-mapped table: a miss just replaces the slot, so memory stays bounded
 * (STRING_CACHE_SLOTS strings under SHORT_STRING_MAX bytes) whatever clients send.
 */
const SHORT_STRING_MAX = 32;
const STRING_CACHE_SLOTS = 256;
const stringCache: string[] = new Array<string>(STRING_CACHE_SLOTS).fill("");

function shortString(b: Uint8Array, start: number, n: number): string {
  let h = 0x811c9dc5; // FNV-1a
  for (let i = start; i < start + n; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  const slot = (h ^ (h >>> 16)) & (STRING_CACHE_SLOTS - 1);
  const cached = stringCache[slot]!;
  if (cached.length === n) {
    let same = true;
    for (let i = 0; i < n; i++) {
      if (cached.charCodeAt(i) !== b[start + i]) {
        same = false;
        break;
      }
    }
    if (same) return cached; // only ASCII is cached, so equal char codes mean equal bytes
  }
  let s = "";
  for (let i = start; i < start + n; i++) {
    const c = b[i]!;
    if (c >= 0x80) return utf8.decode(b.subarray(start, start + n));
    s += String.fromCharCode(c);
  }
  stringCache[slot] = s;
  return s;
}

/** The UTF-8 string of bytes [start, start + n) of `b`, short ones through the cache above. */
export function stringAt(b: Uint8Array, start: number, n: number): string {
  return n < SHORT_STRING_MAX ? shortString(b, start, n) : utf8.decode(b.subarray(start, start + n));
}

export class Reader {
  /** The first failure, or null while every read so far fitted. */
  error: string | null = null;
  /** Cursor: absolute index into `bytes`. */
  pos: number;
  /** Optional extra bound on any single length or count (strings, bytes, arrays, tag sizes). */
  maxLength = Number.MAX_SAFE_INTEGER;
  readonly bytes: Uint8Array;
  readonly end: number;

  constructor(bytes: Uint8Array, start = 0, end = bytes.length) {
    this.bytes = bytes;
    this.end = Math.max(0, Math.min(end, bytes.length));
    this.pos = Math.max(0, Math.min(start, this.end));
  }

  /** Bytes between the cursor and the end. */
  get remaining(): number {
    return this.end - this.pos;
  }

  /** Records the first failure and makes every later read return a zero value. */
  fail(message: string): void {
    if (this.error === null) this.error = `${message} at byte ${this.pos}`;
    this.pos = this.end;
  }

  /** True when `n` more bytes exist; otherwise records the failure. */
  private need(n: number, what: string): boolean {
    if (this.end - this.pos >= n) return true;
    this.fail(`${what}: need ${n} bytes, ${this.end - this.pos} left`);
    return false;
  }

  int8(): number {
    if (!this.need(1, "int8")) return 0;
    return be.int8(this.bytes, this.pos++);
  }
  int16(): number {
    if (!this.need(2, "int16")) return 0;
    const v = be.int16(this.bytes, this.pos);
    this.pos += 2;
    return v;
  }
  uint16(): number {
    if (!this.need(2, "uint16")) return 0;
    const v = be.uint16(this.bytes, this.pos);
    this.pos += 2;
    return v;
  }
  int32(): number {
    if (!this.need(4, "int32")) return 0;
    const v = be.int32(this.bytes, this.pos);
    this.pos += 4;
    return v;
  }
  uint32(): number {
    if (!this.need(4, "uint32")) return 0;
    const v = be.uint32(this.bytes, this.pos);
    this.pos += 4;
    return v;
  }
  int64(): bigint {
    if (!this.need(8, "int64")) return 0n;
    const v = be.bigInt64(this.bytes, this.pos);
    this.pos += 8;
    return v;
  }
  float64(): number {
    if (!this.need(8, "float64")) return 0;
    const v = be.float64(this.bytes, this.pos);
    this.pos += 8;
    return v;
  }
  boolean(): boolean {
    if (!this.need(1, "boolean")) return false;
    return this.bytes[this.pos++] !== 0;
  }

  /** 16 bytes, copied: a uuid is tiny and often kept, and must not pin the request buffer. */
  uuid(): Uint8Array {
    if (!this.need(16, "uuid")) return new Uint8Array(16);
    const v = this.bytes.slice(this.pos, this.pos + 16);
    this.pos += 16;
    return v;
  }

  /** Unsigned LEB128, at most 5 bytes, value 0 … 2^32-1. */
  uvarint(): number {
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (this.pos >= this.end) {
        this.fail("unsigned varint: truncated");
        return 0;
      }
      const b = this.bytes[this.pos++]!;
      if (shift === 28 && b > 0x0f) {
        this.fail("unsigned varint: more than 32 bits");
        return 0;
      }
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
    }
    this.fail("unsigned varint: longer than 5 bytes");
    return 0;
  }

  /** Zigzag varint, 32-bit. */
  varint(): number {
    const u = this.uvarint();
    return (u >>> 1) ^ -(u & 1);
  }

  /** Zigzag varlong, 64-bit, at most 10 bytes. */
  varlong(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.pos >= this.end) {
        this.fail("varlong: truncated");
        return 0n;
      }
      const b = this.bytes[this.pos++]!;
      if (shift === 63n && b > 1) {
        this.fail("varlong: more than 64 bits");
        return 0n;
      }
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return (result >> 1n) ^ -(result & 1n);
    }
    this.fail("varlong: longer than 10 bytes");
    return 0n;
  }

  /**
   * Checks a decoded length or element count against the bytes left (each element takes at least
   * `unit` bytes) and `maxLength`, before anyone allocates for it.
   */
  checkLength(n: number, unit: number, what: string): boolean {
    if (n > this.maxLength) {
      this.fail(`${what}: length ${n} exceeds the maximum ${this.maxLength}`);
      return false;
    }
    if (n * unit > this.end - this.pos) {
      this.fail(`${what}: length ${n} exceeds the ${this.end - this.pos} bytes left`);
      return false;
    }
    return true;
  }

  private utf8At(n: number): string {
    const start = this.pos;
    this.pos += n;
    if (n < SHORT_STRING_MAX) return shortString(this.bytes, start, n);
    return utf8.decode(this.bytes.subarray(start, start + n));
  }

  /** string: int16 length, -1 (null) is an error here. */
  string(): string {
    const n = this.int16();
    if (n < 0) {
      if (this.error === null) this.fail("string: null where a non-null string is required");
      return "";
    }
    return this.checkLength(n, 1, "string") ? this.utf8At(n) : "";
  }
  nullableString(): string | null {
    const n = this.int16();
    if (n < 0) return n === -1 ? null : (this.fail(`nullable string: length ${n}`), null);
    return this.checkLength(n, 1, "string") ? this.utf8At(n) : null;
  }
  compactString(): string {
    const n = this.uvarint() - 1;
    if (n < 0) {
      if (this.error === null) this.fail("compact string: null where a non-null string is required");
      return "";
    }
    return this.checkLength(n, 1, "compact string") ? this.utf8At(n) : "";
  }
  compactNullableString(): string | null {
    const n = this.uvarint() - 1;
    if (n < 0) return null;
    return this.checkLength(n, 1, "compact string") ? this.utf8At(n) : null;
  }

  /** `n` raw bytes as a subarray of the input: never a copy. */
  raw(n: number): Uint8Array {
    if (!this.checkLength(n, 1, "bytes")) return EMPTY;
    const v = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** bytes: int32 length; null (-1) is an error here. Returns a subarray (zero-copy). */
  bytesField(): Uint8Array {
    const n = this.int32();
    if (n < 0) {
      if (this.error === null) this.fail("bytes: null where non-null bytes are required");
      return EMPTY;
    }
    return this.raw(n);
  }
  nullableBytes(): Uint8Array | null {
    const n = this.int32();
    if (n < 0) return n === -1 ? null : (this.fail(`nullable bytes: length ${n}`), null);
    const v = this.raw(n);
    return this.error === null ? v : null;
  }
  compactBytes(): Uint8Array {
    const n = this.uvarint() - 1;
    if (n < 0) {
      if (this.error === null) this.fail("compact bytes: null where non-null bytes are required");
      return EMPTY;
    }
    return this.raw(n);
  }
  compactNullableBytes(): Uint8Array | null {
    const n = this.uvarint() - 1;
    if (n < 0) return null;
    const v = this.raw(n);
    return this.error === null ? v : null;
  }

  /**
   * Array count (int32, -1 = null), checked so that `count * minElementBytes` fits in the bytes
   * left. Returns -1 for null (also after a failure: callers then produce their zero value).
   */
  arrayLength(minElementBytes = 1): number {
    const n = this.int32();
    if (n < -1) {
      this.fail(`array: count ${n}`);
      return -1;
    }
    if (n === -1) return -1;
    return this.checkLength(n, Math.max(1, minElementBytes), "array") ? n : -1;
  }
  /** Compact array count (uvarint N+1, 0 = null), checked like arrayLength. */
  compactArrayLength(minElementBytes = 1): number {
    const n = this.uvarint() - 1;
    if (n < 0) return -1;
    return this.checkLength(n, Math.max(1, minElementBytes), "compact array") ? n : -1;
  }

  /**
   * A sub-reader over the next `n` bytes (a tagged field's data); the cursor moves past them.
   * A failure inside the sub-reader is not copied back: call `absorb(sub)` for that.
   */
  sub(n: number): Reader {
    if (!this.checkLength(n, 1, "tagged field")) return new Reader(EMPTY);
    const r = new Reader(this.bytes, this.pos, this.pos + n);
    r.maxLength = this.maxLength;
    this.pos += n;
    return r;
  }
  /** Carries a sub-reader's failure into this reader. */
  absorb(sub: Reader): void {
    if (sub.error !== null && this.error === null) {
      this.error = sub.error;
      this.pos = this.end;
    }
  }

  /**
   * Tagged-field section header: the field count, checked against the bytes left (each field
   * takes at least two bytes: tag and size).
   */
  tagCount(): number {
    const n = this.uvarint();
    return this.checkLength(n, 2, "tagged fields") ? n : 0;
  }
}

/** Decodes a Kafka uuid to the form Kafka prints (`Uuid.toString`): URL-safe base64, no padding. */
export function uuidToString(u: Uint8Array): string {
  return Buffer.from(u.buffer, u.byteOffset, u.byteLength).toString("base64url");
}
/** The inverse of uuidToString; throws on anything that is not 22 base64url characters. */
export function uuidFromString(s: string): Uint8Array {
  const b = Buffer.from(s, "base64url");
  if (b.length !== 16 || b.toString("base64url") !== s) throw new RangeError(`not a Kafka uuid: ${JSON.stringify(s)}`);
  return new Uint8Array(b.buffer, b.byteOffset, 16).slice();
}
