// The LZ4 frame format (lz4/lz4 doc/lz4_Frame_format.md), written here, around lz4-block.ts.
//
//   magic        4 bytes LE 0x184D2204
//   FLG          1 byte: version (bits 7-6) = 01, B.Indep (5), B.Checksum (4), C.Size (3),
//                C.Checksum (2), reserved (1) = 0, DictID (0)
//   BD           1 byte: block max size (bits 6-4): 4 = 64 KiB, 5 = 256 KiB, 6 = 1 MiB, 7 = 4 MiB;
//                other bits 0
//   [content size 8 bytes LE]  when C.Size
//   [dictionary id 4 bytes LE] when DictID
//   HC           1 byte: (xxh32(FLG .. last descriptor byte, seed 0) >> 8) & 0xFF
//   blocks       4-byte LE size (high bit set: stored uncompressed), data,
//                [4-byte xxh32 of the data] when B.Checksum
//   end mark     4 zero bytes
//   [content checksum: xxh32 of all decompressed bytes] when C.Checksum
//
// Kafka: magic-2 batches use the standard frame with the correct HC. The broken HC (computed
// over the magic too) belonged to magic 0 only — apache/kafka Lz4Compression passes
// `messageVersion == MAGIC_VALUE_V0` as useBrokenFlagDescriptorChecksum (Lz4BlockOutputStream)
// and ignoreFlagDescriptorChecksum (Lz4BlockInputStream); librdkafka rdkafka_msgset_reader.c calls
// rd_kafka_lz4_decompress with proper_hc = MsgVersion >= 1, and rdkafka_lz4.c only rewrites the
// HC for MsgVersion 0.
// What they write: Java — FLG 0x60 (independent blocks, no checksums, no content size), BD 64 KiB;
// librdkafka — LZ4F with blockIndependent, default 64 KiB blocks, no content checksum.
// What they read: Java rejects dependent (linked) blocks ("Dependent block stream is unsupported")
// and checks block and content checksums when flagged; librdkafka reads whatever LZ4F reads.
// So we write exactly what Java writes, and read every variant real encoders produce: linked or
// independent blocks, block and content checksums, a content size; not dictionaries.
import { CoreError, type CoreErrorContext } from "../errors.ts";
import { lz4CompressBlock, lz4CompressBound, lz4DecodeSequences, type Lz4Cursor, OutputFull } from "./lz4-block.ts";
import { finishSteps } from "./snappy.ts";
import { xxhash32 } from "./xxhash32.ts";

const MAGIC = 0x184d2204;
const FLG_VERSION_1 = 0x40;
const FLG_BLOCK_INDEPENDENT = 0x20;
const FLG_BLOCK_CHECKSUM = 0x10;
const FLG_CONTENT_SIZE = 0x08;
const FLG_CONTENT_CHECKSUM = 0x04;
const FLG_DICT_ID = 0x01;
const BD_64KB = 4 << 4;
const BLOCK_BYTES = 64 * 1024;
const UNCOMPRESSED_BIT = 0x80000000;
/** An LZ4 block expands at most ~255× (each 255 in a length extension adds 255 output bytes). */
const EXPANSION_MAX = 255;

/** Compresses `src` as one LZ4 frame the way the Java client does (FLG 0x60, BD 64 KiB). */
export function lz4CompressFrame(src: Uint8Array): Uint8Array {
  const blocks = Math.ceil(src.length / BLOCK_BYTES);
  const dst = new Uint8Array(7 + blocks * (4 + lz4CompressBound(BLOCK_BYTES)) + 4);
  const view = new DataView(dst.buffer);
  view.setUint32(0, MAGIC, true);
  dst[4] = FLG_VERSION_1 | FLG_BLOCK_INDEPENDENT;
  dst[5] = BD_64KB;
  dst[6] = (xxhash32(dst, 4, 6) >>> 8) & 0xff;
  let pos = 7;
  const table = new Int32Array(1 << 14);
  for (let start = 0; start < src.length; start += BLOCK_BYTES) {
    const end = Math.min(src.length, start + BLOCK_BYTES);
    const blockEnd = lz4CompressBlock(src, start, end, dst, pos + 4, table);
    const size = blockEnd - pos - 4;
    if (size >= end - start) {
      // Incompressible: store it as is, as Lz4BlockOutputStream does.
      view.setUint32(pos, (end - start) | UNCOMPRESSED_BIT, true);
      dst.set(src.subarray(start, end), pos + 4);
      pos += 4 + (end - start);
    } else {
      view.setUint32(pos, size, true);
      pos = blockEnd;
    }
  }
  view.setUint32(pos, 0, true);
  return dst.subarray(0, pos + 4);
}

