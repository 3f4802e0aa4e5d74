// Decompression ahead of validation: one budget per request, the main thread left after a few ms
// (issue #18, "fair under abuse").
import { expect, test } from "bun:test";
import * as zlib from "node:zlib";
import { crc32c } from "./crc32c.ts";
import { DecompressionBudget, prepareDecompression, preparedSection } from "./decompress-ahead.ts";
import { Codec } from "./header.ts";
import { encodeRecordBatch } from "./record-batch.ts";
import { validateProduceBatch } from "./validate-produce.ts";
import { CoreError } from "../errors.ts";
import { DECOMPRESS_SYNC_BYTES, DECOMPRESSED_BYTES_MAX, REQUEST_DECOMPRESSED_BYTES_MAX } from "../limits.ts";

const OPTS = { maxMessageBytes: 100 << 20, allowZstd: true, timestampType: "CreateTime" as const };

/** A one-record batch whose compressed section is `payload` (a bomb: zeros are no valid records). */
function bomb(codec: Codec, payload: Uint8Array): Uint8Array {
  const batch = new Uint8Array(61 + payload.length);
  const v = new DataView(batch.buffer);
  v.setInt32(8, batch.length - 12);
  v.setInt32(12, -1);
  v.setInt8(16, 2);
  v.setInt16(21, codec);
  v.setBigInt64(27, 1_700_000_000_000n);
  v.setBigInt64(35, 1_700_000_000_000n);
  v.setBigInt64(43, -1n);
  v.setInt16(51, -1);
  v.setInt32(53, -1);
  v.setInt32(57, 1);
  batch.set(payload, 61);
  v.setUint32(17, crc32c(batch, 21, batch.length));
  return batch;
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
    return "ok";
  } catch (e) {
    return e instanceof CoreError ? e.code : String(e);
  }
}

test("a small compressed batch is decompressed at once, once, and validates from the prepared section", () => {
  const batch = encodeRecordBatch({ records: [{ key: null, value: new TextEncoder().encode("hello".repeat(100)) }], codec: Codec.Gzip });
  const budget = new DecompressionBudget();
  expect(prepareDecompression([batch], budget)).toBeNull();
  const section = preparedSection(batch, {})!;
  expect(section.length).toBeGreaterThan(500);
  expect(budget.remaining).toBe(REQUEST_DECOMPRESSED_BYTES_MAX - section.length);
  expect(validateProduceBatch(batch, OPTS).recordCount).toBe(1);
});

test("a batch larger than the main thread takes is decompressed off it and validates", async () => {
  const value = new Uint8Array(3 * DECOMPRESS_SYNC_BYTES).map((_, i) => (i * 7) & 0x3f);
  const batch = encodeRecordBatch({ records: [{ key: null, value }], codec: Codec.Zstd });
  const pending = prepareDecompression([batch], new DecompressionBudget());
  expect(pending).not.toBeNull();
  await pending;
  expect(preparedSection(batch, {})!.length).toBeGreaterThan(value.length);
  expect(validateProduceBatch(batch, OPTS).recordCount).toBe(1);
});

/** zstd without Frame_Content_Size (as a streaming compressor writes it). */
async function zstdUndeclared(data: Uint8Array): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  const c = zlib.createZstdCompress({ params: { [zlib.constants.ZSTD_c_compressionLevel]: 19 } });
  c.on("data", (d: Buffer) => chunks.push(d));
  await new Promise((r) => (c.on("end", r), c.end(data)));
  return new Uint8Array(Buffer.concat(chunks));
}

/** gzip whose ISIZE lies (0): only the cap can stop it. */
function gzipLying(data: Uint8Array): Uint8Array {
  const g = Bun.gzipSync(data as Uint8Array<ArrayBuffer>, { level: 9 });
  g.fill(0, g.length - 4);
  return g;
}

test("bombs that declare their size are refused on their word: nothing inflated, nothing of the budget spent", () => {
  const big = new Uint8Array(DECOMPRESSED_BYTES_MAX + 1024 * 1024);
  const bombs = [bomb(Codec.Zstd, Bun.zstdCompressSync(big, { level: 19 })), bomb(Codec.Gzip, Bun.gzipSync(big, { level: 9 }))];
  const budget = new DecompressionBudget();
  expect(prepareDecompression(bombs, budget)).toBeNull();
  expect(budget.remaining).toBe(REQUEST_DECOMPRESSED_BYTES_MAX);
  expect(bombs.map((b) => codeOf(() => validateProduceBatch(b, OPTS)))).toEqual(["DECOMPRESSION_LIMIT", "DECOMPRESSION_LIMIT"]);
});

