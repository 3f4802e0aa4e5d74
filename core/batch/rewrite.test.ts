import { describe, expect, test } from "bun:test";
import { Codec, readBatchHeader } from "./header.ts";
import { decodeRecordBatch, encodeRecordBatch } from "./record-batch.ts";
import { fixMaxTimestamp, rewriteBaseOffset, rewriteLeaderEpoch, stampLogAppendTime } from "./rewrite.ts";

const te = new TextEncoder();

function sample(): Uint8Array {
  return encodeRecordBatch({
    codec: Codec.Snappy,
    records: [
      { value: te.encode("x"), timestamp: 1000 },
      { value: te.encode("y"), timestamp: 3000 },
      { value: te.encode("z"), timestamp: 2000 },
    ],
    maxTimestamp: -1,
  });
}

describe("in-place rewrites", () => {
  test("rewriteBaseOffset and rewriteLeaderEpoch leave the CRC valid and unchanged", () => {
    const other = sample();
    const bytes = new Uint8Array([...other, ...sample()]);
    const crcBefore = readBatchHeader(bytes, other.length).crc;
    rewriteBaseOffset(bytes, other.length, 2 ** 40 + 7);
    rewriteLeaderEpoch(bytes, other.length, 12);
    const second = bytes.subarray(other.length);
    const { header, records } = decodeRecordBatch(second);
    expect(header.crc).toBe(crcBefore);
    expect(header.baseOffset).toBe(2 ** 40 + 7);
    expect(header.partitionLeaderEpoch).toBe(12);
    expect(records.map((r) => r.offset)).toEqual([2 ** 40 + 7, 2 ** 40 + 8, 2 ** 40 + 9]);
    expect(decodeRecordBatch(bytes.subarray(0, other.length)).header.baseOffset).toBe(0); // neighbour untouched
  });

  test("fixMaxTimestamp computes the records' maximum and recomputes the CRC", () => {
    const bytes = sample();
    expect(fixMaxTimestamp(bytes)).toBe(3000);
    expect(decodeRecordBatch(bytes).header.maxTimestamp).toBe(3000); // CRC verified by decode
  });

  test("stampLogAppendTime sets bit 3 and maxTimestamp, with a valid CRC", () => {
    const bytes = sample();
    stampLogAppendTime(bytes, 1_700_000_000_123);
    const { header, records } = decodeRecordBatch(bytes);
    expect(header.attributes).toBe(Codec.Snappy | 0x08);
    expect(header.maxTimestamp).toBe(1_700_000_000_123);
    expect(records.every((r) => r.timestamp === 1_700_000_000_123)).toBe(true);
  });

  test("a rewrite on something that is not a whole batch is a programmer error (assert)", () => {
    expect(() => rewriteBaseOffset(new Uint8Array(30), 0, 1)).toThrow(/assertion failed/);
  });
});
