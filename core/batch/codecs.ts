// The five RecordBatch compression codecs behind one pair of functions, with a hard cap on what
// decompression may produce.
//
//   none    the bytes themselves
//   gzip    node:zlib gzipSync / gunzipSync (RFC 1952)
//   snappy  snappy.ts (raw block, and xerial framing as the Java client writes)
//   lz4     lz4-frame.ts (LZ4 frame, as both Java and librdkafka write for magic 2)
//   zstd    Bun's built-in zstd (DESIGN.md): Bun.zstdCompressSync to write, node:zlib
//           zstdDecompressSync to read, because only the latter takes maxOutputLength
//
// Why the cap: a batch of a few KiB can expand to gigabytes (1 GiB of zeros is 32 KiB as zstd,
// 1 MiB as gzip). Measured in Bun 1.4.5: node:zlib gunzipSync and zstdDecompressSync honour
// `maxOutputLength`, stopping with RangeError ERR_BUFFER_TOO_LARGE after ~40 ms and ~100 MB RSS
// on a 1 GiB bomb, while Bun.zstdDecompressSync / Bun.gunzipSync have no cap and inflate all of
// it (1.1–2.2 GB RSS). Snappy and LZ4 are ours and check sizes before allocating.
import * as zlib from "node:zlib";
import { CoreError, type CoreErrorContext } from "../errors.ts";
import { DECOMPRESSED_BYTES_MAX } from "../limits.ts";
import { Codec } from "./header.ts";
import { lz4CompressFrame, lz4DecompressFrame, lz4DecompressFrameSteps } from "./lz4-frame.ts";
import { snappyCompressXerial, snappyDecompress, snappyDecompressSteps } from "./snappy.ts";

const CODEC_NAMES = ["none", "gzip", "snappy", "lz4", "zstd"] as const;
export type CodecName = (typeof CODEC_NAMES)[number];

/** zstd level 3 is zstd's default and what librdkafka and the Java client use unless told. */
const ZSTD_LEVEL = 3;

export function codecName(codec: number): string {
  return CODEC_NAMES[codec] ?? `unknown codec ${codec}`;
}

export function codecFromName(name: string): Codec {
  const i = CODEC_NAMES.indexOf(name as CodecName);
  if (i < 0) throw new CoreError("UNSUPPORTED_COMPRESSION", `unknown compression ${JSON.stringify(name)}`);
  return i as Codec;
}

export function isKnownCodec(codec: number): codec is Codec {
  return codec >= Codec.None && codec <= Codec.Zstd;
}

/** Compresses `data` with `codec`. */
export function compress(codec: Codec, data: Uint8Array): Uint8Array {
  switch (codec) {
    case Codec.None:
      return data;
    case Codec.Gzip:
      return zlib.gzipSync(data);
    case Codec.Snappy:
      return snappyCompressXerial(data);
    case Codec.Lz4:
      return lz4CompressFrame(data);
    case Codec.Zstd:
      return Bun.zstdCompressSync(data, { level: ZSTD_LEVEL });
    default:
      throw new CoreError("UNSUPPORTED_COMPRESSION", `cannot compress with ${codecName(codec)}`);
  }
}

/**
 * Decompresses `data`; throws DECOMPRESSION_LIMIT if the output would pass `maxBytes`,
 * CORRUPT_BATCH if `data` is not valid for the codec, UNSUPPORTED_COMPRESSION for unknown codecs.
 * Never any other error.
 */
export function decompress(
  codec: Codec,
  data: Uint8Array,
  maxBytes: number = DECOMPRESSED_BYTES_MAX,
  ctx: CoreErrorContext = {},
): Uint8Array {
  try {
    switch (codec) {
      case Codec.None:
        if (data.length > maxBytes) throw limit(codec, maxBytes, ctx);
        return data;
      case Codec.Gzip:
        if (gzipDeclaredBytes(data) > maxBytes) throw limit(codec, maxBytes, ctx);
        return zlibCapped(codec, () => zlib.gunzipSync(data, { maxOutputLength: maxBytes }), maxBytes, ctx);
      case Codec.Snappy:
        return snappyDecompress(data, maxBytes, ctx);
      case Codec.Lz4:
        return lz4DecompressFrame(data, maxBytes, ctx);
      case Codec.Zstd:
        if (zstdDeclaredBytes(data) > maxBytes) throw limit(codec, maxBytes, ctx);
        return zlibCapped(codec, () => zlib.zstdDecompressSync(data, { maxOutputLength: maxBytes }), maxBytes, ctx);
      default:
        throw new CoreError("UNSUPPORTED_COMPRESSION", `unknown compression codec ${codec}`, ctx);
    }
  } catch (e) {
    if (e instanceof CoreError) throw e;
    // Defence in depth: whatever a codec throws on garbage becomes a typed error.
    throw new CoreError("CORRUPT_BATCH", `${codecName(codec)}: ${(e as Error)?.message ?? String(e)}`, ctx, { cause: e });
  }
}

