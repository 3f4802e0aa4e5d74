// A bounded cursor over bytes for the record grammar, with a sticky failure flag: a read past
// `end` or a malformed varint sets `failed` and returns a harmless value (0, null), so a decoder
// runs straight-line and checks once at its checkpoints. It never throws, so garbage cannot leak a
// RangeError; lengths are compared with the bytes left before anything is sliced.
// (franz-go pkg/kbin/primitives.go keeps the same habit.)
import { varlongFromBytesBig } from "./varint.ts";

const SAFE = Number.MAX_SAFE_INTEGER;

export class ByteReader {
  failed = false;
  /** What went wrong first, for the error message. */
  reason = "";

  constructor(
    readonly buf: Uint8Array,
    public pos: number,
    public end: number,
  ) {}

  get remaining(): number {
    return this.end - this.pos;
  }

  fail(reason: string): void {
    if (!this.failed) {
      this.failed = true;
      this.reason = reason;
    }
    this.pos = this.end;
  }

  int8(): number {
    if (this.pos >= this.end) {
      this.fail("ran past the end reading an int8");
      return 0;
    }
    return (this.buf[this.pos++]! << 24) >> 24;
  }

  /** Zigzag varint (int32), at most 5 bytes (Kafka ByteUtils.readVarint). */
  varint(): number {
    const buf = this.buf;
    let u = 0;
    let shift = 0;
    for (;;) {
      if (this.pos >= this.end) {
        this.fail("ran past the end reading a varint");
        return 0;
      }
      const b = buf[this.pos++]!;
      u |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) break;
      shift += 7;
      if (shift > 28) {
        this.fail("varint longer than 5 bytes");
        return 0;
      }
    }
    return (u >>> 1) ^ -(u & 1);
  }

  /** Zigzag varlong (int64), at most 10 bytes, as the nearest double (exact within ±2^52). */
  varlong(): number {
    const buf = this.buf;
    const start = this.pos;
    let z = 0;
    let mul = 1;
    for (let count = 1; ; count++) {
      if (this.pos >= this.end) {
        this.fail("ran past the end reading a varlong");
        return 0;
      }
      const b = buf[this.pos++]!;
      z += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) {
        if (z > SAFE) return varlongFromBytesBig(buf, start, count);
        return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
      }
      if (count === 10) {
        this.fail("varlong longer than 10 bytes");
        return 0;
      }
      mul *= 128;
    }
  }

  /** Varint length then bytes; -1 means null. A view into `buf`, not a copy. */
  nullableBytes(): Uint8Array | null {
    const len = this.varint();
    if (len < 0) {
      if (len !== -1) this.fail(`negative length ${len}`);
      return null;
    }
    if (len > this.end - this.pos) {
      this.fail(`length ${len} but ${this.end - this.pos} bytes left`);
      return null;
    }
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }

  /** Varint length then UTF-8; null is not allowed (header keys). */
  string(): string {
    const len = this.varint();
    if (len < 0) {
      this.fail(`string length ${len}`);
      return "";
    }
    if (len > this.end - this.pos) {
      this.fail(`string length ${len} but ${this.end - this.pos} bytes left`);
      return "";
    }
    const s = decodeUtf8(this.buf, this.pos, this.pos + len);
    this.pos += len;
    return s;
  }
}

const decoder = new TextDecoder();

/** UTF-8 of `buf[start, end)`; short ASCII (the usual header key) skips TextDecoder. */
export function decodeUtf8(buf: Uint8Array, start: number, end: number): string {
  if (end - start <= 32) {
    let s = "";
    for (let i = start; i < end; i++) {
      const c = buf[i]!;
      if (c >= 0x80) return decoder.decode(buf.subarray(start, end));
      s += String.fromCharCode(c);
    }
    return s;
  }
  return decoder.decode(buf.subarray(start, end));
}

const encoder = new TextEncoder();

/** Bytes of `s` as UTF-8. */
export function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return Buffer.byteLength(s, "utf8");
  }
  return n;
}

/** Writes `s` as UTF-8 at `pos` (the caller sized the buffer with utf8Length); returns the end. */
export function writeUtf8(buf: Uint8Array, pos: number, s: string, byteLength: number): number {
  if (byteLength === s.length) {
    for (let i = 0; i < s.length; i++) buf[pos + i] = s.charCodeAt(i);
    return pos + byteLength;
  }
  encoder.encodeInto(s, buf.subarray(pos, pos + byteLength));
  return pos + byteLength;
}
