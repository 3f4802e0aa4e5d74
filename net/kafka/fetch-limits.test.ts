// Fetch's byte limits as Kafka's ReplicaManager.readFromLog applies them (issue #21): the first
// batch of the first partition that has data comes whole even past max_bytes or
// partition_max_bytes; after it nothing goes past either limit. The overshoot this catches: a
// later partition's first batch added whole on top of the limit (librdkafka: "Invalid response
// size", reconnecting forever).
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { Fetch } from "../protocol/messages/index.ts";
import { batchOf, concatRecords, DoorHarness, type FetchPartitionAsk, fetchRequest, valuesIn } from "../testing/kafka-door.ts";

let h: DoorHarness;

beforeEach(async () => {
  h = await DoorHarness.open();
});

afterEach(async () => {
  await h.close();
});

/** One batch of `records` records of `valueBytes` bytes each, values naming partition and index. */
function bigBatch(partition: number, first: number, records: number, valueBytes: number): Uint8Array {
  const values = Array.from({ length: records }, (_, i) => `p${partition}-${first + i}:`.padEnd(valueBytes, "v"));
  return batchOf(values);
}

async function fill(topic: string, partition: number, batches: number, recordsPerBatch: number, valueBytes: number): Promise<number> {
  let size = 0;
  for (let b = 0; b < batches; b++) {
    const batch = bigBatch(partition, b * recordsPerBatch, recordsPerBatch, valueBytes);
    size = batch.length;
    expect((await h.produce(topic, partition, batch)).errorCode).toBe(0);
  }
  return size;
}

/** Records bytes per partition of one Fetch answer, in request order. */
function recordBytes(res: Awaited<ReturnType<typeof fetchAll>>["res"]): number[] {
  return res.responses.flatMap((t) => t.partitions.map((p) => concatRecords(p.records).length));
}

function fetchAll(topic: string, asks: FetchPartitionAsk[], maxBytes: number, version = 11) {
  return h.answer(Fetch, version, fetchRequest({ [topic]: asks }, { maxBytes }));
}

describe("Fetch max_bytes and partition_max_bytes (issue #21)", () => {
  test("after the first partition with data, no partition's first batch goes past max_bytes", async () => {
    await h.createTopic("wide", 4);
    let batchSize = 0;
    for (let p = 0; p < 4; p++) batchSize = await fill("wide", p, 3, 3, 10_000);
    expect(batchSize).toBeGreaterThan(30_000);
    const maxBytes = 50_000; // one batch fits, two do not
    const { res, frameBytes } = await fetchAll("wide", [0, 1, 2, 3].map((partition) => ({ partition, offset: 0 })), maxBytes);
    const sizes = recordBytes(res);
    expect(sizes).toEqual([batchSize, 0, 0, 0]);
    expect(sizes.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(maxBytes);
    // The whole frame: records plus less than 512 bytes of protocol (librdkafka's margin).
    expect(frameBytes).toBeLessThanOrEqual(maxBytes + 512);
    for (const t of res.responses) for (const p of t.partitions) expect([p.errorCode, p.highWatermark]).toEqual([0, 9n]);
  });

  test.each([4, 7, 11, 12, 16])("v%i: the bound holds when several partitions' batches fit in what is left", async (version) => {
    await h.createTopic("fits", 3);
    let batchSize = 0;
    for (let p = 0; p < 3; p++) batchSize = await fill("fits", p, 4, 1, 9_000);
    const maxBytes = 5 * batchSize - 1; // room for four whole batches and most of a fifth
    const req = fetchRequest({ fits: [0, 1, 2].map((partition) => ({ partition, offset: 0 })) }, { maxBytes });
    if (version >= 13) {
      req.topics[0]!.topicId = h.broker.topic("fits")!.topicId;
      req.topics[0]!.topic = "";
    }
    const { res } = await h.answer(Fetch, version, req);
    const sizes = res.responses.flatMap((t) => t.partitions.map((p) => concatRecords(p.records).length));
    expect(sizes).toEqual([4 * batchSize, 0, 0]);
  });

  test("the first batch of the first partition with data comes whole even past max_bytes; nothing follows it", async () => {
    await h.createTopic("huge", 3);
    const hugeSize = await fill("huge", 1, 2, 4, 20_000);
    await fill("huge", 2, 2, 1, 100);
    // Partition 0 is empty: it holds no data, so partition 1 is the first with data.
    const { res } = await fetchAll("huge", [0, 1, 2].map((partition) => ({ partition, offset: 0 })), 50_000);
    expect(recordBytes(res)).toEqual([0, hugeSize, 0]);
    expect(valuesIn(res.responses[0]!.partitions[1]!.records)).toHaveLength(4);
  });

  test("partition_max_bytes: the first batch with data whole, later partitions only whole batches within it", async () => {
    await h.createTopic("per", 3);
    const big = await fill("per", 0, 2, 4, 10_000); // ~40 kB batches
    const mid = await fill("per", 1, 2, 3, 10_000); // ~30 kB batches
    const small = await fill("per", 2, 4, 1, 10_000); // ~10 kB batches
    const partitionMaxBytes = 25_000;
    const asks = [0, 1, 2].map((partition) => ({ partition, offset: 0, partitionMaxBytes }));
    const { res } = await fetchAll("per", asks, 1 << 20);
    // 0: its first batch is larger than the partition limit but is the first data → whole.
    // 1: a 30 kB batch does not fit in 25 kB → nothing. 2: two 10 kB batches fit, a third does not.
    expect(recordBytes(res)).toEqual([big, 0, 2 * small]);
    expect(mid).toBeGreaterThan(partitionMaxBytes);
  });

  test("a consumer fetching with a small max_bytes reads every record, each answer within the bound", async () => {
    await h.createTopic("drain", 3);
    let batchSize = 0;
    for (let p = 0; p < 3; p++) batchSize = await fill("drain", p, 5, 2, 7_000);
    const maxBytes = batchSize + 100;
    const offsets = [0, 0, 0];
    const seen: string[][] = [[], [], []];
    for (let round = 0; round < 100 && offsets.some((o) => o < 10); round++) {
      const { res } = await fetchAll("drain", offsets.map((offset, partition) => ({ partition, offset })), maxBytes);
      expect(recordBytes(res).reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(maxBytes);
      for (const p of res.responses[0]!.partitions) {
        const values = valuesIn(p.records);
        seen[p.partitionIndex]!.push(...values);
        offsets[p.partitionIndex]! += values.length;
      }
    }
    expect(offsets).toEqual([10, 10, 10]);
    for (let p = 0; p < 3; p++) expect(seen[p]!.map((v) => v.split(":")[0])).toEqual(Array.from({ length: 10 }, (_, i) => `p${p}-${i}`));
  });
});
