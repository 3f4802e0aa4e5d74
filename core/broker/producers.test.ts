// The broker's producer use cases (issue #20): producer ids unique across restarts even when the
// clock goes back or the ids file is damaged (producer-ids.ts rows), and each partition's
// idempotent producers for DescribeProducers, expired after PRODUCER_EXPIRATION_MS idle.
import { expect, test } from "bun:test";
import { encodeRecordBatch } from "../batch/record-batch.ts";
import { PRODUCER_EXPIRATION_MS, PRODUCER_ID_BLOCK } from "../limits.ts";
import type { Logger } from "../log/types.ts";
import { ManualClock, ManualTimers } from "../testing/manual-time.ts";
import { MemoryFileLayer } from "../testing/memory-fs.ts";
import { Broker } from "./broker.ts";

class Lines implements Logger {
  lines: string[] = [];
  info(m: string): void {
    this.lines.push(m);
  }
  warn(m: string): void {
    this.lines.push(`warn ${m}`);
  }
  error(m: string): void {
    this.lines.push(`error ${m}`);
  }
}

function open(fs: MemoryFileLayer, clock: ManualClock, log: Logger = new Lines()): Promise<Broker> {
  return Broker.open({ dataDir: "/data", fsync: { mode: "always" }, autoCreateTopics: true, defaultPartitions: 1 }, log, { fs, clock, timers: new ManualTimers(clock), lock: false });
}

async function ids(b: Broker, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(await b.nextProducerId());
  return out;
}

test("producer ids never repeat: across a clean restart, a power loss, a clock set back, a damaged ids file", async () => {
  let fs = new MemoryFileLayer();
  const clock = new ManualClock();
  const seen = new Set<number>();
  const take = (list: number[]) => {
    for (const id of list) {
      expect(seen.has(id)).toBe(false);
      expect(Number.isSafeInteger(id) && id >= 0).toBe(true);
      seen.add(id);
    }
  };
  let b = await open(fs, clock);
  take(await ids(b, PRODUCER_ID_BLOCK + 5)); // two blocks
  await b.close();
  b = await open(fs, clock); // same second: the clock alone would hand out the same ids again
  take(await ids(b, 3));
  fs = fs.crash(1); // the ids were reserved durably before they were handed out
  b = await open(fs, clock);
  take(await ids(b, 3));
  await b.close();
  clock.advance(-3600_000); // the clock goes back an hour
  b = await open(fs, clock);
  take(await ids(b, 3));
  await b.close();
  const file = fs.open("/data/producer-ids");
  fs.pwrite(file, new TextEncoder().encode("{{{{"), 0);
  fs.close(file);
  clock.advance(3600_000 + 1000); // with the file gone bad, the clock keeps them apart
  const log = new Lines();
  b = await open(fs, clock, log);
  take(await ids(b, 3));
  expect(log.lines.some((l) => l.startsWith("warn /data/producer-ids is damaged"))).toBe(true);
  await b.close();
});

test("producers(topic, partition): what DescribeProducers shows; idle producers expire with retention", async () => {
  const fs = new MemoryFileLayer();
  const clock = new ManualClock();
  const b = await open(fs, clock);
  await b.createTopic("t", 2);
  const id = await b.nextProducerId();
  const batch = (seq: number) => encodeRecordBatch({ producerId: id, producerEpoch: 0, baseSequence: seq, records: [{ value: null }, { value: null }, { value: null }], now: clock.now() });
  const options = { allowZstd: true };
  await b.append("t", 1, batch(0), options).result;
  await b.append("t", 1, batch(3), options).result;
  expect(b.producers("t", 0)).toEqual([]);
  expect(b.producers("t", 1)).toEqual([{ producerId: id, epoch: 0, lastSequence: 5, lastTimestamp: clock.now(), coordinatorEpoch: -1, currentTxnStartOffset: -1 }]);
  expect(() => b.producers("t", 2)).toThrow("partition");
  expect(() => b.producers("nope", 0)).toThrow("does not exist");
  clock.advance(PRODUCER_EXPIRATION_MS - 1);
  b.enforceRetention(clock.now());
  expect(b.producers("t", 1).length).toBe(1);
  clock.advance(1);
  b.enforceRetention(clock.now());
  expect(b.producers("t", 1)).toEqual([]);
  await b.close();
});
