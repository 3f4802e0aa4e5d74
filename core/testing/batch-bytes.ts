// Test-only: builds small uncompressed RecordBatch v2 byte strings (header, records, CRC-32C) so
// the log's tests and benchmark do not depend on the batch codec being written in parallel.
// Records: no key, no headers, `valueBytes` of value each, timestamps base + i.
import { crc32c } from "../batch/crc32c.ts";
import { CRC_START, OFF_CRC } from "../batch/header.ts";

export interface TestBatchOptions {
  records?: number;
  valueBytes?: number;
  /** baseTimestamp; record i has timestamp + i; maxTimestamp = timestamp + records − 1. */
  timestamp?: number;
  /** Fill byte for values (so batches differ). */
  fill?: number;
}

function zigzagVarint(out: number[], v: number): void {
  let z = v >= 0 ? v * 2 : -v * 2 - 1;
  while (z >= 0x80) {
    out.push((z % 0x80) | 0x80);
    z = Math.floor(z / 0x80);
  }
  out.push(z);
}

export function buildBatch(opts: TestBatchOptions = {}): Uint8Array {
  const n = opts.records ?? 1;
  const valueBytes = opts.valueBytes ?? 10;
  const ts = opts.timestamp ?? 1_700_000_000_000;
  const fill = opts.fill ?? 0x61;
  const body: number[] = [];
  const value = new Array<number>(valueBytes).fill(fill);
  for (let i = 0; i < n; i++) {
    const rec: number[] = [0];
    zigzagVarint(rec, i); // timestampDelta
    zigzagVarint(rec, i); // offsetDelta
    zigzagVarint(rec, -1); // key: null
    zigzagVarint(rec, valueBytes);
    rec.push(...value);
    zigzagVarint(rec, 0); // headers
    zigzagVarint(body, rec.length);
    body.push(...rec);
  }
  const out = new Uint8Array(61 + body.length);
  const view = new DataView(out.buffer);
  view.setBigInt64(0, 0n);
  view.setInt32(8, out.length - 12);
  view.setInt32(12, -1);
  view.setInt8(16, 2);
  view.setInt16(21, 0);
  view.setInt32(23, n - 1);
  view.setBigInt64(27, BigInt(ts));
  view.setBigInt64(35, BigInt(ts + n - 1));
  view.setBigInt64(43, -1n);
  view.setInt16(51, -1);
  view.setInt32(53, -1);
  view.setInt32(57, n);
  out.set(body, 61);
  view.setUint32(OFF_CRC, crc32c(out, CRC_START, out.length));
  return out;
}

/** Walks stored batches in read chunks: [baseOffset, lastOffset, maxTimestamp] each. */
export function batchesIn(chunks: Uint8Array[]): Array<{ baseOffset: number; lastOffset: number; maxTimestamp: number; size: number }> {
  const out: Array<{ baseOffset: number; lastOffset: number; maxTimestamp: number; size: number }> = [];
  for (const c of chunks) {
    const view = new DataView(c.buffer, c.byteOffset, c.byteLength);
    let pos = 0;
    while (pos < c.length) {
      const size = view.getInt32(pos + 8) + 12;
      const base = Number(view.getBigInt64(pos));
      out.push({ baseOffset: base, lastOffset: base + view.getInt32(pos + 23), maxTimestamp: Number(view.getBigInt64(pos + 35)), size });
      if (crc32c(c, pos + CRC_START, pos + size) !== view.getUint32(pos + OFF_CRC)) throw new Error(`bad CRC in read at ${pos}`);
      pos += size;
    }
    if (pos !== c.length) throw new Error("chunk does not end on a batch boundary");
  }
  return out;
}