interface FrameDescriptor {
  flg: number;
  blockMax: number;
  contentSize: number | null;
  /** Where the first block starts. */
  dataStart: number;
}

function readDescriptor(src: Uint8Array, view: DataView, ctx: CoreErrorContext): FrameDescriptor {
  if (src.length < 7) throw corrupt("lz4: frame shorter than its header", ctx);
  if (view.getUint32(0, true) !== MAGIC) throw corrupt("lz4: bad frame magic", ctx);
  const flg = src[4]!;
  const bd = src[5]!;
  if ((flg & 0xc0) !== FLG_VERSION_1) throw corrupt(`lz4: frame version ${flg >>> 6}`, ctx);
  if (flg & 0x02) throw corrupt("lz4: reserved FLG bit set", ctx);
  if (flg & FLG_DICT_ID) throw corrupt("lz4: frames with a dictionary id are not supported", ctx);
  const sizeCode = (bd >>> 4) & 7;
  if ((bd & 0x8f) !== 0 || sizeCode < 4) throw corrupt(`lz4: bad BD byte 0x${bd.toString(16)}`, ctx);
  const blockMax = 1 << (2 * sizeCode + 8);
  let pos = 6;
  let contentSize: number | null = null;
  if (flg & FLG_CONTENT_SIZE) {
    if (src.length < pos + 9) throw corrupt("lz4: truncated content size", ctx);
    contentSize = view.getUint32(pos, true) + view.getUint32(pos + 4, true) * 4294967296;
    pos += 8;
  }
  if (src.length <= pos) throw corrupt("lz4: truncated frame descriptor", ctx);
  const hc = (xxhash32(src, 4, pos) >>> 8) & 0xff;
  if (src[pos] !== hc) throw corrupt("lz4: frame descriptor checksum mismatch", ctx);
  return { flg, blockMax, contentSize, dataStart: pos + 1 };
}

/** Decompresses one LZ4 frame; the output never grows past `maxBytes`. */
export function lz4DecompressFrame(src: Uint8Array, maxBytes: number, ctx: CoreErrorContext = {}): Uint8Array {
  return finishSteps(lz4DecompressFrameSteps(src, maxBytes, Infinity, ctx));
}

/**
 * lz4DecompressFrame in steps (core/batch/decompress-ahead.ts runs one slice of them per turn of
 * the event loop): each step writes about `stepBytes` of output (whole sequences, so a little more)
 * and yields; the generator returns the output. The same checks in the same order as in one go.
 */
