// Produce v0-2 with old message sets and Fetch v0-3 answered with them (issue #21), in-process,
// against message sets kafka-python wrote (core/testing/legacy-message-sets.ts).
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { Codec } from "../../core/batch/header.ts";
import { upConvert } from "../../core/batch/message-set.ts";
import { decodeRecordBatch } from "../../core/batch/record-batch.ts";
import { PY_V0, PY_V1, PY_V1_GZIP } from "../../core/testing/legacy-message-sets.ts";
import { ErrorCode } from "../protocol/errors.ts";
import { DOWN_CONVERT_BYTES_MAX } from "./limits.ts";
import { ApiVersions, defaultApiVersionsRequest, defaultProduceRequest, Fetch, Produce } from "../protocol/messages/index.ts";
import { batchOf, concatRecords, DoorHarness, fetchRequest } from "../testing/kafka-door.ts";

const hex = (s: string) => Uint8Array.from(s.match(/../g)!.map((b) => parseInt(b, 16)));
const toHex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const T0 = 1700000000000;

let h: DoorHarness;

beforeEach(async () => {
  h = await DoorHarness.open();
});

afterEach(async () => {
  await h.close();
});

async function produceOld(version: number, topic: string, records: Uint8Array, partition = 0) {
  const res = await h.call(Produce, version, { ...defaultProduceRequest(), acks: -1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: partition, records }] }] });
  return res.responses[0]!.partitionResponses[0]!;
}

async function fetchOld(version: number, topic: string, offset: number, opts: { maxBytes?: number; partitionMaxBytes?: number; partitions?: number[] } = {}) {
  const req = fetchRequest({ [topic]: (opts.partitions ?? [0]).map((partition) => ({ partition, offset, partitionMaxBytes: opts.partitionMaxBytes })) }, { maxBytes: opts.maxBytes });
  const res = await h.call(Fetch, version, req);
  return res.responses[0]!.partitions.map((p) => ({ errorCode: p.errorCode, highWatermark: Number(p.highWatermark), records: concatRecords(p.records as Uint8Array | Uint8Array[] | null) }));
}