/**
 * Our own codecs (snappy, lz4) in steps of about `stepBytes` of output each (decompress-ahead.ts
 * runs a few ms of them per turn of the event loop); the generator returns what decompress would,
 * and throws what it would (as CoreErrors: see decompress).
 */
export function* decompressSteps(codec: Codec.Snappy | Codec.Lz4, data: Uint8Array, maxBytes: number, stepBytes: number, ctx: CoreErrorContext = {}): Generator<void, Uint8Array, void> {
  try {
    return codec === Codec.Snappy ? yield* snappyDecompressSteps(data, maxBytes, stepBytes, ctx) : yield* lz4DecompressFrameSteps(data, maxBytes, stepBytes, ctx);
  } catch (e) {
    if (e instanceof CoreError) throw e;
    throw new CoreError("CORRUPT_BATCH", `${codecName(codec)}: ${(e as Error)?.message ?? String(e)}`, ctx, { cause: e });
  }
}

function zlibCapped(codec: Codec, run: () => Uint8Array, maxBytes: number, ctx: CoreErrorContext): Uint8Array {
  try {
    const out = run();
    // A plain Uint8Array view, so decoded keys and values are the same type for every codec.
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch (e) {
    if ((e as { code?: string })?.code === "ERR_BUFFER_TOO_LARGE") throw limit(codec, maxBytes, ctx);
    throw new CoreError("CORRUPT_BATCH", `${codecName(codec)}: ${(e as Error)?.message ?? String(e)}`, ctx, { cause: e });
  }
}

// A stream that says how big it is gets refused on its word when that is over the cap, without
// inflating a byte (issue #18: a bomb then costs nothing). A stream that says nothing or lies small
// is still stopped by the cap; one that lies big is corrupt for any decoder that checks.

/** gzip: ISIZE, the last member's size mod 2^32 (RFC 1952); the whole is at least that. A batch
 * (≤ max.message.bytes) cannot hold a member of 4 GiB, so the modulus never hides one. -1: none. */
export function gzipDeclaredBytes(data: Uint8Array): number {
  if (data.length < 18 || data[0] !== 0x1f || data[1] !== 0x8b) return -1;
  const n = data.length;
  return (data[n - 4]! | (data[n - 3]! << 8) | (data[n - 2]! << 16)) + data[n - 1]! * 2 ** 24;
}

/** zstd: the first frame's Frame_Content_Size when its header has one (RFC 8878 §3.1.1.1); the
 * whole is at least that. -1: not declared. */
export function zstdDeclaredBytes(data: Uint8Array): number {
  if (data.length < 6 || data[0] !== 0x28 || data[1] !== 0xb5 || data[2] !== 0x2f || data[3] !== 0xfd) return -1;
  const fhd = data[4]!;
  const fcsFlag = fhd >> 6;
  const singleSegment = (fhd >> 5) & 1;
  const fcsBytes = [singleSegment ? 1 : 0, 2, 4, 8][fcsFlag]!;
  if (fcsBytes === 0) return -1;
  let at = 5 + (singleSegment ? 0 : 1) + [0, 1, 2, 4][fhd & 3]!;
  if (at + fcsBytes > data.length) return -1;
  let size = 0;
  for (let i = fcsBytes - 1; i >= 0; i--) size = size * 256 + data[at + i]!;
  return fcsBytes === 2 ? size + 256 : size;
}

function limit(codec: Codec, maxBytes: number, ctx: CoreErrorContext): CoreError {
  return new CoreError("DECOMPRESSION_LIMIT", `${codecName(codec)}: output would exceed the ${maxBytes}-byte cap`, ctx);
}
