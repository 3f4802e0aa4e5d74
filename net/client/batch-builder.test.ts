// BatchBuilder writes the same bytes as core's encodeRecordBatch, and what it writes decodes (and
// walks) back in every codec.
import { expect, test } from "bun:test";
import { Codec } from "../../core/batch/header.ts";
import { decodeRecordBatch, encodeRecordBatch } from "../../core/batch/record-batch.ts";
import type { RecordInput } from "../../core/batch/record.ts";
import { BatchBuilder } from "./batch-builder.ts";
import { keyBytes, readHeaders, valueBytes, walkBatch } from "./record-walker.ts";

const utf8 = new TextEncoder();

function sample(n: number): RecordInput[] {
  const out: RecordInput[] = [];
  for (let i = 0; i < n; i++) {
    out.push({
      key: i % 3 === 0 ? null : utf8.encode(`key-${i}`),
      value: i % 7 === 6 ? null : utf8.encode(`value ${i} ${"x".repeat(i % 300)}`),
      headers: i % 2 === 0 ? [] : [{ key: "h", value: utf8.encode(String(i)) }, { key: "ü", value: null }],
      // Out of order on purpose: deltas go negative, maxTimestamp is the largest.
      timestamp: 1_700_000_000_000 + ((i * 7919) % 1000) - 500,
    });
  }
  return out;
}

function build(records: RecordInput[], codec: Codec): Uint8Array {
  const b = new BatchBuilder(64);
  for (const r of records) b.append(r.key ?? null, r.value, r.headers && r.headers.length > 0 ? r.headers : null, r.timestamp!);
  return b.seal(codec);
}

test("uncompressed: byte for byte what encodeRecordBatch writes", () => {
  const records = sample(500);
  expect(build(records, Codec.None)).toEqual(encodeRecordBatch({ records, codec: Codec.None }));
});

test.each([Codec.None, Codec.Gzip, Codec.Snappy, Codec.Lz4, Codec.Zstd])("codec %p: decodes and walks back to the input", (codec) => {
  const records = sample(300);
  const bytes = build(records, codec);
  const decoded = decodeRecordBatch(bytes);
  expect(decoded.header.attributes & 7).toBe(codec);
  expect(decoded.header.recordCount).toBe(300);
  expect(decoded.header.maxTimestamp).toBe(Math.max(...records.map((r) => r.timestamp!)));
  let i = 0;
  walkBatch(bytes, 1000, 0, (r) => {
    const want = records[i]!;
    expect(r.offset).toBe(1000 + i);
    expect(r.timestamp).toBe(want.timestamp!);
    expect(keyBytes(r)).toEqual(want.key ?? null);
    expect(valueBytes(r)).toEqual(want.value);
    expect(readHeaders(r)).toEqual(want.headers ?? []);
    i++;
  });
  expect(i).toBe(300);
});

test("walkBatch skips records before the requested offset and stops when told", () => {
  const bytes = build(sample(10), Codec.Zstd);
  const seen: number[] = [];
  const completed = walkBatch(bytes, 100, 104, (r) => {
    seen.push(r.offset);
    return r.offset < 107;
  });
  expect(seen).toEqual([104, 105, 106, 107]);
  expect(completed).toBe(false);
});

test("walkBatch refuses a record that overruns its batch", () => {
  const bytes = build(sample(3), Codec.None);
  const cut = bytes.slice(0, bytes.length - 5);
  new DataView(cut.buffer).setInt32(57, 3);
  expect(() => walkBatch(cut, 0, 0, () => {})).toThrow();
});