describe("Produce v0-2 and Fetch v0-3 with message sets (magic 0/1)", () => {
  test("ApiVersions advertises Produce v0-11 and Fetch v0-16", async () => {
    const res = await h.call(ApiVersions, 3, { ...defaultApiVersionsRequest(), clientSoftwareName: "t", clientSoftwareVersion: "1" });
    const range = (key: number) => res.apiKeys.filter((k) => k.apiKey === key).map((k) => [k.minVersion, k.maxVersion]);
    expect(range(Produce.key)).toEqual([[0, 11]]);
    expect(range(Fetch.key)).toEqual([[0, 16]]);
  });

  test("a magic 1 set produced with v2 comes back from Fetch v2-3 as kafka-python wrote it, and from v0-1 as magic 0", async () => {
    await h.createTopic("old", 1);
    const p = await produceOld(2, "old", hex(PY_V1));
    expect([p.errorCode, p.baseOffset, p.logAppendTimeMs]).toEqual([0, 0n, -1n]);
    for (const v of [2, 3]) expect(toHex((await fetchOld(v, "old", 0))[0]!.records)).toBe(PY_V1);
    for (const v of [0, 1]) expect(toHex((await fetchOld(v, "old", 0))[0]!.records)).toBe(PY_V0);
    // The log holds one v2 batch with the messages' timestamps.
    const stored = (await h.call(Fetch, 4, fetchRequest({ old: [{ partition: 0, offset: 0 }] }))).responses[0]!.partitions[0]!;
    const batch = decodeRecordBatch(concatRecords(stored.records as Uint8Array));
    expect(batch.records.map((r) => [r.offset, r.timestamp])).toEqual([[0, T0], [1, T0 + 5], [2, T0 + 3]]);
  });

  test("magic 0 sets with v0 and v1: offsets continue the log's, timestamps are -1 (CreateTime)", async () => {
    await h.createTopic("old0", 1);
    await h.produce("old0", 0, batchOf(["a", "b"]));
    expect((await produceOld(0, "old0", hex(PY_V0))).baseOffset).toBe(2n);
    expect((await produceOld(1, "old0", hex(PY_V0))).baseOffset).toBe(5n);
    const set = (await fetchOld(2, "old0", 2))[0]!.records;
    const back = decodeRecordBatch(upConvert(set).batch).records;
    expect(back.map((r) => r.timestamp)).toEqual([-1, -1, -1, -1, -1, -1]);
    // Offsets are absolute: the first message of a set fetched from 5 is offset 5.
    const from5 = (await fetchOld(1, "old0", 5))[0]!.records;
    expect(Number(new DataView(from5.buffer, from5.byteOffset).getBigInt64(0))).toBe(5);
  });

  test("LogAppendTime topics stamp the broker's time; magic 1 answers say so in their attributes", async () => {
    await h.createTopic("lat", 1, [{ name: "message.timestamp.type", value: "LogAppendTime" }]);
    const before = Date.now();
    const p = await produceOld(2, "lat", hex(PY_V0));
    expect(Number(p.logAppendTimeMs)).toBeGreaterThanOrEqual(before);
    const set = (await fetchOld(2, "lat", 0))[0]!.records;
    expect(set[12 + 5]! & 0x08).toBe(0x08);
    expect(Number(new DataView(set.buffer, set.byteOffset).getBigInt64(12 + 6))).toBe(Number(p.logAppendTimeMs));
  });

  test("a gzip wrapper is stored as one gzip batch and fetched as one gzip wrapper ending at its last offset", async () => {
    await h.createTopic("gz", 1);
    await produceOld(2, "gz", hex(PY_V1_GZIP));
    const stored = (await h.call(Fetch, 4, fetchRequest({ gz: [{ partition: 0, offset: 0 }] }))).responses[0]!.partitions[0]!;
    expect(decodeRecordBatch(concatRecords(stored.records as Uint8Array)).header.attributes & 7).toBe(Codec.Gzip);
    const set = (await fetchOld(3, "gz", 1))[0]!.records;
    const dv = new DataView(set.buffer, set.byteOffset);
    expect([Number(dv.getBigInt64(0)), 12 + dv.getInt32(8) === set.length, set[12 + 5]]).toEqual([1, true, Codec.Gzip]);
  });

  test("bad messages are CORRUPT_MESSAGE and nothing is appended", async () => {
    await h.createTopic("bad", 1);
    const flipped = hex(PY_V1);
    flipped[30]! ^= 1;
    expect((await produceOld(2, "bad", flipped)).errorCode).toBe(ErrorCode.CORRUPT_MESSAGE);
    expect((await produceOld(2, "bad", hex(PY_V1).subarray(0, 50))).errorCode).toBe(ErrorCode.CORRUPT_MESSAGE);
    expect((await produceOld(2, "nope", hex(PY_V1))).errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect((await fetchOld(2, "bad", 0))[0]!.highWatermark).toBe(0);
  });

  test("zstd: a zstd topic or a zstd batch answers UNSUPPORTED_COMPRESSION_TYPE below v4, a zstd topic below v10; down-conversion can be disabled", async () => {
    await h.createTopic("zt", 1, [{ name: "compression.type", value: "zstd" }]);
    await h.produce("zt", 0, batchOf(["x"]));
    expect((await fetchOld(2, "zt", 0))[0]!.errorCode).toBe(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE);
    await h.createTopic("zb", 1);
    await h.produce("zb", 0, batchOf(["x"], { codec: Codec.Zstd }));
    await h.produce("zb", 0, batchOf(["y"]));
    expect((await fetchOld(3, "zb", 0))[0]!.errorCode).toBe(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE);
    expect((await fetchOld(3, "zb", 1))[0]!.errorCode).toBe(0); // past the zstd batch
    // Fetch v4-9 predates zstd as well: a zstd topic is refused there and served from v10.
    for (const v of [4, 9]) expect((await fetchOld(v, "zt", 0))[0]!.errorCode).toBe(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE);
    const served = await fetchOld(10, "zt", 0);
    expect(served[0]!.errorCode).toBe(0);
    expect(served[0]!.records.length).toBeGreaterThan(0);
    await h.createTopic("nodown", 1, [{ name: "message.downconversion.enable", value: "false" }]);
    expect((await fetchOld(1, "nodown", 0))[0]!.errorCode).toBe(ErrorCode.UNSUPPORTED_VERSION);
  });

  test("byte limits: partition_max_bytes in every version, max_bytes from v3; the first message comes whole", async () => {
    await h.createTopic("lim", 2);
    for (const partition of [0, 1]) await produceOld(2, "lim", hex(PY_V1), partition);
    // PY_V1's messages are 38, 39 and 36 bytes.
    const small = await fetchOld(0, "lim", 0, { partitionMaxBytes: 10, partitions: [0, 1] });
    expect(small.map((p) => p.records.length)).toEqual([30, 30]); // magic 0: the first message of each (v0-2 have no max_bytes)
    const v3 = await fetchOld(3, "lim", 0, { maxBytes: 80, partitions: [0, 1] });
    expect(v3.map((p) => p.records.length)).toEqual([77, 0]);
    const v3first = await fetchOld(3, "lim", 0, { maxBytes: 1, partitions: [0, 1] });
    expect(v3first.map((p) => p.records.length)).toEqual([38, 0]);
  });

  test("one request converts at most DOWN_CONVERT_BYTES_MAX, whatever the client asks (v0-2 have no request limit)", async () => {
    await h.createTopic("big", 3);
    const value = "x".repeat(1000);
    for (const partition of [0, 1, 2]) {
      for (let i = 0; i < 4; i++) expect((await h.produce("big", partition, batchOf(Array.from({ length: 200 }, () => value)))).errorCode).toBe(0);
    }
    const answer = await fetchOld(1, "big", 0, { partitionMaxBytes: 0x7fffffff, partitions: [0, 1, 2] });
    const total = answer.reduce((n, p) => n + p.records.length, 0);
    expect(answer[0]!.records.length).toBeGreaterThan(0);
    expect(total).toBeLessThanOrEqual(DOWN_CONVERT_BYTES_MAX + 30 * 1024); // converted messages are a little larger than stored records
    expect(total).toBeGreaterThan(DOWN_CONVERT_BYTES_MAX / 2);
  });

  test("a long poll at the end is woken by an old-format produce", async () => {
    await h.createTopic("poll", 1);
    const waiting = h.call(Fetch, 2, fetchRequest({ poll: [{ partition: 0, offset: 0 }] }, { maxWaitMs: 20_000, minBytes: 1 }));
    await produceOld(2, "poll", hex(PY_V1));
    const res = await waiting;
    expect(toHex(concatRecords(res.responses[0]!.partitions[0]!.records as Uint8Array))).toBe(PY_V1);
  });
});
