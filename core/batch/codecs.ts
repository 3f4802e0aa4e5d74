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
import { lz4CompressFrame, lz4DecompressFrame } from "./lz4-frame.ts";
import { snappyCompressXerial, snappyDecompress } from "./snappy.ts";

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
        return zlibCapped(codec, () => zlib.gunzipSync(data, { maxOutputLength: maxBytes }), maxBytes, ctx);
      case Codec.Snappy:
        return snappyDecompress(data, maxBytes, ctx);
      case Codec.Lz4:
        return lz4DecompressFrame(data, maxBytes, ctx);
      case Codec.Zstd:
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

function limit(codec: Codec, maxBytes: number, ctx: CoreErrorContext): CoreError {
  return new CoreError("DECOMPRESSION_LIMIT", `${codecName(codec)}: output would exceed the ${maxBytes}-byte cap`, ctx);
}