test.each([
  ["zstd", Codec.Zstd],
  ["gzip", Codec.Gzip],
] as const)("%s bombs that hide their size: one request inflates at most its budget, every bomb and a good batch after them fail DECOMPRESSION_LIMIT, the event loop turning meanwhile", async (_name, codec) => {
  const big = new Uint8Array(DECOMPRESSED_BYTES_MAX + 1024 * 1024);
  const payload = codec === Codec.Zstd ? await zstdUndeclared(big) : gzipLying(big);
  const bombs = Array.from({ length: 6 }, () => bomb(codec, payload));
  const good = encodeRecordBatch({ records: [{ key: null, value: new Uint8Array(10) }], codec });
  const budget = new DecompressionBudget();
  const pending = prepareDecompression([...bombs, good], budget);
  // A timer set now fires before the bombs are done: they inflate off the main thread.
  let turned = false;
  setTimeout(() => (turned = true), 0);
  await pending;
  expect(turned).toBe(true);
  expect(budget.remaining).toBeLessThanOrEqual(0);
  expect(bombs.map((b) => codeOf(() => validateProduceBatch(b, OPTS)))).toEqual(bombs.map(() => "DECOMPRESSION_LIMIT"));
  expect(codeOf(() => validateProduceBatch(good, OPTS))).toBe("DECOMPRESSION_LIMIT");
  // Without the request's budget (another door), the same good batch is fine.
  const alone = encodeRecordBatch({ records: [{ key: null, value: new Uint8Array(10) }], codec });
  expect(codeOf(() => validateProduceBatch(alone, OPTS))).toBe("ok");
}, 60_000);

test("garbage that is no valid stream for its codec is CORRUPT_BATCH, whether decompressed at once or off the thread", async () => {
  const junk = bomb(Codec.Zstd, new Uint8Array(200).fill(0x5a));
  await prepareDecompression([junk], new DecompressionBudget());
  expect(codeOf(() => validateProduceBatch(junk, OPTS))).toBe("CORRUPT_BATCH");
});

test.each([
  ["snappy", Codec.Snappy],
  ["lz4", Codec.Lz4],
] as const)("a large %s batch (our own code, on the main thread) is inflated over many turns of the event loop, and validates whole", async (_name, codec) => {
  // 24 MiB of records: one turn would once inflate all of it. Four letters drawn at random: the
  // codecs find only short matches, so inflating is millions of small copies, not a few memcpys.
  let x = 12345;
  const letter = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0), 97 + (x >>> 30));
  const records = Array.from({ length: 384 }, (_, i) => ({ key: new TextEncoder().encode(`k${i}`), value: new Uint8Array(64 * 1024).map(letter) }));
  const batch = encodeRecordBatch({ records, codec });
  const pending = prepareDecompression([batch], new DecompressionBudget());
  expect(pending).not.toBeNull();
  // Turns of the event loop while it inflates: a check-phase callback that re-arms itself.
  let turns = 0;
  let done = false;
  const tick = () => {
    if (done) return;
    turns++;
    setImmediate(tick);
  };
  setImmediate(tick);
  await pending;
  done = true;
  // Inflated in one go (as before), the batch would be done before the first tick ran (0 turns).
  // In slices of DECOMPRESS_TURN_MS, 24 MiB takes several: millions of copy elements cost tens of
  // ms in JavaScript on any machine.
  expect(turns).toBeGreaterThanOrEqual(3);
  const info = validateProduceBatch(batch, OPTS);
  expect(info.recordCount).toBe(384);
  expect(info.records!.length).toBeGreaterThan(24 * 1024 * 1024);
}, 60_000);

test.each([
  ["snappy", Codec.Snappy],
  ["lz4", Codec.Lz4],
] as const)("a %s bomb past the per-batch cap is stopped in slices: DECOMPRESSION_LIMIT, nothing else of the request inflated past its budget", async (_name, codec) => {
  // One record of DECOMPRESSED_BYTES_MAX + 1 MiB: its batch decodes past the cap.
  const batch = encodeRecordBatch({ records: [{ key: null, value: new Uint8Array(DECOMPRESSED_BYTES_MAX + 1024 * 1024) }], codec });
  await prepareDecompression([batch], new DecompressionBudget());
  expect(codeOf(() => validateProduceBatch(batch, OPTS))).toBe("DECOMPRESSION_LIMIT");
}, 60_000);

