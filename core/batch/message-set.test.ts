// Old message formats (magic 0/1) both ways, against message sets another implementation wrote
// (kafka-python's, core/testing/legacy-message-sets.ts).
import { describe, expect, test } from "bun:test";
import zlib from "node:zlib";
import { CoreError } from "../errors.ts";
import { Codec, OFF_MAGIC } from "./header.ts";
import { downConvert, upConvert, withLz4HeaderChecksum } from "./message-set.ts";
import { decodeRecordBatch, encodeRecordBatch } from "./record-batch.ts";
import type { DecodedRecord } from "./record.ts";
import { xxhash32 } from "./xxhash32.ts";
import { PY_V0, PY_V0_GZIP, PY_V1, PY_V1_GZIP } from "../testing/legacy-message-sets.ts";

const hex = (s: string) => Uint8Array.from(s.match(/../g)!.map((b) => parseInt(b, 16)));
const toHex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const text = (b: Uint8Array | null) => (b === null ? null : new TextDecoder().decode(b));

const T0 = 1700000000000;
const RECORDS = [
  { key: new TextEncoder().encode("k1"), value: new TextEncoder().encode("v1"), timestamp: T0 },
  { key: null, value: new TextEncoder().encode("hello"), timestamp: T0 + 5 },
  { key: new TextEncoder().encode("k3"), value: null, timestamp: T0 + 3 },
];

function records(batch: Uint8Array): DecodedRecord[] {
  return decodeRecordBatch(batch).records;
}

const view = (rs: DecodedRecord[]) => rs.map((r) => ({ offset: r.offset, key: text(r.key), value: text(r.value), timestamp: r.timestamp }));

function errorCode(run: () => unknown): string {
  try {
    run();
  } catch (e) {
    return e instanceof CoreError ? e.code : `not a CoreError: ${e}`;
  }
  return "no error";
}

describe("upConvert: Produce v0-2 message sets into one RecordBatch v2", () => {
  test("magic 1, uncompressed: every message a record, its timestamp kept, offsets 0..n-1", () => {
    const { batch, records: n } = upConvert(hex(PY_V1));
    expect(n).toBe(3);
    expect(batch[OFF_MAGIC]).toBe(2);
    expect(decodeRecordBatch(batch).header.attributes & 0x07).toBe(Codec.None);
    expect(view(records(batch))).toEqual([
      { offset: 0, key: "k1", value: "v1", timestamp: T0 },
      { offset: 1, key: null, value: "hello", timestamp: T0 + 5 },
      { offset: 2, key: "k3", value: null, timestamp: T0 + 3 },
    ]);
  });

  test("magic 0 has no timestamps: its records get -1 (NO_TIMESTAMP), as Kafka's LogValidator", () => {
    const { batch } = upConvert(hex(PY_V0), 123);
    expect(view(records(batch)).map((r) => r.timestamp)).toEqual([-1, -1, -1]);
    expect(decodeRecordBatch(batch).header.maxTimestamp).toBe(-1);
  });

  test("gzip wrappers (magic 0 and 1): the inner messages, in a gzip batch", () => {
    for (const [set, ts] of [[PY_V1_GZIP, [T0, T0 + 5]], [PY_V0_GZIP, [-1, -1]]] as const) {
      const { batch } = upConvert(hex(set));
      expect(decodeRecordBatch(batch).header.attributes & 0x07).toBe(Codec.Gzip);
      expect(view(records(batch))).toEqual([
        { offset: 0, key: "k1", value: "v1", timestamp: ts[0] },
        { offset: 1, key: null, value: "hello", timestamp: ts[1] },
      ]);
    }
  });

  test("a bad CRC, a cut message, trailing bytes, nested compression and mixed magics are CORRUPT_BATCH", () => {
    const flipped = hex(PY_V1);
    flipped[30]! ^= 1; // inside the first message's key
    expect(errorCode(() => upConvert(flipped))).toBe("CORRUPT_BATCH");
    expect(errorCode(() => upConvert(hex(PY_V1).subarray(0, 40)))).toBe("CORRUPT_BATCH");
    expect(errorCode(() => upConvert(Uint8Array.from([...hex(PY_V1), 0, 0, 0])))).toBe("CORRUPT_BATCH");
    // A gzip wrapper around a gzip wrapper, and a magic 0 message inside a magic 1 wrapper.
    const nested = downConvert(encodeRecordBatch({ records: RECORDS, codec: Codec.Gzip }), 0, 1, 1 << 20);
    const outer = downConvert(encodeRecordBatch({ records: [{ value: nested }], codec: Codec.None }), 0, 1, 1 << 20);
    expect(upConvert(outer).records).toBe(1); // the value is opaque when the wrapper is not compressed
    const doubly = wrap(1, Codec.Gzip, nested);
    expect(errorCode(() => upConvert(doubly))).toBe("CORRUPT_BATCH");
    const mixed = wrap(1, Codec.Gzip, hex(PY_V0));
    expect(errorCode(() => upConvert(mixed))).toBe("CORRUPT_BATCH");
    expect(errorCode(() => upConvert(wrap(1, Codec.Zstd, hex(PY_V1))))).toBe("CORRUPT_BATCH");
  });
});

