// Golden batches: every <name>-init.bin in testdata/batches with its <name>-want.json is decoded
// and compared field by field (format in testdata/batches/README.md). Whoever adds a capture
// (kafkajs now, kcat in all five codecs later) adds a pair; nothing here lists them.
// Each batch is also re-encoded from its decoded content: byte for byte when uncompressed,
// content for content when compressed (compressors differ in their bytes, not their meaning).
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { codecFromName } from "./codecs.ts";
import { ATTR_CODEC_MASK, ATTR_CONTROL, ATTR_LOG_APPEND_TIME, ATTR_TRANSACTIONAL, Codec, type BatchHeader } from "./header.ts";
import { decodeRecordBatch, encodeRecordBatch, iterateBatches } from "./record-batch.ts";
import type { DecodedRecord } from "./record.ts";
import { sameBytes } from "../testing/record-arbitraries.ts";

const DIR = join(import.meta.dir, "../../testdata/batches");

type BytesJson = string | { base64: string } | { hex: string } | null;

interface WantRecord {
  offset: number;
  timestamp?: number;
  key?: BytesJson;
  value?: BytesJson;
  headers?: { key: string; value: BytesJson }[];
}

type WantBatch = Partial<Omit<BatchHeader, "attributes">> & {
  codec?: string;
  transactional?: boolean;
  control?: boolean;
  logAppendTime?: boolean;
  records: WantRecord[];
};

interface Want {
  source: string;
  batches: WantBatch[];
}

function bytesOf(b: BytesJson | undefined): Uint8Array | null {
  if (b === null || b === undefined) return null;
  if (typeof b === "string") return new TextEncoder().encode(b);
  if ("base64" in b) return new Uint8Array(Buffer.from(b.base64, "base64"));
  return new Uint8Array(Buffer.from(b.hex, "hex"));
}

const names = readdirSync(DIR)
  .filter((f) => f.endsWith("-init.bin"))
  .map((f) => f.slice(0, -"-init.bin".length))
  .sort();

test("the folder holds golden pairs, and no half pairs", () => {
  expect(names.length).toBeGreaterThan(0);
  for (const n of names) expect({ name: n, want: existsSync(join(DIR, `${n}-want.json`)) }).toEqual({ name: n, want: true });
  const wants = readdirSync(DIR).filter((f) => f.endsWith("-want.json"));
  for (const w of wants) expect(names).toContain(w.slice(0, -"-want.json".length));
});

describe.each(names)("%s", (name) => {
  test("decodes to its want file, field by field", async () => {
    const bytes = new Uint8Array(await Bun.file(join(DIR, `${name}-init.bin`)).arrayBuffer());
    const want: Want = await Bun.file(join(DIR, `${name}-want.json`)).json();
    const spans = [...iterateBatches(bytes, 0, { verifyCrc: true })];
    expect(spans.reduce((n, s) => n + s.size, 0)).toBe(bytes.length);
    expect(spans.length).toBe(want.batches.length);
    spans.forEach((span, i) => {
      const { header, records } = decodeRecordBatch(span.bytes, { file: `${name}-init.bin`, position: span.position });
      expectHeader(header, want.batches[i]!);
      expectWantRecords(records, want.batches[i]!.records);
      expectReencodes(span.bytes, header, records);
    });
  });
});

function expectHeader(h: BatchHeader, w: WantBatch): void {
  const { codec, transactional, control, logAppendTime, records: _records, ...fields } = w;
  for (const [field, value] of Object.entries(fields)) {
    expect({ field, value: h[field as keyof BatchHeader] }).toEqual({ field, value });
  }
  if (codec !== undefined) expect(h.attributes & ATTR_CODEC_MASK).toBe(codecFromName(codec));
  if (transactional !== undefined) expect((h.attributes & ATTR_TRANSACTIONAL) !== 0).toBe(transactional);
  if (control !== undefined) expect((h.attributes & ATTR_CONTROL) !== 0).toBe(control);
  if (logAppendTime !== undefined) expect((h.attributes & ATTR_LOG_APPEND_TIME) !== 0).toBe(logAppendTime);
}

function expectWantRecords(got: DecodedRecord[], want: WantRecord[]): void {
  expect(got.length).toBe(want.length);
  want.forEach((w, i) => {
    const r = got[i]!;
    expect(r.offset).toBe(w.offset);
    if (w.timestamp !== undefined) expect(r.timestamp).toBe(w.timestamp);
    if (w.key !== undefined) sameBytes(r.key, bytesOf(w.key), `record ${i} key`);
    if (w.value !== undefined) sameBytes(r.value, bytesOf(w.value), `record ${i} value`);
    if (w.headers !== undefined) {
      expect(r.headers.map((h) => h.key)).toEqual(w.headers.map((h) => h.key));
      w.headers.forEach((h, j) => sameBytes(r.headers[j]!.value, bytesOf(h.value), `record ${i} header ${j}`));
    }
  });
}

function expectReencodes(original: Uint8Array, h: BatchHeader, records: DecodedRecord[]): void {
  const contiguous = records.every((r, i) => r.offsetDelta === i && (r.attributes ?? 0) === 0);
  if (!contiguous || h.attributes & ATTR_LOG_APPEND_TIME) return;
  const codec = (h.attributes & ATTR_CODEC_MASK) as Codec;
  const again = encodeRecordBatch({
    records,
    codec,
    baseOffset: h.baseOffset,
    baseTimestamp: h.baseTimestamp,
    maxTimestamp: h.maxTimestamp,
    producerId: h.producerId,
    producerEpoch: h.producerEpoch,
    baseSequence: h.baseSequence,
    partitionLeaderEpoch: h.partitionLeaderEpoch,
    transactional: (h.attributes & ATTR_TRANSACTIONAL) !== 0,
    control: (h.attributes & ATTR_CONTROL) !== 0,
  });
  if (codec === Codec.None) {
    expect(Buffer.from(again).toString("hex")).toBe(Buffer.from(original).toString("hex"));
    return;
  }
  const back = decodeRecordBatch(again);
  expect({ ...back.header, crc: 0, batchLength: 0 }).toEqual({ ...h, crc: 0, batchLength: 0 });
  expectWantRecords(
    back.records,
    records.map((r) => ({ offset: r.offset, timestamp: r.timestamp, key: hexOf(r.key), value: hexOf(r.value), headers: r.headers.map((x) => ({ key: x.key, value: hexOf(x.value) })) })),
  );
}

function hexOf(b: Uint8Array | null): BytesJson {
  return b === null ? null : { hex: Buffer.from(b).toString("hex") };
}
