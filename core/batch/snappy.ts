// Snappy for Kafka batches, written here: the raw block format, and the xerial (snappy-java)
// framing that the Java client wraps around it.
//
// Raw block (google/snappy format_description.txt):
//
//   preamble   uncompressed length, unsigned little-endian base-128 varint (≤ 32 bits)
//   elements   until the output is full, each starting with a tag byte; tag & 3 is its kind:
//     0 literal   len-1 = tag >> 2 when < 60; 60..63 → len-1 in the next 1..4 bytes (LE)
//                 then len literal bytes
//     1 copy      len = 4 + ((tag >> 2) & 7) (4..11), offset = ((tag >> 5) << 8) | next byte (11 bits)
//     2 copy      len = (tag >> 2) + 1 (1..64), offset = next 2 bytes LE
//     3 copy      len = (tag >> 2) + 1, offset = next 4 bytes LE
//   a copy repeats `len` bytes starting `offset` back in the output (may overlap: offset < len).
//
// Xerial framing (snappy-java SnappyOutputStream / SnappyCodec):
//
//   magic      8 bytes  0x82 'S' 'N' 'A' 'P' 'P' 'Y' 0x00
//   version    int32 BE (1)
//   compatible int32 BE (1)
//   chunks     repeated: int32 BE compressed length, then one raw block
//
// Who writes and reads what (checked in the sources):
//   - Java client writes xerial framing (kafka SnappyCompression.wrapForOutput → SnappyOutputStream,
//     32 KiB chunks); it reads both, since SnappyInputStream.readHeader falls back to a raw block
//     when the magic does not match.
//   - librdkafka writes a bare raw block (rdkafka_msgset_writer.c → rd_kafka_snappy_compress_iov)
//     and reads both (rdkafka_msgset_reader.c: magic and inlen > 16 + 4 → rd_kafka_snappy_java_uncompress,
//     else raw).
// So we read both, and write xerial framing as the Java client does; every chunk holds at least
// one byte so that even an empty payload is longer than librdkafka's 20-byte framing threshold.
import { CoreError, type CoreErrorContext } from "../errors.ts";

const XERIAL_MAGIC = [0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00];
const XERIAL_HEADER_BYTES = 16;
/** snappy-java's default block size, which Kafka keeps (CompressionType.SNAPPY.defaultBlockSize). */
const XERIAL_CHUNK_BYTES = 32 * 1024;
/** The compressor works on fragments this size so copy offsets fit 16 bits (as google/snappy). */
const FRAGMENT_BYTES = 64 * 1024;
const HASH_BITS = 14;

// ---------------------------------------------------------------------------------------------
// Compression

/** Raw block: the largest output `n` input bytes can need (google/snappy MaxCompressedLength). */
function maxCompressedLength(n: number): number {
  return 32 + n + Math.floor(n / 6);
}

/** Compresses `src` as one raw snappy block. */
export function snappyCompressRaw(src: Uint8Array): Uint8Array {
  const dst = new Uint8Array(maxCompressedLength(src.length));
  const end = compressRawInto(src, 0, src.length, dst, 0);
  return dst.subarray(0, end);
}

/** Compresses `src` with xerial framing (what the Java client writes). */
export function snappyCompressXerial(src: Uint8Array): Uint8Array {
  const chunks = Math.max(1, Math.ceil(src.length / XERIAL_CHUNK_BYTES));
  const dst = new Uint8Array(XERIAL_HEADER_BYTES + chunks * (4 + maxCompressedLength(XERIAL_CHUNK_BYTES)));
  dst.set(XERIAL_MAGIC, 0);
  const view = new DataView(dst.buffer);
  view.setInt32(8, 1);
  view.setInt32(12, 1);
  let pos = XERIAL_HEADER_BYTES;
  for (let c = 0; c < chunks; c++) {
    const start = c * XERIAL_CHUNK_BYTES;
    const end = Math.min(src.length, start + XERIAL_CHUNK_BYTES);
    const blockEnd = compressRawInto(src, start, end, dst, pos + 4);
    view.setInt32(pos, blockEnd - pos - 4);
    pos = blockEnd;
  }
  return dst.subarray(0, pos);
}

