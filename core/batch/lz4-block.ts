// The LZ4 block format (lz4/lz4 doc/lz4_Block_format.md), written here; lz4-frame.ts wraps it.
//
//   block    = sequence*
//   sequence = token (1 byte)
//              [literal length extension]   token >> 4 == 15: add bytes until one is < 255
//              literals
//              offset (2 bytes LE, 1..65535)            } absent in the last sequence,
//              [match length extension]                 } which holds only literals
//   match length = (token & 15) + 4, extended like the literal length when token & 15 == 15.
//   A match copies `length` bytes starting `offset` back in the output; it may overlap itself.
//
// Encoder rules the format imposes on every block: the last 5 bytes are literals (LASTLITERALS),
// and no match starts within the last 12 bytes (MFLIMIT).
import { CoreError, type CoreErrorContext } from "../errors.ts";
import { copyBytes, copyWithin } from "./snappy.ts";

const MIN_MATCH = 4;
const LAST_LITERALS = 5;
const MF_LIMIT = 12;
const MAX_OFFSET = 65535;
const HASH_BITS = 14;

/** The largest output `n` input bytes can need (LZ4_compressBound). */
export function lz4CompressBound(n: number): number {
  return n + Math.floor(n / 255) + 16;
}

function load32(b: Uint8Array, i: number): number {
  return b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24);
}

function hash4(x: number): number {
  return Math.imul(x, 2654435761) >>> (32 - HASH_BITS);
}

/**
 * Compresses `src[start, end)` as one independent block into `dst` at `pos`; returns the end.
 * `table` is scratch (Int32Array of 2^14), reset here.
 */
export function lz4CompressBlock(
  src: Uint8Array,
  start: number,
  end: number,
  dst: Uint8Array,
  pos: number,
  table: Int32Array,
): number {
  table.fill(-1);
  let anchor = start;
  const matchStartLimit = end - MF_LIMIT;
  const matchEndLimit = end - LAST_LITERALS;
  let i = start;
  let skip = 64;
  while (i < matchStartLimit) {
    const word = load32(src, i);
    const h = hash4(word);
    const candidate = table[h]!;
    table[h] = i;
    if (candidate < start || i - candidate > MAX_OFFSET || load32(src, candidate) !== word) {
      i += skip++ >> 6;
      continue;
    }
    skip = 64;
    // Extend backwards over pending literals, then forwards up to the tail the format reserves.
    let m = i;
    let c = candidate;
    while (m > anchor && c > start && src[m - 1] === src[c - 1]) {
      m--;
      c--;
    }
    let len = i - m + MIN_MATCH;
    while (m + len < matchEndLimit && src[c + len] === src[m + len]) len++;
    pos = writeSequence(src, anchor, m, dst, pos, m - c, len);
    i = m + len;
    anchor = i;
    if (i - 2 >= start && i - 2 < matchStartLimit) table[hash4(load32(src, i - 2))] = i - 2;
  }
  return writeLastLiterals(src, anchor, end, dst, pos);
}

function writeLength(dst: Uint8Array, pos: number, n: number): number {
  while (n >= 255) {
    dst[pos++] = 255;
    n -= 255;
  }
  dst[pos++] = n;
  return pos;
}

function writeSequence(
  src: Uint8Array,
  litStart: number,
  litEnd: number,
  dst: Uint8Array,
  pos: number,
  offset: number,
  matchLen: number,
): number {
  const litLen = litEnd - litStart;
  const ml = matchLen - MIN_MATCH;
  const tokenPos = pos++;
  let token = 0;
  if (litLen >= 15) {
    token = 15 << 4;
    pos = writeLength(dst, pos, litLen - 15);
  } else {
    token = litLen << 4;
  }
  copyBytes(dst, pos, src, litStart, litLen);
  pos += litLen;
  dst[pos++] = offset & 0xff;
  dst[pos++] = offset >>> 8;
  if (ml >= 15) {
    token |= 15;
    pos = writeLength(dst, pos, ml - 15);
  } else {
    token |= ml;
  }
  dst[tokenPos] = token;
  return pos;
}