test("a large section's records are walked ahead, in parts; validation takes that walk where it answers the same, and walks itself where not", async () => {
  // 60,000 records, 2.9 MiB inflated: walked ahead in parts of SCAN_PART_RECORDS.
  const now = 1_700_000_000_000;
  const value = new Uint8Array(40).fill(0x61);
  const records = Array.from({ length: 60_000 }, (_, i) => ({ key: i === 45_000 ? null : new TextEncoder().encode(`k${i}`), value, timestamp: now + i }));
  const batch = encodeRecordBatch({ records, codec: Codec.Zstd, now });
  const fresh = () => new Uint8Array(batch); // a batch not prepared: validation walks it itself
  const prepared = new Uint8Array(batch);
  await prepareDecompression([prepared], new DecompressionBudget());
  const { preparedScan } = await import("./decompress-ahead.ts");
  const pre = preparedScan(preparedSection(prepared, {})!);
  expect(pre).toMatchObject({ count: 60_000, ok: true, minTimestamp: now, maxTimestamp: now + 59_999, firstKeyless: 45_000 });
  // Same answers with and without the walk ahead: plain, compacted (a keyless record), windows.
  const cases: Array<Record<string, unknown>> = [
    {},
    { compacted: true },
    { timestampBeforeMaxMs: 10_000_000, timestampAfterMaxMs: 10_000_000, now: now + 30_000 },
    { timestampBeforeMaxMs: 1_000, now: now + 30_000 }, // records before the window: the fallback walk finds the first
  ];
  for (const extra of cases) {
    const outcome = (b: Uint8Array) => {
      try {
        const info = validateProduceBatch(b, { ...OPTS, ...extra });
        return { maxTimestamp: info.maxTimestamp, records: info.records?.length };
      } catch (e) {
        return { code: (e as CoreError).code, message: (e as CoreError).message };
      }
    };
    expect(outcome(prepared)).toEqual(outcome(fresh()));
  }
  expect(codeOf(() => validateProduceBatch(prepared, { ...OPTS, compacted: true }))).toBe("INVALID_RECORD");
  expect(codeOf(() => validateProduceBatch(prepared, { ...OPTS, timestampBeforeMaxMs: 1_000, now: now + 30_000 }))).toBe("INVALID_TIMESTAMP");
});

test("a section whose records are damaged: the walk ahead fails where validation's own walk fails, with the same message", async () => {
  const value = new Uint8Array(40).fill(0x62);
  const good = encodeRecordBatch({ records: Array.from({ length: 40_000 }, () => ({ key: null, value })), codec: Codec.None });
  // Inflated bytes with record 30,000's length broken, compressed again as the batch's zstd section.
  const section = good.slice(61);
  let pos = 0;
  for (let i = 0; i < 30_000; i++) {
    let u = 0;
    let shift = 0;
    for (;;) {
      const b = section[pos++]!;
      u |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) break;
      shift += 7;
    }
    pos += (u >>> 1) ^ -(u & 1);
  }
  section[pos] = 0x7f; // zigzag -64: a negative length
  const packed = Bun.zstdCompressSync(section);
  const batch = new Uint8Array(61 + packed.length);
  batch.set(good.subarray(0, 61));
  batch.set(packed, 61);
  const v = new DataView(batch.buffer);
  v.setInt32(8, batch.length - 12);
  v.setInt16(21, Codec.Zstd);
  v.setUint32(17, crc32c(batch, 21, batch.length));
  const fresh = new Uint8Array(batch);
  const prepared = new Uint8Array(batch);
  await prepareDecompression([prepared], new DecompressionBudget());
  const message = (b: Uint8Array) => {
    try {
      validateProduceBatch(b, OPTS);
      return "ok";
    } catch (e) {
      return `${(e as CoreError).code}: ${(e as CoreError).message}`;
    }
  };
  expect(message(prepared)).toStartWith("INVALID_RECORD: bad records in the zstd block");
  expect(message(prepared)).toBe(message(fresh));
});
