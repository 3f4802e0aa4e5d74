// compression.type on append (issue #21 item 2): the broker stores produced batches in the topic's
// codec, keeps the producer's when it is `producer`, refuses a zstd target to Produce below v7, and
// an idempotent producer's sequences work across the rebuild (a retry is still a duplicate).
import { expect, test } from "bun:test";
import { ATTR_CODEC_MASK, Codec } from "../batch/header.ts";
import { decodeRecordBatch, encodeRecordBatch, iterateBatches } from "../batch/record-batch.ts";
import type { Logger } from "../log/types.ts";
import { ManualClock, ManualTimers } from "../testing/manual-time.ts";
import { MemoryFileLayer } from "../testing/memory-fs.ts";
import { Broker } from "./broker.ts";

const quiet: Logger = { info() {}, warn() {}, error() {} };
const te = new TextEncoder();

function open(): Promise<Broker> {
  const clock = new ManualClock();
  return Broker.open({ dataDir: "/data", fsync: { mode: "always" }, autoCreateTopics: false, defaultPartitions: 1 }, quiet, { fs: new MemoryFileLayer(), clock, timers: new ManualTimers(clock), lock: false });
}

function batchOf(codec: Codec, seq = -1): Uint8Array {
  return encodeRecordBatch({
    codec,
    producerId: seq >= 0 ? 9 : -1,
    producerEpoch: seq >= 0 ? 0 : -1,
    baseSequence: seq,
    records: [
      { key: te.encode("a"), value: te.encode("one"), timestamp: 1000, headers: [{ key: "h", value: te.encode("x") }] },
      { key: null, value: null, timestamp: 2000 },
    ],
  });
}

/** The stored batches of `topic`/0: codec and decoded records. */
function stored(b: Broker, topic: string) {
  const t = b.topic(topic)!;
  const read = b.read(t, t.partitions[0]!, 0, 1 << 20);
  const all = new Uint8Array(read.bytes);
  let p = 0;
  for (const c of read.chunks) {
    all.set(c, p);
    p += c.length;
  }
  return [...iterateBatches(all)].map((s) => {
    const d = decodeRecordBatch(all.subarray(s.position, s.position + s.size));
    return { codec: d.header.attributes & ATTR_CODEC_MASK, header: d.header, records: d.records };
  });
}

test("a gzip topic stores lz4, zstd and uncompressed batches as gzip, records and producer fields unchanged", async () => {
  const b = await open();
  try {
    await b.createTopic("gz", 1, { "compression.type": "gzip" });
    await b.append("gz", 0, batchOf(Codec.Lz4, 0), { allowZstd: true }).result;
    await b.append("gz", 0, batchOf(Codec.None, 2), { allowZstd: true }).result;
    await b.append("gz", 0, batchOf(Codec.Zstd, 4), { allowZstd: true }).result;
    await b.append("gz", 0, batchOf(Codec.Gzip, 6), { allowZstd: true }).result;
    const batches = stored(b, "gz");
    expect(batches.map((x) => x.codec)).toEqual([Codec.Gzip, Codec.Gzip, Codec.Gzip, Codec.Gzip]);
    expect(batches.map((x) => [x.header.baseOffset, x.header.producerId, x.header.baseSequence])).toEqual([[0, 9, 0], [2, 9, 2], [4, 9, 4], [6, 9, 6]]);
    const r = batches[0]!.records;
    expect(r.map((x) => [x.offset, x.timestamp, x.key && new TextDecoder().decode(x.key), x.value && new TextDecoder().decode(x.value)])).toEqual([
      [0, 1000, "a", "one"],
      [1, 2000, null, null],
    ]);
    expect(r[0]!.headers.map((h) => h.key)).toEqual(["h"]);
    // A retry of the first batch (sent lz4 again) is the same idempotent batch: its first offsets, nothing written.
    const retry = await b.append("gz", 0, batchOf(Codec.Lz4, 0), { allowZstd: true }).result;
    expect([retry.duplicate, retry.baseOffset]).toEqual([true, 0]);
    expect(stored(b, "gz").length).toBe(4);
  } finally {
    await b.close();
  }
});

test("uncompressed strips the codec; producer keeps each batch's own", async () => {
  const b = await open();
  try {
    await b.createTopic("plain", 1, { "compression.type": "uncompressed" });
    await b.createTopic("asis", 1);
    for (const c of [Codec.Snappy, Codec.Zstd]) {
      await b.append("plain", 0, batchOf(c), { allowZstd: true }).result;
      await b.append("asis", 0, batchOf(c), { allowZstd: true }).result;
    }
    expect(stored(b, "plain").map((x) => x.codec)).toEqual([Codec.None, Codec.None]);
    expect(stored(b, "asis").map((x) => x.codec)).toEqual([Codec.Snappy, Codec.Zstd]);
  } finally {
    await b.close();
  }
});

test("a zstd topic refuses a Produce below v7 (UNSUPPORTED_COMPRESSION), nothing written; v7+ is stored as zstd", async () => {
  const b = await open();
  try {
    await b.createTopic("z", 1, { "compression.type": "zstd" });
    expect(() => b.append("z", 0, batchOf(Codec.Gzip), { allowZstd: false })).toThrow(expect.objectContaining({ code: "UNSUPPORTED_COMPRESSION" }));
    expect(stored(b, "z")).toEqual([]);
    await b.append("z", 0, batchOf(Codec.Gzip), { allowZstd: true }).result;
    expect(stored(b, "z").map((x) => x.codec)).toEqual([Codec.Zstd]);
  } finally {
    await b.close();
  }
});

test("a batch that would outgrow max.message.bytes once recompressed is MESSAGE_TOO_LARGE, nothing written", async () => {
  const b = await open();
  try {
    const big = encodeRecordBatch({ codec: Codec.Zstd, records: [{ value: new Uint8Array(4000) }] });
    await b.createTopic("small", 1, { "compression.type": "uncompressed", "max.message.bytes": String(big.length + 100) });
    expect(() => b.append("small", 0, big, { allowZstd: true })).toThrow(expect.objectContaining({ code: "MESSAGE_TOO_LARGE" }));
    expect(stored(b, "small")).toEqual([]);
  } finally {
    await b.close();
  }
});