export function* lz4DecompressFrameSteps(src: Uint8Array, maxBytes: number, stepBytes: number, ctx: CoreErrorContext = {}): Generator<void, Uint8Array, void> {
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const d = readDescriptor(src, view, ctx);
  if (d.contentSize !== null && d.contentSize > maxBytes) {
    throw new CoreError("DECOMPRESSION_LIMIT", `lz4: content size ${d.contentSize} exceeds the ${maxBytes}-byte cap`, ctx);
  }
  const blockChecksum = (d.flg & FLG_BLOCK_CHECKSUM) !== 0;
  const blocks = scanBlocks(src, view, d, blockChecksum, ctx);
  // Upper bound of the output from the block sizes, so a small frame gets a small buffer.
  let bound = 0;
  for (const b of blocks) bound += b.stored ? b.size : Math.min(d.blockMax, b.size * EXPANSION_MAX + 64);
  const capacity = Math.min(bound, maxBytes);
  const out = new Uint8Array(capacity);
  const linked = (d.flg & FLG_BLOCK_INDEPENDENT) === 0;
  const cursor: Lz4Cursor = { ip: 0, op: 0 };
  let stepLeft = stepBytes;
  for (const b of blocks) {
    if (blockChecksum && xxhash32(src, b.start, b.start + b.size) !== view.getUint32(b.start + b.size, true)) {
      throw corrupt("lz4: block checksum mismatch", ctx);
    }
    const op = cursor.op;
    const limit = Math.min(capacity, op + d.blockMax);
    const full = (): CoreError =>
      limit === maxBytes && capacity === maxBytes
        ? new CoreError("DECOMPRESSION_LIMIT", `lz4: output would exceed the ${maxBytes}-byte cap`, ctx)
        : corrupt(`lz4: block decodes past its ${d.blockMax}-byte maximum`, ctx);
    if (b.stored) {
      if (b.size > limit - op) throw full();
      out.set(src.subarray(b.start, b.start + b.size), op);
      cursor.op += b.size;
      stepLeft -= b.size;
    } else {
      cursor.ip = b.start;
      const windowStart = linked ? 0 : op;
      for (;;) {
        const before = cursor.op;
        let done: boolean;
        try {
          done = lz4DecodeSequences(src, b.start + b.size, out, cursor, limit, windowStart, before + stepLeft, ctx);
        } catch (e) {
          if (e instanceof OutputFull) throw full();
          throw e;
        }
        stepLeft -= cursor.op - before;
        if (done) break;
        yield;
        stepLeft = stepBytes;
      }
    }
    if (stepLeft <= 0) {
      yield;
      stepLeft = stepBytes;
    }
  }
  const op = cursor.op;
  if (d.contentSize !== null && d.contentSize !== op) throw corrupt(`lz4: content size ${d.contentSize}, decoded ${op}`, ctx);
  if (d.flg & FLG_CONTENT_CHECKSUM) {
    const at = blocks.end;
    if (xxhash32(out, 0, op) !== view.getUint32(at, true)) throw corrupt("lz4: content checksum mismatch", ctx);
  }
  return op * 2 < capacity ? out.slice(0, op) : out.subarray(0, op);
}

interface BlockSpan {
  start: number;
  size: number;
  stored: boolean;
}

/** Walks the block headers up to the end mark; checks every size against the bytes there. */
function scanBlocks(
  src: Uint8Array,
  view: DataView,
  d: FrameDescriptor,
  blockChecksum: boolean,
  ctx: CoreErrorContext,
): BlockSpan[] & { end: number } {
  const blocks: BlockSpan[] = [];
  let pos = d.dataStart;
  for (;;) {
    if (src.length - pos < 4) throw corrupt("lz4: frame ends without an end mark", ctx);
    const word = view.getUint32(pos, true);
    pos += 4;
    if (word === 0) break;
    const stored = (word & UNCOMPRESSED_BIT) !== 0;
    const size = word & 0x7fffffff;
    if (size > d.blockMax) throw corrupt(`lz4: block of ${size} bytes above its ${d.blockMax}-byte maximum`, ctx);
    const need = size + (blockChecksum ? 4 : 0);
    if (src.length - pos < need) throw corrupt("lz4: truncated block", ctx);
    blocks.push({ start: pos, size, stored });
    pos += need;
  }
  const trailer = d.flg & FLG_CONTENT_CHECKSUM ? 4 : 0;
  if (src.length - pos !== trailer) throw corrupt(`lz4: ${src.length - pos} bytes after the end mark, expected ${trailer}`, ctx);
  return Object.assign(blocks, { end: pos });
}

function corrupt(message: string, ctx: CoreErrorContext): CoreError {
  return new CoreError("CORRUPT_BATCH", message, ctx);
}