/** A compressed magic `magic` wrapper message holding `inner` (compressed with `codec`). */
function wrap(magic: 0 | 1, codec: Codec, inner: Uint8Array): Uint8Array {
  // Built by down-converting a batch of one record whose value is the inner set, then setting the
  // codec bits and CRC by hand: the same layout a client writes.
  const packed = codec === Codec.Zstd ? zlib.zstdCompressSync(inner) : zlib.gzipSync(inner);
  const plain = downConvert(encodeRecordBatch({ records: [{ key: null, value: packed, timestamp: T0 }] }), 0, magic, 1 << 20);
  plain[12 + 5] = codec;
  const crc = zlib.crc32(plain.subarray(12 + 4));
  new DataView(plain.buffer, plain.byteOffset).setUint32(12, crc >>> 0);
  return plain;
}

describe("downConvert: Fetch v0-3 message sets from the log's v2 batches", () => {
  const stored = (codec: Codec, opts: { baseOffset?: number; logAppendTime?: boolean; maxTimestamp?: number } = {}) =>
    encodeRecordBatch({ records: RECORDS, codec, baseOffset: opts.baseOffset ?? 0, logAppendTime: opts.logAppendTime, maxTimestamp: opts.maxTimestamp });

  test("uncompressed, magic 1 and magic 0: byte for byte what kafka-python writes", () => {
    expect(toHex(downConvert(stored(Codec.None), 0, 1, 1 << 20))).toBe(PY_V1);
    expect(toHex(downConvert(stored(Codec.None), 0, 0, 1 << 20))).toBe(PY_V0);
  });

  test("uncompressed: the records before the fetch offset are left out (v0/v1 messages are not batched)", () => {
    expect(toHex(downConvert(stored(Codec.None), 1, 1, 1 << 20))).toBe(PY_V1.slice(2 * 38));
  });

  test("compressed: one wrapper in the batch's codec with every record, the last offset, the largest timestamp", () => {
    for (const codec of [Codec.Gzip, Codec.Snappy, Codec.Lz4]) {
      for (const magic of [0, 1] as const) {
        const set = downConvert(stored(codec, { baseOffset: 40 }), 41, magic, 1 << 20);
        const dv = new DataView(set.buffer, set.byteOffset);
        expect(Number(dv.getBigInt64(0))).toBe(42); // the wrapper carries the last offset
        expect(12 + dv.getInt32(8)).toBe(set.length); // one message
        expect(set[12 + 4]).toBe(magic);
        expect(set[12 + 5]).toBe(codec);
        if (magic === 1) expect(Number(dv.getBigInt64(12 + 6))).toBe(T0 + 5);
        const back = upConvert(set);
        expect(view(records(back.batch)).map((r) => [r.key, r.value, r.timestamp])).toEqual(
          RECORDS.map((r) => [text(r.key), text(r.value), magic === 1 ? r.timestamp : -1]),
        );
      }
    }
  });

  test("magic 0 LZ4 carries Kafka 0.8's header checksum (over the magic number too), as Kafka writes it", () => {
    const set = downConvert(stored(Codec.Lz4), 0, 0, 1 << 20);
    const frame = set.subarray(12 + 4 + 1 + 1 + 4 + 4); // crc, magic, attributes, null key, value length
    expect(frame[6]).toBe((xxhash32(frame, 0, 6) >>> 8) & 0xff);
    expect(withLz4HeaderChecksum(frame, false)[6]).toBe((xxhash32(frame, 4, 6) >>> 8) & 0xff);
    const v1 = downConvert(stored(Codec.Lz4), 0, 1, 1 << 20).subarray(12 + 4 + 1 + 1 + 8 + 4 + 4);
    expect(v1[6]).toBe((xxhash32(v1, 4, 6) >>> 8) & 0xff);
  });

  test("a LogAppendTime batch: magic 1 messages take its time and the LogAppendTime attribute", () => {
    const lat = stored(Codec.None, { logAppendTime: true, maxTimestamp: T0 + 99 });
    const set = downConvert(lat, 0, 1, 1 << 20);
    const back = upConvert(set);
    expect(view(records(back.batch)).map((r) => r.timestamp)).toEqual([T0 + 99, T0 + 99, T0 + 99]);
    expect(set[12 + 5]).toBe(0x08);
  });

  test("zstd has no magic 0/1 form: UNSUPPORTED_COMPRESSION; control batches are left out", () => {
    expect(errorCode(() => downConvert(stored(Codec.Zstd), 0, 1, 1 << 20))).toBe("UNSUPPORTED_COMPRESSION");
    const control = encodeRecordBatch({ records: [{ key: new Uint8Array(4), value: new Uint8Array(6) }], control: true, baseOffset: 3 });
    const set = downConvert([control, stored(Codec.None, { baseOffset: 4 })], 0, 1, 1 << 20);
    expect(view(records(upConvert(set).batch)).length).toBe(3);
    expect(Number(new DataView(set.buffer, set.byteOffset).getBigInt64(0))).toBe(4);
  });

  test("max bytes: whole messages only, the first one whatever its size unless told otherwise", () => {
    const first = 38; // PY_V1's first message, offset and size included
    expect(downConvert(stored(Codec.None), 0, 1, 10).length).toBe(first);
    expect(downConvert(stored(Codec.None), 0, 1, 10, false).length).toBe(0);
    expect(downConvert(stored(Codec.None), 0, 1, first + 38).length).toBe(first); // the second is 39
    expect(downConvert(stored(Codec.None), 0, 1, first + 39).length).toBe(first + 39);
    expect(toHex(downConvert(stored(Codec.None), 0, 1, PY_V1.length / 2))).toBe(PY_V1);
    expect(toHex(downConvert(stored(Codec.None), 0, 1, PY_V1.length / 2 - 1))).toBe(PY_V1.slice(0, 2 * (38 + 39)));
  });
});
