import { describe, expect, test } from "bun:test";
import { codecName } from "./codecs.ts";
import { ATTR_CODEC_MASK, ATTR_CONTROL, ATTR_TRANSACTIONAL, Codec, readBatchHeader } from "./header.ts";
import { needsRecompression, recompressBatch, targetCodecOf } from "./recompress.ts";
import { decodeRecordBatch, encodeRecordBatch } from "./record-batch.ts";
import { stampLogAppendTime } from "./rewrite.ts";
import { validateProduceBatch } from "./validate-produce.ts";

const te = new TextEncoder();
const CODECS = [Codec.None, Codec.Gzip, Codec.Snappy, Codec.Lz4, Codec.Zstd] as const;

/** A batch with every field recompression must keep: keys (one null), values (one null), headers,
 * out-of-order timestamps, an idempotent transactional producer. */
function produced(codec: Codec): Uint8Array {
  return encodeRecordBatch({
    codec,
    producerId: 4242,
    producerEpoch: 7,
    baseSequence: 1000,
    transactional: true,
    partitionLeaderEpoch: 3,
    records: [
      { key: te.encode("k0"), value: te.encode("v0".repeat(50)), timestamp: 1_700_000_000_500, headers: [{ key: "h", value: te.encode("hv") }, { key: "n", value: null }] },
      { key: null, value: te.encode("v1"), timestamp: 1_700_000_000_100 },
      { key: te.encode("k2"), value: null, timestamp: 1_700_000_000_900, headers: [{ key: "only", value: new Uint8Array(0) }] },
    ],
  });
}

/** What validation hands the append path: the plain records. */
function plain(batch: Uint8Array): Uint8Array {
  return validateProduceBatch(batch, { maxMessageBytes: 1 << 20, allowZstd: true, timestampType: "CreateTime" }).records!;
}

describe("compression.type → target codec", () => {
  test("producer keeps the producer's codec; the others name one", () => {
    expect(targetCodecOf("producer")).toBeNull();
    expect(["uncompressed", "gzip", "snappy", "lz4", "zstd"].map(targetCodecOf)).toEqual([Codec.None, Codec.Gzip, Codec.Snappy, Codec.Lz4, Codec.Zstd]);
  });

  test("only a batch in another codec needs a rebuild", () => {
    const gz = produced(Codec.Gzip);
    expect(needsRecompression(gz, null)).toBe(false);
    expect(needsRecompression(gz, Codec.Gzip)).toBe(false);
    expect(needsRecompression(gz, Codec.Lz4)).toBe(true);
    expect(needsRecompression(gz, Codec.None)).toBe(true);
  });

  test("control batches are never recompressed", () => {
    const marker = encodeRecordBatch({ control: true, transactional: true, producerId: 1, producerEpoch: 0, records: [{ key: new Uint8Array([0, 0, 0, 0]), value: new Uint8Array([0, 0, 0, 0, 0, 0]) }] });
    expect(readBatchHeader(marker).attributes & ATTR_CONTROL).toBe(ATTR_CONTROL);
    for (const target of CODECS) expect(needsRecompression(marker, target)).toBe(false);
  });
});

describe("recompressBatch, every codec pair", () => {
  for (const from of CODECS) {
    for (const to of CODECS) {
      if (from === to) continue;
      test(`${codecName(from)} → ${codecName(to)}: same records, header and producer fields; new codec, length and CRC`, () => {
        const original = produced(from);
        const before = decodeRecordBatch(original);
        const copy = original.slice();
        const out = recompressBatch(original, plain(original), to);
        expect(original).toEqual(copy); // the producer's bytes are untouched
        const after = decodeRecordBatch(out); // checks framing and the new CRC
        expect(after.header.attributes & ATTR_CODEC_MASK).toBe(to);
        expect(after.header.attributes & ~ATTR_CODEC_MASK).toBe(before.header.attributes & ~ATTR_CODEC_MASK);
        expect(after.header.attributes & ATTR_TRANSACTIONAL).toBe(ATTR_TRANSACTIONAL);
        expect(after.header.batchLength).toBe(out.length - 12);
        const keep = ({ baseOffset, partitionLeaderEpoch, magic, lastOffsetDelta, baseTimestamp, maxTimestamp, producerId, producerEpoch, baseSequence, recordCount }: ReturnType<typeof readBatchHeader>) => ({
          baseOffset, partitionLeaderEpoch, magic, lastOffsetDelta, baseTimestamp, maxTimestamp, producerId, producerEpoch, baseSequence, recordCount,
        });
        expect(keep(after.header)).toEqual(keep(before.header));
        expect(after.header.producerId).toBe(4242);
        expect(after.header.baseSequence).toBe(1000);
        expect(after.records).toEqual(before.records);
        expect(after.records[1]!.key).toBeNull();
        expect(after.records[2]!.value).toBeNull();
        expect(after.records[0]!.headers.map((h) => h.key)).toEqual(["h", "n"]);
        // A producer would have had it accepted as is.
        expect(validateProduceBatch(out, { maxMessageBytes: 1 << 20, allowZstd: true, timestampType: "CreateTime" }).recordCount).toBe(3);
      });
    }
  }

  test("a LogAppendTime stamp on the rebuilt batch applies to its records", () => {
    const out = recompressBatch(produced(Codec.Lz4), plain(produced(Codec.Lz4)), Codec.Gzip);
    stampLogAppendTime(out, 1_800_000_000_000);
    expect(decodeRecordBatch(out).records.map((r) => r.timestamp)).toEqual([1_800_000_000_000, 1_800_000_000_000, 1_800_000_000_000]);
  });
});