function compressRawInto(src: Uint8Array, start: number, end: number, dst: Uint8Array, pos: number): number {
  // Preamble: uncompressed length as an unsigned varint.
  let n = end - start;
  while (n >= 0x80) {
    dst[pos++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  dst[pos++] = n;
  const table = new Int32Array(1 << HASH_BITS);
  for (let f = start; f < end; f += FRAGMENT_BYTES) {
    pos = compressFragment(src, f, Math.min(end, f + FRAGMENT_BYTES), dst, pos, table);
  }
  return pos;
}

function load32(b: Uint8Array, i: number): number {
  return b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24);
}

function hash4(x: number): number {
  return Math.imul(x, 0x1e35a7bd) >>> (32 - HASH_BITS);
}

/** Greedy LZ77 over one fragment: hash 4 bytes, look up the last position with that hash, extend. */
function compressFragment(
  src: Uint8Array,
  start: number,
  end: number,
  dst: Uint8Array,
  pos: number,
  table: Int32Array,
): number {
  table.fill(-1);
  let literalStart = start;
  // Matches need 4 bytes to compare; leave the tail to the final literal.
  const matchLimit = end - 4;
  let i = start;
  let skip = 32;
  while (i <= matchLimit) {
    const word = load32(src, i);
    const h = hash4(word);
    const candidate = table[h]!;
    table[h] = i;
    if (candidate < start || load32(src, candidate) !== word) {
      // Step faster through data that does not compress (snappy's heuristic).
      i += skip++ >> 5;
      continue;
    }
    skip = 32;
    let len = 4;
    while (i + len < end && src[candidate + len] === src[i + len]) len++;
    if (literalStart < i) pos = emitLiteral(src, literalStart, i, dst, pos);
    pos = emitCopy(dst, pos, i - candidate, len);
    // Seed the table inside the match so the next search finds nearby repeats.
    if (i + len - 1 <= matchLimit) table[hash4(load32(src, i + len - 1))] = i + len - 1;
    i += len;
    literalStart = i;
  }
  if (literalStart < end) pos = emitLiteral(src, literalStart, end, dst, pos);
  return pos;
}

function emitLiteral(src: Uint8Array, start: number, end: number, dst: Uint8Array, pos: number): number {
  const n = end - start - 1;
  if (n < 60) {
    dst[pos++] = n << 2;
  } else if (n < 0x100) {
    dst[pos++] = 60 << 2;
    dst[pos++] = n;
  } else if (n < 0x10000) {
    dst[pos++] = 61 << 2;
    dst[pos++] = n & 0xff;
    dst[pos++] = n >>> 8;
  } else {
    dst[pos++] = 62 << 2;
    dst[pos++] = n & 0xff;
    dst[pos++] = (n >>> 8) & 0xff;
    dst[pos++] = n >>> 16;
  }
  copyBytes(dst, pos, src, start, end - start);
  return pos + (end - start);
}

function emitCopy(dst: Uint8Array, pos: number, offset: number, len: number): number {
  // Long matches: 64-byte copies, keeping at least 4 for the last one.
  while (len >= 68) {
    pos = emitCopy2(dst, pos, offset, 64);
    len -= 64;
  }
  if (len > 64) {
    pos = emitCopy2(dst, pos, offset, 60);
    len -= 60;
  }
  if (len >= 4 && len <= 11 && offset < 2048) {
    dst[pos++] = 1 | ((len - 4) << 2) | ((offset >>> 8) << 5);
    dst[pos++] = offset & 0xff;
    return pos;
  }
  return emitCopy2(dst, pos, offset, len);
}

function emitCopy2(dst: Uint8Array, pos: number, offset: number, len: number): number {
  dst[pos++] = 2 | ((len - 1) << 2);
  dst[pos++] = offset & 0xff;
  dst[pos++] = offset >>> 8;
  return pos;
}

// ---------------------------------------------------------------------------------------------
// Decompression

/** Decompresses raw or xerial-framed snappy; output capped at `maxBytes` before allocation. */
export function snappyDecompress(src: Uint8Array, maxBytes: number, ctx: CoreErrorContext = {}): Uint8Array {
  return finishSteps(snappyDecompressSteps(src, maxBytes, Infinity, ctx));
}

/**
 * snappyDecompress in steps (core/batch/decompress-ahead.ts runs one slice of them per turn of the
 * event loop, so that a 64 MiB block does not hold the thread for its whole inflating): each step
 * writes about `stepBytes` of output (whole elements, so a little more) and yields; the generator
 * returns the output. The same checks, in the same order, as in one go; the output buffer is
 * allocated once, at its declared size, before the first step.
 */
export function* snappyDecompressSteps(src: Uint8Array, maxBytes: number, stepBytes: number, ctx: CoreErrorContext = {}): Generator<void, Uint8Array, void> {
  let blocks: Array<[start: number, end: number, length: number]>;
  let total: number;
  if (isXerial(src)) {
    [blocks, total] = xerialChunks(src, maxBytes, ctx);
  } else {
    const [length] = readPreamble(src, 0, src.length, ctx);
    if (length > maxBytes) throw limitError(length, maxBytes, ctx);
    blocks = [[0, src.length, length]];
    total = length;
  }
  const out = new Uint8Array(total);
  const cursor: RawCursor = { ip: 0, op: 0 };
  let stepLeft = stepBytes;
  for (const [start, end, length] of blocks) {
    const [, first] = readPreamble(src, start, end, ctx);
    const outStart = cursor.op;
    const outEnd = outStart + length;
    cursor.ip = first;
    for (;;) {
      const before = cursor.op;
      decodeElements(src, end, out, outStart, outEnd, cursor, before + stepLeft, ctx);
      stepLeft -= cursor.op - before;
      if (stepLeft <= 0) {
        yield;
        stepLeft = stepBytes;
      }
      if (cursor.ip >= end) break;
    }
    if (cursor.op !== outEnd) throw corrupt(`snappy: block declares ${length} bytes, produced ${cursor.op - outStart}`, ctx);
  }
  return out;
}

/** Runs a decompression's steps to the end. */
export function finishSteps<T>(steps: Generator<void, T, void>): T {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

function isXerial(src: Uint8Array): boolean {
  if (src.length < XERIAL_HEADER_BYTES) return false;
  for (let i = 0; i < XERIAL_MAGIC.length; i++) if (src[i] !== XERIAL_MAGIC[i]) return false;
  return true;
}

/** Walks the xerial chunks, adds up their declared sizes, stops at the cap before anything is allocated. */
function xerialChunks(src: Uint8Array, maxBytes: number, ctx: CoreErrorContext): [Array<[start: number, end: number, length: number]>, number] {
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const chunks: Array<[start: number, end: number, length: number]> = [];
  let total = 0;
  let pos = XERIAL_HEADER_BYTES;
  while (pos < src.length) {
    if (src.length - pos < 4) throw corrupt("snappy: truncated xerial chunk length", ctx);
    const size = view.getInt32(pos);
    pos += 4;
    if (size < 0 || size > src.length - pos) throw corrupt(`snappy: xerial chunk of ${size} bytes, ${src.length - pos} left`, ctx);
    const [length] = readPreamble(src, pos, pos + size, ctx);
    total += length;
    if (total > maxBytes) throw limitError(total, maxBytes, ctx);
    chunks.push([pos, pos + size, length]);
    pos += size;
  }
  return [chunks, total];
}

/** Reads the preamble varint of the block at `start`; returns [length, position after it]. */
function readPreamble(src: Uint8Array, start: number, end: number, ctx: CoreErrorContext): [number, number] {
  let length = 0;
  let pos = start;
  for (let shift = 0; ; shift += 7) {
    if (pos >= end || shift > 28) throw corrupt("snappy: bad length preamble", ctx);
    const b = src[pos++]!;
    length += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) break;
  }
  if (length > 0xffffffff) throw corrupt("snappy: length preamble above 32 bits", ctx);
  return [length, pos];
}

/** Where a block's decoding stands: the next element's input position, the next output position. */
interface RawCursor {
  ip: number;
  op: number;
}

/** Decodes the elements of the raw block whose output is `out[outStart, outEnd)`, from the cursor
 * on, until the input `src[.., end)` ends or the output reaches `stopAt` (at an element's end: a
 * little past it). Every read and copy is bounds-checked. */
function decodeElements(
  src: Uint8Array,
  end: number,
  out: Uint8Array,
  outStart: number,
  outEnd: number,
  cursor: RawCursor,
  stopAt: number,
  ctx: CoreErrorContext,
): void {
  let op = cursor.op;
  let ip = cursor.ip;
  while (ip < end && op < stopAt) {
    const tag = src[ip++]!;
    const kind = tag & 3;
    if (kind === 0) {
      let len = tag >>> 2;
      if (len >= 60) {
        const extra = len - 59;
        if (end - ip < extra) throw corrupt("snappy: truncated literal length", ctx);
        len = 0;
        for (let k = 0; k < extra; k++) len += src[ip + k]! * 2 ** (8 * k);
        ip += extra;
      }
      len += 1;
      if (len > end - ip || len > outEnd - op) throw corrupt("snappy: literal runs past the input or output", ctx);
      copyBytes(out, op, src, ip, len);
      ip += len;
      op += len;
      continue;
    }
    let len: number;
    let offset: number;
    if (kind === 1) {
      if (end - ip < 1) throw corrupt("snappy: truncated copy", ctx);
      len = 4 + ((tag >>> 2) & 7);
      offset = ((tag >>> 5) << 8) | src[ip++]!;
    } else if (kind === 2) {
      if (end - ip < 2) throw corrupt("snappy: truncated copy", ctx);
      len = (tag >>> 2) + 1;
      offset = src[ip]! | (src[ip + 1]! << 8);
      ip += 2;
    } else {
      if (end - ip < 4) throw corrupt("snappy: truncated copy", ctx);
      len = (tag >>> 2) + 1;
      offset = (src[ip]! | (src[ip + 1]! << 8) | (src[ip + 2]! << 16) | (src[ip + 3]! << 24)) >>> 0;
      ip += 4;
    }
    if (offset === 0 || offset > op - outStart) throw corrupt(`snappy: copy offset ${offset} outside the output`, ctx);
    if (len > outEnd - op) throw corrupt("snappy: copy runs past the declared length", ctx);
    copyWithin(out, op, offset, len);
    op += len;
  }
  cursor.ip = ip;
  cursor.op = op;
}

/** Copies `len` bytes; short runs (most literals) by hand, as a subarray costs more than they do. */
export function copyBytes(dst: Uint8Array, at: number, src: Uint8Array, from: number, len: number): void {
  if (len < 32) {
    for (let k = 0; k < len; k++) dst[at + k] = src[from + k]!;
  } else {
    dst.set(src.subarray(from, from + len), at);
  }
}

/** Repeats `len` bytes from `offset` back; overlapping copies replicate the pattern byte by byte. */
export function copyWithin(out: Uint8Array, op: number, offset: number, len: number): void {
  const from = op - offset;
  if (len < 32) {
    // Short copies (the common case) byte by byte: correct for overlap too, and cheaper than a call.
    for (let k = 0; k < len; k++) out[op + k] = out[from + k]!;
  } else if (offset >= len) {
    out.copyWithin(op, from, from + len);
  } else {
    // Overlapping: double the copied run each step, far fewer calls than byte by byte.
    let copied = 0;
    let run = offset;
    while (copied < len) {
      const n = Math.min(run, len - copied);
      out.copyWithin(op + copied, from, from + n);
      copied += n;
      run += n;
    }
  }
}

function corrupt(message: string, ctx: CoreErrorContext): CoreError {
  return new CoreError("CORRUPT_BATCH", message, ctx);
}

function limitError(length: number, maxBytes: number, ctx: CoreErrorContext): CoreError {
  return new CoreError("DECOMPRESSION_LIMIT", `snappy: ${length} bytes would exceed the ${maxBytes}-byte cap`, ctx);
}
