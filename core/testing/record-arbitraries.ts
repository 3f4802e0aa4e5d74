// Test helpers for core/batch: fast-check arbitraries for records and batch options, and a
// field-by-field comparison. Imported by *.test.ts only.
import { expect } from "bun:test";
import fc from "fast-check";
import { Codec } from "../batch/header.ts";
import type { DecodedRecord, RecordInput } from "../batch/record.ts";

const te = new TextEncoder();

const bytes = fc.oneof(
  fc.uint8Array({ maxLength: 64 }),
  fc.string({ unit: "grapheme", maxLength: 40 }).map((s) => te.encode(s)),
  fc.uint8Array({ minLength: 200, maxLength: 2000 }),
);

const nullableBytes = fc.option(bytes, { nil: null, freq: 4 });

/** Around "now" plus anything from -2^47 to 2^47, so deltas are large and negative too. */
const timestamp = fc.oneof(
  fc.integer({ min: 1_600_000_000_000, max: 1_800_000_000_000 }),
  fc.integer({ min: -(2 ** 47), max: 2 ** 47 }),
);

export const recordInput: fc.Arbitrary<Required<RecordInput>> = fc.record({
  key: nullableBytes,
  value: nullableBytes,
  headers: fc.array(
    fc.record({ key: fc.string({ unit: "grapheme", maxLength: 20 }), value: nullableBytes }),
    { maxLength: 4 },
  ),
  timestamp,
});

export const records = fc.array(recordInput, { minLength: 1, maxLength: 25 });

export const batchOptions = fc.record({
  baseOffset: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2 ** 50 })),
  producerId: fc.oneof(fc.constant(-1), fc.integer({ min: 0, max: 2 ** 48 })),
  producerEpoch: fc.integer({ min: -1, max: 32767 }),
  baseSequence: fc.integer({ min: -1, max: 2147483647 }),
  partitionLeaderEpoch: fc.integer({ min: -1, max: 2147483647 }),
  transactional: fc.boolean(),
});

export const ALL_CODECS = [Codec.None, Codec.Gzip, Codec.Snappy, Codec.Lz4, Codec.Zstd] as const;

export function sameBytes(actual: Uint8Array | null, want: Uint8Array | null, what: string): void {
  if (want === null || actual === null) {
    expect({ what, isNull: actual === null }).toEqual({ what, isNull: want === null });
    return;
  }
  expect({ what, hex: Buffer.from(actual).toString("hex") }).toEqual({ what, hex: Buffer.from(want).toString("hex") });
}

/** Decoded records equal the inputs, field by field, with offsets baseOffset + index. */
export function expectRecords(decoded: DecodedRecord[], inputs: RecordInput[], baseOffset: number): void {
  expect(decoded.length).toBe(inputs.length);
  for (let i = 0; i < inputs.length; i++) {
    const got = decoded[i]!;
    const want = inputs[i]!;
    expect(got.offsetDelta).toBe(i);
    expect(got.offset).toBe(baseOffset + i);
    expect(got.timestamp).toBe(want.timestamp!);
    sameBytes(got.key, want.key ?? null, `record ${i} key`);
    sameBytes(got.value, want.value, `record ${i} value`);
    const headers = want.headers ?? [];
    expect(got.headers.map((h) => h.key)).toEqual(headers.map((h) => h.key));
    headers.forEach((h, j) => sameBytes(got.headers[j]!.value, h.value, `record ${i} header ${j}`));
  }
}
