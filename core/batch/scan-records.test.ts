// scanRecords must decide exactly as readRecords does (issue 8 replaced the produce path's record
// decode with it): same accept/reject, same stop position, same maximum timestamp and first
// keyless record, on valid batches, on every truncation, and on random byte flips.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { ByteReader } from "./byte-reader.ts";
import { BATCH_HEADER_BYTES, readBatchHeader } from "./header.ts";
import { readRecords } from "./record.ts";
import { encodeRecordBatch } from "./record-batch.ts";
import { type RecordScan, RecordScanInParts, scanRecords } from "./scan-records.ts";
import { prng, SEED, withSeed } from "../testing/seed.ts";
import { records as recordInputs } from "../testing/record-arbitraries.ts";

/** The walk in parts of `partRecords` gives what the walk in one go gives. */
function partsAgree(buf: Uint8Array, start: number, end: number, count: number, baseTimestamp: number, partRecords: number): void {
  // What validation reads: why and where on failure, the timestamps and first keyless on success.
  const answer = (r: RecordScan) => (r.ok ? { ok: true, pos: r.pos, maxTimestamp: r.maxTimestamp, minTimestamp: r.minTimestamp, firstKeyless: r.firstKeyless } : { ok: false, reason: r.reason, pos: r.pos });
  const whole = answer(scanRecords(buf, start, end, count, baseTimestamp, -1, -Infinity, Infinity));
  const walk = new RecordScanInParts(buf, start, end, count, baseTimestamp);
  let parts = 0;
  while (!walk.part(partRecords)) parts++;
  expect(parts).toBeLessThanOrEqual(Math.ceil(Math.max(count, 0) / partRecords));
  expect(answer(walk.outcome())).toEqual(whole);
}

function agree(buf: Uint8Array, start: number, end: number, count: number, baseTimestamp: number): void {
  for (const part of [1, 2, 3]) partsAgree(buf, start, end, count, baseTimestamp, part);
  const reader = new ByteReader(buf, start, end);
  const records = readRecords(reader, count, { baseOffset: 0, baseTimestamp, logAppendTime: null });
  const scan = scanRecords(buf, start, end, count, baseTimestamp, -1, -Infinity, Infinity);
  expect(scan.ok).toBe(records !== null);
  if (records === null) {
    expect(scan.reason).toBe(reader.reason);
    expect(scan.pos).toBe(reader.pos);
    return;
  }
  let max = -1;
  records.forEach((r, i) => {
    if (i === 0 || r.timestamp > max) max = r.timestamp;
  });
  expect(scan.maxTimestamp).toBe(max);
  expect(scan.minTimestamp).toBe(records.length === 0 ? -1 : Math.min(...records.map((r) => r.timestamp)));
  expect(scan.firstKeyless).toBe(records.findIndex((r) => r.key === null));
}

describe("scanRecords agrees with readRecords", () => {
  test("random batches, each truncation and byte flips", () => {
    withSeed("scanRecords vs readRecords", (seed) => {
      const rand = prng(seed);
      fc.assert(
        fc.property(recordInputs, (inputs) => {
          const batch = encodeRecordBatch({ records: inputs, now: 1_700_000_000_000 });
          const h = readBatchHeader(batch, 0);
          agree(batch, BATCH_HEADER_BYTES, batch.length, h.recordCount, h.baseTimestamp);
          // wrong counts
          agree(batch, BATCH_HEADER_BYTES, batch.length, h.recordCount + 1, h.baseTimestamp);
          if (h.recordCount > 0) agree(batch, BATCH_HEADER_BYTES, batch.length, h.recordCount - 1, h.baseTimestamp);
          for (let cut = BATCH_HEADER_BYTES; cut < batch.length; cut += 1 + Math.floor(rand() * 7)) agree(batch, BATCH_HEADER_BYTES, cut, h.recordCount, h.baseTimestamp);
          for (let k = 0; k < 20; k++) {
            const copy = batch.slice();
            const at = BATCH_HEADER_BYTES + Math.floor(rand() * (copy.length - BATCH_HEADER_BYTES));
            copy[at] = rand() < 0.5 ? copy[at]! ^ (1 << Math.floor(rand() * 8)) : Math.floor(rand() * 256);
            agree(copy, BATCH_HEADER_BYTES, copy.length, h.recordCount, h.baseTimestamp);
          }
        }),
        { seed, numRuns: 200 },
      );
    });
  });

  test("timestamp window reports the first record outside it", () => {
    const batch = encodeRecordBatch({ records: [{ timestamp: 100, value: null }, { timestamp: 5, value: null }, { timestamp: 900, value: null }] });
    const h = readBatchHeader(batch, 0);
    const scan = scanRecords(batch, BATCH_HEADER_BYTES, batch.length, 3, h.baseTimestamp, -1, 50, 500);
    expect(scan.ok).toBe(true);
    expect(scan.firstOutOfWindow).toBe(1);
    expect(scan.outOfWindowTimestamp).toBe(5);
    expect(scan.maxTimestamp).toBe(900);
    expect(SEED).toBeNumber();
  });
});
