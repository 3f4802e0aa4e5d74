// Every row of the "What Kafka validates" table (kafka-protocol.md §2), one case each, plus the
// Sarama maxTimestamp quirk and a garbage sweep. Each bad case starts from a good batch and breaks
// one thing, then (unless the case is about framing or the CRC) fixes the CRC so only that thing
// is wrong.
import { describe, expect, test } from "bun:test";
import { CoreError } from "../errors.ts";
import { MESSAGE_BYTES_MAX_DEFAULT } from "../limits.ts";
import { Codec, CRC_START, OFF_CRC, readBatchHeader } from "./header.ts";
import * as be from "../bytes.ts";
import { crc32c } from "./crc32c.ts";
import { encodeRecordBatch, type EncodeBatchOptions } from "./record-batch.ts";
import { fixMaxTimestamp } from "./rewrite.ts";
import { prng, withSeed } from "../testing/seed.ts";
import { validateProduceBatch, type ValidateProduceOptions } from "./validate-produce.ts";

const te = new TextEncoder();
const NOW = 1_700_000_000_000;

const BASE: ValidateProduceOptions = {
  maxMessageBytes: MESSAGE_BYTES_MAX_DEFAULT,
  allowZstd: true,
  timestampType: "CreateTime",
};

function batch(over: Partial<EncodeBatchOptions> = {}): Uint8Array {
  return encodeRecordBatch({
    records: [
      { key: te.encode("a"), value: te.encode("1"), timestamp: NOW - 10 },
      { key: te.encode("b"), value: te.encode("2"), timestamp: NOW },
    ],
    ...over,
  });
}

function recrc(bytes: Uint8Array): Uint8Array {
  be.setInt32(bytes, OFF_CRC, crc32c(bytes, CRC_START, bytes.length));
  return bytes;
}

function codeOf(bytes: Uint8Array, opts: Partial<ValidateProduceOptions> = {}): string {
  try {
    validateProduceBatch(bytes, { ...BASE, ...opts });
    return "ok";
  } catch (e) {
    if (!(e instanceof CoreError)) throw new Error(`untyped error: ${String(e)}`, { cause: e });
    return e.code;
  }
}

describe("one row of Kafka's table each", () => {
  const cases: [string, () => Uint8Array, Partial<ValidateProduceOptions>, string][] = [
    ["a good batch", () => batch(), {}, "ok"],
    ["a good batch in every codec", () => batch({ codec: Codec.Lz4 }), {}, "ok"],
    ["no bytes (no batch)", () => new Uint8Array(0), {}, "INVALID_RECORD"],
    ["two batches", () => new Uint8Array([...batch(), ...batch()]), {}, "INVALID_RECORD"],
    ["a batch cut short", () => batch().subarray(0, 70), {}, "INVALID_RECORD"],
    ["trailing bytes after the batch", () => new Uint8Array([...batch(), 0, 0, 0]), {}, "INVALID_RECORD"],
    ["magic 1", () => recrc(Object.assign(batch(), { 16: 1 })), {}, "INVALID_RECORD"],
    ["zstd in Produce < v7", () => batch({ codec: Codec.Zstd }), { allowZstd: false }, "UNSUPPORTED_COMPRESSION"],
    ["zstd in Produce ≥ v7", () => batch({ codec: Codec.Zstd }), { allowZstd: true }, "ok"],
    ["codec bits 7", () => recrc(Object.assign(batch(), { 22: 7 })), {}, "UNSUPPORTED_COMPRESSION"],
    ["client baseOffset ≠ 0", () => batch({ baseOffset: 5 }), {}, "INVALID_RECORD"],
    ["batch > max.message.bytes", () => batch(), { maxMessageBytes: 78 }, "MESSAGE_TOO_LARGE"],
    ["batch = max.message.bytes", () => batch(), { maxMessageBytes: 79 }, "ok"],
    ["batchLength below the header", () => (() => { const b = batch().subarray(0, 60); be.setInt32(b, 8, 48); return b; })(), {}, "CORRUPT_BATCH"],
    ["CRC mismatch", () => Object.assign(batch(), { 70: 0x55 }), {}, "CORRUPT_BATCH"],
    ["lastOffsetDelta + 1 ≠ recordCount", () => recrc(Object.assign(batch(), { 26: 5 })), {}, "INVALID_RECORD"],
    ["recordCount 0", () => batch({ records: [] }), {}, "INVALID_RECORD"],
    ["control batch from a client", () => batch({ control: true }), {}, "INVALID_RECORD"],
    ["producerId with baseSequence < 0", () => batch({ producerId: 7, producerEpoch: 0, baseSequence: -1 }), {}, "INVALID_RECORD"],
    ["producerId with baseSequence ≥ 0", () => batch({ producerId: 7, producerEpoch: 0, baseSequence: 0 }), {}, "ok"],
    ["records don't fill the declared length", () => recrc(Object.assign(batch(), { 60: 1, 26: 0 })), {}, "INVALID_RECORD"],
    ["records overrun the declared length", () => recrc(Object.assign(batch(), { 60: 3, 26: 2 })), {}, "INVALID_RECORD"],
    ["timestamp older than before.max.ms", () => batch(), { timestampBeforeMaxMs: 5, now: NOW }, "INVALID_TIMESTAMP"],
    ["timestamp newer than after.max.ms", () => batch(), { timestampAfterMaxMs: 1000, now: NOW - 5000 }, "INVALID_TIMESTAMP"],
    ["timestamps inside the window", () => batch(), { timestampBeforeMaxMs: 60_000, timestampAfterMaxMs: 60_000, now: NOW }, "ok"],
    ["client set LogAppendTime", () => batch({ logAppendTime: true }), {}, "INVALID_TIMESTAMP"],
    ["keyless record on a compacted topic", () => batch({ records: [{ key: null, value: te.encode("x"), timestamp: NOW }] }), { compacted: true }, "INVALID_RECORD"],
    ["keyless record on a deleting topic", () => batch({ records: [{ key: null, value: te.encode("x"), timestamp: NOW }] }), {}, "ok"],
    ["compressed records above the cap", () => batch({ codec: Codec.Gzip, records: [{ value: new Uint8Array(10_000) }] }), { maxDecompressedBytes: 1000 }, "DECOMPRESSION_LIMIT"],
  ];

  test.each(cases)("%s", (_name, make, opts, code) => {
    expect(codeOf(make(), opts)).toBe(code);
  });

  test("errors name the position and file the caller gives", () => {
    try {
      validateProduceBatch(Object.assign(batch(), { 70: 0x55 }), { ...BASE, file: "produce", position: 123 });
      throw new Error("no error");
    } catch (e) {
      expect(e).toBeInstanceOf(CoreError);
      expect((e as CoreError).context.position).toBe(123);
      expect((e as CoreError).message).toContain("produce");
    }
  });
});