function writeLastLiterals(src: Uint8Array, litStart: number, end: number, dst: Uint8Array, pos: number): number {
  const litLen = end - litStart;
  if (litLen >= 15) {
    dst[pos++] = 15 << 4;
    pos = writeLength(dst, pos, litLen - 15);
  } else {
    dst[pos++] = litLen << 4;
  }
  dst.set(src.subarray(litStart, end), pos);
  return pos + litLen;
}

/**
 * Decodes the block `src[start, end)` into `out` from `op`, writing at most up to `outLimit`.
 * Matches may reach back to `windowStart` (the block's own start for independent blocks, earlier
 * output for linked ones). Returns the new output position. Throws CORRUPT_BATCH on malformed
 * input, or DECOMPRESSION_LIMIT when the output would pass `outLimit` and `outLimit` is the cap.
 */
export function lz4DecompressBlock(
  src: Uint8Array,
  start: number,
  end: number,
  out: Uint8Array,
  op: number,
  outLimit: number,
  windowStart: number,
  ctx: CoreErrorContext,
): number {
  const cursor: Lz4Cursor = { ip: start, op };
  lz4DecodeSequences(src, end, out, cursor, outLimit, windowStart, Infinity, ctx);
  return cursor.op;
}

/** Where a block's decoding stands: the next sequence's input position, the next output position. */
export interface Lz4Cursor {
  ip: number;
  op: number;
}

/**
 * lz4DecompressBlock from the cursor on, stopping after the sequence that takes the output to
 * `stopAt` or past it (lz4-frame.ts decodes a large block in slices this way). Answers true when the
 * block's last sequence was decoded, false when it stopped before; the cursor says where.
 */
export function lz4DecodeSequences(
  src: Uint8Array,
  end: number,
  out: Uint8Array,
  cursor: Lz4Cursor,
  outLimit: number,
  windowStart: number,
  stopAt: number,
  ctx: CoreErrorContext,
): boolean {
  let ip = cursor.ip;
  let op = cursor.op;
  while (op < stopAt) {
    if (ip >= end) throw corrupt("lz4: block ends without its last literals", ctx);
    const token = src[ip++]!;
    let litLen = token >>> 4;
    if (litLen === 15) {
      let b: number;
      do {
        if (ip >= end) throw corrupt("lz4: truncated literal length", ctx);
        b = src[ip++]!;
        litLen += b;
      } while (b === 255);
    }
    if (litLen > end - ip) throw corrupt("lz4: literals run past the block", ctx);
    if (litLen > outLimit - op) throw new OutputFull();
    copyBytes(out, op, src, ip, litLen);
    ip += litLen;
    op += litLen;
    if (ip === end) {
      cursor.ip = ip;
      cursor.op = op;
      return true; // the last sequence: literals only
    }
    if (end - ip < 2) throw corrupt("lz4: truncated match offset", ctx);
    const offset = src[ip]! | (src[ip + 1]! << 8);
    ip += 2;
    let matchLen = (token & 15) + MIN_MATCH;
    if ((token & 15) === 15) {
      let b: number;
      do {
        if (ip >= end) throw corrupt("lz4: truncated match length", ctx);
        b = src[ip++]!;
        matchLen += b;
      } while (b === 255);
    }
    if (offset === 0 || offset > op - windowStart) throw corrupt(`lz4: match offset ${offset} outside the window`, ctx);
    if (matchLen > outLimit - op) throw new OutputFull();
    copyWithin(out, op, offset, matchLen);
    op += matchLen;
  }
  cursor.ip = ip;
  cursor.op = op;
  return false;
}

/** Thrown by lz4DecompressBlock when `outLimit` is reached; the frame decoder grows or gives up. */
export class OutputFull extends Error {
  override name = "OutputFull";
}

function corrupt(message: string, ctx: CoreErrorContext): CoreError {
  return new CoreError("CORRUPT_BATCH", message, ctx);
}