describe("what validation reports", () => {
  test("counts, codec and producer fields", () => {
    const info = validateProduceBatch(batch({ codec: Codec.Snappy, producerId: 9, producerEpoch: 2, baseSequence: 40, transactional: true }), BASE);
    expect(info).toMatchObject({
      recordCount: 2,
      codec: Codec.Snappy,
      maxTimestamp: NOW,
      maxTimestampNeedsFix: false,
      producerId: 9,
      producerEpoch: 2,
      baseSequence: 40,
      transactional: true,
      deep: true,
    });
  });

  test("Sarama quirk: maxTimestamp -1 is found from the records, and fixMaxTimestamp writes it with a new CRC", () => {
    const bytes = batch({ codec: Codec.Gzip, maxTimestamp: -1 });
    const info = validateProduceBatch(bytes, { ...BASE, deep: false });
    expect(info.deep).toBe(true); // forced: the header's maxTimestamp cannot be trusted
    expect(info.maxTimestamp).toBe(NOW);
    expect(info.maxTimestampNeedsFix).toBe(true);
    expect(fixMaxTimestamp(bytes, 0, info.maxTimestamp)).toBe(NOW);
    expect(readBatchHeader(bytes).maxTimestamp).toBe(NOW);
    expect(validateProduceBatch(bytes, BASE).maxTimestampNeedsFix).toBe(false);
  });

  test("a maxTimestamp that disagrees with the records is reported for rewrite (CreateTime)", () => {
    const bytes = batch();
    be.setInt64(bytes, 35, NOW - 99);
    recrc(bytes);
    const info = validateProduceBatch(bytes, BASE);
    expect(info.maxTimestampNeedsFix).toBe(true);
    expect(info.maxTimestamp).toBe(NOW);
    // On a LogAppendTime topic the broker stamps its own time instead.
    expect(validateProduceBatch(bytes, { ...BASE, timestampType: "LogAppendTime" }).maxTimestampNeedsFix).toBe(false);
  });

  test("shallow mode skips the record walk when nothing needs it", () => {
    const bytes = Object.assign(batch(), { 61: 0x7f }); // first record length: -64
    recrc(bytes);
    expect(validateProduceBatch(bytes, { ...BASE, deep: false }).deep).toBe(false);
    expect(codeOf(bytes)).toBe("INVALID_RECORD");
  });
});

test("garbage and bit flips only ever raise CoreErrors", () => {
  withSeed("validate garbage", (seed) => {
    const rand = prng(seed);
    const good = batch({ codec: Codec.Lz4 });
    for (let n = 0; n < 500; n++) {
      const bad = good.slice();
      const at = (rand() * bad.length) | 0;
      bad[at]! ^= 1 << ((rand() * 8) | 0);
      codeOf(bad);
      codeOf(recrc(bad.slice()));
      codeOf(Uint8Array.from({ length: (rand() * 120) | 0 }, () => (rand() * 256) | 0));
    }
  });
});
